//! Alignment: a similarity transform from a face's landmarks to the canonical face template, the warp into
//! the model's square crop, and the landmark-hull face mask in crop and frame space.

use super::frame::{Frame, Mask};
use super::resample::Affine;
use serde::{Deserialize, Serialize};

/// FaceMesh indices of the five alignment points: the eye on the image's left (mean of its corners 33 and 133),
/// the other eye (362, 263), the nose tip (1), and the mouth corners (61 image-left, 291).
const EYE_A: [usize; 2] = [33, 133];
const EYE_B: [usize; 2] = [362, 263];
const NOSE: usize = 1;
const MOUTH_A: usize = 61;
const MOUTH_B: usize = 291;

/// Where the five alignment points sit in the square crop, as fractions of its side (y down). Saved in every
/// swap model, so a model always aligns the way it was trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceTemplate {
    pub points: [[f32; 2]; 5],
}

impl Default for FaceTemplate {
    /// A "whole face" crop: the common 5-point face layout (eyes at 46% of the height, mouth corners at 82%,
    /// in a tight crop) shrunk to 80% and raised, so forehead, cheeks and chin fit with a margin for the mask's
    /// feathering (the landmark hull covers about 30% of the crop).
    fn default() -> Self {
        let tight = [[0.3419, 0.4616], [0.6565, 0.4598], [0.5003, 0.6405], [0.3710, 0.8247], [0.6315, 0.8232]];
        let points = tight.map(|[x, y]| [0.5 + (x - 0.5) * 0.8, 0.5 + (y - 0.6) * 0.8]);
        FaceTemplate { points }
    }
}

/// The five alignment points of a face from its landmarks (frame pixels).
pub fn alignment_points(landmarks: &[[f32; 3]]) -> [[f32; 2]; 5] {
    let p = |i: usize| [landmarks[i][0], landmarks[i][1]];
    let mid = |[a, b]: [usize; 2]| [(landmarks[a][0] + landmarks[b][0]) / 2.0, (landmarks[a][1] + landmarks[b][1]) / 2.0];
    [mid(EYE_A), mid(EYE_B), p(NOSE), p(MOUTH_A), p(MOUTH_B)]
}

/// Least-squares similarity (rotation, uniform scale, translation) taking `from` onto `to`, as [a, -b, tx; b, a, ty].
pub fn similarity(from: &[[f32; 2]], to: &[[f32; 2]]) -> Affine {
    let n = from.len().min(to.len()) as f64;
    let mean = |pts: &[[f32; 2]]| {
        let (sx, sy) = pts.iter().fold((0.0f64, 0.0f64), |(x, y), p| (x + p[0] as f64, y + p[1] as f64));
        (sx / n, sy / n)
    };
    let (pmx, pmy) = mean(from);
    let (qmx, qmy) = mean(to);
    let (mut dot, mut cross, mut norm) = (0.0f64, 0.0f64, 0.0f64);
    for (p, q) in from.iter().zip(to) {
        let (px, py) = (p[0] as f64 - pmx, p[1] as f64 - pmy);
        let (qx, qy) = (q[0] as f64 - qmx, q[1] as f64 - qmy);
        dot += px * qx + py * qy;
        cross += px * qy - py * qx;
        norm += px * px + py * py;
    }
    let (a, b) = if norm > 0.0 { (dot / norm, cross / norm) } else { (1.0, 0.0) };
    let tx = qmx - (a * pmx - b * pmy);
    let ty = qmy - (b * pmx + a * pmy);
    Affine { m: [a as f32, -b as f32, tx as f32, b as f32, a as f32, ty as f32] }
}

/// Inverse of a similarity/affine map.
pub fn invert(m: &Affine) -> Affine {
    let [a, b, c, d, e, f] = m.m;
    let det = a * e - b * d;
    let det = if det.abs() < 1e-12 { 1e-12 } else { det };
    let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
    Affine { m: [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)] }
}

/// How one face maps between the frame and the model's crop.
#[derive(Clone, Debug, PartialEq)]
pub struct Alignment {
    /// Crop pixel (centres at +0.5) → frame pixel.
    pub crop_to_frame: Affine,
    /// Frame pixel → crop pixel.
    pub frame_to_crop: Affine,
    pub size: usize,
}

/// Aligns a face's landmarks to `template` in a `size`-pixel crop.
pub fn align(landmarks: &[[f32; 3]], template: &FaceTemplate, size: usize) -> Alignment {
    let target: Vec<[f32; 2]> = template.points.iter().map(|p| [p[0] * size as f32, p[1] * size as f32]).collect();
    let frame_to_crop = similarity(&alignment_points(landmarks), &target);
    Alignment { crop_to_frame: invert(&frame_to_crop), frame_to_crop, size }
}

