//! Borrowing from another identity's faces in training: its pose ([`borrow_pose`]), its colour
//! ([`borrow_colour`]) and its surroundings ([`borrow_context`]).
//!
//! **Pose.** A training face warped so that its landmarks move towards another identity's face.
//! A swap asks identity k's decoder to draw k on the geometry of the shot's face (identity j): its pose, its
//! expression, its outline. When k was filmed in other poses than j (the default model's scientist only turns
//! three-quarter, s1 only looks into the lens), his decoder has never drawn a face in j's poses and renders a blur.
//! This augmentation gives it such faces: a face of k, deformed so that its 468 landmarks move a random fraction
//! of the way to those of a random face of another identity, the same deformation applied to input, target and
//! mask. The deformation is moving-least-squares similarity (Schaefer, McPhail and Warren, "Image deformation
//! using moving least squares", 2006): smooth, exact at the control points, and with the crop's border pinned
//! (extra control points that do not move) hair and background stay put. It cannot show what the camera never
//! saw: a three-quarter face turned frontal has its far cheek stretched, not revealed.

use crate::faceset::FaceSample;
use crate::pipeline::colour::transfer_between;
use crate::pipeline::frame::Mask;
use crate::pipeline::mask_ops::{erode, feather};
use crate::pipeline::ColourTransfer;

/// Every `LANDMARK_STRIDE`-th landmark is a control point: FaceMesh's 468 points are dense (a few pixels apart
/// at 64 px), and 117 of them follow the face as closely while costing a quarter of the time per pixel.
const LANDMARK_STRIDE: usize = 4;
/// Pinned points per side of the crop.
const BORDER_POINTS: usize = 8;
/// Softening of the 1/d² weights, as a fraction of the crop side: w = 1 / (d² + (SOFTEN·side)²). Pure 1/d²
/// interpolates every control point exactly, and where FaceMesh's points for the hidden side of a turned face
/// sit a pixel apart in the original but far apart in the borrowed pose, that exactness tears small round
/// holes in the face (seen on the scientist's faces moved to s1's poses). 3% of the side (2 px at 64 px)
/// removed them; control points are then met within about a pixel.
const SOFTEN: f32 = 0.03;

/// Landmarks `from` moved `t` of the way to `to`.
fn moved(from: &[[f32; 2]], to: &[[f32; 2]], t: f32) -> Vec<[f32; 2]> {
    from.iter().zip(to).map(|(f, d)| [f[0] + t * (d[0] - f[0]), f[1] + t * (d[1] - f[1])]).collect()
}

/// The control points for a face: every [`LANDMARK_STRIDE`]-th landmark, from its place in the original
/// (`from`) to its place in the warped face (`to`), both in crop pixels of a `size` crop, plus the crop's
/// border, pinned. Returns (destination, source) pairs.
fn control_points(from: &[[f32; 2]], to: &[[f32; 2]], size: usize) -> Vec<([f32; 2], [f32; 2])> {
    let mut points: Vec<([f32; 2], [f32; 2])> = to.iter().zip(from).step_by(LANDMARK_STRIDE).map(|(d, f)| (*d, *f)).collect();
    let n = size as f32;
    for i in 0..BORDER_POINTS {
        let a = n * i as f32 / BORDER_POINTS as f32;
        for p in [[a, 0.0], [n, a], [n - a, n], [0.0, n - a]] {
            points.push((p, p));
        }
    }
    points
}

