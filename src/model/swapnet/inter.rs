//! The inter block: the encoder's grid → a bottleneck vector → back to a small grid, upscaled once.

use super::decoder::{Upscale, UpscaleConfig};
use crate::model::conv::linear;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

#[derive(Config, Debug)]
pub struct InterConfig {
    /// Flattened encoder output size.
    pub input: usize,
    /// Bottleneck width.
    pub bottleneck: usize,
    /// Side of the grid rebuilt from the bottleneck (res/16).
    pub side: usize,
    /// Channels of that grid.
    pub channels: usize,
}

#[derive(Module, Debug)]
pub struct Inter {
    dense_in: Linear,
    dense_out: Linear,
    up: Upscale,
    side: usize,
    channels: usize,
}

impl InterConfig {
    /// Channels after the upscale.
    pub fn output_channels(&self) -> usize {
        self.channels
    }

    pub fn init(&self, device: &Device) -> Inter {
        Inter {
            dense_in: LinearConfig::new(self.input, self.bottleneck).init(device),
            dense_out: LinearConfig::new(self.bottleneck, self.side * self.side * self.channels).init(device),
            up: UpscaleConfig::new(self.channels, self.channels).init(device),
            side: self.side,
            channels: self.channels,
        }
    }
}

impl Inter {
    /// # Shapes
    /// - input: `[b, c, res/16, res/16]`
    /// - output: `[b, channels, res/8, res/8]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, _, _, _] = x.dims();
        let v = linear(&self.dense_out, linear(&self.dense_in, x.flatten::<2>(1, 3)));
        self.up.forward(v.reshape([b, self.channels, self.side, self.side]))
    }
}
