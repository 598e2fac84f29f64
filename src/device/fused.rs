//! Fused CPU kernels for `flex` tensors (the networks' residual blocks, convolutions, dense layers, and runs of
//! blocks taken image by image): with `device::train_conv` (training's differentiable convolution) the only
//! places that unwrap a Burn tensor into the backend's own storage, so model code keeps naming no backend. A
//! model asks [`blaze_block`], [`conv2d`], [`stack`] or [`dense`] first and composes Burn operations itself when
//! the answer is `None`: a GPU tensor, an autodiff tensor (not a plain flex primitive, so it never gets here;
//! training's convolutions go through `train_conv`), a strided view, or the kernels switched off.
//!
//! The kernels live in the `faceswap-cpu-kernels` crate (`src/model/cpu_kernels`): plain slices in, a new
//! buffer out. Input and weights are borrowed from flex's storage without a copy; the output buffer becomes
//! the new tensor's storage without a copy.

use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use faceswap_cpu_kernels::{run_stack, Activation, BlazeBlock, Conv2d, Dense, Layer, PackedWeights};
use parking_lot::Mutex;
use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the fused kernels on or off for the whole process (on by default): for benchmarks that compare them
/// with Burn's composed operations.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the kernels may run.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A BlazeBlock's tensors, as Burn holds them (`model::blaze_block` has the layer layout).
pub struct BlazeTensors<'t> {
    pub stride: usize,
    /// `[c_in, 1, 3, 3]`
    pub depthwise: &'t Tensor<4>,
    pub depthwise_bias: &'t Tensor<1>,
    /// `[c_out, c_in, 1, 1]`
    pub pointwise: &'t Tensor<4>,
    pub pointwise_bias: &'t Tensor<1>,
    /// PReLU slopes, one per output channel; `None` for ReLU.
    pub prelu: Option<&'t Tensor<1>>,
}

/// Flex's storage of `t` as `f32`, if `t` lives on flex, is `f32` and is laid out contiguously.
fn on_flex<const D: usize>(t: &Tensor<D>) -> Option<FlexTensor> {
    // A clone is a reference count; `try_into_primitive` consumes its argument and fails on any other backend.
    let flex = t.clone().try_into_primitive::<Flex>().ok()?;
    flex.as_slice::<f32>().is_some().then_some(flex)
}

/// A kernel's output buffer as a flex tensor (the buffer becomes its storage, no copy).
fn flex_tensor(values: Vec<f32>, shape: [usize; 4]) -> Tensor<4> {
    Tensor::from_primitive::<Flex>(FlexTensor::from_data(TensorData::new(values, shape)))
}

fn slice(f: &FlexTensor) -> &[f32] {
    f.as_slice::<f32>().expect("checked by on_flex")
}

/// A block's tensors on flex, held while the kernel borrows their values.
struct FlexBlock {
    stride: usize,
    channels: [usize; 2],
    depthwise: FlexTensor,
    depthwise_bias: FlexTensor,
    pointwise: FlexTensor,
    pointwise_bias: FlexTensor,
    prelu: Option<FlexTensor>,
}

impl FlexBlock {
    /// `None` if a tensor is not on flex, or the layout is not the kernel's.
    fn new(t: &BlazeTensors<'_>) -> Option<Self> {
        let [c_out, c_in, kh, kw] = t.pointwise.dims();
        if kh != 1 || kw != 1 || t.depthwise.dims() != [c_in, 1, 3, 3] {
            return None;
        }
        Some(FlexBlock {
            stride: t.stride,
            channels: [c_in, c_out],
            depthwise: on_flex(t.depthwise)?,
            depthwise_bias: on_flex(t.depthwise_bias)?,
            pointwise: on_flex(t.pointwise)?,
            pointwise_bias: on_flex(t.pointwise_bias)?,
            prelu: match t.prelu {
                Some(a) => Some(on_flex(a)?),
                None => None,
            },
        })
    }

    fn kernel(&self) -> BlazeBlock<'_> {
        BlazeBlock {
            channels_in: self.channels[0],
            channels_out: self.channels[1],
            stride: self.stride,
            depthwise: slice(&self.depthwise),
            depthwise_bias: slice(&self.depthwise_bias),
            pointwise: slice(&self.pointwise),
            pointwise_bias: slice(&self.pointwise_bias),
            activation: match &self.prelu {
                Some(a) => Activation::PRelu(slice(a)),
                None => Activation::Relu,
            },
        }
    }
}

/// Runs the block on `x` with the fused kernel if `x` is a plain `flex` tensor; `None` means "compose it".
pub fn blaze_block(x: &Tensor<4>, t: &BlazeTensors<'_>) -> Option<Tensor<4>> {
    if !enabled() {
        return None;
    }
    let input = on_flex(x)?;
    let block = FlexBlock::new(t)?;
    let block = block.kernel();
    let [n, _, h, w] = x.dims();
    // A shape the kernel refuses is left to Burn, which reports it as it always has.
    let out = block.forward(slice(&input), n, h, w).ok()?;
    let (ho, wo) = block.output_size(h, w);
    Some(flex_tensor(out, [n, block.channels_out, ho, wo]))
}

