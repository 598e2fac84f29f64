//! A dense k×k convolution and its activation: the band's patches (im2col) or, for 3×3 stride-1 layers on
//! whole AVX-512 rows, the rows themselves (`direct_3x3`), through the 1×1 product of `Pointwise`; and the
//! weights packed once per model for that product (`PackedWeights`).

use crate::*;
use pulp::Simd;

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
pub(crate) const PANEL: usize = 8;

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
    pub(crate) fn forward_up_to(&self, x: &[f32], batch: usize, h: usize, w: usize, widest: Isa) -> Result<Vec<f32>, ShapeError> {
        let plan = self.plan(x.len(), batch, h, w)?;
        Ok(run_in_bands(self, x, batch, [h, w], plan, widest))
    }

    /// Checks the layer's weights and an input of `x_len` values as `[batch, channels_in, h, w]`.
    pub(crate) fn plan(&self, x_len: usize, batch: usize, h: usize, w: usize) -> Result<Plan, ShapeError> {
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
pub(crate) fn direct_3x3<S: Simd, const V: usize>(simd: S, conv: &Conv2d<'_>, panels: &[f32], image: &[f32], [h, w]: [usize; 2], wo: usize, band: &mut Band<'_>, scratch: &mut Scratch) {
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
pub(crate) fn accumulate_3x3<S: Simd, const G: usize, const V: usize>(simd: S, acc: &mut [[S::f32s; V]; G], weights: &[f32], rows: &[f32], span: usize) {
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
