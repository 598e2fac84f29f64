//! BlazeFace's and FaceMesh's residual block in one pass: the 3×3 depthwise convolution of a band of rows
//! (`depthwise_row_*`, in vectors), then its 1×1 convolution, skip and activation (`Pointwise`).

use crate::*;
use pulp::Simd;

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
    pub(crate) fn plan(&self, x_len: usize, batch: usize, h: usize, w: usize) -> Result<Plan, ShapeError> {
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

/// One output row of a 3×3 depthwise convolution at stride 1 (zero outside the rows):
/// `out[x] = bias + Σ_ky k[ky][0]·row_ky[x-1] + k[ky][1]·row_ky[x] + k[ky][2]·row_ky[x+1]`. The two edge
/// columns one at a time, the others in vectors, the last vector overlapping the one before it when the
/// width is not a whole number of vectors (it writes the same values again): written for the compiler to
/// vectorise, the interior left up to a vector's worth of columns per row to scalar code, all of them in
/// rows narrower than its unrolled loop (the 16- and 8-wide levels).
#[inline(always)]
pub(crate) fn depthwise_row_stride1<S: Simd, M: MulAdd>(simd: S, out: &mut [f32], rows: [&[f32]; 3], k: &[f32; 9], bias: f32) {
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
pub(crate) fn depthwise_row_stride2<S: Simd, M: MulAdd>(simd: S, out: &mut [f32], rows: [(&[f32], &[f32]); 3], k: &[f32; 9], bias: f32) {
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
pub(crate) fn splat_taps<S: Simd>(simd: S, k: &[f32; 9]) -> [S::f32s; 9] {
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
pub(crate) fn depthwise_edge<M: MulAdd>(x: usize, n: usize, rows: [&[f32]; 3], k: &[f32; 9], bias: f32) -> f32 {
    let mut v = bias;
    for (ky, row) in rows.iter().enumerate() {
        for dx in 0..3 {
            let tap = if x + dx >= 1 && x + dx - 1 < n { row[x + dx - 1] } else { 0.0 };
            v = M::mul_add(k[ky * 3 + dx], tap, v);
        }
    }
    v
}
