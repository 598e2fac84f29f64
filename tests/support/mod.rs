//! Shared by the integration tests: the plug-in bundle built from this build's library, and real frames.
#![allow(dead_code)] // each test binary uses a different part

use ofx_host::{Bundle, Components, Depth, HostConfig, HostImage, RectI};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Where the tests keep their files: cargo's per-target scratch folder (`<target dir>/tmp`), not the system's
/// temporary folder. Test binaries end without running destructors of statics, so per-process folders under
/// /tmp were never removed: 142 MB of bundle and up to 107 MB of decoded frames a test binary, and 48 GB of
/// them filled this machine's disk before anyone noticed.
fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// Packs `libfaceswap_ofx.so` from this build into a bundle, once per test binary, in a folder named after
/// the process; folders of processes that have ended are removed first.
/// `cargo test` does not build the cdylib itself: .ci/run builds all targets first.
pub fn bundle_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let lib = faceswap_ofx::bundle::find_cdylib(&exe)
            .expect("libfaceswap_ofx.so not built: run `cargo build --workspace --all-targets` before the tests (.ci/run does)");
        remove_folders_of_ended_processes();
        let dir = scratch().join(format!("bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        faceswap_ofx::bundle::pack(&lib, &dir).expect("pack bundle")
    })
}

/// Removes the per-process folders (`bundle-<pid>`, `partial-<pid>-<n>`) of processes that have ended.
fn remove_folders_of_ended_processes() {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(scratch()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rest = name.strip_prefix("bundle-").or_else(|| name.strip_prefix("partial-"));
        let Some(pid) = rest.and_then(|r| r.split('-').next()).and_then(|p| p.parse::<u32>().ok()) else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            // Another test binary may be sweeping too: a folder already gone is fine.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
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

/// Decodes a clip of the shared footage into PNG frames (numbered from 1, as ffmpeg does), once: the frames
/// stay in the scratch folder under the clip's name and later runs reuse them. A decode goes to a folder of
/// its own and is renamed into place when complete, so an interrupted run or two runs at once never leave a
/// half-decoded clip behind. Needs ffmpeg (scripts/setup.sh installs it).
pub fn decoded_frames(relative: &str) -> PathBuf {
    static DONE: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, dir)) = done.iter().find(|(r, _)| r == relative) {
        return dir.clone();
    }
    let clip = faceswap_ofx::footage::require(relative);
    let dir = scratch().join(format!("frames-{}", relative.replace(['/', '\\', '.'], "_")));
    if !dir.is_dir() {
        remove_folders_of_ended_processes();
        let partial = scratch().join(format!("partial-{}-{}", std::process::id(), done.len()));
        std::fs::create_dir_all(&partial).expect("scratch folder");
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&clip)
            .args(["-fps_mode", "passthrough"])
            .arg(partial.join("%05d.png"))
            .status()
            .expect("ffmpeg (scripts/setup.sh installs it)");
        assert!(status.success(), "ffmpeg failed on {}", clip.display());
        // Another run may have finished the same clip meanwhile: then its frames are used and ours dropped.
        if std::fs::rename(&partial, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
        assert!(dir.is_dir(), "decoded frames of {} missing at {}", clip.display(), dir.display());
    }
    done.push((relative.to_owned(), dir.clone()));
    dir
}

/// Frame `n` of a decoded clip as a pipeline frame.
pub fn frame(dir: &Path, n: u32) -> faceswap_ofx::pipeline::frame::Frame {
    let img = image::open(dir.join(format!("{n:05}.png"))).expect("decoded frame").to_rgba32f();
    faceswap_ofx::pipeline::frame::Frame::from_rgba(img.width() as usize, img.height() as usize, img.into_raw()).expect("frame")
}

/// Runs the `faceswap` binary of this build; panics with its output unless it succeeds. Returns stdout and
/// stderr together.
pub fn faceswap(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faceswap")).args(args).output().expect("run faceswap");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "faceswap {args:?} failed:\n{text}");
    text
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
