//! A dense layer for a few rows (the swap network's inter block, one row per face): `y = x·W + b`.
//!
//! At batch 1 a dense layer is a matrix-vector product: each weight is read once and used once, so the layer
//! runs at the speed memory delivers its weights (the 128 px swap network's two dense layers hold 34 MB of its
//! 68). Burn's `flex` runs it on the calling thread alone (`perf`: ~7% of the swap network's samples, all on
//! the main thread); here the output columns are cut into runs that both cores stream in parallel.

use crate::{check_lengths, lanes, load, on_x86_simd, Isa, ShapeError};
use pulp::Simd;
use rayon::prelude::*;

/// A dense layer's weights, borrowed: Burn's `Linear` layout.
#[derive(Clone, Copy, Debug)]
pub struct Dense<'a> {
    pub inputs: usize,
    pub outputs: usize,
    /// `[inputs, outputs]`, row-major.
    pub weight: &'a [f32],
    /// `[outputs]`, or none.
    pub bias: Option<&'a [f32]>,
}

/// Output columns per task: enough to stream a few KiB of each weight row at a time (the hardware prefetcher
/// follows the rows), enough tasks to balance two cores on the narrowest layer here (512 outputs: 4 tasks).
const COLUMNS: usize = 128;

/// Rows of `x` taken together, so each weight is read once for all of them.
const ROWS: usize = 4;

impl Dense<'_> {
    /// `x` is `[rows, inputs]`; returns `[rows, outputs]`.
    pub fn forward(&self, x: &[f32], rows: usize) -> Result<Vec<f32>, ShapeError> {
        self.forward_up_to(x, rows, Isa::Avx512)
    }

    pub(crate) fn forward_up_to(&self, x: &[f32], rows: usize, widest: Isa) -> Result<Vec<f32>, ShapeError> {
        let (k, n) = (self.inputs, self.outputs);
        check_lengths(&[("input", x.len(), rows * k), ("weights", self.weight.len(), k * n)])?;
        if let Some(b) = self.bias {
            check_lengths(&[("bias", b.len(), n)])?;
        }
        let mut out = vec![0.0f32; rows * n];
        if n == 0 {
            return Ok(out);
        }
        // One task per run of columns, owning that run in every row of the output.
        let mut tasks: Vec<(usize, Vec<&mut [f32]>)> = (0..n.div_ceil(COLUMNS)).map(|t| (t * COLUMNS, Vec::with_capacity(rows))).collect();
        for row in out.chunks_mut(n) {
            for (t, run) in row.chunks_mut(COLUMNS).enumerate() {
                tasks[t].1.push(run);
            }
        }
        tasks.into_par_iter().for_each(|(first, mut runs)| {
            if let Err(task) = on_x86_simd(widest, Task { layer: self, x, first, runs: &mut runs }) {
                pulp::WithSimd::with_simd(task, pulp::Scalar::new())
            }
        });
        Ok(out)
    }
}

/// Columns `first..first + runs[0].len()` of every row.
struct Task<'l, 'r, 'o> {
    layer: &'l Dense<'l>,
    x: &'l [f32],
    first: usize,
    runs: &'r mut [&'o mut [f32]],
}

impl pulp::WithSimd for Task<'_, '_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let (k, rows) = (self.layer.inputs, self.runs.len());
        let mut r = 0;
        while r < rows {
            let take = (rows - r).min(ROWS);
            let x = &self.x[r * k..(r + take) * k];
            let runs = &mut self.runs[r..r + take];
            match take {
                4 => rows_of::<S, 4>(simd, self.layer, x, self.first, runs),
                3 => rows_of::<S, 3>(simd, self.layer, x, self.first, runs),
                2 => rows_of::<S, 2>(simd, self.layer, x, self.first, runs),
                _ => rows_of::<S, 1>(simd, self.layer, x, self.first, runs),
            }
            r += take;
        }
    }
}

