//! GPU faults during a render (issue #7): a lost device or an error wgpu reports must not cost the frame nor
//! the host. The frame is computed again on the CPU with a note saying so, and the device stays off for the
//! rest of the process.
//!
//! Runs on Mesa lavapipe (software Vulkan, ~30× slower than the CPU backend), on a quarter-size frame. Each
//! test gets a software GPU device of its own, because the faults are real: the device-lost test destroys it.
//! The fault is armed with `Gpu::inject_fault_for_tests` and fires between face analysis (which has then run
//! on the GPU) and the swap network.

use faceswap_ofx::device::{self, Gpu, InjectedFault};
use faceswap_ofx::model::swap_model::SwapModel;
use faceswap_ofx::model::swapnet::SwapNetConfig;
use faceswap_ofx::pipeline::align::FaceTemplate;
use faceswap_ofx::pipeline::analysis::Search;
use faceswap_ofx::pipeline::composite::{CompositeSettings, OutputMode};
use faceswap_ofx::pipeline::frame::Frame;
use faceswap_ofx::pipeline::run::{self, Outcome, Request};
use faceswap_ofx::pipeline::{ColourTransfer, DevicePreference, FaceSelection, MaskSource};
use std::path::{Path, PathBuf};

/// The astronaut at 256×256 (a face of ~100 px: found on the first pyramid levels, small enough for lavapipe).
fn small_astronaut() -> Frame {
    let img = image::open(faceswap_ofx::footage::require("astronaut.png")).unwrap();
    let img = img.resize_exact(256, 256, image::imageops::FilterType::Triangle).to_rgba32f();
    Frame::from_rgba(256, 256, img.into_raw()).unwrap()
}

/// A tiny untrained model: the mechanics are what is tested, not the likeness.
fn tiny_model(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.safetensors");
    let config = SwapNetConfig::new(32, 2).with_encoder_channels(4).with_decoder_channels(4).with_bottleneck(8);
    let model = SwapModel {
        net: config.init(&device::cpu()),
        config,
        identities: vec!["a".into(), "b".into()],
        template: FaceTemplate::default(),
        training: serde_json::json!({}),
    };
    model.save(&path).unwrap();
    path
}

fn request(model: PathBuf, device: DevicePreference) -> Request {
    Request {
        model: Some(model),
        identity_name: "b".into(),
        identity_index: 0,
        composite: CompositeSettings { mode: OutputMode::Composite, blend: 1.0, mask_in_alpha: false },
        mask_erode: 0.0,
        mask_feather: 2.0,
        mask_source: MaskSource::LearnedInHull,
        colour_transfer: ColourTransfer::ReinhardLab,
        face_selection: FaceSelection::Largest,
        search: Search::default(),
        device,
        temporal_window: 0,
    }
}

fn software_gpu() -> Gpu {
    device::new_software_gpu_for_tests()
        .unwrap_or_else(|e| panic!("no software Vulkan adapter ({e}); install mesa-vulkan-drivers (scripts/setup.sh)"))
}

/// A GPU render to break: the frame, its CPU render, a software GPU and a request for it (model in `dir`).
struct GpuCase {
    source: Frame,
    reference: Outcome,
    gpu: Gpu,
    req: Request,
}

fn gpu_case(dir: &Path) -> GpuCase {
    let model = tiny_model(dir);
    let source = small_astronaut();
    let reference = cpu_reference(&source, &model);
    GpuCase { source, reference, gpu: software_gpu(), req: request(model, DevicePreference::Gpu) }
}

/// The frame swapped on the CPU: what a fallback must deliver, bit for bit.
fn cpu_reference(source: &Frame, model: &Path) -> Outcome {
    let out = run::run(source, &[], &request(model.to_owned(), DevicePreference::Cpu));
    assert!(out.passthrough.is_none(), "the CPU render must swap: {:?}", out.passthrough);
    assert!(out.note.is_none(), "{:?}", out.note);
    out
}

fn assert_fell_back(out: &Outcome, reference: &Outcome, what: &str) {
    assert!(out.passthrough.is_none(), "{what}: the frame must still be swapped, got {:?}", out.passthrough);
    let note = out.note.as_deref().unwrap_or_else(|| panic!("{what}: no message for the artist"));
    assert!(note.contains("rendering on the CPU") || note.contains("rendered on the CPU"), "{what}: {note}");
    assert!(out.image == reference.image, "{what}: the fallback frame differs from the CPU render");
    assert!(out.mask == reference.mask, "{what}: the fallback mask differs from the CPU render");
}

#[test]
fn device_lost_mid_render_falls_back_to_the_cpu_and_stays_off() {
    let dir = tempfile::tempdir().unwrap();
    let GpuCase { source, reference, gpu, req } = gpu_case(dir.path());

    gpu.inject_fault_for_tests(InjectedFault::DeviceLost);
    let out = run::run_on_gpu(&source, &mut |_| None, &req, &gpu);
    eprintln!("device lost: {:?}", out.note);
    assert_fell_back(&out, &reference, "device lost mid-render");
    assert!(gpu.fault().is_some(), "the lost device must be marked faulted");

    // The next render does not touch the device again.
    let again = run::run_on_gpu(&source, &mut |_| None, &req, &gpu);
    assert_fell_back(&again, &reference, "render after the loss");
    assert!(again.note.as_deref().unwrap_or("").contains("stays off until the host restarts"), "{:?}", again.note);
}

#[test]
fn uncaptured_gpu_error_mid_render_falls_back_to_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let GpuCase { source, reference, gpu, req } = gpu_case(dir.path());

    // Control: a healthy device renders on the GPU, with no fallback and no message.
    let healthy = run::run_on_gpu(&source, &mut |_| None, &req, &gpu);
    assert!(healthy.passthrough.is_none(), "{:?}", healthy.passthrough);
    assert!(healthy.note.is_none(), "a healthy GPU render must not fall back: {:?}", healthy.note);
    assert!(gpu.fault().is_none());

    gpu.inject_fault_for_tests(InjectedFault::UncapturedError);
    let out = run::run_on_gpu(&source, &mut |_| None, &req, &gpu);
    eprintln!("uncaptured error: {:?}", out.note);
    assert_fell_back(&out, &reference, "uncaptured error mid-render");
    let fault = gpu.fault().expect("the device must be marked faulted").to_owned();
    assert!(fault.contains("the GPU reported an error"), "{fault}");
    assert!(out.note.as_deref().unwrap_or("").contains(&fault), "the message must say what the GPU reported");
}