/// Where the warped face's pixel centre `v` comes from in the original: the similarity transform that best maps
/// the destination points onto the source points, weighted by 1 / (distance² to `v` + `soften`²) (MLS
/// similarity, inverse mapping, so every output pixel is sampled once).
fn source_of(v: [f32; 2], points: &[([f32; 2], [f32; 2])], soften: f32) -> [f32; 2] {
    let eps = (soften * soften) as f64;
    // One pass of weighted sums; the centred sums follow from them (Σw(p-p*)·(q-q*) = Σw p·q - W p*·q*), so
    // no per-pixel weight buffer is needed.
    let (mut w_sum, mut p_sum, mut q_sum) = (0.0f64, [0.0f64; 2], [0.0f64; 2]);
    let (mut dot, mut cross, mut pp) = (0.0f64, 0.0f64, 0.0f64);
    for (p, q) in points {
        let d2 = ((p[0] - v[0]).powi(2) + (p[1] - v[1]).powi(2)) as f64 + eps;
        // Only without softening: on a control point the weight is infinite and the map exact there.
        if d2 < 1e-8 {
            return *q;
        }
        let w = 1.0 / d2;
        let (px, py, qx, qy) = (p[0] as f64, p[1] as f64, q[0] as f64, q[1] as f64);
        w_sum += w;
        p_sum = [p_sum[0] + w * px, p_sum[1] + w * py];
        q_sum = [q_sum[0] + w * qx, q_sum[1] + w * qy];
        dot += w * (px * qx + py * qy);
        cross += w * (px * qy - py * qx);
        pp += w * (px * px + py * py);
    }
    let pstar = [p_sum[0] / w_sum, p_sum[1] / w_sum];
    let qstar = [q_sum[0] / w_sum, q_sum[1] / w_sum];
    // Complex least squares: c = Σ w conj(p̂) q̂ / Σ w |p̂|², the rotation-and-scale taking p̂ to q̂.
    let re = dot - w_sum * (pstar[0] * qstar[0] + pstar[1] * qstar[1]);
    let im = cross - w_sum * (pstar[0] * qstar[1] - pstar[1] * qstar[0]);
    let mu = pp - w_sum * (pstar[0] * pstar[0] + pstar[1] * pstar[1]);
    let (dx, dy) = (v[0] as f64 - pstar[0], v[1] as f64 - pstar[1]);
    let (re, im) = (re / mu, im / mu);
    [(re * dx - im * dy + qstar[0]) as f32, (im * dx + re * dy + qstar[1]) as f32]
}

/// Face `s` (side `size`, landmarks in its crop pixels) warped so its landmarks move `t` of the way to `to`
/// (another face's landmarks in the same crop frame). RGB and mask are warped alike; landmarks become the
/// moved ones.
pub fn borrow_pose(s: &FaceSample, size: usize, to: &[[f32; 2]], t: f32) -> FaceSample {
    let landmarks = moved(&s.landmarks, to, t);
    let points = control_points(&s.landmarks, &landmarks, size);
    let plane = size * size;
    let mut out = FaceSample { rgb: vec![0.0; 3 * plane], mask: vec![0.0; plane], landmarks };
    for y in 0..size {
        for x in 0..size {
            let [sx, sy] = source_of([x as f32 + 0.5, y as f32 + 0.5], &points, SOFTEN * size as f32);
            let at = y * size + x;
            super::augment::sample(&s.rgb, size, 3, sx, sy, &mut out.rgb[3 * at..3 * at + 3]);
            super::augment::sample(&s.mask, size, 1, sx, sy, &mut out.mask[at..at + 1]);
        }
    }
    out
}

/// **Colour.** Face `s` recoloured so that its face's Lab statistics (mean and spread inside its mask) are
/// those of `donor`'s face inside the donor's mask: the node's Reinhard transfer, applied to the whole crop
/// (DeepFaceLab's `ct_mode rct` on the source faces). Each decoder otherwise only sees the light its identity
/// was filmed in (s1 under neutral light on blue, the scientist under pink light), the shared encoder keeps the
/// two apart, and one identity's decoder gets codes it never learnt when asked for the other's face.
pub fn borrow_colour(s: &mut FaceSample, donor: &FaceSample) {
    transfer_between(ColourTransfer::ReinhardLab, &mut s.rgb, &s.mask, &donor.rgb, &donor.mask);
    s.rgb.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
}

/// How soft the seam between a face and borrowed surroundings is, as a fraction of the crop side (4 px at
/// 64 px): a hard seam would be an edge found in no real crop, and the network would learn it. The kept face is
/// the hull grown by as much before the feather, so the whole hull (where the loss looks) stays the face's own
/// and the seam falls outside it; the hull runs along the face's outline, and the jaw's edge stays too.
const CONTEXT_FEATHER: f32 = 1.0 / 16.0;

