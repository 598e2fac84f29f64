//! The residual block shared by BlazeFace and FaceMesh: 3×3 depthwise conv → 1×1 conv → add the (pooled,
//! zero-padded) input → activation.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{PRelu, PReluConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;

/// Configuration of one block.
#[derive(Config, Debug)]
pub struct BlazeBlockConfig {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels (≥ input; the skip path gets zero channels appended).
    pub channels_out: usize,
    /// 1 or 2. Stride 2 halves the size and max-pools the skip path.
    #[config(default = 1)]
    pub stride: usize,
    /// PReLU (FaceMesh) instead of ReLU (BlazeFace) after the add.
    #[config(default = false)]
    pub prelu: bool,
}

/// One BlazeBlock. Weight names: `dw.weight/bias`, `pw.weight/bias`, `prelu.alpha` (FaceMesh only).
#[derive(Module, Debug)]
pub struct BlazeBlock {
    dw: Conv2d,
    pw: Conv2d,
    prelu: Option<PRelu>,
    stride: usize,
    extra_channels: usize,
}

impl BlazeBlockConfig {
    pub fn init(&self, device: &Device) -> BlazeBlock {
        // TensorFlow 'SAME' padding: stride 2 pads only bottom/right (Explicit is top, left, bottom, right);
        // symmetric k/2 padding gives the same shapes but wrong numbers (see models/*.md).
        let padding = if self.stride == 2 {
            PaddingConfig2d::Explicit(0, 0, 1, 1)
        } else {
            PaddingConfig2d::Explicit(1, 1, 1, 1)
        };
        BlazeBlock {
            dw: Conv2dConfig::new([self.channels_in, self.channels_in], [3, 3])
                .with_stride([self.stride, self.stride])
                .with_groups(self.channels_in)
                .with_padding(padding)
                .init(device),
            pw: Conv2dConfig::new([self.channels_in, self.channels_out], [1, 1]).init(device),
            prelu: self.prelu.then(|| PReluConfig::new().with_num_parameters(self.channels_out).init(device)),
            stride: self.stride,
            extra_channels: self.channels_out - self.channels_in,
        }
    }
}

impl BlazeBlock {
    /// # Shapes
    /// - input: `[b, c_in, h, w]`
    /// - output: `[b, c_out, h / stride, w / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let branch = self.pw.forward(self.dw.forward(x.clone()));
        let mut skip = if self.stride == 2 { max_pool2d(x, MaxPoolOptions::new([2, 2])) } else { x };
        if self.extra_channels > 0 {
            let [b, _, h, w] = skip.dims();
            let zeros = Tensor::<4>::zeros([b, self.extra_channels, h, w], &skip.device());
            skip = Tensor::cat(vec![skip, zeros], 1);
        }
        let sum = branch + skip;
        match &self.prelu {
            Some(p) => p.forward(sum),
            None => relu(sum),
        }
    }
}
