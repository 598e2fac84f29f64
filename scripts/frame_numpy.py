"""The node's per-frame algorithm in numpy, around onnxruntime sessions: what scripts/bench_onnxruntime.py times.

A port of src/pipeline (analysis.rs, detect.rs, resample.rs, align.rs, colour.rs, mask_ops.rs, composite.rs and
`swap_faces` / `paste` / `finish` of run.rs), step for step, vectorised where the Rust loops run per pixel.
It follows the same algorithm so that the timings compare like with like; it is not a bit-exact copy (float
summation orders differ) and nothing in the repository depends on its output except the swap-net parity
fixture's input crop, which only has to be a real aligned face.

Frames are float32 arrays [H, W, 3] (RGB; the alpha channel plays no part before the composite, which keeps the
source's). Affine maps are 6 floats [a, b, c, d, e, f]: src = (a x + b y + c, d x + e y + f), pixel centres at
+0.5, as `resample::Affine`.
"""
from __future__ import annotations

import math

import numpy as np

DET_SIZE = 128
MESH_SIZE = 192
LANDMARKS = 468
MIN_TILE_FRACTION, MIN_TILE_PX, OVERLAP, EDGE_MARGIN = 0.1, 192.0, 0.25, 0.01
LOGIT_CLAMP, NMS_IOU = 80.0, 0.3
MIN_PRESENCE, CONFIDENT_DETECTION = 0.5, 0.7


# ---- resample.rs ----

def square_crop(cx, cy, side, theta, out):
    s = side / out
    sin, cos = math.sin(theta), math.cos(theta)
    a, b, d, e = cos * s, -sin * s, sin * s, cos * s
    h = out / 2.0
    return np.array([a, b, cx - a * h - b * h, d, e, cy - d * h - e * h], np.float64)


def apply(m, x, y):
    return m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]


def bilinear(src, x, y, fill):
    """resample::bilinear then the clamp of crop_to_chw: [..., 3], `fill` outside the frame."""
    h, w = src.shape[:2]
    inside = (x >= 0) & (y >= 0) & (x <= w) & (y <= h)
    fx = np.clip(np.nan_to_num(x - 0.5), 0, w - 1)
    fy = np.clip(np.nan_to_num(y - 0.5), 0, h - 1)
    x0, y0 = fx.astype(np.int32), fy.astype(np.int32)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    tx, ty = (fx - x0)[..., None], (fy - y0)[..., None]
    flat = src.reshape(-1, src.shape[-1])  # one flat gather is several times faster than 2-D fancy indexing
    a, b, c, d = (np.take(flat, (yy * w + xx).ravel(), axis=0).reshape(*x.shape, -1)
                  for yy, xx in ((y0, x0), (y0, x1), (y1, x0), (y1, x1)))
    top = a + (b - a) * tx
    p = top + (c + (d - c) * tx - top) * ty
    p = np.where(np.isfinite(p), np.clip(p, 0.0, 1.0), 0.0)
    p[~inside] = fill
    return p


def crop_to_chw(src, maps, out, gain, bias, fill):
    """resample::crop_to_chw for several maps over one source: [len(maps), 3, out, out]. Each output pixel
    averages k x k bilinear samples, k = ceil(map scale) in [1, 16]."""
    maps = np.asarray(maps, np.float64).reshape(-1, 6)
    scale = np.maximum(np.hypot(maps[:, 0], maps[:, 3]), np.hypot(maps[:, 1], maps[:, 4]))
    ks = np.clip(np.ceil(scale.astype(np.float32)), 1, 16).astype(int)
    result = np.empty((len(maps), 3, out, out), np.float32)
    for k in np.unique(ks):
        sel = np.nonzero(ks == k)[0]
        pos = ((np.arange(out)[:, None] + (np.arange(k)[None, :] + 0.5) / k).ravel()).astype(np.float32)
        m = maps[sel].astype(np.float32)[:, :, None, None]
        x = m[:, 0] * pos[None, :] + m[:, 1] * pos[:, None] + m[:, 2]
        y = m[:, 3] * pos[None, :] + m[:, 4] * pos[:, None] + m[:, 5]
        p = bilinear(src, x, y, fill)
        if k > 1:
            p = p.reshape(len(sel), out, k, out, k, 3).mean(axis=(2, 4))
        result[sel] = p.transpose(0, 3, 1, 2) * gain + bias
    return result


