//! Face analysis on the CPU (flex): the two networks alone at batch 1, then each stage of a whole 1080p frame
//! holding one real face (Tears of Steel frame 100 scaled up from 640×360; see `frame_1080p` for what else the
//! detector finds in it).
//!
//! - `network/blazeface_b1`, `network/facemesh_b1`: one forward pass on the same real input the onnxruntime
//!   comparison uses (`scripts/bench_onnxruntime.py`), read back to the host. `network/blazeface_b88`: the
//!   same input repeated 88 times, the batch `detect` runs on a 1080p frame (the network's share of it).
//! - `frame_1080p/detect`: the tile pyramid (88 tiles of 128×128 for 1080p) through BlazeFace in one batch,
//!   decode and NMS. `frame_1080p/detect_crops`: the 88 tile crops alone (`tile_inputs`).
//! - `frame_1080p/landmarks`: FaceMesh on the real face (crop, forward, mapping back), its detection given.
//! - `frame_1080p/landmarks_all`: FaceMesh on every detection of the frame in one batch (4 at 1080p: the face,
//!   the back of a head FaceMesh confirms, two it rejects), as `analyse` runs it.
//! - `frame_1080p/landmarks_network`: FaceMesh alone at the batches `landmarks_all` runs (4, then the 2 faces
//!   kept), on the fixture input: the network's share of it.
//! - `frame_1080p/align_warp`: similarity fit to the template and the warp into a 128 px crop.
//! - `frame_1080p/analyse`: detection then landmarks, what a render does per frame before the swap.
//!   `analyse_smallest_face_{10,20}`: the same with Smallest Face raised from 3% to 10% and 20% of the height
//!   (7 and 1 tiles instead of 88).
//!
//! - `analyse_by_size/WxH`: detection + landmarks on the same frame at 720p, 1080p, 1440p and 4K.
//! - `layers_b88_64x64/*`: BlazeFace's first blocks' layers alone (depthwise, pointwise, channel padding, add,
//!   ReLU, both 2×2 max poolings) at batch 88, read back: where flex spends the network's time; then the whole
//!   block composed from them and as the fused kernel (`device::fused`).
//! - `network/*_composed`: the networks with the fused kernels switched off. `network/blazeface_b88_in_Ns`: the
//!   88 tiles in batches of N (`detect` uses 16).
//!
//! Run: `cargo bench --profile dev --bench face_analysis` (see BENCHMARKS.md for why the dev profile).

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::FRAME_W;
use criterion::{criterion_group, criterion_main, Criterion};
use faceswap_ofx::model::pretrained::{repo_models_dir, FaceNets};
use faceswap_ofx::pipeline::align::{align, warp_to_crop, FaceTemplate};
use faceswap_ofx::pipeline::analysis::{analyse, detect_faces, landmarks, tile_inputs, tiles, Search};
use std::hint::black_box;
use std::path::PathBuf;


/// Crop side of a 128 px swap model (`faceswap train --resolution 128`; the shipped default is 64 px).
const CROP: usize = 128;

/// The `input` tensor of a parity fixture: the exact network input onnxruntime was given for it.
fn fixture_input(file: &str, side: usize, device: &Device) -> Tensor<4> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/face_analysis").join(format!("{file}.safetensors"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let view = st.tensor("input").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let data: Vec<f32> = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Tensor::<4>::from_data(TensorData::new(data, [1, 3, side, side]), device)
}

/// Reads a tensor back to the host: forces the (lazy) backend to run everything it depends on.
fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_data().expect("readback").try_into_vec::<f32>().expect("f32 output")
}

fn networks(c: &mut Criterion) {
    let device = faceswap_ofx::device::cpu();
    let nets = FaceNets::load(&repo_models_dir(), &device).expect("pretrained weights in models/");
    let det_in = fixture_input("tos_0095_blazeface", 128, &device);
    let mesh_in = fixture_input("tos_0095_facemesh", 192, &device);

    let mut g = c.benchmark_group("network");
    g.bench_function("blazeface_b1", |b| {
        b.iter(|| {
            let out = nets.detector.forward(det_in.clone());
            black_box((read(out.regressors), read(out.logits)))
        })
    });
    // The 88 tiles of a 1080p frame in one batch, without cropping them: the network's share of `detect`.
    let det_tiles = det_in.clone().repeat_dim(0, tiles(1920, 1080, Search::default().smallest_face).len());
    g.bench_function("blazeface_b88", |b| {
        b.iter(|| {
            let out = nets.detector.forward(det_tiles.clone());
            black_box((read(out.regressors), read(out.logits)))
        })
    });
    for chunk in [8, 16, 22, 44] {
        let parts: Vec<Tensor<4>> = det_tiles.clone().split(chunk, 0);
        g.bench_function(format!("blazeface_b88_in_{chunk}s"), |b| {
            b.iter(|| parts.iter().map(|p| read(nets.detector.forward(p.clone()).logits)).collect::<Vec<_>>())
        });
    }
    g.bench_function("facemesh_b1", |b| {
        b.iter(|| {
            let out = nets.landmarks.forward(mesh_in.clone());
            black_box((read(out.landmarks), read(out.presence)))
        })
    });
    // The same three with the fused BlazeBlock kernel switched off: Burn's composed operations throughout.
    composed(|| {
        g.bench_function("blazeface_b1_composed", |b| b.iter(|| black_box(read(nets.detector.forward(det_in.clone()).logits))));
        g.bench_function("blazeface_b88_composed", |b| b.iter(|| black_box(read(nets.detector.forward(det_tiles.clone()).logits))));
        g.bench_function("facemesh_b1_composed", |b| b.iter(|| black_box(read(nets.landmarks.forward(mesh_in.clone()).presence))));
    });
    g.finish();
}

