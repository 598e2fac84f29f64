//! A convolution followed by its activation, as one fused kernel on the CPU: the face networks' plain
//! convolutions (BlazeFace's and FaceMesh's first and last layers) and the swap network's at inference; and
//! the swap network's dense layers.

use burn::nn::conv::Conv2d;
use burn::nn::{LeakyRelu, Linear, PRelu, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// What follows a convolution in [`conv_then`].
pub enum After<'a> {
    Nothing,
    Relu,
    PRelu(&'a PRelu),
    Leaky(&'a LeakyRelu),
}

/// `conv` then its activation: one fused kernel on the CPU (`device::fused`), Burn's operations elsewhere or
/// when the kernel declines (groups, dilation, non-square kernels, `Same` padding other than stride 1 with an odd
/// kernel). Autodiff tensors (training) never take the fused kernel: on the CPU their convolution is
/// `device::train_conv`'s differentiable one, the activation Burn's.
pub fn conv_then(conv: &Conv2d, after: After<'_>, x: Tensor<4>) -> Tensor<4> {
    match conv_fused(conv, &after, &x) {
        Some(y) => y,
        None => conv_composed(conv, after, x),
    }
}

/// A dense layer on `[rows, inputs]`: one kernel on the CPU for a few rows (`device::fused::dense`: both cores
/// stream the weights), Burn's `Linear` elsewhere and always for autodiff tensors.
pub fn linear(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    let bias = layer.bias.as_ref().map(|b| b.val());
    match crate::device::fused::dense(&x, &layer.weight.val(), bias.as_ref()) {
        Some(y) => y,
        None => layer.forward(x),
    }
}

/// `conv` then its activation as Burn operations, on any backend; in training on the CPU the convolution is
/// `device::train_conv`'s (forward and backward on the fused kernels), the activation still Burn's.
fn conv_composed(conv: &Conv2d, after: After<'_>, x: Tensor<4>) -> Tensor<4> {
    let y = match conv_trained(conv, &x) {
        Some(y) => y,
        None => conv.forward(x),
    };
    match after {
        After::Nothing => y,
        After::Relu => relu(y),
        After::PRelu(p) => p.forward(y),
        After::Leaky(l) => l.forward(y),
    }
}

/// The convolution alone through `device::train_conv`: `None` unless `x` is an autodiff tensor on flex and the
/// layout is one the kernels take (as for the fused path).
fn conv_trained(conv: &Conv2d, x: &Tensor<4>) -> Option<Tensor<4>> {
    let f = FusedConv::of(conv, &After::Nothing)?;
    crate::device::train_conv::conv2d(x, &f.weight, &f.bias, f.stride, f.padding)
}

fn conv_fused(conv: &Conv2d, after: &After<'_>, x: &Tensor<4>) -> Option<Tensor<4>> {
    crate::device::fused::conv2d(x, &FusedConv::of(conv, after)?.tensors())
}

/// A convolution's tensors and settings as the fused kernels take them (`device::fused::ConvTensors`), held
/// here because those borrow them.
pub struct FusedConv {
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: usize,
    padding: [usize; 4],
    after: Activation,
}

/// What follows the convolution, held (`fused::After` borrows PReLU's slopes).
// A Burn tensor handle is ~256 bytes; one value lives on the stack per convolution call, so boxing it would
// only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Activation {
    Nothing,
    Relu,
    PRelu(Tensor<1>),
    Leaky(f32),
}

impl FusedConv {
    /// `None` for what the kernels do not run: groups, dilation, unequal strides, no bias, `Same` padding
    /// other than stride 1 with an odd kernel.
    pub fn of(conv: &Conv2d, after: &After<'_>) -> Option<Self> {
        let padding = match conv.padding {
            PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
            PaddingConfig2d::Valid => [0; 4],
            // Burn's `Same` at stride 1 with an odd kernel: (k - 1) / 2 on every side.
            PaddingConfig2d::Same if conv.stride == [1, 1] && conv.kernel_size[0] == conv.kernel_size[1] && conv.kernel_size[0] % 2 == 1 => {
                [(conv.kernel_size[0] - 1) / 2; 4]
            }
            PaddingConfig2d::Same => return None,
        };
        let [stride, stride_w] = conv.stride;
        if conv.groups != 1 || conv.dilation != [1, 1] || stride != stride_w {
            return None;
        }
        Some(FusedConv {
            weight: conv.weight.val(),
            bias: conv.bias.as_ref()?.val(),
            stride,
            padding,
            after: match after {
                After::Nothing => Activation::Nothing,
                After::Relu => Activation::Relu,
                After::PRelu(p) => Activation::PRelu(p.alpha.val()),
                After::Leaky(l) => Activation::Leaky(l.negative_slope as f32),
            },
        })
    }

    pub fn tensors(&self) -> crate::device::fused::ConvTensors<'_> {
        use crate::device::fused;
        let after = match &self.after {
            Activation::Nothing => fused::After::Nothing,
            Activation::Relu => fused::After::Relu,
            Activation::PRelu(alpha) => fused::After::PRelu(alpha),
            Activation::Leaky(slope) => fused::After::Leaky(*slope),
        };
        fused::ConvTensors { weight: &self.weight, bias: &self.bias, stride: self.stride, padding: self.padding, after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::{LeakyReluConfig, PReluConfig};
    use burn::tensor::Distribution;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.try_into_data().unwrap().try_into_vec::<f32>().unwrap()
    }

    fn assert_close(what: &str, got: Vec<f32>, want: Vec<f32>) {
        assert_eq!(got.len(), want.len(), "{what}");
        let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            // f32 sums of up to 8·4·25 products in another order than Burn's: 1e-5 of the largest value.
            assert!((g - w).abs() <= 1e-5 * scale, "{what}[{i}]: {g} vs {w}");
        }
    }

    /// In training (autodiff on the CPU) the inference kernel declines, the convolution goes through
    /// `device::train_conv`, and values and gradients (input, weights, bias) are Burn's own convolution's, for
    /// the swap network's two layouts: 3×3 "same", and 5×5 at stride 2 with TF-style padding.
    #[test]
    fn training_convolution_matches_burns_values_and_gradients() {
        let device = crate::device::cpu().autodiff();
        let leaky = LeakyReluConfig::new().with_negative_slope(0.1).init();
        let layouts = [
            (Conv2dConfig::new([3, 4], [3, 3]).with_padding(PaddingConfig2d::Same), [2, 3, 9, 7]),
            (Conv2dConfig::new([4, 8], [5, 5]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 2, 2)), [2, 4, 16, 16]),
        ];
        for (config, shape) in layouts {
            let conv = config.init(&device);
            let x = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device).require_grad();
            assert!(conv_fused(&conv, &After::Leaky(&leaky), &x).is_none());
            assert!(conv_trained(&conv, &x).is_some(), "{shape:?}: the training kernel declined");
            let ours = conv_then(&conv, After::Leaky(&leaky), x.clone());
            let burns = leaky.forward(conv.forward(x.clone()));
            let weights = Tensor::<4>::random(ours.dims(), Distribution::Uniform(-1.0, 1.0), &device);
            let (g_ours, g_burn) = ((ours.clone() * weights.clone()).sum().backward(), (burns.clone() * weights).sum().backward());
            assert_close("output", values(ours.detach()), values(burns.detach()));
            assert_close("input gradient", values(x.grad(&g_ours).unwrap()), values(x.grad(&g_burn).unwrap()));
            assert_close("weight gradient", values(conv.weight.grad(&g_ours).unwrap()), values(conv.weight.grad(&g_burn).unwrap()));
            let bias = conv.bias.as_ref().unwrap();
            assert_close("bias gradient", values(bias.grad(&g_ours).unwrap()), values(bias.grad(&g_burn).unwrap()));
        }
    }

    /// `conv_then`'s fused path against Burn's convolution and activation, for the face networks' three kinds of
    /// dense convolution and the swap network's (random weights; the real ones are covered by the networks' parity tests).
    #[test]
    fn fused_convolution_matches_composed_operations() {
        let device = crate::device::cpu();
        let prelu = |c| PRelu {
            alpha: burn::module::Param::from_tensor(Tensor::<1>::random([c], Distribution::Uniform(-0.5, 0.5), &device)),
            ..PReluConfig::new().with_num_parameters(c).init(&device)
        };
        let stem = Conv2dConfig::new([3, 24], [5, 5]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 2, 2)).init(&device);
        let mesh_stem = Conv2dConfig::new([3, 16], [3, 3]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(0, 0, 1, 1)).init(&device);
        let head = Conv2dConfig::new([32, 7], [3, 3]).with_stride([3, 3]).init(&device);
        // The swap network's decoder convolution (`Same` padding) and its leaky ReLU.
        let same = Conv2dConfig::new([8, 12], [3, 3]).with_padding(PaddingConfig2d::Same).init(&device);
        let leaky = LeakyReluConfig::new().with_negative_slope(0.1).init();
        let x_same = Tensor::<4>::random([1, 8, 9, 11], Distribution::Uniform(-1.0, 1.0), &device);
        let (p16, x_rgb, x_head) = (
            prelu(16),
            Tensor::<4>::random([2, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), &device),
            Tensor::<4>::random([2, 32, 3, 3], Distribution::Uniform(-1.0, 1.0), &device),
        );
        let cases: [(&Conv2d, After<'_>, &Tensor<4>); 4] = [
            (&stem, After::Relu, &x_rgb),
            (&mesh_stem, After::PRelu(&p16), &x_rgb),
            (&head, After::Nothing, &x_head),
            (&same, After::Leaky(&leaky), &x_same),
        ];
        for (i, (conv, after, x)) in cases.into_iter().enumerate() {
            let fused = conv_fused(conv, &after, x).expect("a flex tensor takes the fused kernel");
            let composed = conv_composed(conv, after, x.clone());
            assert_eq!(fused.dims(), composed.dims(), "case {i}");
            let fused: Vec<f32> = fused.try_into_data().unwrap().try_into_vec().unwrap();
            let composed: Vec<f32> = composed.try_into_data().unwrap().try_into_vec().unwrap();
            let worst = fused.iter().zip(&composed).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            // Rounding of sums of up to 288 products of order 1.
            assert!(worst < 1e-4, "case {i}: max difference {worst}");
        }
    }

    /// The dense kernel against Burn's `Linear`, at batch 1 and 3 (and a batch above the kernel's limit, which
    /// Burn computes); training's autodiff tensors take Burn's path.
    #[test]
    fn dense_kernel_matches_linear() {
        use burn::nn::LinearConfig;
        let device = crate::device::cpu();
        let layer = LinearConfig::new(300, 70).init(&device);
        for rows in [1, 3, 20] {
            let x = Tensor::<2>::random([rows, 300], Distribution::Uniform(-1.0, 1.0), &device);
            let fused: Vec<f32> = linear(&layer, x.clone()).try_into_data().unwrap().try_into_vec().unwrap();
            let composed: Vec<f32> = layer.forward(x).try_into_data().unwrap().try_into_vec().unwrap();
            assert_eq!(fused.len(), rows * 70);
            let worst = fused.iter().zip(&composed).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            // Sums of 300 products of order 0.1 in another order.
            assert!(worst < 1e-4, "batch {rows}: max difference {worst}");
        }
        let ad = crate::device::cpu().autodiff();
        let layer = LinearConfig::new(8, 4).init(&ad);
        let x = Tensor::<2>::random([1, 8], Distribution::Uniform(-1.0, 1.0), &ad);
        assert!(crate::device::fused::dense(&x, &layer.weight.val(), None).is_none());
        let grads = linear(&layer, x).sum().backward();
        assert!(layer.weight.grad(&grads).is_some(), "no gradient for the weights");
    }
}