def area_taps(length, out, scale):
    """resample::area_taps as (indices [out, K], weights [out, K]), zero-weight padding."""
    inv = 1.0 / float(scale)
    taps = []
    for i in range(out):
        lo, hi = i * inv, min((i + 1) * inv, float(length))
        row, x = [], math.floor(lo)
        while x < hi and x < length:
            o = max(min(hi, x + 1.0) - max(lo, float(x)), 0.0)
            if o > 0:
                row.append((x, o))
            x += 1
        total = sum(o for _, o in row)
        taps.append([(x, o / total) for x, o in row])
    k = max(len(t) for t in taps)
    idx = np.zeros((out, k), np.int64)
    wt = np.zeros((out, k), np.float32)
    for i, t in enumerate(taps):
        for j, (x, o) in enumerate(t):
            idx[i, j], wt[i, j] = x, o
    return idx, wt


def area_downscale(src, scale):
    """resample::area_downscale: exact area filter, output ceil(w·scale) x ceil(h·scale)."""
    scale = float(np.float32(scale))
    h, w = src.shape[:2]
    ow, oh = max(math.ceil(w * scale), 1), max(math.ceil(h * scale), 1)
    clean = np.where(np.isfinite(src), np.clip(src, 0.0, 1.0), 0.0).astype(np.float32)
    ix, wx = area_taps(w, ow, scale)
    rows = sum(clean[:, ix[:, j]] * wx[None, :, j, None] for j in range(ix.shape[1]))
    iy, wy = area_taps(h, oh, scale)
    return sum(rows[iy[:, j]] * wy[:, j, None, None] for j in range(iy.shape[1])).astype(np.float32)


# ---- analysis.rs: detection ----

def tiles(w, h):
    """analysis::tiles: (x, y, side, whole_frame) of the pyramid."""
    big = float(max(w, h))
    min_tile = max(big * MIN_TILE_FRACTION, MIN_TILE_PX)
    out = [((w - big) / 2.0, (h - big) / 2.0, big, True)]
    side = big / 2.0
    while side >= min_tile:
        def positions(length):
            if length <= side:
                return [(length - side) / 2.0]
            n = math.ceil((length - side) / (side * (1.0 - OVERLAP))) + 1
            return [(length - side) * i / (n - 1) for i in range(n)]
        out += [(x, y, side, False) for y in positions(float(h)) for x in positions(float(w))]
        side /= 2.0
    return out


def tile_inputs(frame, tile_list):
    """analysis::tile_inputs: [tiles, 3, 128, 128] in [-1, 1], tiles of one side cropped 1:1 from one
    area-downscaled level, each level shrunk from the finer one."""
    sides = sorted({t[2] for t in tile_list if t[2] > DET_SIZE})
    levels, prev = {}, None
    for side in sides:
        levels[side] = area_downscale(frame, np.float32(DET_SIZE) / np.float32(side)) if prev is None \
            else area_downscale(levels[prev], np.float32(prev) / np.float32(side))
        prev = side
    out = np.empty((len(tile_list), 3, DET_SIZE, DET_SIZE), np.float32)
    for side in {t[2] for t in tile_list}:
        idx = [i for i, t in enumerate(tile_list) if t[2] == side]
        maps = [square_crop(tile_list[i][0] + side / 2, tile_list[i][1] + side / 2, side, 0.0, DET_SIZE) for i in idx]
        if side in levels:
            src, maps = levels[side], [m * (DET_SIZE / side) for m in maps]
        else:
            src = frame
        out[idx] = crop_to_chw(src, maps, DET_SIZE, 2.0, -1.0, 0.0)
    return out


def anchors():
    out = []
    for stride, per_cell in ((8, 2), (16, 6)):
        n = 128 // stride
        for row in range(n):
            for col in range(n):
                out += [((col + 0.5) / n, (row + 0.5) / n)] * per_cell
    return np.array(out, np.float32)


ANCHORS = anchors()


def decode(reg, logits, threshold):
    """detect::decode: rows [xmin, ymin, xmax, ymax, 12 keypoint coords, score] above `threshold`, best first."""
    a = np.tile(ANCHORS, 7)  # x, y repeated for the centre and the 6 keypoints
    pts = reg[:, [0, 1] + list(range(4, 16))] / DET_SIZE + a
    cx, cy, w, h = pts[:, 0], pts[:, 1], reg[:, 2] / DET_SIZE, reg[:, 3] / DET_SIZE
    score = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1), -LOGIT_CLAMP, LOGIT_CLAMP)))
    d = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, pts[:, 2:], score]).astype(np.float32)
    keep = (score > threshold) & (d[:, 2] > d[:, 0]) & (d[:, 3] > d[:, 1])
    d = d[keep]
    return d[np.argsort(-d[:, 16], kind="stable")]


def iou(a, b):
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return 0.0 if inter <= 0 or union <= 0 else inter / union


