//! One frame through the whole pipeline: what the node and `faceswap apply` both call.
//!
//! detect → landmarks → align → swap network → colour transfer → warp back → mask shaping → composite.
//! Every frame is computed from its own pixels and settings only (no state from earlier renders), so a render
//! farm splitting a shot gets the same images.

use super::align::{self, Alignment};
use super::analysis::{self, Face, Search};
use super::composite::{self, CompositeSettings, OutputMode};
use super::frame::{overlapping_groups, Frame, Mask, Patch, Rect};
use super::{colour, mask_ops, ColourTransfer, DevicePreference, FaceSelection, MaskSource};
use crate::device::Gpu;
use crate::model::cache;
use crate::model::swap_model::SwapModel;
use burn::tensor::{Device, Tensor, TensorData};
use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

/// Everything the pipeline needs to know about one frame's job, in the frame's own pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub model: Option<PathBuf>,
    pub identity_name: String,
    pub identity_index: usize,
    pub composite: CompositeSettings,
    /// In pixels of the frame handed to `run` (already multiplied by the render scale).
    pub mask_erode: f32,
    pub mask_feather: f32,
    pub mask_source: MaskSource,
    pub colour_transfer: ColourTransfer,
    /// `NearestTo` in this frame's pixels, y down.
    pub face_selection: FaceSelection,
    /// Detection threshold and smallest face (a fraction of the frame's height, so independent of the render
    /// scale).
    pub search: Search,
    pub device: DevicePreference,
    /// Temporal smoothing half-window, in frames; the neighbouring frames are passed to [`run`].
    pub temporal_window: u32,
}

/// Why a frame came out unchanged, for the artist.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Severity {
    Warning,
    Error,
}

/// What happened to the frame.
#[derive(Debug)]
pub struct Outcome {
    /// The output image (the source itself on passthrough).
    pub image: Frame,
    /// The shaped face mask (empty on passthrough).
    pub mask: Mask,
    /// Set when the frame passed through unchanged, with the reason.
    pub passthrough: Option<(Severity, String)>,
    /// A note that does not stop the swap (e.g. GPU requested but unavailable).
    pub note: Option<String>,
}

/// Where a frame runs, as the Device parameter asks and the machine allows.
enum Target {
    Cpu,
    Gpu(Gpu),
}

fn target_for(pref: DevicePreference) -> (Target, Option<String>) {
    match pref {
        DevicePreference::Cpu => (Target::Cpu, None),
        DevicePreference::Auto => match crate::device::hardware_gpu() {
            Ok(g) => (Target::Gpu(g), None),
            Err(_) => (Target::Cpu, None),
        },
        DevicePreference::Gpu => match crate::device::hardware_gpu() {
            Ok(g) => (Target::Gpu(g), None),
            Err(e) => (Target::Cpu, Some(format!("Device is GPU but {e}; rendering on the CPU"))),
        },
    }
}

/// Where the pipeline gets the frames around the current one for temporal smoothing: the source frame at an
/// offset (non-zero, in frames), or `None` where the clip has none. Asked once per offset of the smoothing
/// window, in order, and only when the current frame has a face; each frame is dropped once analysed (a 4K float
/// frame is 133 MB: holding the whole window at once would multiply a render's memory).
pub type Neighbours<'n> = dyn FnMut(i32) -> Option<Cow<'n, Frame>> + 'n;

/// Runs the pipeline on `source`. Never fails: anything that stops the swap becomes a passthrough with a
/// reason, because a node must keep producing frames.
///
/// `neighbours` are the source frames at the given offsets (non-zero, in frames) used for temporal smoothing;
/// frames the host could not give (outside the clip) are simply absent. [`run_fetching`] takes them one at a
/// time instead.
pub fn run(source: &Frame, neighbours: &[(i32, Frame)], req: &Request) -> Outcome {
    run_fetching(source, &mut |offset| neighbours.iter().find(|(o, _)| *o == offset).map(|(_, f)| Cow::Borrowed(f)), req)
}

