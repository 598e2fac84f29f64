//! Rendering one frame the way a host does: clip preferences → (clip components) → region of
//! definition → regions of interest → frames needed → is identity → begin sequence → render →
//! end sequence.

use crate::actions::{ClipComponents, ClipPreferences, FramesNeeded, Identity};
use crate::error::{check, HostError, Result};
use crate::handles::{foundry, ofx, status};
use crate::host::HostMessage;
use crate::image::{Components, Depth, HostImage, RectI};
use crate::instance::Instance;
use crate::planes::{self, PlaneSpec};
use crate::render_ctx::{output_buf, output_image, FrameProvider, RenderCtx};
use crate::session::clip_format;

/// Premultiplication state of images (`kOfxImageEffectPropPreMultiplication`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Premult {
    Opaque,
    PreMultiplied,
    UnPreMultiplied,
}

impl Premult {
    pub fn ofx_name(self) -> &'static str {
        match self {
            Premult::Opaque => ofx!(kOfxImageOpaque),
            Premult::PreMultiplied => ofx!(kOfxImagePreMultiplied),
            Premult::UnPreMultiplied => ofx!(kOfxImageUnPreMultiplied),
        }
    }
}

/// One frame to render.
#[derive(Clone)]
pub struct RenderRequest<'a> {
    pub time: f64,
    /// Render scale (1, 1) for full resolution; inputs are box-filtered to it.
    pub render_scale: (f64, f64),
    /// Render window in pixels at the render scale; `None` is the whole region of definition.
    pub window: Option<RectI>,
    /// The `Source` clip. Its frame at `time` also gives the project format (size and extent).
    pub source: &'a dyn FrameProvider,
    /// `false` leaves the `Source` clip unconnected (`kOfxImageClipPropConnected = 0`), as an
    /// artist's graph can: the plug-in gets no image from it (`clipGetImage` fails) and its region
    /// of definition is the project format, `source`'s frame bounds.
    pub source_connected: bool,
    /// Other connected input clips by name (general context); unlisted clips are unconnected.
    pub extra_inputs: Vec<(String, &'a dyn FrameProvider)>,
    /// Depth of every clip (the host does not support multiple clip depths).
    pub output_depth: Depth,
    /// The host's preferred output components (the plug-in may change them in clip preferences).
    pub output_components: Components,
    /// Render the custom planes of a multi-planar plug-in too.
    pub planes: bool,
    /// Premultiplication state of the inputs and default of the output.
    pub premultiplication: Premult,
    pub frame_rate: f64,
    /// Frame range for begin/end sequence render; `None` is just this frame.
    pub sequence: Option<(f64, f64)>,
    pub sequential: bool,
    pub interactive: bool,
    pub draft: bool,
}

impl<'a> RenderRequest<'a> {
    /// Full-scale, full-frame, float RGBA render of `source` at `time`, with planes.
    pub fn new(time: f64, source: &'a dyn FrameProvider) -> Self {
        RenderRequest {
            time,
            render_scale: (1.0, 1.0),
            window: None,
            source,
            source_connected: true,
            extra_inputs: Vec::new(),
            output_depth: Depth::F32,
            output_components: Components::Rgba,
            planes: true,
            premultiplication: Premult::UnPreMultiplied,
            frame_rate: 24.0,
            sequence: None,
            sequential: false,
            interactive: false,
            draft: false,
        }
    }

    /// The connected input clips and their providers.
    pub(crate) fn inputs(&self) -> Vec<(String, &'a dyn FrameProvider)> {
        let mut v = Vec::new();
        if self.source_connected {
            v.push((ofx!(kOfxImageEffectSimpleSourceClipName).to_owned(), self.source));
        }
        v.extend(self.extra_inputs.iter().map(|(n, p)| (n.clone(), *p)));
        v
    }
}