def weighted_nms(sorted_dets):
    """detect::weighted_nms (score-weighted mean of each overlapping group, the best one's score)."""
    remaining, out = list(sorted_dets), []
    while remaining:
        best = remaining[0]
        group = [d for d in remaining if iou(best, d) > NMS_IOU]
        remaining = [d for d in remaining if not iou(best, d) > NMS_IOU]
        if not group:
            remaining = remaining[1:]
            continue
        wts = np.array([d[16] for d in group], np.float32)
        merged = (np.stack(group)[:, :16] * (wts / wts.sum())[:, None]).sum(axis=0)
        out.append(np.append(merged, best[16]).astype(np.float32))
    return out


def map_detection(d, tx, ty, side):
    m = d.copy()
    m[0:16:2] = tx + d[0:16:2] * side
    m[1:16:2] = ty + d[1:16:2] * side
    return m


def merge_tiles(tile_list, regressors, logits, w, h, threshold):
    """The post-network half of analysis::detect_faces: per-tile decode + NMS, tile-border cuts dropped,
    frame pixels, NMS over all tiles, faces overlapping the frame."""
    found = []
    for i, (tx, ty, side, whole) in enumerate(tile_list):
        for d in weighted_nms(decode(regressors[i], logits[i], threshold)):
            cut = lambda lo, hi: lo < EDGE_MARGIN or hi > 1 - EDGE_MARGIN
            if not whole and (cut(d[0], d[2]) or cut(d[1], d[3])):
                continue
            found.append(map_detection(d, tx, ty, side))
    found.sort(key=lambda d: -d[16])
    return [d for d in weighted_nms(found) if d[2] > 0 and d[3] > 0 and d[0] < w and d[1] < h]


# ---- analysis.rs: landmarks ----

def landmark_roi(d):
    side = 1.5 * max(d[2] - d[0], d[3] - d[1])
    theta = math.atan2(d[7] - d[5], d[6] - d[4])
    return (d[0] + d[2]) / 2, (d[1] + d[3]) / 2, side, theta


def landmark_roi_from_mesh(lm):
    x0, y0 = lm[:, :2].min(axis=0)
    x1, y1 = lm[:, :2].max(axis=0)
    e0, e1 = lm[33], lm[263]
    theta = math.atan2(e1[1] - e0[1], e1[0] - e0[0])
    return (x0 + x1) / 2, (y0 + y1) / 2, 1.5 * max(x1 - x0, y1 - y0), theta


def mesh_inputs(frame, rois):
    maps = [square_crop(cx, cy, side, theta, MESH_SIZE) for cx, cy, side, theta in rois]
    return crop_to_chw(frame, maps, MESH_SIZE, 1.0, 0.0, 0.0), maps


def mesh_outputs(raw, presence, rois, maps):
    """Landmarks in frame pixels and presence probabilities of one FaceMesh batch."""
    out = []
    for i, ((_, _, side, _), m) in enumerate(zip(rois, maps)):
        r = raw[i].reshape(LANDMARKS, 3)
        x, y = apply(m, r[:, 0], r[:, 1])
        lm = np.column_stack([x, y, r[:, 2] * (side / MESH_SIZE)]).astype(np.float32)
        out.append((lm, 1.0 / (1.0 + math.exp(-float(presence[i].reshape(-1)[0])))))
    return out


# ---- align.rs ----

def alignment_points(lm):
    mid = lambda a, b: (lm[a, :2] + lm[b, :2]) / 2
    return np.array([mid(33, 133), mid(362, 263), lm[1, :2], lm[61, :2], lm[291, :2]], np.float64)


def similarity(p, q):
    pm, qm = p.mean(axis=0), q.mean(axis=0)
    pc, qc = p - pm, q - qm
    dot = (pc * qc).sum()
    cross = (pc[:, 0] * qc[:, 1] - pc[:, 1] * qc[:, 0]).sum()
    norm = (pc * pc).sum()
    a, b = (dot / norm, cross / norm) if norm > 0 else (1.0, 0.0)
    return np.array([a, -b, qm[0] - (a * pm[0] - b * pm[1]), b, a, qm[1] - (b * pm[0] + a * pm[1])], np.float32)


def invert(m):
    a, b, c, d, e, f = [float(v) for v in m]
    det = a * e - b * d
    det = det if abs(det) >= 1e-12 else 1e-12
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    return np.array([ia, ib, -(ia * c + ib * f), id_, ie, -(id_ * c + ie * f)], np.float32)


