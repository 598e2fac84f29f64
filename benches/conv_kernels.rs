//! The fused CPU kernels alone (`src/model/cpu_kernels`), on the layer shapes the networks run, with
//! deterministic synthetic values (timing does not depend on them):
//!
//! - `conv_kernels/swapnet_128`: the 19 convolutions of `SwapNetConfig::new(128, 2)` at batch 1 (2.45 GMAC:
//!   the encoder's 5×5 stride-2 levels, the upscales' and residual blocks' 3×3, the heads), one after the other.
//! - `conv_kernels/swapnet_64`: the same for the default model's shape (64 px, widths 16/128/16).
//! - `conv_kernels/blazeface_blocks_b16`: BlazeFace's 16 blocks on 16 tiles, as detection batches them.
//!
//! What Burn adds around them (depth-to-space, dense layers, reshapes) is in `swapnet.rs` and
//! `face_analysis.rs`. Run: `cargo bench --profile dev --bench conv_kernels`.

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use faceswap_cpu_kernels::{Activation, BlazeBlock, Conv2d, PackedWeights};
use std::hint::black_box;

/// (channels in, channels out, kernel, stride, padding, input side).
type ConvShape = (usize, usize, usize, usize, [usize; 4], usize);

const ENC: [usize; 4] = [1, 1, 2, 2];
const SAME: [usize; 4] = [1; 4];

/// The convolutions of a DF swap network (`src/model/swapnet`) at `res` px with encoder width `enc` and
/// decoder width `dec`, in the order a forward pass runs them: four 5×5 stride-2 encoder levels, the inter
/// block's upscale, three decoder levels (upscale, then a residual block's two 3×3), the mask branch's three
/// upscales, the RGB and mask heads.
fn swapnet(res: usize, enc: usize, dec: usize) -> Vec<ConvShape> {
    let mut shapes = Vec::new();
    let mut c = 3;
    for level in 0..4 {
        shapes.push((c, enc << level, 5, 2, ENC, res >> level));
        c = enc << level;
    }
    let inter = dec * 8;
    shapes.push((inter, inter * 4, 3, 1, SAME, res / 16));
    let widths = [dec * 4, dec * 2, dec];
    let (mut c, mut side) = (inter, res / 8);
    for w in widths {
        shapes.push((c, w * 4, 3, 1, SAME, side));
        side *= 2;
        shapes.extend([(w, w, 3, 1, SAME, side); 2]);
        c = w;
    }
    let (mut c, mut side) = (inter, res / 8);
    for w in widths {
        shapes.push((c, w / 2 * 4, 3, 1, SAME, side));
        c = w / 2;
        side *= 2;
    }
    shapes.extend([(dec, 3, 3, 1, SAME, res), (dec / 2, 1, 3, 1, SAME, res)]);
    shapes
}

/// BlazeFace's blocks: (channels in, channels out, stride, input side).
const BLAZEFACE: [(usize, usize, usize, usize); 16] = [
    (24, 24, 1, 64),
    (24, 28, 1, 64),
    (28, 32, 2, 64),
    (32, 36, 1, 32),
    (36, 42, 1, 32),
    (42, 48, 2, 32),
    (48, 56, 1, 16),
    (56, 64, 1, 16),
    (64, 72, 1, 16),
    (72, 80, 1, 16),
    (80, 88, 1, 16),
    (88, 96, 2, 16),
    (96, 96, 1, 8),
    (96, 96, 1, 8),
    (96, 96, 1, 8),
    (96, 96, 1, 8),
];

/// `n` values in [-scale, scale), deterministic.
fn values(n: usize, seed: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0) * scale).collect()
}

/// Each layer's input and weights, made once (packed weights too, as a loaded model keeps them).
struct Layer {
    shape: ConvShape,
    input: Vec<f32>,
    weight: Vec<f32>,
    bias: Vec<f32>,
    packed: Option<PackedWeights>,
}

fn layers(shapes: &[ConvShape]) -> Vec<Layer> {
    shapes
        .iter()
        .enumerate()
        .map(|(i, &shape @ (ci, co, k, _, _, side))| {
            let weight = values(co * ci * k * k, i + 100, 0.05);
            let packed = PackedWeights::worth_it(co).then(|| PackedWeights::new(&weight, co, ci * k * k).expect("valid shape"));
            Layer { shape, input: values(ci * side * side, i, 1.0), weight, bias: values(co, i + 200, 0.01), packed }
        })
        .collect()
}

fn run(layers: &[Layer]) {
    for l in layers {
        let (ci, co, k, stride, padding, side) = l.shape;
        let conv = Conv2d { channels_in: ci, channels_out: co, kernel: k, stride, padding, weight: &l.weight, bias: &l.bias, activation: Activation::Leaky(0.1), packed: l.packed.as_ref() };
        black_box(conv.forward(&l.input, 1, side, side).expect("valid shapes"));
    }
}

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv_kernels");
    // `SwapNetConfig::new(128, 2)`'s defaults, and the default model's shape.
    let (big, small) = (layers(&swapnet(128, 32, 32)), layers(&swapnet(64, 16, 16)));
    g.bench_function("swapnet_128", |b| b.iter(|| run(&big)));
    g.bench_function("swapnet_64", |b| b.iter(|| run(&small)));
    let batch = 16;
    let blocks: Vec<_> = BLAZEFACE
        .iter()
        .enumerate()
        .map(|(i, &(ci, co, s, side))| {
            (ci, co, s, side, values(batch * ci * side * side, i, 1.0), values(ci * 9, i + 100, 0.2), values(ci, i + 200, 0.01), values(co * ci, i + 300, 0.2), values(co, i + 400, 0.01))
        })
        .collect();
    g.bench_function("blazeface_blocks_b16", |b| {
        b.iter(|| {
            for (ci, co, stride, side, x, dw, dwb, pw, pwb) in &blocks {
                let block = BlazeBlock {
                    channels_in: *ci,
                    channels_out: *co,
                    stride: *stride,
                    depthwise: dw,
                    depthwise_bias: dwb,
                    pointwise: pw,
                    pointwise_bias: pwb,
                    activation: Activation::Relu,
                };
                black_box(block.forward(x, batch, *side, *side).expect("valid shapes"));
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = kernels
}
criterion_main!(benches);
