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
mod crop;
mod dense;
mod grad;
mod stack;

pub use area::area_downscale;
use area::clean_colour;
pub use crop::{crop_row, Levels, Rgba};
pub use dense::Dense;
pub use stack::{run_stack, Layer, Tapped};
use pulp::Simd;
use rayon::prelude::*;

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

/// Target size of one band's intermediate, in floats: 64 KiB, well inside any current core's L2 (and close
/// to L1 on the 48 KiB-L1 machine the figures were taken on), so the 1×1 convolution reads it from cache.
const BAND_FLOATS: usize = 16 * 1024;

/// Fewest output values per band and channel (see `run_in_bands`): two steps of the widest vectors pulp uses.
const MIN_BAND_COLUMNS: usize = 64;

/// Output channels one step of the 1×1 convolution keeps in registers (each with two SIMD vectors of
/// columns: with AVX2, 4 × 16 floats in eight registers).
const CHANNELS: usize = 4;

/// One block's configuration and weights, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct BlazeBlock<'a> {
    pub channels_in: usize,
    /// ≥ `channels_in`: the skip path gets zero channels appended.
    pub channels_out: usize,
    /// 1 (padding 1 on every side) or 2 (TensorFlow "SAME": padding 1 at the bottom and right only; the skip
    /// path is 2×2 max-pooled).
    pub stride: usize,
    /// `[channels_in, 1, 3, 3]`.
    pub depthwise: &'a [f32],
    /// `[channels_in]`.
    pub depthwise_bias: &'a [f32],
    /// `[channels_out, channels_in, 1, 1]`.
    pub pointwise: &'a [f32],
    /// `[channels_out]`.
    pub pointwise_bias: &'a [f32],
    pub activation: Activation<'a>,
}

/// A dense convolution with a square kernel, then its activation.
#[derive(Clone, Copy, Debug)]
pub struct Conv2d<'a> {
    pub channels_in: usize,
    pub channels_out: usize,
    pub kernel: usize,
    pub stride: usize,
    /// Zero padding: top, left, bottom, right (Burn's `PaddingConfig2d::Explicit` order).
    pub padding: [usize; 4],
    /// `[channels_out, channels_in, kernel, kernel]`.
    pub weight: &'a [f32],
    /// `[channels_out]`.
    pub bias: &'a [f32],
    pub activation: Activation<'a>,
    /// `weight` repacked for the AVX-512 tile ([`PackedWeights`]), made once per model by the caller;
    /// `None` reads `weight` as it is (same results, bit for bit; tested).
    pub packed: Option<&'a PackedWeights>,
}

/// A convolution's weights laid out for `Pointwise::blocked`'s AVX-512 tile: panels of `PANEL` (8) output
/// channels, each `[depth][PANEL]`, so that one depth step reads the panel's weights from one cache line
/// through one pointer. Read from the layer's own `[channels_out, depth]` rows, the tile kept eight row
/// pointers, more than the registers left beside its accumulators: they were reloaded from the stack and
/// bounds-checked at every depth step (`perf annotate`); packed, the swap network's convolutions took ~3%
/// less. Packing costs a pass over the weights, so it is made once per model, as onnxruntime does when it
/// creates a session, not per call (measured slower than not packing). The AVX2 tile (four channels) reads
/// the weights as they are.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedWeights {
    channels_out: usize,
    depth: usize,
    /// `[channels_out / PANEL][depth][PANEL]`; the last `channels_out % PANEL` channels are not packed (the
    /// group loop reads them from the weights).
    panels: Vec<f32>,
}

/// Output channels per packed panel: the AVX-512 tile's group.
const PANEL: usize = 8;

impl PackedWeights {
    /// Packs `weight` (`[channels_out, depth]`, row-major: a convolution's `[channels_out, c_in, k, k]`).
    pub fn new(weight: &[f32], channels_out: usize, depth: usize) -> Result<Self, ShapeError> {
        check_lengths(&[("weights", weight.len(), channels_out * depth)])?;
        let mut panels = Vec::with_capacity(channels_out / PANEL * PANEL * depth);
        for rows in weight.chunks_exact(PANEL * depth) {
            for d in 0..depth {
                panels.extend((0..PANEL).map(|g| rows[g * depth + d]));
            }
        }
        Ok(PackedWeights { channels_out, depth, panels })
    }

    /// Whether packing changes anything for a convolution: a layer with fewer output channels than a panel
    /// never reads it.
    pub fn worth_it(channels_out: usize) -> bool {
        channels_out >= PANEL
    }
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

impl BlazeBlock<'_> {
    /// Output height and width for an input of `h × w`.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        if self.stride == 2 {
            // Padding 0 top/left, 1 bottom/right, kernel 3: (h + 1 - 3) / 2 + 1 = h / 2 for h ≥ 2, which is
            // also what 2×2 pooling of the skip path gives, odd sizes included.
            (h / 2, w / 2)
        } else {
            (h, w)
        }
    }

    /// Checks the block's weights and an input of `x_len` values as `[batch, channels_in, h, w]`.
    fn plan(&self, x_len: usize, batch: usize, h: usize, w: usize) -> Result<Plan, ShapeError> {
        let (ci, co) = (self.channels_in, self.channels_out);
        if self.stride != 1 && self.stride != 2 {
            return bad(format!("stride {} (1 or 2 only)", self.stride));
        }
        if ci == 0 || co < ci {
            return bad(format!("{ci} -> {co} channels (output must be at least the input)"));
        }
        if h < self.stride || w < self.stride {
            return bad(format!("{h}x{w} input is too small for stride {}", self.stride));
        }
        check_lengths(&[
            ("input", x_len, batch * ci * h * w),
            ("depthwise weights", self.depthwise.len(), ci * 9),
            ("depthwise bias", self.depthwise_bias.len(), ci),
            ("pointwise weights", self.pointwise.len(), co * ci),
            ("pointwise bias", self.pointwise_bias.len(), co),
        ])?;
        check_activation(self.activation, co)?;
        let (ho, wo) = self.output_size(h, w);
        Ok(Plan { out: [ho, wo], depth: ci })
    }

    /// Runs the block on `x` (`[batch, channels_in, h, w]`, contiguous) and returns
    /// `[batch, channels_out, h', w']` with `(h', w') = output_size(h, w)`.
    pub fn forward(&self, x: &[f32], batch: usize, h: usize, w: usize) -> Result<Vec<f32>, ShapeError> {
        let plan = self.plan(x.len(), batch, h, w)?;
        Ok(run_in_bands(self, x, batch, [h, w], plan, Isa::Avx512))
    }
}

impl Conv2d<'_> {
    /// Whether a band of `channels` output channels, `wo` wide, takes `direct_3x3`: a 3×3 convolution at
    /// stride 1 with one pixel of padding (the swap network's decoder), rows a whole number of AVX-512
    /// vectors, whole packed panels.
    #[inline(always)]
    fn direct<S: Simd>(&self, wo: usize, channels: usize) -> bool {
        lanes::<S>() >= 16 && self.kernel == 3 && self.stride == 1 && self.padding == [1; 4] && wo.is_multiple_of(lanes::<S>()) && channels.is_multiple_of(PANEL)
    }

    /// Output height and width for an input of `h × w` (`None` if the kernel does not fit).
    pub fn output_size(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let [top, left, bottom, right] = self.padding;
        let (hp, wp) = (h + top + bottom, w + left + right);
        (self.stride > 0 && hp >= self.kernel && wp >= self.kernel)
            .then(|| ((hp - self.kernel) / self.stride + 1, (wp - self.kernel) / self.stride + 1))
    }

    /// Runs the convolution on `x` (`[batch, channels_in, h, w]`, contiguous) and returns
    /// `[batch, channels_out, h', w']` with `(h', w') = output_size(h, w)`.
    pub fn forward(&self, x: &[f32], batch: usize, h: usize, w: usize) -> Result<Vec<f32>, ShapeError> {
        self.forward_up_to(x, batch, h, w, Isa::Avx512)
    }

    /// `forward` with instruction sets up to `widest` (tests compare them).
    fn forward_up_to(&self, x: &[f32], batch: usize, h: usize, w: usize, widest: Isa) -> Result<Vec<f32>, ShapeError> {
        let plan = self.plan(x.len(), batch, h, w)?;
        Ok(run_in_bands(self, x, batch, [h, w], plan, widest))
    }

    /// Checks the layer's weights and an input of `x_len` values as `[batch, channels_in, h, w]`.
    fn plan(&self, x_len: usize, batch: usize, h: usize, w: usize) -> Result<Plan, ShapeError> {
        let (ci, co, k) = (self.channels_in, self.channels_out, self.kernel);
        let Some((ho, wo)) = self.output_size(h, w) else {
            return bad(format!("{k}x{k} kernel, stride {}, padding {:?} on {h}x{w}", self.stride, self.padding));
        };
        if ci == 0 || co == 0 {
            return bad(format!("{ci} -> {co} channels"));
        }
        check_lengths(&[
            ("input", x_len, batch * ci * h * w),
            ("weights", self.weight.len(), co * ci * k * k),
            ("bias", self.bias.len(), co),
        ])?;
        check_activation(self.activation, co)?;
        if let Some(p) = self.packed {
            if (p.channels_out, p.depth) != (co, ci * k * k) {
                return bad(format!("packed weights for {} x {}, layer is {co} x {}", p.channels_out, p.depth, ci * k * k));
            }
        }
        Ok(Plan { out: [ho, wo], depth: ci * k * k })
    }
}

