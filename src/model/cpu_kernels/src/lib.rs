//! Fused CPU kernels for the small convolutional networks of face analysis (BlazeFace, FaceMesh) and the swap
//! network at inference:
//!
//! - [`BlazeBlock`], their residual block: 3×3 depthwise convolution → 1×1 convolution → add the (2×2
//!   max-pooled, zero-padded) input → ReLU or PReLU;
//! - [`Conv2d`], a dense k×k convolution followed by its activation (the networks' first layers, all of the
//!   swap network's);
//! - [`Dense`], a dense layer for a few rows (the swap network's inter block);
//! - [`run_stack`], convolutions and blocks one after the other, image by image when the batch allows (the
//!   face networks' backbones: each image's tensors stay in its core's cache);
//! - [`area_downscale`], the exact area filter detection reads a frame through (the one pixel loop over a whole
//!   frame at full resolution; here for this crate's opt-level, see its module), and [`crop_row`], the
//!   sampler every network input is cropped with.
//!
//! Burn's `flex` backend runs a BlazeBlock as five passes over memory (depthwise, pointwise, channel padding,
//! add, activation), each writing a fresh tensor; at BlazeFace's 64×64 level and 88 tiles a tensor is 35 MB, so
//! the passes, not the arithmetic, set the speed (BENCHMARKS.md, 2026-12-05, layer by layer). Here one pass
//! does it all: the output is cut into bands of rows small enough that the band's intermediate (depthwise
//! result, or the convolution's patches) stays in the core's cache; the band's 1×1 convolution, skip, bias and
//! activation are applied in registers and each output value is written once.
//!
//! Safe Rust on plain slices (NCHW, `f32`), nothing about Burn: `src/device/fused.rs` hands tensors over.
//! Bands run in parallel on rayon's pool (the one `flex` uses). On x86-64 the loops are compiled for AVX-512
//! where the CPU has it, else for AVX2 + FMA (through `pulp`'s runtime detection, safely); elsewhere the same
//! code runs portable. Convolutions take the 1×1 product in cache-sized blocks (`Pointwise::blocked`), with
//! AVX-512 and weights packed once per model (`PackedWeights`); 3×3 stride-1 ones on rows of whole AVX-512
//! tiles skip the patches altogether (`direct_3x3`). The face networks' blocks stay on AVX2.
//!
//! Numbers: the same products as the composed operations, summed in another order, so results differ from
//! Burn's by rounding only (tests: against an f64 reference, and against Burn in `model::blaze_block`).

#![forbid(unsafe_code)]

mod area;
mod bands;
mod blaze;
mod conv;
mod crop;
mod dense;
mod grad;
mod pointwise;
mod stack;
#[cfg(test)]
mod tests;

pub use area::area_downscale;
use bands::*;
pub use blaze::BlazeBlock;
pub use conv::{Conv2d, PackedWeights};
use conv::*;
use pointwise::*;
use area::clean_colour;
pub use crop::{crop_row, Levels, Rgba};
pub use dense::Dense;
pub use stack::{run_stack, Layer, Tapped};

/// What follows the convolution (and the add, in a block).
#[derive(Clone, Copy, Debug)]
pub enum Activation<'a> {
    /// Nothing.
    Identity,
    /// `max(v, 0)` (BlazeFace).
    Relu,
    /// `v` if `v ≥ 0`, else `alpha[c] · v` (FaceMesh); one slope per output channel.
    PRelu(&'a [f32]),
    /// `v` if `v ≥ 0`, else `slope · v` (the swap network).
    Leaky(f32),
}

/// Why a layer cannot run; the caller falls back to composed operations, which report the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fused CPU kernel: {}", self.0)
    }
}

impl std::error::Error for ShapeError {}

fn bad<T>(what: String) -> Result<T, ShapeError> {
    Err(ShapeError(what))
}

fn check_activation(activation: Activation<'_>, channels: usize) -> Result<(), ShapeError> {
    match activation {
        Activation::PRelu(alpha) if alpha.len() != channels => {
            bad(format!("PReLU slopes: {} values, expected {channels}", alpha.len()))
        }
        _ => Ok(()),
    }
}

fn check_lengths(lengths: &[(&str, usize, usize)]) -> Result<(), ShapeError> {
    for &(what, got, want) in lengths {
        if got != want {
            return bad(format!("{what}: {got} values, expected {want}"));
        }
    }
    Ok(())
}
