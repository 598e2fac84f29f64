//! Who the node is, as hosts see it.
//!
//! Incrementing VERSION_MAJOR means we broke backward compatibility (a project saved with the old major
//! version would not render the same); hosts then keep both versions apart. Minor versions add features only.

/// Reverse-DNS identifier, NUL-terminated for the C ABI. Never change it: projects reference it.
pub const PLUGIN_ID: &[u8] = b"org.faceswapofx.FaceSwap\0";
pub const VERSION_MAJOR: u32 = 1;
pub const VERSION_MINOR: u32 = 0;
pub const LABEL: &str = "FaceSwap";
pub const GROUPING: &str = "Filter/Face";
pub const DESCRIPTION: &str = "Swaps the faces in the shot for an identity of a trained face model: detects faces, \
finds 468 landmarks, aligns each face to the model's crop, runs the model's decoder for the chosen identity, matches \
colour, warps the result back and blends it through a feathered face mask. The mask is available as the FaceMask \
plane, in alpha, or alone. Models are trained with the faceswap command-line tool.";

/// Clip names (the OFX standard names for a filter).
pub const CLIP_SOURCE: &str = "Source";
pub const CLIP_OUTPUT: &str = "Output";
