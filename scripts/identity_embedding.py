#!/usr/bin/env python3
"""Whose face is it? An independent identity measure for swapped frames.

Uses dlib's face-recognition ResNet (dlib_face_recognition_resnet_model_v1, 128-d embeddings; two faces of one
person are usually closer than 0.6) with dlib's HOG frontal face detector and 5-point shape predictor: no part
of this project's networks. dlib's own weights are CC0 (public domain); they come from PyPI's
`face-recognition-models` (MIT packaging), the detector is built into `dlib-bin`. The 68-point predictor of that
package (iBUG 300-W, non-commercial) is not used.

For each swapped frame it reports the embedding distance of the swapped face
- to the source identity: the mean embedding of GRID speaker s1, from reference frames of s1 clips
  (by default clips 81-100, which the default model was not trained on; see models/default.md), and
- to the target's own identity: the mean embedding of the scientist in the original frames of the same range,
and whether the face is closer to s1. The summary gives the mean distances, the fraction of frames closer to
s1, baselines that show the measure itself works (the original frames against both identities, and the
distance between the two identities), and a control: the original faces resampled to the model's resolution
and back, which loses detail but keeps the identity, so that a swap is not credited with what blur alone does.
It also reports how far the swapped face's head turn is from the original's (the nose's offset from between
the eyes, from the same 5-point predictor, in eye distances): a model can look more like s1 by rendering s1's
usual pose instead of the shot's, and that is a worse swap, not a better one.

The face is found once, on the original frame, with dlib's detector (largest face, detection score offset
--detect-threshold); the swapped frame's face is embedded inside that same rectangle, since the node swaps in
place. Frames where dlib finds no face in the original (the scientist turned away) are listed and left out.

    python3 scripts/identity_embedding.py                        # the demo's output (out/demo), frames 69-157
    python3 scripts/identity_embedding.py --swapped out/shot --source plates --frames 69-157 --json id.json

The other direction (s1's frames decoded as the scientist): give s1's frames as --source, a clip of the
scientist as --reference (any ffmpeg-readable file named *.mpg in that folder, e.g. Tears of Steel frames
69-157 re-encoded), and --names scientist,s1; see models/default.md for the exact commands.

--swapped and --source name folders of %05d.png frames (what `faceswap demo`, `faceswap render` and
`faceswap apply` write). Re-executes itself inside $HOME/.cache/faceswap-ofx/venv-dlib, creating it from
scripts/requirements-identity.txt on first use (Python 3.11; needs ffmpeg for the reference clips).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "faceswap-ofx"
VENV = CACHE / "venv-dlib"
REQUIREMENTS = ROOT / "scripts" / "requirements-identity.txt"
# dlib's documented same-person threshold for this network (LFW accuracy 99.38% at 0.6).
SAME_PERSON = 0.6


def ensure_venv() -> None:
    """Re-runs this script with the venv's Python, creating the venv first when needed."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        print(f"creating {VENV} from {REQUIREMENTS.name} (first run only)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
    os.execv(str(python), [str(python), *sys.argv])