/// As [`run`], fetching the neighbouring frames as they are needed.
pub fn run_fetching(source: &Frame, neighbours: &mut Neighbours<'_>, req: &Request) -> Outcome {
    if req.model.is_none() {
        // Before picking a device: no reason to bring up a GPU for a frame that passes through.
        return attempt(source, neighbours, req, &crate::device::cpu(), None).outcome;
    }
    match target_for(req.device) {
        (Target::Gpu(gpu), _) => run_on_gpu(source, neighbours, req, &gpu),
        (Target::Cpu, note) => {
            let mut out = attempt(source, neighbours, req, &crate::device::cpu(), None).outcome;
            out.note = note;
            out
        }
    }
}

/// As [`run_fetching`], on `gpu`; on the CPU instead when the GPU has faulted, before or during this frame.
///
/// A GPU fault (an error reported by wgpu, a lost device, a panic inside the GPU stack) must not cost the
/// frame nor the host: the frame is computed again on the CPU and says so, and the device is marked faulted
/// so later renders in the process go straight to the CPU.
pub fn run_on_gpu(source: &Frame, neighbours: &mut Neighbours<'_>, req: &Request, gpu: &Gpu) -> Outcome {
    let why = match gpu.fault() {
        Some(why) => format!("{why}; the GPU stays off until the host restarts, rendering on the CPU"),
        None => {
            // The panic guard at the OFX boundary would only fail the frame: catching here lets the CPU redo
            // it. Unwind safety: a panic leaves nothing half-updated that the CPU attempt reads (the model cache
            // is keyed by device and inserts whole entries only; a neighbour fetched again is fetched whole).
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| attempt(source, &mut *neighbours, req, gpu.device(), Some(gpu))));
            match &result {
                Ok(Attempt { device_failure: Some(why), .. }) => gpu.mark_faulted(format!("the GPU failed ({why})")),
                Err(payload) => gpu.mark_faulted(format!("the GPU code panicked ({})", panic_text(payload.as_ref()))),
                Ok(_) => {}
            }
            match (result, gpu.fault()) {
                (Ok(done), None) => return done.outcome,
                (_, why) => format!(
                    "{}; this frame was rendered on the CPU, and the GPU stays off until the host restarts",
                    why.unwrap_or("the GPU failed")
                ),
            }
        }
    };
    let mut out = attempt(source, neighbours, req, &crate::device::cpu(), None).outcome;
    out.note = Some(why);
    out
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// One try at the frame on one device.
struct Attempt {
    outcome: Outcome,
    /// Set when the device itself failed (a readback did not complete): the frame is worth a retry elsewhere.
    device_failure: Option<String>,
}

/// Why the GPU-side stages stopped: the device, or this frame (a bad model, invalid network output).
#[derive(Debug)]
pub enum Failure {
    Device(String),
    Frame(String),
}

