#!/usr/bin/env python3
"""Architecture spec and pure-numpy reference forward pass for the two
MediaPipe face networks used by faceswap-ofx:

* BlazeFace short-range face detector (128x128 input, 896 anchors)
* FaceMesh 468-point face landmark model (192x192 input)

The op lists built here are the single source of truth for three things:

1. the per-op architecture tables written into ``models/*.md``,
2. the structural check that the converter runs against the ONNX graph that
   tflite2onnx produced (every conv's kernel/stride/padding/groups and every
   edge of the graph must match), and
3. the numpy forward pass below, which rebuilds each network from nothing but
   ``models/*.safetensors`` and these lists.

If the numpy forward pass matches onnxruntime on real images, the tables in
the model cards describe the network exactly; the Rust/Burn implementation
mirrors the same module tree and tensor names.

Run standalone (needs only numpy and safetensors) to re-check the committed
weights against the committed fixtures:

    python3 scripts/reference_forward.py

Layout conventions: activations are NCHW float32 with batch 1, conv weights
are [out, in/groups, kh, kw] (PyTorch/Burn layout), conv biases [out], PReLU
slopes [C].  Padding is always written (top, bottom, left, right).
"""
from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

Shape = Tuple[int, ...]


# --------------------------------------------------------------------------
# Spec data structures
# --------------------------------------------------------------------------

@dataclass
class Op:
    """One node of the network, in execution order."""
    kind: str                      # conv | relu | prelu | add | maxpool |
                                   # pad_channels | to_anchors | concat
    inputs: List[str]              # names of input activations
    output: str                    # name of the output activation
    in_shapes: List[Shape]
    out_shape: Shape
    # conv / pool geometry
    kernel: Optional[int] = None
    stride: Optional[int] = None
    pads: Optional[Tuple[int, int, int, int]] = None   # top, bottom, left, right
    groups: Optional[int] = None
    # pad_channels: number of zero channels appended after the existing ones
    extra_channels: Optional[int] = None
    # to_anchors: values per anchor in the output
    per_anchor: Optional[int] = None
    # learned tensors: clean safetensors name -> shape
    params: Dict[str, Shape] = field(default_factory=dict)
    # name of the same layer in the tflite / ONNX graph (for conv and prelu)
    source: Optional[str] = None


