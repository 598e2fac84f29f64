//! The Describe and DescribeInContext actions: what the node declares to the host.

use super::error::NodeError;
use super::ids;
use super::params::{self, DoubleKind, Kind, ParamSpec, GROUPS, PARAMS};
use crate::ofx::clip::Effect;
use crate::ofx::plane_suite as planes;
use crate::ofx::props::PropSet;
use crate::ofx::sys;
use crate::ofx::{suites, text};

/// Effect-level properties, shared by every context.
pub fn describe(effect: Effect) -> Result<(), NodeError> {
    let p = effect.props()?;
    p.set_string(sys::kOfxPropLabel, 0, ids::LABEL)?;
    p.set_string(sys::kOfxImageEffectPluginPropGrouping, 0, ids::GROUPING)?;
    p.set_string(sys::kOfxPropPluginDescription, 0, ids::DESCRIPTION)?;
    p.set_strings(
        sys::kOfxImageEffectPropSupportedContexts,
        &[text(sys::kOfxImageEffectContextFilter), text(sys::kOfxImageEffectContextGeneral)],
    )?;
    p.set_strings(
        sys::kOfxImageEffectPropSupportedPixelDepths,
        &[text(sys::kOfxBitDepthByte), text(sys::kOfxBitDepthShort), text(sys::kOfxBitDepthFloat)],
    )?;
    p.set_int(sys::kOfxImageEffectPropSupportsMultipleClipDepths, 0, 0)?;
    p.set_int(sys::kOfxImageEffectPluginPropSingleInstance, 0, 0)?;
    p.set_int(sys::kOfxImageEffectPluginPropHostFrameThreading, 0, 0)?;
    // Fully safe: instances share models through a locked cache and keep no per-render state, so the host may
    // render several frames of one instance at once.
    p.set_string(sys::kOfxImageEffectPluginRenderThreadSafety, 0, text(sys::kOfxImageEffectRenderFullySafe))?;
    // Render scale is honoured (proxy renders): sizes in pixels are scaled, the networks see the scaled frame.
    p.set_int(sys::kOfxImageEffectPropSupportsMultiResolution, 0, 1)?;
    // No tiles: face detection needs the whole frame, and recomputing it per tile would multiply the cost.
    // A smaller render window is still honoured (only that window is written).
    p.set_int(sys::kOfxImageEffectPropSupportsTiles, 0, 0)?;
    // Temporal smoothing reads neighbouring source frames.
    p.set_int(sys::kOfxImageEffectPropTemporalClipAccess, 0, 1)?;
    if host_is_multi_planar() {
        // Natron/Nuke multi-plane: we add the FaceMask plane and let the host pass every other plane through.
        p.set_int(planes::PROP_MULTI_PLANAR, 0, 1)?;
        p.set_int(planes::PROP_PASS_THROUGH_COMPONENTS, 0, 1)?;
        p.set_int(planes::PROP_RENDER_ALL_PLANES, 0, 1)?;
    }
    Ok(())
}

/// True when the host says it can do multi-plane effects and provides the plane suite.
pub fn host_is_multi_planar() -> bool {
    let Ok(s) = suites::get() else { return false };
    s.plane.is_some() && s.host_props().get_int(planes::PROP_MULTI_PLANAR, 0).map(|v| v != 0).unwrap_or(false)
}

/// Clips and parameters for one context (filter or general: same set).
pub fn describe_in_context(effect: Effect) -> Result<(), NodeError> {
    let comps = [text(sys::kOfxImageComponentRGBA), text(sys::kOfxImageComponentRGB)];
    let source = effect.define_clip(ids::CLIP_SOURCE)?;
    source.set_strings(sys::kOfxImageEffectPropSupportedComponents, &comps)?;
    source.set_int(sys::kOfxImageEffectPropTemporalClipAccess, 0, 1)?;
    source.set_int(sys::kOfxImageEffectPropSupportsTiles, 0, 0)?;
    source.set_int(sys::kOfxImageClipPropOptional, 0, 0)?;
    let output = effect.define_clip(ids::CLIP_OUTPUT)?;
    output.set_strings(sys::kOfxImageEffectPropSupportedComponents, &comps)?;
    output.set_int(sys::kOfxImageEffectPropSupportsTiles, 0, 0)?;
    define_params(effect)
}