/// A checked layer's output size and the number of rows of its bands' intermediate (which sets the band
/// height: see `bands`).
#[derive(Clone, Copy, Debug)]
struct Plan {
    out: [usize; 2],
    depth: usize,
}

/// One task: rows `row0..` of output channels `first_channel..` of one image.
struct Band<'o> {
    image: usize,
    row0: usize,
    first_channel: usize,
    outputs: Vec<&'o mut [f32]>,
}

/// Per-thread buffers, reused from band to band and from call to call (`SCRATCH`).
#[derive(Default)]
struct Scratch {
    /// The band's input to the 1×1 convolution: `[depth, band length]`.
    columns: Vec<f32>,
    /// A block's pooled skip path at stride 2.
    pooled: Vec<f32>,
    /// A row of zeros: the padding rows of the depthwise convolution.
    zeros: Vec<f32>,
    /// A stride-2 block's input rows under the band, split into even and odd columns.
    rows: Vec<f32>,
}

/// A layer computed band by band.
trait BandKernel: Sync {
    fn channels_out(&self) -> usize;
    /// Whether the band's intermediate costs little next to its 1×1 convolution, so that splitting a band's
    /// output channels between threads (which computes it once per part) pays. True for a convolution's
    /// patches (a copy); false for a block's depthwise convolution (BlazeFace at batch 1 lost 30%).
    fn cheap_intermediate(&self) -> bool;
    /// Whether AVX-512 pays for this layer where the CPU has it (see the impls).
    fn wide_vectors(&self) -> bool;
    /// Fills `band.outputs` from one image of the input. Called inside the SIMD context: `inline(always)`.
    #[allow(clippy::too_many_arguments)]
    fn band<S: Simd, M: MulAdd>(&self, simd: S, image: &[f32], size: [usize; 2], wo: usize, band: &mut Band<'_>, scratch: &mut Scratch);
}

/// Runs `kernel` on rayon's pool, its output cut into (image, band of rows) tasks (`bands`).
fn run_in_bands<K: BandKernel>(kernel: &K, x: &[f32], batch: usize, size: [usize; 2], plan: Plan, widest: Isa) -> Vec<f32> {
    let [ho, wo] = plan.out;
    let mut out = vec![0.0f32; batch * kernel.channels_out() * ho * wo];
    let image_len = x.len() / batch;
    bands(kernel, &mut out, batch, plan, rayon::current_num_threads()).into_par_iter().for_each(|mut band| {
        let image = &x[band.image * image_len..][..image_len];
        run_band(kernel, image, size, wo, widest, &mut band);
    });
    out
}

/// Cuts `out` (`batch` images of the layer's output) into (image, band of rows) tasks, each owning its rows
/// of every output channel (disjoint slices, cut safely with `chunks_mut`), for `threads` threads (1: tasks
/// for the calling thread alone, never split by channel).
fn bands<'o, K: BandKernel>(kernel: &K, out: &'o mut [f32], batch: usize, plan: Plan, threads: usize) -> Vec<Band<'o>> {
    let ([ho, wo], depth) = (plan.out, plan.depth);
    let (co, plane) = (kernel.channels_out(), ho * wo);
    // At least MIN_BAND_COLUMNS per band: the 1×1 convolution's vector loop covers whole steps of two
    // vectors (16 floats with AVX2) and leaves the rest to a scalar loop, so a 1-row band of an 8-wide plane
    // would run entirely scalar (the swap network's deepest convolutions: 9x slower).
    let rows = (BAND_FLOATS / (depth * wo)).max(MIN_BAND_COLUMNS.div_ceil(wo)).clamp(1, ho);
    let bands = ho.div_ceil(rows);
    // Too few bands to keep every thread busy (one image, a small plane: the swap network's deepest layers)
    // → also split the output channels, at the price of computing the band's intermediate once per part.
    let parts = if kernel.cheap_intermediate() && threads > 1 {
        (2 * threads).div_ceil(batch * bands).clamp(1, co.div_ceil(CHANNELS))
    } else {
        1
    };
    // Whole packed panels per part (`PackedWeights`: a tile's channels start at a multiple of `PANEL`).
    let per_part = co.div_ceil(parts).next_multiple_of(PANEL);
    let mut tasks = Vec::with_capacity(batch * bands * parts);
    for (n, image) in out.chunks_mut(co * plane).enumerate() {
        let mut per_band: Vec<Vec<&mut [f32]>> = (0..bands).map(|_| Vec::with_capacity(co)).collect();
        for channel in image.chunks_mut(plane) {
            for (b, rows_of_band) in channel.chunks_mut(rows * wo).enumerate() {
                per_band[b].push(rows_of_band);
            }
        }
        for (b, mut outputs) in per_band.into_iter().enumerate() {
            let mut first_channel = 0;
            while !outputs.is_empty() {
                let rest = outputs.split_off(per_part.min(outputs.len()));
                let count = outputs.len();
                tasks.push(Band { image: n, row0: b * rows, first_channel, outputs });
                first_channel += count;
                outputs = rest;
            }
        }
    }
    tasks
}

/// Fills one band from `image` (the band's image of the layer's input) on the calling thread, with its
/// thread's `SCRATCH`.
fn run_band<K: BandKernel>(kernel: &K, image: &[f32], size: [usize; 2], wo: usize, widest: Isa, band: &mut Band<'_>) {
    SCRATCH.with_borrow_mut(|scratch| {
        // AVX-512 only where it pays (see `wide_vectors`).
        let widest = if kernel.wide_vectors() { widest } else { widest.min(Isa::Avx2) };
        if let Err(task) = on_x86_simd(widest, BandWithSimd { kernel, image, size, wo, band, scratch }) {
            kernel.band::<_, Separate>(pulp::Scalar::new(), image, size, wo, task.band, task.scratch)
        }
    })
}

thread_local! {
    /// Each pool thread's band buffers, kept from call to call: as a fresh `Scratch` per rayon split
    /// (`for_each_init`), they were allocated many times a layer, and the kernel's page clearing took a quarter
    /// of BlazeFace's stem. They grow to the largest band a thread has run (under 1 MB with the networks here)
    /// and live as long as the thread. A band never calls back into rayon, so the borrow cannot be re-entered.
    /// Their destructors run at thread exit; glibc keeps a library with pending thread-local destructors
    /// loaded, which Burn's own threads already do for the plug-in (see `ofx::suites` on `dlclose`).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Runs `task` with AVX-512 or else AVX2 + FMA, the widest the CPU has and `widest` allows; gives the task
/// back when neither applies, for the caller's portable code.
#[inline(always)]
fn on_x86_simd<W: pulp::WithSimd>(widest: Isa, task: W) -> Result<W::Output, W> {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = (widest >= Isa::Avx512).then(pulp::x86::V4::try_new).flatten() {
        return Ok(Simd::vectorize(simd, task));
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = (widest >= Isa::Avx2).then(pulp::x86::V3::try_new).flatten() {
        return Ok(Simd::vectorize(simd, task));
    }
    Err(task)
}

/// The widest instruction set a run may use (where the CPU has it). Every x86 variant takes the same fused
/// multiply-adds in the same order, so AVX-512 and AVX2 give the same bits (tested); the portable one rounds
/// the products separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Isa {
    #[cfg_attr(not(test), allow(dead_code))]
    Portable,
    Avx2,
    Avx512,
}

/// A band as pulp wants it to compile it with AVX2 + FMA enabled: `with_simd` is instantiated inside pulp's
/// `#[target_feature]` function and inlined there. (A closure is not: it was compiled without the features,
/// and every `mul_add` became a call to the C library's `fmaf`, 3× slower than Burn.)
struct BandWithSimd<'k, 'b, 'o, K> {
    kernel: &'k K,
    image: &'k [f32],
    size: [usize; 2],
    wo: usize,
    band: &'b mut Band<'o>,
    scratch: &'b mut Scratch,
}

