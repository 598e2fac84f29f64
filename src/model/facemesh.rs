//! MediaPipe FaceMesh (468 landmarks) as a Burn module. Architecture and weight names: models/face_landmark.md.

use super::blaze_block::{stem_and_blocks_fused, BlazeBlock, BlazeBlockConfig};
use super::conv::{conv_then, After};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{PRelu, PReluConfig, PaddingConfig2d};
use burn::prelude::*;

/// Input side in pixels.
pub const INPUT_SIZE: usize = 192;
/// Landmarks per face.
pub const LANDMARKS: usize = 468;

/// (input channels, output channels, stride) of the shared backbone.
const BACKBONE: [(usize, usize, usize); 14] = [
    (16, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (32, 32, 1), (32, 64, 2), (64, 64, 1), (64, 64, 1),
    (64, 128, 2), (128, 128, 1), (128, 128, 1), (128, 128, 2), (128, 128, 1), (128, 128, 1),
];

#[derive(Config, Debug)]
pub struct FaceMeshConfig {}

/// One output branch: blocks → 1×1 reduce + PReLU → a 32-channel block → 3×3 stride-3 head.
#[derive(Module, Debug)]
pub struct Branch {
    blocks: Vec<BlazeBlock>,
    reduce: Conv2d,
    reduce_prelu: PRelu,
    refine: BlazeBlock,
    head: Conv2d,
}

#[derive(Module, Debug)]
pub struct FaceMesh {
    stem: Conv2d,
    stem_prelu: PRelu,
    blocks: Vec<BlazeBlock>,
    mesh: Branch,
    presence: Branch,
}

fn branch(device: &Device, block_count: usize, outputs: usize) -> Branch {
    Branch {
        blocks: (0..block_count)
            .map(|i| BlazeBlockConfig::new(128, 128).with_stride(if i == 0 { 2 } else { 1 }).with_prelu(true).init(device))
            .collect(),
        reduce: Conv2dConfig::new([128, 32], [1, 1]).init(device),
        reduce_prelu: PReluConfig::new().with_num_parameters(32).init(device),
        refine: BlazeBlockConfig::new(32, 32).with_prelu(true).init(device),
        head: Conv2dConfig::new([32, outputs], [3, 3]).with_stride([3, 3]).init(device),
    }
}

impl FaceMeshConfig {
    pub fn init(&self, device: &Device) -> FaceMesh {
        FaceMesh {
            // 3×3 stride 2 with TF SAME on 192: bottom/right only.
            stem: Conv2dConfig::new([3, 16], [3, 3]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(0, 0, 1, 1)).init(device),
            stem_prelu: PReluConfig::new().with_num_parameters(16).init(device),
            blocks: BACKBONE
                .iter()
                .map(|&(i, o, s)| BlazeBlockConfig::new(i, o).with_stride(s).with_prelu(true).init(device))
                .collect(),
            mesh: branch(device, 3, LANDMARKS * 3),
            presence: branch(device, 1, 1),
        }
    }
}

impl Branch {
    /// `[b, 128, 6, 6]` → `[b, outputs]`.
    fn forward(&self, mut x: Tensor<4>) -> Tensor<2> {
        for block in &self.blocks {
            x = block.forward(x);
        }
        let x = self.refine.forward(conv_then(&self.reduce, After::PRelu(&self.reduce_prelu), x));
        let y = conv_then(&self.head, After::Nothing, x);
        let [b, c, _, _] = y.dims();
        y.reshape([b, c])
    }
}

/// Raw network outputs.
pub struct FaceMeshOutput {
    /// `[b, 468 * 3]`: x, y in input pixels, z on the same scale.
    pub landmarks: Tensor<2>,
    /// `[b, 1]`: face presence logit.
    pub presence: Tensor<2>,
}

impl FaceMesh {
    /// # Shapes
    /// - input: `[b, 3, 192, 192]`, RGB in [0, 1]
    pub fn forward(&self, x: Tensor<4>) -> FaceMeshOutput {
        let x = match self.backbone_fused(&x) {
            Some(y) => y,
            None => self.backbone(x),
        };
        FaceMeshOutput { landmarks: self.mesh.forward(x.clone()), presence: self.presence.forward(x) }
    }

    /// The stem and the shared blocks, layer by layer.
    fn backbone(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = conv_then(&self.stem, After::PRelu(&self.stem_prelu), x);
        for block in &self.blocks {
            x = block.forward(x);
        }
        x
    }

    /// [`Self::backbone`] as one stack of fused kernels; `None` where the kernels do not run.
    fn backbone_fused(&self, x: &Tensor<4>) -> Option<Tensor<4>> {
        stem_and_blocks_fused(x, &self.stem, After::PRelu(&self.stem_prelu), &self.blocks, &[self.blocks.len() - 1])?.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_same_bits;
    use burn::tensor::Distribution;

    /// The stack gives the same bits as the blocks run one by one (each through its own fused kernel), at a
    /// batch that goes image by image.
    #[test]
    fn fused_backbone_matches_layer_by_layer() {
        let device = crate::device::cpu();
        let net = FaceMeshConfig::new().init(&device);
        let x = Tensor::<4>::random([2 * rayon::current_num_threads(), 3, INPUT_SIZE, INPUT_SIZE], Distribution::Uniform(-1.0, 1.0), &device);
        let got = net.backbone_fused(&x).expect("flex tensors take the fused kernels");
        assert_same_bits(got, net.backbone(x), "backbone output");
    }
}
