//! A decoder: three upscale levels with residual blocks (res/8 → res), then an RGB head and a mask head.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LeakyRelu, LeakyReluConfig, PaddingConfig2d};
use burn::prelude::*;
use crate::model::conv::{conv_then, After};

fn conv3(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [3, 3]).with_padding(PaddingConfig2d::Same).init(device)
}

/// ×2 upscale: a 3×3 conv to 4× the channels, then depth-to-space (DeepFaceLab's pixel shuffle).
#[derive(Config, Debug)]
pub struct UpscaleConfig {
    pub channels_in: usize,
    pub channels_out: usize,
}

#[derive(Module, Debug)]
pub struct Upscale {
    conv: Conv2d,
    act: LeakyRelu,
}

impl UpscaleConfig {
    pub fn init(&self, device: &Device) -> Upscale {
        Upscale { conv: conv3(self.channels_in, self.channels_out * 4, device), act: LeakyReluConfig::new().with_negative_slope(0.1).init() }
    }
}

/// `[b, 4c, h, w]` → `[b, c, 2h, 2w]`.
pub fn depth_to_space(x: Tensor<4>) -> Tensor<4> {
    let [b, c4, h, w] = x.dims();
    let c = c4 / 4;
    x.reshape([b, c, 2, 2, h, w]).permute([0, 1, 4, 2, 5, 3]).reshape([b, c, h * 2, w * 2])
}

impl Upscale {
    /// # Shapes
    /// `[b, c_in, h, w]` → `[b, c_out, 2h, 2w]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        depth_to_space(conv_then(&self.conv, After::Leaky(&self.act), x))
    }
}

/// Two 3×3 convs with a skip, leaky ReLU after the add.
#[derive(Module, Debug)]
pub struct Residual {
    a: Conv2d,
    b: Conv2d,
    act: LeakyRelu,
}

impl Residual {
    fn new(c: usize, device: &Device) -> Residual {
        Residual { a: conv3(c, c, device), b: conv3(c, c, device), act: LeakyReluConfig::new().with_negative_slope(0.2).init() }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = conv_then(&self.b, After::Nothing, conv_then(&self.a, After::Leaky(&self.act), x.clone()));
        self.act.forward(x + y)
    }
}

#[derive(Config, Debug)]
pub struct DecoderConfig {
    /// Channels coming from the inter block(s).
    pub channels_in: usize,
    /// Channels of the last level; the levels above have 4× and 2× as many.
    pub channels: usize,
}

#[derive(Module, Debug)]
pub struct Decoder {
    ups: Vec<Upscale>,
    res: Vec<Residual>,
    mask_ups: Vec<Upscale>,
    rgb_head: Conv2d,
    mask_head: Conv2d,
}

impl DecoderConfig {
    pub fn init(&self, device: &Device) -> Decoder {
        let widths = [self.channels * 4, self.channels * 2, self.channels];
        let mut ups = Vec::new();
        let mut res = Vec::new();
        let mut mask_ups = Vec::new();
        let (mut c, mut cm) = (self.channels_in, self.channels_in);
        for &w in &widths {
            ups.push(UpscaleConfig::new(c, w).init(device));
            res.push(Residual::new(w, device));
            // The mask branch is lighter: it only needs the face's outline.
            mask_ups.push(UpscaleConfig::new(cm, w / 2).init(device));
            c = w;
            cm = w / 2;
        }
        Decoder { ups, res, mask_ups, rgb_head: conv3(c, 3, device), mask_head: conv3(cm, 1, device) }
    }
}

impl Decoder {
    /// Returns (RGB logits `[b, 3, res, res]`, mask logits `[b, 1, res, res]`) from `[b, c, res/8, res/8]`.
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let mut y = x.clone();
        for (up, r) in self.ups.iter().zip(&self.res) {
            y = r.forward(up.forward(y));
        }
        let mut m = x;
        for up in &self.mask_ups {
            m = up.forward(m);
        }
        (conv_then(&self.rgb_head, After::Nothing, y), conv_then(&self.mask_head, After::Nothing, m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn depth_to_space_places_channels_in_2x2_blocks() {
        let device = crate::device::cpu();
        // One output channel: input channels 0..4 hold the pixels (0,0), (0,1), (1,0), (1,1) of each block.
        let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 4, 1, 1]), &device);
        let y: Vec<f32> = depth_to_space(x).try_into_data().unwrap().try_into_vec().unwrap();
        assert_eq!(y, [1.0, 2.0, 3.0, 4.0]);
    }
}