/// `R` rows of `x` (`[R, inputs]`) into their runs of columns starting at `first`: one vector of columns at a
/// time, every input for it, then the scalar tail. Sums in input order, one fused multiply-add per product.
#[inline(always)]
fn rows_of<S: Simd, const R: usize>(simd: S, layer: &Dense<'_>, x: &[f32], first: usize, runs: &mut [&mut [f32]]) {
    let (k, n) = (layer.inputs, layer.outputs);
    let len = runs[0].len();
    let lanes = lanes::<S>();
    let mut col = 0;
    while col + lanes <= len {
        let mut acc = [simd.splat_f32s(0.0); R];
        if let Some(b) = layer.bias {
            let b = load::<S, 1>(&b[first + col..])[0];
            for a in acc.iter_mut() {
                *a = b;
            }
        }
        for i in 0..k {
            let w = load::<S, 1>(&layer.weight[i * n + first + col..])[0];
            for (row, a) in acc.iter_mut().enumerate() {
                *a = simd.mul_add_e_f32s(simd.splat_f32s(x[row * k + i]), w, *a);
            }
        }
        for (row, a) in acc.iter().enumerate() {
            S::as_mut_simd_f32s(&mut runs[row][col..col + lanes]).0[0] = *a;
        }
        col += lanes;
    }
    for c in col..len {
        for (row, run) in runs.iter_mut().enumerate() {
            let mut v = layer.bias.map_or(0.0, |b| b[first + c]);
            for i in 0..k {
                v = x[row * k + i].mul_add(layer.weight[i * n + first + c], v);
            }
            run[c] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{has_avx512_and_avx2, values};

    /// Against the sum in f64, for batch sizes that take every row grouping and widths with a scalar tail
    /// and several tasks.
    #[test]
    fn matches_reference() {
        for (rows, k, n, bias) in [(1, 300, 1000, true), (2, 17, 5, false), (3, 64, 129, true), (5, 40, 300, true), (4, 1, 16, false)] {
            let (x, w, b) = (values(rows * k, 1), values(k * n, 2), values(n, 3));
            let layer = Dense { inputs: k, outputs: n, weight: &w, bias: bias.then_some(b.as_slice()) };
            for isa in [Isa::Portable, Isa::Avx2, Isa::Avx512] {
                let got = layer.forward_up_to(&x, rows, isa).unwrap();
                for r in 0..rows {
                    for j in 0..n {
                        let want = (0..k).map(|i| x[r * k + i] as f64 * w[i * n + j] as f64).sum::<f64>() + if bias { b[j] as f64 } else { 0.0 };
                        // f32 sums of `k` products of magnitude ≤ 1.
                        let tolerance = 1e-6 * k as f64 + 1e-6;
                        assert!((got[r * n + j] as f64 - want).abs() <= tolerance, "{rows}x{k}x{n} {isa:?} at ({r}, {j}): {} vs {want}", got[r * n + j]);
                    }
                }
            }
        }
    }

    /// Farm nodes of different CPU generations must render the same bits: AVX-512 and AVX2 take the same
    /// fused multiply-adds in the same order (columns that miss a whole vector take the scalar FMA, also fused).
    #[test]
    fn avx512_and_avx2_give_the_same_bits() {
        if !has_avx512_and_avx2() {
            return;
        }
        // 1000 outputs: the last run of columns is 104 wide, 6 AVX-512 vectors and 8 scalar columns but
        // 13 AVX2 vectors.
        let (rows, k, n) = (3, 77, 1000);
        let (x, w, b) = (values(rows * k, 4), values(k * n, 5), values(n, 6));
        let layer = Dense { inputs: k, outputs: n, weight: &w, bias: Some(&b) };
        let wide = layer.forward_up_to(&x, rows, Isa::Avx512).unwrap();
        let narrow = layer.forward_up_to(&x, rows, Isa::Avx2).unwrap();
        assert!(wide.iter().zip(&narrow).all(|(a, b)| a.to_bits() == b.to_bits()), "AVX-512 and AVX2 differ");
    }

    #[test]
    fn bad_shapes_are_errors() {
        let w = vec![0.0f32; 12];
        let layer = Dense { inputs: 3, outputs: 4, weight: &w, bias: None };
        assert!(layer.forward(&[0.0; 3], 1).is_ok());
        assert!(layer.forward(&[0.0; 4], 1).is_err());
        assert!(Dense { weight: &w[1..], ..layer }.forward(&[0.0; 3], 1).is_err());
        assert!(Dense { bias: Some(&w[..3]), ..layer }.forward(&[0.0; 3], 1).is_err());
    }
}