def tf_same_padding(size: int, kernel: int, stride: int) -> Tuple[int, int, int]:
    """TensorFlow 'SAME' padding along one axis.

    Returns (output size, pad before, pad after).  TF puts the odd extra pixel
    AFTER (bottom/right), so a 3x3 stride-2 conv on an even size pads
    (0, 1) and a 5x5 stride-2 conv on 128 pads (1, 2).
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


class NetBuilder:
    """Small helper that appends Ops and tracks activation shapes."""

    def __init__(self, name: str, input_name: str, input_shape: Shape):
        self.name = name
        self.input_name = input_name
        self.input_shape = input_shape
        self.shapes: Dict[str, Shape] = {input_name: input_shape}
        self.ops: List[Op] = []
        self.outputs: List[str] = []

    def _add(self, op: Op) -> str:
        assert op.output not in self.shapes, f"duplicate tensor {op.output}"
        self.shapes[op.output] = op.out_shape
        self.ops.append(op)
        return op.output

    def conv(self, out: str, x: str, cout: int, kernel: int, stride: int,
             param: str, source: str, groups: int = 1) -> str:
        n, cin, h, w = self.shapes[x]
        ho, pt, pb = tf_same_padding(h, kernel, stride)
        wo, pl, pr = tf_same_padding(w, kernel, stride)
        return self._add(Op(
            "conv", [x], out, [self.shapes[x]], (n, cout, ho, wo),
            kernel=kernel, stride=stride, pads=(pt, pb, pl, pr), groups=groups,
            params={f"{param}.weight": (cout, cin // groups, kernel, kernel),
                    f"{param}.bias": (cout,)},
            source=source))

    def conv_valid(self, out: str, x: str, cout: int, kernel: int,
                   stride: int, param: str, source: str) -> str:
        """Conv without padding (used by the FaceMesh 3x3/stride-3 heads)."""
        n, cin, h, w = self.shapes[x]
        ho, wo = (h - kernel) // stride + 1, (w - kernel) // stride + 1
        return self._add(Op(
            "conv", [x], out, [self.shapes[x]], (n, cout, ho, wo),
            kernel=kernel, stride=stride, pads=(0, 0, 0, 0), groups=1,
            params={f"{param}.weight": (cout, cin, kernel, kernel),
                    f"{param}.bias": (cout,)},
            source=source))

    def relu(self, out: str, x: str) -> str:
        s = self.shapes[x]
        return self._add(Op("relu", [x], out, [s], s))

    def prelu(self, out: str, x: str, param: str, source: str) -> str:
        s = self.shapes[x]
        return self._add(Op("prelu", [x], out, [s], s,
                            params={f"{param}.alpha": (s[1],)}, source=source))

    def maxpool(self, out: str, x: str) -> str:
        n, c, h, w = self.shapes[x]
        # Every pooled map in both networks has an even size, so TF 'SAME'
        # and 'VALID' agree: no padding at all.
        assert h % 2 == 0 and w % 2 == 0, "odd-sized max-pool not expected"
        return self._add(Op("maxpool", [x], out, [self.shapes[x]],
                            (n, c, h // 2, w // 2), kernel=2, stride=2,
                            pads=(0, 0, 0, 0)))

    def pad_channels(self, out: str, x: str, extra: int) -> str:
        n, c, h, w = self.shapes[x]
        return self._add(Op("pad_channels", [x], out, [self.shapes[x]],
                            (n, c + extra, h, w), extra_channels=extra))

    def add(self, out: str, a: str, b: str) -> str:
        assert self.shapes[a] == self.shapes[b], (a, b)
        return self._add(Op("add", [a, b], out,
                            [self.shapes[a], self.shapes[b]], self.shapes[a]))

    def to_anchors(self, out: str, x: str, per_anchor: int) -> str:
        n, c, h, w = self.shapes[x]
        assert c % per_anchor == 0
        return self._add(Op("to_anchors", [x], out, [self.shapes[x]],
                            (n, h * w * (c // per_anchor), per_anchor),
                            per_anchor=per_anchor))

    def concat(self, out: str, xs: Sequence[str]) -> str:
        shapes = [self.shapes[x] for x in xs]
        total = sum(s[1] for s in shapes)
        return self._add(Op("concat", list(xs), out, shapes,
                            (shapes[0][0], total, shapes[0][2])))

    def block(self, prefix: str, x: str, cout: int, stride: int, act: str,
              src_dw: str, src_pw: str, src_act: Optional[str]) -> str:
        """BlazeBlock: depthwise 3x3 -> pointwise 1x1, plus a skip path.

        Skip path: max-pool 2x2/2 when the block is stride 2, then zero
        channel padding when the block widens.  Then add and activation.
        """
        cin = self.shapes[x][1]
        dw = self.conv(f"{prefix}.dw", x, cin, 3, stride, f"{prefix}.dw",
                       src_dw, groups=cin)
        pw = self.conv(f"{prefix}.pw", dw, cout, 1, 1, f"{prefix}.pw", src_pw)
        skip = x
        if stride == 2:
            skip = self.maxpool(f"{prefix}.pool", skip)
        if cout > cin:
            skip = self.pad_channels(f"{prefix}.chpad", skip, cout - cin)
        s = self.add(f"{prefix}.add", skip, pw)
        if act == "relu":
            return self.relu(f"{prefix}.out", s)
        return self.prelu(f"{prefix}.out", s, f"{prefix}.prelu", src_act)


def tfl(base: str, i: int) -> str:
    """TFLite/Keras layer naming: first layer has no suffix, then _1, _2..."""
    return base if i == 0 else f"{base}_{i}"


# --------------------------------------------------------------------------
# BlazeFace short range
# --------------------------------------------------------------------------

# (out channels, stride) for the 16 BlazeBlocks after the stem.
BLAZEFACE_BLOCKS = [
    (24, 1), (28, 1), (32, 2), (36, 1), (42, 1), (48, 2), (56, 1), (64, 1),
    (72, 1), (80, 1), (88, 1), (96, 2), (96, 1), (96, 1), (96, 1), (96, 1),
]


def build_blazeface() -> NetBuilder:
    net = NetBuilder("blazeface_short_range", "input", (1, 3, 128, 128))
    x = net.conv("stem", "input", 24, 5, 2, "stem", "conv2d")
    x = net.relu("stem.out", x)
    feat16 = None
    for i, (cout, stride) in enumerate(BLAZEFACE_BLOCKS):
        x = net.block(f"blocks.{i}", x, cout, stride, "relu",
                      tfl("depthwise_conv2d", i), f"conv2d_{i + 1}", None)
        if i == 10:
            feat16 = x       # 88 x 16 x 16: feeds the stride-8 heads
    feat8 = x                # 96 x 8 x 8: feeds the stride-16 heads
    # Heads: 1x1 convs.  The suffix is the anchor stride in input pixels
    # (MediaPipe's own naming): _8 = 16x16 grid with 2 anchors per cell,
    # _16 = 8x8 grid with 6 anchors per cell.
    c8 = net.conv("head_cls_8", feat16, 2, 1, 1, "head_cls_8", "classificator_8")
    c16 = net.conv("head_cls_16", feat8, 6, 1, 1, "head_cls_16", "classificator_16")
    r8 = net.conv("head_reg_8", feat16, 32, 1, 1, "head_reg_8", "regressor_8")
    r16 = net.conv("head_reg_16", feat8, 96, 1, 1, "head_reg_16", "regressor_16")
    a_c8 = net.to_anchors("head_cls_8.anchors", c8, 1)
    a_c16 = net.to_anchors("head_cls_16.anchors", c16, 1)
    a_r8 = net.to_anchors("head_reg_8.anchors", r8, 16)
    a_r16 = net.to_anchors("head_reg_16.anchors", r16, 16)
    net.concat("classificators", [a_c8, a_c16])
    net.concat("regressors", [a_r8, a_r16])
    net.outputs = ["regressors", "classificators"]
    return net


# --------------------------------------------------------------------------
# FaceMesh (468 landmarks)
# --------------------------------------------------------------------------

# (out channels, stride) for the 14 shared backbone blocks after the stem.
FACEMESH_BLOCKS = [
    (16, 1), (16, 1), (32, 2), (32, 1), (32, 1), (64, 2), (64, 1), (64, 1),
    (128, 2), (128, 1), (128, 1), (128, 2), (128, 1), (128, 1),
]


def _facemesh_branch(net: NetBuilder, name: str, x: str,
                     strides: Sequence[int], head_out: int,
                     src: dict) -> str:
    """One output branch: 128-ch blocks, 1x1 reduce to 32 + PReLU, one 32-ch
    block, then a 3x3 stride-3 VALID conv that turns the 3x3 map into 1x1."""
    for j, stride in enumerate(strides):
        dw, pw, act = src["blocks"][j]
        x = net.block(f"{name}.blocks.{j}", x, 128, stride, "prelu", dw, pw, act)
    x = net.conv(f"{name}.reduce", x, 32, 1, 1, f"{name}.reduce", src["reduce"])
    x = net.prelu(f"{name}.reduce.out", x, f"{name}.reduce_prelu",
                  src["reduce_prelu"])
    dw, pw, act = src["refine"]
    x = net.block(f"{name}.refine", x, 32, 1, "prelu", dw, pw, act)
    return net.conv_valid(f"{name}.head", x, head_out, 3, 3, f"{name}.head",
                          src["head"])


def build_facemesh() -> NetBuilder:
    net = NetBuilder("face_landmark", "input", (1, 3, 192, 192))
    x = net.conv("stem", "input", 16, 3, 2, "stem", "conv2d")
    x = net.prelu("stem.out", x, "stem_prelu", "p_re_lu")
    for i, (cout, stride) in enumerate(FACEMESH_BLOCKS):
        x = net.block(f"blocks.{i}", x, cout, stride, "prelu",
                      tfl("depthwise_conv2d", i), f"conv2d_{i + 1}",
                      f"p_re_lu_{i + 1}")
    trunk = x    # 128 x 6 x 6, shared by both branches
    mesh_src = {
        "blocks": [("depthwise_conv2d_14", "conv2d_15", "p_re_lu_15"),
                   ("depthwise_conv2d_15", "conv2d_16", "p_re_lu_16"),
                   ("depthwise_conv2d_16", "conv2d_17", "p_re_lu_17")],
        "reduce": "conv2d_18", "reduce_prelu": "p_re_lu_18",
        "refine": ("depthwise_conv2d_17", "conv2d_19", "p_re_lu_19"),
        "head": "conv2d_20",
    }
    presence_src = {
        "blocks": [("depthwise_conv2d_22", "conv2d_27", "p_re_lu_25")],
        "reduce": "conv2d_28", "reduce_prelu": "p_re_lu_26",
        "refine": ("depthwise_conv2d_23", "conv2d_29", "p_re_lu_27"),
        "head": "conv2d_30",
    }
    _facemesh_branch(net, "mesh", trunk, [2, 1, 1], 1404, mesh_src)
    _facemesh_branch(net, "presence", trunk, [2], 1, presence_src)
    net.outputs = ["mesh.head", "presence.head"]
    return net


NETWORKS = {
    "blazeface_short_range": build_blazeface,
    "face_landmark": build_facemesh,
}


# --------------------------------------------------------------------------
# numpy forward pass
# --------------------------------------------------------------------------

def _conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int,
            pads: Tuple[int, int, int, int], groups: int) -> np.ndarray:
    pt, pb, pl, pr = pads
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    cout, cin_g, kh, kw = w.shape
    if kh == 1 and kw == 1 and groups == 1:
        y = np.einsum("nchw,oc->nohw", x[:, :, ::stride, ::stride], w[:, :, 0, 0])
    else:
        # windows: [n, c, out_h, out_w, kh, kw]
        win = np.lib.stride_tricks.sliding_window_view(
            x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
        if groups == 1:
            y = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
        elif groups == x.shape[1] == cout and cin_g == 1:   # depthwise
            y = np.einsum("nchwij,cij->nchw", win, w[:, 0], optimize=True)
        else:
            raise NotImplementedError("grouped conv other than depthwise")
    return y + b[None, :, None, None]


def forward(net: NetBuilder, weights: Dict[str, np.ndarray], x: np.ndarray,
            dtype=np.float64) -> Dict[str, np.ndarray]:
    """Run the op list on input x (NCHW); returns every output tensor.

    The default float64 gives a "true" value to measure float32 runtimes
    against; pass dtype=np.float32 to mimic a float32 implementation.
    """
    env = {net.input_name: x.astype(dtype)}
    p = {k: v.astype(dtype) for k, v in weights.items()}
    for op in net.ops:
        ins = [env[i] for i in op.inputs]
        if op.kind == "conv":
            (wname, bname) = sorted(op.params, key=lambda k: k.endswith(".bias"))
            y = _conv2d(ins[0], p[wname], p[bname], op.stride, op.pads, op.groups)
        elif op.kind == "relu":
            y = np.maximum(ins[0], 0)
        elif op.kind == "prelu":
            (aname,) = op.params
            a = p[aname][None, :, None, None]
            y = np.where(ins[0] >= 0, ins[0], ins[0] * a)
        elif op.kind == "add":
            y = ins[0] + ins[1]
        elif op.kind == "maxpool":
            t = ins[0]
            n, c, h, w = t.shape
            y = t.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
        elif op.kind == "pad_channels":
            y = np.pad(ins[0], ((0, 0), (0, op.extra_channels), (0, 0), (0, 0)))
        elif op.kind == "to_anchors":
            # NCHW -> NHWC, then flatten: anchor index = (y*W + x)*A + a and
            # value j of anchor a is channel a*per_anchor + j.
            t = ins[0].transpose(0, 2, 3, 1)
            y = t.reshape(t.shape[0], -1, op.per_anchor)
        elif op.kind == "concat":
            y = np.concatenate(ins, axis=1)
        else:
            raise ValueError(op.kind)
        assert y.shape == op.out_shape, (op.output, y.shape, op.out_shape)
        env[op.output] = y
    return {name: env[name] for name in net.outputs}


# --------------------------------------------------------------------------
# comparison against onnxruntime outputs (used by convert_weights.py too)
# --------------------------------------------------------------------------

# Fixture tensor names of the onnxruntime outputs, per network output.
FIXTURE_OUTPUTS = {
    "blazeface_short_range": {"regressors": "regressors",
                              "classificators": "classificators"},
    "face_landmark": {"mesh.head": "landmarks",
                      "presence.head": "presence_logit"},
}
FIXTURE_SUFFIX = {"blazeface_short_range": "blazeface",
                  "face_landmark": "facemesh"}

# Pass criterion, per output element: |numpy - onnxruntime| <= TOL * max(1, |ref|).
# The outputs reach ~250 (regressors / landmarks are in input pixels), where
# one float32 ulp is 1.5e-5 and two float32 runtimes (onnxruntime vs the
# original TFLite) already disagree by ~1.5e-4, so a purely absolute 1e-4
# would test rounding luck rather than the architecture.  A wrong padding,
# activation or weight layout moves outputs by >> 1e-2 (see
# symmetric_padding_variant).
TOL = 1e-4


def compare(net: NetBuilder, weights: Dict[str, np.ndarray],
            fixtures: Sequence[Dict[str, np.ndarray]], model: str,
            dtype=np.float64) -> Dict[str, Tuple[float, float]]:
    """Per output: (max |diff|, max |diff| / max(1, |ref|)) over fixtures."""
    worst = {o: (0.0, 0.0) for o in net.outputs}
    for fx in fixtures:
        out = forward(net, weights, fx["input"], dtype)
        for o, fname in FIXTURE_OUTPUTS[model].items():
            ref = np.asarray(fx[fname], np.float64)
            d = np.abs(out[o].reshape(ref.shape) - ref)
            scaled = d / np.maximum(1.0, np.abs(ref))
            worst[o] = (max(worst[o][0], float(d.max())),
                        max(worst[o][1], float(scaled.max())))
    return worst


def symmetric_padding_variant(net: NetBuilder) -> NetBuilder:
    """The classic porting mistake: pad stride-2 convs symmetrically
    (PyTorch padding=k//2), which gives the same output shapes but shifts
    every sampling grid by one pixel.  Used to show the tolerance bites."""
    import copy
    bad = copy.copy(net)
    bad.ops = []
    for op in net.ops:
        if op.kind == "conv" and op.pads and (op.pads[0] != op.pads[1]):
            p = op.kernel // 2
            op = dataclasses.replace(op, pads=(p, p, p, p))
        bad.ops.append(op)
    return bad


def load_fixtures(repo: str, model: str) -> List[Dict[str, np.ndarray]]:
    from safetensors.numpy import load_file
    fixdir = os.path.join(repo, "tests", "fixtures", "face_analysis")
    files = sorted(f for f in os.listdir(fixdir)
                   if f.endswith(f"_{FIXTURE_SUFFIX[model]}.safetensors"))
    assert files, f"no fixtures for {model}"
    return [load_file(os.path.join(fixdir, f)) for f in files]


def main() -> int:
    """Re-check the committed weights against the committed fixtures."""
    from safetensors.numpy import load_file
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ok = True
    for model, build in NETWORKS.items():
        net = build()
        weights = load_file(os.path.join(repo, "models", f"{model}.safetensors"))
        fixtures = load_fixtures(repo, model)
        for dtype in (np.float64, np.float32):
            for o, (d, scaled) in compare(net, weights, fixtures, model, dtype).items():
                flag = "ok" if scaled <= TOL else "FAIL"
                ok &= scaled <= TOL
                print(f"{model:22s} {o:15s} numpy {np.dtype(dtype).name} vs onnxruntime: "
                      f"max|diff| = {d:.3e}, max|diff|/max(1,|ref|) = {scaled:.3e}  {flag}")
        bad = compare(symmetric_padding_variant(net), weights, fixtures, model)
        print(f"{model:22s} (symmetric-padding mistake would give max|diff| = "
              f"{max(d for d, _ in bad.values()):.3e})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
