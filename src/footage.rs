//! Where the shared footage lives (real faces with free licences, never copied into the repository).
//!
//! Looked up in order: `$FACESWAP_DATA`; `../shared/data` next to the source tree (the layout of the
//! development machines). Tests and the demo say where to get the footage when neither exists.

use std::path::PathBuf;

/// The footage folder, if present.
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FACESWAP_DATA").map(PathBuf::from) {
        return dir.is_dir().then_some(dir);
    }
    let sibling = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    sibling.is_dir().then_some(sibling)
}

/// A file of the footage folder; panics with directions when the footage is missing (tests only).
pub fn require(relative: &str) -> PathBuf {
    let dir = data_dir().unwrap_or_else(|| {
        panic!("shared footage not found: set FACESWAP_DATA to the folder described in README.md (Footage)")
    });
    let path = dir.join(relative);
    assert!(path.exists(), "{} is missing from the footage folder", path.display());
    path
}
