//! The parameter suite (`OfxParameterSuiteV1`). The six variadic entry points are implemented in
//! `csrc/varargs.c`, which calls back into [`param_shape`], [`param_get`] and [`param_set`] here.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::sync::LazyLock;

use parking_lot::Mutex;

use crate::defaults;
use crate::handles::{self, c_str, guard, ofx, status, OfxStatus};
use crate::objects::{ParamObj, ParamSetObj};
use crate::params::{ParamState, ParamType, Value, ValueKind};
use crate::props::PropertySet;
use crate::suites::varargs;

/// Get operations, as numbered in `csrc/varargs.c`.
pub(crate) const OP_VALUE: c_int = 0;
pub(crate) const OP_VALUE_AT_TIME: c_int = 1;
pub(crate) const OP_DERIVATIVE: c_int = 2;
pub(crate) const OP_INTEGRAL: c_int = 3;

/// Strings returned by `paramGetValue` for string parameters, interned per content so the pointer
/// stays valid for the life of the host process while memory stays bounded by distinct values.
static RETURNED_STRINGS: LazyLock<Mutex<HashMap<String, CString>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn intern(s: &str) -> *const c_char {
    let mut map = RETURNED_STRINGS.lock();
    let entry = map.entry(s.to_owned()).or_insert_with(|| CString::new(s.replace('\0', "")).unwrap_or_default());
    entry.as_ptr()
}

unsafe fn param<'a>(h: *const c_void) -> Result<&'a ParamObj, OfxStatus> {
    unsafe { ParamObj::from_handle(h) }.ok_or(status::ERR_BAD_HANDLE)
}

/// Reports the kind and count of a parameter's varargs (count 0 for valueless types).
pub(crate) unsafe extern "C" fn param_shape(h: *mut c_void, kind: *mut c_int, count: *mut c_int) -> OfxStatus {
    guard(status::ERR_BAD_HANDLE, || {
        let p = match unsafe { param(h) } {
            Ok(p) => p,
            Err(st) => return st,
        };
        if kind.is_null() || count.is_null() {
            return status::FAILED;
        }
        let (k, n) = p.ty.shape();
        // SAFETY: checked non-null; slots provided by the C shim.
        unsafe {
            *kind = k as c_int;
            *count = n as c_int;
        }
        status::OK
    })
}

/// Fills the out-pointers read by the C shim.
pub(crate) unsafe extern "C" fn param_get(h: *mut c_void, op: c_int, t1: f64, t2: f64, kind: c_int, count: c_int, out: *mut *mut c_void) -> OfxStatus {
    guard(status::FAILED, || {
        let p = match unsafe { param(h) } {
            Ok(p) => p,
            Err(st) => return st,
        };
        let (k, n) = p.ty.shape();
        if out.is_null() || kind != k as c_int || count != n as c_int || n == 0 {
            return status::ERR_UNSUPPORTED;
        }
        // SAFETY: the shim passes `count` non-null pointers of the kind it was told.
        let outs = unsafe { std::slice::from_raw_parts(out, n) };
        let state = p.state.lock();
        let numbers = match op {
            OP_VALUE | OP_VALUE_AT_TIME => {
                let t = if op == OP_VALUE { p.effect().current_time() } else { t1 };
                let v = state.value_at(t);
                if let Value::String(s) = &v {
                    unsafe { *(outs[0] as *mut *const c_char) = intern(s) };
                    return status::OK;
                }
                v.numbers()
            }
            OP_DERIVATIVE if k == ValueKind::Double => state.derivative_at(t1),
            OP_INTEGRAL if k == ValueKind::Double => state.integral(t1, t2),
            _ => return status::ERR_UNSUPPORTED,
        };
        if numbers.len() != n {
            return status::FAILED;
        }
        for (slot, v) in outs.iter().zip(numbers) {
            // SAFETY: typed per the kind reported by `param_shape`.
            unsafe {
                match k {
                    ValueKind::Int => *(*slot as *mut c_int) = v as c_int,
                    ValueKind::Double => *(*slot as *mut f64) = v,
                    ValueKind::String => return status::FAILED,
                }
            }
        }
        status::OK
    })
}

