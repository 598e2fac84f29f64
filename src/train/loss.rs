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

fn gaussian_window(channels: usize, device: &Device) -> Tensor<4> {
    let c = (WINDOW / 2) as f32;
    let g: Vec<f32> = (0..WINDOW).map(|i| (-((i as f32 - c).powi(2)) / (2.0 * SIGMA * SIGMA)).exp()).collect();
    let sum: f32 = g.iter().sum();
    let mut w = Vec::with_capacity(channels * WINDOW * WINDOW);
    for _ in 0..channels {
        for y in 0..WINDOW {
            for x in 0..WINDOW {
                w.push(g[y] * g[x] / (sum * sum));
            }
        }
    }
    Tensor::<4>::from_data(TensorData::new(w, [channels, 1, WINDOW, WINDOW]), device)
}

fn blur(x: Tensor<4>, window: &Tensor<4>, channels: usize) -> Tensor<4> {
    // Valid convolution, per channel: statistics only where the whole window fits.
    conv2d(x, window.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], channels))
}

/// (1 − SSIM) / 2 averaged over the batch, for images `[b, c, h, w]` in [0, 1].
pub fn dssim(a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
    let [_, c, _, _] = a.dims();
    let w = gaussian_window(c, &a.device());
    let mu_a = blur(a.clone(), &w, c);
    let mu_b = blur(b.clone(), &w, c);
    let mu_a2 = mu_a.clone() * mu_a.clone();
    let mu_b2 = mu_b.clone() * mu_b.clone();
    let mu_ab = mu_a * mu_b;
    let var_a = blur(a.clone() * a.clone(), &w, c) - mu_a2.clone();
    let var_b = blur(b.clone() * b.clone(), &w, c) - mu_b2.clone();
    let cov = blur(a * b, &w, c) - mu_ab.clone();
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
