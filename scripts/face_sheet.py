#!/usr/bin/env python3
"""Face crops side by side, so the eye can judge a swap: the original frames, the same frames swapped by one or
more models (`faceswap apply` output), and optionally the identity put on them in frames of its own.

Each crop is a square around dlib's face box on the original frame (the swapped frames are cropped in the same
place, since the node swaps in place), `--pad` face widths of margin, resized to `--size` px. Columns: the
original, each --swapped folder in the order given, then the reference (one reference frame per row).

    # models/default_back.png: s1's held-out frames, decoded as the scientist, the scientist himself
    python3 scripts/face_sheet.py --source held --swapped back --frames 50,150,250 \
        --reference frames --reference-frames 80,100,140 --out models/default_back.png
    # models/borrow_demo.png: the demo plates, the previous default model's swap, the current one's
    python3 scripts/face_sheet.py --source plates --swapped demo_21000 --swapped demo --frames 86,104,121,139 \
        --size 160 --out models/borrow_demo.png

--source and --swapped are folders of %05d.png frames (what `faceswap apply` writes); --reference is a folder
of frames as %05d.png or %06d.png (for default_back.png, the Tears of Steel excerpt's). Runs in the venv of
identity_embedding.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import identity_embedding as ie  # noqa: E402  (after the path: the module sits beside this script)


def frame_file(folder: Path, n: int) -> Path:
    for name in (f"{n:05d}.png", f"{n:06d}.png"):
        if (folder / name).exists():
            return folder / name
    raise SystemExit(f"{folder}: no frame {n} (%05d.png or %06d.png)")


def crop_box(emb: ie.Embedder, rgb, pad: float):
    rect = emb.largest_face(rgb)
    if rect is None:
        return None
    side = round(max(rect.width(), rect.height()) * (1 + 2 * pad))
    cx, cy = (rect.left() + rect.right()) // 2, (rect.top() + rect.bottom()) // 2
    return (cx - side // 2, cy - side // 2, cx - side // 2 + side, cy - side // 2 + side)


def main() -> None:
    ie.ensure_venv()
    from PIL import Image

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, required=True, help="the original frames")
    ap.add_argument("--swapped", type=Path, action="append", required=True,
                    help="the same frames swapped (repeat for more columns)")
    ap.add_argument("--frames", required=True, help="comma-separated frame numbers of --source, one per row")
    ap.add_argument("--reference", type=Path, help="frames of the identity put on the faces (last column)")
    ap.add_argument("--reference-frames", help="comma-separated frame numbers of --reference, one per row")
    ap.add_argument("--size", type=int, default=128, help="side of each crop in the sheet, px")
    ap.add_argument("--pad", type=float, default=0.25, help="margin around dlib's face box, in face widths")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    frames = [int(f) for f in args.frames.split(",")]
    if (args.reference is None) != (args.reference_frames is None):
        raise SystemExit("--reference and --reference-frames go together")
    refs = [int(f) for f in args.reference_frames.split(",")] if args.reference else [None] * len(frames)
    if len(refs) != len(frames):
        raise SystemExit("--frames and --reference-frames need the same count (one of each per row)")
    # The threshold and smallest face of identity_embedding.py's defaults (see its Embedder).
    emb = ie.Embedder(threshold=-0.2, min_face=60)
    s = args.size
    columns = 1 + len(args.swapped) + (args.reference is not None)
    sheet = Image.new("RGB", (columns * s, len(frames) * s), (24, 24, 24))
    for row, (n, r) in enumerate(zip(frames, refs)):
        box = crop_box(emb, ie.load_rgb(frame_file(args.source, n)), args.pad)
        if box is None:
            raise SystemExit(f"dlib finds no face in source frame {n}: pick another")
        cells = [(Image.open(frame_file(folder, n)).convert("RGB"), box) for folder in [args.source, *args.swapped]]
        if r is not None:
            ref_box = crop_box(emb, ie.load_rgb(frame_file(args.reference, r)), args.pad)
            if ref_box is None:
                raise SystemExit(f"dlib finds no face in reference frame {r}: pick another")
            cells.append((Image.open(frame_file(args.reference, r)).convert("RGB"), ref_box))
        for col, (img, b) in enumerate(cells):
            # PIL pads a box reaching past the frame with black, which is what the sheet should show there.
            sheet.paste(img.crop(b).resize((s, s), Image.Resampling.LANCZOS), (col * s, row * s))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")


if __name__ == "__main__":
    main()
