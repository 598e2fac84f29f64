//! Default properties the host defines on descriptors and instances before the plug-in sees them
//! (values from the "Default" lines of the OFX 1.4 property documentation).

use crate::handles::{foundry, ofx};
use crate::params::ParamType;
use crate::props::{PropValue, PropertySet};

fn int(v: i32) -> PropValue {
    PropValue::Int(vec![v])
}

fn dbl(v: f64) -> PropValue {
    PropValue::Double(vec![v])
}

fn empty_strings() -> PropValue {
    PropValue::String(Vec::new())
}

/// The image effect descriptor passed to `kOfxActionDescribe`.
pub(crate) fn effect_descriptor(p: &PropertySet, bundle_path: &str) {
    p.define(ofx!(kOfxPropType), PropValue::str(ofx!(kOfxTypeImageEffect)));
    for k in [ofx!(kOfxPropLabel), ofx!(kOfxPropShortLabel), ofx!(kOfxPropLongLabel), ofx!(kOfxPropPluginDescription)] {
        p.define(k, PropValue::str(""));
    }
    p.define(ofx!(kOfxPropVersion), PropValue::Int(vec![0]));
    p.define(ofx!(kOfxPropVersionLabel), PropValue::str(""));
    p.define(ofx!(kOfxImageEffectPropSupportedContexts), empty_strings());
    p.define(ofx!(kOfxImageEffectPluginPropGrouping), PropValue::str(""));
    p.define(ofx!(kOfxImageEffectPluginPropSingleInstance), int(0));
    p.define(ofx!(kOfxImageEffectPluginRenderThreadSafety), PropValue::str(ofx!(kOfxImageEffectRenderInstanceSafe)));
    p.define(ofx!(kOfxImageEffectPluginPropHostFrameThreading), int(1));
    p.define(ofx!(kOfxImageEffectPluginPropOverlayInteractV1), PropValue::Pointer(vec![0]));
    p.define(ofx!(kOfxImageEffectPropSupportsMultiResolution), int(1));
    p.define(ofx!(kOfxImageEffectPropSupportsTiles), int(1));
    p.define(ofx!(kOfxImageEffectPropTemporalClipAccess), int(0));
    p.define(ofx!(kOfxImageEffectPropSupportedPixelDepths), empty_strings());
    p.define(ofx!(kOfxImageEffectPluginPropFieldRenderTwiceAlways), int(1));
    p.define(ofx!(kOfxImageEffectPropSupportsMultipleClipDepths), int(0));
    p.define(ofx!(kOfxImageEffectPropSupportsMultipleClipPARs), int(0));
    p.define(ofx!(kOfxImageEffectPropClipPreferencesSlaveParam), empty_strings());
    p.define(ofx!(kOfxPluginPropFilePath), PropValue::str(bundle_path));
    p.define(ofx!(kOfxImageEffectPropOpenGLRenderSupported), PropValue::str("false"));
    p.define(foundry::PROP_MULTI_PLANAR, int(0));
    p.define(foundry::PROP_PASS_THROUGH_COMPONENTS, int(0));
    p.define(foundry::PROP_RENDER_ALL_PLANES, int(0));
}

/// Instance-only properties added to the copy of the context descriptor.
pub(crate) fn effect_instance(p: &PropertySet, context: &str) {
    p.define(ofx!(kOfxPropType), PropValue::str(ofx!(kOfxTypeImageEffectInstance)));
    p.define(ofx!(kOfxImageEffectPropContext), PropValue::str(context));
    p.define(ofx!(kOfxPropInstanceData), PropValue::Pointer(vec![0]));
    p.define(ofx!(kOfxPropIsInteractive), int(0));
    p.define(ofx!(kOfxImageEffectPropProjectSize), PropValue::Double(vec![1920.0, 1080.0]));
    p.define(ofx!(kOfxImageEffectPropProjectOffset), PropValue::Double(vec![0.0, 0.0]));
    p.define(ofx!(kOfxImageEffectPropProjectExtent), PropValue::Double(vec![1920.0, 1080.0]));
    p.define(ofx!(kOfxImageEffectPropProjectPixelAspectRatio), dbl(1.0));
    p.define(ofx!(kOfxImageEffectInstancePropEffectDuration), dbl(1.0));
    p.define(ofx!(kOfxImageEffectInstancePropSequentialRender), int(0));
    p.define(ofx!(kOfxImageEffectPropFrameRate), dbl(24.0));
    p.define(ofx!(kOfxImageEffectPropInAnalysis), int(0));
}

