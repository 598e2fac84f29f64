//! What training needs of a [`Conv2d`] besides its forward pass: the gradient with respect to its input, and
//! the patch matrix its weight gradient is a product with.
//!
//! Burn's default backward of a convolution on `flex` (a transposed convolution for the input, and for the
//! weights a convolution whose kernel is the whole output gradient) ran the swap network's thin layers at
//! 1-8 GFLOP/s: a training step spent ~70% of its time there (BENCHMARKS.md, 2026-12-05, training step by
//! layer). Here:
//! - the **input gradient** is a forward convolution of the output gradient with the weights flipped and
//!   transposed, run by [`Conv2d::forward`] itself; at stride `s` the output gradient is first spread out
//!   with `s − 1` zeros between values (the encoder's four stride-2 layers; 3/4 of that product multiplies
//!   zeros, cheap at their sizes);
//! - the **weight gradient** is `grad[c_out, b·h'·w'] × patches[b·h'·w', c_in·k·k]`: [`Conv2d::patches`]
//!   writes the patch matrix, the caller takes the product with a GEMM (Burn's `matmul` on flex): the `gemm`
//!   crate's entry point takes raw pointers, which this crate forbids (all raw-pointer code of the project lives
//!   in `src/ofx/`).

use crate::{bad, check_lengths, Activation, Conv2d, ShapeError};
use rayon::prelude::*;

