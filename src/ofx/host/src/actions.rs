//! The image effect actions a render runs, each callable on its own from Rust.

use crate::error::{check, HostError, Result};
use crate::handles::{foundry, ofx, status};
use crate::image::{Components, Depth, RectI};
use crate::instance::Instance;
use crate::props::{PropValue, PropertySet};
use crate::render::RenderRequest;

/// The clip preferences the plug-in asked for (`kOfxImageEffectActionGetClipPreferences`).
#[derive(Clone, Debug, PartialEq)]
pub struct ClipPreferences {
    /// Per clip: (name, components string, depth string, pixel aspect ratio).
    pub clips: Vec<(String, String, String, f64)>,
    pub premultiplication: String,
    pub field_order: String,
    pub frame_rate: f64,
    pub continuous_samples: bool,
    pub frame_varying: bool,
}

impl ClipPreferences {
    /// Components and depth chosen for `clip`.
    pub fn clip(&self, clip: &str) -> Option<(&str, &str)> {
        self.clips.iter().find(|c| c.0 == clip).map(|c| (c.1.as_str(), c.2.as_str()))
    }
}

/// The effect is an identity: the output is the frame of `clip` at `time`.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    pub clip: String,
    pub time: f64,
}

/// What the plug-in answered to the get-clip-components action (multi-planar plug-ins).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClipComponents {
    /// Per clip, the planes needed (inputs) or produced (output).
    pub clips: Vec<(String, Vec<String>)>,
    pub pass_through_clip: String,
    pub pass_through_time: f64,
}

impl ClipComponents {
    /// The planes listed for `clip`.
    pub fn planes(&self, clip: &str) -> &[String] {
        self.clips.iter().find(|c| c.0 == clip).map_or(&[], |c| c.1.as_slice())
    }
}

/// Frame ranges needed per input clip.
pub type FramesNeeded = Vec<(String, Vec<(f64, f64)>)>;

fn rect_d(r: [f64; 4]) -> PropValue {
    PropValue::Double(r.to_vec())
}

fn rect_i(r: RectI) -> PropValue {
    PropValue::Int(vec![r.x1, r.y1, r.x2, r.y2])
}

fn four(v: Option<Vec<f64>>) -> Option<[f64; 4]> {
    v.and_then(|v| v.get(..4).map(|s| [s[0], s[1], s[2], s[3]]))
}

