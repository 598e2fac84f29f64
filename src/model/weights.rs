//! Loading pretrained weights into freshly built modules, without panics.

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WeightsError {
    #[error("cannot read weights {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("weights {path} do not fit the network: {why}")]
    Mismatch { path: PathBuf, why: String },
}

/// Fills `module` from a safetensors file. Every tensor of the module must be present with the right
/// shape; extra tensors in the file are an error too (a file for another network).
pub fn load_into<M: Module + ModuleSnapshot>(module: M, path: &Path) -> Result<M, WeightsError> {
    let bytes = std::fs::read(path).map_err(|source| WeightsError::Io { path: path.to_owned(), source })?;
    load_bytes_into(module, bytes, path)
}

/// As [`load_into`], from bytes already in memory (`path` only names them in errors).
pub fn load_bytes_into<M: Module + ModuleSnapshot>(mut module: M, bytes: Vec<u8>, path: &Path) -> Result<M, WeightsError> {
    let mismatch = |why: String| WeightsError::Mismatch { path: path.to_owned(), why };
    let result = module.load_from(&mut SafetensorsStore::from_bytes(Some(bytes))).map_err(|e| mismatch(e.to_string()))?;
    if !result.unused.is_empty() {
        return Err(mismatch(format!("unexpected tensors {:?}", result.unused)));
    }
    if !result.missing.is_empty() || !result.errors.is_empty() {
        return Err(mismatch(format!("missing {:?}, errors {:?}", result.missing, result.errors)));
    }
    Ok(module)
}
