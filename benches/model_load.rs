//! Loading models on the CPU (flex): the pretrained face networks (BlazeFace 0.4 MB + FaceMesh 2.4 MB) and a
//! swap model shaped as `faceswap train --resolution 128` builds it (2 identities, 68 MB), saved to a temporary
//! file first.
//!
//! - `*/warm`: the file is in the page cache (what every load after the first is, on a workstation).
//! - `*/cold_file`: the file's pages are dropped from the page cache before each load
//!   (`dd iflag=nocache count=0`, i.e. `posix_fadvise(DONTNEED)` on that file only; the rest of the system is
//!   untouched), so the read goes to the disk. Nothing else is cold: the process, allocator and backend are warm.
//! - The first load of each in the process, files evicted, is printed once before its benches run.
//!
//! Run: `cargo bench --profile dev --bench model_load` (see BENCHMARKS.md for why the dev profile).

mod common;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use faceswap_ofx::model::pretrained::{repo_models_dir, FaceNets, BLAZEFACE_FILE, FACEMESH_FILE};
use faceswap_ofx::model::swap_model::SwapModel;
use faceswap_ofx::model::swapnet::SwapNetConfig;
use faceswap_ofx::pipeline::align::FaceTemplate;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Asks the kernel to drop `path`'s cached pages (clean pages only: a file just written is synced first).
/// GNU dd's `nocache` flag does the `posix_fadvise(DONTNEED)`, which keeps `unsafe` out of the benches.
fn evict(path: &Path) {
    if let Ok(f) = std::fs::File::open(path) {
        f.sync_all().ok();
    }
    let status = Command::new("dd")
        .arg(format!("if={}", path.display()))
        .args(["iflag=nocache", "count=0", "status=none"])
        .status()
        .expect("dd (GNU coreutils) drops a file from the page cache");
    assert!(status.success(), "dd could not drop {} from the page cache", path.display());
}

fn face_nets(c: &mut Criterion) {
    let device = faceswap_ofx::device::cpu();
    let dir = repo_models_dir();
    let files: Vec<PathBuf> = [BLAZEFACE_FILE, FACEMESH_FILE].iter().map(|f| dir.join(f)).collect();
    files.iter().for_each(|f| evict(f));
    let t = Instant::now();
    black_box(FaceNets::load(&dir, &device).expect("pretrained weights"));
    eprintln!("face_nets: first load in process (files evicted from the page cache): {:.1} ms", t.elapsed().as_secs_f64() * 1e3);

    let mut g = c.benchmark_group("load_face_nets");
    g.bench_function("warm", |b| b.iter(|| black_box(FaceNets::load(&dir, &device).expect("load"))));
    g.bench_function("cold_file", |b| {
        b.iter_batched(|| files.iter().for_each(|f| evict(f)), |()| black_box(FaceNets::load(&dir, &device).expect("load")), BatchSize::PerIteration)
    });
    g.finish();
}

fn swap_model(c: &mut Criterion) {
    let device = faceswap_ofx::device::cpu();
    let tmp = tempfile::tempdir().expect("temporary folder");
    let path = tmp.path().join("bench.safetensors");
    let config = SwapNetConfig::new(128, 2);
    let model = SwapModel {
        net: config.init(&device),
        config,
        identities: vec!["a".into(), "b".into()],
        template: FaceTemplate::default(),
        training: serde_json::json!({}),
    };
    model.save(&path).expect("save");
    drop(model);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    evict(&path);
    let t = Instant::now();
    black_box(SwapModel::load(&path, &device).expect("load"));
    eprintln!(
        "swap_model ({:.1} MB): first load after eviction: {:.1} ms",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64() * 1e3
    );

    let mut g = c.benchmark_group("load_swap_model_128");
    g.bench_function("warm", |b| b.iter(|| black_box(SwapModel::load(&path, &device).expect("load"))));
    g.bench_function("cold_file", |b| {
        b.iter_batched(|| evict(&path), |()| black_box(SwapModel::load(&path, &device).expect("load")), BatchSize::PerIteration)
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = face_nets, swap_model
}
criterion_main!(benches);