/// Stores a value read by the C shim, as a key when `at_time` (or when the parameter is animated).
#[allow(clippy::too_many_arguments)] // mirrors the C callback signature
pub(crate) unsafe extern "C" fn param_set(
    h: *mut c_void,
    at_time: c_int,
    time: f64,
    kind: c_int,
    count: c_int,
    ints: *const c_int,
    doubles: *const f64,
    string: *const c_char,
) -> OfxStatus {
    guard(status::FAILED, || {
        let p = match unsafe { param(h) } {
            Ok(p) => p,
            Err(st) => return st,
        };
        let (k, n) = p.ty.shape();
        if kind != k as c_int || n == 0 {
            return status::ERR_UNSUPPORTED;
        }
        let value = match k {
            ValueKind::String => match unsafe { c_str(string) } {
                Some(s) => Value::String(s.to_owned()),
                None => return status::ERR_VALUE,
            },
            ValueKind::Int | ValueKind::Double => {
                if count != n as c_int || (k == ValueKind::Int && ints.is_null()) || (k == ValueKind::Double && doubles.is_null()) {
                    return status::ERR_VALUE;
                }
                // SAFETY: the shim passes arrays of at least `count` elements.
                let nums: Vec<f64> = unsafe {
                    if k == ValueKind::Int {
                        std::slice::from_raw_parts(ints, n).iter().map(|i| f64::from(*i)).collect()
                    } else {
                        std::slice::from_raw_parts(doubles, n).to_vec()
                    }
                };
                match Value::from_numbers(p.ty, &nums) {
                    Some(v) => v,
                    None => return status::ERR_VALUE,
                }
            }
        };
        let mut state = p.state.lock();
        if at_time != 0 {
            state.set_key(time, value);
        } else if !state.keys.is_empty() {
            state.set_key(p.effect().current_time(), value);
        } else {
            state.constant = value;
        }
        sync_animating_prop(p, &state);
        status::OK
    })
}

/// Keeps `kOfxParamPropIsAnimating` in step with the keys.
pub(crate) fn sync_animating_prop(p: &ParamObj, state: &ParamState) {
    if p.props.contains(ofx!(kOfxParamPropIsAnimating)) {
        p.props.set(ofx!(kOfxParamPropIsAnimating), crate::props::PropValue::Int(vec![i32::from(!state.keys.is_empty())]));
    }
}

unsafe extern "C" fn param_define(set: ofx_sys::OfxParamSetHandle, ty: *const c_char, name: *const c_char, props: *mut ofx_sys::OfxPropertySetHandle) -> OfxStatus {
    guard(status::FAILED, || {
        let Some(set) = (unsafe { ParamSetObj::from_handle(set as *const c_void) }) else { return status::ERR_BAD_HANDLE };
        let (Some(ty_str), Some(name)) = (unsafe { c_str(ty) }, unsafe { c_str(name) }) else { return status::ERR_UNKNOWN };
        let Some(ty) = ParamType::from_ofx(ty_str) else {
            // Known OFX types this host does not implement are "unsupported", others "unknown".
            return if ty_str == ofx!(kOfxParamTypeParametric) || ty_str.starts_with("OfxParamType") {
                status::ERR_UNSUPPORTED
            } else {
                status::ERR_UNKNOWN
            };
        };
        let mut params = set.params.lock();
        if params.iter().any(|p| p.name == name) {
            return status::ERR_EXISTS;
        }
        let pset = PropertySet::boxed();
        defaults::param_descriptor(&pset, ty, name);
        let obj = ParamObj::boxed(name, ty, pset, ParamState::new(ty, ty.zero()), set.effect);
        if !props.is_null() {
            // SAFETY: checked non-null.
            unsafe { *props = obj.props.handle() };
        }
        params.push(obj);
        status::OK
    })
}

