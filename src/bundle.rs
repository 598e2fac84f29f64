//! Packs the built plug-in library into an OFX bundle directory, as hosts expect to find it:
//!
//! ```text
//! FaceSwap.ofx.bundle/Contents/Info.plist
//! FaceSwap.ofx.bundle/Contents/Linux-x86-64/FaceSwap.ofx
//! FaceSwap.ofx.bundle/Contents/Resources/<plugin id>.png
//! ```

use std::path::{Path, PathBuf};

/// Name of the bundle directory.
pub const BUNDLE_NAME: &str = "FaceSwap.ofx.bundle";

const INFO_PLIST: &str = include_str!("../plugin-bundle/Info.plist");
const ICON: &[u8] = include_bytes!("../plugin-bundle/icon.png");

/// Model files (without extension) packed into `Contents/Resources/models`.
pub const BUNDLED_MODELS: [&str; 3] = ["blazeface_short_range", "face_landmark", "default"];

/// The OFX architecture folder for this build target.
pub fn arch_dir() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "Linux-x86-64",
        ("linux", "aarch64") => "Linux-arm64",
        ("linux", _) => "Linux-x86",
        ("macos", _) => "MacOS",
        ("windows", "x86_64") => "Win64",
        _ => "Win32",
    }
}

/// The plug-in id without its trailing NUL.
pub fn plugin_id() -> &'static str {
    crate::ofx::text(crate::node::ids::PLUGIN_ID)
}

/// Writes the bundle into `out_dir` (replacing an older one) from the built library `cdylib`.
pub fn pack(cdylib: &Path, out_dir: &Path) -> std::io::Result<PathBuf> {
    let bundle = out_dir.join(BUNDLE_NAME);
    if bundle.exists() {
        std::fs::remove_dir_all(&bundle)?;
    }
    let contents = bundle.join("Contents");
    let bin_dir = contents.join(arch_dir());
    let res_dir = contents.join("Resources");
    std::fs::create_dir_all(&bin_dir)?;
    std::fs::create_dir_all(&res_dir)?;
    let version = format!("{}.{}", crate::node::ids::VERSION_MAJOR, crate::node::ids::VERSION_MINOR);
    let plist = INFO_PLIST.replace("@PLUGIN_ID@", plugin_id()).replace("@VERSION@", &version);
    std::fs::write(contents.join("Info.plist"), plist)?;
    std::fs::copy(cdylib, bin_dir.join("FaceSwap.ofx"))?;
    std::fs::write(res_dir.join(format!("{}.png", plugin_id())), ICON)?;
    // The face-analysis weights (and the default swap model when there is one) travel with the plug-in, with
    // their cards (licences and provenance).
    let models = res_dir.join("models");
    std::fs::create_dir_all(&models)?;
    let source = crate::model::pretrained::repo_models_dir();
    for name in BUNDLED_MODELS {
        for file in [format!("{name}.safetensors"), format!("{name}.md")] {
            let from = source.join(&file);
            if from.is_file() {
                std::fs::copy(&from, models.join(&file))?;
            }
        }
    }
    Ok(bundle)
}

/// The plug-in library cargo built next to `exe` (the running binary or test): `<profile>/libfaceswap_ofx.so`.
pub fn find_cdylib(exe: &Path) -> Option<PathBuf> {
    let name = format!("{}faceswap_ofx{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    exe.ancestors().skip(1).take(3).map(|d| d.join(&name)).find(|p| p.is_file())
}
