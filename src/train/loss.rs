//! Training losses: structural dissimilarity (DSSIM) plus MSE on the masked face, and a mask loss.

use burn::prelude::*;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::TensorData;

/// SSIM window: 11×11 Gaussian, σ = 1.5, the values of Wang et al. 2004.
const WINDOW: usize = 11;
const SIGMA: f32 = 1.5;
/// SSIM stabilisers for values in [0, 1]: (0.01·L)², (0.03·L)² with L = 1.
const C1: f32 = 1e-4;
const C2: f32 = 9e-4;
/// DeepFaceLab weighs the pixel MSE ten times the DSSIM term; we keep its balance.
const MSE_WEIGHT: f32 = 10.0;

/// The normalised 1-D Gaussian taps (the 2-D window is their outer product).
fn gaussian_taps() -> [f32; WINDOW] {
    let c = (WINDOW / 2) as f32;
    let mut g = [0.0f32; WINDOW];
    for (i, v) in g.iter_mut().enumerate() {
        *v = (-((i as f32 - c).powi(2)) / (2.0 * SIGMA * SIGMA)).exp();
    }
    let sum: f32 = g.iter().sum();
    g.map(|v| v / sum)
}

/// `[n, n − WINDOW + 1]`: column `j` holds the taps at rows `j..j + WINDOW`, so `rows · band` is a valid 1-D
/// Gaussian blur of each row.
fn band(n: usize, device: &Device) -> Tensor<2> {
    let g = gaussian_taps();
    let m = n + 1 - WINDOW;
    let mut v = vec![0.0f32; n * m];
    for j in 0..m {
        for (t, &tap) in g.iter().enumerate() {
            v[(j + t) * m + j] = tap;
        }
    }
    Tensor::<2>::from_data(TensorData::new(v, [n, m]), device)
}

/// Sides up to this blur with two band matrix products; larger ones with a 2-D window (the band's cost
/// grows with the side squared, the window's with the side).
const BAND_MAX_SIDE: usize = 256;

/// Valid Gaussian blur of every channel of `x` `[b, c, h, w]` → `[b, c, h − 10, w − 10]`.
///
/// Separable, as two matrix products with band matrices: on flex a product and its backward are two or three
/// GEMMs, where a grouped 11×11 convolution's backward goes through a transposed convolution and was ~5×
/// slower in a training step (BENCHMARKS.md, eighth session of 2026-12-05).
fn blur(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let device = x.device();
    if h.max(w) > BAND_MAX_SIDE {
        return blur_window(x);
    }
    let (hv, wv) = (h + 1 - WINDOW, w + 1 - WINDOW);
    let rows = x.reshape([b * c * h, w]).matmul(band(w, &device)).reshape([b * c, h, wv]);
    let cols = rows.swap_dims(1, 2).reshape([b * c * wv, h]).matmul(band(h, &device));
    cols.reshape([b, c, wv, hv]).swap_dims(2, 3)
}

/// [`blur`] as one grouped convolution with the 2-D window.
fn blur_window(x: Tensor<4>) -> Tensor<4> {
    let [_, c, _, _] = x.dims();
    let g = gaussian_taps();
    let mut w = Vec::with_capacity(c * WINDOW * WINDOW);
    for _ in 0..c {
        for gy in g {
            w.extend(g.iter().map(|gx| gy * gx));
        }
    }
    let window = Tensor::<4>::from_data(TensorData::new(w, [c, 1, WINDOW, WINDOW]), &x.device());
    conv2d(x, window, None, ConvOptions::new([1, 1], [0, 0], [1, 1], c))
}

/// (1 − SSIM) / 2 averaged over the batch, for images `[b, c, h, w]` in [0, 1] with sides of at least 11.
pub fn dssim(a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
    // The five local statistics blurred in one call: one pair of products instead of five.
    let stats = blur(Tensor::cat(vec![a.clone(), b.clone(), a.clone() * a.clone(), b.clone() * b.clone(), a * b], 1));
    let [mu_a, mu_b, aa, bb, ab]: [Tensor<4>; 5] = stats.chunk(5, 1).try_into().expect("five chunks of c channels");
    let mu_a2 = mu_a.clone() * mu_a.clone();
    let mu_b2 = mu_b.clone() * mu_b.clone();
    let mu_ab = mu_a * mu_b;
    let var_a = aa - mu_a2.clone();
    let var_b = bb - mu_b2.clone();
    let cov = ab - mu_ab.clone();
    let ssim = (mu_ab * 2.0 + C1) * (cov * 2.0 + C2) / ((mu_a2 + mu_b2 + C1) * (var_a + var_b + C2));
    (ssim.mean().neg() + 1.0) / 2.0
}

/// The reconstruction loss of one batch: DSSIM + 10·MSE on the face (prediction and target both multiplied by
/// the target mask, so background pixels cost nothing), plus MSE between predicted and target masks.
///
/// # Shapes
/// - `rgb`, `target`: `[b, 3, r, r]`; `mask`, `target_mask`: `[b, 1, r, r]`
pub fn reconstruction(rgb: Tensor<4>, mask: Tensor<4>, target: Tensor<4>, target_mask: Tensor<4>) -> Tensor<1> {
    let m3 = target_mask.clone().repeat_dim(1, 3);
    let pred = rgb * m3.clone();
    let want = target * m3;
    let mse = (pred.clone() - want.clone()).powf_scalar(2.0).mean();
    let mask_mse = (mask - target_mask).powf_scalar(2.0).mean();
    dssim(pred, want) + mse * MSE_WEIGHT + mask_mse * MSE_WEIGHT
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn scalar(t: Tensor<1>) -> f32 {
        t.try_into_data().unwrap().try_into_vec::<f32>().unwrap()[0]
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.try_into_data().unwrap().try_into_vec::<f32>().unwrap()
    }

    /// The separable band products and the 2-D window compute the same blur, forward and backward.
    #[test]
    fn band_blur_matches_the_window_blur_and_its_gradient() {
        let device = crate::device::cpu().autodiff();
        let x = Tensor::<4>::random([2, 3, 40, 24], Distribution::Uniform(0.0, 1.0), &device).require_grad();
        let weights = Tensor::<4>::random([2, 3, 30, 14], Distribution::Uniform(-1.0, 1.0), &device);
        let (band, window) = (blur(x.clone()), blur_window(x.clone()));
        assert_eq!(band.dims(), [2, 3, 30, 14]);
        let (gb, gw) = ((band.clone() * weights.clone()).sum().backward(), (window.clone() * weights).sum().backward());
        // Float32 sums of 121 products taken in different orders: agreement to ~1e-7 of values near 0.5.
        for (a, b) in values(band.detach()).iter().zip(values(window.detach())) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
        for (a, b) in values(x.grad(&gb).unwrap()).iter().zip(values(x.grad(&gw).unwrap())) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }

    #[test]
    fn dssim_is_zero_for_equal_images_and_grows_with_noise() {
        let device = crate::device::cpu();
        let a = Tensor::<4>::random([2, 3, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
        let noise = Tensor::<4>::random([2, 3, 32, 32], Distribution::Uniform(-0.2, 0.2), &device);
        // Float32 window sums: equal images give 0 to within 1e-6.
        assert!(scalar(dssim(a.clone(), a.clone())).abs() < 1e-6);
        let small = scalar(dssim(a.clone(), (a.clone() + noise.clone() * 0.25).clamp(0.0, 1.0)));
        let big = scalar(dssim(a.clone(), (a + noise).clamp(0.0, 1.0)));
        assert!(0.0 < small && small < big && big < 1.0, "{small} {big}");
    }
}