/// A clip descriptor created by `clipDefine`.
pub(crate) fn clip_descriptor(p: &PropertySet, name: &str) {
    p.define(ofx!(kOfxPropType), PropValue::str(ofx!(kOfxTypeClip)));
    p.define(ofx!(kOfxPropName), PropValue::str(name));
    for k in [ofx!(kOfxPropLabel), ofx!(kOfxPropShortLabel), ofx!(kOfxPropLongLabel)] {
        p.define(k, PropValue::str(name));
    }
    p.define(ofx!(kOfxImageEffectPropSupportedComponents), empty_strings());
    p.define(ofx!(kOfxImageEffectPropTemporalClipAccess), int(0));
    p.define(ofx!(kOfxImageClipPropOptional), int(0));
    p.define(ofx!(kOfxImageClipPropFieldExtraction), PropValue::str(ofx!(kOfxImageFieldDoubled)));
    p.define(ofx!(kOfxImageClipPropIsMask), int(0));
    p.define(ofx!(kOfxImageEffectPropSupportsTiles), int(1));
}

/// Instance-only clip properties; real values are set before each render.
pub(crate) fn clip_instance(p: &PropertySet, connected: bool) {
    let rgba = ofx!(kOfxImageComponentRGBA);
    let float = ofx!(kOfxBitDepthFloat);
    p.define(ofx!(kOfxImageEffectPropPixelDepth), PropValue::str(float));
    p.define(ofx!(kOfxImageEffectPropComponents), PropValue::str(rgba));
    p.define(ofx!(kOfxImageClipPropUnmappedPixelDepth), PropValue::str(float));
    p.define(ofx!(kOfxImageClipPropUnmappedComponents), PropValue::str(rgba));
    p.define(ofx!(kOfxImageEffectPropPreMultiplication), PropValue::str(ofx!(kOfxImageUnPreMultiplied)));
    p.define(ofx!(kOfxImagePropPixelAspectRatio), dbl(1.0));
    p.define(ofx!(kOfxImageEffectPropFrameRate), dbl(24.0));
    p.define(ofx!(kOfxImageEffectPropFrameRange), PropValue::Double(vec![0.0, 0.0]));
    p.define(ofx!(kOfxImageClipPropFieldOrder), PropValue::str(ofx!(kOfxImageFieldNone)));
    p.define(ofx!(kOfxImageClipPropConnected), int(i32::from(connected)));
    p.define(ofx!(kOfxImageEffectPropUnmappedFrameRange), PropValue::Double(vec![0.0, 0.0]));
    p.define(ofx!(kOfxImageEffectPropUnmappedFrameRate), dbl(24.0));
    p.define(ofx!(kOfxImageClipPropContinuousSamples), int(0));
    p.define(foundry::PROP_COMPONENTS_PRESENT, PropValue::strs(&[foundry::PLANE_COLOUR]));
}

