//! Each stage of a frame at 1280×720, 1920×1080 and 3840×2160 with the face size fixed, with one face and with
//! four, on the CPU (flex) with the shipped default model (`models/default.safetensors`, 64 px); then a shot
//! rendered in order with and without temporal smoothing.
//!
//! The frames: a 320 px square around the scientist's face (Tears of Steel frame 100 scaled to 960×540, so the
//! face box is about 190 px) pasted once in the middle, or four times in a 2×2 grid, on a flat grey plate of
//! the given size. Only the plate grows from size to size, which is what "cost flat in frame size at a fixed
//! face size" asks about. Benches, per `stages_<W>x<H>_<N>face`:
//!
//! - `detect`: the tile pyramid through BlazeFace, decode, NMS (`analysis::detect_faces`).
//! - `landmarks`: FaceMesh's two passes on every detection (`analysis::landmarks`).
//! - `align`: similarity fit and warp of every face into the model's 64 px crop.
//! - `colour`: Reinhard Lab transfer on every face's crop (inside `swap` too; shown alone).
//! - `swap`: warp in, the swap network on all faces in one batch, colour transfer, warp back into the patch
//!   (`run::swap_faces`).
//! - `composite`: mask erode 2 + feather 8 and the composite (`run::finish`, the node's defaults): the mask
//!   operations run over each face's patch, the composite copies the whole frame.
//! - `ingest`: the frame converted as the node converts a host's float RGBA image (`common::ingest`: copied row
//!   by row into a fresh frame, each row hashed for the analysis cache). Grows with the frame, like the
//!   composite.
//! - `frame`: `ingest`, then `run::run`: everything above, temporal smoothing off.
//!
//! `sequence_1080p/smoothing_{0,2}`: frames 71–78 of the excerpt at 1080p rendered in order, each with its
//! ±2 neighbours handed over as a host does (smoothing 2 is the node's default; each of the five frames
//! converted as in `ingest`, every render, as the node fetches and converts them); the analysis cache
//! (`pipeline::recent`) is emptied before each run of eight, so the figure includes the neighbours that have not
//! been seen yet. Per frame = the figure / 8.
//!
//! Run: `cargo bench --profile dev --bench frame_sizes` (see BENCHMARKS.md for why the dev profile).

mod common;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use faceswap_ofx::model::cache;
use faceswap_ofx::model::pretrained::{repo_models_dir, FaceNets};
use faceswap_ofx::pipeline::align::{align, hull_mask_crop, warp_to_crop};
use faceswap_ofx::pipeline::analysis::{detect_faces, landmarks, Face, Search};
use faceswap_ofx::pipeline::composite::{CompositeSettings, OutputMode};
use faceswap_ofx::pipeline::frame::Frame;
use faceswap_ofx::pipeline::run::{finish, run, swap_faces, Request};
use faceswap_ofx::pipeline::{colour, recent, ColourTransfer, DevicePreference, FaceSelection, MaskSource};
use std::hint::black_box;
use std::path::PathBuf;

const SIZES: [(usize, usize); 3] = [(1280, 720), (1920, 1080), (3840, 2160)];
/// Side of the pasted square holding the face.
const PATCH: usize = 320;
const GREY: [f32; 4] = [0.35, 0.35, 0.35, 1.0];

fn default_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/default.safetensors")
}

/// The node's defaults (node/params.rs), every face swapped, smoothing as given.
fn request(temporal_window: u32) -> Request {
    Request {
        model: Some(default_model()),
        identity_name: "s1".into(),
        identity_index: 0,
        composite: CompositeSettings { mode: OutputMode::Composite, blend: 1.0, mask_in_alpha: false },
        mask_erode: 2.0,
        mask_feather: 8.0,
        mask_source: MaskSource::LearnedInHull,
        colour_transfer: ColourTransfer::ReinhardLab,
        face_selection: FaceSelection::All,
        search: Search::default(),
        device: DevicePreference::Cpu,
        temporal_window,
    }
}

/// The 320 px square around the scientist's face, as interleaved RGBA rows.
fn face_patch(nets: &FaceNets) -> Vec<f32> {
    let frame = common::tears_of_steel_at(960, 540);
    let detections = detect_faces(nets, &frame, Search::default()).expect("detection");
    // The scientist scores 0.95; the back of a head beside him about 0.56.
    let best = detections.iter().max_by(|a, b| a.score.total_cmp(&b.score)).expect("a face on frame 100");
    let (cx, cy) = ((best.bbox[0] + best.bbox[2]) / 2.0, (best.bbox[1] + best.bbox[3]) / 2.0);
    let x0 = (cx as usize).saturating_sub(PATCH / 2).min(frame.width() - PATCH);
    let y0 = (cy as usize).saturating_sub(PATCH / 2).min(frame.height() - PATCH);
    (y0..y0 + PATCH).flat_map(|y| frame.row(y)[x0 * 4..(x0 + PATCH) * 4].to_vec()).collect()
}

/// A grey `w × h` plate with the patch pasted at each centre.
fn scene(w: usize, h: usize, patch: &[f32], centres: &[(usize, usize)]) -> Frame {
    let mut frame = Frame::filled(w, h, GREY);
    for &(cx, cy) in centres {
        let (x0, y0) = (cx - PATCH / 2, cy - PATCH / 2);
        for y in 0..PATCH {
            frame.row_mut(y0 + y)[x0 * 4..(x0 + PATCH) * 4].copy_from_slice(&patch[y * PATCH * 4..(y + 1) * PATCH * 4]);
        }
    }
    frame
}

