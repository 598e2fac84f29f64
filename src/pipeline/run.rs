//! One frame through the whole pipeline: what the node and `faceswap apply` both call.

use super::composite::{self, CompositeSettings};
use super::frame::{Frame, Mask};
use super::{mask_ops, ColourTransfer, FaceSelection};
use crate::model::{cache, file::ModelError};
use std::path::PathBuf;

/// Everything the pipeline needs to know about one frame's job, in the frame's own pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub model: Option<PathBuf>,
    pub identity_name: String,
    pub identity_index: usize,
    pub composite: CompositeSettings,
    /// In pixels of the frame handed to `run` (already multiplied by the render scale).
    pub mask_erode: f32,
    pub mask_feather: f32,
    pub colour_transfer: ColourTransfer,
    /// `NearestTo` in this frame's pixels, y down.
    pub face_selection: FaceSelection,
    pub detection_threshold: f32,
}

/// Why a frame came out unchanged, for the artist.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Severity {
    Warning,
    Error,
}

/// What happened to the frame.
#[derive(Debug)]
pub struct Outcome {
    /// The output image (the source itself on passthrough).
    pub image: Frame,
    /// The shaped face mask (empty on passthrough).
    pub mask: Mask,
    /// Set when the frame passed through unchanged, with the reason.
    pub passthrough: Option<(Severity, String)>,
}

/// Runs the pipeline on `source`. Never fails: anything that stops the swap becomes a passthrough with a
/// reason, because a node must keep producing frames.
pub fn run(source: &Frame, req: &Request) -> Outcome {
    let passthrough = |severity, why: String| Outcome {
        image: source.clone(),
        mask: Mask::empty(source.width(), source.height()),
        passthrough: Some((severity, why)),
    };
    let Some(path) = &req.model else {
        return passthrough(Severity::Warning, "no model file is set: choose one in Model File".into());
    };
    let model = match cache::get(path) {
        Ok(m) => m,
        Err(e) => return passthrough(Severity::Error, describe_model_error(&e)),
    };
    // The face analysis and swap network stages are not in this build yet (see the issues on face analysis and
    // the swap network); until they land a valid model file still passes the frame through, and says so.
    let _ = &model.header;
    passthrough(Severity::Error, "this build cannot run swap networks yet (face analysis and swap stages are not implemented)".into())
}

fn describe_model_error(e: &ModelError) -> String {
    format!("{e}")
}

/// Shapes a raw face mask (erode, then feather) and mixes the swap in: the tail of the pipeline, shared by
/// every stage combination.
pub fn finish(source: &Frame, swap: &Frame, raw_mask: &Mask, req: &Request) -> Outcome {
    let mask = mask_ops::feather(&mask_ops::erode(raw_mask, req.mask_erode), req.mask_feather);
    let image = composite::composite(source, swap, &mask, &req.composite);
    Outcome { image, mask, passthrough: None }
}