impl<K: BandKernel> pulp::WithSimd for BandWithSimd<'_, '_, '_, K> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        self.kernel.band::<S, Fused>(simd, self.image, self.size, self.wo, self.band, self.scratch)
    }
}

impl BandKernel for BlazeBlock<'_> {
    fn channels_out(&self) -> usize {
        self.channels_out
    }

    fn cheap_intermediate(&self) -> bool {
        false
    }

    /// No: with AVX-512 for the blocks, BlazeFace on 88 tiles took 117 ms instead of 107 and FaceMesh 4.0 ms
    /// instead of 3.3 (only BlazeFace at batch 1 gained, 2.4 -> 2.1 ms); with AVX-512 and the convolutions'
    /// tiles, BlazeFace's 16 blocks on 16 tiles took 22-23 ms instead of 20, with tiles alone 20 (no gain).
    /// Their products are 24-96 deep and their depthwise rows memory-bound.
    fn wide_vectors(&self) -> bool {
        false
    }

    #[inline(always)]
    fn band<S: Simd, M: MulAdd>(&self, simd: S, image: &[f32], [h, w]: [usize; 2], wo: usize, band: &mut Band<'_>, scratch: &mut Scratch) {
        let ci = self.channels_in;
        let len = band.outputs[0].len();
        let rows = len / wo;
        let stride = padded_stride(len);
        scratch.columns.resize(ci * stride, 0.0);
        // At stride 2 the input rows under the band are split once per channel into their even columns (plus
        // the zero of the right padding) and their odd ones, so that each output row is a vector loop over
        // plain slices, and the skip path's 2×2 pooling reads the same operands.
        let span = 2 * wo + 1;
        if self.stride == 2 {
            scratch.pooled.resize(ci * len, 0.0);
            scratch.rows.resize((2 * rows + 1) * span, 0.0);
        }
        scratch.zeros.resize(w, 0.0);
        for c in 0..ci {
            let plane = &image[c * h * w..][..h * w];
            // Input row `iy` of this channel, zeros in the padding.
            let zeros = &scratch.zeros[..w];
            let row = |iy: isize| if iy < 0 || iy >= h as isize { zeros } else { &plane[iy as usize * w..][..w] };
            if self.stride == 2 {
                for (i, split) in scratch.rows.chunks_exact_mut(span).enumerate() {
                    let row = row((2 * band.row0 + i) as isize);
                    let (even, odd) = split.split_at_mut(wo + 1);
                    for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(row.chunks_exact(2)) {
                        *e = pair[0];
                        *o = pair[1];
                    }
                    // Column 2·wo: the last column of an odd-width row, else the right padding.
                    even[wo] = if 2 * wo < w { row[2 * wo] } else { 0.0 };
                }
            }
            let kernel: &[f32; 9] = self.depthwise[c * 9..][..9].try_into().expect("9 taps");
            let bias = self.depthwise_bias[c];
            let dst = &mut scratch.columns[c * stride..][..len];
            for (r, out_row) in dst.chunks_exact_mut(wo).enumerate() {
                if self.stride == 1 {
                    // Output row y reads input rows y - 1, y, y + 1 (one row of padding on top).
                    let y = (band.row0 + r) as isize;
                    depthwise_row_stride1::<S, M>(simd, out_row, [row(y - 1), row(y), row(y + 1)], kernel, bias);
                } else {
                    let split = |i: usize| scratch.rows[i * span..][..span].split_at(wo + 1);
                    let rows = [split(2 * r), split(2 * r + 1), split(2 * r + 2)];
                    depthwise_row_stride2::<S, M>(simd, out_row, rows, kernel, bias);
                    // The skip path's 2×2 max pooling: input rows 2r and 2r + 1.
                    let ((top_even, top_odd), (bottom_even, bottom_odd)) = (rows[0], rows[1]);
                    let pooled = &mut scratch.pooled[c * len + r * wo..][..wo];
                    for x in 0..wo {
                        pooled[x] = top_even[x].max(top_odd[x]).max(bottom_even[x].max(bottom_odd[x]));
                    }
                }
            }
        }
        let (pooled, row0) = (&scratch.pooled, band.row0);
        let skip = |c: usize| -> Option<&[f32]> {
            (c < ci).then(|| if self.stride == 2 { &pooled[c * len..][..len] } else { &image[c * h * w + row0 * w..][..len] })
        };
        let pointwise = Pointwise { depth: ci, stride, tiled: ci > DEPTH_BLOCK, weights: self.pointwise, packed: None, bias: self.pointwise_bias, activation: self.activation };
        pointwise.band(simd, &scratch.columns, len, &skip, band.first_channel, &mut band.outputs);
    }
}

impl BandKernel for Conv2d<'_> {
    fn channels_out(&self) -> usize {
        self.channels_out
    }

    fn cheap_intermediate(&self) -> bool {
        true
    }

    /// Yes: blocked, convolutions are bound by arithmetic, which AVX-512 doubles (swap network 128 px: 56 ->
    /// 43 ms with the blocking). Thin ones too: BlazeFace's stem (75 deep) went from 4.9 to 4.5 ms for 16
    /// tiles with AVX-512 and tiles instead of AVX2 and groups.
    fn wide_vectors(&self) -> bool {
        true
    }

    #[inline(always)]
    fn band<S: Simd, M: MulAdd>(&self, simd: S, image: &[f32], [h, w]: [usize; 2], wo: usize, band: &mut Band<'_>, scratch: &mut Scratch) {
        let (ci, k, s) = (self.channels_in, self.kernel, self.stride);
        let [top, left, ..] = self.padding;
        let len = band.outputs[0].len();
        let rows = len / wo;
        if let Some(panels) = self.packed.map(|p| p.panels.as_slice()).filter(|_| self.direct::<S>(wo, band.outputs.len())) {
            // Tiles of two vectors where the rows hold them (32 px and wider), else of one (16 px rows).
            return if wo.is_multiple_of(TILE * lanes::<S>()) {
                direct_3x3::<S, TILE>(simd, self, panels, image, [h, w], wo, band, scratch)
            } else {
                direct_3x3::<S, 1>(simd, self, panels, image, [h, w], wo, band, scratch)
            };
        }
        // The band's patches, one row per (input channel, ky, kx) in the weights' order.
        let stride = padded_stride(len);
        scratch.columns.resize(ci * k * k * stride, 0.0);
        let mut patches = scratch.columns.chunks_exact_mut(stride);
        for c in 0..ci {
            let plane = &image[c * h * w..][..h * w];
            for ky in 0..k {
                for kx in 0..k {
                    let dst = patches.next().expect("ci * k * k rows");
                    for r in 0..rows {
                        let out_row = &mut dst[r * wo..][..wo];
                        let iy = ((band.row0 + r) * s + ky).checked_sub(top).filter(|&iy| iy < h);
                        let Some(iy) = iy else {
                            out_row.fill(0.0);
                            continue;
                        };
                        // Columns x with 0 ≤ x·s + kx - left < w read the row, the others are padding.
                        let row = &plane[iy * w..][..w];
                        let first = left.saturating_sub(kx).div_ceil(s).min(wo);
                        let end = (w + left).saturating_sub(kx).div_ceil(s).clamp(first, wo);
                        out_row[..first].fill(0.0);
                        out_row[end..].fill(0.0);
                        let from = &row[first * s + kx - left..];
                        if s == 1 {
                            // A plain copy (memcpy): `step_by` with a run-time step does not vectorise, and
                            // at stride 1 this copy was most of a thin layer's time (the RGB head's).
                            out_row[first..end].copy_from_slice(&from[..end - first]);
                        } else if s == 2 && end > first {
                            // Pairs, so that the loop vectorises (a shuffle per vector): `step_by` with a
                            // run-time step copies one float at a time (BlazeFace's stem on 16 tiles: 4.5 ->
                            // 2.6 ms).
                            let dst = &mut out_row[first..end];
                            let n = dst.len();
                            for (d, pair) in dst[..n - 1].iter_mut().zip(from.chunks_exact(2)) {
                                *d = pair[0];
                            }
                            dst[n - 1] = from[2 * (n - 1)];
                        } else {
                            for (d, &v) in out_row[first..end].iter_mut().zip(from.iter().step_by(s)) {
                                *d = v;
                            }
                        }
                    }
                }
            }
        }
        let packed = self.packed.map(|p| p.panels.as_slice());
        let pointwise = Pointwise { depth: ci * k * k, stride, tiled: true, weights: self.weight, packed, bias: self.bias, activation: self.activation };
        pointwise.band(simd, &scratch.columns, len, &|_| None, band.first_channel, &mut band.outputs);
    }
}

