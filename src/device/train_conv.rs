//! A differentiable convolution for training on the CPU: forward and backward on this crate's kernels
//! (`faceswap_cpu_kernels`: [`Conv2d::forward`], [`Conv2d::input_grad`], [`Conv2d::patches`]), recorded in
//! Burn's autodiff graph as one operation with its own backward step.
//!
//! Burn's own autodiff convolution on `flex` differentiates with a transposed convolution and a convolution
//! whose kernel is the output gradient; on the swap network's thin layers those ran at 1-8 GFLOP/s and were
//! ~70% of a training step (BENCHMARKS.md, 2026-12-05, training step by layer). Here the input gradient is
//! the forward kernel on flipped weights, and the weight gradient one GEMM (flex's `matmul`) of the output
//! gradient with the patch matrix.
//!
//! Only for autodiff tensors on flex without gradient checkpointing (what `faceswap train --device cpu`
//! builds); [`conv2d`] answers `None` for anything else and the caller takes Burn's convolution (the GPU,
//! inference, a checkpointing device), as it does when `fused::set_enabled(false)` turns the kernels off.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{Tensor, TensorData};
use faceswap_cpu_kernels::{Activation, Conv2d};

/// Autodiff over flex without checkpointing: what `Device::autodiff()` on the CPU device makes.
type Trained = Autodiff<Flex>;

/// Output pixels per image from which the weight gradient is taken as one product per image (see its use).
const PIXELS_PER_IMAGE_PRODUCT: usize = 256;

/// The layer's settings, kept for the backward step.
#[derive(Clone, Copy, Debug)]
struct Layout {
    stride: usize,
    padding: [usize; 4],
}

impl Layout {
    /// The kernel for weights `[c_out, c_in, k, k]` (`bias` only matters forward).
    fn kernel<'a>(&self, weight: &'a [f32], bias: &'a [f32], dims: [usize; 4]) -> Conv2d<'a> {
        let [co, ci, k, _] = dims;
        Conv2d { channels_in: ci, channels_out: co, kernel: k, stride: self.stride, padding: self.padding, weight, bias, activation: Activation::Identity, packed: None }
    }
}

/// `t`'s values in row-major order: borrowed when flex holds them contiguously, copied once otherwise
/// (gradients often arrive as strided views: the backward of a permute or a slice).
fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("made contiguous f32 by `contiguous`")
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

fn flex_tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The convolution's backward step: parents are input, weights, bias.
#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    type State = (NodeId, NodeId, Layout);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let (x_id, w_id, layout) = ops.state;
        let x = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(x_id));
        let w = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(w_id));
        let [n, ci, h, wd] = dims4(&x);
        let wdims = dims4(&w);
        let [co, _, k, _] = wdims;
        let [_, _, ho, wo] = dims4(&grad);
        let zeros = vec![0.0f32; co];
        let conv = layout.kernel(values(&w), &zeros, wdims);
        // The shapes were checked forward and the gradient has the output's shape, so the kernels cannot
        // refuse them; if one ever did, this panics rather than hand Adam a wrong gradient.
        if let Some(node) = node_x {
            let gx = conv.input_grad(values(&grad), n, h, wd).expect("input gradient of a checked convolution");
            grads.register::<Flex>(node.id, flex_tensor(gx, [n, ci, h, wd]));
        }
        let g = Tensor::<4>::from_primitive::<Flex>(grad);
        if let Some(node) = node_w {
            let patches = conv.patches(values(&x), n, h, wd).expect("patches of a checked convolution");
            let (pixels, depth) = (ho * wo, ci * k * k);
            // One product per image, summed, where the images are large: flex runs a batch of products in
            // parallel, and one product with a K of n·h'·w' (up to 32,768) and few rows and columns kept one
            // core busy (16 -> 16 channels at 64×64: 8.1 ms as one product, 2.3 ms per image). Where they are
            // small, the per-image products are tiny and their [n, c_out, depth] sum costs more than it saves
            // (128 -> 512 at 4×4: 7 ms as one product, 25 ms per image). Threshold between the two measured.
            let gw = if pixels >= PIXELS_PER_IMAGE_PRODUCT {
                let patches = Tensor::<3>::from_primitive::<Flex>(flex_tensor(patches, [n, pixels, depth]));
                g.clone().reshape([n, co, pixels]).matmul(patches).sum_dim(0).reshape(wdims)
            } else {
                let patches = Tensor::<2>::from_primitive::<Flex>(flex_tensor(patches, [n * pixels, depth]));
                // [n, co, h'·w'] → [co, n·h'·w'], then one product with the patches.
                let g2 = g.clone().reshape([n, co, pixels]).swap_dims(0, 1).reshape([co, n * pixels]);
                g2.matmul(patches).reshape(wdims)
            };
            grads.register::<Flex>(node.id, primitive(gw));
        }
        if let Some(node) = node_b {
            let gb = g.sum_dim(0).sum_dim(2).sum_dim(3).reshape([co]);
            grads.register::<Flex>(node.id, primitive(gb));
        }
    }
}

/// A plain (non-autodiff) flex tensor's primitive.
fn primitive<const D: usize>(t: Tensor<D>) -> FlexTensor {
    t.try_into_primitive::<Flex>().expect("computed on flex from flex primitives")
}

/// `y = conv(x, weight) + bias` (stride, padding top/left/bottom/right), differentiable, on the kernels; `None`
/// unless all three are autodiff tensors on flex (f32) and the kernel takes the layout.
pub fn conv2d(x: &Tensor<4>, weight: &Tensor<4>, bias: &Tensor<1>, stride: usize, padding: [usize; 4]) -> Option<Tensor<4>> {
    if !super::fused::enabled() {
        return None;
    }
    let x = x.clone().try_into_primitive::<Trained>().ok()?;
    let w = weight.clone().try_into_primitive::<Trained>().ok()?;
    let b = bias.clone().try_into_primitive::<Trained>().ok()?;
    let (xv, wv, bv) = (contiguous(x.primitive().clone()), contiguous(w.primitive().clone()), contiguous(b.primitive().clone()));
    if xv.as_slice::<f32>().is_none() || wv.as_slice::<f32>().is_none() || bv.as_slice::<f32>().is_none() {
        return None;
    }
    let layout = Layout { stride, padding };
    let [n, _, h, wd] = dims4(&xv);
    let wdims = dims4(&wv);
    // Square kernels only (the kernel reads `k` from the height); and what the backward step needs is refused
    // here rather than there.
    if wdims[2] != wdims[3] {
        return None;
    }
    let conv = layout.kernel(values(&wv), values(&bv), wdims);
    let (ho, wo) = conv.output_size(h, wd)?;
    conv.check_input_grad().ok()?;
    let y = conv.forward(values(&xv), n, h, wd).ok()?;
    let y = flex_tensor(y, [n, wdims[0], ho, wo]);
    let out = match ConvBackward.prepare::<NoCheckpointing>([x.node(), w.node(), b.node()]).compute_bound().stateful() {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&x), prep.checkpoint(&w), layout);
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(Tensor::from_primitive::<Trained>(out))
}
