#!/usr/bin/env python3
"""Does the swapped face keep the plate's lighting, and how sharp is it? Two image measures inside the face mask.

Run it on frames rendered with `faceswap apply ... --colour-transfer none` (the network's own output, before
colour transfer re-balances it) and the plates they were rendered from. For each frame, the region measured is
where the node's face mask (`OUT/FaceMask/%05d.png`) is at least 0.99, so the composite there is the swapped
face itself, not a blend; it is shrunk by 2 px more so that no 3x3 filter reaches the feathered edge.

Lighting: the luminance Y (Rec. 709 weights on the sRGB-encoded values) of plate and swap is low-passed with a
Gaussian of sigma = face size / 8 (face size = the larger side of the region's bounding box; at this scale eyes,
mouth, glasses and skin texture are gone and what is left is the broad shading of the face). The blur is
normalised by the blurred region, so pixels outside the face do not leak in. Reported per frame:
- `light_corr`: Pearson correlation of the two low-passed luminances over the region. 1 = the swap is lit
  brighter and darker in the same places as the plate (up to scale and offset); 0 = unrelated shading.
- `light_gain`: the regression slope of swap on plate. 1 = the plate's shading carried over at full strength;
  0.5 = at half strength (a flatter face); it is `light_corr` times the ratio of standard deviations.

Sharpness: on the unfiltered Y over the same region,
- `grad`: mean Sobel gradient magnitude; `lapvar`: variance of the 3x3 Laplacian (the usual focus measure).
  Each is reported for the swap, for the plate and as the swap / plate ratio (1 = as sharp as the plate).

    python3 scripts/swap_lighting_sharpness.py --swapped out/raw --plate plates --frames 69-157
    python3 scripts/swap_lighting_sharpness.py --swapped out/raw --plate plates --mask out/raw/FaceMask --json m.json

--swapped, --plate and --mask (default: SWAPPED/FaceMask) are folders of %05d.png frames, as `faceswap apply`
writes them. Needs numpy and pillow only; runs in $HOME/.cache/faceswap-ofx/venv-dlib (scripts/requirements-identity.txt)
or any Python that has them. Frames without a mask file (the node found no face) are listed and left out.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

# The same frame-range syntax as the identity measure it runs beside (that module only defines things on import).
from identity_embedding import frame_range

# Where the 16-bit mask counts as "all swap": the composite equals the swapped face up to 1%.
INSIDE = 0.99
# Extra shrink of that region, px, so 3x3 filters never reach the feathered edge.
SHRINK = 2
# Low-pass sigma as a fraction of the face size: broad shading only.
SIGMA_OF_FACE = 1 / 8


def luminance(path: Path) -> np.ndarray:
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
    return rgb @ np.array([0.2126, 0.7152, 0.0722])


def read_mask(path: Path) -> np.ndarray:
    a = np.asarray(Image.open(path))
    return a.astype(np.float64) / (65535.0 if a.dtype == np.uint16 else 255.0)


def shrink(region: np.ndarray, px: int) -> np.ndarray:
    """Binary erosion by a (2px+1) square, with plain shifts."""
    out = region.copy()
    for _ in range(px):
        r = out.copy()
        r[1:, :] &= out[:-1, :]
        r[:-1, :] &= out[1:, :]
        r[:, 1:] &= out[:, :-1]
        r[:, :-1] &= out[:, 1:]
        out = r
    return out


def gaussian(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur, zero outside the image (the caller normalises by the blurred region)."""
    radius = max(1, int(round(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    out = img
    for axis in (0, 1):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)])
        n = out.shape[axis]
        out = sum(w * np.take(padded, np.arange(i, i + n), axis=axis) for i, w in enumerate(k))
    return out


def low_pass_in(y: np.ndarray, region: np.ndarray, sigma: float) -> np.ndarray:
    weight = gaussian(region.astype(np.float64), sigma)
    return gaussian(y * region, sigma) / np.maximum(weight, 1e-9)


