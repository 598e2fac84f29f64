//! The render-time actions: fetch images → read settings at the render's time → run the pipeline → write.

use super::error::NodeError;
use super::instance::Instance;
use super::settings::Settings;
use crate::ofx::image::Image;
use crate::ofx::message::Level;
use crate::ofx::plane_suite as planes;
use crate::ofx::props::PropSet;
use crate::ofx::{sys, text, RectI};
use crate::pipeline::frame::{Frame, Mask};
use crate::pipeline::run::{self, Severity};
use std::borrow::Cow;

/// Environment switch that makes render panic, so tests can prove a panic never reaches the host.
/// Checked only at render time; unset in production.
pub const TEST_PANIC_ENV: &str = "FACESWAP_OFX_TEST_PANIC_IN_RENDER";

// Per-clip out-argument names are these prefixes plus the clip name. The OFX spec documents them but the
// headers have no macros for them, so ofx_sys has no constants.
const CLIP_FRAME_RANGE_PREFIX: &str = "OfxImageClipPropFrameRange_";
const CLIP_ROI_PREFIX: &str = "OfxImageClipPropRoI_";
const CLIP_COMPONENTS_PREFIX: &str = "OfxImageClipPropComponents_";

/// The render action.
pub fn render(inst: &Instance, in_args: PropSet) -> Result<(), NodeError> {
    let time = in_args.get_double(sys::kOfxPropTime, 0)?;
    let scale = in_args.get_doubles::<2>(sys::kOfxImageEffectPropRenderScale)?;
    let w = in_args.get_ints::<4>(sys::kOfxImageEffectPropRenderWindow)?;
    let window = RectI { x1: w[0], y1: w[1], x2: w[2], y2: w[3] };
    if std::env::var_os(TEST_PANIC_ENV).is_some() {
        panic!("forced by {TEST_PANIC_ENV}");
    }
    let settings = Settings::read(inst, time)?;
    let source = inst.source.image(time)?.ok_or(NodeError::NoSource { time })?;
    let frame = read_frame(&source)?;
    let sb = source.bounds();
    let req = settings.request(scale, sb.x1, sb.y2);
    // Neighbours are fetched one at a time as the pipeline analyses them; a host failure stops the render, as
    // a failure to fetch the current frame does.
    let mut fetch_failure = None;
    let outcome = run::run_fetching(
        &frame,
        &mut |offset| match neighbour_frame(inst, time + offset as f64) {
            Ok(frame) => frame.map(Cow::Owned),
            Err(e) => {
                fetch_failure.get_or_insert(e);
                None
            }
        },
        &req,
    );
    if let Some(e) = fetch_failure {
        return Err(e);
    }
    let message = match (&outcome.passthrough, &outcome.note) {
        (Some((sev, why)), _) => {
            let level = if *sev == Severity::Error { Level::Error } else { Level::Warning };
            Some((level, format!("FaceSwap: {why}. The source passes through unchanged.")))
        }
        (None, Some(note)) => Some((Level::Warning, format!("FaceSwap: {note}."))),
        (None, None) => None,
    };
    inst.show(message);
    if inst.effect.aborted() {
        return Ok(());
    }
    let mut output = inst.output.image(time)?.ok_or(NodeError::OutputTooSmall)?;
    let region = window.intersect(&output.bounds());
    write_frame(&mut output, region, &outcome.image, sb)?;
    // The mask plane, when the host asked for it this render (multi-plane hosts list planes in the in-args).
    let wanted = in_args.get_strings(planes::PROP_RENDER_PLANES).unwrap_or_default();
    if wanted.iter().any(|p| p == planes::PLANE_FACE_MASK) {
        if let Some(mut plane) = inst.output.image_plane(time, 0, planes::PLANE_FACE_MASK)? {
            let region = window.intersect(&plane.bounds());
            write_mask(&mut plane, region, &outcome.mask, sb)?;
        }
    }
    Ok(())
}

/// The source frame at `time` for temporal smoothing, if the clip has one there.
fn neighbour_frame(inst: &Instance, time: f64) -> Result<Option<Frame>, NodeError> {
    inst.source.image(time)?.map(|img| read_frame(&img)).transpose()
}

/// Source image → pipeline frame (top row first), hashed row by row as it is converted (the analysis cache's
/// key, see `pipeline::fingerprint`).
fn read_frame(img: &Image) -> Result<Frame, NodeError> {
    let b = img.bounds();
    let (w, h) = (b.width() as usize, b.height() as usize);
    Frame::from_rows(w, h, |row, dst| {
        let y = b.y2 - 1 - row as i32;
        match img.read_row_rgba(y, dst) {
            true => Ok(()),
            false => Err(NodeError::Host(crate::ofx::OfxError::BadImage(format!("cannot read row {y}")))),
        }
    })
}

/// Writes `region` of the output from `frame`, whose pixel (0,0) is the top-left of `frame_bounds`.
/// Pixels outside the frame (the output may be larger than the source) become transparent black. Rows in
/// parallel.
fn write_frame(out: &mut Image, region: RectI, frame: &Frame, frame_bounds: RectI) -> Result<(), NodeError> {
    write_region(out, region, frame_bounds, |fx, fy| frame.pixel(fx, fy))
}

/// Writes the mask into a single-channel (or any) plane image: the mask goes to every channel.
fn write_mask(out: &mut Image, region: RectI, mask: &Mask, frame_bounds: RectI) -> Result<(), NodeError> {
    write_region(out, region, frame_bounds, |fx, fy| [mask.get(fx, fy); 4])
}

