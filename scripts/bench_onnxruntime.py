#!/usr/bin/env python3
"""onnxruntime's side of the network benchmarks in BENCHMARKS.md.

Times a batch-1 forward pass of BlazeFace (short range, [1, 3, 128, 128]) and FaceMesh ([1, 3, 192, 192]) with
onnxruntime on the CPU, on the ONNX files scripts/convert_weights.py produced in
$HOME/.cache/faceswap-ofx/onnx/, fed the same real inputs as `cargo bench --bench face_analysis`
(tests/fixtures/face_analysis/tos_0095_{blazeface,facemesh}.safetensors, tensor "input").

onnxruntime gets 2 intra-op threads and 1 inter-op thread: the 2 cores of the benchmark machine, as Burn's
flex backend uses (rayon, one thread a core).

The swap network has no ONNX export yet, so it has no onnxruntime figure.

    python3 scripts/bench_onnxruntime.py [--runs 200] [--warmup 20] [--threads 2]

Re-executes itself inside $HOME/.cache/faceswap-ofx/venv (made by convert_weights.py, with onnxruntime);
runs convert_weights.py first when the ONNX files are missing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "faceswap-ofx"
VENV = CACHE / "venv"
ONNX_DIR = CACHE / "onnx"
FIXTURES = ROOT / "tests" / "fixtures" / "face_analysis"

# (label, ONNX file, fixture file holding the input, input shape)
NETWORKS = [
    ("blazeface_b1", "blazeface_short_range.onnx", "tos_0095_blazeface.safetensors", (1, 3, 128, 128)),
    ("facemesh_b1", "face_landmark.onnx", "tos_0095_facemesh.safetensors", (1, 3, 192, 192)),
]


def ensure_venv() -> None:
    """Re-exec inside the converter's venv unless we are already running in it."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        print(f"[venv] {VENV} missing: running scripts/convert_weights.py to create it", flush=True)
        subprocess.check_call([sys.executable, str(ROOT / "scripts" / "convert_weights.py")])
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


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


def time_network(path: Path, x, runs: int, warmup: int, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    for _ in range(warmup):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    ensure_venv()
    ensure_onnx()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed runs per network (median reported)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed runs first")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra_op_num_threads")
    args = parser.parse_args()

    import onnxruntime as ort

    print(f"onnxruntime {ort.__version__}, CPUExecutionProvider, intra_op_num_threads={args.threads}, "
          f"{args.runs} runs after {args.warmup} warm-up")
    for label, onnx_file, fixture, shape in NETWORKS:
        times = time_network(ONNX_DIR / onnx_file, fixture_input(fixture, shape), args.runs, args.warmup, args.threads)
        ms = sorted(t * 1e3 for t in times)
        q = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]
        print(f"{label:14s} median {statistics.median(ms):8.3f} ms   p10 {q(0.10):8.3f}   p90 {q(0.90):8.3f}   "
              f"min {ms[0]:8.3f}   ({onnx_file})")
    print("swapnet        no ONNX export yet: no onnxruntime figure")


if __name__ == "__main__":
    main()
