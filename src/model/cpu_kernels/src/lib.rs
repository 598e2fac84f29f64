//! Fused CPU kernel for the residual block shared by BlazeFace and FaceMesh ("BlazeBlock"):
//! 3×3 depthwise convolution → 1×1 convolution → add the (2×2 max-pooled, zero-padded) input → ReLU or PReLU.
//!
//! Burn's `flex` backend runs that block as five passes over memory (depthwise, pointwise, channel padding,
//! add, activation), each writing a fresh tensor; at BlazeFace's 64×64 level and 88 tiles a tensor is 35 MB, so
//! the passes, not the arithmetic, set the speed (BENCHMARKS.md, 2026-12-05, layer by layer). Here one pass
//! does it all: the output is cut into bands of rows small enough that the depthwise result of a band stays
//! in the core's cache; the band's 1×1 convolution, skip, bias and activation are applied in registers and
//! each output value is written once.
//!
//! Safe Rust on plain slices (NCHW, `f32`), nothing about Burn: `src/device/fused.rs` hands tensors over.
//! Bands run in parallel on rayon's pool (the one `flex` uses). On x86-64 with AVX2 and FMA the loops are
//! compiled for those (through `pulp`'s runtime detection, safely); elsewhere the same loops run portable.
//!
//! Numbers: the same products as the composed operations, summed in another order, so results differ from
//! Burn's by rounding only (tests: within 1e-5 relative to the output's scale).

use pulp::Simd;
use rayon::prelude::*;

/// What follows the add.
#[derive(Clone, Copy, Debug)]
pub enum Activation<'a> {
    /// `max(v, 0)` (BlazeFace).
    Relu,
    /// `v` if `v ≥ 0`, else `alpha[c] · v` (FaceMesh); one slope per output channel.
    PRelu(&'a [f32]),
}

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

/// Why a block cannot run; the caller falls back to composed operations or reports a bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlazeBlock kernel: {}", self.0)
    }
}

impl std::error::Error for ShapeError {}

/// Target size of one band's depthwise result, in floats: 64 KiB, well inside any current core's L2 (and
/// close to L1 on the 48 KiB-L1 machine the figures were taken on), so the 1×1 convolution reads it from
/// cache. Bigger bands were not faster there; much smaller ones lose to per-band overhead.
const BAND_FLOATS: usize = 16 * 1024;

