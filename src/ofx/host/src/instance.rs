//! Effect instances: creation, parameters, instance-changed, messages, generic actions.

use std::ffi::c_void;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::bundle::Bundle;
use crate::defaults;
use crate::describe::{prop_value, Context, ParamDescription};
use crate::error::{check, HostError, Result};
use crate::handles::ofx;
use crate::host::HostMessage;
use crate::objects::{ClipObj, EffectObj, ParamObj};
use crate::params::{Interpolation, ParamState, Value};
use crate::props::{PropSnapshot, PropValue, PropertySet};
use crate::suites::param::sync_animating_prop;

/// A live effect instance (`kOfxActionCreateInstance` … `kOfxActionDestroyInstance`).
pub struct Instance<'b> {
    pub(crate) bundle: &'b Bundle,
    pub(crate) effect: Box<EffectObj>,
    context: Context,
    /// Set between [`Instance::begin_sequence`] and [`Instance::end_sequence`]: renders then skip
    /// their own begin/end-sequence bracket.
    pub(crate) sequence_open: bool,
}

// SAFETY: the bundle is Sync (see lib.rs) and EffectObj is Send + Sync.
unsafe impl Send for Instance<'_> {}

impl Bundle {
    /// Creates an instance in `context` (describing the plug-in first if needed).
    pub fn create_instance(&self, context: Context) -> Result<Instance<'_>> {
        let effect = self.with_context_descriptor(context, |desc| build_instance(self, desc, context))?;
        let st = self.action(ofx!(kOfxActionCreateInstance), effect.handle() as *const c_void, None, None);
        // On failure the plug-in gets no destroy action, so the effect is just dropped.
        check(ofx!(kOfxActionCreateInstance), st)?;
        Ok(Instance { bundle: self, effect, context, sequence_open: false })
    }
}

/// Copies a context descriptor into a new instance (props, clips, params with default values).
fn build_instance(bundle: &Bundle, desc: &EffectObj, context: Context) -> Box<EffectObj> {
    let props = PropertySet::boxed_copy(&desc.props);
    defaults::effect_instance(&props, context.ofx_name());
    let effect = EffectObj::boxed(Arc::clone(bundle.shared()), props, true);
    let ptr: *const EffectObj = &*effect;
    {
        let mut clips = effect.clips.lock();
        for c in desc.clip_list() {
            let cp = PropertySet::boxed_copy(&c.props);
            let connected = c.name == ofx!(kOfxImageEffectSimpleSourceClipName) || c.name == ofx!(kOfxImageEffectOutputClipName);
            defaults::clip_instance(&cp, connected);
            clips.push(ClipObj::boxed(&c.name, cp, ptr));
        }
    }
    {
        let mut params = effect.param_set.params.lock();
        for p in desc.param_set.param_list() {
            let pp = PropertySet::boxed_copy(&p.props);
            let snap = pp.snapshot();
            let default = prop_value(&snap, ofx!(kOfxParamPropDefault), p.ty).unwrap_or_else(|| p.ty.zero());
            params.push(ParamObj::boxed(&p.name, p.ty, pp, ParamState::new(p.ty, default), ptr));
        }
    }
    effect
}

