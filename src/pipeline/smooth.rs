//! Temporal smoothing of landmarks: a face's landmarks at frame t are averaged with the same face's landmarks in
//! frames t−k..t+k (triangular weights, so the current frame counts most). The neighbouring frames come from the
//! host with every render, so each frame is still computed on its own: a farm may split the shot anywhere.

use super::analysis::Face;

/// The face in `candidates` that is the same person as `face`: the nearest box centre, within half the face's
/// size (faces do not jump further than that between neighbouring frames).
fn matching<'a>(face: &Face, candidates: &'a [Face]) -> Option<&'a Face> {
    let centre = |f: &Face| {
        let b = f.detection.bbox;
        ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
    };
    let size = (face.detection.bbox[2] - face.detection.bbox[0]).max(face.detection.bbox[3] - face.detection.bbox[1]);
    let (cx, cy) = centre(face);
    candidates
        .iter()
        .map(|c| {
            let (x, y) = centre(c);
            ((x - cx).hypot(y - cy), c)
        })
        .filter(|(d, _)| *d <= size * 0.5)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Smooths `face` with its matches in the neighbouring frames. `neighbours[i]` holds the faces of the frame at
/// offset `offsets[i]` (non-zero, in frames) from the current one; `k` is the window half-width.
pub fn smooth(face: &Face, neighbours: &[(i32, Vec<Face>)], k: u32) -> Face {
    let weight = |offset: i32| (k as f32 + 1.0 - offset.unsigned_abs() as f32).max(0.0);
    let mut sum: Vec<[f32; 3]> = face.landmarks.iter().map(|l| l.map(|v| v * weight(0))).collect();
    let mut total = weight(0);
    for (offset, faces) in neighbours {
        let w = weight(*offset);
        if w <= 0.0 {
            continue;
        }
        if let Some(m) = matching(face, faces) {
            for (s, l) in sum.iter_mut().zip(&m.landmarks) {
                for c in 0..3 {
                    s[c] += l[c] * w;
                }
            }
            total += w;
        }
    }
    let mut out = face.clone();
    out.landmarks = sum.into_iter().map(|s| s.map(|v| v / total)).collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::detect::Detection;

    fn face(x: f32, jitter: f32) -> Face {
        Face {
            detection: Detection { bbox: [x, 10.0, x + 40.0, 50.0], keypoints: [[0.0; 2]; 6], score: 0.9 },
            landmarks: vec![[x + 20.0 + jitter, 30.0, 0.0]; 3],
            presence: 1.0,
        }
    }

    #[test]
    fn smoothing_averages_the_same_face_and_ignores_others() {
        let now = face(100.0, 2.0);
        let neighbours = vec![(-1, vec![face(100.0, -2.0), face(300.0, 0.0)]), (1, vec![face(101.0, 0.0)])];
        let s = smooth(&now, &neighbours, 1);
        // Weights 2 (now), 1, 1: (122·2 + 118 + 121) / 4.
        assert!((s.landmarks[0][0] - (122.0 * 2.0 + 118.0 + 121.0) / 4.0).abs() < 1e-4);
        // Window 0 leaves the face alone.
        assert_eq!(smooth(&now, &neighbours, 0).landmarks, now.landmarks);
        // A face too far away is not a match.
        let far = vec![(1, vec![face(200.0, 0.0)])];
        assert_eq!(smooth(&now, &far, 1).landmarks, now.landmarks);
    }
}
