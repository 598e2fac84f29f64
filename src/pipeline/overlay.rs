//! The Face Analysis output: what the analysis found, drawn over the plate, so an artist can see why a face is
//! or is not swapped before (or without) a model: every detection's box (the faces that will be swapped in
//! green, the others in red), the landmarks the swap is aligned on (after temporal smoothing), and the square
//! the model's crop is taken from (yellow).

use super::align::Alignment;
use super::analysis::Face;
use super::frame::Frame;

const CHOSEN: [f32; 3] = [0.2, 1.0, 0.2];
const OTHER: [f32; 3] = [1.0, 0.25, 0.25];
const LANDMARK: [f32; 3] = [0.2, 0.9, 1.0];
const CROP: [f32; 3] = [1.0, 0.9, 0.1];

/// The plate with the analysis drawn on it. `all` are every detected face, `chosen` those Faces to Swap keeps
/// (with their smoothed landmarks) and `crops` their alignments, in the same order as `chosen`. Alpha is the
/// plate's.
pub fn draw(source: &Frame, all: &[Face], chosen: &[Face], crops: &[Alignment]) -> Frame {
    let mut out = source.clone();
    // Lines about 1/540 of the frame's short side (2 px at 1080p), so they read at any resolution.
    let width = (source.width().min(source.height()) as f32 / 540.0).round().max(1.0);
    for face in all {
        // A face counts as chosen when Faces to Swap kept its detection (smoothing moves landmarks, not boxes).
        let colour = if chosen.iter().any(|c| c.detection.bbox == face.detection.bbox) { CHOSEN } else { OTHER };
        let [x0, y0, x1, y1] = face.detection.bbox;
        polygon(&mut out, &[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], width, colour);
    }
    for (face, a) in chosen.iter().zip(crops) {
        for p in &face.landmarks {
            square(&mut out, p[0], p[1], width, LANDMARK);
        }
        let n = a.size as f32;
        let corners = [(0.0, 0.0), (n, 0.0), (n, n), (0.0, n)].map(|(u, v)| a.crop_to_frame.apply(u, v));
        polygon(&mut out, &corners, width, CROP);
    }
    out
}

/// A closed polygon of lines `width` px thick.
fn polygon(img: &mut Frame, points: &[(f32, f32)], width: f32, colour: [f32; 3]) {
    let bounds = (-width, -width, img.width() as f32 + width, img.height() as f32 + width);
    for (i, &a) in points.iter().enumerate() {
        // Each side cut to the frame first: a box far larger than the frame (or reaching infinity) costs no
        // more than one across it, and non-finite coordinates draw nothing.
        let Some((a, b)) = clip(a, points[(i + 1) % points.len()], bounds) else { continue };
        let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil().max(1.0) as usize;
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            square(img, a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, width, colour);
        }
    }
}

/// The part of the segment a-b inside `(x0, y0, x1, y1)` (Liang-Barsky), or None when none of it is (or a
/// coordinate is not finite).
fn clip(a: (f32, f32), b: (f32, f32), (x0, y0, x1, y1): (f32, f32, f32, f32)) -> Option<((f32, f32), (f32, f32))> {
    if ![a.0, a.1, b.0, b.1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f32, 1.0f32);
    for (p, q) in [(-dx, a.0 - x0), (dx, x1 - a.0), (-dy, a.1 - y0), (dy, y1 - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    (t0 <= t1).then_some(((a.0 + t0 * dx, a.1 + t0 * dy), (a.0 + t1 * dx, a.1 + t1 * dy)))
}

/// A `side`-px square centred on (x, y), clipped to the frame.
fn square(img: &mut Frame, x: f32, y: f32, side: f32, colour: [f32; 3]) {
    let n = side.round().max(1.0);
    let span = |c: f32, size: usize| {
        let lo = (c - n / 2.0).round();
        let clip = |v: f32| (v.max(0.0) as usize).min(size);
        clip(lo)..clip(lo + n)
    };
    for py in span(y, img.height()) {
        for px in span(x, img.width()) {
            let alpha = img.pixel(px, py)[3];
            img.set_pixel(px, py, [colour[0], colour[1], colour[2], alpha]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::align::{self, FaceTemplate};
    use crate::pipeline::detect::Detection;

    fn face(x: f32, y: f32) -> Face {
        let landmarks = (0..468).map(|i| [x + (i % 20) as f32 * 2.0, y + (i / 20) as f32 * 2.0, 0.0]).collect();
        Face { detection: Detection { bbox: [x - 5.0, y - 5.0, x + 50.0, y + 55.0], keypoints: [[x, y]; 6], score: 0.9 }, landmarks, presence: 1.0 }
    }

    fn count(img: &Frame, colour: [f32; 3]) -> usize {
        (0..img.height()).flat_map(|y| (0..img.width()).map(move |x| (x, y))).filter(|&(x, y)| img.pixel(x, y)[..3] == colour).count()
    }

    #[test]
    fn chosen_faces_in_green_with_landmarks_and_crop_others_in_red() {
        let src = Frame::from_rgba(200, 120, vec![0.5; 200 * 120 * 4]).unwrap();
        let (a, b) = (face(20.0, 20.0), face(120.0, 30.0));
        let crop = align::align(&a.landmarks, &FaceTemplate::default(), 64);
        let out = draw(&src, &[a.clone(), b], &[a], &[crop]);
        for colour in [CHOSEN, OTHER, LANDMARK, CROP] {
            assert!(count(&out, colour) > 20, "{colour:?} drawn");
        }
        // The red box is the second face's, on the right half; nothing red on the left.
        assert!((0..120).all(|y| (0..100).all(|x| out.pixel(x, y)[..3] != OTHER)));
        // Alpha is the plate's, and untouched pixels keep their values.
        assert!((0..120).all(|y| (0..200).all(|x| out.pixel(x, y)[3] == 0.5)));
        assert_eq!(out.pixel(199, 119), [0.5; 4]);
    }

    #[test]
    fn non_finite_and_huge_boxes_draw_what_they_can_and_return() {
        let src = Frame::from_rgba(40, 30, vec![0.0; 40 * 30 * 4]).unwrap();
        let mut f = face(10.0, 10.0);
        f.detection.bbox = [f32::NAN, 0.0, f32::INFINITY, 1e30];
        f.landmarks[0] = [f32::NAN, f32::INFINITY, 0.0];
        let mut huge = face(10.0, 10.0);
        huge.detection.bbox = [2.0, 2.0, 1e30, 20.0];
        let out = draw(&src, &[f.clone(), huge], &[f], &[]);
        // The huge box's left edge and the parts of its top and bottom inside the frame are drawn.
        assert_eq!(out.pixel(2, 10)[..3], OTHER);
        assert_eq!(out.pixel(39, 2)[..3], OTHER);
    }

    #[test]
    fn shapes_reaching_outside_the_frame_are_clipped() {
        let src = Frame::from_rgba(40, 30, vec![0.0; 40 * 30 * 4]).unwrap();
        let f = face(-30.0, 25.0);
        let out = draw(&src, std::slice::from_ref(&f), &[], &[]);
        assert!(count(&out, OTHER) > 0);
    }
}