/// What a render produced.
#[derive(Debug)]
pub struct RenderResult {
    /// Status of the render action (`kOfxStatOK` = 0); earlier actions failing is an `Err`.
    pub status: i32,
    /// The colour plane of the output over the render window.
    pub output: HostImage,
    /// Custom planes (plane string, image), in the order the plug-in listed them.
    pub planes: Vec<(String, HostImage)>,
    /// Set when the plug-in said it is an identity; `output` is then the host's copy of that frame.
    pub identity: Option<Identity>,
    /// Messages posted during this render.
    pub messages: Vec<HostMessage>,
    pub clip_preferences: ClipPreferences,
    pub clip_components: Option<ClipComponents>,
    /// Region of definition, canonical coordinates.
    pub region_of_definition: [f64; 4],
    pub render_window: RectI,
    pub regions_of_interest: Vec<(String, [f64; 4])>,
    pub frames_needed: FramesNeeded,
    /// Every (clip, time) the plug-in fetched.
    pub fetched: Vec<(String, f64)>,
    /// Images the plug-in did not release (freed by the host).
    pub unreleased_images: usize,
}

impl RenderResult {
    /// The render action succeeded.
    pub fn ok(&self) -> bool {
        self.status == status::OK
    }

    /// The custom plane whose string or decoded name/label is `name`.
    pub fn plane(&self, name: &str) -> Option<&HostImage> {
        self.planes
            .iter()
            .find(|(p, _)| p == name || PlaneSpec::parse(p).is_some_and(|s| s.name == name || s.label.as_deref() == Some(name)))
            .map(|(_, img)| img)
    }
}

