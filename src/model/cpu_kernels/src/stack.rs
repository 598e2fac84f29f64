//! Several layers run image by image: [`run_stack`].
//!
//! Layer by layer, each layer's output for a whole batch goes to memory before the next layer reads it back:
//! BlazeFace's first blocks on 16 tiles write 6-7 MB a layer, more than a core's L2. Image by image, one thread
//! takes an image through every layer while the other thread does the same with another image; an image's
//! tensors (393 KB at most for BlazeFace) stay in that core's L2 from one layer to the next. BlazeFace's 16
//! blocks on 16 tiles: 16.3 ms layer by layer, 9.3 ms image by image (kernel crate alone, 2026-12-05; see
//! BENCHMARKS.md for the network). A batch that would load the threads unevenly (one image on two threads;
//! three on two) runs layer by layer, where the bands of each image are shared out between the threads.

use super::{bands, run_band, run_in_bands, bad, BandKernel, BlazeBlock, Conv2d, Isa, Plan, ShapeError};
use rayon::prelude::*;
use std::cell::RefCell;

/// One layer of a stack.
#[derive(Clone, Copy, Debug)]
pub enum Layer<'a> {
    Conv(Conv2d<'a>),
    Block(BlazeBlock<'a>),
}

/// A tapped layer's output for the whole batch: `[batch, channels, size[0], size[1]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tapped {
    pub values: Vec<f32>,
    pub channels: usize,
    pub size: [usize; 2],
}

impl Layer<'_> {
    fn channels_out(&self) -> usize {
        match self {
            Layer::Conv(c) => c.channels_out,
            Layer::Block(b) => b.channels_out,
        }
    }

    fn plan(&self, x_len: usize, batch: usize, h: usize, w: usize) -> Result<Plan, ShapeError> {
        match self {
            Layer::Conv(c) => c.plan(x_len, batch, h, w),
            Layer::Block(b) => b.plan(x_len, batch, h, w),
        }
    }

    /// The whole batch on rayon's pool, band by band.
    fn run_batch(&self, x: &[f32], batch: usize, size: [usize; 2], plan: Plan) -> Vec<f32> {
        match self {
            Layer::Conv(c) => run_in_bands(c, x, batch, size, plan, Isa::Avx512),
            Layer::Block(b) => run_in_bands(b, x, batch, size, plan, Isa::Avx512),
        }
    }

    /// One image on the calling thread, into `out` (the image's output, zeroed).
    fn run_image(&self, image: &[f32], size: [usize; 2], plan: Plan, out: &mut [f32]) {
        fn serial<K: BandKernel>(kernel: &K, image: &[f32], size: [usize; 2], plan: Plan, out: &mut [f32]) {
            for mut band in bands(kernel, out, 1, plan, 1) {
                run_band(kernel, image, size, plan.out[1], Isa::Avx512, &mut band);
            }
        }
        match self {
            Layer::Conv(c) => serial(c, image, size, plan, out),
            Layer::Block(b) => serial(b, image, size, plan, out),
        }
    }
}