fn attempt(source: &Frame, neighbours: &mut Neighbours<'_>, req: &Request, device: &Device, gpu: Option<&Gpu>) -> Attempt {
    let passthrough = |severity, why: String| Outcome {
        image: source.clone(),
        mask: Mask::empty(source.width(), source.height()),
        passthrough: Some((severity, why)),
        note: None,
    };
    let done = |outcome| Attempt { outcome, device_failure: None };
    let failed = |why: String| Attempt { outcome: passthrough(Severity::Error, why.clone()), device_failure: Some(why) };
    // The Face Analysis output needs no model: it shows what a swap would be aligned on, through the model's
    // face template when one loads and the default template otherwise.
    let overlay = req.composite.mode == OutputMode::Analysis;
    let model = match &req.model {
        None if overlay => None,
        None => return done(passthrough(Severity::Warning, "no model file is set: choose one in Model File".into())),
        Some(path) => match cache::swap_model(path, device) {
            Ok(m) => Some(m),
            Err(_) if overlay => None,
            Err(e) => return done(passthrough(Severity::Error, e.to_string())),
        },
    };
    let nets = match cache::face_nets(&cache::models_dir(), device) {
        Ok(n) => n,
        Err(e) => return done(passthrough(Severity::Error, format!("face-analysis weights: {e}"))),
    };
    let identity = model.as_ref().map_or(0, |m| m.identity_index(&req.identity_name).unwrap_or(req.identity_index));
    if let Some(m) = model.as_ref().filter(|m| !overlay && identity >= m.identities.len()) {
        return done(passthrough(Severity::Error, format!("the model has no identity number {} (it has {})", identity + 1, m.identities.len())));
    }
    let analyse = |frame: &Frame| {
        super::recent::analyse(&nets, frame, req.search).map(|faces| faces.as_ref().clone()).map_err(|e| match e {
            analysis::AnalysisError::Readback(_) => Failure::Device(e.to_string()),
        })
    };
    // Every detection is kept only for the Face Analysis output (it draws the ones not picked too).
    let (all, faces) = match analyse(source) {
        Ok(f) => (if overlay { f.clone() } else { Vec::new() }, select(f, req.face_selection)),
        Err(Failure::Device(why)) => return failed(why),
        Err(Failure::Frame(why)) => return done(passthrough(Severity::Error, why)),
    };
    if faces.is_empty() {
        return done(passthrough(Severity::Warning, "no face found in this frame".into()));
    }
    let k = req.temporal_window as i32;
    let mut around = Vec::new();
    for offset in (-k..=k).filter(|&o| o != 0) {
        let Some(frame) = neighbours(offset) else { continue };
        // A resolution change mid-shot: that frame's faces are not in this frame's pixels.
        if (frame.width(), frame.height()) != (source.width(), source.height()) {
            continue;
        }
        match analyse(&frame) {
            Ok(f) => around.push((offset, f)),
            Err(Failure::Device(why)) => return failed(why),
            Err(Failure::Frame(why)) => return done(passthrough(Severity::Error, why)),
        }
    }
    let faces: Vec<Face> = if around.is_empty() { faces } else { faces.iter().map(|f| super::smooth::smooth(f, &around, req.temporal_window)).collect() };
    let model = match model {
        Some(m) if !overlay => m,
        _ => {
            let (template, res) = model.as_ref().map_or((align::FaceTemplate::default(), DEFAULT_CROP), |m| (m.template.clone(), m.config.resolution));
            let crops: Vec<Alignment> = faces.iter().map(|f| align::align(&f.landmarks, &template, res)).collect();
            let image = super::overlay::draw(source, &all, &faces, &crops);
            return done(Outcome { image, mask: Mask::empty(source.width(), source.height()), passthrough: None, note: None });
        }
    };
    if let Some(gpu) = gpu {
        gpu.fire_injected_fault();
    }
    let patches = match swap_faces(source, &faces, &model, identity, req, device) {
        Ok(r) => r,
        Err(Failure::Device(why)) => return failed(why),
        Err(Failure::Frame(why)) => return done(passthrough(Severity::Error, why)),
    };
    done(finish(source, &patches, req))
}

/// The crop side the Face Analysis output aligns to without a model. The crop's square in the frame does not
/// depend on it (the template is in crop fractions); it only sets the precision of the fit.
const DEFAULT_CROP: usize = 128;

/// Applies the face selection: largest, all, or the one nearest a point.
fn select(mut faces: Vec<Face>, how: FaceSelection) -> Vec<Face> {
    let area = |f: &Face| f.detection.area();
    match how {
        FaceSelection::All => faces,
        FaceSelection::Largest => {
            faces.sort_by(|a, b| area(b).total_cmp(&area(a)));
            faces.truncate(1);
            faces
        }
        FaceSelection::NearestTo { x, y } => {
            let dist = |f: &Face| {
                let b = f.detection.bbox;
                ((b[0] + b[2]) / 2.0 - x).hypot((b[1] + b[3]) / 2.0 - y)
            };
            faces.sort_by(|a, b| dist(a).total_cmp(&dist(b)));
            faces.truncate(1);
            faces
        }
    }
}