def align(lm, template, size):
    """(frame_to_crop, crop_to_frame) of align::align."""
    f2c = similarity(alignment_points(lm), np.asarray(template, np.float64) * size)
    return f2c, invert(f2c)


def convex_hull(points):
    pts = sorted({(float(x), float(y)) for x, y in points if math.isfinite(x) and math.isfinite(y)})
    if len(pts) < 3:
        return pts
    cross = lambda o, a, b: (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    hull = []
    for seq in (pts, pts[::-1]):
        start = len(hull)
        for p in seq:
            while len(hull) >= start + 2 and cross(hull[-2], hull[-1], p) <= 0:
                hull.pop()
            hull.append(p)
        hull.pop()
    return hull


def fill_convex(poly, w, h):
    """align::fill_convex: anti-aliased (4x4 samples) convex polygon mask over its bounding box."""
    mask = np.zeros((h, w), np.float32)
    if len(poly) < 3:
        return mask
    p = np.array(poly, np.float32)
    x0, y0 = (max(int(v), 0) for v in np.floor(p.min(axis=0)))
    x1, y1 = (max(int(v), 0) for v in np.ceil(p.max(axis=0)) + 1)
    x1, y1, x0, y0 = min(x1, w), min(y1, h), min(x0, w), min(y0, h)
    if x0 >= x1 or y0 >= y1:
        return mask
    sub = (np.arange(4) + 0.5) / 4
    xs = (np.arange(x0, x1)[:, None] + sub).ravel().astype(np.float32)
    ys = (np.arange(y0, y1)[:, None] + sub).ravel().astype(np.float32)
    a, b = p, np.roll(p, -1, axis=0)
    c = (b[:, 0] - a[:, 0])[:, None, None] * (ys[None, :, None] - a[:, 1, None, None]) \
        - (b[:, 1] - a[:, 1])[:, None, None] * (xs[None, None, :] - a[:, 0, None, None])
    inside = ~((c > 0).any(axis=0) & (c < 0).any(axis=0))
    mask[y0:y1, x0:x1] = inside.reshape(y1 - y0, 4, x1 - x0, 4).mean(axis=(1, 3))
    return mask


def hull_mask_crop(lm, f2c, size):
    x, y = apply(f2c, lm[:, 0], lm[:, 1])
    return fill_convex(convex_hull(zip(x, y)), size, size)


# ---- colour.rs (Reinhard in Lab) ----

WHITE = np.array([0.95047, 1.0, 1.08883], np.float32)
RGB2XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]], np.float32)
XYZ2RGB = np.array([[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560],
                    [0.0556434, -0.2040259, 1.0572252]], np.float32)


def rgb_to_lab(rgb):
    v = np.clip(rgb, 0, 1)
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    t = lin @ RGB2XYZ.T / WHITE
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def lab_to_rgb(lab):
    fy = (lab[:, 0] + 16) / 116
    f = np.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], axis=1)
    xyz = np.where(f > 0.206893, f ** 3, (f - 16 / 116) / 7.787) * WHITE
    lin = xyz @ XYZ2RGB.T
    srgb = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.maximum(lin, 0) ** (1 / 2.4) - 0.055)
    return np.clip(srgb, 0, 1).astype(np.float32)


def reinhard(face, target, weight):
    """colour::transfer(ReinhardLab, ...) on [n, 3] arrays."""
    wt = np.maximum(weight.reshape(-1), 0).astype(np.float64)
    if wt.sum() <= 1e-6:
        return face
    fl, tl = rgb_to_lab(face).astype(np.float64), rgb_to_lab(target).astype(np.float64)
    stat = lambda d: ((m := (d * wt[:, None]).sum(0) / wt.sum()), np.sqrt((wt[:, None] * (d - m) ** 2).sum(0) / wt.sum()))
    (fm, fs), (tm, ts) = stat(fl), stat(tl)
    gain = np.where(fs > 1e-4, ts / np.where(fs > 1e-4, fs, 1), 1.0)
    return lab_to_rgb(((fl - fm) * gain + tm).astype(np.float32))


# ---- mask_ops.rs ----

def _extremum_1d(m, r, grow, axis):
    n = m.shape[axis]
    pad = [(0, 0)] * 2
    pad[axis] = (r, r)
    padded = np.pad(m, pad, constant_values=-np.inf if grow else np.inf)
    win = np.lib.stride_tricks.sliding_window_view(padded, 2 * r + 1, axis=axis)
    out = win.max(axis=-1) if grow else win.min(axis=-1)
    if not grow:  # outside the image counts as 0 when eroding
        idx = [slice(None)] * 2
        idx[axis] = np.r_[0:min(r, n), max(n - r, 0):n]
        out[tuple(idx)] = 0
    return out