/// Output channels one step of the 1×1 convolution keeps in registers (each with two SIMD vectors of columns).
const CHANNELS: usize = 4;

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

    fn check(&self, x: &[f32], batch: usize, h: usize, w: usize) -> Result<(), ShapeError> {
        let (ci, co) = (self.channels_in, self.channels_out);
        let bad = |what: String| Err(ShapeError(what));
        if self.stride != 1 && self.stride != 2 {
            return bad(format!("stride {} (1 or 2 only)", self.stride));
        }
        if ci == 0 || co < ci {
            return bad(format!("{ci} -> {co} channels (output must be at least the input)"));
        }
        if h < self.stride || w < self.stride {
            return bad(format!("{h}x{w} input is too small for stride {}", self.stride));
        }
        if x.len() != batch * ci * h * w {
            return bad(format!("input has {} values, not {batch}x{ci}x{h}x{w}", x.len()));
        }
        let lengths = [
            ("depthwise weights", self.depthwise.len(), ci * 9),
            ("depthwise bias", self.depthwise_bias.len(), ci),
            ("pointwise weights", self.pointwise.len(), co * ci),
            ("pointwise bias", self.pointwise_bias.len(), co),
        ];
        for (what, got, want) in lengths {
            if got != want {
                return bad(format!("{what}: {got} values, expected {want}"));
            }
        }
        if let Activation::PRelu(alpha) = self.activation {
            if alpha.len() != co {
                return bad(format!("PReLU slopes: {} values, expected {co}", alpha.len()));
            }
        }
        Ok(())
    }

    /// Runs the block on `x` (`[batch, channels_in, h, w]`, contiguous) and returns
    /// `[batch, channels_out, h', w']` with `(h', w') = output_size(h, w)`.
    pub fn forward(&self, x: &[f32], batch: usize, h: usize, w: usize) -> Result<Vec<f32>, ShapeError> {
        self.check(x, batch, h, w)?;
        let (ho, wo) = self.output_size(h, w);
        let plane = ho * wo;
        let rows = (BAND_FLOATS / (self.channels_in * wo)).clamp(1, ho);
        let bands = ho.div_ceil(rows);
        let mut out = vec![0.0f32; batch * self.channels_out * plane];

        // One task per (image, band of output rows), each owning its rows of every output channel: disjoint
        // slices cut safely with chunks_mut.
        let mut tasks = Vec::with_capacity(batch * bands);
        for (n, image) in out.chunks_mut(self.channels_out * plane).enumerate() {
            let mut per_band: Vec<Vec<&mut [f32]>> =
                (0..bands).map(|_| Vec::with_capacity(self.channels_out)).collect();
            for channel in image.chunks_mut(plane) {
                for (b, rows_of_band) in channel.chunks_mut(rows * wo).enumerate() {
                    per_band[b].push(rows_of_band);
                }
            }
            for (b, outputs) in per_band.into_iter().enumerate() {
                tasks.push(Band { image: n, row0: b * rows, outputs });
            }
        }
        let image_len = self.channels_in * h * w;
        tasks.into_par_iter().for_each_init(Scratch::default, |scratch, mut band| {
            let input = &x[band.image * image_len..][..image_len];
            self.dispatch(input, h, w, wo, &mut band, scratch);
        });
        Ok(out)
    }

    fn dispatch(&self, input: &[f32], h: usize, w: usize, wo: usize, band: &mut Band<'_>, scratch: &mut Scratch) {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = pulp::x86::V3::try_new() {
            return Simd::vectorize(simd, BandWithSimd { block: self, input, h, w, wo, band, scratch });
        }
        self.run_band::<_, Separate>(pulp::Scalar::new(), input, h, w, wo, band, scratch)
    }

    /// Everything below is `inline(always)` so that it is compiled inside `dispatch`'s AVX2 + FMA context.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn run_band<S: Simd, M: MulAdd>(&self, simd: S, input: &[f32], h: usize, w: usize, wo: usize, band: &mut Band<'_>, scratch: &mut Scratch) {
        let ci = self.channels_in;
        let len = band.outputs[0].len();
        let rows = len / wo;
        scratch.depthwise.resize(ci * len, 0.0);
        for c in 0..ci {
            let plane = &input[c * h * w..][..h * w];
            let kernel = &self.depthwise[c * 9..][..9];
            let dst = &mut scratch.depthwise[c * len..][..len];
            dst.fill(self.depthwise_bias[c]);
            for r in 0..rows {
                let out_row = &mut dst[r * wo..][..wo];
                let y = band.row0 + r;
                for ky in 0..3 {
                    // Input row for this tap: stride 1 pads one row on top, stride 2 none.
                    let Some(iy) = (y * self.stride + ky).checked_sub(if self.stride == 1 { 1 } else { 0 }) else {
                        continue;
                    };
                    if iy >= h {
                        continue;
                    }
                    let row = &plane[iy * w..][..w];
                    let k = [kernel[ky * 3], kernel[ky * 3 + 1], kernel[ky * 3 + 2]];
                    if self.stride == 1 {
                        depthwise_row_stride1::<M>(out_row, row, k);
                    } else {
                        depthwise_row_stride2::<M>(out_row, row, k);
                    }
                }
            }
        }
        // The skip path: the input rows themselves at stride 1 (a band covers whole rows, so they are one
        // contiguous run of the plane); pooled into scratch at stride 2.
        if self.stride == 2 {
            scratch.pooled.resize(ci * len, 0.0);
            for c in 0..ci {
                let plane = &input[c * h * w..][..h * w];
                let dst = &mut scratch.pooled[c * len..][..len];
                for r in 0..rows {
                    let y = 2 * (band.row0 + r);
                    let (top, bottom) = (&plane[y * w..][..w], &plane[(y + 1) * w..][..w]);
                    for (x, d) in dst[r * wo..][..wo].iter_mut().enumerate() {
                        *d = top[2 * x].max(top[2 * x + 1]).max(bottom[2 * x].max(bottom[2 * x + 1]));
                    }
                }
            }
        }
        let skip = |c: usize| -> &[f32] {
            if self.stride == 2 {
                &scratch.pooled[c * len..][..len]
            } else {
                &input[c * h * w + band.row0 * w..][..len]
            }
        };
        let depthwise = &scratch.depthwise;
        let co = self.channels_out;
        let mut c0 = 0;
        while c0 < co {
            let group = (co - c0).min(CHANNELS);
            if group == CHANNELS {
                self.pointwise_group::<S, CHANNELS>(simd, depthwise, len, c0, &skip, &mut band.outputs[c0..c0 + CHANNELS]);
            } else {
                for c in c0..co {
                    self.pointwise_group::<S, 1>(simd, depthwise, len, c, &skip, &mut band.outputs[c..c + 1]);
                }
            }
            c0 += group;
        }
    }

    /// Output channels `c0..c0 + G` of one band: bias + skip + Σ weights × depthwise, then the activation,
    /// written once. `G` channels × two SIMD vectors of columns stay in registers across the input channels
    /// (with AVX2: 4 × 16 floats in eight registers).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn pointwise_group<'s, S: Simd, const G: usize>(
        &self,
        simd: S,
        depthwise: &[f32],
        len: usize,
        c0: usize,
        skip: &impl Fn(usize) -> &'s [f32],
        outputs: &mut [&mut [f32]],
    ) {
        let ci = self.channels_in;
        let weights: [&[f32]; G] = std::array::from_fn(|g| &self.pointwise[(c0 + g) * ci..][..ci]);
        let skips: [Option<&[f32]>; G] = std::array::from_fn(|g| (c0 + g < ci).then(|| skip(c0 + g)));
        let slopes: [f32; G] = std::array::from_fn(|g| match self.activation {
            Activation::Relu => 0.0,
            Activation::PRelu(alpha) => alpha[c0 + g],
        });
        let lanes = std::mem::size_of::<S::f32s>() / std::mem::size_of::<f32>();
        let step = 2 * lanes;
        let zero = simd.splat_f32s(0.0);
        let two = |s: &[f32]| -> [S::f32s; 2] {
            let (v, _) = S::as_simd_f32s(s);
            [v[0], v[1]]
        };
        let mut col = 0;
        while col + step <= len {
            let mut acc = [[zero; 2]; G];
            for g in 0..G {
                let bias = simd.splat_f32s(self.pointwise_bias[c0 + g]);
                acc[g] = match skips[g] {
                    Some(s) => {
                        let v = two(&s[col..col + step]);
                        [simd.add_f32s(bias, v[0]), simd.add_f32s(bias, v[1])]
                    }
                    None => [bias, bias],
                };
            }
            for i in 0..ci {
                let d = two(&depthwise[i * len + col..][..step]);
                for g in 0..G {
                    let wgt = simd.splat_f32s(weights[g][i]);
                    acc[g][0] = simd.mul_add_e_f32s(wgt, d[0], acc[g][0]);
                    acc[g][1] = simd.mul_add_e_f32s(wgt, d[1], acc[g][1]);
                }
            }
            for g in 0..G {
                // ReLU is PReLU with slope 0: max(v, 0) + slope · min(v, 0), exact either way.
                let slope = simd.splat_f32s(slopes[g]);
                let (dst, _) = S::as_mut_simd_f32s(&mut outputs[g][col..col + step]);
                for (o, a) in dst.iter_mut().zip(acc[g]) {
                    *o = simd.mul_add_e_f32s(slope, simd.min_f32s(a, zero), simd.max_f32s(a, zero));
                }
            }
            col += step;
        }
        // The last columns (fewer than two vectors), one at a time.
        for c in col..len {
            for g in 0..G {
                let mut v = self.pointwise_bias[c0 + g] + skips[g].map_or(0.0, |s| s[c]);
                for i in 0..ci {
                    v += weights[g][i] * depthwise[i * len + c];
                }
                outputs[g][c] = if v >= 0.0 { v } else { slopes[g] * v };
            }
        }
    }
}

