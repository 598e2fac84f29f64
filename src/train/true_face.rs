//! An optional code discriminator, DeepFaceLab's "true face power" generalised to N identities: a small
//! classifier reads the latent the decoders read (the shared inter block's output, `Df` only) and guesses
//! whose face it came from; the encoder is pushed to make that guess uniform ("domain confusion", Tzeng et
//! al. 2015). The aim: codes that carry no identity are codes every decoder has seen in training, so a
//! decoder fed another identity's face decodes from familiar ground instead of extrapolating. The risk, as in
//! DeepFaceLab: the code also loses what correlates with identity in the footage (pose, expression).
//! Measured on the default model (`models/ARCHITECTURES.md`, "True face and GAN on the default model"): the
//! swap onto the identity with few faces got more alike and kept the shot's pose better; the other direction
//! got worse. Training only: not part of the model file.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LeakyRelu, LeakyReluConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

#[derive(Config, Debug)]
pub struct CodeDiscriminatorConfig {
    /// Channels of the latent it reads.
    pub input_channels: usize,
    /// Identities it tells apart.
    pub identities: usize,
    /// Width of its two convolutions.
    #[config(default = 64)]
    pub channels: usize,
}

#[derive(Module, Debug)]
pub struct CodeDiscriminator {
    convs: Vec<Conv2d>,
    head: Linear,
    act: LeakyRelu,
}

impl CodeDiscriminatorConfig {
    pub fn init(&self, device: &Device) -> CodeDiscriminator {
        let conv = |c_in, stride| {
            Conv2dConfig::new([c_in, self.channels], [3, 3]).with_stride([stride, stride]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device)
        };
        CodeDiscriminator {
            convs: vec![conv(self.input_channels, 1), conv(self.channels, 2)],
            head: LinearConfig::new(self.channels, self.identities).init(device),
            act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
        }
    }
}

impl CodeDiscriminator {
    /// One logit per identity for each latent.
    ///
    /// # Shapes
    /// `[b, input_channels, h, w]` → `[b, identities]`
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<2> {
        for conv in &self.convs {
            x = self.act.forward(conv.forward(x));
        }
        let [b, c, _, _] = x.dims();
        // Averaged over the grid: the guess may rest on any part of the face.
        self.head.forward(x.mean_dim(3).mean_dim(2).reshape([b, c]))
    }
}

/// The discriminator's loss: cross-entropy of its guesses for latents that all came from `identity`.
pub fn classification_loss(logits: Tensor<2>, identity: usize) -> Tensor<1> {
    let [b, _] = logits.dims();
    log_softmax(logits, 1).narrow(1, identity, 1).reshape([b]).mean().neg()
}

/// The encoder's loss: cross-entropy of the guesses against the uniform distribution over identities, lowest
/// (ln N) when the discriminator cannot tell the identities apart.
pub fn confusion_loss(logits: Tensor<2>) -> Tensor<1> {
    let [b, n] = logits.dims();
    log_softmax(logits, 1).reshape([b * n]).mean().neg()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(t: Tensor<1>) -> f32 {
        t.try_into_data().unwrap().try_into_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn losses_at_known_points() {
        let device = crate::device::cpu();
        let even = Tensor::<2>::zeros([4, 3], &device);
        // Equal logits: every probability is 1/3, both losses are ln 3 (float evaluation within 1e-6).
        let ln3 = 3f32.ln();
        assert!((value(classification_loss(even.clone(), 1)) - ln3).abs() < 1e-6);
        assert!((value(confusion_loss(even)) - ln3).abs() < 1e-6);
        // A confident, right guess: classification near 0, confusion large.
        let sure = Tensor::<2>::from_data([[0.0f32, 20.0, 0.0]], &device);
        assert!(value(classification_loss(sure.clone(), 1)) < 1e-6);
        assert!(value(confusion_loss(sure)) > 6.0);
    }

    #[test]
    fn shapes_and_adam_steps_teach_it_whose_code() {
        use burn::optim::{AdamConfig, GradientsParams};
        let device = crate::device::cpu().autodiff();
        let mut d = CodeDiscriminatorConfig::new(16, 2).with_channels(8).init(&device);
        let a = Tensor::<4>::ones([3, 16, 8, 8], &device) * 0.5;
        let b = Tensor::<4>::ones([3, 16, 8, 8], &device).neg() * 0.5;
        assert_eq!(d.forward(a.clone()).dims(), [3, 2]);
        let loss = |d: &CodeDiscriminator| classification_loss(d.forward(a.clone()), 0) + classification_loss(d.forward(b.clone()), 1);
        let first = value(loss(&d));
        let mut optim = AdamConfig::new().init();
        for _ in 0..60 {
            let grads = GradientsParams::from_grads(loss(&d).backward(), &d);
            d = optim.step(1e-2, d, grads);
        }
        let last = value(loss(&d));
        eprintln!("code discriminator on two constant codes: {first} -> {last}");
        // Two constant codes are separable from any initialisation; 2 ln 2 ≈ 1.39 is guessing.
        assert!(last < 0.1, "{first} -> {last}");
    }
}