def erode(mask, radius):
    if radius == 0 or not math.isfinite(radius):
        return mask.copy()
    grow, r = radius < 0, abs(radius)
    lo, frac = math.floor(r), r - math.floor(r)
    ext = lambda k: mask.copy() if k == 0 else _extremum_1d(_extremum_1d(mask, k, grow, 1), k, grow, 0)
    a = ext(lo)
    return a if frac <= 0 else (a + (ext(lo + 1) - a) * np.float32(frac)).astype(np.float32)


def _box_1d(m, h, axis):
    whole = math.floor(h)
    frac = float(np.float32(h) - whole)
    pad = [(0, 0)] * 2
    pad[axis] = (whole + 1, whole + 1)
    p = np.pad(m.astype(np.float64), pad, mode="edge")
    c = np.cumsum(p, axis=axis)
    zero = np.zeros_like(np.take(c, [0], axis=axis))
    c = np.concatenate([zero, c], axis=axis)
    n = m.shape[axis]
    take = lambda s: np.take(c, np.arange(n) + s, axis=axis)
    s = take(2 * whole + 2) - take(1)
    if frac > 0:
        s = s + frac * (np.take(p, np.arange(n), axis=axis) + np.take(p, np.arange(n) + 2 * whole + 2, axis=axis))
    return (s / ((2 * whole + 1) + 2 * frac)).astype(np.float32)


def feather(mask, radius):
    if radius <= 0 or not math.isfinite(radius):
        return mask.copy()
    h = max(np.float32(radius) / np.float32(3), 0.5)
    for _ in range(3):
        mask = _box_1d(_box_1d(mask, h, 1), h, 0)
    return mask


# ---- run.rs: swap_faces (after the network), paste, finish; composite.rs ----

def face_glue(frame, lm, f2c, crop_chw, rgb, mask):
    """Per face after the network: hull mask, Reinhard transfer, the network mask limited to the grown hull.
    Returns (face RGB [n, n, 3], face mask [n, n])."""
    n = rgb.shape[-1]
    hull = hull_mask_crop(lm, f2c, n)
    face = reinhard(rgb.reshape(3, -1).T, crop_chw.reshape(3, -1).T, hull).reshape(n, n, 3)
    grown = feather(erode(hull, -n * 0.03), n * 0.02)
    return face, mask.reshape(n, n) * grown


def paste(swapped, total, face, face_mask, f2c, c2f):
    """run::paste: bilinear warp of the crop back over the face's bounding region, where its mask is larger."""
    n = face.shape[0]
    h, w = total.shape
    cx, cy = apply(c2f, np.array([0, n, 0, n], np.float32), np.array([0, 0, n, n], np.float32))
    clampi = lambda v, hi: min(int(max(v, 0.0)), hi)
    x0, x1 = clampi(math.floor(cx.min()), w), clampi(math.ceil(cx.max()), w)
    y0, y1 = clampi(math.floor(cy.min()), h), clampi(math.ceil(cy.max()), h)
    if x0 >= x1 or y0 >= y1:
        return
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32) + 0.5, np.arange(y0, y1, dtype=np.float32) + 0.5)
    u, v = apply(f2c, xs, ys)
    ok = (u >= 0) & (v >= 0) & (u < n) & (v < n)
    fu, fv = np.clip(np.nan_to_num(u - 0.5), 0, n - 1), np.clip(np.nan_to_num(v - 0.5), 0, n - 1)
    u0, v0 = fu.astype(np.int32), fv.astype(np.int32)
    u1, v1 = np.minimum(u0 + 1, n - 1), np.minimum(v0 + 1, n - 1)
    tu, tv = fu - u0, fv - v0

    def lerp(img, tu, tv):
        top = img[v0, u0] + (img[v0, u1] - img[v0, u0]) * tu
        return top + (img[v1, u0] + (img[v1, u1] - img[v1, u0]) * tu - top) * tv

    m = lerp(face_mask, tu, tv)
    region = total[y0:y1, x0:x1]
    take = ok & (m > region)
    swapped[y0:y1, x0:x1][take] = lerp(face, tu[..., None], tv[..., None])[take]
    region[take] = m[take]


def finish(source, swapped, raw_mask, erode_px, feather_px, blend=1.0):
    """run::finish with composite::composite in Composite mode: shaped mask, then the mix."""
    mask = feather(erode(raw_mask, erode_px), feather_px)
    k = (mask * np.float32(min(max(blend, 0.0), 1.0)))[..., None]
    return np.where(k > 0, source + (swapped - source) * k, source).astype(np.float32), mask