/// `run_band` as pulp wants it to compile it with AVX2 + FMA enabled: `with_simd` is instantiated inside
/// pulp's `#[target_feature]` function and inlined there. (A closure is not: it was compiled without the
/// features, and every `mul_add` became a call to the C library's `fmaf`, 3× slower than Burn.)
struct BandWithSimd<'k, 'b, 'o> {
    block: &'k BlazeBlock<'k>,
    input: &'k [f32],
    h: usize,
    w: usize,
    wo: usize,
    band: &'b mut Band<'o>,
    scratch: &'b mut Scratch,
}

impl pulp::WithSimd for BandWithSimd<'_, '_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        self.block.run_band::<S, Fused>(simd, self.input, self.h, self.w, self.wo, self.band, self.scratch)
    }
}

/// One task: rows `row0..` of every output channel of one image.
struct Band<'o> {
    image: usize,
    row0: usize,
    outputs: Vec<&'o mut [f32]>,
}

/// Per-thread buffers, reused from band to band.
#[derive(Default)]
struct Scratch {
    depthwise: Vec<f32>,
    pooled: Vec<f32>,
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

/// `out[x] += k0·row[x-1] + k1·row[x] + k2·row[x+1]`, zero outside the row.
#[inline(always)]
fn depthwise_row_stride1<M: MulAdd>(out: &mut [f32], row: &[f32], [k0, k1, k2]: [f32; 3]) {
    let n = row.len();
    if n == 1 {
        out[0] = M::mul_add(k1, row[0], out[0]);
        return;
    }
    out[0] = M::mul_add(k1, row[0], M::mul_add(k2, row[1], out[0]));
    out[n - 1] = M::mul_add(k0, row[n - 2], M::mul_add(k1, row[n - 1], out[n - 1]));
    let inner = out[1..n - 1].iter_mut().zip(&row[..n - 2]).zip(&row[1..n - 1]).zip(&row[2..]);
    for (((o, &l), &m), &r) in inner {
        *o = M::mul_add(k0, l, M::mul_add(k1, m, M::mul_add(k2, r, *o)));
    }
}

/// Stride 2, padding on the right only: `out[x] += k0·row[2x] + k1·row[2x+1] + k2·row[2x+2]`.
#[inline(always)]
fn depthwise_row_stride2<M: MulAdd>(out: &mut [f32], row: &[f32], [k0, k1, k2]: [f32; 3]) {
    let n = row.len();
    for (x, o) in out.iter_mut().enumerate() {
        let third = if 2 * x + 2 < n { row[2 * x + 2] } else { 0.0 };
        *o = M::mul_add(k0, row[2 * x], M::mul_add(k1, row[2 * x + 1], M::mul_add(k2, third, *o)));
    }
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
                        for c in 0..ci {
                            s += b.pointwise[o * ci + c] as f64 * dw[c];
                        }
                        if o < ci {
                            s += if b.stride == 1 {
                                at(n, o, y as isize, xx as isize)
                            } else {
                                let (y2, x2) = (2 * y as isize, 2 * xx as isize);
                                at(n, o, y2, x2).max(at(n, o, y2, x2 + 1)).max(at(n, o, y2 + 1, x2)).max(at(n, o, y2 + 1, x2 + 1))
                            };
                        }
                        let v = match b.activation {
                            Activation::Relu => s.max(0.0),
                            Activation::PRelu(a) => if s >= 0.0 { s } else { a[o] as f64 * s },
                        };
                        out[((n * co + o) * ho + y) * wo + xx] = v as f32;
                    }
                }
            }
        }
        out
    }

    /// Deterministic values in [-1, 1) (a 32-bit LCG), so failures reproduce.
    fn values(n: usize, seed: u32) -> Vec<f32> {
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
    }
}
