//! faceswap-ofx: an OpenFX node that swaps faces inside the comp, with the face mask as its own output.
//!
//! Module map (the folders are the architecture):
//! - [`ofx`]: the C boundary — the only module allowed raw pointers and unchecked code: exported entry points,
//!   the panic guard, safe wrappers over the host's suites.
//! - [`node`]: what the node is — ids, parameter table, describe, instance, render; errors → OFX statuses.
//! - [`pipeline`]: pure Rust per-frame stages (no OFX types): detect, landmarks, align, swap, colour, mask,
//!   composite, and the run that chains them for the node and the CLI alike.
//! - [`model`]: Burn networks (detector, landmarks, swap network; backend-erased), their files, the
//!   process-wide model cache and the CPU kernels.
//! - [`device`]: the one place that picks the backend (burn-wgpu on a real GPU, `flex` otherwise).
//! - [`train`]: augmentation, losses, the training loop, preview sheets and loss curves.
//! - [`faceset`]: face sets on disk (what `extract` writes and `train` reads); [`footage`]: where the shared
//!   footage lives; [`bundle`]: packing the built library as an OFX bundle.
//! - [`draw`]: bitmap text, boxes and lines for the pictures the tools write (contact sheets, previews, loss
//!   curves).
//! - `src/cli/`: the `faceswap` command-line tool.
//!
//! The cdylib exports exactly two symbols, `OfxGetNumberOfPlugins` and `OfxGetPlugin` (linker version script
//! in `plugin-bundle/exports.map`), so that hosts with their own copies of our dependencies never clash.

pub mod bundle;
pub mod device;
pub mod draw;
pub mod faceset;
pub mod footage;
pub mod model;
pub mod node;
pub mod ofx;
pub mod pipeline;
pub mod train;
#[cfg(test)]
pub(crate) mod test_support;
