//! Models loaded once per host process and shared by every node instance.
//!
//! Swap models are keyed by path, modification time, size and device: saving a retrained model over the old
//! file is picked up at the next render, and two nodes on the same file share one copy. The face-analysis
//! networks are loaded once per device. Render threads only take the lock to look up or insert; loading
//! happens outside it so one slow load does not stall other instances.

use super::file::ModelError;
use super::pretrained::FaceNets;
use super::swap_model::SwapModel;
use super::weights::WeightsError;
use burn::tensor::Device;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    modified: Option<SystemTime>,
    len: u64,
    device: String,
}

static MODELS: OnceLock<Mutex<HashMap<Key, Arc<SwapModel>>>> = OnceLock::new();
static FACE_NETS: OnceLock<Mutex<HashMap<(PathBuf, String), Arc<FaceNets>>>> = OnceLock::new();

/// How many distinct model files we keep: artists compare a couple of models; more than this is a leak.
const MAX_ENTRIES: usize = 4;

/// The swap model at `path` on `device`, loaded at most once per version of the file.
pub fn swap_model(path: &Path, device: &Device) -> Result<Arc<SwapModel>, ModelError> {
    let meta = std::fs::metadata(path).map_err(|source| ModelError::Io { path: path.to_owned(), source })?;
    let key = Key { path: path.to_owned(), modified: meta.modified().ok(), len: meta.len(), device: format!("{device:?}") };
    let cache = MODELS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().get(&key) {
        return Ok(hit.clone());
    }
    let loaded = Arc::new(SwapModel::load(path, device)?);
    let mut map = cache.lock();
    // Older versions of the same file are dead weight once a newer one loads.
    map.retain(|k, _| k.path != key.path || k.device != key.device);
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    Ok(map.entry(key).or_insert(loaded).clone())
}

/// The face-analysis networks from `dir` on `device`, loaded once per process.
pub fn face_nets(dir: &Path, device: &Device) -> Result<Arc<FaceNets>, WeightsError> {
    let key = (dir.to_owned(), format!("{device:?}"));
    let cache = FACE_NETS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().get(&key) {
        return Ok(hit.clone());
    }
    let nets = Arc::new(FaceNets::load(dir, device)?);
    Ok(cache.lock().entry(key).or_insert(nets).clone())
}

/// Where the face-analysis weights are: set by the node from its bundle path (`Contents/Resources/models`),
/// else this source tree's `models/` (CLI and tests from a checkout).
static MODELS_DIR: OnceLock<Mutex<Option<PathBuf>>> = OnceLock::new();

pub fn set_models_dir(dir: PathBuf) {
    *MODELS_DIR.get_or_init(|| Mutex::new(None)).lock() = Some(dir);
}

pub fn models_dir() -> PathBuf {
    MODELS_DIR
        .get_or_init(|| Mutex::new(None))
        .lock()
        .clone()
        .filter(|d| d.is_dir())
        .unwrap_or_else(super::pretrained::repo_models_dir)
}