/// A dense convolution's tensors and settings, and what follows it.
pub struct ConvTensors<'t> {
    /// `[c_out, c_in, k, k]`
    pub weight: &'t Tensor<4>,
    pub bias: &'t Tensor<1>,
    pub stride: usize,
    /// Top, left, bottom, right.
    pub padding: [usize; 4],
    /// ReLU, PReLU (slopes, one per output channel), leaky ReLU or nothing.
    pub after: After<'t>,
}

/// The activation after a convolution.
pub enum After<'t> {
    Nothing,
    Relu,
    PRelu(&'t Tensor<1>),
    /// Leaky ReLU with this negative slope.
    Leaky(f32),
}

/// Rows up to which a dense layer takes the kernel: it reads the weights once per four rows, where a
/// matrix product (Burn's) reuses them from cache; batches of faces are far below this.
const DENSE_ROWS: usize = 8;

/// `x · weight + bias` for a dense layer (`x`: `[rows, inputs]`, `weight`: `[inputs, outputs]`, Burn's
/// `Linear` layout) with the kernel if `x` is a plain `flex` tensor of at most `DENSE_ROWS` rows; `None` means
/// "compose it".
pub fn dense(x: &Tensor<2>, weight: &Tensor<2>, bias: Option<&Tensor<1>>) -> Option<Tensor<2>> {
    let [rows, inputs] = x.dims();
    let [k, outputs] = weight.dims();
    if !enabled() || rows > DENSE_ROWS || k != inputs {
        return None;
    }
    let (input, w) = (on_flex(x)?, on_flex(weight)?);
    let b = match bias {
        Some(b) => Some(on_flex(b)?),
        None => None,
    };
    let layer = Dense { inputs, outputs, weight: slice(&w), bias: b.as_ref().map(slice) };
    let out = layer.forward(slice(&input), rows).ok()?;
    Some(Tensor::from_primitive::<Flex>(FlexTensor::from_data(TensorData::new(out, [rows, outputs]))))
}

/// A convolution's weights packed for the kernel (`PackedWeights`), made on first use and kept while the
/// weights live: a model is loaded once per process and runs for every frame, so packing once per model
/// instead of once per call (measured slower than not packing at all) is what makes it pay.
struct Packed {
    /// Where the weights' values are (address and length of the slice): the key.
    key: (usize, usize),
    /// A strong reference to the weights' storage. While it is held, the storage can neither be freed (so the
    /// key cannot come back for other weights) nor be changed in place (flex mutates only storage it owns
    /// alone), so the same key always means the same values. When it is the last reference, the model is gone.
    storage: Arc<dyn Any + Send + Sync>,
    packed: Arc<PackedWeights>,
}

static PACKED: Mutex<Vec<Packed>> = Mutex::new(Vec::new());

/// The packed form of `weight` (`[channels_out, depth]` values on flex), packing it on first use.
fn packed(weight: &FlexTensor, channels_out: usize, depth: usize) -> Option<Arc<PackedWeights>> {
    if !PackedWeights::worth_it(channels_out) {
        return None;
    }
    let values = slice(weight);
    let key = (values.as_ptr() as usize, values.len());
    if let Some(hit) = PACKED.lock().iter().find(|p| p.key == key) {
        return Some(hit.packed.clone());
    }
    // Packed outside the lock (two threads may both pack the same weights once; the second copy is dropped).
    let packed = Arc::new(PackedWeights::new(values, channels_out, depth).ok()?);
    let mut cache = PACKED.lock();
    // Weights of models that have been dropped: only this cache still holds their storage.
    cache.retain(|p| Arc::strong_count(&p.storage) > 1);
    if !cache.iter().any(|p| p.key == key) {
        cache.push(Packed { key, storage: weight.data_arc(), packed: packed.clone() });
    }
    Some(packed)
}

/// A convolution's tensors on flex (and its packed weights), held while the kernel borrows their values.
struct FlexConv {
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    padding: [usize; 4],
    weight: FlexTensor,
    bias: FlexTensor,
    /// PReLU's slopes.
    prelu: Option<FlexTensor>,
    /// The activation when it is not PReLU.
    activation: Activation<'static>,
    packed: Option<Arc<PackedWeights>>,
}

