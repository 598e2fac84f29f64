//! Rust snapshots of what a plug-in declared in describe / describe-in-context.

use crate::handles::ofx;
use crate::objects::{ClipObj, EffectObj, ParamObj};
use crate::params::{ParamType, Value};
use crate::props::{PropSnapshot, PropValue};

/// An image effect context the host can instantiate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    Filter,
    General,
}

impl Context {
    /// The `kOfxImageEffectContext…` string.
    pub fn ofx_name(self) -> &'static str {
        match self {
            Context::Filter => ofx!(kOfxImageEffectContextFilter),
            Context::General => ofx!(kOfxImageEffectContextGeneral),
        }
    }

    /// Parses `filter`/`general` or the OFX context strings.
    pub fn parse(s: &str) -> Option<Context> {
        match s {
            "filter" => Some(Context::Filter),
            "general" => Some(Context::General),
            x if x == Context::Filter.ofx_name() => Some(Context::Filter),
            x if x == Context::General.ofx_name() => Some(Context::General),
            _ => None,
        }
    }
}

/// Everything the plug-in declared for one context.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectDescription {
    pub plugin_id: String,
    pub version: (u32, u32),
    pub context: Context,
    /// The effect descriptor's properties after describe-in-context.
    pub props: PropSnapshot,
    pub clips: Vec<ClipDescription>,
    /// Every parameter, in definition order (pages and groups included).
    pub params: Vec<ParamDescription>,
}

impl EffectDescription {
    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&ParamDescription> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The clip called `name`.
    pub fn clip(&self, name: &str) -> Option<&ClipDescription> {
        self.clips.iter().find(|c| c.name == name)
    }

    /// True when the plug-in declared `kFnOfxImageEffectPropMultiPlanar = 1`.
    pub fn multi_planar(&self) -> bool {
        self.props.int(crate::handles::foundry::PROP_MULTI_PLANAR) == Some(1)
    }
}

/// A clip descriptor.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipDescription {
    pub name: String,
    pub supported_components: Vec<String>,
    pub optional: bool,
    pub is_mask: bool,
    pub temporal_access: bool,
    pub props: PropSnapshot,
}

impl ClipDescription {
    pub(crate) fn of(c: &ClipObj) -> ClipDescription {
        let props = c.props.snapshot();
        ClipDescription {
            name: c.name.clone(),
            supported_components: props.strings(ofx!(kOfxImageEffectPropSupportedComponents)).map(<[String]>::to_vec).unwrap_or_default(),
            optional: props.int(ofx!(kOfxImageClipPropOptional)) == Some(1),
            is_mask: props.int(ofx!(kOfxImageClipPropIsMask)) == Some(1),
            temporal_access: props.int(ofx!(kOfxImageEffectPropTemporalClipAccess)) == Some(1),
            props,
        }
    }
}

/// A parameter descriptor.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDescription {
    pub name: String,
    pub param_type: ParamType,
    pub script_name: String,
    pub label: String,
    pub hint: String,
    /// The parent group's name ("" at top level).
    pub parent: String,
    /// `kOfxParamPropDefault` as a value of the parameter's type (`Value::None` for valueless types).
    pub default: Value,
    pub min: Option<Value>,
    pub max: Option<Value>,
    pub display_min: Option<Value>,
    pub display_max: Option<Value>,
    pub animates: bool,
    pub secret: bool,
    pub enabled: bool,
    /// Choice options (`kOfxParamPropChoiceOption`).
    pub choice_options: Vec<String>,
    /// Children of a page (`kOfxParamPropPageChild`).
    pub page_children: Vec<String>,
    /// Every property, for anything not lifted into a field.
    pub props: PropSnapshot,
}

/// Reads a numeric/string property as a value of `ty`.
pub(crate) fn prop_value(props: &PropSnapshot, name: &str, ty: ParamType) -> Option<Value> {
    match props.get(name)? {
        PropValue::Int(v) => Value::from_numbers(ty, &v.iter().map(|x| f64::from(*x)).collect::<Vec<_>>()),
        PropValue::Double(v) => Value::from_numbers(ty, v),
        PropValue::String(v) if matches!(ty, ParamType::String | ParamType::Custom) => v.first().map(|s| Value::String(s.clone())),
        _ => None,
    }
}

impl ParamDescription {
    pub(crate) fn of(p: &ParamObj) -> ParamDescription {
        let props = p.props.snapshot();
        let s = |k: &str| props.string(k).unwrap_or("").to_owned();
        let list = |k: &str| props.strings(k).map(<[String]>::to_vec).unwrap_or_default();
        let numeric = p.ty.has_value() && !matches!(p.ty, ParamType::String | ParamType::Custom | ParamType::Boolean);
        let bound = |k: &str| if numeric { prop_value(&props, k, p.ty) } else { None };
        ParamDescription {
            name: p.name.clone(),
            param_type: p.ty,
            script_name: s(ofx!(kOfxParamPropScriptName)),
            label: s(ofx!(kOfxPropLabel)),
            hint: s(ofx!(kOfxParamPropHint)),
            parent: s(ofx!(kOfxParamPropParent)),
            default: prop_value(&props, ofx!(kOfxParamPropDefault), p.ty).unwrap_or_else(|| p.ty.zero()),
            min: bound(ofx!(kOfxParamPropMin)),
            max: bound(ofx!(kOfxParamPropMax)),
            display_min: bound(ofx!(kOfxParamPropDisplayMin)),
            display_max: bound(ofx!(kOfxParamPropDisplayMax)),
            animates: props.int(ofx!(kOfxParamPropAnimates)) == Some(1),
            secret: props.int(ofx!(kOfxParamPropSecret)) == Some(1),
            enabled: props.int(ofx!(kOfxParamPropEnabled)) != Some(0),
            choice_options: list(ofx!(kOfxParamPropChoiceOption)),
            page_children: list(ofx!(kOfxParamPropPageChild)),
            props,
        }
    }
}

/// Snapshots a context descriptor.
pub(crate) fn describe_effect(e: &EffectObj, plugin_id: &str, version: (u32, u32), context: Context) -> EffectDescription {
    EffectDescription {
        plugin_id: plugin_id.to_owned(),
        version,
        context,
        props: e.props.snapshot(),
        clips: e.clip_list().into_iter().map(ClipDescription::of).collect(),
        params: e.param_set.param_list().into_iter().map(ParamDescription::of).collect(),
    }
}