/// A 3×3, stride-1, padding-1 convolution without patches (`Conv2d::direct` says when): a tile's nine
/// input vectors for one input channel are its output columns shifted by (ky − 1, kx − 1) in that channel's
/// padded rows, so the band's input is copied once with a zero border instead of nine times as patches
/// (the copy was 6-7% of the swap network's time, beside the pressure its 9× larger intermediate put on the
/// caches). The same products in the same order as the patch path (depth index `c·9 + ky·3 + kx`, blocks of
/// whole channels), so the same bits (tested).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn direct_3x3<S: Simd, const V: usize>(simd: S, conv: &Conv2d<'_>, panels: &[f32], image: &[f32], [h, w]: [usize; 2], wo: usize, band: &mut Band<'_>, scratch: &mut Scratch) {
    let (ci, depth) = (conv.channels_in, conv.channels_in * 9);
    let rows = band.outputs[0].len() / wo;
    // Input rows row0 - 1 ..= row0 + rows of every channel, each with a zero on both sides.
    let (span, count) = (w + 2, rows + 2);
    scratch.columns.resize(ci * count * span, 0.0);
    for (c, padded) in scratch.columns.chunks_exact_mut(count * span).enumerate() {
        let plane = &image[c * h * w..][..h * w];
        for (i, row) in padded.chunks_exact_mut(span).enumerate() {
            let iy = (band.row0 + i).checked_sub(1).filter(|&iy| iy < h);
            row[0] = 0.0;
            row[span - 1] = 0.0;
            match iy {
                Some(iy) => row[1..=w].copy_from_slice(&plane[iy * w..][..w]),
                None => row.fill(0.0),
            }
        }
    }
    let input = &scratch.columns[..ci * count * span];
    let step = V * lanes::<S>();
    // Whole input channels per depth block, about `DEPTH_BLOCK` rows of the patch path.
    let per_block = (DEPTH_BLOCK / 9).max(1);
    let outputs = &mut band.outputs[..];
    let (first, channels) = (band.first_channel, outputs.len());
    for c0 in (0..ci).step_by(per_block) {
        let inputs = c0..(c0 + per_block).min(ci);
        for block in (0..channels).step_by(CHANNEL_BLOCK) {
            for r in 0..rows {
                for x0 in (0..wo).step_by(step) {
                    for c in (block..(block + CHANNEL_BLOCK).min(channels)).step_by(PANEL) {
                        let group: &mut [&mut [f32]; PANEL] = (&mut outputs[c..c + PANEL]).try_into().expect("a panel");
                        let col = r * wo + x0;
                        let bias = &conv.bias[first + c..first + c + PANEL];
                        let mut acc = resume::<S, PANEL, V>(simd, group, col, inputs.start == 0, bias, &|_| None);
                        let panel = &panels[(first + c) * depth..][..depth * PANEL];
                        for ch in inputs.clone() {
                            let rows_of = &input[ch * count * span + r * span + x0..];
                            let weights = &panel[ch * 9 * PANEL..][..9 * PANEL];
                            accumulate_3x3(simd, &mut acc, weights, rows_of, span);
                        }
                        settle(simd, acc, group, col, inputs.end == ci, conv.activation, first + c);
                    }
                }
            }
        }
    }
}

/// `direct_3x3`'s inner loop for one input channel: `rows` starts at the tile's first column in the
/// channel's padded row above the output row; `weights` are the panel's nine `[PANEL]` rows of that channel.
#[inline(always)]
fn accumulate_3x3<S: Simd, const G: usize, const V: usize>(simd: S, acc: &mut [[S::f32s; V]; G], weights: &[f32], rows: &[f32], span: usize) {
    for ky in 0..3 {
        for kx in 0..3 {
            let d = load::<S, V>(&rows[ky * span + kx..]);
            let wgts = &weights[(ky * 3 + kx) * G..][..G];
            for g in 0..G {
                let wgt = simd.splat_f32s(wgts[g]);
                for v in 0..V {
                    acc[g][v] = simd.mul_add_e_f32s(wgt, d[v], acc[g][v]);
                }
            }
        }
    }
}

/// A 1×1 convolution over a band's intermediate (`[depth, len]`), plus bias, an optional skip per output
/// channel and the activation.
struct Pointwise<'a> {
    depth: usize,
    /// Floats from one row of the intermediate to the next (`padded_stride`).
    stride: usize,
    /// Whether to take the product in blocks (`blocked`): all convolutions, and blocks deeper than
    /// `DEPTH_BLOCK` (none in the face networks).
    tiled: bool,
    /// `[channels_out, depth]`.
    weights: &'a [f32],
    /// `PackedWeights::panels` of `weights`, if the caller packed them.
    packed: Option<&'a [f32]>,
    bias: &'a [f32],
    activation: Activation<'a>,
}