/// Swaps every face (warp into the model's crop, network, colour transfer, warp back; public for the per-stage
/// benches): returns the swapped faces pasted over the source (unmasked) and the raw mask (max over
/// faces), as one patch per group of faces whose crops overlap. Of `req`, only the colour transfer and the
/// mask source are read here.
pub fn swap_faces(source: &Frame, faces: &[Face], model: &SwapModel, identity: usize, req: &Request, device: &Device) -> Result<Vec<Patch>, Failure> {
    let res = model.config.resolution;
    let plane = res * res;
    let alignments: Vec<Alignment> = faces.iter().map(|f| align::align(&f.landmarks, &model.template, res)).collect();
    let crops: Vec<Vec<f32>> = alignments.iter().map(|a| align::warp_to_crop(source, a)).collect();
    let mut chw = Vec::with_capacity(faces.len() * 3 * plane);
    for crop in &crops {
        for c in 0..3 {
            chw.extend((0..plane).map(|i| crop[i * 3 + c]));
        }
    }
    // All faces of the frame go through the network in one batch.
    let x = Tensor::<4>::from_data(TensorData::new(chw, [faces.len(), 3, res, res]), device);
    let out = model.net.forward(x, identity);
    let read = |t: Tensor<4>| -> Result<Vec<f32>, Failure> {
        let data = t.try_into_data().map_err(|e| Failure::Device(format!("reading the swap network's output: {e:?}")))?;
        data.try_into_vec::<f32>().map_err(|e| Failure::Frame(format!("the swap network's output: {e:?}")))
    };
    let rgb = read(out.rgb)?;
    let masks = read(out.mask)?;
    // A damaged model file can hold NaN weights that load fine; never paste NaN into a plate.
    if rgb.iter().chain(&masks).any(|v| !v.is_finite()) {
        return Err(Failure::Frame("the model produced invalid values (NaN or infinity): the model file may be damaged".into()));
    }
    let bounds: Vec<Rect> = alignments.iter().map(|a| crop_bounds(a, source.width(), source.height())).collect();
    let groups = overlapping_groups(&bounds);
    let mut patches: Vec<Patch> = groups.iter().map(|(rect, _)| Patch::of_source(source, *rect)).collect();
    for (k, (face, a)) in faces.iter().zip(&alignments).enumerate() {
        let mut face_rgb: Vec<f32> = (0..plane).flat_map(|i| (0..3).map(move |c| (c, i))).map(|(c, i)| rgb[k * 3 * plane + c * plane + i]).collect();
        let hull = align::hull_mask_crop(&face.landmarks, a);
        colour::transfer(req.colour_transfer, &mut face_rgb, &crops[k], hull.data());
        let learned = &masks[k * plane..(k + 1) * plane];
        let mask = face_mask(req.mask_source, learned, &hull, res);
        let group = groups.iter().position(|(_, members)| members.contains(&k)).expect("every face is in a group");
        paste(&mut patches[group], &face_rgb, &mask, a);
    }
    Ok(patches)
}

/// The crop's blend mask from the network's mask (`learned`, the crop's pixels) and the plate face's landmark
/// hull. The hull is grown by 3% of the crop and softened over 2% before use: it runs along the landmarks of
/// the jaw and brow, and a mask that stops exactly there leaves a seam of plate skin at the edge of the face.
fn face_mask(source: MaskSource, learned: &[f32], hull: &Mask, res: usize) -> Vec<f32> {
    let grown = || mask_ops::feather(&mask_ops::erode(hull, -(res as f32) * 0.03), res as f32 * 0.02);
    match source {
        MaskSource::LearnedInHull => learned.iter().zip(grown().data()).map(|(m, h)| m * h).collect(),
        MaskSource::Hull => grown().data().to_vec(),
        MaskSource::Learned => learned.to_vec(),
    }
}

