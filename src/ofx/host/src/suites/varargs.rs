//! The Rust side of `csrc/varargs.c`: declarations of its variadic entry points and the table of
//! non-variadic callbacks it forwards to.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Once;

use crate::handles::OfxStatus;
use crate::suites::{message, param};

extern "C" {
    pub(crate) fn ofxhost_paramGetValue(param: ofx_sys::OfxParamHandle, ...) -> OfxStatus;
    pub(crate) fn ofxhost_paramGetValueAtTime(param: ofx_sys::OfxParamHandle, time: f64, ...) -> OfxStatus;
    pub(crate) fn ofxhost_paramGetDerivative(param: ofx_sys::OfxParamHandle, time: f64, ...) -> OfxStatus;
    pub(crate) fn ofxhost_paramGetIntegral(param: ofx_sys::OfxParamHandle, time1: f64, time2: f64, ...) -> OfxStatus;
    pub(crate) fn ofxhost_paramSetValue(param: ofx_sys::OfxParamHandle, ...) -> OfxStatus;
    pub(crate) fn ofxhost_paramSetValueAtTime(param: ofx_sys::OfxParamHandle, time: f64, ...) -> OfxStatus;
    pub(crate) fn ofxhost_message(handle: *mut c_void, kind: *const c_char, id: *const c_char, format: *const c_char, ...) -> OfxStatus;
    pub(crate) fn ofxhost_setPersistentMessage(handle: *mut c_void, kind: *const c_char, id: *const c_char, format: *const c_char, ...) -> OfxStatus;
    fn ofxhost_install_callbacks(callbacks: *const Callbacks);
}

/// Layout shared with `struct ofxhost_callbacks` in the C file.
#[repr(C)]
struct Callbacks {
    param_shape: unsafe extern "C" fn(*mut c_void, *mut c_int, *mut c_int) -> OfxStatus,
    param_get: unsafe extern "C" fn(*mut c_void, c_int, f64, f64, c_int, c_int, *mut *mut c_void) -> OfxStatus,
    param_set: unsafe extern "C" fn(*mut c_void, c_int, f64, c_int, c_int, *const c_int, *const f64, *const c_char) -> OfxStatus,
    message: unsafe extern "C" fn(*mut c_void, c_int, *const c_char, *const c_char, *const c_char) -> OfxStatus,
}

static CALLBACKS: Callbacks = Callbacks {
    param_shape: param::param_shape,
    param_get: param::param_get,
    param_set: param::param_set,
    message: message::record_message,
};

/// Hands the callback table to the C shim; idempotent. Must run before any suite is fetched.
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: CALLBACKS is a 'static table with the layout the C side expects.
        unsafe { ofxhost_install_callbacks(&CALLBACKS) }
    });
}
