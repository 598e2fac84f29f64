#!/usr/bin/env python3
"""onnxruntime's side of the benchmarks in BENCHMARKS.md (issue #6): the same networks and the same per-frame
algorithm as our node, timed with onnxruntime on the CPU, next to criterion's figures for ours.

    python3 scripts/bench_onnxruntime.py [--runs 200] [--warmup 20] [--threads 2] [--frame-runs 10]
                                         [--model models/default.safetensors] [--write-fixture] [--rust-parity]

1. Swap-network export: the swap model (--model; DF or LIAE, any resolution, read from its header) is exported
   to ONNX, one file per identity, by scripts/swapnet_onnx.py into $HOME/.cache/faceswap-ofx/onnx/.
2. Parity: the export is run on the real aligned crop stored in tests/fixtures/swapnet/default_tos_0100.safetensors
   and compared with the onnxruntime outputs stored there. Our side of the comparison is
   `cargo test --workspace --test swapnet_onnx` (tests/swapnet_onnx.rs: the default model through Burn on the
   same crop, against the same stored outputs); --rust-parity runs that test from here and shows its figure.
   --write-fixture rewrites the fixture (after the default model changes): the crop comes from step 4's
   pipeline on the 1080p frame, aligned with the model's own template and resolution.
3. Batch-1 network timings: BlazeFace (short range, [1, 3, 128, 128]) and FaceMesh ([1, 3, 192, 192]) on the
   inputs of tests/fixtures/face_analysis/tos_0095_*.safetensors (tensor "input"), as
   `cargo bench --bench face_analysis` feeds them; the swap network of --model on the fixture crop, and the
   128 px network `benches/swapnet.rs` times (`SwapNetConfig::new(128, 2)`: DF, 32/256/32, random weights).
4. A whole 1080p frame (Tears of Steel frame 100, decoded by ffmpeg from ../shared/data and scaled
   640x360 -> 1920x1080 with a Catmull-Rom filter, as benches/common does), through scripts/frame_numpy.py's
   port of the node's algorithm: the 88-tile pyramid through BlazeFace in one batch, decode + NMS, FaceMesh
   twice on the detections, the largest face aligned into the crop of the 128 px bench network, swap, Reinhard
   colour transfer, warp back, mask erode 2 / feather 8, composite (the settings of
   `pipeline_1080p/run_one_face`). Network stages (onnxruntime) and numpy glue are timed apart; medians of
   --frame-runs frames after one warm-up frame.

"ours" is read from criterion's saved estimates (median of `<CARGO_TARGET_DIR>/criterion/<group>/<bench>/new/
estimates.json`, CARGO_TARGET_DIR defaulting to $HOME/.cache/faceswap-ofx/target); "not measured" when a bench
has not been run. This script never runs the Rust benches. The numpy glue is not a fair stand-in for Rust
loops (it is there so the frame runs end to end): compare network rows with network rows.

onnxruntime gets 2 intra-op threads and 1 inter-op thread: the 2 cores of the benchmark machine, as Burn's
flex backend uses (rayon, one thread a core).

Re-executes itself inside $HOME/.cache/faceswap-ofx/venv (made by convert_weights.py, with onnxruntime; the
frame step also needs pillow and ffmpeg); runs convert_weights.py first when the ONNX files are missing.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "faceswap-ofx"
VENV = CACHE / "venv"
ONNX_DIR = CACHE / "onnx"
FIXTURES = ROOT / "tests" / "fixtures" / "face_analysis"
SWAP_FIXTURE = ROOT / "tests" / "fixtures" / "swapnet" / "default_tos_0100.safetensors"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", CACHE / "target"))
DATA = Path(os.environ.get("FACESWAP_DATA", ROOT.parent / "shared" / "data"))
CLIP = "tears_of_steel/clip_01_tears_of_steel.mp4"
FRAME, FRAME_W, FRAME_H = 100, 1920, 1080

# (label, ONNX file, fixture file holding the input, input shape)
NETWORKS = [
    ("blazeface_b1", "blazeface_short_range.onnx", "tos_0095_blazeface.safetensors", (1, 3, 128, 128)),
    ("facemesh_b1", "face_landmark.onnx", "tos_0095_facemesh.safetensors", (1, 3, 192, 192)),
]
# The swap network benches/swapnet.rs times: SwapNetConfig::new(128, 2) with its defaults.
BENCH_SWAPNET = {"resolution": 128, "identities": 2, "arch": "Df", "encoder_channels": 32, "bottleneck": 256,
                 "decoder_channels": 32}
# The node's defaults that `pipeline_1080p/run_one_face` uses (node/params.rs).
THRESHOLD, MASK_ERODE, MASK_FEATHER = 0.5, 2.0, 8.0
# Largest |ours - onnxruntime| accepted on the swap network's outputs (RGB and mask, after the sigmoid, in
# [0, 1]), and the largest drift of the export from the fixture. Both run float32 with different convolution
# algorithms (Burn's flex vs MLAS), so sums of up to 3·3·512 products are rounded in a different order; on the
# fixture crop ours differs by 5.4e-7 (2026-12-05: about 9 float32 steps at 0.5). 1e-5 leaves a factor of 20
# for other CPUs and thread counts (SIMD width and blocking change the summation order), while a wrong padding,
# slope or decoder index moves outputs by 0.1 or more (checked: pads swapped 0.43, upscale slope 0.2 instead of
# 0.1 0.13, the other identity's decoder 0.51).
PARITY_TOLERANCE = 1e-5


def ensure_venv(script: str = __file__) -> None:
    """Re-exec `script` inside the converter's venv unless we are already running in it."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        print(f"[venv] {VENV} missing: running scripts/convert_weights.py to create it", flush=True)
        subprocess.check_call([sys.executable, str(ROOT / "scripts" / "convert_weights.py")])
    os.execv(str(python), [str(python), script, *sys.argv[1:]])