/// The frame pixels a crop's square covers (its corners' bounding box), clipped to the frame.
fn crop_bounds(a: &Alignment, width: usize, height: usize) -> Rect {
    let n = a.size as f32;
    let corners = [(0.0, 0.0), (n, 0.0), (0.0, n), (n, n)].map(|(u, v)| a.crop_to_frame.apply(u, v));
    let (x0, x1) = corners.iter().fold((f32::MAX, f32::MIN), |(lo, hi), c| (lo.min(c.0), hi.max(c.0)));
    let (y0, y1) = corners.iter().fold((f32::MAX, f32::MIN), |(lo, hi), c| (lo.min(c.1), hi.max(c.1)));
    let clampi = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi);
    Rect { x0: clampi(x0.floor(), width), y0: clampi(y0.floor(), height), x1: clampi(x1.ceil(), width), y1: clampi(y1.ceil(), height) }
}

/// Warps a crop (RGB and mask) back into the patch over the face's bounding region, bilinearly.
fn paste(patch: &mut Patch, rgb: &[f32], crop_mask: &[f32], a: &Alignment) {
    let n = a.size;
    let (ox, oy) = (patch.rect.x0, patch.rect.y0);
    let b = crop_bounds(a, patch.rect.x1, patch.rect.y1);
    for y in b.y0.max(oy)..b.y1 {
        for x in b.x0.max(ox)..b.x1 {
            let (u, v) = a.frame_to_crop.apply(x as f32 + 0.5, y as f32 + 0.5);
            if !(u >= 0.0 && v >= 0.0 && u < n as f32 && v < n as f32) {
                continue;
            }
            let (fu, fv) = ((u - 0.5).clamp(0.0, (n - 1) as f32), (v - 0.5).clamp(0.0, (n - 1) as f32));
            let (u0, v0) = (fu as usize, fv as usize);
            let (u1, v1) = ((u0 + 1).min(n - 1), (v0 + 1).min(n - 1));
            let (tu, tv) = (fu - u0 as f32, fv - v0 as f32);
            let lerp = |get: &dyn Fn(usize, usize) -> f32| {
                let top = get(u0, v0) + (get(u1, v0) - get(u0, v0)) * tu;
                let bottom = get(u0, v1) + (get(u1, v1) - get(u0, v1)) * tu;
                top + (bottom - top) * tv
            };
            let m = lerp(&|uu, vv| crop_mask[vv * n + uu]);
            let (px_x, px_y) = (x - ox, y - oy);
            if m <= patch.mask.get(px_x, px_y) {
                continue;
            }
            let mut px = patch.rgb.pixel(px_x, px_y);
            for c in 0..3 {
                px[c] = lerp(&|uu, vv| rgb[(vv * n + uu) * 3 + c]);
            }
            patch.rgb.set_pixel(px_x, px_y, px);
            patch.mask.set(px_x, px_y, m);
        }
    }
}

/// Shapes the raw face mask (erode, then feather) and mixes the swap in.
///
/// The mask operations run over each patch grown by their reach only: beyond it the raw mask is zero and stays
/// zero, and the zero border makes the result bit-identical to shaping the whole frame's mask (tested). Patches
/// whose grown rectangles overlap are merged first, since their shaped masks would interact.
pub fn finish(source: &Frame, patches: &[Patch], req: &Request) -> Outcome {
    let (w, h) = (source.width(), source.height());
    let reach = mask_reach(req.mask_erode, req.mask_feather);
    let grown: Vec<Rect> = patches.iter().map(|p| p.rect.grown(reach, w, h)).collect();
    let shaped: Vec<Patch> = overlapping_groups(&grown)
        .into_iter()
        .map(|(rect, members)| {
            let mut merged = Patch::of_source(source, rect);
            for i in members {
                merged.overlay(&patches[i]);
            }
            merged.mask = mask_ops::feather(&mask_ops::erode(&merged.mask, req.mask_erode), req.mask_feather);
            merged
        })
        .collect();
    let image = composite::composite(source, &shaped, &req.composite);
    Outcome { image, mask: Patch::frame_mask(&shaped, w, h), passthrough: None, note: None }
}

