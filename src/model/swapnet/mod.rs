//! The swap network: one shared encoder, then per-identity parts, each decoding RGB and a face mask.
//!
//! Two architectures, picked in [`SwapNetConfig::arch`]:
//! - `Df` (DeepFaceLab's "DF", generalised to Disney's multi-identity "comb" network): shared encoder and
//!   inter block, one decoder per identity. Swapping = encode any face, decode with the target identity's
//!   decoder. Strong likeness; the decoder also re-imposes that identity's typical lighting.
//! - `Liae` (DeepFaceLab's "LIAE"): shared encoder and decoder, one inter block per identity. The shared
//!   decoder carries lighting over from the input face better, at some cost in likeness.
//!
//! Block by block: [`encoder`], [`inter`], [`decoder`].

pub mod decoder;
pub mod encoder;
pub mod inter;

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use decoder::{Decoder, DecoderConfig};
use encoder::{Encoder, EncoderConfig};
use inter::{Inter, InterConfig};
use serde::{Deserialize, Serialize};

/// Which parts are per identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arch {
    Df,
    Liae,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::Df, Arch::Liae];

    /// The name the CLI's `--arch` takes and messages print.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Df => "df",
            Arch::Liae => "liae",
        }
    }
}

/// Largest crop side [`SwapNetConfig::validate`] accepts.
pub const MAX_RESOLUTION: usize = 2048;
/// Most identities one network may have (as many as a model file may name).
pub const MAX_IDENTITIES: usize = crate::model::file::MAX_IDENTITIES;
/// Largest first-level channel count (encoder or decoder).
pub const MAX_CHANNELS: usize = 1024;
/// Widest bottleneck.
pub const MAX_BOTTLENECK: usize = 8192;

/// Network shape. Saved in the model file: a model is rebuilt exactly from it.
#[derive(Config, Debug, PartialEq)]
pub struct SwapNetConfig {
    /// Crop side in pixels: a multiple of 16 (64, 128, 256...).
    pub resolution: usize,
    /// Number of identities (decoders for `Df`, inter blocks for `Liae`). At least 2.
    pub identities: usize,
    #[config(default = "Arch::Df")]
    pub arch: Arch,
    /// Channels of the encoder's first level (doubling at each of its 4 levels).
    #[config(default = 32)]
    pub encoder_channels: usize,
    /// Width of the bottleneck vector.
    #[config(default = 256)]
    pub bottleneck: usize,
    /// Channels of the decoder's last level (doubling towards the bottleneck).
    #[config(default = 32)]
    pub decoder_channels: usize,
}

impl SwapNetConfig {
    /// Checks the shape rules before building anything.
    pub fn validate(&self) -> Result<(), String> {
        if self.resolution < 32 || self.resolution % 16 != 0 {
            return Err(format!("resolution {} must be a multiple of 16, at least 32", self.resolution));
        }
        if self.identities < 2 {
            return Err("a swap model needs at least 2 identities".into());
        }
        if self.encoder_channels == 0 || self.bottleneck == 0 || self.decoder_channels == 0 {
            return Err("channel counts must be positive".into());
        }
        // Upper bounds far above any trainable model, low enough that no weight-count product overflows
        // (a config comes from a file, and a damaged one must fail here, not in a shape computation).
        let limits = [
            ("resolution", self.resolution, MAX_RESOLUTION),
            ("identities", self.identities, MAX_IDENTITIES),
            ("encoder_channels", self.encoder_channels, MAX_CHANNELS),
            ("decoder_channels", self.decoder_channels, MAX_CHANNELS),
            ("bottleneck", self.bottleneck, MAX_BOTTLENECK),
        ];
        match limits.iter().find(|(_, v, max)| v > max) {
            Some((name, v, max)) => Err(format!("{name} {v} is more than {max}")),
            None => Ok(()),
        }
    }

    /// Channels of the `Df` latent (the shared inter block's output, what each decoder reads).
    /// The shape in words, as the CLI's options name it (`--arch`, `--resolution`, widths): for messages.
    pub fn summary(&self) -> String {
        format!(
            "{} identities, {} px, {}, encoder {}, decoder {}, bottleneck {}",
            self.identities,
            self.resolution,
            self.arch.name(),
            self.encoder_channels,
            self.decoder_channels,
            self.bottleneck
        )
    }

    pub fn latent_channels(&self) -> usize {
        self.decoder_channels * 8
    }

    pub fn init(&self, device: &Device) -> SwapNet {
        let encoder = EncoderConfig::new(self.encoder_channels).init(device);
        let lowest = self.resolution / 16;
        let enc_out = encoder.output_channels() * lowest * lowest;
        // The inter block hands the decoder a lowest×lowest grid at twice the lowest resolution after one
        // upscale; for LIAE two inter outputs are concatenated.
        let inter_cfg = InterConfig::new(enc_out, self.bottleneck, lowest, self.latent_channels());
        let inter_out = inter_cfg.output_channels();
        let (inters, decoders) = match self.arch {
            Arch::Df => (
                vec![inter_cfg.init(device)],
                (0..self.identities).map(|_| DecoderConfig::new(inter_out, self.decoder_channels).init(device)).collect(),
            ),
            Arch::Liae => (
                (0..self.identities).map(|_| inter_cfg.init(device)).collect(),
                vec![DecoderConfig::new(inter_out * 2, self.decoder_channels).init(device)],
            ),
        };
        SwapNet { encoder, inters, decoders, arch: self.arch as u8 as usize }
    }
}