def data_dir() -> Path:
    env = os.environ.get("FACESWAP_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def frame_range(text: str) -> range:
    first, _, last = text.partition("-")
    a, b = int(first), int(last or first)
    if a > b:
        raise argparse.ArgumentTypeError(f"{text}: the first frame is after the last")
    return range(a, b + 1)


class Embedder:
    """dlib's detector, 5-point shape predictor and recognition ResNet."""

    def __init__(self, threshold: float, min_face: int) -> None:
        import dlib
        import face_recognition_models as frm

        self.threshold, self.min_face = threshold, min_face
        self.detector = dlib.get_frontal_face_detector()
        self.shapes = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    def largest_face(self, rgb):
        # Upsampling once finds faces down to about 40 px (the scientist's is 130-156 px; GRID's about 100 px).
        # The threshold is an offset on dlib's detection score (0 = dlib's default): slightly below 0 keeps the
        # scientist's turned head. Boxes under min_face px are left out (at -0.3 and below a 52 px false face
        # appears at frame 88; the scientist's box is never that small).
        faces, _, _ = self.detector.run(rgb, 1, self.threshold)
        faces = [r for r in faces if r.width() >= self.min_face]
        return max(faces, key=lambda r: r.area()) if faces else None

    def embed(self, rgb, rect):
        """The 128-d descriptor, and the head's turn as the 5-point predictor sees it: the nose's horizontal
        offset from the midpoint of the two eyes, in eye distances (about 0 frontal, growing as the head turns;
        the sign tells the side)."""
        import numpy as np

        shape = self.shapes(rgb, rect)
        # dlib's 5-point layout: 0-1 one eye's corners, 2-3 the other's, 4 the base of the nose.
        p = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=float)
        eye_a, eye_b = p[0:2].mean(axis=0), p[2:4].mean(axis=0)
        turn = (p[4][0] - (eye_a[0] + eye_b[0]) / 2) / max(np.linalg.norm(eye_a - eye_b), 1.0)
        return np.array(self.net.compute_face_descriptor(rgb, shape)), float(turn)


def degraded(rgb, rect, size: int):
    """A control: the face's neighbourhood resampled so the face box is `size` px wide, then back up, as a
    low-resolution face model would see and return it, with the identity untouched."""
    import numpy as np
    from PIL import Image

    h, w = rgb.shape[:2]
    pad = rect.width() // 2
    x0, y0 = max(rect.left() - pad, 0), max(rect.top() - pad, 0)
    x1, y1 = min(rect.right() + pad, w), min(rect.bottom() + pad, h)
    region = Image.fromarray(rgb[y0:y1, x0:x1])
    k = size / max(rect.width(), 1)
    small = region.resize((max(1, round(region.width * k)), max(1, round(region.height * k))), Image.Resampling.BOX)
    out = rgb.copy()
    out[y0:y1, x0:x1] = np.asarray(small.resize(region.size, Image.Resampling.BILINEAR))
    return out


def load_rgb(path: Path):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def reference_embeddings(emb: Embedder, clips: list[Path], every: int) -> list:
    """Embeddings of s1 from every `every`-th frame of each clip (decoded with ffmpeg into a temporary folder)."""
    out = []
    with tempfile.TemporaryDirectory(prefix="identity-ref-") as tmp:
        for k, clip in enumerate(clips):
            pattern = Path(tmp) / f"{k:03d}_%04d.png"
            subprocess.run(
                ["ffmpeg", "-v", "fatal", "-nostdin", "-i", str(clip), "-vf", f"select=not(mod(n\\,{every}))",
                 "-fps_mode", "passthrough", str(pattern)],
                check=True,
            )
        for frame in sorted(Path(tmp).glob("*.png")):
            rgb = load_rgb(frame)
            rect = emb.largest_face(rgb)
            if rect is not None:
                out.append(emb.embed(rgb, rect)[0])
    return out


