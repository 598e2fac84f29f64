//! Fuzz target: any bytes as a swap-model file, through the two calls the node makes on a model path.
//!
//! - `file::read_header`: what the Identity menu reads when the Model File parameter changes;
//! - `SwapModel::load`: what a render loads (through the model cache) before running the network.
//!
//! Both read from a path (the loader has no in-memory entry point: the node only ever gets a path), so the
//! input is written to a per-process temporary file first. Either call may return `Ok` or a `ModelError`; a
//! panic, an abort, or an allocation past libFuzzer's limits (`-rss_limit_mb`, `-malloc_limit_mb`) is a finding.

#![no_main]

use faceswap_ofx::model::file;
use faceswap_ofx::model::swap_model::SwapModel;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One file per fuzzing process (libFuzzer's `-fork`/`-jobs` workers are separate processes).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("faceswap-ofx-fuzz-{}.safetensors", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    // Failing to write the scratch file is the machine's problem, not a finding.
    std::fs::write(path, data).expect("cannot write the fuzzing scratch file");
    let header = file::read_header(path);
    let model = SwapModel::load(path, &faceswap_ofx::device::cpu());
    // The loader checks the header first: a file whose header is refused can never load.
    assert!(!(header.is_err() && model.is_ok()), "a model loaded although its header was refused");
    if let Err(e) = model {
        assert!(!e.to_string().is_empty(), "an error without a message");
    }
});