impl Instance<'_> {
    fn input_clip_names(&self) -> Vec<String> {
        self.clip_names().into_iter().filter(|n| n != ofx!(kOfxImageEffectOutputClipName)).collect()
    }

    fn common_in_args(&self, req: &RenderRequest<'_>) -> Box<PropertySet> {
        let a = PropertySet::boxed();
        a.define(ofx!(kOfxPropTime), PropValue::Double(vec![req.time]));
        a.define(ofx!(kOfxImageEffectPropRenderScale), PropValue::Double(vec![req.render_scale.0, req.render_scale.1]));
        a.define(foundry::PROP_VIEW, PropValue::Int(vec![0]));
        a
    }

    /// Runs get-clip-preferences with host defaults for `req`, applies the answer to the clip
    /// instances and returns it.
    pub fn get_clip_preferences(&self, req: &RenderRequest<'_>) -> Result<ClipPreferences> {
        let outs = PropertySet::boxed();
        let depth = req.output_depth.ofx_name();
        for name in self.clip_names() {
            let comps = self.default_components(&name, req);
            outs.define(&format!("OfxImageClipPropComponents_{name}"), PropValue::str(comps));
            outs.define(&format!("OfxImageClipPropDepth_{name}"), PropValue::str(depth));
            outs.define(&format!("OfxImageClipPropPAR_{name}"), PropValue::Double(vec![1.0]));
        }
        let premult = req.premultiplication.ofx_name();
        outs.define(ofx!(kOfxImageEffectPropFrameRate), PropValue::Double(vec![req.frame_rate]));
        outs.define(ofx!(kOfxImageClipPropFieldOrder), PropValue::str(ofx!(kOfxImageFieldNone)));
        outs.define(ofx!(kOfxImageEffectPropPreMultiplication), PropValue::str(premult));
        outs.define(ofx!(kOfxImageClipPropContinuousSamples), PropValue::Int(vec![0]));
        outs.define(ofx!(kOfxImageEffectFrameVarying), PropValue::Int(vec![0]));
        let action = ofx!(kOfxImageEffectActionGetClipPreferences);
        check(action, self.action(action, None, Some(&outs)))?;
        let mut clips = Vec::new();
        for name in self.clip_names() {
            let comps = outs.string(&format!("OfxImageClipPropComponents_{name}")).unwrap_or_default();
            let d = outs.string(&format!("OfxImageClipPropDepth_{name}")).unwrap_or_default();
            let par = outs.double(&format!("OfxImageClipPropPAR_{name}")).unwrap_or(1.0);
            if Components::from_ofx(&comps).is_none() {
                return Err(HostError::Action { action: format!("{action} (components {comps:?} of clip {name})"), status: status::ERR_VALUE });
            }
            if Depth::from_ofx(&d).is_none() {
                return Err(HostError::Action { action: format!("{action} (depth {d:?} of clip {name})"), status: status::ERR_VALUE });
            }
            if let Some(c) = self.effect.clip(&name) {
                c.props.set(ofx!(kOfxImageEffectPropComponents), PropValue::str(&comps));
                c.props.set(ofx!(kOfxImageEffectPropPixelDepth), PropValue::str(&d));
                c.props.set(ofx!(kOfxImagePropPixelAspectRatio), PropValue::Double(vec![par]));
            }
            clips.push((name, comps, d, par));
        }
        let prefs = ClipPreferences {
            clips,
            premultiplication: outs.string(ofx!(kOfxImageEffectPropPreMultiplication)).unwrap_or_else(|| premult.to_owned()),
            field_order: outs.string(ofx!(kOfxImageClipPropFieldOrder)).unwrap_or_default(),
            frame_rate: outs.double(ofx!(kOfxImageEffectPropFrameRate)).unwrap_or(req.frame_rate),
            continuous_samples: outs.int(ofx!(kOfxImageClipPropContinuousSamples)) == Some(1),
            frame_varying: outs.int(ofx!(kOfxImageEffectFrameVarying)) == Some(1),
        };
        if let Some(out) = self.effect.clip(ofx!(kOfxImageEffectOutputClipName)) {
            out.props.set(ofx!(kOfxImageEffectPropPreMultiplication), PropValue::str(&prefs.premultiplication));
            out.props.set(ofx!(kOfxImageEffectPropFrameRate), PropValue::Double(vec![prefs.frame_rate]));
        }
        Ok(prefs)
    }

    /// The host's default components for a clip: the request's output components for the output,
    /// the frame's own components for inputs, moved to one the clip supports.
    fn default_components(&self, clip: &str, req: &RenderRequest<'_>) -> &'static str {
        let wanted = if clip == ofx!(kOfxImageEffectOutputClipName) {
            req.output_components
        } else {
            self.effect
                .clip(clip)
                .and_then(|c| c.props.string(ofx!(kOfxImageClipPropUnmappedComponents)))
                .and_then(|s| Components::from_ofx(&s))
                .unwrap_or(req.output_components)
        };
        let supported = self
            .effect
            .clip(clip)
            .and_then(|c| c.props.strings(ofx!(kOfxImageEffectPropSupportedComponents)))
            .unwrap_or_default();
        let lax = !self.bundle.config().map_to_supported_components;
        let ok = |c: Components| lax || supported.is_empty() || supported.iter().any(|s| s == c.ofx_name());
        [wanted, Components::Rgba, Components::Rgb, Components::Alpha]
            .into_iter()
            .find(|c| ok(*c))
            .unwrap_or(wanted)
            .ofx_name()
    }

    /// Runs get-region-of-definition; `default_rod` is what the host uses when the plug-in does not
    /// trap the action (the source's RoD for filters). Canonical coordinates.
    pub(crate) fn region_of_definition(&self, req: &RenderRequest<'_>, default_rod: [f64; 4]) -> Result<[f64; 4]> {
        let ins = self.common_in_args(req);
        let outs = PropertySet::boxed();
        outs.define(ofx!(kOfxImageEffectPropRegionOfDefinition), rect_d(default_rod));
        let action = ofx!(kOfxImageEffectActionGetRegionOfDefinition);
        let st = check(action, self.action(action, Some(&ins), Some(&outs)))?;
        if st == status::REPLY_DEFAULT {
            return Ok(default_rod);
        }
        Ok(four(outs.doubles(ofx!(kOfxImageEffectPropRegionOfDefinition))).unwrap_or(default_rod))
    }

    /// Runs get-regions-of-interest for a canonical `roi`; returns each input clip's RoI.
    pub(crate) fn regions_of_interest(&self, req: &RenderRequest<'_>, roi: [f64; 4]) -> Result<Vec<(String, [f64; 4])>> {
        let ins = self.common_in_args(req);
        ins.define(ofx!(kOfxImageEffectPropRegionOfInterest), rect_d(roi));
        let outs = PropertySet::boxed();
        let inputs = self.input_clip_names();
        for c in &inputs {
            outs.define(&format!("OfxImageClipPropRoI_{c}"), rect_d(roi));
        }
        let action = ofx!(kOfxImageEffectActionGetRegionsOfInterest);
        check(action, self.action(action, Some(&ins), Some(&outs)))?;
        Ok(inputs.into_iter().map(|c| {
            let r = four(outs.doubles(&format!("OfxImageClipPropRoI_{c}"))).unwrap_or(roi);
            (c, r)
        }).collect())
    }

    /// Runs get-frames-needed; returns each input clip's frame ranges.
    pub(crate) fn frames_needed(&self, req: &RenderRequest<'_>) -> Result<FramesNeeded> {
        let ins = PropertySet::boxed();
        ins.define(ofx!(kOfxPropTime), PropValue::Double(vec![req.time]));
        ins.define(foundry::PROP_VIEW, PropValue::Int(vec![0]));
        let outs = PropertySet::boxed();
        let inputs = self.input_clip_names();
        for c in &inputs {
            outs.define(&format!("OfxImageClipPropFrameRange_{c}"), PropValue::Double(vec![req.time, req.time]));
        }
        let action = ofx!(kOfxImageEffectActionGetFramesNeeded);
        check(action, self.action(action, Some(&ins), Some(&outs)))?;
        Ok(inputs
            .into_iter()
            .map(|c| {
                let v = outs.doubles(&format!("OfxImageClipPropFrameRange_{c}")).unwrap_or_default();
                let ranges = v.chunks_exact(2).map(|p| (p[0], p[1])).collect();
                (c, ranges)
            })
            .collect())
    }

    /// Runs is-identity for the pixel `window`.
    pub(crate) fn is_identity(&self, req: &RenderRequest<'_>, window: RectI) -> Result<Option<Identity>> {
        let ins = self.common_in_args(req);
        ins.define(ofx!(kOfxImageEffectPropFieldToRender), PropValue::str(ofx!(kOfxImageFieldNone)));
        ins.define(ofx!(kOfxImageEffectPropRenderWindow), rect_i(window));
        let outs = PropertySet::boxed();
        outs.define(ofx!(kOfxPropName), PropValue::str(""));
        outs.define(ofx!(kOfxPropTime), PropValue::Double(vec![req.time]));
        let action = ofx!(kOfxImageEffectActionIsIdentity);
        let st = check(action, self.action(action, Some(&ins), Some(&outs)))?;
        let clip = outs.string(ofx!(kOfxPropName)).unwrap_or_default();
        if st != status::OK || clip.is_empty() {
            return Ok(None);
        }
        Ok(Some(Identity { clip, time: outs.double(ofx!(kOfxPropTime)).unwrap_or(req.time) }))
    }

    /// Runs the Foundry get-clip-components action (multi-planar plug-ins).
    pub fn get_clip_components(&self, req: &RenderRequest<'_>) -> Result<ClipComponents> {
        let ins = PropertySet::boxed();
        ins.define(ofx!(kOfxPropTime), PropValue::Double(vec![req.time]));
        ins.define(foundry::PROP_VIEW, PropValue::Int(vec![0]));
        let outs = PropertySet::boxed();
        let names = self.clip_names();
        for c in &names {
            outs.define(&format!("{}{c}", foundry::NEEDED_COMP_PREFIX), PropValue::String(Vec::new()));
        }
        outs.define(foundry::PROP_PASS_THROUGH_CLIP, PropValue::str(""));
        outs.define(foundry::PROP_PASS_THROUGH_TIME, PropValue::Double(vec![req.time]));
        outs.define(foundry::PROP_PASS_THROUGH_VIEW, PropValue::Int(vec![0]));
        let action = foundry::ACTION_GET_CLIP_COMPONENTS;
        check(action, self.action(action, Some(&ins), Some(&outs)))?;
        Ok(ClipComponents {
            clips: names.into_iter().map(|c| {
                let planes = outs.strings(&format!("{}{c}", foundry::NEEDED_COMP_PREFIX)).unwrap_or_default();
                (c, planes)
            }).collect(),
            pass_through_clip: outs.string(foundry::PROP_PASS_THROUGH_CLIP).unwrap_or_default(),
            pass_through_time: outs.double(foundry::PROP_PASS_THROUGH_TIME).unwrap_or(req.time),
        })
    }

    /// In-args shared by begin/end sequence render.
    pub(crate) fn sequence_args(&self, req: &RenderRequest<'_>) -> Box<PropertySet> {
        let a = PropertySet::boxed();
        let (first, last) = req.sequence.unwrap_or((req.time, req.time));
        a.define(ofx!(kOfxImageEffectPropFrameRange), PropValue::Double(vec![first, last]));
        a.define(ofx!(kOfxImageEffectPropFrameStep), PropValue::Double(vec![1.0]));
        a.define(ofx!(kOfxPropIsInteractive), PropValue::Int(vec![i32::from(req.interactive)]));
        a.define(ofx!(kOfxImageEffectPropRenderScale), PropValue::Double(vec![req.render_scale.0, req.render_scale.1]));
        self.render_flags(&a, req);
        a
    }

    pub(crate) fn render_flags(&self, a: &PropertySet, req: &RenderRequest<'_>) {
        a.define(ofx!(kOfxImageEffectPropSequentialRenderStatus), PropValue::Int(vec![i32::from(req.sequential)]));
        a.define(ofx!(kOfxImageEffectPropInteractiveRenderStatus), PropValue::Int(vec![i32::from(req.interactive)]));
        a.define(ofx!(kOfxImageEffectPropRenderQualityDraft), PropValue::Int(vec![i32::from(req.draft)]));
        a.define(foundry::PROP_VIEW, PropValue::Int(vec![0]));
    }

    /// In-args of the render action.
    pub(crate) fn render_args(&self, req: &RenderRequest<'_>, window: RectI, planes: Option<&[String]>) -> Box<PropertySet> {
        let a = self.common_in_args(req);
        a.define(ofx!(kOfxImageEffectPropFieldToRender), PropValue::str(ofx!(kOfxImageFieldNone)));
        a.define(ofx!(kOfxImageEffectPropRenderWindow), rect_i(window));
        self.render_flags(&a, req);
        if let Some(planes) = planes {
            a.define(foundry::PROP_RENDER_PLANES, PropValue::String(planes.to_vec()));
        }
        a
    }
}