/// How far (in pixels) erode-or-grow by `erode` and then feathering by `feather` can move a mask value, plus
/// one pixel of zeros: erosion zeroes pixels within its radius of the edge it is given, and the box blur
/// clamps its edge samples, so a zero ring at least this wide keeps the patch's edge from mattering.
fn mask_reach(erode: f32, feather: f32) -> usize {
    let whole = |r: f32| if r.is_finite() { r.abs().ceil() as usize } else { 0 };
    // Each of feather's three box passes reaches its half-width plus the fractional tap.
    let blur = if feather.is_finite() && feather > 0.0 { 3 * (whole((feather / 3.0).max(0.5)) + 1) } else { 0 };
    whole(erode).saturating_add(1).saturating_add(blur).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::swapnet::SwapNetConfig;

    fn astronaut() -> Frame {
        let img = image::open(crate::footage::require("astronaut.png")).unwrap().to_rgba32f();
        Frame::from_rgba(img.width() as usize, img.height() as usize, img.into_raw()).unwrap()
    }

    fn request(model: PathBuf, blend: f32) -> Request {
        Request {
            model: Some(model),
            identity_name: "b".into(),
            identity_index: 0,
            composite: CompositeSettings { mode: OutputMode::Composite, blend, mask_in_alpha: false },
            mask_erode: 2.0,
            mask_feather: 4.0,
            mask_source: MaskSource::LearnedInHull,
            colour_transfer: ColourTransfer::ReinhardLab,
            face_selection: FaceSelection::Largest,
            search: Search::default(),
            device: DevicePreference::Cpu,
            temporal_window: 0,
        }
    }

    /// A tiny untrained (random) model with identities "a" and "b", saved in `dir`.
    fn untrained_model(dir: &std::path::Path) -> PathBuf {
        let path = dir.join("m.safetensors");
        let config = SwapNetConfig::new(32, 2).with_encoder_channels(4).with_decoder_channels(4).with_bottleneck(8);
        let model = SwapModel {
            net: config.init(&crate::device::cpu()),
            config,
            identities: vec!["a".into(), "b".into()],
            template: align::FaceTemplate::default(),
            training: serde_json::json!({}),
        };
        model.save(&path).unwrap();
        path
    }

    /// Mask Source: the hull alone ignores the network (two different random models give the same mask), the
    /// learned mask alone is the network's (they differ), and the default, their product, lies under both
    /// everywhere (erode, feather, warp and paste are all monotone, so the order survives them).
    #[test]
    fn mask_sources_blend_through_the_hull_the_network_or_both() {
        let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (m1, m2) = (untrained_model(d1.path()), untrained_model(d2.path()));
        let src = astronaut();
        let mask = |model: &PathBuf, source: MaskSource| {
            let out = run(&src, &[], &Request { mask_source: source, ..request(model.clone(), 1.0) });
            assert!(out.passthrough.is_none(), "{:?}", out.passthrough);
            out.mask.data().to_vec()
        };
        let hull = mask(&m1, MaskSource::Hull);
        assert_eq!(hull, mask(&m2, MaskSource::Hull), "the hull does not depend on the model");
        let learned = mask(&m1, MaskSource::Learned);
        assert_ne!(learned, mask(&m2, MaskSource::Learned), "the learned mask is the model's");
        let both = mask(&m1, MaskSource::LearnedInHull);
        // Products of values in [0, 1] rounded in f32, then the same monotone operations: at most an ulp or
        // two above either factor's result.
        for (i, ((b, h), l)) in both.iter().zip(&hull).zip(&learned).enumerate() {
            assert!(*b <= h + 1e-5 && *b <= l + 1e-5, "pixel {i}: {b} above hull {h} or learned {l}");
        }
        assert!(both != hull && both != learned);
        assert!(hull.iter().filter(|&&m| m > 0.5).count() > 1000, "the hull covers the face");
    }

    /// Face Analysis needs no model: the astronaut's face is boxed (green: picked), her landmarks and the crop's
    /// square drawn, everything else left as the plate, no mask, no message.
    #[test]
    fn face_analysis_output_draws_on_the_plate_without_a_model() {
        let src = astronaut();
        let mut req = request(PathBuf::new(), 1.0);
        req.model = None;
        req.composite.mode = OutputMode::Analysis;
        let out = run(&src, &[], &req);
        assert!(out.passthrough.is_none(), "{:?}", out.passthrough);
        assert!(out.mask.data().iter().all(|&m| m == 0.0));
        let changed: Vec<usize> = (0..src.data().len() / 4).filter(|&i| src.data()[i * 4..i * 4 + 4] != out.image.data()[i * 4..i * 4 + 4]).collect();
        assert!(changed.len() > 500, "{} pixels drawn", changed.len());
        assert!(changed.len() < src.data().len() / 4 / 10, "lines and dots, not a fill: {} pixels", changed.len());
        // Everything drawn is near the face (the astronaut's face spans about x 150-260, y 70-200 of 512).
        assert!(changed.iter().all(|&i| (100..330).contains(&(i % 512)) && (20..280).contains(&(i / 512))));
    }

    /// The whole pipeline on a real face with an untrained (random) model file: the mechanics, not the quality.
    #[test]
    fn a_model_file_swaps_inside_the_mask_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = untrained_model(dir.path());
        let src = astronaut();
        let out = run(&src, &[], &request(path.clone(), 1.0));
        assert!(out.passthrough.is_none(), "{:?}", out.passthrough);
        let inside = out.mask.data().iter().filter(|&&m| m > 0.0).count();
        assert!(inside > 1000, "mask covers {inside} px");
        for (i, &m) in out.mask.data().iter().enumerate() {
            if m == 0.0 {
                assert_eq!(&out.image.data()[i * 4..i * 4 + 4], &src.data()[i * 4..i * 4 + 4], "pixel {i} outside the mask changed");
            }
        }
        assert_ne!(out.image, src, "the face must change");
        // Same input, same output: nothing is carried between renders.
        let again = run(&src, &[], &request(path.clone(), 1.0));
        assert_eq!(again.image, out.image);
        // Blend 0 is the source exactly.
        assert_eq!(run(&src, &[], &request(path, 0.0)).image, src);
    }

    /// Shaping the mask over the patches and their reach gives the bits shaping the whole frame's mask gives,
    /// for eroding and growing, whole and fractional radii, patches against the frame's edges, and patches
    /// near enough to each other that their shaped masks meet.
    #[test]
    fn mask_shaping_over_the_patches_matches_the_whole_frame() {
        let (w, h) = (90, 70);
        let v = |i: usize, k: usize| ((i * 31 + k * 17) % 97) as f32 / 96.0;
        let source = Frame::from_rgba(w, h, (0..w * h * 4).map(|i| v(i, 1)).collect()).unwrap();
        let r = |x0, y0, x1, y1| Rect { x0, y0, x1, y1 };
        let layouts = [
            vec![r(30, 25, 52, 44)],
            vec![r(0, 50, 20, 70)],
            vec![r(75, 0, 90, 12)],
            // Apart by 6 px: separate for small radii, merged for large ones.
            vec![r(10, 10, 30, 30), r(36, 10, 56, 30)],
            vec![r(0, 0, 20, 20), r(60, 40, 90, 70), r(20, 45, 40, 65)],
        ];
        for rects in layouts {
            let patches: Vec<Patch> = rects
                .iter()
                .map(|&rect| {
                    let mut patch = Patch::of_source(&source, rect);
                    let (pw, ph) = (rect.width(), rect.height());
                    for y in 0..ph {
                        for x in 0..pw {
                            // A soft blob: zero at the patch's border, like a pasted face mask.
                            let (dx, dy) = (x as f32 / pw as f32 - 0.5, y as f32 / ph as f32 - 0.5);
                            patch.mask.set(x, y, (1.0 - 3.0 * (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0));
                            patch.rgb.set_pixel(x, y, [v(x, y), v(y, x), 0.5, 1.0]);
                        }
                    }
                    patch
                })
                .collect();
            let mut whole = Patch::of_source(&source, r(0, 0, w, h));
            for p in &patches {
                whole.overlay(p);
            }
            for (erode, feather) in [(2.0, 8.0), (-3.5, 4.2), (0.0, 0.0), (1.5, 0.0), (0.0, 30.0), (-12.0, 2.0)] {
                let mut req = request(PathBuf::new(), 0.8);
                (req.mask_erode, req.mask_feather) = (erode, feather);
                for mode in [OutputMode::Composite, OutputMode::SwappedFace] {
                    req.composite.mode = mode;
                    req.composite.mask_in_alpha = true;
                    let got = finish(&source, &patches, &req);
                    let mask = mask_ops::feather(&mask_ops::erode(&whole.mask, erode), feather);
                    let want = composite::composite(&source, &[Patch { mask: mask.clone(), ..whole.clone() }], &req.composite);
                    assert_eq!(got.mask, mask, "mask, {rects:?} erode {erode} feather {feather}");
                    assert_eq!(got.image, want, "image, {rects:?} erode {erode} feather {feather} {mode:?}");
                }
            }
        }
    }

    /// Neighbours are asked for in window order, only when the frame has a face; one of another size (a
    /// resolution change mid-shot) is left out, as if the clip had none there.
    #[test]
    fn neighbours_are_fetched_in_order_only_for_faces_and_of_the_same_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = untrained_model(dir.path());
        let src = astronaut();
        // The neighbour: the same shot moved by a few pixels, so smoothing changes the landmarks.
        let mut moved = src.clone();
        moved.data_mut().rotate_left(4 * 3);
        let other_size = Frame::filled(src.width() / 2, src.height(), [0.5; 4]);
        let req = Request { temporal_window: 2, ..request(path, 1.0) };
        let mut asked = Vec::new();
        let fetched = run_fetching(
            &src,
            &mut |o| {
                asked.push(o);
                match o {
                    -1 => Some(Cow::Borrowed(&moved)),
                    1 => Some(Cow::Borrowed(&other_size)),
                    _ => None,
                }
            },
            &req,
        );
        assert_eq!(asked, [-2, -1, 1, 2]);
        assert!(fetched.passthrough.is_none(), "{:?}", fetched.passthrough);
        assert_eq!(fetched.image, run(&src, &[(-1, moved.clone())], &req).image, "the other-size frame must be ignored");
        assert_ne!(fetched.image, run(&src, &[], &req).image, "the neighbour must be used");
        // No face: nothing to smooth, nothing fetched.
        let grey = Frame::filled(64, 64, [0.5, 0.5, 0.5, 1.0]);
        let mut calls = 0;
        let out = run_fetching(&grey, &mut |_| {
            calls += 1;
            None
        }, &req);
        assert_eq!((calls, out.passthrough.map(|p| p.0)), (0, Some(Severity::Warning)));
    }

    #[test]
    fn no_face_and_bad_model_pass_through_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.safetensors");
        std::fs::write(&bad, b"nonsense").unwrap();
        let src = Frame::filled(64, 64, [0.5, 0.5, 0.5, 1.0]);
        let out = run(&src, &[], &request(bad, 1.0));
        assert_eq!(out.image, src);
        assert_eq!(out.passthrough.as_ref().map(|p| p.0), Some(Severity::Error));
    }
}