def ensure_onnx() -> None:
    missing = [f for _, f, _, _ in NETWORKS if not (ONNX_DIR / f).exists()]
    if missing:
        print(f"[onnx] {', '.join(missing)} missing in {ONNX_DIR}: running scripts/convert_weights.py", flush=True)
        subprocess.check_call([sys.executable, str(ROOT / "scripts" / "convert_weights.py")])


def fixture_input(name: str, shape):
    import numpy as np
    from safetensors.numpy import load_file

    x = load_file(str(FIXTURES / name))["input"].astype(np.float32)
    return np.ascontiguousarray(x.reshape(shape))


def session(model, threads: int):
    """A CPU session on an ONNX file path or serialized model bytes."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), sess_options=opts,
                                providers=["CPUExecutionProvider"])


def batched(path: Path) -> bytes:
    """The tflite2onnx export with a free batch dimension: inputs/outputs get batch "N", the reshapes' leading 1
    becomes 0 (copy the input's dimension), stale shape annotations go."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    for v in [*model.graph.input, *model.graph.output]:
        v.type.tensor_type.shape.dim[0].dim_param = "N"
    del model.graph.value_info[:]
    reshape_shapes = {n.input[1] for n in model.graph.node if n.op_type == "Reshape"}
    for i, init in enumerate(model.graph.initializer):
        if init.name in reshape_shapes:
            shape = numpy_helper.to_array(init).copy()
            shape[0] = 0
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(shape, init.name))
    return model.SerializeToString()


def time_runs(fn, runs: int, warmup: int):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(t * 1e3 for t in times)


def report(label: str, ms, what: str) -> None:
    q = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]
    print(f"{label:16s} median {statistics.median(ms):8.3f} ms   p10 {q(0.10):8.3f}   p90 {q(0.90):8.3f}   "
          f"min {ms[0]:8.3f}   ({what})")


