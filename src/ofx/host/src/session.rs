//! A render session: the inputs of one request wired to the clips for the duration of a sequence
//! of actions, so the plug-in can fetch images and regions of definition from any of them.
//! Also the stand-alone, Rust-callable versions of the render-time actions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::actions::{ClipPreferences, FramesNeeded, Identity};
use crate::error::{HostError, Result};
use crate::handles::ofx;
use crate::image::{Components, Depth, HostImage, RectI};
use crate::instance::Instance;
use crate::objects::release_render_images;
use crate::props::PropValue;
use crate::render::{Premult, RenderRequest};
use crate::render_ctx::{FrameProvider, Input, RenderCtx};

static RENDER_IDS: AtomicU64 = AtomicU64::new(1);

/// What a session observed besides its result.
pub(crate) struct SessionStats {
    pub fetched: Vec<(String, f64)>,
    pub unreleased_images: usize,
}

impl Instance<'_> {
    /// Wires the request's inputs to the clips, runs `f`, then frees the images the plug-in kept.
    pub(crate) fn with_session<R>(&self, req: &RenderRequest<'_>, f: impl FnOnce(&RenderCtx<'_>) -> Result<R>) -> Result<(R, SessionStats)> {
        self.effect.set_current_time(req.time);
        let inputs = req.inputs();
        // Probe the inputs' frames for their native format (the unmapped components/depth).
        let mut probes = HashMap::new();
        for (name, provider) in &inputs {
            if self.effect.clip(name).is_none() {
                return Err(HostError::NoClip(name.clone()));
            }
            let frame = provider.frame(req.time).ok_or(HostError::NoSourceFrame(req.time))?;
            probes.insert(name.clone(), frame);
        }
        // The project format: the source frame's bounds, even when the Source clip is unconnected.
        let format = match probes.get(ofx!(kOfxImageEffectSimpleSourceClipName)) {
            Some(frame) => frame.bounds,
            None => req.source.frame(req.time).ok_or(HostError::NoSourceFrame(req.time))?.bounds,
        };
        self.set_clip_instance_props(req, &inputs, &probes, format);
        let premult = req.premultiplication.ofx_name();
        let ctx = RenderCtx {
            id: RENDER_IDS.fetch_add(1, Ordering::Relaxed),
            scale: req.render_scale,
            inputs: inputs
                .iter()
                .map(|(n, p)| {
                    let comps = probes.get(n).map_or(req.output_components, |f| f.components);
                    (n.clone(), Input::new(*p, comps, req.output_depth, premult))
                })
                .collect(),
            output: Mutex::new(Vec::new()),
            output_rod: Mutex::new(None),
            output_premult: Mutex::new(premult),
            fetched: Mutex::new(Vec::new()),
            format,
        };
        // SAFETY (lifetime erasure): the entry unregisters the pointer before `ctx` is dropped.
        let entry = unsafe { self.effect.enter_render((&ctx as *const RenderCtx<'_>).cast()) };
        let result = f(&ctx);
        drop(entry);
        let stats = SessionStats { fetched: ctx.fetched.lock().clone(), unreleased_images: release_render_images(ctx.id) };
        result.map(|r| (r, stats))
    }

    /// Runs clip preferences and converts the inputs to the formats chosen.
    pub(crate) fn prefs_in_session(&self, req: &RenderRequest<'_>, ctx: &RenderCtx<'_>) -> Result<ClipPreferences> {
        let prefs = self.get_clip_preferences(req)?;
        for (name, input) in &ctx.inputs {
            let (c, d) = clip_format(&prefs, name, req);
            input.set_format(c, d);
        }
        *ctx.output_premult.lock() = static_premult(&prefs.premultiplication);
        Ok(prefs)
    }

    /// The region of definition (canonical), with the host default being the source's (the
    /// project format when the Source clip is unconnected).
    pub(crate) fn rod_in_session(&self, req: &RenderRequest<'_>, ctx: &RenderCtx<'_>) -> Result<[f64; 4]> {
        let source = ofx!(kOfxImageEffectSimpleSourceClipName);
        let default_rod = ctx.input_rod(source, req.time).ok_or(HostError::NoSourceFrame(req.time))?;
        let rod = self.region_of_definition(req, default_rod)?;
        *ctx.output_rod.lock() = Some(RectI::from_canonical(rod, req.render_scale));
        Ok(rod)
    }

    /// Runs get-region-of-definition on its own (after clip preferences, as a host does).
    pub fn get_region_of_definition(&self, req: &RenderRequest<'_>) -> Result<[f64; 4]> {
        self.with_session(req, |ctx| {
            self.prefs_in_session(req, ctx)?;
            self.rod_in_session(req, ctx)
        })
        .map(|(r, _)| r)
    }

    /// Runs get-regions-of-interest for the request's window (default: the whole RoD).
    pub fn get_regions_of_interest(&self, req: &RenderRequest<'_>) -> Result<Vec<(String, [f64; 4])>> {
        self.with_session(req, |ctx| {
            self.prefs_in_session(req, ctx)?;
            let rod = self.rod_in_session(req, ctx)?;
            let roi = req.window.map_or(rod, |w| w.to_canonical(req.render_scale));
            self.regions_of_interest(req, roi)
        })
        .map(|(r, _)| r)
    }

    /// Runs get-frames-needed.
    pub fn get_frames_needed(&self, req: &RenderRequest<'_>) -> Result<FramesNeeded> {
        self.with_session(req, |ctx| {
            self.prefs_in_session(req, ctx)?;
            self.frames_needed(req)
        })
        .map(|(r, _)| r)
    }

    /// Runs is-identity for the request's window (default: the whole RoD).
    pub fn get_is_identity(&self, req: &RenderRequest<'_>) -> Result<Option<Identity>> {
        self.with_session(req, |ctx| {
            self.prefs_in_session(req, ctx)?;
            let rod = self.rod_in_session(req, ctx)?;
            self.is_identity(req, req.window.unwrap_or_else(|| RectI::from_canonical(rod, req.render_scale)))
        })
        .map(|(r, _)| r)
    }

    /// Updates the clip instances for this frame: connection, native format, frame range.
    fn set_clip_instance_props(&self, req: &RenderRequest<'_>, inputs: &[(String, &dyn FrameProvider)], probes: &HashMap<String, HostImage>, format: RectI) {
        let range = |p: &dyn FrameProvider| p.frame_range().unwrap_or((req.time, req.time));
        let source_range = range(req.source);
        for c in self.effect.clip_list() {
            let input = inputs.iter().find(|(n, _)| *n == c.name);
            let is_output = c.name == ofx!(kOfxImageEffectOutputClipName);
            let connected = is_output || input.is_some();
            c.props.set(ofx!(kOfxImageClipPropConnected), PropValue::Int(vec![i32::from(connected)]));
            let r = input.map_or(source_range, |(_, p)| range(*p));
            c.props.set(ofx!(kOfxImageEffectPropFrameRange), PropValue::Double(vec![r.0, r.1]));
            c.props.set(ofx!(kOfxImageEffectPropUnmappedFrameRange), PropValue::Double(vec![r.0, r.1]));
            c.props.set(ofx!(kOfxImageEffectPropFrameRate), PropValue::Double(vec![req.frame_rate]));
            if let Some(frame) = probes.get(&c.name) {
                c.props.set(ofx!(kOfxImageClipPropUnmappedComponents), PropValue::str(frame.components.ofx_name()));
                c.props.set(ofx!(kOfxImageClipPropUnmappedPixelDepth), PropValue::str(frame.depth.ofx_name()));
                c.props.set(ofx!(kOfxImageEffectPropPreMultiplication), PropValue::str(req.premultiplication.ofx_name()));
            }
        }
        // Project = the source frame, so plug-ins that size things by the project see the frame.
        let (w, h) = (f64::from(format.width()), f64::from(format.height()));
        self.effect.props.set(ofx!(kOfxImageEffectPropProjectSize), PropValue::Double(vec![w, h]));
        self.effect.props.set(ofx!(kOfxImageEffectPropProjectExtent), PropValue::Double(vec![w, h]));
        let duration = source_range.1 - source_range.0 + 1.0;
        self.effect.props.set(ofx!(kOfxImageEffectInstancePropEffectDuration), PropValue::Double(vec![duration]));
    }
}

/// Components and depth clip preferences chose for `clip`, or the request's defaults.
pub(crate) fn clip_format(prefs: &ClipPreferences, clip: &str, req: &RenderRequest<'_>) -> (Components, Depth) {
    prefs
        .clip(clip)
        .map(|(c, d)| (Components::from_ofx(c).unwrap_or(req.output_components), Depth::from_ofx(d).unwrap_or(req.output_depth)))
        .unwrap_or((req.output_components, req.output_depth))
}

/// The `'static` premultiplication string matching what the plug-in chose.
fn static_premult(s: &str) -> &'static str {
    [Premult::Opaque, Premult::PreMultiplied, Premult::UnPreMultiplied]
        .into_iter()
        .map(Premult::ofx_name)
        .find(|n| *n == s)
        .unwrap_or(ofx!(kOfxImageUnPreMultiplied))
}
