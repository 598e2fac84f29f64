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

/// Those of `BUNDLED_MODELS` the node cannot work without: packing fails when their weights are missing.
const REQUIRED_MODELS: [&str; 2] = ["blazeface_short_range", "face_landmark"];

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

/// Writes the bundle into `out_dir` (replacing an older one) from the built library `cdylib`, with the models
/// of the repository this crate was built from.
pub fn pack(cdylib: &Path, out_dir: &Path) -> std::io::Result<PathBuf> {
    pack_with_models(cdylib, out_dir, &crate::model::pretrained::repo_models_dir())
}

fn pack_with_models(cdylib: &Path, out_dir: &Path, source: &Path) -> std::io::Result<PathBuf> {
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
    for name in BUNDLED_MODELS {
        for file in [format!("{name}.safetensors"), format!("{name}.md")] {
            let from = source.join(&file);
            if from.is_file() {
                std::fs::copy(&from, models.join(&file))?;
            } else if REQUIRED_MODELS.contains(&name) && file.ends_with(".safetensors") {
                // A bundle without the face-analysis weights passes every frame through with an error at render
                // time; say so now. (The folder is the repository's `models/` this binary was built from: a
                // binary built in a clone that was moved or deleted finds nothing there.)
                return Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} not found: this binary packs the models of the checkout it was built in; build it again there", from.display())));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A models folder without the face-analysis weights (a binary built in a checkout that has since moved)
    /// is an error naming the missing file, not a bundle that fails at every render.
    #[test]
    fn missing_face_analysis_weights_are_an_error() {
        let dir = std::env::temp_dir().join(format!("faceswap-ofx-bundle-test-{}", std::process::id()));
        let (models, out) = (dir.join("models"), dir.join("out"));
        std::fs::create_dir_all(&models).unwrap();
        let lib = dir.join("libfaceswap_ofx.so");
        std::fs::write(&lib, b"not a library: pack only copies it").unwrap();
        let err = pack_with_models(&lib, &out, &models).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(err.to_string().contains("blazeface_short_range.safetensors"), "{err}");
        // With the weights there (the default swap model is optional), the bundle is written.
        for name in REQUIRED_MODELS {
            std::fs::write(models.join(format!("{name}.safetensors")), b"weights").unwrap();
        }
        let bundle = pack_with_models(&lib, &out, &models).unwrap();
        assert!(bundle.join("Contents/Resources/models/face_landmark.safetensors").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