fn define_params(effect: Effect) -> Result<(), NodeError> {
    let set = effect.params()?;
    for g in GROUPS.iter() {
        let p = set.define(sys::kOfxParamTypeGroup, g.name)?;
        p.set_string(sys::kOfxPropLabel, 0, g.label)?;
        p.set_string(sys::kOfxParamPropHint, 0, g.hint)?;
        p.set_int(sys::kOfxParamPropGroupOpen, 0, 1)?;
    }
    for spec in PARAMS.iter() {
        define_param(&set, spec)?;
    }
    let page = set.define(sys::kOfxParamTypePage, params::PAGE)?;
    page.set_string(sys::kOfxPropLabel, 0, params::PAGE_LABEL)?;
    let children: Vec<&str> = GROUPS.iter().map(|g| g.name).chain(PARAMS.iter().map(|p| p.name)).collect();
    page.set_strings(sys::kOfxParamPropPageChild, &children)?;
    Ok(())
}

fn define_param(set: &crate::ofx::param::ParamSet, spec: &ParamSpec) -> Result<(), NodeError> {
    let ofx_type: &'static [u8] = match spec.kind {
        Kind::FilePath { .. } | Kind::HiddenString { .. } => sys::kOfxParamTypeString,
        Kind::Choice { .. } => sys::kOfxParamTypeChoice,
        Kind::Bool { .. } => sys::kOfxParamTypeBoolean,
        Kind::Int { .. } => sys::kOfxParamTypeInteger,
        Kind::Double { .. } => sys::kOfxParamTypeDouble,
        Kind::Point { .. } => sys::kOfxParamTypeDouble2D,
    };
    let p: PropSet = set.define(ofx_type, spec.name)?;
    p.set_string(sys::kOfxPropLabel, 0, spec.label)?;
    p.set_string(sys::kOfxParamPropHint, 0, spec.hint)?;
    p.set_string(sys::kOfxParamPropScriptName, 0, spec.name)?;
    p.set_string(sys::kOfxParamPropParent, 0, spec.group.name)?;
    p.set_int(sys::kOfxParamPropAnimates, 0, spec.animates as i32)?;
    match spec.kind {
        Kind::FilePath { default } => {
            p.set_string(sys::kOfxParamPropStringMode, 0, text(sys::kOfxParamStringIsFilePath))?;
            p.set_int(sys::kOfxParamPropStringFilePathExists, 0, 1)?;
            p.set_string(sys::kOfxParamPropDefault, 0, default)?;
        }
        Kind::HiddenString { default } => {
            p.set_string(sys::kOfxParamPropStringMode, 0, text(sys::kOfxParamStringIsSingleLine))?;
            p.set_int(sys::kOfxParamPropSecret, 0, 1)?;
            p.set_string(sys::kOfxParamPropDefault, 0, default)?;
        }
        Kind::Choice { options, default } => {
            let labels: Vec<&str> = options.iter().map(|o| o.label).collect();
            p.set_strings(sys::kOfxParamPropChoiceOption, &labels)?;
            p.set_int(sys::kOfxParamPropDefault, 0, default as i32)?;
        }
        Kind::Bool { default } => p.set_int(sys::kOfxParamPropDefault, 0, default as i32)?,
        Kind::Int { default, min, max, display_max } => {
            p.set_int(sys::kOfxParamPropDefault, 0, default)?;
            p.set_int(sys::kOfxParamPropMin, 0, min)?;
            p.set_int(sys::kOfxParamPropMax, 0, max)?;
            p.set_int(sys::kOfxParamPropDisplayMin, 0, min)?;
            p.set_int(sys::kOfxParamPropDisplayMax, 0, display_max)?;
        }
        Kind::Double { default, min, max, display_min, display_max, kind } => {
            p.set_string(sys::kOfxParamPropDoubleType, 0, text(sys::kOfxParamDoubleTypePlain))?;
            p.set_double(sys::kOfxParamPropDefault, 0, default)?;
            p.set_double(sys::kOfxParamPropMin, 0, min)?;
            p.set_double(sys::kOfxParamPropMax, 0, max)?;
            p.set_double(sys::kOfxParamPropDisplayMin, 0, display_min)?;
            p.set_double(sys::kOfxParamPropDisplayMax, 0, display_max)?;
            // Pixel sizes step by whole pixels in the UI; strengths by hundredths.
            let increment = if kind == DoubleKind::PixelSize { 1.0 } else { 0.01 };
            p.set_double(sys::kOfxParamPropIncrement, 0, increment)?;
        }
        Kind::Point { default } => {
            // An absolute XY position with an on-screen handle; the default is given in normalised
            // coordinates (frame centre) and hosts return values in canonical pixels.
            p.set_string(sys::kOfxParamPropDoubleType, 0, text(sys::kOfxParamDoubleTypeXYAbsolute))?;
            p.set_string(sys::kOfxParamPropDefaultCoordinateSystem, 0, text(sys::kOfxParamCoordinatesNormalised))?;
            p.set_doubles(sys::kOfxParamPropDefault, &[default.0, default.1])?;
        }
    }
    Ok(())
}