/// Convex hull (counter-clockwise in y-down pixel space, monotone chain) of 2D points.
pub fn convex_hull(points: &[[f32; 2]]) -> Vec<[f32; 2]> {
    let mut pts: Vec<[f32; 2]> = points.iter().copied().filter(|p| p[0].is_finite() && p[1].is_finite()).collect();
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: [f32; 2], a: [f32; 2], b: [f32; 2]| (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    let mut hull: Vec<[f32; 2]> = Vec::with_capacity(pts.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f32; 2]>> = if pass == 0 { Box::new(pts.iter()) } else { Box::new(pts.iter().rev()) };
        for &p in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// Rasterises a convex polygon into a `w × h` mask with anti-aliased edges (4×4 samples a pixel), only over
/// the polygon's bounding box.
pub fn fill_convex(poly: &[[f32; 2]], w: usize, h: usize) -> Mask {
    let mut mask = Mask::empty(w, h);
    if poly.len() < 3 {
        return mask;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in poly {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let clampi = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi);
    // Inside test for a convex polygon whatever its winding: the point is on one side of every edge.
    let inside = |x: f32, y: f32| {
        let (mut pos, mut neg) = (false, false);
        for i in 0..poly.len() {
            let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
            let c = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
            pos |= c > 0.0;
            neg |= c < 0.0;
        }
        !(pos && neg)
    };
    const S: usize = 4;
    for y in clampi(y0.floor(), h)..clampi(y1.ceil() + 1.0, h) {
        for x in clampi(x0.floor(), w)..clampi(x1.ceil() + 1.0, w) {
            let mut hits = 0;
            for sy in 0..S {
                for sx in 0..S {
                    if inside(x as f32 + (sx as f32 + 0.5) / S as f32, y as f32 + (sy as f32 + 0.5) / S as f32) {
                        hits += 1;
                    }
                }
            }
            mask.set(x, y, hits as f32 / (S * S) as f32);
        }
    }
    mask
}

/// The landmark-hull face mask in the crop.
pub fn hull_mask_crop(landmarks: &[[f32; 3]], alignment: &Alignment) -> Mask {
    let pts: Vec<[f32; 2]> = landmarks
        .iter()
        .map(|l| {
            let (x, y) = alignment.frame_to_crop.apply(l[0], l[1]);
            [x, y]
        })
        .collect();
    fill_convex(&convex_hull(&pts), alignment.size, alignment.size)
}

/// The landmark-hull face mask in the frame.
pub fn hull_mask_frame(landmarks: &[[f32; 3]], w: usize, h: usize) -> Mask {
    let pts: Vec<[f32; 2]> = landmarks.iter().map(|l| [l[0], l[1]]).collect();
    fill_convex(&convex_hull(&pts), w, h)
}

/// Warps the face into the crop as straight RGB in [0, 1] (interleaved, size² × 3).
pub fn warp_to_crop(frame: &Frame, alignment: &Alignment) -> Vec<f32> {
    let n = alignment.size;
    let mut chw = vec![0.0; 3 * n * n];
    super::resample::crop_to_chw(frame, &alignment.crop_to_frame, n, 1.0, 0.0, 0.0, &mut chw);
    (0..n * n).flat_map(|i| [chw[i], chw[n * n + i], chw[2 * n * n + i]]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_known_transform() {
        let from = [[10.0, 20.0], [30.0, 22.0], [21.0, 35.0], [14.0, 45.0], [28.0, 44.0]];
        let (s, th, tx, ty) = (1.7f32, 0.3f32, 5.0, -8.0);
        let to: Vec<[f32; 2]> = from
            .iter()
            .map(|p| [s * (th.cos() * p[0] - th.sin() * p[1]) + tx, s * (th.sin() * p[0] + th.cos() * p[1]) + ty])
            .collect();
        let m = similarity(&from, &to);
        for (p, q) in from.iter().zip(&to) {
            let (x, y) = m.apply(p[0], p[1]);
            assert!((x - q[0]).abs() < 1e-3 && (y - q[1]).abs() < 1e-3);
        }
        let back = invert(&m);
        let (x, y) = back.apply(to[2][0], to[2][1]);
        assert!((x - from[2][0]).abs() < 1e-3 && (y - from[2][1]).abs() < 1e-3);
    }

    #[test]
    fn hull_and_fill_of_a_square() {
        let pts = [[2.0, 2.0], [10.0, 2.0], [10.0, 10.0], [2.0, 10.0], [6.0, 6.0], [4.0, 3.0]];
        let hull = convex_hull(&pts);
        assert_eq!(hull.len(), 4);
        let m = fill_convex(&hull, 16, 16);
        let area: f32 = m.data().iter().sum();
        assert!((area - 64.0).abs() < 0.5, "area {area}");
        assert_eq!(m.get(5, 5), 1.0);
        assert_eq!(m.get(12, 12), 0.0);
    }

    #[test]
    fn template_points_sit_inside_the_crop_in_face_order() {
        let t = FaceTemplate::default();
        assert!(t.points.iter().all(|p| p.iter().all(|v| (0.15..0.85).contains(v))));
        assert!(t.points[0][0] < t.points[1][0] && t.points[3][0] < t.points[4][0]);
        assert!(t.points[0][1] < t.points[2][1] && t.points[2][1] < t.points[3][1]);
    }
}
