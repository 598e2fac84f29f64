//! The swap network on the CPU (flex), shaped as `faceswap train --resolution 128` builds it
//! (`SwapNetConfig::new(128, 2)`: DF, encoder 32, bottleneck 256, decoder 32), with random weights: timing does
//! not depend on them.
//!
//! - `swapnet_128/train_step_b8x2`: one step of `faceswap train` exactly as `train::trainer::Trainer::step`
//!   takes it: for each of the 2 identities a batch of 8 crops through the encoder and that identity's decoder,
//!   the reconstruction loss (DSSIM + MSE + mask MSE), the summed loss backward, one Adam step. Random crops
//!   stand in for augmented faces (augmentation itself is not timed here).
//! - `swapnet_default/train_step_b8x2`: the same step for the shipped default model's shape (64 px, DF, encoder
//!   16, bottleneck 128, decoder 16, random weights): what training the default model costs an iteration.
//! - `swapnet_128/infer_b1`: one crop through encoder and decoder, RGB and mask read back: what a render runs
//!   per face.
//! - `swapnet_default/infer_b1`: the same with the shipped default model (`models/default.safetensors`, 64 px):
//!   what a render with the node's defaults runs (`scripts/bench_onnxruntime.py`'s `swapnet_64_b1`).
//! - `pipeline_1080p/run_one_face`: `pipeline::run::run` on the 1080p Tears of Steel frame with that model
//!   saved to a file: analysis, alignment, swap, Reinhard colour transfer, warp back, mask erode/feather,
//!   composite. The model file and face networks are loaded once (the model cache), as in a host; the
//!   analysis cache is emptied before each run, so every run analyses the frame as a new one, and the frame is
//!   converted first as the node converts the host's image (`common::ingest`).
//!
//! - `augment_64/plain` and `augment_64/borrowed_pose`: preparing one 64 px training face as the trainer does,
//!   without and with `--pose-borrowing` (the moving-least-squares warp of `train::borrow` to another face's
//!   468 landmarks, then the usual augmentation). A step of the default model prepares 16 faces, on one core,
//!   before the network runs. Synthetic face and landmarks (timing depends on their count, not their content).
//!
//! Temporal smoothing is timed on a real shot rendered in order in `frame_sizes.rs` (`sequence_1080p/*`): the
//! analysis cache makes a repeated frame an unfair stand-in for its neighbours.
//!
//! Run: `cargo bench --profile dev --bench swapnet` (see BENCHMARKS.md for why the dev profile).

mod common;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Distribution, Tensor};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use faceswap_ofx::model::pretrained::repo_models_dir;
use faceswap_ofx::model::swap_model::SwapModel;
use faceswap_ofx::model::swapnet::{SwapNet, SwapNetConfig};
use faceswap_ofx::pipeline::align::FaceTemplate;
use faceswap_ofx::pipeline::analysis::Search;
use faceswap_ofx::pipeline::composite::{CompositeSettings, OutputMode};
use faceswap_ofx::pipeline::run::{run, Request};
use faceswap_ofx::pipeline::{recent, ColourTransfer, DevicePreference, FaceSelection, MaskSource};
use faceswap_ofx::train::loss;
use std::hint::black_box;

const RESOLUTION: usize = 128;
const IDENTITIES: usize = 2;
/// `faceswap train --batch` default: faces per identity per step.
const BATCH: usize = 8;
/// `faceswap train --learning-rate` default.
const LEARNING_RATE: f64 = 1e-4;

fn config() -> SwapNetConfig {
    SwapNetConfig::new(RESOLUTION, IDENTITIES)
}

fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_data().expect("readback").try_into_vec::<f32>().expect("f32 output")
}

/// `swapnet_{name}/train_step_b8x2`: one trainer step of a network shaped `config`.
fn train_step(c: &mut Criterion, name: &str, config: SwapNetConfig) {
    let device = faceswap_ofx::device::cpu();
    device.seed(1);
    let mut g = c.benchmark_group(format!("swapnet_{name}"));
    // A step takes up to seconds: 10 samples of one iteration each, not criterion's 1+2+…+10 iterations.
    g.sampling_mode(SamplingMode::Flat);
    let ad = device.clone().autodiff();
    let res = config.resolution;
    let mut net: SwapNet = config.init(&ad);
    // The trainer's optimiser settings (train/trainer.rs).
    let mut optim: ModuleOptimizer = AdamConfig::new().with_beta_1(0.5).with_beta_2(0.999).with_epsilon(1e-7).init();
    let shape = |c: usize| [BATCH, c, res, res];
    let uniform = Distribution::Uniform(0.0, 1.0);
    let batches: Vec<[Tensor<4>; 3]> = (0..IDENTITIES)
        .map(|_| [Tensor::random(shape(3), uniform, &ad), Tensor::random(shape(3), uniform, &ad), Tensor::random(shape(1), uniform, &ad)])
        .collect();
    g.bench_function("train_step_b8x2", |b| {
        b.iter(|| {
            let mut total: Option<Tensor<1>> = None;
            for (id, [input, target, mask]) in batches.iter().enumerate() {
                let out = net.forward(input.clone(), id);
                let l = loss::reconstruction(out.rgb, out.mask, target.clone(), mask.clone());
                total = Some(match total {
                    Some(t) => t + l,
                    None => l,
                });
            }
            let total = total.expect("two identities");
            // The trainer reads the loss back every step (to stop on NaN); so do we.
            black_box(read(total.clone().detach()));
            let grads = GradientsParams::from_grads(total.backward(), &net);
            net = optim.step(LEARNING_RATE, net.clone(), grads);
        })
    });
    g.finish();
}