impl Pointwise<'_> {
    #[inline(always)]
    /// `outputs` are channels `first..first + outputs.len()`.
    #[allow(clippy::too_many_arguments)]
    fn band<'s, S: Simd>(&self, simd: S, columns: &[f32], len: usize, skip: &impl Fn(usize) -> Option<&'s [f32]>, first: usize, outputs: &mut [&mut [f32]]) {
        let mut i = 0;
        if self.tiled {
            if lanes::<S>() >= 16 {
                i = self.blocked::<S, 8>(simd, columns, len, skip, first, outputs, i);
            }
            i = self.blocked::<S, CHANNELS>(simd, columns, len, skip, first, outputs, i);
        }
        self.groups_from(simd, columns, len, skip, first, outputs, i);
    }

    /// Channels `i..` through `group`, four at a time, then the rest together.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn groups_from<'s, S: Simd>(&self, simd: S, columns: &[f32], len: usize, skip: &impl Fn(usize) -> Option<&'s [f32]>, first: usize, outputs: &mut [&mut [f32]], mut i: usize) {
        let count = outputs.len();
        while i + CHANNELS <= count {
            self.group::<S, CHANNELS>(simd, columns, len, 0, first + i, skip, &mut outputs[i..i + CHANNELS]);
            i += CHANNELS;
        }
        // The last one to three channels as one group, so that the columns are read once for them (the swap
        // network's RGB head has three output channels, its mask head one).
        match count - i {
            3 => self.group::<S, 3>(simd, columns, len, 0, first + i, skip, &mut outputs[i..]),
            2 => self.group::<S, 2>(simd, columns, len, 0, first + i, skip, &mut outputs[i..]),
            1 => self.group::<S, 1>(simd, columns, len, 0, first + i, skip, &mut outputs[i..]),
            _ => {}
        }
    }

    /// Convolutions: channels `from..` in whole groups of `G`, all but the last
    /// columns (less than two vectors, left to `group`); returns the first channel not done. Loop order:
    /// depth block, block of `CHANNEL_BLOCK` channels, tile of two vectors of columns, group of channels. A
    /// tile's columns for one depth block (128 rows × 2 vectors: 16 KiB with AVX-512) stay in L1 while every
    /// group of the channel block uses them, the block's weights (128 × 128 floats) stay in L2 while every
    /// tile uses them, and partial sums wait in the output. `group`'s order (each group sweeping all the
    /// columns over the whole depth) re-read the whole intermediate from L2 once per group: the swap network's
    /// 3×3 convolutions ran at the L2's speed, and AVX-512 gained 8% (BENCHMARKS.md). The sums are taken in
    /// the same order (bias, skip, then depth rows in order), so results are bit-identical to `group`'s.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn blocked<'s, S: Simd, const G: usize>(
        &self,
        simd: S,
        columns: &[f32],
        len: usize,
        skip: &impl Fn(usize) -> Option<&'s [f32]>,
        first: usize,
        outputs: &mut [&mut [f32]],
        from: usize,
    ) -> usize {
        let end = from + (outputs.len() - from) / G * G;
        let step = TILE * lanes::<S>();
        let tiles = len / step * step;
        for d0 in (0..self.depth).step_by(DEPTH_BLOCK) {
            let depths = d0..(d0 + DEPTH_BLOCK).min(self.depth);
            for block in (from..end).step_by(CHANNEL_BLOCK) {
                for col in (0..tiles).step_by(step) {
                    for c in (block..(block + CHANNEL_BLOCK).min(end)).step_by(G) {
                        let outputs: &mut [&mut [f32]; G] = (&mut outputs[c..c + G]).try_into().expect("G channels");
                        self.tile::<S, G>(simd, columns, col, depths.clone(), first + c, skip, outputs);
                    }
                }
            }
        }
        // The last columns (less than two vectors: all of a 4×4 plane with AVX-512), through `group`'s
        // one-vector and one-column steps.
        for c in (from..end).step_by(G) {
            let outputs: &mut [&mut [f32]] = &mut outputs[c..c + G];
            self.group::<S, G>(simd, columns, len, tiles, first + c, skip, outputs);
        }
        end
    }

    /// Channels `c0..c0 + G`, columns `col..col + 2·lanes`, the intermediate's rows `depths`: starts from
    /// bias and skip (first block) or the partial sums in the output, adds weights × columns, and writes the
    /// activated values (last block) or the partial sums back.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn tile<'s, S: Simd, const G: usize>(
        &self,
        simd: S,
        columns: &[f32],
        col: usize,
        depths: std::ops::Range<usize>,
        c0: usize,
        skip: &impl Fn(usize) -> Option<&'s [f32]>,
        outputs: &mut [&mut [f32]; G],
    ) {
        let mut acc = resume::<S, G, TILE>(simd, outputs, col, depths.start == 0, &self.bias[c0..c0 + G], &|g| skip(c0 + g));
        let n = depths.len();
        let rows = &columns[depths.start * self.stride + col..];
        match self.packed {
            Some(panels) if G == PANEL => {
                let panel = &panels[c0 * self.depth + depths.start * PANEL..][..n * PANEL];
                accumulate_packed(simd, &mut acc, panel, rows, self.stride);
            }
            _ => {
                let weights: [&[f32]; G] = std::array::from_fn(|g| &self.weights[(c0 + g) * self.depth + depths.start..][..n]);
                accumulate(simd, &mut acc, weights, rows, self.stride);
            }
        }
        settle(simd, acc, outputs, col, depths.end == self.depth, self.activation, c0);
    }

    /// Output channels `c0..c0 + G`, columns `from..`: bias + skip + Σ weights × columns, then the activation,
    /// written once. Two vectors of columns at a time, then one (a 4×4 plane is one AVX-512 vector: the
    /// 64 px swap network's deepest layer), then one column at a time.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn group<'s, S: Simd, const G: usize>(
        &self,
        simd: S,
        columns: &[f32],
        len: usize,
        from: usize,
        c0: usize,
        skip: &impl Fn(usize) -> Option<&'s [f32]>,
        outputs: &mut [&mut [f32]],
    ) {
        let depth = self.depth;
        let weights: [&[f32]; G] = std::array::from_fn(|g| &self.weights[(c0 + g) * depth..][..depth]);
        let skips: [Option<&[f32]>; G] = std::array::from_fn(|g| skip(c0 + g));
        let activations: [(f32, f32); G] = std::array::from_fn(|g| floor_and_slope(self.activation, c0 + g));
        let step = 2 * lanes::<S>();
        let mut col = from;
        while col + step <= len {
            self.vectors::<S, G, 2>(simd, columns, col, c0, weights, skips, activations, outputs);
            col += step;
        }
        // One vector (a 4×4 plane with AVX-512: the 64 px swap network's deepest layer).
        if col + lanes::<S>() <= len {
            self.vectors::<S, G, 1>(simd, columns, col, c0, weights, skips, activations, outputs);
            col += lanes::<S>();
        }
        // The last columns (less than a vector), one at a time.
        for c in col..len {
            for g in 0..G {
                let mut v = self.bias[c0 + g] + skips[g].map_or(0.0, |s| s[c]);
                for i in 0..depth {
                    v += weights[g][i] * columns[i * self.stride + c];
                }
                let (floor, slope) = activations[g];
                outputs[g][c] = v.max(floor) + slope * v.min(0.0) + v * 0.0;
            }
        }
    }

    /// `group`'s columns `col..col + V·lanes`: bias + skip + Σ weights × columns, activated, written once.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn vectors<S: Simd, const G: usize, const V: usize>(
        &self,
        simd: S,
        columns: &[f32],
        col: usize,
        c0: usize,
        weights: [&[f32]; G],
        skips: [Option<&[f32]>; G],
        activations: [(f32, f32); G],
        outputs: &mut [&mut [f32]],
    ) {
        let mut acc = [[simd.splat_f32s(0.0); V]; G];
        for (g, sums) in acc.iter_mut().enumerate() {
            *sums = start(simd, self.bias[c0 + g], skips[g], col);
        }
        accumulate(simd, &mut acc, weights, &columns[col..], self.stride);
        for g in 0..G {
            let (dst, _) = S::as_mut_simd_f32s(&mut outputs[g][col..col + V * lanes::<S>()]);
            activate(simd, activations[g], acc[g], dst);
        }
    }
}

/// The row stride of a band's intermediate for rows of `len` floats: whole cache lines, an odd number of
/// them. Rows a power-of-two number of lines apart all fall into a few of L1's 64 sets, and a tile's 256
/// rows then evict each other long before the channel block has used them.
fn padded_stride(len: usize) -> usize {
    const LINE: usize = 16;
    (len.div_ceil(LINE) | 1) * LINE
}

/// Vectors of columns in a tile of `Pointwise::blocked` (three, 24 accumulators with AVX-512, measured no
/// faster on the swap network).
const TILE: usize = 2;

/// Rows of the intermediate per pass in `Pointwise::blocked`: with two AVX-512 vectors of columns, 128 × 32
/// floats = 16 KiB, plus the panel's 128 × 8 weights, well inside a 48 KiB L1. 256 (32 KiB + 8 KiB) was ~6%
/// slower on the swap network's convolutions, 64 no better than 128.
const DEPTH_BLOCK: usize = 128;

/// Output channels per pass over the columns in `Pointwise::blocked`: their weights for one depth block,
/// 128 × 128 floats = 64 KiB, stay in L2 while every tile of columns uses them.
const CHANNEL_BLOCK: usize = 128;

/// The activation as `max(v, floor) + slope · min(v, 0)`: identity is floor -∞ and slope 0, ReLU floor 0 and
/// slope 0 (exact), leaky and PReLU floor 0 and their slope.
#[inline(always)]
fn floor_and_slope(activation: Activation<'_>, channel: usize) -> (f32, f32) {
    match activation {
        Activation::Identity => (f32::NEG_INFINITY, 0.0),
        Activation::Relu => (0.0, 0.0),
        Activation::PRelu(alpha) => (0.0, alpha[channel]),
        Activation::Leaky(slope) => (0.0, slope),
    }
}

// The helpers below and their callers use loops, not closures (`array::from_fn`, `map`): a closure is not
// always inlined, and one compiled apart from the SIMD context turns its vector operations into calls
// (BlazeFace's blocks took 48% longer when these were written with `from_fn` and `map`).

/// `V` vectors from the start of `s`.
#[inline(always)]
fn load<S: Simd, const V: usize>(s: &[f32]) -> [S::f32s; V] {
    let (v, _) = S::as_simd_f32s(&s[..V * lanes::<S>()]);
    let mut out = [v[0]; V];
    out.copy_from_slice(&v[..V]);
    out
}

