//! Models loaded once per host process and shared by every node instance.
//!
//! Keyed by path, modification time and size: saving a retrained model over the old file is picked up at the
//! next render, and two nodes on the same file share one copy. Render threads only take the lock to look up
//! or insert; loading happens outside it so one slow load does not stall other instances.

use super::file::{self, ModelError, ModelHeader};
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
}

/// A model as the pipeline uses it.
#[derive(Debug)]
pub struct LoadedModel {
    pub path: PathBuf,
    pub header: ModelHeader,
}

type Entry = Arc<LoadedModel>;

static CACHE: OnceLock<Mutex<HashMap<Key, Entry>>> = OnceLock::new();

/// How many distinct model files we keep: artists compare a couple of models; more than this is a leak.
const MAX_ENTRIES: usize = 4;

/// The model at `path`, loaded at most once per version of the file.
pub fn get(path: &Path) -> Result<Entry, ModelError> {
    let meta = std::fs::metadata(path).map_err(|source| ModelError::Io { path: path.to_owned(), source })?;
    let key = Key { path: path.to_owned(), modified: meta.modified().ok(), len: meta.len() };
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().get(&key) {
        return Ok(hit.clone());
    }
    let loaded = Arc::new(LoadedModel { path: path.to_owned(), header: file::read_header(path)? });
    let mut map = cache.lock();
    // Older versions of the same file are dead weight once a newer one loads.
    map.retain(|k, _| k.path != key.path);
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    Ok(map.entry(key).or_insert(loaded).clone())
}