impl Conv2d<'_> {
    /// Whether [`Conv2d::input_grad`] takes this layout: padding before the image (top, left) below the kernel
    /// size, as a transposed convolution needs. Callers that record the layer for a backward pass ask first,
    /// so the backward pass never meets a refusal.
    pub fn check_input_grad(&self) -> Result<(), ShapeError> {
        let [top, left, _, _] = self.padding;
        if top >= self.kernel || left >= self.kernel {
            return bad(format!("padding {:?} not below the kernel size {}", self.padding, self.kernel));
        }
        Ok(())
    }

    /// `∂loss/∂x` for an input `[batch, channels_in, h, w]`, from `grad` = `∂loss/∂y` `[batch, channels_out,
    /// h', w']` (`(h', w') = output_size(h, w)`). The activation is not part of it: callers differentiate it
    /// themselves (this is a plain convolution's gradient, whatever `activation` says).
    pub fn input_grad(&self, grad: &[f32], batch: usize, h: usize, w: usize) -> Result<Vec<f32>, ShapeError> {
        let (ci, co, k, s) = (self.channels_in, self.channels_out, self.kernel, self.stride);
        let Some((ho, wo)) = self.output_size(h, w) else {
            return bad(format!("{k}x{k} kernel, stride {s}, padding {:?} on {h}x{w}", self.padding));
        };
        check_lengths(&[("output gradient", grad.len(), batch * co * ho * wo), ("weights", self.weight.len(), co * ci * k * k)])?;
        self.check_input_grad()?;
        let [top, left, _, _] = self.padding;
        // Spread out by the stride: value (y, x) lands at (y·s, x·s).
        let (hd, wd) = ((ho - 1) * s + 1, (wo - 1) * s + 1);
        let spread;
        let grad = if s == 1 {
            grad
        } else {
            let mut v = vec![0.0f32; batch * co * hd * wd];
            v.par_chunks_mut(hd * wd).zip(grad.par_chunks(ho * wo)).for_each(|(dst, src)| {
                for (y, row) in src.chunks(wo).enumerate() {
                    for (x, &g) in row.iter().enumerate() {
                        dst[y * s * wd + x * s] = g;
                    }
                }
            });
            spread = v;
            &spread
        };
        // The transposed convolution as a forward one: input pixel (y, x) collects the output gradient at
        // (y + top − ky) for kernel row ky, i.e. a correlation with the kernel flipped, padded k − 1 − top
        // before and whatever brings the size back to h × w after (never negative: the last output row read
        // the input no further than its bottom padding).
        let (pad_top, pad_left) = (k - 1 - top, k - 1 - left);
        let (pad_bottom, pad_right) = ((h + k - 1).checked_sub(hd + pad_top), (w + k - 1).checked_sub(wd + pad_left));
        let (Some(pad_bottom), Some(pad_right)) = (pad_bottom, pad_right) else {
            return bad(format!("padding {:?} with stride {s} on {h}x{w}", self.padding));
        };
        let mut flipped = vec![0.0f32; ci * co * k * k];
        for o in 0..co {
            for i in 0..ci {
                for ky in 0..k {
                    for kx in 0..k {
                        flipped[((i * co + o) * k + (k - 1 - ky)) * k + (k - 1 - kx)] = self.weight[((o * ci + i) * k + ky) * k + kx];
                    }
                }
            }
        }
        let zeros = vec![0.0f32; ci];
        let transposed = Conv2d {
            channels_in: co,
            channels_out: ci,
            kernel: k,
            stride: 1,
            padding: [pad_top, pad_left, pad_bottom, pad_right],
            weight: &flipped,
            bias: &zeros,
            activation: Activation::Identity,
            packed: None,
        };
        debug_assert_eq!(transposed.output_size(hd, wd), Some((h, w)));
        transposed.forward(grad, batch, hd, wd)
    }

    /// The patch matrix of an input `[batch, channels_in, h, w]`: `[batch·h'·w', channels_in·k·k]`, row
    /// `(b, y, x)` holding the (zero-padded) input values output pixel `(y, x)` of image `b` reads, in the
    /// weights' order `(c_in, ky, kx)`. `∂loss/∂weights` = `grad` (as `[c_out, b·h'·w']`) × this.
    pub fn patches(&self, x: &[f32], batch: usize, h: usize, w: usize) -> Result<Vec<f32>, ShapeError> {
        let (ci, k, s) = (self.channels_in, self.kernel, self.stride);
        let Some((ho, wo)) = self.output_size(h, w) else {
            return bad(format!("{k}x{k} kernel, stride {s}, padding {:?} on {h}x{w}", self.padding));
        };
        check_lengths(&[("input", x.len(), batch * ci * h * w)])?;
        let [top, left, _, _] = self.padding;
        let depth = ci * k * k;
        let mut out = vec![0.0f32; batch * ho * wo * depth];
        // One task per output row of one image: wo rows of the matrix.
        out.par_chunks_mut(wo * depth).enumerate().for_each(|(task, rows)| {
            let (b, y) = (task / ho, task % ho);
            let image = &x[b * ci * h * w..(b + 1) * ci * h * w];
            for c in 0..ci {
                for ky in 0..k {
                    // Padded coordinates: the row is inside the input when top ≤ y·s + ky < top + h; outside,
                    // its patch values stay zero.
                    let Some(iy) = (y * s + ky).checked_sub(top).filter(|&iy| iy < h) else {
                        continue;
                    };
                    let src = &image[(c * h + iy) * w..(c * h + iy + 1) * w];
                    let at = (c * k + ky) * k;
                    for (xo, row) in rows.chunks_mut(depth).enumerate() {
                        let dst = &mut row[at..at + k];
                        let x0 = xo * s;
                        if x0 >= left && x0 + k <= left + w {
                            // Inside: k consecutive input values.
                            dst.copy_from_slice(&src[x0 - left..x0 - left + k]);
                        } else {
                            for (kx, d) in dst.iter_mut().enumerate() {
                                if let Some(ix) = (x0 + kx).checked_sub(left).filter(|&ix| ix < w) {
                                    *d = src[ix];
                                }
                            }
                        }
                    }
                }
            }
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random value in [-1, 1).
    fn value(i: usize, salt: usize) -> f32 {
        let z = (i.wrapping_mul(2654435761) ^ salt.wrapping_mul(40503)).wrapping_mul(2246822519) >> 7;
        (z % 2000) as f32 / 1000.0 - 1.0
    }

    struct Case {
        ci: usize,
        co: usize,
        k: usize,
        stride: usize,
        padding: [usize; 4],
        batch: usize,
        h: usize,
        w: usize,
    }

    /// The swap network's two kinds of layer (3×3 "same" at stride 1; 5×5 at stride 2 with TF-style padding,
    /// one pixel more at the bottom and right), on odd sizes too.
    const CASES: [Case; 4] = [
        Case { ci: 3, co: 5, k: 3, stride: 1, padding: [1; 4], batch: 2, h: 7, w: 9 },
        Case { ci: 4, co: 6, k: 5, stride: 2, padding: [1, 1, 2, 2], batch: 2, h: 8, w: 8 },
        Case { ci: 2, co: 3, k: 5, stride: 2, padding: [1, 1, 2, 2], batch: 1, h: 9, w: 11 },
        Case { ci: 3, co: 2, k: 3, stride: 2, padding: [0, 0, 0, 0], batch: 2, h: 7, w: 6 },
    ];

    /// Adds `∂y[b, o, y, x]/∂(x, weights)` times `g[b, o, y, x]` for every output value, in f64: the
    /// definition of both gradients, straight from the convolution's sum.
    fn reference(c: &Case, x: &[f32], weight: &[f32], grad: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let (ho, wo) = ((c.h + c.padding[0] + c.padding[2] - c.k) / c.stride + 1, (c.w + c.padding[1] + c.padding[3] - c.k) / c.stride + 1);
        let mut gx = vec![0.0f64; x.len()];
        let mut gw = vec![0.0f64; weight.len()];
        for b in 0..c.batch {
            for o in 0..c.co {
                for y in 0..ho {
                    for xo in 0..wo {
                        let g = grad[((b * c.co + o) * ho + y) * wo + xo] as f64;
                        for i in 0..c.ci {
                            for ky in 0..c.k {
                                for kx in 0..c.k {
                                    let (iy, ix) = ((y * c.stride + ky) as isize - c.padding[0] as isize, (xo * c.stride + kx) as isize - c.padding[1] as isize);
                                    if iy < 0 || ix < 0 || iy >= c.h as isize || ix >= c.w as isize {
                                        continue;
                                    }
                                    let xi = ((b * c.ci + i) * c.h + iy as usize) * c.w + ix as usize;
                                    let wi = ((o * c.ci + i) * c.k + ky) * c.k + kx;
                                    gx[xi] += g * weight[wi] as f64;
                                    gw[wi] += g * x[xi] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
        (gx, gw)
    }

    #[test]
    fn input_gradient_and_patch_product_match_the_definition() {
        for (n, c) in CASES.iter().enumerate() {
            let x: Vec<f32> = (0..c.batch * c.ci * c.h * c.w).map(|i| value(i, 1 + n)).collect();
            let weight: Vec<f32> = (0..c.co * c.ci * c.k * c.k).map(|i| value(i, 100 + n)).collect();
            let bias = vec![0.0f32; c.co];
            let conv = Conv2d { channels_in: c.ci, channels_out: c.co, kernel: c.k, stride: c.stride, padding: c.padding, weight: &weight, bias: &bias, activation: Activation::Identity, packed: None };
            let (ho, wo) = conv.output_size(c.h, c.w).unwrap();
            let grad: Vec<f32> = (0..c.batch * c.co * ho * wo).map(|i| value(i, 200 + n)).collect();
            let (want_x, want_w) = reference(c, &x, &weight, &grad);

            let got_x = conv.input_grad(&grad, c.batch, c.h, c.w).unwrap();
            assert_eq!(got_x.len(), want_x.len(), "case {n}");
            // f32 sums of at most co·k·k = 150 products of values below 1: 1e-4 is ~20 ulps of the largest.
            for (i, (g, r)) in got_x.iter().zip(&want_x).enumerate() {
                assert!((*g as f64 - r).abs() < 1e-4, "case {n}, input value {i}: {g} vs {r}");
            }

            let p = conv.patches(&x, c.batch, c.h, c.w).unwrap();
            let (rows, depth) = (c.batch * ho * wo, c.ci * c.k * c.k);
            assert_eq!(p.len(), rows * depth);
            for o in 0..c.co {
                for d in 0..depth {
                    let mut sum = 0.0f64;
                    for b in 0..c.batch {
                        for pix in 0..ho * wo {
                            sum += grad[(b * c.co + o) * ho * wo + pix] as f64 * p[(b * ho * wo + pix) * depth + d] as f64;
                        }
                    }
                    let r = want_w[o * depth + d];
                    assert!((sum - r).abs() < 1e-9, "case {n}, weight {o},{d}: {sum} vs {r}");
                }
            }
        }
    }

    #[test]
    fn padding_as_large_as_the_kernel_is_refused() {
        let weight = vec![0.0f32; 9];
        let bias = [0.0f32];
        let conv = Conv2d { channels_in: 1, channels_out: 1, kernel: 3, stride: 1, padding: [3, 0, 0, 0], weight: &weight, bias: &bias, activation: Activation::Identity, packed: None };
        assert!(conv.input_grad(&[0.0; 16 * 4], 1, 4, 4).is_err());
    }
}