def tears_of_steel_1080p():
    """benches/common's frame: frame 100 (from 1) decoded by ffmpeg, scaled to 1920x1080 (float, Catmull-Rom:
    PIL's bicubic is the a = -0.5 Keys kernel, i.e. Catmull-Rom, like image-rs's CatmullRom)."""
    import numpy as np
    from PIL import Image

    clip = DATA / CLIP
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "frame.png"
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip), "-vf",
                        f"select=eq(n\\,{FRAME - 1})", "-frames:v", "1", str(png)], check=True)
        small = np.asarray(Image.open(png).convert("RGB"), np.float32) / 255.0
    planes = [np.asarray(Image.fromarray(small[..., c], mode="F").resize((FRAME_W, FRAME_H), Image.BICUBIC))
              for c in range(3)]
    return np.ascontiguousarray(np.stack(planes, axis=-1), np.float32)


class Stages:
    """Wall time per named stage of one frame."""

    def __init__(self):
        self.ms = defaultdict(float)

    @contextmanager
    def __call__(self, name: str):
        t = time.perf_counter()
        yield
        self.ms[name] += (time.perf_counter() - t) * 1e3


def run_frame(frame, det, mesh, swap, swap_res, template, st: Stages):
    """One frame through the node's algorithm (see frame_numpy.py), timing each stage into `st`.
    Returns (output frame, faces [(detection, landmarks, presence)], the swapped face's network input crop)."""
    import frame_numpy as fx
    import numpy as np

    h, w = frame.shape[:2]
    with st("detect: tile crops"):
        tile_list = fx.tiles(w, h)
        x = fx.tile_inputs(frame, tile_list)
    with st("detect: BlazeFace"):
        regressors, logits = det.run(["regressors", "classificators"], {"input": x})
    with st("detect: decode + NMS"):
        dets = fx.merge_tiles(tile_list, regressors, logits, w, h, THRESHOLD)
    faces = []
    if dets:
        passes = []
        rois = [fx.landmark_roi(d) for d in dets]
        for k in range(2):
            with st("landmarks: crops + mapping"):
                x, maps = fx.mesh_inputs(frame, rois)
            with st("landmarks: FaceMesh"):
                raw, presence = mesh.run(None, {"input_1": x})
            with st("landmarks: crops + mapping"):
                passes.append(fx.mesh_outputs(raw, presence, rois, maps))
                if k == 0:
                    kept = [(d, lm, p) for d, (lm, p) in zip(dets, passes[0])
                            if p > fx.MIN_PRESENCE or d[16] >= fx.CONFIDENT_DETECTION]
                    if not kept:
                        break
                    rois = [fx.landmark_roi_from_mesh(lm) for _, lm, _ in kept]
        if len(passes) == 2:
            faces = [(d, lm2, p2) if p2 >= p1 else (d, lm1, p1) for (d, lm1, p1), (lm2, p2) in zip(kept, passes[1])]
    if not faces:
        return frame, faces, None
    area = lambda f: max(f[0][2] - f[0][0], 0) * max(f[0][3] - f[0][1], 0)
    face = sorted(faces, key=lambda f: -area(f))[0]  # FaceSelection::Largest
    with st("align + warp to crop"):
        f2c, c2f = fx.align(face[1], template, swap_res)
        crop = fx.crop_to_chw(frame, [c2f], swap_res, 1.0, 0.0, 0.0)
    with st("swap network"):
        rgb, mask = swap.run(["rgb", "mask"], {"crop": crop})
    with st("swap glue: hull, colour, mask, paste"):
        if not (np.isfinite(rgb).all() and np.isfinite(mask).all()):
            raise SystemExit("the swap network produced NaN or infinity")
        face_rgb, face_mask = fx.face_glue(frame, face[1], f2c, crop[0], rgb[0], mask[0])
        swapped, total = frame.copy(), np.zeros((h, w), np.float32)
        fx.paste(swapped, total, face_rgb, face_mask, f2c, c2f)
    with st("mask erode/feather + composite"):
        out, _ = fx.finish(frame, swapped, total, MASK_ERODE, MASK_FEATHER)
    return out, faces, crop