/// A parameter descriptor created by `paramDefine`.
pub(crate) fn param_descriptor(p: &PropertySet, ty: ParamType, name: &str) {
    p.define(ofx!(kOfxPropType), PropValue::str(ofx!(kOfxTypeParameter)));
    p.define(ofx!(kOfxPropName), PropValue::str(name));
    for k in [ofx!(kOfxPropLabel), ofx!(kOfxPropShortLabel), ofx!(kOfxPropLongLabel)] {
        p.define(k, PropValue::str(name));
    }
    p.define(ofx!(kOfxParamPropType), PropValue::str(ty.ofx_name()));
    p.define(ofx!(kOfxParamPropSecret), int(0));
    p.define(ofx!(kOfxParamPropHint), PropValue::str(""));
    p.define(ofx!(kOfxParamPropScriptName), PropValue::str(name));
    p.define(ofx!(kOfxParamPropParent), PropValue::str(""));
    p.define(ofx!(kOfxParamPropEnabled), int(1));
    p.define(ofx!(kOfxParamPropDataPtr), PropValue::Pointer(vec![0]));
    p.define(ofx!(kOfxPropIcon), PropValue::strs(&["", ""]));
    match ty {
        ParamType::Group => {
            p.define(ofx!(kOfxParamPropGroupOpen), int(1));
            return;
        }
        ParamType::Page => {
            p.define(ofx!(kOfxParamPropPageChild), empty_strings());
            return;
        }
        _ => {}
    }
    p.define(ofx!(kOfxParamPropInteractV1), PropValue::Pointer(vec![0]));
    p.define(ofx!(kOfxParamPropInteractSize), PropValue::Double(vec![0.0, 0.0]));
    p.define(ofx!(kOfxParamPropInteractSizeAspect), dbl(1.0));
    p.define(ofx!(kOfxParamPropInteractMinimumSize), PropValue::Int(vec![10, 10]));
    p.define(ofx!(kOfxParamPropInteractPreferedSize), PropValue::Int(vec![10, 10]));
    p.define(ofx!(kOfxParamPropHasHostOverlayHandle), int(0));
    p.define(ofx!(kOfxParamPropUseHostOverlayHandle), int(0));
    if ty == ParamType::PushButton {
        return;
    }
    let animates = ty.interpolates();
    p.define(ofx!(kOfxParamPropAnimates), int(i32::from(animates)));
    p.define(ofx!(kOfxParamPropIsAnimating), int(0));
    p.define(ofx!(kOfxParamPropIsAutoKeying), int(0));
    p.define(ofx!(kOfxParamPropPersistent), int(1));
    p.define(ofx!(kOfxParamPropEvaluateOnChange), int(1));
    p.define(ofx!(kOfxParamPropPluginMayWrite), int(0));
    p.define(ofx!(kOfxParamPropCanUndo), int(1));
    p.define(ofx!(kOfxParamPropCacheInvalidation), PropValue::str(ofx!(kOfxParamInvalidateValueChange)));
    let (_, n) = ty.shape();
    match ty {
        ParamType::Integer | ParamType::Integer2D | ParamType::Integer3D => {
            p.define(ofx!(kOfxParamPropDefault), PropValue::Int(vec![0; n]));
            p.define(ofx!(kOfxParamPropMin), PropValue::Int(vec![i32::MIN; n]));
            p.define(ofx!(kOfxParamPropMax), PropValue::Int(vec![i32::MAX; n]));
            p.define(ofx!(kOfxParamPropDisplayMin), PropValue::Int(vec![i32::MIN; n]));
            p.define(ofx!(kOfxParamPropDisplayMax), PropValue::Int(vec![i32::MAX; n]));
        }
        ParamType::Double | ParamType::Double2D | ParamType::Double3D | ParamType::Rgb | ParamType::Rgba => {
            let (lo, hi) = if matches!(ty, ParamType::Rgb | ParamType::Rgba) { (0.0, 1.0) } else { (-f64::MAX, f64::MAX) };
            p.define(ofx!(kOfxParamPropDefault), PropValue::Double(vec![0.0; n]));
            p.define(ofx!(kOfxParamPropMin), PropValue::Double(vec![-f64::MAX; n]));
            p.define(ofx!(kOfxParamPropMax), PropValue::Double(vec![f64::MAX; n]));
            p.define(ofx!(kOfxParamPropDisplayMin), PropValue::Double(vec![lo; n]));
            p.define(ofx!(kOfxParamPropDisplayMax), PropValue::Double(vec![hi; n]));
            p.define(ofx!(kOfxParamPropIncrement), dbl(1.0));
            p.define(ofx!(kOfxParamPropDigits), int(2));
            if !matches!(ty, ParamType::Rgb | ParamType::Rgba) {
                p.define(ofx!(kOfxParamPropDoubleType), PropValue::str(ofx!(kOfxParamDoubleTypePlain)));
                p.define(ofx!(kOfxParamPropDefaultCoordinateSystem), PropValue::str(ofx!(kOfxParamCoordinatesCanonical)));
            }
            if ty == ParamType::Double {
                p.define(ofx!(kOfxParamPropShowTimeMarker), int(0));
            }
        }
        ParamType::Boolean => p.define(ofx!(kOfxParamPropDefault), int(0)),
        ParamType::Choice => {
            p.define(ofx!(kOfxParamPropDefault), int(0));
            p.define(ofx!(kOfxParamPropChoiceOption), empty_strings());
        }
        ParamType::String => {
            p.define(ofx!(kOfxParamPropDefault), PropValue::str(""));
            p.define(ofx!(kOfxParamPropStringMode), PropValue::str(ofx!(kOfxParamStringIsSingleLine)));
            p.define(ofx!(kOfxParamPropStringFilePathExists), int(1));
        }
        ParamType::Custom => {
            p.define(ofx!(kOfxParamPropDefault), PropValue::str(""));
            p.define(ofx!(kOfxParamPropCustomInterpCallbackV1), PropValue::Pointer(vec![0]));
        }
        ParamType::Group | ParamType::Page | ParamType::PushButton => {}
    }
    let labels: &[&str] = match ty {
        ParamType::Double2D | ParamType::Integer2D => &["x", "y"],
        ParamType::Double3D | ParamType::Integer3D => &["x", "y", "z"],
        ParamType::Rgb => &["r", "g", "b"],
        ParamType::Rgba => &["r", "g", "b", "a"],
        _ => &[],
    };
    if !labels.is_empty() {
        p.define(ofx!(kOfxParamPropDimensionLabel), PropValue::strs(labels));
    }
}