fn swapnet(c: &mut Criterion) {
    train_step(c, "128", config());
    // The shipped default model's shape (models/default.md): 64 px, DF, encoder 16, bottleneck 128, decoder 16.
    let default_shape = SwapNetConfig::new(64, IDENTITIES).with_encoder_channels(16).with_decoder_channels(16).with_bottleneck(128);
    train_step(c, "default", default_shape);

    let device = faceswap_ofx::device::cpu();
    let uniform = Distribution::Uniform(0.0, 1.0);
    let mut g = c.benchmark_group("swapnet_128");
    let infer = config().init(&device);
    let crop = Tensor::<4>::random([1, 3, RESOLUTION, RESOLUTION], uniform, &device);
    g.bench_function("infer_b1", |b| {
        b.iter(|| {
            let out = infer.forward(crop.clone(), 1);
            black_box((read(out.rgb), read(out.mask)))
        })
    });
    g.finish();

    // The shipped default model, the network a render with the node's defaults runs (64 px, DF 16/128/16),
    // decoding as s1 as the demo does.
    let model = SwapModel::load(&repo_models_dir().join("default.safetensors"), &device).expect("models/default.safetensors");
    let res = model.config.resolution;
    let crop = Tensor::<4>::random([1, 3, res, res], uniform, &device);
    let mut g = c.benchmark_group("swapnet_default");
    g.bench_function("infer_b1", |b| {
        b.iter(|| {
            let out = model.net.forward(crop.clone(), 0);
            black_box((read(out.rgb), read(out.mask)))
        })
    });
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let device = faceswap_ofx::device::cpu();
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("bench.safetensors");
    let model = SwapModel {
        net: config().init(&device),
        config: config(),
        identities: vec!["a".into(), "b".into()],
        template: FaceTemplate::default(),
        training: serde_json::json!({}),
    };
    model.save(&path).expect("save the benchmark model");
    let frame = common::tears_of_steel_1080p();
    // The node's defaults (node/params.rs: blend 1, erode 2, feather 8, Reinhard, largest face, threshold 0.5),
    // temporal smoothing off here.
    let req = Request {
        model: Some(path),
        identity_name: "b".into(),
        identity_index: 1,
        composite: CompositeSettings { mode: OutputMode::Composite, blend: 1.0, mask_in_alpha: false },
        mask_erode: 2.0,
        mask_feather: 8.0,
        mask_source: MaskSource::LearnedInHull,
        colour_transfer: ColourTransfer::ReinhardLab,
        face_selection: FaceSelection::Largest,
        search: Search::default(),
        device: DevicePreference::Cpu,
        temporal_window: 0,
    };
    let first = run(&frame, &[], &req);
    assert!(first.passthrough.is_none(), "the benchmark frame must be swapped: {:?}", first.passthrough);

    let mut g = c.benchmark_group("pipeline_1080p");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("run_one_face", |b| {
        b.iter(|| {
            // Every render here is of a new frame, as in a shot: not the analysis the previous iteration stored,
            // and converted from the host's image (which hashes it) as the node does.
            recent::forget_all();
            black_box(run(&common::ingest(black_box(&frame)), &[], &req))
        })
    });
    g.finish();
}

fn augmentation(c: &mut Criterion) {
    use faceswap_ofx::faceset::FaceSample;
    use faceswap_ofx::train::augment::{augment, Rng};
    use faceswap_ofx::train::borrow::borrow_pose;
    let size = 64;
    let rgb: Vec<f32> = (0..size * size * 3).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
    // 468 landmarks over the face's middle, as FaceMesh's are, and a donor's a little turned and shifted.
    let landmarks: Vec<[f32; 2]> = (0..468).map(|i| [16.0 + 32.0 * (i % 22) as f32 / 21.0, 14.0 + 36.0 * (i / 22) as f32 / 21.0]).collect();
    let donor: Vec<[f32; 2]> = landmarks.iter().map(|p| [p[0] * 0.9 + 0.05 * p[1] + 3.0, p[1] - 0.04 * p[0] + 1.0]).collect();
    let face = FaceSample { rgb, mask: vec![1.0; size * size], landmarks };
    let mut g = c.benchmark_group("augment_64");
    let mut rng = Rng::new(1);
    g.bench_function("plain", |b| b.iter(|| black_box(augment(black_box(&face), size, &mut rng))));
    g.bench_function("borrowed_pose", |b| {
        b.iter(|| black_box(augment(&borrow_pose(black_box(&face), size, &donor, 0.7), size, &mut rng)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = swapnet, pipeline, augmentation
}
criterion_main!(benches);