def criterion_ms(bench: str):
    """Median of a criterion bench's last run, in ms, or None."""
    path = TARGET / "criterion" / bench / "new" / "estimates.json"
    try:
        return json.loads(path.read_text())["median"]["point_estimate"] / 1e6
    except (OSError, KeyError, ValueError):
        return None


def parity(exported: dict, threads: int, write_crop=None, model_path=None) -> None:
    """The export on the fixture's crop against the fixture's stored onnxruntime outputs (or, with
    `write_crop`, a new fixture from that crop)."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    if write_crop is not None:
        tensors = {"input": np.ascontiguousarray(write_crop, np.float32)}
        for i, path in enumerate(exported.values()):
            tensors[f"rgb_{i}"], tensors[f"mask_{i}"] = session(path, threads).run(["rgb", "mask"], {"crop": tensors["input"]})
        SWAP_FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        meta = {"model": str(model_path.relative_to(ROOT)), "model_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
                "identities": json.dumps(list(exported)), "source": f"{CLIP} frame {FRAME}, scaled to {FRAME_W}x{FRAME_H}, "
                "largest face aligned by scripts/frame_numpy.py", "generated_by": "python3 scripts/bench_onnxruntime.py --write-fixture"}
        save_file(tensors, str(SWAP_FIXTURE), metadata=meta)
        print(f"[fixture] wrote {SWAP_FIXTURE.relative_to(ROOT)} ({SWAP_FIXTURE.stat().st_size} bytes)")
    if not SWAP_FIXTURE.exists():
        raise SystemExit(f"{SWAP_FIXTURE} missing: run with --write-fixture")
    stored = load_file(str(SWAP_FIXTURE))
    for i, (name, path) in enumerate(exported.items()):
        rgb, mask = session(path, threads).run(["rgb", "mask"], {"crop": stored["input"]})
        diff = max(np.abs(rgb - stored[f"rgb_{i}"]).max(), np.abs(mask - stored[f"mask_{i}"]).max())
        print(f"parity          export of identity {i} ({name}) vs the fixture's onnxruntime outputs: max |diff| {diff:.3e}")
        if diff > PARITY_TOLERANCE:
            raise SystemExit(f"FAILED: {diff:.3e} > {PARITY_TOLERANCE:.0e}: the model or the export changed since the "
                             "fixture was written (--write-fixture if the model changed on purpose)")


def rust_parity() -> None:
    """Ours against the fixture: runs tests/swapnet_onnx.rs and relays its figure."""
    env = {**os.environ, "CARGO_TARGET_DIR": str(TARGET)}
    cmd = ["cargo", "test", "--workspace", "--test", "swapnet_onnx", "--", "--nocapture"]
    print(f"[rust] {' '.join(cmd)}", flush=True)
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    for line in (done.stdout + done.stderr).splitlines():
        if "max |diff|" in line or "panicked" in line or "test result" in line:
            print(f"parity (ours)   {line.strip()}")
    if done.returncode != 0:
        raise SystemExit("FAILED: our swap network disagrees with onnxruntime (see above)")


def main() -> None:
    ensure_venv()
    ensure_onnx()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed runs per network (median reported)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed runs first")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra_op_num_threads")
    parser.add_argument("--frame-runs", type=int, default=10, help="timed whole 1080p frames (median per stage)")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default.safetensors", help="swap model to export")
    parser.add_argument("--write-fixture", action="store_true", help=f"rewrite {SWAP_FIXTURE.relative_to(ROOT)}")
    parser.add_argument("--rust-parity", action="store_true", help="also run `cargo test --test swapnet_onnx` (may build)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "scripts"))
    import frame_numpy
    import numpy as np
    import onnxruntime as ort
    import swapnet_onnx
    from safetensors.numpy import load_file

    print(f"onnxruntime {ort.__version__}, CPUExecutionProvider, intra_op_num_threads={args.threads}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores when starting")

    # 1. export
    model_path = args.model.resolve()
    exported = dict(swapnet_onnx.export(model_path, ONNX_DIR))
    config, identities, _ = swapnet_onnx.read_model(model_path)
    template = json.loads(swapnet_onnx.read_meta(model_path)["template"])["points"]
    print(f"export          {model_path.name}: {config['arch']} {config['resolution']} px, identities {identities} -> "
          f"{', '.join(p.name for p in exported.values())} in {ONNX_DIR}")

    frame = tears_of_steel_1080p()
    det = session(batched(ONNX_DIR / "blazeface_short_range.onnx"), args.threads)
    mesh = session(batched(ONNX_DIR / "face_landmark.onnx"), args.threads)
    bench_net = session(swapnet_onnx.build(BENCH_SWAPNET, swapnet_onnx.random_weights(BENCH_SWAPNET), 1)
                        .SerializeToString(), args.threads)

    # 2. parity (a fixture crop aligned for --model's own template and resolution)
    crop = None
    if args.write_fixture:
        own = session(next(iter(exported.values())), args.threads)
        _, faces, crop = run_frame(frame, det, mesh, own, config["resolution"], template, Stages())
        if crop is None:
            raise SystemExit("no face found on the 1080p frame: cannot write the fixture")
    parity(exported, args.threads, crop, model_path)
    if args.rust_parity:
        rust_parity()

    # 3. batch-1 networks
    print(f"\nbatch-1 networks, {args.runs} runs after {args.warmup} warm-up")
    for label, onnx_file, fixture, shape in NETWORKS:
        s = session(ONNX_DIR / onnx_file, args.threads)
        feed = {s.get_inputs()[0].name: fixture_input(fixture, shape)}
        report(label, time_runs(lambda: s.run(None, feed), args.runs, args.warmup), onnx_file)
    fixture_crop = {"crop": load_file(str(SWAP_FIXTURE))["input"]}
    s = session(next(iter(exported.values())), args.threads)
    own = time_runs(lambda: s.run(None, fixture_crop), args.runs, args.warmup)
    report(f"swapnet_{config['resolution']}_b1", own, f"{model_path.name}, fixture crop")
    ours = criterion_ms("swapnet_default/infer_b1")
    if ours is not None and args.model.resolve() == (ROOT / "models" / "default.safetensors").resolve():
        print(f"{'':16s} ours   {ours:8.3f} ms = {ours / statistics.median(own):.2f}x (swapnet_default/infer_b1)")
    crop128 = {"crop": np.random.default_rng(1).random((1, 3, 128, 128), np.float32)}
    report("swapnet_128_b1", time_runs(lambda: bench_net.run(None, crop128), args.runs, args.warmup),
           "benches/swapnet.rs shape, random weights and crop")

    # 4. whole frame
    if run_frame(frame, det, mesh, bench_net, 128, template, Stages())[2] is None:  # warm-up, and the face check
        raise SystemExit("no face found on the 1080p frame: the frame or the port changed")
    per_run, totals = [], []
    for _ in range(args.frame_runs):
        st = Stages()
        t = time.perf_counter()
        _, faces, _ = run_frame(frame, det, mesh, bench_net, 128, template, st)
        totals.append((time.perf_counter() - t) * 1e3)
        per_run.append(st.ms)
    largest = max(faces, key=lambda f: f[0][2] - f[0][0])[0][:4]
    print(f"\n1080p frame (Tears of Steel {FRAME}): {len(frame_numpy.tiles(FRAME_W, FRAME_H))} tiles, {len(faces)} faces "
          f"kept, largest at {[round(float(v)) for v in largest]}; median of {args.frame_runs} frames")
    med = lambda name: statistics.median(r.get(name, 0.0) for r in per_run)
    detect_parts = [criterion_ms(b) for b in ("frame_1080p/detect", "frame_1080p/detect_crops", "network/blazeface_b88_in_16s")]
    derived = None if None in detect_parts else detect_parts[0] - detect_parts[1] - detect_parts[2]
    rows = [  # (stage, kind, ours)
        ("detect: tile crops", "numpy", criterion_ms("frame_1080p/detect_crops")),
        ("detect: BlazeFace", "network", criterion_ms("network/blazeface_b88_in_16s")),  # as detect batches it
        ("detect: decode + NMS", "numpy", derived),
        ("landmarks: crops + mapping", "numpy", None),
        ("landmarks: FaceMesh", "network", criterion_ms("frame_1080p/landmarks_network")),  # same batches
        ("align + warp to crop", "numpy", criterion_ms("frame_1080p/align_warp")),
        ("swap network", "network", criterion_ms("swapnet_128/infer_b1")),
        ("swap glue: hull, colour, mask, paste", "numpy", None),
        ("mask erode/feather + composite", "numpy", None),
    ]
    sums = [("= detect", ["detect: tile crops", "detect: BlazeFace", "detect: decode + NMS"], "frame_1080p/detect"),
            ("= landmarks (all detections)", ["landmarks: crops + mapping", "landmarks: FaceMesh"], "frame_1080p/landmarks_all"),
            ("= analyse", [r[0] for r in rows[:5]], "frame_1080p/analyse")]
    fmt = lambda v: "not measured" if v is None else f"{v:10.2f}"
    print(f"{'stage':40s} {'kind':8s} {'ours ms':>12s} {'onnxrt ms':>10s} {'ours/ort':>9s}")
    line = lambda name, kind, ours, theirs: print(f"{name:40s} {kind:8s} {fmt(ours):>12s} {theirs:10.2f} "
                                                  f"{'' if ours is None else f'{ours / theirs:8.2f}x':>9s}")
    for name, kind, ours in rows:
        line(name, kind, ours, med(name))
    for name, parts, bench in sums:
        line(name, "", criterion_ms(bench), statistics.median(sum(r.get(p, 0.0) for p in parts) for r in per_run))
    line("= whole frame (run_one_face)", "", criterion_ms("pipeline_1080p/run_one_face"), statistics.median(totals))
    net = statistics.median(sum(r.get(n, 0.0) for n, k, _ in rows if k == "network") for r in per_run)
    # Issue #6's figure: the networks of the frame, ours / onnxruntime; with the 128 px bench network the frame
    # runs, and with the default model's network in its place (both sides' batch-1 figures for it).
    ours_nets = [v for _, k, v in rows if k == "network"]
    if None not in ours_nets:
        ours_sum = sum(ours_nets)
        print(f"networks of the frame, 128 px swap network: ours {ours_sum:.2f} / onnxruntime {net:.2f} ms = "
              f"{ours_sum / net:.3f}x")
    ours_default = criterion_ms("swapnet_default/infer_b1")
    if None not in ours_nets and ours_default is not None and args.model.resolve() == (ROOT / "models" / "default.safetensors").resolve():
        swap_ort = statistics.median(r.get("swap network", 0.0) for r in per_run)
        ours_own = ours_sum - criterion_ms("swapnet_128/infer_b1") + ours_default
        ort_own = net - swap_ort + statistics.median(own)
        print(f"networks of the frame, {model_path.name}'s swap network: ours {ours_own:.2f} / onnxruntime "
              f"{ort_own:.2f} ms = {ours_own / ort_own:.3f}x")
    print(f"whole frame: onnxruntime networks {net:.2f} ms, numpy glue {statistics.median(totals) - net:.2f} ms; "
          f"'ours' from {TARGET / 'criterion'} (decode + NMS derived: detect - detect_crops - blazeface_b88_in_16s); "
          f"load average {os.getloadavg()[0]:.2f} now")


if __name__ == "__main__":
    main()
