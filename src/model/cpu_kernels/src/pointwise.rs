//! The 1×1 convolution every kernel ends with: a band's intermediate times the weights, plus bias, skip and
//! activation, in register tiles (`group`) or cache blocks (`blocked`), and the SIMD helpers it is built of.

use crate::*;
use pulp::Simd;

/// Output channels one step of the 1×1 convolution keeps in registers (each with two SIMD vectors of
/// columns: with AVX2, 4 × 16 floats in eight registers).
pub(crate) const CHANNELS: usize = 4;

/// A 1×1 convolution over a band's intermediate (`[depth, len]`), plus bias, an optional skip per output
/// channel and the activation.
pub(crate) struct Pointwise<'a> {
    pub(crate) depth: usize,
    /// Floats from one row of the intermediate to the next (`padded_stride`).
    pub(crate) stride: usize,
    /// Whether to take the product in blocks (`blocked`): all convolutions, and blocks deeper than
    /// `DEPTH_BLOCK` (none in the face networks).
    pub(crate) tiled: bool,
    /// `[channels_out, depth]`.
    pub(crate) weights: &'a [f32],
    /// `PackedWeights::panels` of `weights`, if the caller packed them.
    pub(crate) packed: Option<&'a [f32]>,
    pub(crate) bias: &'a [f32],
    pub(crate) activation: Activation<'a>,
}

impl Pointwise<'_> {
    #[inline(always)]
    /// `outputs` are channels `first..first + outputs.len()`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn band<'s, S: Simd>(&self, simd: S, columns: &[f32], len: usize, skip: &impl Fn(usize) -> Option<&'s [f32]>, first: usize, outputs: &mut [&mut [f32]]) {
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
pub(crate) fn padded_stride(len: usize) -> usize {
    const LINE: usize = 16;
    (len.div_ceil(LINE) | 1) * LINE
}

/// Vectors of columns in a tile of `Pointwise::blocked` (three, 24 accumulators with AVX-512, measured no
/// faster on the swap network).
pub(crate) const TILE: usize = 2;

/// Rows of the intermediate per pass in `Pointwise::blocked`: with two AVX-512 vectors of columns, 128 × 32
/// floats = 16 KiB, plus the panel's 128 × 8 weights, well inside a 48 KiB L1. 256 (32 KiB + 8 KiB) was ~6%
/// slower on the swap network's convolutions, 64 no better than 128.
pub(crate) const DEPTH_BLOCK: usize = 128;

/// Output channels per pass over the columns in `Pointwise::blocked`: their weights for one depth block,
/// 128 × 128 floats = 64 KiB, stay in L2 while every tile of columns uses them.
pub(crate) const CHANNEL_BLOCK: usize = 128;

/// The activation as `max(v, floor) + slope · min(v, 0)`: identity is floor -∞ and slope 0, ReLU floor 0 and
/// slope 0 (exact), leaky and PReLU floor 0 and their slope.
#[inline(always)]
pub(crate) fn floor_and_slope(activation: Activation<'_>, channel: usize) -> (f32, f32) {
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
pub(crate) fn load<S: Simd, const V: usize>(s: &[f32]) -> [S::f32s; V] {
    let (v, _) = S::as_simd_f32s(&s[..V * lanes::<S>()]);
    let mut out = [v[0]; V];
    out.copy_from_slice(&v[..V]);
    out
}

/// The sums a tile of channels starts a depth block from: on the first block bias (plus skip), else the
/// partial sums the previous block left in the outputs.
#[inline(always)]
pub(crate) fn resume<'s, S: Simd, const G: usize, const V: usize>(
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
pub(crate) fn settle<S: Simd, const G: usize, const V: usize>(simd: S, acc: [[S::f32s; V]; G], outputs: &mut [&mut [f32]; G], col: usize, last_block: bool, activation: Activation<'_>, c0: usize) {
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
pub(crate) fn start<S: Simd, const V: usize>(simd: S, bias: f32, skip: Option<&[f32]>, col: usize) -> [S::f32s; V] {
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
pub(crate) fn accumulate<S: Simd, const G: usize, const V: usize>(simd: S, acc: &mut [[S::f32s; V]; G], weights: [&[f32]; G], rows: &[f32], len: usize) {
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
pub(crate) fn accumulate_packed<S: Simd, const G: usize, const V: usize>(simd: S, acc: &mut [[S::f32s; V]; G], panel: &[f32], rows: &[f32], len: usize) {
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
pub(crate) fn activate<S: Simd, const V: usize>(simd: S, (floor, slope): (f32, f32), sums: [S::f32s; V], dst: &mut [S::f32s]) {
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
pub(crate) fn lanes<S: Simd>() -> usize {
    std::mem::size_of::<S::f32s>() / std::mem::size_of::<f32>()
}
