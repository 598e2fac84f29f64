//! Burn models and their files. Modules are backend-erased (burn 0.22): they name no backend, and the
//! device they run on is chosen in one place, `crate::device`.
//!
//! - [`blaze_block`], [`blazeface`], [`facemesh`]: MediaPipe's detector and landmark networks, rebuilt
//!   block by block from the architecture in their model cards (`models/*.md`).
//! - [`weights`]: fallible weight loading.
//! - [`file`], [`cache`]: the swap-model file format and the process-wide model cache.

pub mod blaze_block;
pub mod blazeface;
pub mod cache;
pub mod conv;
pub mod facemesh;
pub mod pretrained;
pub mod swap_model;
pub mod swapnet;
pub mod file;
pub mod weights;
