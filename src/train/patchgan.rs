//! An optional PatchGAN discriminator (Isola et al. 2017), the adversarial term DeepFaceLab offers as "GAN
//! power": it scores overlapping patches of a face as real or reconstructed, and the generator (the swap
//! network) is pushed to make its patches indistinguishable, which sharpens texture the DSSIM + MSE losses
//! leave blurry. Training only: it is not part of the model file.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LeakyRelu, LeakyReluConfig, PaddingConfig2d};
use burn::prelude::*;

#[derive(Config, Debug)]
pub struct PatchDiscriminatorConfig {
    /// Channels of the first level; each of the three levels doubles them.
    #[config(default = 32)]
    pub channels: usize,
}

#[derive(Module, Debug)]
pub struct PatchDiscriminator {
    convs: Vec<Conv2d>,
    head: Conv2d,
    act: LeakyRelu,
}

impl PatchDiscriminatorConfig {
    pub fn init(&self, device: &Device) -> PatchDiscriminator {
        let mut convs = Vec::new();
        let mut c_in = 3;
        for level in 0..3 {
            let c_out = self.channels << level;
            convs.push(Conv2dConfig::new([c_in, c_out], [4, 4]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device));
            c_in = c_out;
        }
        let head = Conv2dConfig::new([c_in, 1], [3, 3]).with_padding(PaddingConfig2d::Same).init(device);
        PatchDiscriminator { convs, head, act: LeakyReluConfig::new().with_negative_slope(0.2).init() }
    }
}

impl PatchDiscriminator {
    /// One logit per patch (each sees a 46 px square of the input), real > 0.
    ///
    /// # Shapes
    /// `[b, 3, r, r]` → `[b, 1, r/8, r/8]`
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        for conv in &self.convs {
            x = self.act.forward(conv.forward(x));
        }
        self.head.forward(x)
    }
}

/// Binary cross-entropy of patch logits against "real" (`true`) or "reconstructed", averaged:
/// softplus(−x) = −log σ(x) and softplus(x) = −log(1 − σ(x)), written as max(x, 0) + log(1 + e^−|x|), which
/// stays finite for any logit.
pub fn bce_logits(logits: Tensor<4>, real: bool) -> Tensor<1> {
    let x = if real { logits.neg() } else { logits };
    (x.clone().clamp_min(0.0) + (x.abs().neg().exp() + 1.0).log()).mean()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_logit_per_patch_and_bce_is_log2_at_zero() {
        let device = crate::device::cpu();
        let d = PatchDiscriminatorConfig::new().with_channels(4).init(&device);
        assert_eq!(d.forward(Tensor::<4>::zeros([2, 3, 64, 64], &device)).dims(), [2, 1, 8, 8]);
        let zero = Tensor::<4>::zeros([1, 1, 2, 2], &device);
        let v = bce_logits(zero, true).try_into_data().unwrap().try_into_vec::<f32>().unwrap()[0];
        // softplus(0) = ln 2 exactly in real numbers; float evaluation is within 1e-6.
        assert!((v - std::f32::consts::LN_2).abs() < 1e-6, "{v}");
    }

    #[test]
    fn adam_steps_teach_it_real_from_fake() {
        use burn::optim::{AdamConfig, GradientsParams};
        let device = crate::device::cpu().autodiff();
        let mut d = PatchDiscriminatorConfig::new().with_channels(8).init(&device);
        let mut optim = AdamConfig::new().init();
        let real = Tensor::<4>::ones([2, 3, 32, 32], &device) * 0.8;
        let fake = Tensor::<4>::ones([2, 3, 32, 32], &device) * 0.2;
        let loss = |d: &PatchDiscriminator| bce_logits(d.forward(real.clone()), true) + bce_logits(d.forward(fake.clone()), false);
        let first = loss(&d).try_into_data().unwrap().try_into_vec::<f32>().unwrap()[0];
        // Random initialisation (unseeded: other tests share the device's generator) changes the path, not the
        // outcome: 60 steps on two constant images separate them from any start.
        for _ in 0..60 {
            let grads = GradientsParams::from_grads(loss(&d).backward(), &d);
            d = optim.step(1e-2, d, grads);
        }
        let last = loss(&d).try_into_data().unwrap().try_into_vec::<f32>().unwrap()[0];
        eprintln!("discriminator on constant images: {first} -> {last}");
        assert!(last < 0.1, "{first} -> {last}");
    }
}
