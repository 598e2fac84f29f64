//! The residual block shared by BlazeFace and FaceMesh: 3×3 depthwise conv → 1×1 conv → add the (pooled,
//! zero-padded) input → activation.

use super::conv::{After, FusedConv};
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

/// 2×2 max pooling with stride 2. On even sizes (every stride-2 block of BlazeFace and FaceMesh) it reduces
/// the two 2-wide axes of a reshaped view, which gives the same values as `max_pool2d` (max is exact) in about
/// 60% of its time on flex: its pooling kernel took ~30% of BlazeFace's forward pass (per-layer timings
/// in BENCHMARKS.md, 2026-12-05). Odd sizes keep `max_pool2d`.
pub fn max_pool_2x2(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    if h % 2 == 1 || w % 2 == 1 {
        return max_pool2d(x, MaxPoolOptions::new([2, 2]));
    }
    x.reshape([b, c, h / 2, 2, w / 2, 2]).max_dim(5).max_dim(3).reshape([b, c, h / 2, w / 2])
}

/// `stem` (then `after`) and `blocks` as one stack of fused kernels (`device::fused::stack`: image by image
/// when the batch allows, each image's tensors kept in its core's cache): the outputs of the blocks at `taps`
/// (indices into `blocks`, increasing); `None` where the kernels do not run.
pub fn stem_and_blocks_fused(x: &Tensor<4>, stem: &Conv2d, after: After<'_>, blocks: &[BlazeBlock], taps: &[usize]) -> Option<Vec<Tensor<4>>> {
    use crate::device::fused::{stack, StackLayer};
    let stem = FusedConv::of(stem, &after)?;
    let blocks = blocks.iter().map(|b| b.fused()).collect::<Option<Vec<_>>>()?;
    let layers: Vec<_> = std::iter::once(StackLayer::Conv(stem.tensors())).chain(blocks.iter().map(|b| StackLayer::Block(b.tensors()))).collect();
    // Layer 0 is the stem, so block i is layer i + 1.
    let taps: Vec<usize> = taps.iter().map(|t| t + 1).collect();
    stack(x, &layers, &taps)
}

/// A block's tensors held for `device::fused::BlazeTensors`, which borrows them.
pub struct FusedBlock {
    stride: usize,
    depthwise: Tensor<4>,
    depthwise_bias: Tensor<1>,
    pointwise: Tensor<4>,
    pointwise_bias: Tensor<1>,
    alpha: Option<Tensor<1>>,
}

impl FusedBlock {
    pub fn tensors(&self) -> crate::device::fused::BlazeTensors<'_> {
        crate::device::fused::BlazeTensors {
            stride: self.stride,
            depthwise: &self.depthwise,
            depthwise_bias: &self.depthwise_bias,
            pointwise: &self.pointwise,
            pointwise_bias: &self.pointwise_bias,
            prelu: self.alpha.as_ref(),
        }
    }
}

impl BlazeBlock {
    /// # Shapes
    /// - input: `[b, c_in, h, w]`
    /// - output: `[b, c_out, h / stride, w / stride]`
    ///
    /// On the CPU this runs as one fused kernel (`device::fused`, several times faster than the composed
    /// operations at BlazeFace's sizes: BENCHMARKS.md); elsewhere, or when that declines, as
    /// [`forward_composed`](Self::forward_composed).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self.forward_fused(&x) {
            Some(y) => y,
            None => self.forward_composed(x),
        }
    }

    /// The fused CPU kernel, or `None` when it does not apply (not a `flex` tensor, kernels switched off).
    pub fn forward_fused(&self, x: &Tensor<4>) -> Option<Tensor<4>> {
        crate::device::fused::blaze_block(x, &self.fused()?.tensors())
    }

    /// The block's tensors as the fused kernels take them; `None` without biases.
    pub fn fused(&self) -> Option<FusedBlock> {
        Some(FusedBlock {
            stride: self.stride,
            depthwise: self.dw.weight.val(),
            depthwise_bias: self.dw.bias.as_ref()?.val(),
            pointwise: self.pw.weight.val(),
            pointwise_bias: self.pw.bias.as_ref()?.val(),
            alpha: self.prelu.as_ref().map(|p| p.alpha.val()),
        })
    }

    /// The block as Burn operations, on any backend (and the reference the fused kernel is tested against).
    pub fn forward_composed(&self, x: Tensor<4>) -> Tensor<4> {
        let branch = self.pw.forward(self.dw.forward(x.clone()));
        let mut skip = if self.stride == 2 { max_pool_2x2(x) } else { x };
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// The fused CPU kernel against Burn's composed operations, on blocks shaped like BlazeFace's and
    /// FaceMesh's (with random weights: the real ones are covered by the networks' parity tests).
    #[test]
    fn fused_kernel_matches_composed_operations() {
        let device = crate::device::cpu();
        for (c_in, c_out, stride, prelu, size) in [(24, 28, 1, false, 32), (28, 32, 2, false, 32), (16, 32, 2, true, 24), (32, 32, 1, true, 12)] {
            let block = BlazeBlockConfig::new(c_in, c_out).with_stride(stride).with_prelu(prelu).init(&device);
            let block = match block.prelu {
                // PReLU's slopes start equal; make them differ so that a channel mix-up shows.
                Some(ref p) => {
                    let alpha = Tensor::<1>::random([c_out], Distribution::Uniform(-0.5, 0.5), &device);
                    let prelu = PRelu { alpha: burn::module::Param::from_tensor(alpha), ..p.clone() };
                    BlazeBlock { prelu: Some(prelu), ..block }
                }
                None => block,
            };
            let x = Tensor::<4>::random([3, c_in, size, size], Distribution::Uniform(-1.0, 1.0), &device);
            let fused = block.forward_fused(&x).expect("a flex tensor takes the fused kernel");
            let composed = block.forward_composed(x);
            assert_eq!(fused.dims(), composed.dims());
            let fused: Vec<f32> = fused.try_into_data().unwrap().try_into_vec().unwrap();
            let composed: Vec<f32> = composed.try_into_data().unwrap().try_into_vec().unwrap();
            // Same products summed in another order: differences are rounding (c_in + 10 terms of order 1).
            let worst = fused.iter().zip(&composed).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "{c_in}->{c_out} stride {stride}: max difference {worst}");
            assert!(composed.iter().any(|&v| v != 0.0));
        }
    }

    #[test]
    fn reshaped_pooling_equals_max_pool2d() {
        let device = crate::device::cpu();
        for shape in [[2, 3, 8, 6], [1, 4, 16, 16], [1, 2, 5, 7]] {
            let x = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
            let want: Vec<f32> = max_pool2d(x.clone(), MaxPoolOptions::new([2, 2])).try_into_data().unwrap().try_into_vec().unwrap();
            let got: Vec<f32> = max_pool_2x2(x).try_into_data().unwrap().try_into_vec().unwrap();
            assert_eq!(got, want, "{shape:?}");
        }
    }
}