unsafe extern "C" fn param_get_handle(
    set: ofx_sys::OfxParamSetHandle,
    name: *const c_char,
    out: *mut ofx_sys::OfxParamHandle,
    props: *mut ofx_sys::OfxPropertySetHandle,
) -> OfxStatus {
    guard(status::FAILED, || {
        let Some(set) = (unsafe { ParamSetObj::from_handle(set as *const c_void) }) else { return status::ERR_BAD_HANDLE };
        let Some(name) = (unsafe { c_str(name) }) else { return status::ERR_UNKNOWN };
        let Some(p) = set.param(name) else { return status::ERR_UNKNOWN };
        if !out.is_null() {
            unsafe { *out = p.handle() };
        }
        if !props.is_null() {
            unsafe { *props = p.props.handle() };
        }
        status::OK
    })
}

unsafe extern "C" fn param_set_get_property_set(set: ofx_sys::OfxParamSetHandle, props: *mut ofx_sys::OfxPropertySetHandle) -> OfxStatus {
    guard(status::FAILED, || {
        let Some(set) = (unsafe { ParamSetObj::from_handle(set as *const c_void) }) else { return status::ERR_BAD_HANDLE };
        if props.is_null() {
            return status::FAILED;
        }
        // The spec: a parameter set's property set is the effect's.
        unsafe { *props = set.effect().props.handle() };
        status::OK
    })
}

unsafe extern "C" fn param_get_property_set(p: ofx_sys::OfxParamHandle, props: *mut ofx_sys::OfxPropertySetHandle) -> OfxStatus {
    guard(status::FAILED, || {
        let Ok(p) = (unsafe { param(p as *const c_void) }) else { return status::ERR_BAD_HANDLE };
        if props.is_null() {
            return status::FAILED;
        }
        unsafe { *props = p.props.handle() };
        status::OK
    })
}

unsafe extern "C" fn param_get_num_keys(p: ofx_sys::OfxParamHandle, n: *mut c_uint) -> OfxStatus {
    guard(status::FAILED, || {
        let Ok(p) = (unsafe { param(p as *const c_void) }) else { return status::ERR_BAD_HANDLE };
        if n.is_null() {
            return status::FAILED;
        }
        unsafe { *n = p.state.lock().keys.len() as c_uint };
        status::OK
    })
}

unsafe extern "C" fn param_get_key_time(p: ofx_sys::OfxParamHandle, nth: c_uint, time: *mut f64) -> OfxStatus {
    guard(status::FAILED, || {
        let Ok(p) = (unsafe { param(p as *const c_void) }) else { return status::ERR_BAD_HANDLE };
        if time.is_null() {
            return status::FAILED;
        }
        match p.state.lock().keys.get(nth as usize) {
            Some((t, _)) => {
                unsafe { *time = *t };
                status::OK
            }
            None => status::ERR_BAD_INDEX,
        }
    })
}

unsafe extern "C" fn param_get_key_index(p: ofx_sys::OfxParamHandle, time: f64, direction: c_int, index: *mut c_int) -> OfxStatus {
    guard(status::FAILED, || {
        let Ok(p) = (unsafe { param(p as *const c_void) }) else { return status::ERR_BAD_HANDLE };
        if index.is_null() {
            return status::FAILED;
        }
        let found = p.state.lock().key_index(time, direction);
        unsafe { *index = found.map_or(-1, |i| i as c_int) };
        if found.is_some() {
            status::OK
        } else {
            status::FAILED
        }
    })
}

unsafe extern "C" fn param_delete_key(p: ofx_sys::OfxParamHandle, time: f64) -> OfxStatus {
    guard(status::FAILED, || {
        let Ok(p) = (unsafe { param(p as *const c_void) }) else { return status::ERR_BAD_HANDLE };
        let mut state = p.state.lock();
        let deleted = state.delete_key(time);
        sync_animating_prop(p, &state);
        if deleted {
            status::OK
        } else {
            status::ERR_BAD_INDEX
        }
    })
}

