//! What the image effect and plane suites need while an action of a render runs: the input
//! providers, the clip formats chosen by clip preferences, cached converted source frames and the
//! output buffers.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::handles::{foundry, ofx, status, OfxStatus};
use crate::image::{Components, Depth, HostImage, RectI};
use crate::objects::{add_image, ImageObj, RawBuf};
use crate::props::{PropValue, PropertySet};

/// Supplies input frames by time. Frames may be of any size, components and depth: the host
/// converts them to the clip's format and render scale.
pub trait FrameProvider: Sync {
    /// The full-resolution frame at `time`, or `None` if there is none (the plug-in then gets
    /// `kOfxStatFailed` from `clipGetImage`).
    fn frame(&self, time: f64) -> Option<HostImage>;

    /// The frame range, reported as the clip's `kOfxImageEffectPropFrameRange`; `None` means "just
    /// the frame being rendered".
    fn frame_range(&self) -> Option<(f64, f64)> {
        None
    }
}

/// A still image is a provider that has that image at every time.
impl FrameProvider for HostImage {
    fn frame(&self, _time: f64) -> Option<HostImage> {
        Some(self.clone())
    }
}

/// Any `Fn(f64) -> Option<HostImage>` is a provider.
impl<F: Fn(f64) -> Option<HostImage> + Sync> FrameProvider for F {
    fn frame(&self, time: f64) -> Option<HostImage> {
        self(time)
    }
}

/// A converted, scaled frame handed to the plug-in.
pub(crate) struct Served {
    pub bounds: RectI,
    /// Bounds at scale 1, for the region of definition.
    pub full_bounds: RectI,
    pub components: Components,
    pub depth: Depth,
    pub row_bytes: usize,
    pub buf: Arc<RawBuf>,
}

/// One connected input clip.
pub(crate) struct Input<'a> {
    pub provider: &'a dyn FrameProvider,
    /// Components and depth frames are converted to (set again after clip preferences).
    format: Mutex<(Components, Depth)>,
    pub premult: &'static str,
    cache: Mutex<HashMap<u64, Option<Arc<Served>>>>,
}

impl<'a> Input<'a> {
    pub fn new(provider: &'a dyn FrameProvider, components: Components, depth: Depth, premult: &'static str) -> Self {
        Input { provider, format: Mutex::new((components, depth)), premult, cache: Mutex::new(HashMap::new()) }
    }

    /// Changes the clip format; frames converted to the old one are dropped.
    pub fn set_format(&self, components: Components, depth: Depth) {
        let mut f = self.format.lock();
        if *f != (components, depth) {
            *f = (components, depth);
            self.cache.lock().clear();
        }
    }
}

/// An output plane buffer.
pub(crate) struct OutputBuf {
    /// The plane string (`kFnOfxImagePlaneColour` or a Natron custom plane).
    pub plane: String,
    /// The components string put on the image (the plane string itself for custom planes, as
    /// Natron does).
    pub components_str: String,
    pub components: Components,
    pub depth: Depth,
    pub bounds: RectI,
    pub row_bytes: usize,
    pub buf: Arc<RawBuf>,
}

/// State of one host-driven action sequence (see `Instance::render`).
pub(crate) struct RenderCtx<'a> {
    pub id: u64,
    pub scale: (f64, f64),
    pub inputs: HashMap<String, Input<'a>>,
    pub output: Mutex<Vec<OutputBuf>>,
    /// The effect's region of definition in pixels at the render scale, once known.
    pub output_rod: Mutex<Option<RectI>>,
    pub output_premult: Mutex<&'static str>,
    /// Every (clip, time) the plug-in fetched, in order.
    pub fetched: Mutex<Vec<(String, f64)>>,
    /// The project format (pixels at scale 1): the region of definition of unconnected clips.
    pub format: RectI,
}

impl<'a> RenderCtx<'a> {
    /// The converted source frame of `clip` at `time`, cached for the duration of the render.
    pub fn served(&self, clip: &str, time: f64) -> Option<Arc<Served>> {
        let input = self.inputs.get(clip)?;
        // Holding the lock while converting: threads asking for the same frame wait for one
        // conversion instead of each doing it.
        let mut cache = input.cache.lock();
        if let Some(hit) = cache.get(&time.to_bits()) {
            return hit.clone();
        }
        let (components, depth) = *input.format.lock();
        let served = input.provider.frame(time).and_then(|img| {
            let full_bounds = img.bounds;
            let img = img.convert(components, depth).scaled(self.scale);
            let buf = RawBuf::from_bytes(&img.data)?;
            Some(Arc::new(Served {
                bounds: img.bounds,
                full_bounds,
                components: img.components,
                depth: img.depth,
                row_bytes: img.row_bytes,
                buf: Arc::new(buf),
            }))
        });
        cache.insert(time.to_bits(), served.clone());
        served
    }