thread_local! {
    /// Each pool thread's two buffers for an image's untapped intermediates (one read, one written), kept
    /// from call to call like the bands' scratch; at most two of an image's tensors (under 1 MB for the
    /// networks here).
    static PING_PONG: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// Runs `layers` one after the other on `x` (`[batch, channels, h, w]`, contiguous) and returns the outputs of
/// the layers at the indices `taps` (strictly increasing), in that order; layers after the last tap do not run.
/// The values are the same, bit for bit, as running each layer's `forward` on the whole batch (tested).
pub fn run_stack(layers: &[Layer<'_>], taps: &[usize], x: &[f32], batch: usize, h: usize, w: usize) -> Result<Vec<Tapped>, ShapeError> {
    if taps.is_empty() || taps.windows(2).any(|t| t[0] >= t[1]) || taps.last().is_some_and(|&t| t >= layers.len()) {
        return bad(format!("taps {taps:?} of {} layers", layers.len()));
    }
    if batch == 0 {
        return bad("an empty batch".to_string());
    }
    // Every layer checked before anything runs: its input is the previous layer's output.
    let mut plans = Vec::with_capacity(layers.len());
    let (mut len, mut size) = (x.len(), [h, w]);
    for layer in layers {
        let plan = layer.plan(len, batch, size[0], size[1])?;
        len = batch * layer.channels_out() * plan.out[0] * plan.out[1];
        plans.push((size, plan));
        size = plan.out;
    }
    let tapped = |i: usize, values: Vec<f32>| Tapped { values, channels: layers[i].channels_out(), size: plans[i].1.out };
    let last = taps[taps.len() - 1];
    let threads = rayon::current_num_threads();
    // Image by image only when every thread gets the same number of images, or at least two (then one more
    // than another is a smaller share).
    if !(batch.is_multiple_of(threads) || batch >= 2 * threads) {
        let (mut outputs, mut current) = (Vec::with_capacity(taps.len()), std::borrow::Cow::Borrowed(x));
        for (i, (layer, &(size, plan))) in layers.iter().zip(&plans).enumerate().take(last + 1) {
            let y = layer.run_batch(&current, batch, size, plan);
            if i == last {
                outputs.push(tapped(i, y));
                break;
            }
            if taps.contains(&i) {
                outputs.push(tapped(i, y.clone()));
            }
            current = std::borrow::Cow::Owned(y);
        }
        return Ok(outputs);
    }
    let zeros = |i: usize| vec![0.0; batch * layers[i].channels_out() * plans[i].1.out[0] * plans[i].1.out[1]];
    let mut outputs: Vec<Tapped> = taps.iter().map(|&i| tapped(i, zeros(i))).collect();
    // Each image's slice of every tapped output, then the images in parallel.
    let image_len = x.len() / batch;
    let mut per_image: Vec<Vec<&mut [f32]>> = (0..batch).map(|_| Vec::with_capacity(taps.len())).collect();
    for t in &mut outputs {
        let len = t.values.len() / batch;
        for (slices, slice) in per_image.iter_mut().zip(t.values.chunks_mut(len)) {
            slices.push(slice);
        }
    }
    per_image.into_par_iter().enumerate().for_each(|(n, mut tap_slices)| {
        PING_PONG.with_borrow_mut(|buffers| {
            let image = &x[n * image_len..][..image_len];
            // Where the current layer's input is: the image, a ping-pong buffer or a tapped output.
            enum From {
                Image,
                Buffer(usize),
                Tap(usize),
            }
            let mut from = From::Image;
            let mut next_tap = 0;
            for (i, (layer, &(size, plan))) in layers.iter().zip(&plans).enumerate().take(last + 1) {
                let out_len = layer.channels_out() * plan.out[0] * plan.out[1];
                if taps[next_tap] == i {
                    let (done, rest) = tap_slices.split_at_mut(next_tap);
                    let input: &[f32] = match from {
                        From::Image => image,
                        From::Buffer(b) => &buffers[b],
                        From::Tap(t) => done[t],
                    };
                    layer.run_image(input, size, plan, rest[0]);
                    from = From::Tap(next_tap);
                    next_tap += 1;
                } else {
                    let b = match from {
                        From::Buffer(b) => 1 - b,
                        From::Image | From::Tap(_) => 0,
                    };
                    let [first, second] = buffers;
                    let (out, other) = if b == 0 { (first, &*second) } else { (second, &*first) };
                    out.clear();
                    out.resize(out_len, 0.0);
                    let input: &[f32] = match from {
                        From::Image => image,
                        From::Buffer(_) => other,
                        From::Tap(t) => tap_slices[t],
                    };
                    layer.run_image(input, size, plan, out);
                    from = From::Buffer(b);
                }
            }
        })
    });
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activation, PackedWeights};

    fn values(n: usize, seed: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0) * scale).collect()
    }

    /// Every layer's `forward` on the whole batch, one after the other: what the stack must reproduce.
    fn layer_by_layer(layers: &[Layer<'_>], x: &[f32], batch: usize, h: usize, w: usize) -> Vec<Vec<f32>> {
        let (mut current, mut size, mut all) = (x.to_vec(), [h, w], Vec::new());
        for layer in layers {
            let y = match layer {
                Layer::Conv(c) => c.forward(&current, batch, size[0], size[1]).unwrap(),
                Layer::Block(b) => b.forward(&current, batch, size[0], size[1]).unwrap(),
            };
            size = match layer {
                Layer::Conv(c) => c.output_size(size[0], size[1]).map(|(a, b)| [a, b]).unwrap(),
                Layer::Block(b) => <[usize; 2]>::from(b.output_size(size[0], size[1])),
            };
            all.push(y.clone());
            current = y;
        }
        all
    }

    /// A BlazeFace-like stack (a 5×5 stride-2 stem, blocks that widen and halve) and a swap-network-like one
    /// (deep 3×3 layers on small planes, packed weights), each at a batch that runs layer by layer and at one
    /// that runs image by image: the same bits as layer by layer, at every tap.
    #[test]
    fn stacks_match_layer_by_layer_bit_for_bit() {
        let stem_w = values(24 * 3 * 25, 1, 0.1);
        let stem_b = values(24, 2, 0.01);
        let blocks: Vec<_> = [(24, 24, 1), (24, 28, 2), (28, 32, 1), (32, 40, 2)]
            .iter()
            .enumerate()
            .map(|(i, &(ci, co, s))| (ci, co, s, values(ci * 9, i + 10, 0.2), values(ci, i + 20, 0.01), values(co * ci, i + 30, 0.2), values(co, i + 40, 0.01)))
            .collect();
        let mut blaze = vec![Layer::Conv(Conv2d { channels_in: 3, channels_out: 24, kernel: 5, stride: 2, padding: [1, 1, 2, 2], weight: &stem_w, bias: &stem_b, activation: Activation::Relu, packed: None })];
        blaze.extend(blocks.iter().map(|(ci, co, s, dw, dwb, pw, pwb)| {
            Layer::Block(BlazeBlock { channels_in: *ci, channels_out: *co, stride: *s, depthwise: dw, depthwise_bias: dwb, pointwise: pw, pointwise_bias: pwb, activation: Activation::Relu })
        }));
        let deep: Vec<_> = [(16, 64, 3, 2), (64, 128, 3, 1), (128, 40, 3, 1)].iter().enumerate().map(|(i, &(ci, co, k, s))| (ci, co, k, s, values(co * ci * k * k, i + 50, 0.05), values(co, i + 60, 0.01))).collect();
        let packed: Vec<_> = deep.iter().map(|(ci, co, k, _, w, _)| PackedWeights::new(w, *co, ci * k * k).unwrap()).collect();
        let swap: Vec<_> = deep
            .iter()
            .zip(&packed)
            .map(|((ci, co, k, s, w, b), p)| Layer::Conv(Conv2d { channels_in: *ci, channels_out: *co, kernel: *k, stride: *s, padding: [1; 4], weight: w, bias: b, activation: Activation::Leaky(0.1), packed: Some(p) }))
            .collect();
        for (name, layers, channels, side, taps) in [("blaze", &blaze, 3, 40, vec![2, 4]), ("swap", &swap, 16, 8, vec![0, 2])] {
            // Layer by layer (one image, unless the pool has one thread) and image by image.
            for batch in [1, 2 * rayon::current_num_threads() + 1] {
                let x = values(batch * channels * side * side, batch, 1.0);
                let want = layer_by_layer(layers, &x, batch, side, side);
                let got = run_stack(layers, &taps, &x, batch, side, side).unwrap();
                for (t, &i) in got.iter().zip(&taps) {
                    assert_eq!(t.values.len(), want[i].len(), "{name}, batch {batch}, tap {i}");
                    assert!(t.values.iter().zip(&want[i]).all(|(a, b)| a.to_bits() == b.to_bits()), "{name}, batch {batch}, tap {i}: values differ");
                    assert!(t.values.iter().any(|&v| v != 0.0), "{name}, batch {batch}, tap {i}: all zero");
                }
            }
        }
    }

    #[test]
    fn bad_stacks_are_errors() {
        let (w, b) = (values(8 * 4 * 9, 1, 0.1), values(8, 2, 0.1));
        let conv = Layer::Conv(Conv2d { channels_in: 4, channels_out: 8, kernel: 3, stride: 1, padding: [1; 4], weight: &w, bias: &b, activation: Activation::Identity, packed: None });
        let x = values(2 * 4 * 6 * 6, 3, 1.0);
        for taps in [&[][..], &[1], &[0, 0]] {
            assert!(run_stack(&[conv, conv], taps, &x, 2, 6, 6).is_err(), "taps {taps:?}");
        }
        // The second layer gets 8 channels where it expects 4: refused before anything runs.
        assert!(run_stack(&[conv, conv], &[1], &x, 2, 6, 6).is_err(), "8 channels into a 4-channel layer");
        assert!(run_stack(&[conv], &[0], &x, 2, 6, 6).is_ok());
        assert!(run_stack(&[conv], &[0], &x[1..], 2, 6, 6).is_err(), "short input");
        assert!(run_stack(&[conv], &[0], &[], 0, 6, 6).is_err(), "empty batch");
    }
}