/// The sums a tile of channels starts a depth block from: on the first block bias (plus skip), else the
/// partial sums the previous block left in the outputs.
#[inline(always)]
fn resume<'s, S: Simd, const G: usize, const V: usize>(
    simd: S,
    outputs: &[&mut [f32]; G],
    col: usize,
    first_block: bool,
    bias: &[f32],
    skip: &impl Fn(usize) -> Option<&'s [f32]>,
) -> [[S::f32s; V]; G] {
    let mut acc = [[simd.splat_f32s(0.0); V]; G];
    for (g, sums) in acc.iter_mut().enumerate() {
        *sums = if first_block { start(simd, bias[g], skip(g), col) } else { load::<S, V>(&outputs[g][col..]) };
    }
    acc
}

/// Writes a tile's sums back to its channels (`c0..`), as partial sums or, after the last depth block,
/// activated.
#[inline(always)]
fn settle<S: Simd, const G: usize, const V: usize>(simd: S, acc: [[S::f32s; V]; G], outputs: &mut [&mut [f32]; G], col: usize, last_block: bool, activation: Activation<'_>, c0: usize) {
    for g in 0..G {
        let (dst, _) = S::as_mut_simd_f32s(&mut outputs[g][col..col + V * lanes::<S>()]);
        if last_block {
            activate(simd, floor_and_slope(activation, c0 + g), acc[g], dst);
        } else {
            dst.copy_from_slice(&acc[g]);
        }
    }
}

/// Where a channel's sums over columns `col..` start: its bias, plus its skip path if it has one.
#[inline(always)]
fn start<S: Simd, const V: usize>(simd: S, bias: f32, skip: Option<&[f32]>, col: usize) -> [S::f32s; V] {
    let bias = simd.splat_f32s(bias);
    let mut sums = [bias; V];
    if let Some(s) = skip {
        let v = load::<S, V>(&s[col..]);
        for (sum, v) in sums.iter_mut().zip(v) {
            *sum = simd.add_f32s(bias, v);
        }
    }
    sums
}

/// The 1×1 product's inner loop: `acc[g][v] += weights[g][i] · (vector v of rows[i·len..])` for every row `i`
/// of `weights` (each `weights[g]` and `rows` start at the same depth; `rows` at the tile's first column).
#[inline(always)]
fn accumulate<S: Simd, const G: usize, const V: usize>(simd: S, acc: &mut [[S::f32s; V]; G], weights: [&[f32]; G], rows: &[f32], len: usize) {
    for i in 0..weights[0].len() {
        let d = load::<S, V>(&rows[i * len..]);
        for g in 0..G {
            let wgt = simd.splat_f32s(weights[g][i]);
            for v in 0..V {
                acc[g][v] = simd.mul_add_e_f32s(wgt, d[v], acc[g][v]);
            }
        }
    }
}

// The three `accumulate` variants repeat their inner step on purpose: one shared `inline(always)` step
// function made the swap network's convolutions ~5% and BlazeFace ~3% slower (measured back to back).

/// `accumulate` with the weights from a packed panel (`[depth][G]`, see `PackedWeights`).
#[inline(always)]
fn accumulate_packed<S: Simd, const G: usize, const V: usize>(simd: S, acc: &mut [[S::f32s; V]; G], panel: &[f32], rows: &[f32], len: usize) {
    for (i, wgts) in panel.chunks_exact(G).enumerate() {
        let d = load::<S, V>(&rows[i * len..]);
        for g in 0..G {
            let wgt = simd.splat_f32s(wgts[g]);
            for v in 0..V {
                acc[g][v] = simd.mul_add_e_f32s(wgt, d[v], acc[g][v]);
            }
        }
    }
}

/// Writes `max(v, floor) + slope · min(v, 0)` of the sums to `dst` (see `floor_and_slope`).
#[inline(always)]
fn activate<S: Simd, const V: usize>(simd: S, (floor, slope): (f32, f32), sums: [S::f32s; V], dst: &mut [S::f32s]) {
    let (zero, floor, slope) = (simd.splat_f32s(0.0), simd.splat_f32s(floor), simd.splat_f32s(slope));
    for (o, a) in dst.iter_mut().zip(sums) {
        let activated = simd.mul_add_e_f32s(slope, simd.min_f32s(a, zero), simd.max_f32s(a, floor));
        // SIMD min/max drop a NaN (x86 returns the other operand), which would turn a model full of NaN into
        // plausible zeros; adding a·0 (0 for finite a, NaN otherwise) keeps it visible.
        *o = simd.add_f32s(activated, simd.mul_f32s(a, zero));
    }
}

/// Floats per SIMD vector of `S`.
#[inline(always)]
fn lanes<S: Simd>() -> usize {
    std::mem::size_of::<S::f32s>() / std::mem::size_of::<f32>()
}

/// `a · b + c`: one fused instruction where the CPU has FMA, a multiply and an add elsewhere (`f32::mul_add`
/// without hardware FMA is a slow library call).
trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

struct Fused;
struct Separate;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// One output row of a 3×3 depthwise convolution at stride 1 (zero outside the rows):
/// `out[x] = bias + Σ_ky k[ky][0]·row_ky[x-1] + k[ky][1]·row_ky[x] + k[ky][2]·row_ky[x+1]`. The two edge
/// columns one at a time, the others in vectors, the last vector overlapping the one before it when the
/// width is not a whole number of vectors (it writes the same values again): written for the compiler to
/// vectorise, the interior left up to a vector's worth of columns per row to scalar code, all of them in
/// rows narrower than its unrolled loop (the 16- and 8-wide levels).
#[inline(always)]
fn depthwise_row_stride1<S: Simd, M: MulAdd>(simd: S, out: &mut [f32], rows: [&[f32]; 3], k: &[f32; 9], bias: f32) {
    let n = out.len();
    out[0] = depthwise_edge::<M>(0, n, rows, k, bias);
    if n == 1 {
        return;
    }
    out[n - 1] = depthwise_edge::<M>(n - 1, n, rows, k, bias);
    let lanes = lanes::<S>();
    if n < lanes + 2 {
        for (x, o) in out.iter_mut().enumerate().take(n - 1).skip(1) {
            *o = depthwise_edge::<M>(x, n, rows, k, bias);
        }
        return;
    }
    let taps = splat_taps(simd, k);
    let last = n - 1 - lanes;
    let mut x = 1;
    loop {
        let mut v = simd.splat_f32s(bias);
        for (ky, row) in rows.iter().enumerate() {
            for dx in 0..3 {
                v = simd.mul_add_e_f32s(taps[ky * 3 + dx], load::<S, 1>(&row[x - 1 + dx..])[0], v);
            }
        }
        S::as_mut_simd_f32s(&mut out[x..x + lanes]).0[0] = v;
        if x == last {
            return;
        }
        x = (x + lanes).min(last);
    }
}

/// The same at stride 2 with padding on the right only, from each input row's even columns (with the right
/// padding's zero or an odd-width row's last column at the end: `out.len() + 1` values) and odd columns:
/// `out[x] = bias + Σ_ky k[ky][0]·row_ky[2x] + k[ky][1]·row_ky[2x+1] + k[ky][2]·row_ky[2x+2]`.
#[inline(always)]
fn depthwise_row_stride2<S: Simd, M: MulAdd>(simd: S, out: &mut [f32], rows: [(&[f32], &[f32]); 3], k: &[f32; 9], bias: f32) {
    let n = out.len();
    let lanes = lanes::<S>();
    if n < lanes {
        for x in 0..n {
            let mut v = bias;
            for (ky, (even, odd)) in rows.iter().enumerate() {
                v = M::mul_add(k[ky * 3], even[x], v);
                v = M::mul_add(k[ky * 3 + 1], odd[x], v);
                v = M::mul_add(k[ky * 3 + 2], even[x + 1], v);
            }
            out[x] = v;
        }
        return;
    }
    let taps = splat_taps(simd, k);
    let last = n - lanes;
    let mut x = 0;
    loop {
        let mut v = simd.splat_f32s(bias);
        for (ky, (even, odd)) in rows.iter().enumerate() {
            v = simd.mul_add_e_f32s(taps[ky * 3], load::<S, 1>(&even[x..])[0], v);
            v = simd.mul_add_e_f32s(taps[ky * 3 + 1], load::<S, 1>(&odd[x..])[0], v);
            v = simd.mul_add_e_f32s(taps[ky * 3 + 2], load::<S, 1>(&even[x + 1..])[0], v);
        }
        S::as_mut_simd_f32s(&mut out[x..x + lanes]).0[0] = v;
        if x == last {
            return;
        }
        x = (x + lanes).min(last);
    }
}