def sobel_magnitude(y: np.ndarray) -> np.ndarray:
    p = np.pad(y, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    return np.hypot(gx, gy) / 8.0


def laplacian(y: np.ndarray) -> np.ndarray:
    p = np.pad(y, 1, mode="edge")
    return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * p[1:-1, 1:-1]


def measure(plate: np.ndarray, swap: np.ndarray, mask: np.ndarray, sigma_of_face: float = SIGMA_OF_FACE) -> dict | None:
    region = shrink(mask >= INSIDE, SHRINK)
    if region.sum() < 100:
        return None
    rows, cols = np.nonzero(region)
    size = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    # Work on the face's neighbourhood only: the blur never reaches further than 3 sigma.
    pad = int(3 * size * sigma_of_face) + 2
    r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, mask.shape[0])
    c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, mask.shape[1])
    region, plate, swap = region[r0:r1, c0:c1], plate[r0:r1, c0:c1], swap[r0:r1, c0:c1]

    sigma = size * sigma_of_face
    lp = low_pass_in(plate, region, sigma)[region]
    ls = low_pass_in(swap, region, sigma)[region]
    cov = np.cov(lp, ls)
    corr = float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))
    gain = float(cov[0, 1] / cov[0, 0])

    grad_p, grad_s = float(sobel_magnitude(plate)[region].mean()), float(sobel_magnitude(swap)[region].mean())
    lap_p, lap_s = float(laplacian(plate)[region].var()), float(laplacian(swap)[region].var())
    return {
        "pixels": int(region.sum()), "face_px": int(size),
        "light_corr": corr, "light_gain": gain,
        "grad_swap": grad_s, "grad_plate": grad_p, "grad_ratio": grad_s / grad_p,
        "lapvar_swap": lap_s, "lapvar_plate": lap_p, "lapvar_ratio": lap_s / lap_p,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--swapped", type=Path, required=True, help="frames rendered with --colour-transfer none (%%05d.png)")
    p.add_argument("--plate", type=Path, required=True, help="the original frames (%%05d.png)")
    p.add_argument("--mask", type=Path, default=None, help="the node's face masks (default: SWAPPED/FaceMask)")
    p.add_argument("--frames", type=frame_range, default=frame_range("69-157"), help="frame range A-B (default 69-157)")
    p.add_argument("--sigma-of-face", type=float, default=SIGMA_OF_FACE,
                   help="low-pass sigma as a fraction of the face size (default 1/8)")
    p.add_argument("--json", type=Path, help="also write the per-frame figures and the summary here")
    args = p.parse_args()
    mask_dir = args.mask or args.swapped / "FaceMask"

    rows, missing = [], []
    for n in args.frames:
        name = f"{n:05d}.png"
        paths = (args.plate / name, args.swapped / name, mask_dir / name)
        if not all(q.is_file() for q in paths):
            missing.append((n, "frame or mask file missing"))
            continue
        m = measure(luminance(paths[0]), luminance(paths[1]), read_mask(paths[2]), args.sigma_of_face)
        if m is None:
            missing.append((n, "mask region under 100 px"))
            continue
        rows.append({"frame": n, **m})
    if not rows:
        print("no frame could be measured", file=sys.stderr)
        return 2

    keys = ["light_corr", "light_gain", "grad_swap", "grad_plate", "grad_ratio", "lapvar_swap", "lapvar_plate", "lapvar_ratio"]
    summary = {"frames_measured": len(rows), "frames_in_range": len(args.frames), "sigma_of_face": args.sigma_of_face}
    for k in keys:
        v = np.array([r[k] for r in rows])
        summary[f"mean_{k}"], summary[f"sd_{k}"] = float(v.mean()), float(v.std())
    print(f"measured {len(rows)} of {len(args.frames)} frames ({len(missing)} left out)")
    for k in keys:
        print(f"  {k:<14} mean {summary[f'mean_{k}']:.4g}  sd {summary[f'sd_{k}']:.3g}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "frames": rows, "missing": missing}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
