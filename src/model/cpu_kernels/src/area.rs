//! Shrinking an RGBA image with an exact area filter: what face detection reads a frame through.
//!
//! Here rather than in the pipeline because it is the one pixel loop that reads a whole frame at its full
//! resolution (133 MB for a float 4K frame): the main crate builds at opt-level 1 in tests and benches, where
//! this loop ran at 23 ms for a 4K frame against 12 ms for a plain read of it (BENCHMARKS.md, flatness); this
//! crate builds at opt-level 3 everywhere, as release builds do.

use crate::{on_x86_simd, Isa};
use rayon::prelude::*;

/// The source pixels behind each output pixel of one axis: output `i` covers the contiguous source range
/// `first[i]..first[i] + (ends[i] - ends[i - 1])` with those normalised weights (`weights[ends[i-1]..ends[i]]`).
struct Taps {
    first: Vec<usize>,
    ends: Vec<usize>,
    weights: Vec<f32>,
}

impl Taps {
    /// For each of `out` pixels of an axis of `len` pixels shrunk by `scale`, the overlap of `[i/scale,
    /// (i+1)/scale)` with each source pixel, clipped to the source, normalised to sum to one (in f64, rounded
    /// once).
    fn new(len: usize, out: usize, scale: f32) -> Taps {
        let inv = 1.0 / scale as f64;
        let mut taps = Taps { first: Vec::with_capacity(out), ends: Vec::with_capacity(out), weights: Vec::new() };
        let mut overlaps = Vec::new();
        for i in 0..out {
            let (lo, hi) = (i as f64 * inv, ((i + 1) as f64 * inv).min(len as f64));
            overlaps.clear();
            let mut first = None;
            let mut x = lo.floor() as usize;
            while (x as f64) < hi && x < len {
                let overlap = (hi.min(x as f64 + 1.0) - lo.max(x as f64)).max(0.0);
                // Only the range's ends can overlap by nothing (a bound on a pixel edge), so what is kept stays
                // contiguous.
                if overlap > 0.0 {
                    first.get_or_insert(x);
                    overlaps.push(overlap);
                }
                x += 1;
            }
            let total: f64 = overlaps.iter().sum();
            taps.first.push(first.unwrap_or(0));
            taps.weights.extend(overlaps.iter().map(|o| (o / total) as f32));
            taps.ends.push(taps.weights.len());
        }
        taps
    }

    /// Output pixel `i`'s first source pixel and weights.
    #[inline(always)]
    fn of(&self, i: usize) -> (usize, &[f32]) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        (self.first[i], &self.weights[start..self.ends[i]])
    }
}

/// A colour as the networks may see it: clamped to [0, 1], NaN and infinities (bad renders upstream) black.
/// The crops use it too ([`crate::crop_row`]), so the downscaled levels and the crops agree.
///
/// Written as three selects, not `is_finite` and `clamp`: those compiled to branches per value and kept the
/// filter's lanes from vectorising (the filter took 38 ms for a 4K frame).
#[inline(always)]
pub(crate) fn clean_colour(c: f32) -> f32 {
    const EXPONENT: u32 = 0x7F80_0000;
    let c = if c.to_bits() & EXPONENT == EXPONENT { 0.0 } else { c };
    let c = if c < 0.0 { 0.0 } else { c };
    if c > 1.0 {
        1.0
    } else {
        c
    }
}

/// The RGBA image `src` (`w × h`, interleaved, row-major) shrunk by `scale` (< 1): each output pixel is the mean
/// of the source area it covers, partial pixels weighted by their overlap, colours cleaned first
/// ([`clean_colour`]), alpha one. Output `ceil(w·scale) × ceil(h·scale)` (the last column and row average only
/// the source they cover), returned with its width and height. Runs of output rows are computed in parallel;
/// each output row first adds up the source rows it covers, weighted, into one full-width row (a contiguous loop
/// on the widest vectors the CPU has), then filters that row horizontally (filtering every source row
/// horizontally first spent most of a 4K frame's 21 ms in four-lane arithmetic over taps of varying length).
/// Per colour, sums are taken in tap order, vertical then horizontal, so the result depends on neither the
/// thread count nor the vector width.
pub fn area_downscale(src: &[f32], w: usize, h: usize, scale: f32) -> (usize, usize, Vec<f32>) {
    area_downscale_up_to(src, w, h, scale, Isa::Avx512)
}