fn stages(c: &mut Criterion) {
    let device = faceswap_ofx::device::cpu();
    let nets = FaceNets::load(&repo_models_dir(), &device).expect("pretrained weights in models/");
    let model = cache::swap_model(&default_model(), &device).expect("models/default.safetensors");
    let res = model.config.resolution;
    let patch = face_patch(&nets);
    let req = request(0);
    for (w, h) in SIZES {
        for count in [1, 4] {
            let centres: Vec<(usize, usize)> = if count == 1 {
                vec![(w / 2, h / 2)]
            } else {
                [(1, 1), (3, 1), (1, 3), (3, 3)].map(|(i, j)| (w * i / 4, h * j / 4)).to_vec()
            };
            let frame = scene(w, h, &patch, &centres);
            let detections = detect_faces(&nets, &frame, req.search).expect("detection");
            let faces: Vec<Face> = landmarks(&nets, &frame, &detections).expect("landmarks");
            // Every pasted face must be found, and nothing else: otherwise the stages time something else.
            assert_eq!(faces.len(), count, "{w}x{h}: {count} faces pasted, {} found", faces.len());
            let alignments: Vec<_> = faces.iter().map(|f| align(&f.landmarks, &model.template, res)).collect();
            let crops: Vec<Vec<f32>> = alignments.iter().map(|a| warp_to_crop(&frame, a)).collect();
            let hulls: Vec<_> = faces.iter().zip(&alignments).map(|(f, a)| hull_mask_crop(&f.landmarks, a)).collect();
            let swapped = swap_faces(&frame, &faces, &model, 0, &req, &device).expect("swap");

            let mut g = c.benchmark_group(format!("stages_{w}x{h}_{count}face"));
            g.sampling_mode(SamplingMode::Flat);
            g.bench_function("detect", |b| b.iter(|| black_box(detect_faces(&nets, black_box(&frame), req.search).expect("detection"))));
            g.bench_function("landmarks", |b| b.iter(|| black_box(landmarks(&nets, black_box(&frame), &detections).expect("landmarks"))));
            g.bench_function("align", |b| {
                b.iter(|| faces.iter().map(|f| warp_to_crop(black_box(&frame), &align(&f.landmarks, &model.template, res))).collect::<Vec<_>>())
            });
            g.bench_function("colour", |b| {
                b.iter(|| {
                    for (crop, hull) in crops.iter().zip(&hulls) {
                        // The network's output stands in for a crop of the same size: the cost does not depend
                        // on the values.
                        let mut face = crop.clone();
                        colour::transfer(ColourTransfer::ReinhardLab, &mut face, crop, hull.data());
                        black_box(face);
                    }
                })
            });
            g.bench_function("swap", |b| {
                b.iter(|| black_box(swap_faces(black_box(&frame), &faces, &model, 0, &req, &device).expect("swap")))
            });
            g.bench_function("composite", |b| b.iter(|| black_box(finish(black_box(&frame), &swapped, &req))));
            g.bench_function("ingest", |b| b.iter(|| black_box(common::ingest(black_box(&frame)))));
            g.bench_function("frame", |b| {
                b.iter(|| {
                    // Each frame is a new one, as in a shot: no analysis from the previous iteration, and the
                    // host's image converted (and hashed) as the node does.
                    recent::forget_all();
                    let out = run(&common::ingest(black_box(&frame)), &[], &req);
                    assert!(out.passthrough.is_none());
                    black_box(out)
                })
            });
            g.finish();
        }
    }
}

fn sequence(c: &mut Criterion) {
    // Frames 69–80: the eight rendered (71–78) and their ±2 neighbours.
    let frames: Vec<Frame> = (69..=80).map(|n| common::tears_of_steel_frame(n, 1920, 1080)).collect();
    let mut g = c.benchmark_group("sequence_1080p");
    g.sampling_mode(SamplingMode::Flat);
    // What a host hands over with each frame, built outside the timed loop (1 GB of frames at 1080p).
    let around = |t: usize| -> Vec<(i32, Frame)> { [-2i32, -1, 1, 2].iter().map(|&o| (o, frames[(t as i32 + o) as usize].clone())).collect() };
    let neighbours: Vec<Vec<(i32, Frame)>> = (2..10).map(around).collect();
    for window in [0u32, 2] {
        let req = Request { face_selection: FaceSelection::Largest, ..request(window) };
        g.bench_function(format!("smoothing_{window}"), |b| {
            b.iter(|| {
                recent::forget_all();
                for (t, around) in (2..10).zip(&neighbours) {
                    // The node converts (and hashes) the frame and each neighbour it fetches, every render; it
                    // fetches no neighbours without smoothing.
                    let around: Vec<(i32, Frame)> = match window {
                        0 => Vec::new(),
                        _ => around.iter().map(|(o, f)| (*o, common::ingest(f))).collect(),
                    };
                    let out = run(&common::ingest(&frames[t]), &around, &req);
                    assert!(out.passthrough.is_none(), "frame {}: {:?}", t + 69, out.passthrough);
                    black_box(out);
                }
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = stages, sequence
}
criterion_main!(benches);
