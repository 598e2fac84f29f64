//! Shared by the integration tests: the plug-in bundle built from this build's library, and real frames.
#![allow(dead_code)] // each test binary uses a different part

use ofx_host::{Bundle, Components, Depth, HostImage, RectI};
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

pub fn load() -> Loaded {
    static TURN: Mutex<()> = Mutex::new(());
    // A failed test poisons the lock; the next test may still run.
    let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    Loaded { bundle: Bundle::load(bundle_path()).expect("bundle loads"), _turn: turn }
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
