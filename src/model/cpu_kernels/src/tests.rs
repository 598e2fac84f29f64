//! The kernels against the slow, obvious definitions (f64), against each other across instruction sets,
//! and on bad shapes.

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