unsafe extern "C" fn param_delete_all_keys(p: ofx_sys::OfxParamHandle) -> OfxStatus {
    guard(status::FAILED, || {
        let Ok(p) = (unsafe { param(p as *const c_void) }) else { return status::ERR_BAD_HANDLE };
        let now = p.effect().current_time();
        let mut state = p.state.lock();
        state.delete_all_keys(now);
        sync_animating_prop(p, &state);
        status::OK
    })
}

unsafe extern "C" fn param_copy(to: ofx_sys::OfxParamHandle, from: ofx_sys::OfxParamHandle, offset: f64, range: *const ofx_sys::OfxRangeD) -> OfxStatus {
    guard(status::FAILED, || {
        let (Ok(to), Ok(from)) = (unsafe { param(to as *const c_void) }, unsafe { param(from as *const c_void) }) else {
            return status::ERR_BAD_HANDLE;
        };
        if to.ty != from.ty {
            return status::ERR_VALUE;
        }
        if std::ptr::eq(to, from) {
            return status::OK;
        }
        // SAFETY: null or a valid range from the plug-in.
        let range = unsafe { range.as_ref() }.map(|r| (r.min, r.max));
        let src = from.state.lock().clone();
        let mut dst = to.state.lock();
        match range {
            None => {
                dst.constant = src.constant.clone();
                dst.keys = src.keys.iter().map(|(t, v)| (t + offset, v.clone())).collect();
                dst.interpolation = src.interpolation;
            }
            Some((lo, hi)) => {
                for (t, v) in src.keys.iter().filter(|(t, _)| *t >= lo && *t <= hi) {
                    dst.set_key(t + offset, v.clone());
                }
            }
        }
        sync_animating_prop(to, &dst);
        status::OK
    })
}

unsafe extern "C" fn param_edit_begin(set: ofx_sys::OfxParamSetHandle, _name: *const c_char) -> OfxStatus {
    // Undo blocks mean nothing to a headless host; only the handle is checked.
    if handles::is_live(set as *const c_void, handles::Kind::ParamSet) {
        status::OK
    } else {
        status::ERR_BAD_HANDLE
    }
}

unsafe extern "C" fn param_edit_end(set: ofx_sys::OfxParamSetHandle) -> OfxStatus {
    unsafe { param_edit_begin(set, std::ptr::null()) }
}

/// The parameter suite handed to plug-ins.
pub(crate) static PARAM_SUITE: ofx_sys::OfxParameterSuiteV1 = ofx_sys::OfxParameterSuiteV1 {
    paramDefine: Some(param_define),
    paramGetHandle: Some(param_get_handle),
    paramSetGetPropertySet: Some(param_set_get_property_set),
    paramGetPropertySet: Some(param_get_property_set),
    paramGetValue: Some(varargs::ofxhost_paramGetValue),
    paramGetValueAtTime: Some(varargs::ofxhost_paramGetValueAtTime),
    paramGetDerivative: Some(varargs::ofxhost_paramGetDerivative),
    paramGetIntegral: Some(varargs::ofxhost_paramGetIntegral),
    paramSetValue: Some(varargs::ofxhost_paramSetValue),
    paramSetValueAtTime: Some(varargs::ofxhost_paramSetValueAtTime),
    paramGetNumKeys: Some(param_get_num_keys),
    paramGetKeyTime: Some(param_get_key_time),
    paramGetKeyIndex: Some(param_get_key_index),
    paramDeleteKey: Some(param_delete_key),
    paramDeleteAllKeys: Some(param_delete_all_keys),
    paramCopy: Some(param_copy),
    paramEditBegin: Some(param_edit_begin),
    paramEditEnd: Some(param_edit_end),
};

#[cfg(test)]
#[path = "param_tests.rs"]
mod tests;