def main() -> int:
    ensure_venv()
    import numpy as np

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--swapped", type=Path, default=ROOT / "out/demo/output", help="folder of swapped frames (%%05d.png)")
    p.add_argument("--source", type=Path, default=ROOT / "out/demo/source", help="folder of the original frames (%%05d.png)")
    p.add_argument("--frames", type=frame_range, default=frame_range("69-157"), help="frame range A-B (default 69-157)")
    p.add_argument("--reference", type=Path, default=None, help="folder of GRID s1 clips (default: the shared data's grid_s1)")
    p.add_argument("--reference-clips", default="81-100",
                   help="which clips of --reference, by position in name order, A-B from 1 (default 81-100: held out of the default model's training)")
    p.add_argument("--reference-every", type=int, default=15, help="take every Nth frame of each reference clip (default 15)")
    p.add_argument("--detect-threshold", type=float, default=-0.2,
                   help="offset on dlib's HOG detection score, 0 = dlib's default (default -0.2)")
    p.add_argument("--min-face", type=int, default=60, help="ignore detections narrower than this, in px (default 60)")
    p.add_argument("--control-size", type=int, default=64,
                   help="the control resamples each original face to this width and back (default 64: the default model's resolution)")
    p.add_argument("--json", type=Path, help="also write the per-frame figures and the summary here")
    p.add_argument("--min-fraction", type=float, default=None,
                   help="exit 1 unless at least this fraction of measured frames is closer to s1 (for use as a check)")
    p.add_argument("--names", default="s1,scientist",
                   help="what to call the reference identity and the original frames' identity in the report (default "
                        "s1,scientist; the JSON keys keep s1 and scientist for those two roles)")
    args = p.parse_args()
    ref_name, own_name = args.names.split(",")

    reference = args.reference or data_dir() / "grid_s1"
    clips = sorted(reference.glob("*.mpg"))
    lo, hi = (int(x) for x in args.reference_clips.split("-"))
    clips = clips[lo - 1:hi]
    if not clips:
        print(f"no reference clips: {reference} has no .mpg clips {args.reference_clips}", file=sys.stderr)
        return 2
    for folder in (args.swapped, args.source):
        if not folder.is_dir():
            print(f"{folder}: no such folder (run scripts/demo.sh, or pass --swapped/--source)", file=sys.stderr)
            return 2

    emb = Embedder(args.detect_threshold, args.min_face)
    refs = reference_embeddings(emb, clips, args.reference_every)
    if not refs:
        print("dlib found no face in the reference frames", file=sys.stderr)
        return 2
    s1 = np.mean(refs, axis=0)

    rows, missing = [], []
    for n in args.frames:
        src_path, sw_path = args.source / f"{n:05d}.png", args.swapped / f"{n:05d}.png"
        if not (src_path.is_file() and sw_path.is_file()):
            missing.append((n, "frame file missing"))
            continue
        src, sw = load_rgb(src_path), load_rgb(sw_path)
        rect = emb.largest_face(src)
        if rect is None:
            missing.append((n, "dlib finds no face in the original"))
            continue
        (source, source_turn), (swapped, swapped_turn) = emb.embed(src, rect), emb.embed(sw, rect)
        control, control_turn = emb.embed(degraded(src, rect, args.control_size), rect)
        rows.append({
            "frame": n,
            "source": source,
            "swapped": swapped,
            "control": control,
            "source_turn": source_turn,
            "turn_error": abs(swapped_turn - source_turn),
            "control_turn_error": abs(control_turn - source_turn),
        })
    if not rows:
        print("no frame could be measured", file=sys.stderr)
        return 2
    scientist = np.mean([r["source"] for r in rows], axis=0)
    dist = lambda a, b: float(np.linalg.norm(a - b))

    print(f"reference: {len(refs)} {ref_name} faces from {len(clips)} clips ({clips[0].name} .. {clips[-1].name}), every {args.reference_every}th frame")
    print(f"measured {len(rows)} of {len(args.frames)} frames; dlib's same-person threshold is {SAME_PERSON}")
    print()
    print(f" frame  d({ref_name})  d({own_name})  d(own original)  closer to")
    per_frame = []
    for r in rows:
        d_s1, d_sci, d_orig = dist(r["swapped"], s1), dist(r["swapped"], scientist), dist(r["swapped"], r["source"])
        closer = ref_name if d_s1 < d_sci else own_name
        per_frame.append({"frame": r["frame"], "d_s1": d_s1, "d_scientist": d_sci, "d_original": d_orig, "closer_to": closer,
                          "turn_error": r["turn_error"]})
        print(f" {r['frame']:5d}  {d_s1:.3f}  {d_sci:12.3f}  {d_orig:15.3f}  {closer}")
    for n, why in missing:
        print(f" {n:5d}  -- {why}")

    mean = lambda key: float(np.mean([f[key] for f in per_frame]))
    fraction = sum(f["closer_to"] == ref_name for f in per_frame) / len(per_frame)
    summary = {
        "frames_measured": len(per_frame),
        "frames_in_range": len(args.frames),
        "mean_d_s1": mean("d_s1"),
        "mean_d_scientist": mean("d_scientist"),
        "mean_d_original": mean("d_original"),
        "fraction_closer_to_s1": fraction,
        "fraction_within_0.6_of_s1": sum(f["d_s1"] < SAME_PERSON for f in per_frame) / len(per_frame),
        # Does the swapped face keep the original's pose? A swap that rendered its own identity's usual pose
        # would score identity well and still be unusable in a shot.
        "mean_turn_error": mean("turn_error"),
        "original_mean_turn": float(np.mean([abs(r["source_turn"]) for r in rows])),
        # Baselines: the measure separates the two people, and the untouched frames sit with the scientist.
        "baseline_d_s1_scientist": dist(s1, scientist),
        "baseline_original_mean_d_s1": float(np.mean([dist(r["source"], s1) for r in rows])),
        "baseline_original_mean_d_scientist": float(np.mean([dist(r["source"], scientist) for r in rows])),
        "baseline_reference_mean_d_s1": float(np.mean([dist(e, s1) for e in refs])),
        # Control: the originals at the model's resolution. If blur alone moved faces towards s1, it shows here.
        "control_size": args.control_size,
        "control_mean_d_s1": float(np.mean([dist(r["control"], s1) for r in rows])),
        "control_mean_d_scientist": float(np.mean([dist(r["control"], scientist) for r in rows])),
        "control_fraction_closer_to_s1": sum(dist(r["control"], s1) < dist(r["control"], scientist) for r in rows) / len(rows),
        "control_mean_turn_error": float(np.mean([r["control_turn_error"] for r in rows])),
        "reference_faces": len(refs),
    }
    n_s1 = sum(f["closer_to"] == ref_name for f in per_frame)
    show = lambda label, value: print(f"  {label:<46} {value}")
    print()
    print("summary (swapped frames)")
    show(f"mean distance to {ref_name} (source identity)", f"{summary['mean_d_s1']:.3f}")
    show(f"mean distance to {own_name} (target)", f"{summary['mean_d_scientist']:.3f}")
    show("mean distance to its own original frame", f"{summary['mean_d_original']:.3f}")
    show(f"frames closer to {ref_name} than to {own_name}", f"{fraction:.1%} ({n_s1}/{len(per_frame)})")
    show(f"frames within {SAME_PERSON} of {ref_name}", f"{summary['fraction_within_0.6_of_s1']:.1%}")
    show("head turn vs the original (eye distances)", f"{summary['mean_turn_error']:.3f}")
    print("baselines")
    show(f"{ref_name} mean vs {own_name} mean", f"{summary['baseline_d_s1_scientist']:.3f}")
    show(f"original frames: mean distance to {ref_name}", f"{summary['baseline_original_mean_d_s1']:.3f}")
    show(f"original frames: mean distance to {own_name}", f"{summary['baseline_original_mean_d_scientist']:.3f}")
    show(f"{ref_name} reference faces: mean distance to {ref_name} mean", f"{summary['baseline_reference_mean_d_s1']:.3f}")
    show("original frames: mean head turn (eye distances)", f"{summary['original_mean_turn']:.3f}")
    print(f"control (original faces resampled to {args.control_size} px and back: detail lost, identity kept)")
    show(f"mean distance to {ref_name}", f"{summary['control_mean_d_s1']:.3f}")
    show(f"mean distance to {own_name}", f"{summary['control_mean_d_scientist']:.3f}")
    show(f"frames closer to {ref_name}", f"{summary['control_fraction_closer_to_s1']:.1%}")
    show("head turn vs the original (eye distances)", f"{summary['control_mean_turn_error']:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "frames": per_frame, "missing": missing}, indent=2))
    if args.min_fraction is not None and fraction < args.min_fraction:
        print(f"FAIL: {fraction:.1%} of frames closer to {ref_name}, below --min-fraction {args.min_fraction:.1%}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