/// `area_downscale` with instruction sets up to `widest` (tests compare them).
fn area_downscale_up_to(src: &[f32], w: usize, h: usize, scale: f32, widest: Isa) -> (usize, usize, Vec<f32>) {
    assert_eq!(src.len(), w * h * 4, "an RGBA image of {w}×{h}");
    let ow = ((w as f64 * scale as f64).ceil() as usize).max(1);
    let oh = ((h as f64 * scale as f64).ceil() as usize).max(1);
    let (taps_x, taps_y) = (Taps::new(w, ow, scale), Taps::new(h, oh, scale));
    const ROWS_PER_TASK: usize = 8;
    let mut out = vec![0.0f32; oh * ow * 4];
    out.par_chunks_mut(ow * 4 * ROWS_PER_TASK).enumerate().for_each(|(task, dst)| {
        let mut column_sums = vec![0.0f32; w * 4];
        for (k, dst) in dst.chunks_mut(ow * 4).enumerate() {
            column_sums.fill(0.0);
            let (y0, weights) = taps_y.of(task * ROWS_PER_TASK + k);
            for (y, &weight) in (y0..).zip(weights) {
                let task = AddRow { sums: &mut column_sums, row: &src[y * w * 4..(y + 1) * w * 4], weight };
                if let Err(task) = on_x86_simd(widest, task) {
                    pulp::WithSimd::with_simd(task, pulp::Scalar::new())
                }
            }
            // RGBA lanes (the alpha lane is computed and dropped): four lanes compile to one vector.
            let pixels = column_sums.as_chunks::<4>().0;
            for (ox, px) in dst.chunks_exact_mut(4).enumerate() {
                let (x0, weights) = taps_x.of(ox);
                let mut acc = [0.0f32; 4];
                for (p, &wt) in pixels[x0..x0 + weights.len()].iter().zip(weights) {
                    for c in 0..4 {
                        acc[c] += p[c] * wt;
                    }
                }
                px.copy_from_slice(&[acc[0], acc[1], acc[2], 1.0]);
            }
        }
    });
    (ow, oh, out)
}

/// `sums += clean(row) · weight`, value by value: plain code that the compiler vectorises for the instruction
/// set pulp enables around `with_simd` (a multiply and an add, not a fused multiply-add, so every width gives
/// the same bits).
struct AddRow<'a> {
    sums: &'a mut [f32],
    row: &'a [f32],
    weight: f32,
}

impl pulp::WithSimd for AddRow<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        for (sum, &v) in self.sums.iter_mut().zip(self.row) {
            *sum += clean_colour(v) * self.weight;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filter against a direct f64 evaluation of its definition, at scales that put source pixels across
    /// output boundaries, with non-finite and out-of-range values.
    #[test]
    fn matches_the_area_mean() {
        let (w, h) = (37, 23);
        let mut src = crate::tests::values(w * h * 4, 7);
        src[5] = f32::NAN;
        src[40] = f32::INFINITY;
        src[41] = 3.0;
        for scale in [0.5, 0.3, 0.2667, 0.9] {
            let (ow, oh, out) = area_downscale(&src, w, h, scale);
            assert_eq!((ow, oh), ((w as f64 * scale as f64).ceil() as usize, (h as f64 * scale as f64).ceil() as usize));
            let inv = 1.0 / scale as f64;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut sum = [0.0f64; 3];
                    let mut area = 0.0;
                    for y in 0..h {
                        for x in 0..w {
                            let cover = |p: usize, o: usize, len: usize| {
                                let (lo, hi) = (o as f64 * inv, ((o + 1) as f64 * inv).min(len as f64));
                                (hi.min(p as f64 + 1.0) - lo.max(p as f64)).max(0.0)
                            };
                            let a = cover(x, ox, w) * cover(y, oy, h);
                            for c in 0..3 {
                                sum[c] += a * clean_colour(src[(y * w + x) * 4 + c]) as f64;
                            }
                            area += a;
                        }
                    }
                    let px = &out[(oy * ow + ox) * 4..][..4];
                    for c in 0..3 {
                        // f32 sums of a few dozen terms in [0, 1] with weights summing to one.
                        assert!((px[c] as f64 - sum[c] / area).abs() < 1e-5, "{scale} ({ox}, {oy}) {c}");
                    }
                    assert_eq!(px[3], 1.0);
                }
            }
        }
    }

    /// Every instruction set gives the same bits (a multiply and an add per value, in the same order).
    #[test]
    fn every_vector_width_gives_the_same_bits() {
        let (w, h) = (101, 37);
        let mut src = crate::tests::values(w * h * 4, 9);
        src[17] = f32::NAN;
        let (.., wide) = area_downscale_up_to(&src, w, h, 0.3, Isa::Avx512);
        for isa in [Isa::Avx2, Isa::Portable] {
            let (.., other) = area_downscale_up_to(&src, w, h, 0.3, isa);
            assert!(wide.iter().zip(&other).all(|(a, b)| a.to_bits() == b.to_bits()), "{isa:?} differs");
        }
    }
}
