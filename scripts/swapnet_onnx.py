#!/usr/bin/env python3
"""Exports a faceswap-ofx swap model (a `faceswap train` .safetensors file) to ONNX, one file per identity.

The graph is rebuilt op by op from src/model/swapnet/{encoder,inter,decoder,mod}.rs with the `onnx` helper
API; the weights are the model file's tensors, unchanged (float32). The network's shape (DF or LIAE,
resolution, channel widths, identities) is read from the file's `__metadata__["config"]`, as
`SwapModel::load` does.

Each exported file takes `crop` [N, 3, R, R], RGB in [0, 1], planar, as `pipeline::run::swap_faces` feeds the
network (the aligned crop of `align::warp_to_crop`, channels split into planes), and gives `rgb` [N, 3, R, R]
and `mask` [N, 1, R, R], both after the sigmoid, in [0, 1]: what `SwapNet::forward(x, identity)` returns.

    python3 scripts/swapnet_onnx.py [--model models/default.safetensors] [--out DIR]

writes DIR/<model stem>_<identity name>.onnx (DIR defaults to $HOME/.cache/faceswap-ofx/onnx). Needs numpy,
onnx and safetensors (scripts/requirements-convert.txt; scripts/bench_onnxruntime.py runs it in that venv).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "models" / "default.safetensors"
OPSET = 17
# The IR version that came with opset 17 (onnx 1.12): the installed onnx package writes a newer one by default,
# which onnxruntime may not read yet.
IR_VERSION = 8

# Leaky ReLU slopes, as the Rust blocks set them.
ENCODER_SLOPE = 0.1  # encoder.rs
UPSCALE_SLOPE = 0.1  # decoder.rs, Upscale (also the inter block's upscale)
RESIDUAL_SLOPE = 0.2  # decoder.rs, Residual


def read_meta(path: Path) -> dict:
    """The `__metadata__` of a swap model file (JSON strings under "config", "identities", "template"...)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        meta = f.metadata() or {}
    if meta.get("format") != "faceswap-ofx.swapnet":
        raise SystemExit(f"{path}: not a faceswap-ofx swap model (format {meta.get('format')!r})")
    return meta


def read_model(path: Path):
    """(config, identity names, {tensor name: float32 array}) of a swap model file."""
    from safetensors.numpy import load_file

    meta = read_meta(path)
    weights = load_file(str(path))
    config = json.loads(meta["config"])
    names = json.loads(meta["identities"])
    # The defaults of SwapNetConfig (src/model/swapnet/mod.rs) for fields a config may leave out.
    config = {"arch": "Df", "encoder_channels": 32, "bottleneck": 256, "decoder_channels": 32, **config}
    return config, names, weights


class Graph:
    """Nodes and initializers of one ONNX graph, with fresh names for intermediate values."""

    def __init__(self, weights: dict):
        self.weights = weights
        self.nodes, self.inits, self.used = [], [], set()
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def param(self, key: str) -> str:
        from onnx import numpy_helper

        if key not in self.used:
            self.used.add(key)
            self.inits.append(numpy_helper.from_array(self.weights[key], key))
        return key

    def const(self, hint: str, value) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, kind: str, inputs: list, hint: str, **attrs) -> str:
        from onnx import helper

        out = self.name(hint)
        self.nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x: str, prefix: str, kernel: int, stride: int = 1, pads=None) -> str:
        # Burn's Conv2d weight is [out, in, kh, kw], ONNX's layout. Same padding of a 3x3 stride-1 conv is 1.
        pads = pads or [1, 1, 1, 1]
        return self.op("Conv", [x, self.param(f"{prefix}.weight"), self.param(f"{prefix}.bias")], prefix,
                       kernel_shape=[kernel, kernel], strides=[stride, stride], pads=pads)

    def leaky(self, x: str, slope: float) -> str:
        return self.op("LeakyRelu", [x], "leaky", alpha=slope)

    def upscale(self, x: str, prefix: str) -> str:
        """decoder.rs `Upscale`: conv to 4x channels, leaky ReLU, depth-to-space. Burn's `depth_to_space`
        reshapes to [b, c, 2, 2, h, w] and permutes (0, 1, 4, 2, 5, 3): ONNX DepthToSpace in CRD mode."""
        y = self.leaky(self.conv(x, f"{prefix}.conv", 3), UPSCALE_SLOPE)
        return self.op("DepthToSpace", [y], "d2s", blocksize=2, mode="CRD")

    def linear(self, x: str, prefix: str) -> str:
        # Burn's Linear weight is [in, out]: y = x W + b, Gemm without transposes.
        return self.op("Gemm", [x, self.param(f"{prefix}.weight"), self.param(f"{prefix}.bias")], prefix)


def encoder(g: Graph, x: str) -> str:
    """encoder.rs: four 5x5 stride-2 convs; Burn's Explicit(1, 1, 2, 2) is (top, left, bottom, right), the
    order of ONNX's `pads` too (TF SAME: the odd pixel bottom/right)."""
    for level in range(4):
        x = g.leaky(g.conv(x, f"encoder.convs.{level}", 5, 2, [1, 1, 2, 2]), ENCODER_SLOPE)
    return x