/// **Surroundings.** Face `s` (side `size`) kept inside its hull mask, and everything around it (hair, ears,
/// collar, background) taken from `donor`, the same crop of another identity's face. A decoder trained on a few
/// frames of one shot learns to read its face from what surrounds it: the default model's scientist decoder,
/// given a scientist crop with s1's inner face pasted in, drew the scientist's own expression, and given s1's
/// whole crop (blue ground, s1's hair) drew a blur. With borrowed surroundings the crop around a face says
/// nothing of it, and the decoder has to read the face itself, which is what a swap gives it (on the default
/// model it then kept s1's pose far better, but drew him no sharper: `models/default.md`). The mask and the
/// landmarks stay the face's own.
pub fn borrow_context(s: &mut FaceSample, donor: &FaceSample, size: usize) {
    let hull = Mask::from_values(size, size, s.mask.clone()).expect("a face sample's mask is size × size");
    let side = size as f32;
    let keep = feather(&erode(&hull, -CONTEXT_FEATHER * side), CONTEXT_FEATHER * side);
    for (i, k) in keep.data().iter().enumerate() {
        for c in 3 * i..3 * i + 3 {
            s.rgb[c] = donor.rgb[c] + (s.rgb[c] - donor.rgb[c]) * k.clamp(0.0, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize, step: f32) -> Vec<[f32; 2]> {
        (0..n * n).map(|i| [10.0 + step * (i % n) as f32, 10.0 + step * (i / n) as f32]).collect()
    }

    #[test]
    fn borrowing_colour_moves_the_face_to_the_donor_s_colour_and_keeps_the_range() {
        let size = 8;
        let mask: Vec<f32> = (0..size * size).map(|i| if (2..6).contains(&(i % size)) { 1.0 } else { 0.0 }).collect();
        let mut face = FaceSample { rgb: (0..size * size).flat_map(|i| [0.3 + 0.01 * (i % 5) as f32, 0.4, 0.5]).collect(), mask: mask.clone(), landmarks: vec![] };
        let donor = FaceSample { rgb: (0..size * size).flat_map(|i| [0.8, 0.4 + 0.02 * (i % 3) as f32, 0.6]).collect(), mask, landmarks: vec![] };
        borrow_colour(&mut face, &donor);
        let mean = |f: &FaceSample, c: usize| (0..size * size).filter(|&i| f.mask[i] > 0.0).map(|i| f.rgb[3 * i + c]).sum::<f32>() / 32.0;
        for c in 0..3 {
            // Lab statistics matched, so RGB means agree to within the transfer's non-linearity.
            assert!((mean(&face, c) - mean(&donor, c)).abs() < 0.02, "channel {c}: {} vs {}", mean(&face, c), mean(&donor, c));
        }
        assert!(face.rgb.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn borrowing_surroundings_keeps_the_face_and_replaces_what_is_around_it() {
        let size = 64;
        let inside = |i: usize| (16..48).contains(&(i % size)) && (16..48).contains(&(i / size));
        let mask: Vec<f32> = (0..size * size).map(|i| if inside(i) { 1.0 } else { 0.0 }).collect();
        let mut face = FaceSample { rgb: vec![0.2; 3 * size * size], mask: mask.clone(), landmarks: vec![[1.0, 2.0]] };
        let donor = FaceSample { rgb: vec![0.9; 3 * size * size], mask: vec![0.0; size * size], landmarks: vec![] };
        borrow_context(&mut face, &donor, size);
        let at = |x: usize, y: usize| face.rgb[3 * (y * size + x)];
        // The face's middle and the band just inside its hull are its own; far outside is the donor's. (The
        // blend d + (f - d)·1 rounds: 1e-6.)
        assert!((at(32, 32) - 0.2).abs() < 1e-6, "{}", at(32, 32));
        assert!((at(16, 32) - 0.2).abs() < 0.02, "{}", at(16, 32));
        assert_eq!(at(2, 2), 0.9);
        // The seam is soft: a few pixels outside the hull are between the two.
        let seam = at(12, 32);
        assert!(0.25 < seam && seam < 0.85, "{seam}");
        assert_eq!((face.mask, face.landmarks), (mask, vec![[1.0, 2.0]]));
    }

    #[test]
    fn no_movement_is_the_identity_map() {
        let from = grid(22, 2.0);
        let points = control_points(&from, &from, 64);
        for v in [[0.5, 0.5], [20.3, 31.7], [63.5, 40.0], [33.0, 12.5]] {
            let s = source_of(v, &points, 0.0);
            assert!((s[0] - v[0]).abs() < 1e-3 && (s[1] - v[1]).abs() < 1e-3, "{v:?} → {s:?}");
        }
    }

    #[test]
    fn control_points_land_where_they_were_sent_and_the_border_stays() {
        let from = grid(22, 2.0);
        let to: Vec<[f32; 2]> = from.iter().map(|p| [p[0] + 3.0, p[1] - 1.0]).collect();
        let points = control_points(&from, &to, 64);
        // A moved landmark's destination samples its original position.
        let moved = [from[0][0] + 3.0, from[0][1] - 1.0];
        let s = source_of(moved, &points, 0.0);
        assert!((s[0] - from[0][0]).abs() < 1e-3 && (s[1] - from[0][1]).abs() < 1e-3);
        // Between the landmarks the face moves with them (within the 1/d² falloff's pull of the border) …
        let mid = source_of([30.0 + 3.0, 30.0 - 1.0], &points, 0.0);
        assert!((mid[0] - 30.0).abs() < 0.3 && (mid[1] - 30.0).abs() < 0.3, "{mid:?}");
        // … and the crop's corners do not move.
        assert_eq!(source_of([0.0, 0.0], &points, 0.0), [0.0, 0.0]);
        let edge = source_of([63.5, 2.0], &points, 0.0);
        assert!((edge[0] - 63.5).abs() < 0.5 && (edge[1] - 2.0).abs() < 0.5, "{edge:?}");
    }

    #[test]
    fn borrowing_a_shifted_pose_shifts_the_face_and_its_landmarks() {
        let size = 32;
        // A bright square face on a dark ground, landmarks on the square.
        let inside = |x: usize, y: usize| (10..22).contains(&x) && (10..22).contains(&y);
        let rgb: Vec<f32> = (0..size * size).flat_map(|i| [if inside(i % size, i / size) { 1.0 } else { 0.0 }; 3]).collect();
        let mask: Vec<f32> = (0..size * size).map(|i| if inside(i % size, i / size) { 1.0 } else { 0.0 }).collect();
        // 7 × 7 landmarks, so that every fourth one still spans the square.
        let landmarks: Vec<[f32; 2]> = (0..49).map(|i| [10.0 + 2.0 * (i % 7) as f32, 10.0 + 2.0 * (i / 7) as f32]).collect();
        let s = FaceSample { rgb, mask, landmarks: landmarks.clone() };
        let to: Vec<[f32; 2]> = landmarks.iter().map(|p| [p[0] + 4.0, p[1]]).collect();
        let half = borrow_pose(&s, size, &to, 0.5);
        assert_eq!(half.landmarks[5], [landmarks[5][0] + 2.0, landmarks[5][1]]);
        // The square's centre of mass moves right by about the landmarks' shift (less near the pinned border).
        let centre = |m: &[f32]| m.iter().enumerate().map(|(i, v)| v * (i % size) as f32).sum::<f32>() / m.iter().sum::<f32>();
        let shift = centre(&half.mask) - centre(&s.mask);
        assert!((1.2..=2.2).contains(&shift), "moved {shift}");
        assert!(half.rgb.iter().chain(&half.mask).all(|v| (0.0..=1.0).contains(v)));
        // t = 0 leaves the face as it was.
        let none = borrow_pose(&s, size, &to, 0.0);
        assert!(none.mask.iter().zip(&s.mask).all(|(a, b)| (a - b).abs() < 1e-4));
    }
}