impl FlexConv {
    /// `None` if a tensor is not on flex or the kernel is not square.
    fn new(t: &ConvTensors<'_>) -> Option<Self> {
        let [c_out, c_in, kh, kw] = t.weight.dims();
        if kh != kw {
            return None;
        }
        let (weight, bias) = (on_flex(t.weight)?, on_flex(t.bias)?);
        let (prelu, activation) = match t.after {
            After::PRelu(a) => (Some(on_flex(a)?), Activation::Identity),
            After::Relu => (None, Activation::Relu),
            After::Leaky(slope) => (None, Activation::Leaky(slope)),
            After::Nothing => (None, Activation::Identity),
        };
        Some(FlexConv {
            channels: [c_in, c_out],
            kernel: kh,
            stride: t.stride,
            padding: t.padding,
            // Last, once every tensor is known to be on flex: packing caches the weights for the model's life.
            packed: packed(&weight, c_out, c_in * kh * kw),
            bias,
            weight,
            prelu,
            activation,
        })
    }

    fn kernel(&self) -> Conv2d<'_> {
        Conv2d {
            channels_in: self.channels[0],
            channels_out: self.channels[1],
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
            weight: slice(&self.weight),
            bias: slice(&self.bias),
            activation: match &self.prelu {
                Some(a) => Activation::PRelu(slice(a)),
                None => self.activation,
            },
            packed: self.packed.as_deref(),
        }
    }
}

/// Runs a convolution and its activation on `x` with the fused kernel if `x` is a plain `flex` tensor;
/// `None` means "compose it".
pub fn conv2d(x: &Tensor<4>, t: &ConvTensors<'_>) -> Option<Tensor<4>> {
    if !enabled() {
        return None;
    }
    let input = on_flex(x)?;
    let conv = FlexConv::new(t)?;
    let conv = conv.kernel();
    let [n, _, h, w] = x.dims();
    let out = conv.forward(slice(&input), n, h, w).ok()?;
    let (ho, wo) = conv.output_size(h, w)?;
    Some(flex_tensor(out, [n, conv.channels_out, ho, wo]))
}

/// One layer of a [`stack`].
pub enum StackLayer<'t> {
    Conv(ConvTensors<'t>),
    Block(BlazeTensors<'t>),
}

/// Runs `layers` one after the other on `x` with the fused kernels (`faceswap_cpu_kernels::run_stack`: image
/// by image when the batch is large enough, each image's tensors kept in its core's cache) and returns the
/// outputs of the layers at `taps` (strictly increasing indices); `None` means "compose them", as for one
/// layer. The values are those of running each layer's kernel in turn.
pub fn stack(x: &Tensor<4>, layers: &[StackLayer<'_>], taps: &[usize]) -> Option<Vec<Tensor<4>>> {
    if !enabled() {
        return None;
    }
    enum Held {
        Conv(FlexConv),
        Block(FlexBlock),
    }
    let held = layers
        .iter()
        .map(|l| match l {
            StackLayer::Conv(t) => FlexConv::new(t).map(Held::Conv),
            StackLayer::Block(t) => FlexBlock::new(t).map(Held::Block),
        })
        .collect::<Option<Vec<_>>>()?;
    let kernels: Vec<Layer<'_>> = held
        .iter()
        .map(|h| match h {
            Held::Conv(c) => Layer::Conv(c.kernel()),
            Held::Block(b) => Layer::Block(b.kernel()),
        })
        .collect();
    let input = on_flex(x)?;
    let [n, _, h, w] = x.dims();
    let outputs = run_stack(&kernels, taps, slice(&input), n, h, w).ok()?;
    Some(outputs.into_iter().map(|t| flex_tensor(t.values, [n, t.channels, t.size[0], t.size[1]])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn cached(weight: &FlexTensor) -> bool {
        let values = slice(weight);
        let key = (values.as_ptr() as usize, values.len());
        PACKED.lock().iter().any(|p| p.key == key)
    }

    /// Packed once per weights, reused while they live, dropped with them (swept on the next insertion).
    #[test]
    fn packed_weights_are_cached_while_the_weights_live() {
        let device = crate::device::cpu();
        let w = Tensor::<4>::random([16, 4, 3, 3], Distribution::Uniform(-1.0, 1.0), &device);
        let flex = on_flex(&w).expect("flex");
        let first = packed(&flex, 16, 36).expect("16 channels are worth packing");
        assert!(Arc::ptr_eq(&first, &packed(&flex, 16, 36).unwrap()), "packed twice");
        assert!(cached(&flex));
        let key_of_dropped = {
            let values = slice(&flex);
            (values.as_ptr() as usize, values.len())
        };
        drop((w, flex));
        // Another layer's weights: inserting them sweeps the dropped ones.
        let other = Tensor::<4>::random([8, 2, 3, 3], Distribution::Uniform(-1.0, 1.0), &device);
        let other_flex = on_flex(&other).unwrap();
        packed(&other_flex, 8, 18).unwrap();
        assert!(!PACKED.lock().iter().any(|p| p.key == key_of_dropped && Arc::ptr_eq(&p.packed, &first)), "dropped weights still cached");
        // Fewer channels than a panel: nothing to pack.
        let thin = on_flex(&Tensor::<4>::random([3, 2, 3, 3], Distribution::Uniform(-1.0, 1.0), &device)).unwrap();
        assert!(packed(&thin, 3, 18).is_none());
    }
}
