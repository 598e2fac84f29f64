//! MediaPipe BlazeFace (short range) as a Burn module. Architecture and weight names: models/blazeface_short_range.md.

use super::blaze_block::{stem_and_blocks_fused, BlazeBlock, BlazeBlockConfig};
use super::conv::{conv_then, After};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;

/// Input side in pixels.
pub const INPUT_SIZE: usize = 128;
/// Number of anchors (16×16×2 + 8×8×6).
pub const ANCHORS: usize = 896;

/// (input channels, output channels, stride) of the 16 blocks.
const BLOCKS: [(usize, usize, usize); 16] = [
    (24, 24, 1), (24, 28, 1), (28, 32, 2), (32, 36, 1), (36, 42, 1), (42, 48, 2), (48, 56, 1), (56, 64, 1),
    (64, 72, 1), (72, 80, 1), (80, 88, 1), (88, 96, 2), (96, 96, 1), (96, 96, 1), (96, 96, 1), (96, 96, 1),
];
/// The 16×16 heads read the output of this block.
const TAP_16X16: usize = 10;

/// BlazeFace has no free hyper-parameters: the config only exists to build the module.
#[derive(Config, Debug)]
pub struct BlazeFaceConfig {}

#[derive(Module, Debug)]
pub struct BlazeFace {
    stem: Conv2d,
    blocks: Vec<BlazeBlock>,
    head_cls_8: Conv2d,
    head_cls_16: Conv2d,
    head_reg_8: Conv2d,
    head_reg_16: Conv2d,
}

impl BlazeFaceConfig {
    pub fn init(&self, device: &Device) -> BlazeFace {
        let head = |c_in, c_out| Conv2dConfig::new([c_in, c_out], [1, 1]).init(device);
        BlazeFace {
            // 5×5 stride 2 with TF SAME on 128: pad 1 top/left, 2 bottom/right.
            stem: Conv2dConfig::new([3, 24], [5, 5]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 2, 2)).init(device),
            blocks: BLOCKS
                .iter()
                .map(|&(i, o, s)| BlazeBlockConfig::new(i, o).with_stride(s).init(device))
                .collect(),
            head_cls_8: head(88, 2),
            head_cls_16: head(96, 6),
            head_reg_8: head(88, 32),
            head_reg_16: head(96, 96),
        }
    }
}

/// Raw network outputs.
pub struct BlazeFaceOutput {
    /// `[b, 896, 16]`: box (dx, dy, w, h) and 6 keypoints (x, y), input pixels relative to the anchor.
    pub regressors: Tensor<3>,
    /// `[b, 896]`: face logits.
    pub logits: Tensor<2>,
}

/// NCHW head output → per-anchor rows in MediaPipe order (row-major cells, anchors of a cell contiguous).
fn per_anchor(x: Tensor<4>, values: usize) -> Tensor<3> {
    let [b, _, _, _] = x.dims();
    x.permute([0, 2, 3, 1]).reshape([b as i32, -1, values as i32])
}

impl BlazeFace {
    /// # Shapes
    /// - input: `[b, 3, 128, 128]`, RGB in [-1, 1]
    pub fn forward(&self, x: Tensor<4>) -> BlazeFaceOutput {
        let (fine, x) = match self.backbone_fused(&x) {
            Some(outputs) => outputs,
            None => self.backbone(x),
        };
        let cls = Tensor::cat(vec![per_anchor(conv_then(&self.head_cls_8, After::Nothing, fine.clone()), 1), per_anchor(conv_then(&self.head_cls_16, After::Nothing, x.clone()), 1)], 1);
        let reg = Tensor::cat(vec![per_anchor(conv_then(&self.head_reg_8, After::Nothing, fine), 16), per_anchor(conv_then(&self.head_reg_16, After::Nothing, x), 16)], 1);
        let [b, n, _] = cls.dims();
        BlazeFaceOutput { regressors: reg, logits: cls.reshape([b, n]) }
    }

    /// The stem and the blocks, layer by layer: the outputs of block `TAP_16X16` (16×16) and of the last
    /// block (8×8).
    fn backbone(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let mut x = conv_then(&self.stem, After::Relu, x);
        let mut tap = None;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(x);
            if i == TAP_16X16 {
                tap = Some(x.clone());
            }
        }
        (tap.unwrap_or_else(|| x.clone()), x) // always Some: TAP_16X16 < BLOCKS.len()
    }

    /// [`Self::backbone`] as one stack of fused kernels; `None` where the kernels do not run.
    fn backbone_fused(&self, x: &Tensor<4>) -> Option<(Tensor<4>, Tensor<4>)> {
        let taps = [TAP_16X16, self.blocks.len() - 1];
        let [fine, last]: [Tensor<4>; 2] = stem_and_blocks_fused(x, &self.stem, After::Relu, &self.blocks, &taps)?.try_into().ok()?;
        Some((fine, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_same_bits;
    use burn::tensor::Distribution;

    /// The stack gives the same bits as the blocks run one by one (each through its own fused kernel), at a
    /// batch large enough for the stack to go tile by tile.
    #[test]
    fn fused_backbone_matches_layer_by_layer() {
        let device = crate::device::cpu();
        let net = BlazeFaceConfig::new().init(&device);
        let x = Tensor::<4>::random([2 * rayon::current_num_threads() + 1, 3, INPUT_SIZE, INPUT_SIZE], Distribution::Uniform(-1.0, 1.0), &device);
        let (fine, last) = net.backbone_fused(&x).expect("flex tensors take the fused kernels");
        let (want_fine, want_last) = net.backbone(x);
        assert_same_bits(fine, want_fine, "16x16 tap");
        assert_same_bits(last, want_last, "8x8 output");
    }
}
