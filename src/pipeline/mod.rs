//! The per-frame face-swap pipeline, in pure Rust: no OFX types here.
//!
//! Stages, one file each: detect → landmarks → align → swap → colour → warp back → mask shaping → composite.
//! The node (`crate::node`) and the CLI's `apply` both drive the same code, so a frame rendered in a host and
//! on the command line match.

pub mod align;
pub mod analysis;
pub mod colour;
pub mod composite;
pub mod detect;
pub mod fingerprint;
pub mod frame;
pub mod mask_ops;
pub mod overlay;
pub mod recent;
pub mod resample;
pub mod run;
pub mod smooth;

use thiserror::Error;

/// How the swapped face's colours are matched to the plate's face.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColourTransfer {
    /// Reinhard et al. 2001: match mean and standard deviation per channel in CIE Lab.
    ReinhardLab,
    /// The same statistics matched per RGB channel (cheaper, shifts hue more).
    MeanStdRgb,
    None,
}

/// Which mask the swapped face is blended through (before erode and feather).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskSource {
    /// The swap network's mask, limited to the plate face's landmark hull grown a little: the network's
    /// outline where it is inside the face, never what it bleeds beyond it.
    LearnedInHull,
    /// The plate face's landmark hull alone, grown a little and softened: follows the plate's jaw and brow
    /// whatever the network's mask says.
    Hull,
    /// The network's mask alone: the swapped identity's own outline, as the decoder renders it.
    Learned,
}

/// Which of the detected faces are swapped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaceSelection {
    Largest,
    All,
    /// The face whose centre is nearest to this point. In [`crate::node::settings::Settings`] the point is in
    /// the host's canonical coordinates (y up); the pipeline receives it in its frame's pixels (y down).
    NearestTo { x: f32, y: f32 },
}

/// Which processor runs the networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevicePreference {
    Auto,
    Gpu,
    Cpu,
}

/// What can go wrong inside the pipeline.
#[derive(Debug, Error)]
pub enum PipelineError {
    #[error("a {width}x{height} image needs {} values for {channels} channel(s), got {len}", width * height * channels)]
    BadFrame { width: usize, height: usize, len: usize, channels: usize },
}