impl Instance<'_> {
    /// Renders one frame; see the module doc for the action order. `Err` when the host cannot run
    /// the render or an action before the render action fails; the render action's own status is
    /// [`RenderResult::status`].
    pub fn render(&mut self, req: &RenderRequest<'_>) -> Result<RenderResult> {
        self.render_shared(req)
    }

    /// [`Instance::render`] through a shared reference, so several threads can render one instance
    /// at once, as hosts do: concurrently for a plug-in declaring `kOfxImageEffectRenderFullySafe`,
    /// one render of this instance at a time for `…InstanceSafe`, one render of the whole plug-in at
    /// a time for `…Unsafe`. Each thread's suite calls reach its own render's images.
    pub fn render_shared(&self, req: &RenderRequest<'_>) -> Result<RenderResult> {
        static UNSAFE_PLUGIN: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
        let safety = self.effect.props.string(ofx!(kOfxImageEffectPluginRenderThreadSafety));
        let _turn = match safety.as_deref() {
            Some(s) if s == ofx!(kOfxImageEffectRenderFullySafe) => None,
            Some(s) if s == ofx!(kOfxImageEffectRenderInstanceSafe) => Some(self.effect.render_serial.lock()),
            // kOfxImageEffectRenderUnsafe, or a value the spec does not know (the descriptor's default is
            // instance safe, see defaults.rs).
            _ => Some(UNSAFE_PLUGIN.lock()),
        };
        let scaled = req.render_scale != (1.0, 1.0);
        if scaled && self.effect.props.int(ofx!(kOfxImageEffectPropSupportsMultiResolution)) == Some(0) {
            return Err(HostError::Unsupported("the plug-in does not support render scales other than 1".into()));
        }
        let message_mark = self.effect.messages.lock().len();
        let (mut result, stats) = self.with_session(req, |ctx| self.render_in_session(req, ctx, message_mark))?;
        result.fetched = stats.fetched;
        result.unreleased_images = stats.unreleased_images;
        Ok(result)
    }

    fn render_in_session(&self, req: &RenderRequest<'_>, ctx: &RenderCtx<'_>, message_mark: usize) -> Result<RenderResult> {
        let prefs = self.prefs_in_session(req, ctx)?;
        let multi_planar = self.bundle.config().multi_planar && self.effect.props.int(foundry::PROP_MULTI_PLANAR) == Some(1);
        let clip_components = if multi_planar { Some(self.get_clip_components(req)?) } else { None };
        if let (Some(cc), Some(out)) = (&clip_components, self.effect.clip(ofx!(kOfxImageEffectOutputClipName))) {
            // The output's planes are the colour plane plus whatever the plug-in produces.
            let mut present = vec![foundry::PLANE_COLOUR.to_owned()];
            present.extend(cc.planes(out.name.as_str()).iter().filter(|p| PlaneSpec::parse(p).is_some()).cloned());
            out.props.set(foundry::PROP_COMPONENTS_PRESENT, crate::props::PropValue::String(present));
        }
        let rod = self.rod_in_session(req, ctx)?;
        let rod_px = RectI::from_canonical(rod, req.render_scale);
        let wanted = req.window.unwrap_or(rod_px);
        // A plug-in without tile support renders whole frames; the host crops afterwards.
        let tiles = self.effect.props.int(ofx!(kOfxImageEffectPropSupportsTiles)) != Some(0);
        let window = if tiles { wanted } else { rod_px };
        let regions_of_interest = self.regions_of_interest(req, window.to_canonical(req.render_scale))?;
        let temporal = self.effect.props.int(ofx!(kOfxImageEffectPropTemporalClipAccess)) == Some(1);
        let frames_needed = if temporal { self.frames_needed(req)? } else { Vec::new() };
        let out_clip = ofx!(kOfxImageEffectOutputClipName);
        let (out_comps, out_depth) = clip_format(&prefs, out_clip, req);
        let mut result = RenderResult {
            status: status::OK,
            output: HostImage::new(wanted, out_comps, out_depth),
            planes: Vec::new(),
            identity: None,
            messages: Vec::new(),
            clip_preferences: prefs,
            clip_components,
            region_of_definition: rod,
            render_window: wanted,
            regions_of_interest,
            frames_needed,
            fetched: Vec::new(),
            unreleased_images: 0,
        };
        if let Some(identity) = self.is_identity(req, window)? {
            // The host's job: copy the identity clip's frame into the output.
            if let Some(served) = ctx.served(&identity.clip, identity.time) {
                let img = HostImage {
                    bounds: served.bounds,
                    components: served.components,
                    depth: served.depth,
                    row_bytes: served.row_bytes,
                    data: served.buf.to_vec(),
                };
                result.output = img.convert(out_comps, out_depth).crop(wanted);
            }
            result.identity = Some(identity);
            result.messages = self.effect.messages.lock()[message_mark..].to_vec();
            return Ok(result);
        }
        // Output planes: the colour plane always, custom planes when asked and offered.
        let custom: Vec<String> = match (&result.clip_components, req.planes) {
            (Some(cc), true) => cc.planes(out_clip).iter().filter(|p| PlaneSpec::parse(p).is_some()).cloned().collect(),
            _ => Vec::new(),
        };
        allocate_outputs(ctx, &custom, out_comps, out_depth, window)?;
        let all_planes: Vec<String> = std::iter::once(foundry::PLANE_COLOUR.to_owned()).chain(custom.iter().cloned()).collect();
        let begin = ofx!(kOfxImageEffectActionBeginSequenceRender);
        let seq_args = self.sequence_args(req);
        if !self.sequence_open {
            check(begin, self.action(begin, Some(&seq_args), None))?;
        }
        let all_at_once = self.effect.props.int(foundry::PROP_RENDER_ALL_PLANES) == Some(1) || all_planes.len() == 1;
        let calls: Vec<Option<Vec<String>>> = if !multi_planar {
            vec![None]
        } else if all_at_once {
            vec![Some(all_planes.clone())]
        } else {
            all_planes.iter().map(|p| Some(vec![p.clone()])).collect()
        };
        for planes in &calls {
            let st = self.render_action(req, ctx, window, planes.as_deref());
            if st != status::OK {
                result.status = st;
                break;
            }
        }
        let end = ofx!(kOfxImageEffectActionEndSequenceRender);
        let end_status = if self.sequence_open { status::OK } else { self.action(end, Some(&seq_args), None) };
        for o in ctx.output.lock().iter() {
            let img = output_image(o).crop(wanted);
            if planes::is_colour(&o.plane) {
                result.output = img;
            } else {
                result.planes.push((o.plane.clone(), img));
            }
        }
        result.messages = self.effect.messages.lock()[message_mark..].to_vec();
        if result.status == status::OK {
            check(end, end_status)?;
        }
        Ok(result)
    }

    /// One render action over `window`, split into horizontal strips rendered concurrently when
    /// the host is configured for frame threading and the plug-in asked for it and is fully safe.
    fn render_action(&self, req: &RenderRequest<'_>, ctx: &RenderCtx<'_>, window: RectI, planes: Option<&[String]>) -> i32 {
        let render = ofx!(kOfxImageEffectActionRender);
        let wants = self.effect.props.int(ofx!(kOfxImageEffectPluginPropHostFrameThreading)) == Some(1);
        let safe = self.effect.props.string(ofx!(kOfxImageEffectPluginRenderThreadSafety)).as_deref() == Some(ofx!(kOfxImageEffectRenderFullySafe));
        let threads = self.bundle.config().host_frame_threads.min(window.height()).max(1);
        if !(wants && safe) || threads <= 1 {
            return self.action(render, Some(&self.render_args(req, window, planes)), None);
        }
        let strips: Vec<RectI> = (0..threads)
            .map(|i| {
                let h = window.height() as i64;
                let y1 = window.y1 + (h * i64::from(i) / i64::from(threads)) as i32;
                let y2 = window.y1 + (h * i64::from(i + 1) / i64::from(threads)) as i32;
                RectI::new(window.x1, y1, window.x2, y2)
            })
            .collect();
        let statuses: Vec<i32> = std::thread::scope(|s| {
            let handles: Vec<_> = strips
                .iter()
                .map(|strip| {
                    let ctx: *const RenderCtx<'static> = (ctx as *const RenderCtx<'_>).cast();
                    let ctx = SendPtr(ctx);
                    s.spawn(move || {
                        // SAFETY: the scope joins this thread before `render_action` returns, and the
                        // context outlives `render_action`.
                        let _entry = unsafe { self.effect.enter_render(ctx.get()) };
                        self.action(render, Some(&self.render_args(req, *strip, planes)), None)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(status::ERR_FATAL)).collect()
        });
        statuses.into_iter().find(|st| *st != status::OK).unwrap_or(status::OK)
    }

    /// Opens a sequence (`kOfxImageEffectActionBeginSequenceRender` with `req.sequence` as the
    /// frame range); renders until [`Instance::end_sequence`] run inside it without their own
    /// bracket.
    pub fn begin_sequence(&mut self, req: &RenderRequest<'_>) -> Result<()> {
        let begin = ofx!(kOfxImageEffectActionBeginSequenceRender);
        check(begin, self.action(begin, Some(&self.sequence_args(req)), None))?;
        self.sequence_open = true;
        Ok(())
    }

    /// Closes the sequence opened by [`Instance::begin_sequence`].
    pub fn end_sequence(&mut self, req: &RenderRequest<'_>) -> Result<()> {
        self.sequence_open = false;
        let end = ofx!(kOfxImageEffectActionEndSequenceRender);
        check(end, self.action(end, Some(&self.sequence_args(req)), None)).map(|_| ())
    }
}

/// A render context pointer handed to a strip thread (the scope guarantees it outlives the thread).
#[derive(Clone, Copy)]
struct SendPtr(*const RenderCtx<'static>);
// SAFETY: RenderCtx is Sync; the pointer is only dereferenced while the render that owns it runs.
unsafe impl Send for SendPtr {}

impl SendPtr {
    /// Taking `self` makes closures capture the whole (Send) wrapper, not the raw field.
    fn get(self) -> *const RenderCtx<'static> {
        self.0
    }
}

/// Allocates the colour buffer and one buffer per custom plane over `window`.
fn allocate_outputs(ctx: &RenderCtx<'_>, custom: &[String], comps: Components, depth: Depth, window: RectI) -> Result<()> {
    let mut outs = ctx.output.lock();
    outs.clear();
    let colour = output_buf(foundry::PLANE_COLOUR, comps.ofx_name(), comps, depth, window)
        .ok_or_else(|| HostError::BadImage(format!("cannot allocate a {window:?} output")))?;
    outs.push(colour);
    for p in custom {
        // As in Natron: one component per channel of the plane, the output clip's depth.
        let n = PlaneSpec::parse(p).map_or(1, |s| s.channels.len());
        let plane_comps = Components::from_count(n).unwrap_or(Components::Alpha);
        let buf = output_buf(p, p, plane_comps, depth, window).ok_or_else(|| HostError::BadImage(format!("cannot allocate plane {p}")))?;
        outs.push(buf);
    }
    Ok(())
}
