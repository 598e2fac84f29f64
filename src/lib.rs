//! faceswap-ofx: an OpenFX node that swaps faces inside the comp, with the face mask as its own output.
//!
//! Module map (the folders are the architecture):
//! - [`ofx`]: the C boundary — the only module allowed raw pointers and unchecked code: exported entry points,
//!   the panic guard, safe wrappers over the host's suites.
//! - [`node`]: what the node is — ids, parameter table, describe, instance, render; errors → OFX statuses.
//! - [`pipeline`]: pure Rust per-frame stages (no OFX types): mask shaping, colour transfer, composite, run.
//! - [`model`]: model files and the process-wide model cache (Burn networks arrive with their issues).
//! - `src/cli/`: the `faceswap` command-line tool.
//!
//! The cdylib exports exactly two symbols, `OfxGetNumberOfPlugins` and `OfxGetPlugin` (linker version script
//! in `plugin-bundle/exports.map`), so that hosts with their own copies of our dependencies never clash.

pub mod bundle;
pub mod device;
pub mod faceset;
pub mod footage;
pub mod model;
pub mod node;
pub mod ofx;
pub mod pipeline;
pub mod train;
#[cfg(test)]
pub(crate) mod test_support;