    /// `clipGetImage` / `clipGetImagePlane` for a clip of this render.
    pub fn get_image(&self, clip: &str, time: f64, plane: &str) -> Result<ofx_sys::OfxPropertySetHandle, OfxStatus> {
        self.fetched.lock().push((clip.to_owned(), time));
        if clip == ofx!(kOfxImageEffectOutputClipName) {
            let outputs = self.output.lock();
            let out = outputs.iter().find(|o| o.plane == plane).ok_or(status::FAILED)?;
            let rod = self.output_rod.lock().unwrap_or(out.bounds);
            let props = image_props(ImageDesc {
                components: &out.components_str,
                depth: out.depth,
                premult: *self.output_premult.lock(),
                scale: self.scale,
                data: out.buf.ptr() as usize,
                bounds: out.bounds,
                rod,
                row_bytes: out.row_bytes,
                id: format!("{clip}:{time}:{plane}:{}", self.id),
            });
            return Ok(add_image(ImageObj { props, _data: Arc::clone(&out.buf), render_id: self.id }));
        }
        if plane != foundry::PLANE_COLOUR {
            // Inputs only carry the colour plane.
            return Err(status::FAILED);
        }
        let input = self.inputs.get(clip).ok_or(status::FAILED)?;
        let served = self.served(clip, time).ok_or(status::FAILED)?;
        let props = image_props(ImageDesc {
            components: served.components.ofx_name(),
            depth: served.depth,
            premult: input.premult,
            scale: self.scale,
            data: served.buf.ptr() as usize,
            bounds: served.bounds,
            rod: served.bounds,
            row_bytes: served.row_bytes,
            id: format!("{clip}:{time}:{}:{}", served.components.ofx_name(), self.id),
        });
        Ok(add_image(ImageObj { props, _data: Arc::clone(&served.buf), render_id: self.id }))
    }

    /// Canonical region of definition of an input clip at `time`: its frame's bounds, the project
    /// format for an unconnected clip (as Natron answers), `None` for a connected clip without a
    /// frame at that time.
    pub fn input_rod(&self, clip: &str, time: f64) -> Option<[f64; 4]> {
        let b = if self.inputs.contains_key(clip) { self.served(clip, time)?.full_bounds } else { self.format };
        Some([f64::from(b.x1), f64::from(b.y1), f64::from(b.x2), f64::from(b.y2)])
    }
}

struct ImageDesc<'s> {
    components: &'s str,
    depth: Depth,
    premult: &'static str,
    scale: (f64, f64),
    data: usize,
    bounds: RectI,
    rod: RectI,
    row_bytes: usize,
    id: String,
}

fn rect_prop(r: RectI) -> PropValue {
    PropValue::Int(vec![r.x1, r.y1, r.x2, r.y2])
}

fn image_props(d: ImageDesc<'_>) -> Box<PropertySet> {
    let p = PropertySet::boxed();
    p.define(ofx!(kOfxPropType), PropValue::str(ofx!(kOfxTypeImage)));
    p.define(ofx!(kOfxImageEffectPropPixelDepth), PropValue::str(d.depth.ofx_name()));
    p.define(ofx!(kOfxImageEffectPropComponents), PropValue::str(d.components));
    p.define(ofx!(kOfxImageEffectPropPreMultiplication), PropValue::str(d.premult));
    p.define(ofx!(kOfxImageEffectPropRenderScale), PropValue::Double(vec![d.scale.0, d.scale.1]));
    p.define(ofx!(kOfxImagePropPixelAspectRatio), PropValue::Double(vec![1.0]));
    p.define(ofx!(kOfxImagePropData), PropValue::Pointer(vec![d.data]));
    p.define(ofx!(kOfxImagePropBounds), rect_prop(d.bounds));
    p.define(ofx!(kOfxImagePropRegionOfDefinition), rect_prop(d.rod));
    p.define(ofx!(kOfxImagePropRowBytes), PropValue::Int(vec![i32::try_from(d.row_bytes).unwrap_or(i32::MAX)]));
    p.define(ofx!(kOfxImagePropField), PropValue::str(ofx!(kOfxImageFieldNone)));
    p.define(ofx!(kOfxImagePropUniqueIdentifier), PropValue::str(&d.id));
    p
}

/// Allocates an output plane buffer.
pub(crate) fn output_buf(plane: &str, components_str: &str, components: Components, depth: Depth, bounds: RectI) -> Option<OutputBuf> {
    let row_bytes = bounds.width() as usize * components.count() * depth.bytes();
    let buf = RawBuf::zeroed(row_bytes * bounds.height() as usize)?;
    Some(OutputBuf {
        plane: plane.to_owned(),
        components_str: components_str.to_owned(),
        components,
        depth,
        bounds,
        row_bytes,
        buf: Arc::new(buf),
    })
}

/// Reads an output buffer back (after the render action returned).
pub(crate) fn output_image(o: &OutputBuf) -> HostImage {
    HostImage { bounds: o.bounds, components: o.components, depth: o.depth, row_bytes: o.row_bytes, data: o.buf.to_vec() }
}