/// Runs `f` with the fused CPU kernels switched off.
fn composed(f: impl FnOnce()) {
    faceswap_ofx::device::fused::set_enabled(false);
    f();
    faceswap_ofx::device::fused::set_enabled(true);
}

/// Detection + landmarks on the same shot at 720p, 1080p, 1440p and 4K: the tile pyramid is sized by the frame
/// from 1080p up, so the cost should stay flat there (the levels' downscale is the only part that reads every
/// pixel); 720p uses fewer tiles (none under 192 px).
fn analyse_by_size(c: &mut Criterion) {
    let device = faceswap_ofx::device::cpu();
    let nets = FaceNets::load(&repo_models_dir(), &device).expect("pretrained weights in models/");
    let mut g = c.benchmark_group("analyse_by_size");
    for (w, h) in [(1280, 720), (1920, 1080), (2560, 1440), (3840, 2160)] {
        let frame = common::tears_of_steel_at(w, h);
        let faces = analyse(&nets, &frame, Search::default()).expect("analysis");
        assert!(!faces.is_empty(), "no face at {w}x{h}");
        eprintln!("analyse_by_size {w}x{h}: {} tiles, {} faces", tiles(w as usize, h as usize, Search::default().smallest_face).len(), faces.len());
        g.bench_function(format!("{w}x{h}"), |b| b.iter(|| black_box(analyse(&nets, black_box(&frame), Search::default()).expect("analysis"))));
    }
    g.finish();
}