impl Instance<'_> {
    /// The context the instance was created in.
    pub fn context(&self) -> Context {
        self.context
    }

    /// The bundle the instance belongs to.
    pub fn bundle(&self) -> &Bundle {
        self.bundle
    }

    /// The instance's property set.
    pub fn props(&self) -> PropSnapshot {
        self.effect.props.snapshot()
    }

    /// The properties of the clip `name`.
    pub fn clip_props(&self, name: &str) -> Result<PropSnapshot> {
        self.effect.clip(name).map(|c| c.props.snapshot()).ok_or_else(|| HostError::NoClip(name.to_owned()))
    }

    /// Clip names in definition order.
    pub fn clip_names(&self) -> Vec<String> {
        self.effect.clip_list().iter().map(|c| c.name.clone()).collect()
    }

    /// Parameter names in definition order.
    pub fn param_names(&self) -> Vec<String> {
        self.effect.param_set.param_list().iter().map(|p| p.name.clone()).collect()
    }

    pub(crate) fn param_obj(&self, name: &str) -> Result<&ParamObj> {
        self.effect.param_set.param(name).ok_or_else(|| HostError::NoParam(name.to_owned()))
    }

    /// The parameter's descriptor-like snapshot, with the instance's current properties (e.g. choice
    /// options the plug-in changed at instance time).
    pub fn param_description(&self, name: &str) -> Result<ParamDescription> {
        Ok(ParamDescription::of(self.param_obj(name)?))
    }

    /// The instance parameter's properties.
    pub fn param_props(&self, name: &str) -> Result<PropSnapshot> {
        Ok(self.param_obj(name)?.props.snapshot())
    }

    /// Current choice options of a choice parameter (the plug-in may change them at instance time).
    pub fn choice_options(&self, name: &str) -> Result<Vec<String>> {
        let p = self.param_obj(name)?;
        Ok(p.props.strings(ofx!(kOfxParamPropChoiceOption)).unwrap_or_default())
    }

    /// The parameter's value at `time`.
    pub fn param_value_at(&self, name: &str, time: f64) -> Result<Value> {
        Ok(self.param_obj(name)?.state.lock().value_at(time))
    }

    /// The parameter's value at the instance's current time.
    pub fn param_value(&self, name: &str) -> Result<Value> {
        self.param_value_at(name, self.effect.current_time())
    }

    /// The parameter's full animation state.
    pub fn param_state(&self, name: &str) -> Result<ParamState> {
        Ok(self.param_obj(name)?.state.lock().clone())
    }

    /// Sets a constant value (removing any keys), then tells the plug-in
    /// (`kOfxActionInstanceChanged`, reason `kOfxChangeUserEdited`, bracketed by begin/end).
    pub fn set_param(&self, name: &str, value: Value) -> Result<()> {
        let p = self.param_obj(name)?;
        let v = coerce(p, &value)?;
        {
            let mut st = p.state.lock();
            st.keys.clear();
            st.constant = v;
            sync_animating_prop(p, &st);
        }
        self.param_changed(name)
    }

    /// Replaces the parameter's keys (and interpolation), then tells the plug-in.
    pub fn set_keys(&self, name: &str, keys: &[(f64, Value)], interpolation: Interpolation) -> Result<()> {
        let p = self.param_obj(name)?;
        let coerced = keys.iter().map(|(t, v)| Ok((*t, coerce(p, v)?))).collect::<Result<Vec<_>>>()?;
        {
            let mut st = p.state.lock();
            st.keys.clear();
            st.interpolation = interpolation;
            for (t, v) in coerced {
                st.set_key(t, v);
            }
            sync_animating_prop(p, &st);
        }
        self.param_changed(name)
    }

    /// Sends begin-instance-changed / instance-changed / end-instance-changed for a parameter the
    /// user edited.
    pub fn param_changed(&self, name: &str) -> Result<()> {
        self.instance_changed(ofx!(kOfxTypeParameter), name, ofx!(kOfxChangeUserEdited))
    }

    /// Sends the instance-changed bracket for `name` of type `kind` (`kOfxTypeParameter` or
    /// `kOfxTypeClip`) with `reason`.
    pub fn instance_changed(&self, kind: &str, name: &str, reason: &str) -> Result<()> {
        let time = self.effect.current_time();
        let bracket = PropertySet::boxed();
        bracket.define(ofx!(kOfxPropChangeReason), PropValue::str(reason));
        let begin = ofx!(kOfxActionBeginInstanceChanged);
        check(begin, self.action(begin, Some(&bracket), None))?;
        let args = PropertySet::boxed();
        args.define(ofx!(kOfxPropType), PropValue::str(kind));
        args.define(ofx!(kOfxPropName), PropValue::str(name));
        args.define(ofx!(kOfxPropChangeReason), PropValue::str(reason));
        args.define(ofx!(kOfxPropTime), PropValue::Double(vec![time]));
        args.define(ofx!(kOfxImageEffectPropRenderScale), PropValue::Double(vec![1.0, 1.0]));
        let changed = ofx!(kOfxActionInstanceChanged);
        let result = check(changed, self.action(changed, Some(&args), None));
        let end = ofx!(kOfxActionEndInstanceChanged);
        check(end, self.action(end, Some(&bracket), None))?;
        result.map(|_| ())
    }

    /// The time `paramGetValue` uses outside renders (renders set it to the render time).
    pub fn set_time(&self, time: f64) {
        self.effect.set_current_time(time);
    }

    /// The current time.
    pub fn time(&self) -> f64 {
        self.effect.current_time()
    }

    /// What the image effect suite's `abort()` answers from now on.
    pub fn set_abort(&self, abort: bool) {
        self.effect.abort.store(abort, Ordering::Relaxed);
    }

    /// Every message the plug-in posted on this instance, oldest first.
    pub fn messages(&self) -> Vec<HostMessage> {
        self.effect.messages.lock().clone()
    }

    /// Forgets the recorded messages (not the persistent one).
    pub fn clear_messages(&self) {
        self.effect.messages.lock().clear();
    }

    /// The persistent message currently set, if any.
    pub fn persistent_message(&self) -> Option<HostMessage> {
        self.effect.persistent.lock().clone()
    }

    /// Runs any action on the instance with the given in-args; returns the status and the out-args
    /// (pre-filled with `out_defaults`). For actions this crate has no dedicated method for.
    pub fn call_action(&self, action: &str, in_args: &[(&str, PropValue)], out_defaults: &[(&str, PropValue)]) -> (i32, PropSnapshot) {
        let ins = PropertySet::boxed();
        for (k, v) in in_args {
            ins.define(k, v.clone());
        }
        let outs = PropertySet::boxed();
        for (k, v) in out_defaults {
            outs.define(k, v.clone());
        }
        let st = self.action(action, Some(&ins), Some(&outs));
        (st, outs.snapshot())
    }

    pub(crate) fn action(&self, action: &str, in_args: Option<&PropertySet>, out_args: Option<&PropertySet>) -> i32 {
        self.bundle.action(action, self.effect.handle() as *const c_void, in_args, out_args)
    }
}

/// Converts a Rust value to the parameter's type, with a readable error.
fn coerce(p: &ParamObj, v: &Value) -> Result<Value> {
    if !p.ty.has_value() {
        return Err(HostError::BadValue { param: p.name.clone(), reason: format!("{} parameters have no value", p.ty.ofx_name()) });
    }
    v.coerce(p.ty).ok_or_else(|| HostError::BadValue { param: p.name.clone(), reason: format!("{v:?} does not fit a {}", p.ty.ofx_name()) })
}

impl Drop for Instance<'_> {
    fn drop(&mut self) {
        let _ = self.action(ofx!(kOfxActionDestroyInstance), None, None);
    }
}
