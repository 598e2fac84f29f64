//! Shared by the integration tests: the plug-in bundle built from this build's library, and real frames.
#![allow(dead_code)] // each test binary uses a different part

use ofx_host::{Bundle, Components, Depth, HostConfig, HostImage, RectI};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Packs `libfaceswap_ofx.so` from this build into a bundle under a temporary folder, once per test binary.
/// `cargo test` does not build the cdylib itself: .ci/run builds all targets first.
pub fn bundle_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let lib = faceswap_ofx::bundle::find_cdylib(&exe)
            .expect("libfaceswap_ofx.so not built: run `cargo build --workspace --all-targets` before the tests (.ci/run does)");
        let dir = std::env::temp_dir().join(format!("faceswap-ofx-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        faceswap_ofx::bundle::pack(&lib, &dir).expect("pack bundle")
    })
}

/// A loaded bundle, held under a process-wide lock. The plug-in, like every OFX plug-in, serves one host per
/// process (its suites are process globals); tests in one binary therefore take turns loading it.
pub struct Loaded {
    // Field order matters: the bundle unloads before the lock is released.
    bundle: Bundle,
    _turn: MutexGuard<'static, ()>,
}

impl std::ops::Deref for Loaded {
    type Target = Bundle;
    fn deref(&self) -> &Bundle {
        &self.bundle
    }
}

/// This test binary's turn at the plug-in (for tests that load it by hand, e.g. several times in a row).
pub fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    // A failed test poisons the lock; the next test may still run.
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn load() -> Loaded {
    load_with(HostConfig::default())
}

/// Loads the bundle into a host configured as given (withheld suites, planes, lax components...).
pub fn load_with(config: HostConfig) -> Loaded {
    let turn = turn();
    Loaded { bundle: Bundle::load_with(bundle_path(), config, None).expect("bundle loads"), _turn: turn }
}

/// A tiny, untrained swap model (32 px, a few thousand weights) with these identities, saved as `file` in
/// `dir` the way the CLI saves models: the node's mechanics are tested with it, not likeness.
pub fn tiny_model(dir: &Path, file: &str, identities: &[&str]) -> PathBuf {
    use faceswap_ofx::model::{swap_model::SwapModel, swapnet::SwapNetConfig};
    let config = SwapNetConfig::new(32, identities.len()).with_encoder_channels(4).with_decoder_channels(4).with_bottleneck(8);
    let model = SwapModel {
        net: config.init(&faceswap_ofx::device::cpu()),
        config,
        identities: identities.iter().map(|s| s.to_string()).collect(),
        template: faceswap_ofx::pipeline::align::FaceTemplate::default(),
        training: serde_json::json!({}),
    };
    let path = dir.join(file);
    model.save(&path).expect("save the tiny model");
    path
}

/// astronaut.png as a host image: a real face, from the shared footage.
pub fn astronaut() -> HostImage {
    let path = faceswap_ofx::footage::require("astronaut.png");
    ofx_host::read_image(&path).unwrap_or_else(|e| panic!("{}: {e} (see ../shared/data/README.md)", path.display()))
}

/// `img` converted to the given layout, cropped to a w×h corner to keep tests quick.
pub fn sample(img: &HostImage, w: u32, h: u32, components: Components, depth: Depth) -> HostImage {
    img.crop(RectI::from_size(w, h)).convert(components, depth)
}

/// Decodes a clip of the shared footage into PNG frames (numbered from 1, as ffmpeg does) in a temporary
/// folder, once per test binary and clip. Needs ffmpeg (scripts/setup.sh installs it).
pub fn decoded_frames(relative: &str) -> PathBuf {
    static DONE: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, dir)) = done.iter().find(|(r, _)| r == relative) {
        return dir.clone();
    }
    let clip = faceswap_ofx::footage::require(relative);
    let dir = std::env::temp_dir().join(format!("faceswap-ofx-frames-{}-{}", std::process::id(), done.len()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&clip)
        .args(["-fps_mode", "passthrough"])
        .arg(dir.join("%05d.png"))
        .status()
        .expect("ffmpeg (scripts/setup.sh installs it)");
    assert!(status.success(), "ffmpeg failed on {}", clip.display());
    done.push((relative.to_owned(), dir.clone()));
    dir
}

/// Frame `n` of a decoded clip as a pipeline frame.
pub fn frame(dir: &Path, n: u32) -> faceswap_ofx::pipeline::frame::Frame {
    let img = image::open(dir.join(format!("{n:05}.png"))).expect("decoded frame").to_rgba32f();
    faceswap_ofx::pipeline::frame::Frame::from_rgba(img.width() as usize, img.height() as usize, img.into_raw()).expect("frame")
}