fn frame_1080p(c: &mut Criterion) {
    let device = faceswap_ofx::device::cpu();
    let nets = FaceNets::load(&repo_models_dir(), &device).expect("pretrained weights in models/");
    let frame = common::tears_of_steel_1080p();
    let detections = detect_faces(&nets, &frame, Search::default()).expect("detection");
    let faces = landmarks(&nets, &frame, &detections).expect("landmarks");
    // Frame 100 holds one real face (the scientist, right half, score 0.95) and the back of a bald head that
    // BlazeFace scores 0.56 and FaceMesh confirms (presence 0.94); at 1080p two more small-tile detections
    // follow, which FaceMesh rejects. `landmarks` times the real face alone; `landmarks_all` every detection, as
    // `analyse` does. Anything else means the frame or the pipeline changed: say so rather than time it.
    let summary: Vec<String> = detections.iter().map(|d| format!("{:?} score {:.2}", d.bbox.map(|v| v.round()), d.score)).collect();
    assert!(!detections.is_empty() && !faces.is_empty(), "no face found on Tears of Steel frame 100 at 1080p");
    let real = &detections[..1];
    assert!(real[0].bbox[0] > FRAME_W as f32 / 2.0 && real[0].score > 0.9, "best detection is not the scientist: {summary:?}");
    eprintln!("frame_1080p: {} tiles, {} detections {summary:?}, {} faces kept", tiles(1920, 1080, Search::default().smallest_face).len(), detections.len(), faces.len());
    let face = &faces[0];
    assert_eq!(face.detection, real[0], "the best face must be the scientist");
    let template = FaceTemplate::default();

    let mut g = c.benchmark_group("frame_1080p");
    g.bench_function("detect", |b| b.iter(|| black_box(detect_faces(&nets, black_box(&frame), Search::default()).expect("detection"))));
    // The tile crops alone (what `detect_faces` runs first): `detect` minus this minus `network/blazeface_b88`
    // is decoding and NMS.
    let pyramid = tiles(frame.width(), frame.height(), Search::default().smallest_face);
    g.bench_function("detect_crops", |b| b.iter(|| black_box(tile_inputs(black_box(&frame), &pyramid))));
    g.bench_function("landmarks", |b| b.iter(|| black_box(landmarks(&nets, black_box(&frame), black_box(real)).expect("landmarks"))));
    g.bench_function("landmarks_all", |b| {
        b.iter(|| black_box(landmarks(&nets, black_box(&frame), black_box(&detections)).expect("landmarks")))
    });
    // FaceMesh's share of `landmarks_all`: the network alone at the batches `landmarks` runs on this frame (every
    // detection, then the faces kept), on the fixture crop repeated; what onnxruntime's "landmarks: FaceMesh"
    // row in `scripts/bench_onnxruntime.py` times in its port of the same frame.
    let mesh_in = fixture_input("tos_0095_facemesh", 192, &device);
    let mesh_batches = [mesh_in.clone().repeat_dim(0, detections.len()), mesh_in.repeat_dim(0, faces.len())];
    g.bench_function("landmarks_network", |b| {
        b.iter(|| {
            mesh_batches
                .iter()
                .map(|x| {
                    let out = nets.landmarks.forward(x.clone());
                    (read(out.landmarks), read(out.presence))
                })
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("align_warp", |b| {
        b.iter(|| {
            let a = align(black_box(&face.landmarks), &template, CROP);
            black_box(warp_to_crop(black_box(&frame), &a))
        })
    });
    g.bench_function("analyse", |b| b.iter(|| black_box(analyse(&nets, black_box(&frame), Search::default()).expect("analysis"))));
    // Smallest Face raised: the scientist's face (~380 px, 35% of the height) is found at each setting.
    for percent in [10, 20] {
        let search = Search { smallest_face: percent as f32 / 100.0, ..Search::default() };
        let found = analyse(&nets, &frame, search).expect("analysis");
        let r = real[0].bbox;
        let (cx, cy) = ((r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0);
        let holds = |b: [f32; 4]| b[0] < cx && cx < b[2] && b[1] < cy && cy < b[3];
        assert!(found.iter().any(|f| holds(f.detection.bbox)), "{percent}%: the scientist was lost");
        let n = tiles(frame.width(), frame.height(), search.smallest_face).len();
        eprintln!("frame_1080p/analyse_smallest_face_{percent}: {n} tiles");
        g.bench_function(format!("analyse_smallest_face_{percent}"), |b| b.iter(|| black_box(analyse(&nets, black_box(&frame), search).expect("analysis"))));
    }
    g.finish();
}

/// BlazeFace's costliest layer shapes on their own, at the batch of a 1080p frame (88 tiles): the first blocks
/// run at 64×64 with 24-28 channels, 40 MB a tensor, where every element-wise pass and allocation shows.
fn layers(c: &mut Criterion) {
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::PaddingConfig2d;
    use burn::tensor::activation::relu;
    use burn::tensor::module::max_pool2d;
    use burn::tensor::ops::MaxPoolOptions;
    use burn::tensor::Distribution;
    use faceswap_ofx::model::blaze_block::max_pool_2x2;
    let device = faceswap_ofx::device::cpu();
    let (b, c_in, c_out, side) = (tiles(1920, 1080, Search::default().smallest_face).len(), 24, 28, 64);
    let x = Tensor::<4>::random([b, c_in, side, side], Distribution::Uniform(-1.0, 1.0), &device);
    let dw = Conv2dConfig::new([c_in, c_in], [3, 3]).with_groups(c_in).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
    let pw = Conv2dConfig::new([c_in, c_out], [1, 1]).init(&device);
    let y = pw.forward(dw.forward(x.clone()));
    let pad = || Tensor::cat(vec![x.clone(), Tensor::<4>::zeros([b, c_out - c_in, side, side], &device)], 1);
    let padded = pad();
    let mut g = c.benchmark_group("layers_b88_64x64");
    g.bench_function("depthwise_3x3", |bn| bn.iter(|| read(dw.forward(x.clone()))));
    g.bench_function("pointwise_24_28", |bn| bn.iter(|| read(pw.forward(x.clone()))));
    g.bench_function("channel_pad_zeros_cat", |bn| bn.iter(|| read(pad())));
    g.bench_function("add", |bn| bn.iter(|| read(y.clone() + padded.clone())));
    g.bench_function("relu", |bn| bn.iter(|| read(relu(y.clone()))));
    g.bench_function("max_pool2d", |bn| bn.iter(|| read(max_pool2d(x.clone(), MaxPoolOptions::new([2, 2])))));
    g.bench_function("max_pool_2x2_reshaped", |bn| bn.iter(|| read(max_pool_2x2(x.clone()))));
    // BlazeFace's first layer, the 5×5 stride-2 convolution from the 128 px tiles (3 → 24 channels).
    let stem = Conv2dConfig::new([3, 24], [5, 5]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 2, 2)).init(&device);
    let tiles_in = Tensor::<4>::random([b, 3, 2 * side, 2 * side], Distribution::Uniform(-1.0, 1.0), &device);
    g.bench_function("stem_5x5_stride2", |bn| bn.iter(|| read(stem.forward(tiles_in.clone()))));
    g.bench_function("stem_5x5_stride2_relu_fused", |bn| {
        bn.iter(|| read(faceswap_ofx::model::conv::conv_then(&stem, faceswap_ofx::model::conv::After::Relu, tiles_in.clone())))
    });
    // The whole block those layers make, composed and as the fused kernel.
    let block = faceswap_ofx::model::blaze_block::BlazeBlockConfig::new(c_in, c_out).init(&device);
    g.bench_function("blaze_block_composed", |bn| bn.iter(|| read(block.forward_composed(x.clone()))));
    g.bench_function("blaze_block_fused", |bn| bn.iter(|| read(block.forward_fused(&x).expect("flex"))));
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = networks, frame_1080p, analyse_by_size, layers
}
criterion_main!(benches);