def inter(g: Graph, x: str, i: int, side: int, channels: int) -> str:
    """inter.rs: flatten (C, H, W order), two dense layers, reshape to [b, channels, side, side], upscale."""
    import numpy as np

    v = g.op("Flatten", [x], "flatten", axis=1)
    v = g.linear(g.linear(v, f"inters.{i}.dense_in"), f"inters.{i}.dense_out")
    shape = g.const("grid_shape", np.array([-1, channels, side, side], dtype=np.int64))
    return g.upscale(g.op("Reshape", [v, shape], "grid"), f"inters.{i}.up")


def decoder(g: Graph, x: str, d: int) -> tuple:
    """decoder.rs: three levels of upscale + residual block; the mask branch upscales the same latent alone.
    Returns (rgb, mask) logits."""
    y = x
    for level in range(3):
        y = g.upscale(y, f"decoders.{d}.ups.{level}")
        r = f"decoders.{d}.res.{level}"
        z = g.conv(g.leaky(g.conv(y, f"{r}.a", 3), RESIDUAL_SLOPE), f"{r}.b", 3)
        y = g.leaky(g.op("Add", [y, z], "skip"), RESIDUAL_SLOPE)
    m = x
    for level in range(3):
        m = g.upscale(m, f"decoders.{d}.mask_ups.{level}")
    return g.conv(y, f"decoders.{d}.rgb_head", 3), g.conv(m, f"decoders.{d}.mask_head", 3)


def build(config: dict, weights: dict, identity: int):
    """The ONNX model of `SwapNet::forward(x, identity)` for a network of `config`."""
    import onnx
    from onnx import TensorProto, helper

    res, arch = config["resolution"], config["arch"]
    side, channels = res // 16, config["decoder_channels"] * 8
    identity = min(identity, config["identities"] - 1)  # SwapNet::forward clamps the same way
    g = Graph(weights)
    code = encoder(g, "crop")
    if arch == "Df":
        latent, d = inter(g, code, 0, side, channels), identity
    elif arch == "Liae":
        # mod.rs: the identity's inter block next to the shared one (identity 0), concatenated on channels.
        own = inter(g, code, identity, side, channels)
        common = own if identity == 0 else inter(g, code, 0, side, channels)
        latent, d = g.op("Concat", [own, common], "latent", axis=1), 0
    else:
        raise SystemExit(f"unknown architecture {arch!r}")
    rgb, mask = decoder(g, latent, d)
    g.nodes.append(helper.make_node("Sigmoid", [rgb], ["rgb"], name="rgb"))
    g.nodes.append(helper.make_node("Sigmoid", [mask], ["mask"], name="mask"))
    io = lambda name, c: helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", c, res, res])
    graph = helper.make_graph(g.nodes, f"swapnet_{arch.lower()}_{res}_id{identity}", [io("crop", 3)],
                              [io("rgb", 3), io("mask", 1)], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="faceswap-ofx scripts/swapnet_onnx.py", ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    return model


def weight_shapes(config: dict) -> dict:
    """{tensor name: shape} of the network `SwapNetConfig::init` builds for `config` (mod.rs and the blocks)."""
    enc, dec, res = config["encoder_channels"], config["decoder_channels"], config["resolution"]
    side, channels = res // 16, dec * 8
    shapes = {}

    def conv(prefix, c_out, c_in, k=3):
        shapes[f"{prefix}.weight"], shapes[f"{prefix}.bias"] = (c_out, c_in, k, k), (c_out,)

    c_in = 3
    for level in range(4):
        conv(f"encoder.convs.{level}", enc << level, c_in, 5)
        c_in = enc << level
    per_identity = config["arch"] == "Liae"
    for i in range(config["identities"] if per_identity else 1):
        for name, (a, b) in (("dense_in", (c_in * side * side, config["bottleneck"])),
                             ("dense_out", (config["bottleneck"], side * side * channels))):
            shapes[f"inters.{i}.{name}.weight"], shapes[f"inters.{i}.{name}.bias"] = (a, b), (b,)
        conv(f"inters.{i}.up.conv", channels * 4, channels)
    for d in range(1 if per_identity else config["identities"]):
        c = cm = channels * (2 if per_identity else 1)
        for level, w in enumerate((dec * 4, dec * 2, dec)):
            conv(f"decoders.{d}.ups.{level}.conv", w * 4, c)
            conv(f"decoders.{d}.res.{level}.a", w, w)
            conv(f"decoders.{d}.res.{level}.b", w, w)
            conv(f"decoders.{d}.mask_ups.{level}.conv", w // 2 * 4, cm)
            c, cm = w, w // 2
        conv(f"decoders.{d}.rgb_head", 3, c)
        conv(f"decoders.{d}.mask_head", 1, cm)
    return shapes


def random_weights(config: dict, seed: int = 1) -> dict:
    """Weights of the right shapes for timing (the arithmetic does not depend on their values), scaled by
    1/sqrt(fan-in) so activations stay in a normal range."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in weight_shapes(config).items():
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        out[name] = (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
    return out


def export(model_path: Path, out_dir: Path) -> list:
    """Writes one ONNX file per identity; returns [(identity name, path)]."""
    import onnx

    config, names, weights = read_model(model_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, name in enumerate(names):
        path = out_dir / f"{model_path.stem}_{name}.onnx"
        onnx.save(build(config, weights, i), str(path))
        written.append((name, path))
    return written


def main() -> None:
    from bench_onnxruntime import ONNX_DIR, ensure_venv

    ensure_venv(__file__)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="swap model file (.safetensors)")
    parser.add_argument("--out", type=Path, default=ONNX_DIR, help="folder for the ONNX files")
    args = parser.parse_args()
    for name, path in export(args.model, args.out):
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