/// The network. Weight names: `encoder.*`, `inters.{i}.*`, `decoders.{i}.*`.
#[derive(Module, Debug)]
pub struct SwapNet {
    encoder: Encoder,
    inters: Vec<Inter>,
    decoders: Vec<Decoder>,
    /// 0 = Df, 1 = Liae (a plain number: module constants must be primitive).
    arch: usize,
}

/// What a decoder produces for a batch of crops.
pub struct SwapOutput {
    /// `[b, 3, res, res]`, RGB in [0, 1].
    pub rgb: Tensor<4>,
    /// `[b, 1, res, res]`, face mask in [0, 1].
    pub mask: Tensor<4>,
}

impl SwapNet {
    /// Number of identities the model decodes to.
    pub fn identities(&self) -> usize {
        self.decoders.len().max(self.inters.len())
    }

    /// Encodes aligned crops and decodes them as `identity`.
    ///
    /// # Shapes
    /// - input: `[b, 3, res, res]`, RGB in [0, 1]
    pub fn forward(&self, x: Tensor<4>, identity: usize) -> SwapOutput {
        self.forward_with_latent(x, identity).0
    }

    /// [`SwapNet::forward`], also returning the latent the decoder read: for `Df` the shared inter block's
    /// output, the same whichever identity decodes it (training's code discriminator looks at it).
    ///
    /// # Shapes
    /// - latent: `[b, latent_channels, res/8, res/8]` (`Df`, [`SwapNetConfig::latent_channels`]); twice
    ///   the channels for `Liae`
    pub fn forward_with_latent(&self, x: Tensor<4>, identity: usize) -> (SwapOutput, Tensor<4>) {
        let identity = identity.min(self.identities() - 1);
        let code = self.encoder.forward(x);
        let (latent, decoder) = if self.arch == 0 {
            (self.inters[0].forward(code), &self.decoders[identity])
        } else {
            // LIAE: the identity's inter block next to the shared one of identity 0 (the "AB" part in DFL),
            // so the shared decoder sees both what is common and what is this identity's.
            let own = self.inters[identity].forward(code.clone());
            let common = self.inters[0].forward(code);
            (Tensor::cat(vec![own, common], 1), &self.decoders[0])
        };
        let (rgb, mask) = decoder.forward(latent.clone());
        (SwapOutput { rgb: sigmoid(rgb), mask: sigmoid(mask) }, latent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_for_each_resolution_and_arch() {
        let device = crate::device::cpu();
        for (res, arch) in [(64, Arch::Df), (64, Arch::Liae), (128, Arch::Df)] {
            let cfg = SwapNetConfig::new(res, 3).with_arch(arch).with_encoder_channels(8).with_decoder_channels(8).with_bottleneck(32);
            cfg.validate().unwrap();
            let net = cfg.init(&device);
            assert_eq!(net.identities(), 3);
            let out = net.forward(Tensor::<4>::zeros([2, 3, res, res], &device), 2);
            assert_eq!(out.rgb.dims(), [2, 3, res, res], "{arch:?} {res}");
            assert_eq!(out.mask.dims(), [2, 1, res, res]);
        }
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(SwapNetConfig::new(100, 2).validate().is_err());
        assert!(SwapNetConfig::new(64, 1).validate().is_err());
        assert!(SwapNetConfig::new(64, 2).with_bottleneck(0).validate().is_err());
    }

    /// A config read from a damaged file: every size has an upper bound, and the largest accepted network's
    /// weight count still fits in a usize.
    #[test]
    fn oversized_configs_are_refused() {
        let largest = SwapNetConfig::new(MAX_RESOLUTION, MAX_IDENTITIES)
            .with_encoder_channels(MAX_CHANNELS)
            .with_decoder_channels(MAX_CHANNELS)
            .with_bottleneck(MAX_BOTTLENECK);
        assert_eq!(largest.validate(), Ok(()));
        assert!(largest.clone().with_bottleneck(MAX_BOTTLENECK + 1).validate().is_err());
        assert!(largest.clone().with_encoder_channels(MAX_CHANNELS + 1).validate().is_err());
        assert!(largest.clone().with_decoder_channels(usize::MAX).validate().is_err());
        assert!(SwapNetConfig::new(MAX_RESOLUTION + 16, 2).validate().is_err());
        assert!(SwapNetConfig::new(64, MAX_IDENTITIES + 1).validate().is_err());
        // Built lazily, the largest network is only counted, never allocated.
        let n = largest.init(&crate::device::cpu()).num_params();
        assert!(n > 1 << 40, "{n}");
    }
}