/// The nine taps of a 3×3 kernel, each in every lane.
#[inline(always)]
fn splat_taps<S: Simd>(simd: S, k: &[f32; 9]) -> [S::f32s; 9] {
    let mut taps = [simd.splat_f32s(0.0); 9];
    for (t, &v) in taps.iter_mut().zip(k) {
        *t = simd.splat_f32s(v);
    }
    taps
}

/// Output column `x` of `depthwise_row_stride1`, where a tap may fall in the padding. A function, not a
/// closure, so that it is inlined into the SIMD context: as a closure it was compiled apart, without FMA,
/// and each product became a call to the C library's `fmaf` once the kernel crate grew an AVX-512 variant and
/// the inliner stopped inlining it (BlazeFace on 88 tiles took 12% longer).
#[inline(always)]
fn depthwise_edge<M: MulAdd>(x: usize, n: usize, rows: [&[f32]; 3], k: &[f32; 9], bias: f32) -> f32 {
    let mut v = bias;
    for (ky, row) in rows.iter().enumerate() {
        for dx in 0..3 {
            let tap = if x + dx >= 1 && x + dx - 1 < n { row[x + dx - 1] } else { 0.0 };
            v = M::mul_add(k[ky * 3 + dx], tap, v);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block written the slow, obvious way: zero-padded depthwise convolution, 1×1 convolution, padded
    /// skip, activation, one value at a time in f64.
    fn reference(b: &BlazeBlock<'_>, x: &[f32], batch: usize, h: usize, w: usize) -> Vec<f32> {
        let (ci, co) = (b.channels_in, b.channels_out);
        let (ho, wo) = b.output_size(h, w);
        let top = if b.stride == 1 { 1 } else { 0 };
        let at = |n: usize, c: usize, y: isize, xx: isize| -> f64 {
            if y < 0 || xx < 0 || y >= h as isize || xx >= w as isize {
                0.0
            } else {
                x[((n * ci + c) * h + y as usize) * w + xx as usize] as f64
            }
        };
        let mut out = vec![0.0f32; batch * co * ho * wo];
        for n in 0..batch {
            for y in 0..ho {
                for xx in 0..wo {
                    let dw: Vec<f64> = (0..ci)
                        .map(|c| {
                            let mut s = b.depthwise_bias[c] as f64;
                            for ky in 0..3 {
                                for kx in 0..3 {
                                    let iy = (y * b.stride + ky) as isize - top;
                                    let ix = (xx * b.stride + kx) as isize - top;
                                    s += b.depthwise[c * 9 + ky * 3 + kx] as f64 * at(n, c, iy, ix);
                                }
                            }
                            s
                        })
                        .collect();
                    for o in 0..co {
                        let mut s = b.pointwise_bias[o] as f64;
                        for (c, d) in dw.iter().enumerate() {
                            s += b.pointwise[o * ci + c] as f64 * d;
                        }
                        if o < ci {
                            s += if b.stride == 1 {
                                at(n, o, y as isize, xx as isize)
                            } else {
                                let (y2, x2) = (2 * y as isize, 2 * xx as isize);
                                at(n, o, y2, x2).max(at(n, o, y2, x2 + 1)).max(at(n, o, y2 + 1, x2)).max(at(n, o, y2 + 1, x2 + 1))
                            };
                        }
                        out[((n * co + o) * ho + y) * wo + xx] = activate(b.activation, o, s);
                    }
                }
            }
        }
        out
    }

    /// The activation in f64, for output channel `o`.
    fn activate(activation: Activation<'_>, o: usize, s: f64) -> f32 {
        let v = match activation {
            Activation::Identity => s,
            Activation::Relu => s.max(0.0),
            Activation::PRelu(a) => if s >= 0.0 { s } else { a[o] as f64 * s },
            Activation::Leaky(a) => if s >= 0.0 { s } else { a as f64 * s },
        };
        v as f32
    }

    /// Deterministic values in [-1, 1) (a 32-bit LCG), so failures reproduce.
    pub(crate) fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    fn check(ci: usize, co: usize, stride: usize, prelu: bool, batch: usize, h: usize, w: usize) {
        let (dw, dwb, pw, pwb, alpha) =
            (values(ci * 9, 1), values(ci, 2), values(co * ci, 3), values(co, 4), values(co, 5));
        let block = BlazeBlock {
            channels_in: ci,
            channels_out: co,
            stride,
            depthwise: &dw,
            depthwise_bias: &dwb,
            pointwise: &pw,
            pointwise_bias: &pwb,
            activation: if prelu { Activation::PRelu(&alpha) } else { Activation::Relu },
        };
        let x = values(batch * ci * h * w, 6);
        let got = block.forward(&x, batch, h, w).unwrap();
        let want = reference(&block, &x, batch, h, w);
        assert_eq!(got.len(), want.len());
        // f32 sums of up to ci + 10 terms of magnitude ≤ ~1 against an f64 reference: a few ulps of the
        // largest partial sum, far below any real indexing error (which is of order 0.1).
        let tolerance = 1e-5 * (ci as f32 + 10.0);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= tolerance, "{ci}->{co} s{stride} {h}x{w} at {i}: {g} vs {w}");
        }
    }

    #[test]
    fn stride_one_matches_reference() {
        check(24, 24, 1, false, 3, 16, 16);
        check(24, 28, 1, false, 2, 9, 13);
        check(5, 7, 1, true, 1, 1, 1);
        check(3, 3, 1, true, 2, 2, 37);
    }

    #[test]
    fn stride_two_matches_reference() {
        check(28, 32, 2, false, 2, 16, 16);
        check(6, 9, 2, true, 1, 7, 5);
        check(4, 4, 2, false, 1, 2, 2);
    }

    #[test]
    fn bands_and_channel_groups_cover_every_output() {
        // Big enough for several bands per image and a channel count that leaves a remainder of groups.
        check(16, 19, 1, true, 1, 70, 40);
        check(16, 19, 2, false, 1, 70, 41);
    }

    /// A dense convolution the obvious way, in f64.
    fn conv_reference(cv: &Conv2d<'_>, x: &[f32], batch: usize, h: usize, w: usize) -> Vec<f32> {
        let (ci, co, k) = (cv.channels_in, cv.channels_out, cv.kernel);
        let (ho, wo) = cv.output_size(h, w).unwrap();
        let [top, left, ..] = cv.padding;
        let mut out = vec![0.0f32; batch * co * ho * wo];
        for n in 0..batch {
            for o in 0..co {
                for y in 0..ho {
                    for xx in 0..wo {
                        let mut s = cv.bias[o] as f64;
                        for c in 0..ci {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy = (y * cv.stride + ky) as isize - top as isize;
                                    let ix = (xx * cv.stride + kx) as isize - left as isize;
                                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                        let v = x[((n * ci + c) * h + iy as usize) * w + ix as usize] as f64;
                                        s += cv.weight[((o * ci + c) * k + ky) * k + kx] as f64 * v;
                                    }
                                }
                            }
                        }
                        out[((n * co + o) * ho + y) * wo + xx] = activate(cv.activation, o, s);
                    }
                }
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn check_conv(ci: usize, co: usize, k: usize, stride: usize, padding: [usize; 4], activation: u8, batch: usize, h: usize, w: usize) {
        let (weight, bias, alpha) = (values(co * ci * k * k, 7), values(co, 8), values(co, 9));
        let cv = Conv2d {
            channels_in: ci,
            channels_out: co,
            kernel: k,
            stride,
            padding,
            weight: &weight,
            bias: &bias,
            activation: match activation {
                0 => Activation::Identity,
                1 => Activation::Relu,
                2 => Activation::Leaky(0.2),
                _ => Activation::PRelu(&alpha),
            },
            packed: None,
        };
        let x = values(batch * ci * h * w, 10);
        let got = cv.forward(&x, batch, h, w).unwrap();
        let want = conv_reference(&cv, &x, batch, h, w);
        assert_eq!(got.len(), want.len());
        // As for the block: f32 sums of ci·k² terms of magnitude ≤ 1 against f64.
        let tolerance = 1e-5 * (ci * k * k) as f32;
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= tolerance, "conv {ci}->{co} k{k} s{stride} {h}x{w} at {i}: {g} vs {w}");
        }
        // Packed weights: the same products in the same order, so the same bits.
        let packed = PackedWeights::new(&weight, co, ci * k * k).unwrap();
        let with_packed = Conv2d { packed: Some(&packed), ..cv }.forward(&x, batch, h, w).unwrap();
        assert!(got.iter().zip(&with_packed).all(|(a, b)| a.to_bits() == b.to_bits()), "conv {ci}->{co} k{k}: packed weights differ");
    }

    #[test]
    fn convolution_matches_reference() {
        // BlazeFace's first layer, FaceMesh's first layer and its last (3×3 stride 3, no padding, no activation).
        check_conv(3, 24, 5, 2, [1, 1, 2, 2], 1, 2, 32, 32);
        check_conv(3, 16, 3, 2, [0, 0, 1, 1], 3, 1, 24, 20);
        // The swap network's: 5×5 stride 2 with leaky ReLU, 3×3 `Same`.
        check_conv(16, 32, 5, 2, [1, 1, 2, 2], 2, 1, 16, 16);
        check_conv(12, 48, 3, 1, [1, 1, 1, 1], 2, 2, 8, 8);
        check_conv(32, 5, 3, 3, [0, 0, 0, 0], 0, 2, 3, 3);
        // A 1×1 convolution, several bands, channel-group remainders and an odd width.
        check_conv(40, 11, 1, 1, [0, 0, 0, 0], 3, 1, 50, 37);
        // Deep enough for `Pointwise::blocked`: two depth blocks (360 rows), more channels than a channel
        // block (140 = 17 groups of 8 + one of 4, then split between threads), bands whose width leaves
        // columns to the scalar tail.
        check_conv(40, 140, 3, 1, [1, 1, 1, 1], 2, 1, 9, 11);
        check_conv(30, 13, 3, 1, [1, 1, 1, 1], 3, 2, 7, 21);
        // `direct_3x3` (packed weights, rows a whole number of AVX-512 tiles): two blocks of input channels,
        // bands of several rows, two images; and 64-wide rows with a prime height.
        check_conv(20, 24, 3, 1, [1, 1, 1, 1], 2, 2, 5, 32);
        check_conv(16, 16, 3, 1, [1, 1, 1, 1], 3, 1, 7, 64);
        check_conv(24, 16, 3, 1, [1, 1, 1, 1], 0, 1, 16, 16);
        assert!(Conv2d { kernel: 9, ..Conv2d { channels_in: 1, channels_out: 1, kernel: 1, stride: 1, padding: [0; 4], weight: &[0.0; 81], bias: &[0.0], activation: Activation::Identity, packed: None } }
            .forward(&[0.0; 4], 1, 2, 2)
            .is_err());
    }

    /// Whether this CPU has both AVX-512 and AVX2 + FMA, so that the bit-identity tests can compare them.
    pub(crate) fn has_avx512_and_avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        if pulp::x86::V4::try_new().is_some() && pulp::x86::V3::try_new().is_some() {
            return true;
        }
        eprintln!("this CPU lacks AVX-512 or AVX2: nothing to compare");
        false
    }

    /// A farm mixes CPU generations: frames must not depend on whether a node has AVX-512. Every x86 variant
    /// runs the same fused multiply-adds in the same order, so the outputs are equal bit for bit; the
    /// portable variant (no FMA) only agrees to rounding.
    #[test]
    fn avx512_and_avx2_give_the_same_bits() {
        if !has_avx512_and_avx2() {
            return;
        }
        let (weight, bias) = (values(140 * 40 * 9, 11), values(140, 12));
        // Deep enough for the blocked path and the AVX-512 variant; a 4×4 plane for the one-vector step.
        for (h, w) in [(9, 11), (4, 4)] {
            let cv = Conv2d { channels_in: 40, channels_out: 140, kernel: 3, stride: 1, padding: [1; 4], weight: &weight, bias: &bias, activation: Activation::Leaky(0.2), packed: None };
            let x = values(40 * h * w, 13);
            let wide = cv.forward_up_to(&x, 1, h, w, Isa::Avx512).unwrap();
            let narrow = cv.forward_up_to(&x, 1, h, w, Isa::Avx2).unwrap();
            assert!(wide.iter().zip(&narrow).all(|(a, b)| a.to_bits() == b.to_bits()), "{h}x{w}: AVX-512 and AVX2 differ");
            let portable = cv.forward_up_to(&x, 1, h, w, Isa::Portable).unwrap();
            // Separate multiply and add round each of the 360 products once more: the sums (of order 10)
            // then differ by a few ulps, ~1e-5. 3.6e-3 (the reference tests' bound for this depth) leaves
            // room and stays far below an indexing error (~0.1).
            assert!(wide.iter().zip(&portable).all(|(a, b)| (a - b).abs() <= 1e-5 * 360.0), "{h}x{w}: portable code is off");
        }
    }

    /// A NaN anywhere (weights of a damaged model, pixels) must reach the output as NaN, as it does through
    /// Burn's operations: the node detects unusable networks by their non-finite output.
    #[test]
    fn nan_propagates_through_every_activation() {
        for activation in [0u8, 1, 2, 3] {
            let (weight, bias, alpha) = (vec![f32::NAN; 4 * 3 * 9], values(4, 1), values(4, 2));
            let cv = Conv2d {
                channels_in: 3,
                channels_out: 4,
                kernel: 3,
                stride: 1,
                padding: [1; 4],
                weight: &weight,
                bias: &bias,
                activation: match activation {
                    0 => Activation::Identity,
                    1 => Activation::Relu,
                    2 => Activation::Leaky(0.1),
                    _ => Activation::PRelu(&alpha),
                },
                packed: None,
            };
            let out = cv.forward(&values(3 * 8 * 8, 3), 1, 8, 8).unwrap();
            assert!(out.iter().all(|v| v.is_nan()), "activation {activation}");
        }
        let mut x = values(2 * 16 * 16, 4);
        x[100] = f32::NAN;
        let (dw, dwb, pw, pwb) = (values(18, 5), values(2, 6), values(6, 7), values(3, 8));
        let block = BlazeBlock {
            channels_in: 2,
            channels_out: 3,
            stride: 1,
            depthwise: &dw,
            depthwise_bias: &dwb,
            pointwise: &pw,
            pointwise_bias: &pwb,
            activation: Activation::Relu,
        };
        let out = block.forward(&x, 1, 16, 16).unwrap();
        assert!(out.iter().any(|v| v.is_nan()));
    }

    #[test]
    fn bad_shapes_are_errors() {
        let z = vec![0.0f32; 9 * 4];
        let block = BlazeBlock {
            channels_in: 4,
            channels_out: 4,
            stride: 1,
            depthwise: &z,
            depthwise_bias: &z[..4],
            pointwise: &z[..16],
            pointwise_bias: &z[..4],
            activation: Activation::Relu,
        };
        assert!(block.forward(&z[..10], 1, 2, 2).is_err());
        assert!(BlazeBlock { stride: 3, ..block }.forward(&z[..16], 1, 2, 2).is_err());
        assert!(BlazeBlock { channels_out: 3, ..block }.forward(&z[..16], 1, 2, 2).is_err());
        assert!(BlazeBlock { pointwise: &z[..15], ..block }.forward(&z[..16], 1, 2, 2).is_err());
        assert!(BlazeBlock { activation: Activation::PRelu(&z[..3]), ..block }.forward(&z[..16], 1, 2, 2).is_err());
        assert!(BlazeBlock { stride: 2, ..block }.forward(&z[..4], 1, 1, 1).is_err());
        assert!(block.forward(&z[..16], 1, 2, 2).is_ok());
        // Packed weights of another shape than the layer's.
        let w = vec![0.0f32; 8 * 4 * 9];
        let packed = PackedWeights::new(&w, 8, 36).unwrap();
        let conv = Conv2d { channels_in: 4, channels_out: 8, kernel: 3, stride: 1, padding: [1; 4], weight: &w, bias: &z[..8], activation: Activation::Relu, packed: Some(&packed) };
        assert!(conv.forward(&z[..16], 1, 2, 2).is_ok());
        let other = PackedWeights::new(&w, 16, 18).unwrap();
        assert!(Conv2d { packed: Some(&other), ..conv }.forward(&z[..16], 1, 2, 2).is_err());
        assert!(PackedWeights::new(&w[1..], 8, 36).is_err());
    }
}
