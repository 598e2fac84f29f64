//! The shared encoder: four 5×5 stride-2 convolutions with leaky ReLU, res → res/16.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LeakyRelu, LeakyReluConfig, PaddingConfig2d};
use burn::prelude::*;
use crate::model::conv::{conv_then, After};

#[derive(Config, Debug)]
pub struct EncoderConfig {
    /// Channels of the first level; each level doubles them.
    pub channels: usize,
}

#[derive(Module, Debug)]
pub struct Encoder {
    convs: Vec<Conv2d>,
    act: LeakyRelu,
    out_channels: usize,
}

impl EncoderConfig {
    pub fn init(&self, device: &Device) -> Encoder {
        let mut convs = Vec::new();
        let mut c_in = 3;
        for level in 0..4 {
            let c_out = self.channels << level;
            // Stride 2 with TF-style SAME padding (extra pixel bottom/right), as DeepFaceLab's encoder.
            convs.push(Conv2dConfig::new([c_in, c_out], [5, 5]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 2, 2)).init(device));
            c_in = c_out;
        }
        Encoder { convs, act: LeakyReluConfig::new().with_negative_slope(0.1).init(), out_channels: c_in }
    }
}

impl Encoder {
    pub fn output_channels(&self) -> usize {
        self.out_channels
    }

    /// # Shapes
    /// - input: `[b, 3, res, res]`
    /// - output: `[b, 8·channels, res/16, res/16]`
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        for conv in &self.convs {
            x = conv_then(conv, After::Leaky(&self.act), x);
        }
        x
    }
}