/// Writes `region` of `out` with `pixel(fx, fy)` of the frame pixel under each output pixel, transparent black
/// outside `frame_bounds`.
fn write_region(out: &mut Image, region: RectI, frame_bounds: RectI, pixel: impl Fn(usize, usize) -> [f32; 4] + Sync) -> Result<(), NodeError> {
    let written = out.write_rows_rgba(region.y1..region.y2, region.x1, region.width().max(0) as usize, |y, row| {
        for (px, x) in row.chunks_exact_mut(4).zip(region.x1..region.x2) {
            px.copy_from_slice(&frame_pixel(frame_bounds, x, y).map_or([0.0; 4], |(fx, fy)| pixel(fx, fy)));
        }
    });
    written.then_some(()).ok_or(NodeError::OutputTooSmall)
}

/// OFX pixel (y up) → frame pixel (y down), if inside the frame.
fn frame_pixel(b: RectI, x: i32, y: i32) -> Option<(usize, usize)> {
    if x < b.x1 || x >= b.x2 || y < b.y1 || y >= b.y2 {
        return None;
    }
    Some(((x - b.x1) as usize, (b.y2 - 1 - y) as usize))
}

/// IsIdentity: nothing would change → tell the host to use the source. Also the moment to explain why
/// (no model yet, blend at zero) on the node.
pub fn is_identity(inst: &Instance, in_args: PropSet, out_args: PropSet) -> Result<bool, NodeError> {
    let time = in_args.get_double(sys::kOfxPropTime, 0)?;
    let settings = Settings::read(inst, time)?;
    if !settings.is_identity() {
        return Ok(false);
    }
    if settings.model.is_none() {
        inst.show(Some((Level::Warning, "FaceSwap: no model file is set: choose one in Model File. The source passes through unchanged.".into())));
    }
    out_args.set_string(sys::kOfxPropName, 0, super::ids::CLIP_SOURCE)?;
    out_args.set_double(sys::kOfxPropTime, 0, time)?;
    Ok(true)
}

/// Frames needed: the temporal window around the render time, so smoothing never depends on render order.
pub fn frames_needed(inst: &Instance, in_args: PropSet, out_args: PropSet) -> Result<(), NodeError> {
    let time = in_args.get_double(sys::kOfxPropTime, 0)?;
    let k = Settings::read(inst, time)?.temporal_window as f64;
    let name = format!("{}{}", CLIP_FRAME_RANGE_PREFIX, super::ids::CLIP_SOURCE);
    out_args.set_doubles_dynamic(&name, &[time - k, time + k])?;
    Ok(())
}

/// Regions of interest: the whole source, since faces anywhere in the frame are found.
pub fn regions_of_interest(inst: &Instance, in_args: PropSet, out_args: PropSet) -> Result<(), NodeError> {
    let time = in_args.get_double(sys::kOfxPropTime, 0)?;
    let rod = inst.source.region_of_definition(time)?;
    let name = format!("{}{}", CLIP_ROI_PREFIX, super::ids::CLIP_SOURCE);
    out_args.set_doubles_dynamic(&name, &[rod.x1, rod.y1, rod.x2, rod.y2])?;
    Ok(())
}

/// Clip preferences: output as deep as the source; RGBA whenever the output carries the mask in alpha.
pub fn clip_preferences(inst: &Instance, out_args: PropSet) -> Result<(), NodeError> {
    let s = Settings::read(inst, 0.0)?;
    if s.output_needs_alpha() {
        let name = format!("{}{}", CLIP_COMPONENTS_PREFIX, super::ids::CLIP_OUTPUT);
        out_args.set_strings_dynamic(&name, &[text(sys::kOfxImageComponentRGBA)])?;
        let premult: &'static [u8] = if s.mask_in_alpha && s.output == crate::pipeline::composite::OutputMode::Composite {
            // The plate's colour with a matte in alpha: not premultiplied by that matte.
            sys::kOfxImageUnPreMultiplied
        } else {
            sys::kOfxImagePreMultiplied
        };
        out_args.set_string(sys::kOfxImageEffectPropPreMultiplication, 0, text(premult))?;
    }
    Ok(())
}

/// Multi-plane hosts: Source gives colour; Output adds the FaceMask plane; other planes pass through.
pub fn clip_components(in_args: PropSet, out_args: PropSet) -> Result<(), NodeError> {
    let time = in_args.get_double(sys::kOfxPropTime, 0).unwrap_or(0.0);
    let out_name = format!("{}{}", planes::NEEDED_COMPONENTS_PREFIX, super::ids::CLIP_OUTPUT);
    out_args.set_strings_dynamic(&out_name, &[planes::PLANE_COLOUR, planes::PLANE_FACE_MASK])?;
    let src_name = format!("{}{}", planes::NEEDED_COMPONENTS_PREFIX, super::ids::CLIP_SOURCE);
    out_args.set_strings_dynamic(&src_name, &[planes::PLANE_COLOUR])?;
    out_args.set_string(planes::PROP_PASS_THROUGH_CLIP, 0, super::ids::CLIP_SOURCE)?;
    out_args.set_double(planes::PROP_PASS_THROUGH_TIME, 0, time)?;
    out_args.set_int(planes::PROP_PASS_THROUGH_VIEW, 0, 0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_pixel_flips_rows() {
        let b = RectI { x1: 10, y1: 20, x2: 14, y2: 23 };
        assert_eq!(frame_pixel(b, 10, 22), Some((0, 0)));
        assert_eq!(frame_pixel(b, 13, 20), Some((3, 2)));
        assert_eq!(frame_pixel(b, 14, 20), None);
        assert_eq!(frame_pixel(b, 10, 19), None);
    }
}
