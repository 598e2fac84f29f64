//! The plug-in's C entry points and the guard that keeps panics inside.
//!
//! A panic unwinding out of an `extern "C"` function aborts the host process (Rust ≥ 1.81), taking the
//! artist's session or the farm task with it. Every function here runs its body under `catch_unwind`; a caught
//! panic becomes kOfxStatFailed plus a message on the node.

use super::action::Action;
use super::clip::Effect;
use super::props::PropSet;
use super::{message, suites, Status};
use ofx_sys as sys;
use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What the node does with one action. Returns the status to give the host.
pub type Dispatch = fn(Action, Effect, PropSet, PropSet) -> Status;

/// `OfxPlugin` in a cell the host may read through a `*mut` (the ABI type), built once.
struct PluginCell(UnsafeCell<sys::OfxPlugin>);
// SAFETY: the cell is written once during static initialisation and only read afterwards (hosts treat the
// struct as read-only; the ABI just happens to hand out `*mut`).
unsafe impl Sync for PluginCell {}

static PLUGIN: PluginCell = PluginCell(UnsafeCell::new(sys::OfxPlugin {
    pluginApi: sys::kOfxImageEffectPluginApi.as_ptr() as *const c_char,
    apiVersion: 1,
    pluginIdentifier: crate::node::ids::PLUGIN_ID.as_ptr() as *const c_char,
    pluginVersionMajor: crate::node::ids::VERSION_MAJOR,
    pluginVersionMinor: crate::node::ids::VERSION_MINOR,
    setHost: Some(set_host),
    mainEntry: Some(main_entry),
}));

/// Exported: how many plug-ins this binary holds.
#[no_mangle]
pub extern "C" fn OfxGetNumberOfPlugins() -> c_int {
    1
}

/// Exported: the nth plug-in, or NULL when out of range.
#[no_mangle]
pub extern "C" fn OfxGetPlugin(nth: c_int) -> *mut sys::OfxPlugin {
    if nth == 0 {
        PLUGIN.0.get()
    } else {
        std::ptr::null_mut()
    }
}

extern "C" fn set_host(host: *mut sys::OfxHost) {
    let _ = catch_unwind(|| suites::set_host(host));
}

extern "C" fn main_entry(
    action: *const c_char,
    handle: *const c_void,
    in_args: sys::OfxPropertySetHandle,
    out_args: sys::OfxPropertySetHandle,
) -> sys::OfxStatus {
    let effect = Effect::from_raw(handle as sys::OfxImageEffectHandle);
    let result = catch_unwind(AssertUnwindSafe(|| {
        if action.is_null() {
            return Status::ErrBadHandle;
        }
        // SAFETY: the host passes a NUL-terminated action name that lives for the call.
        let Ok(name) = unsafe { CStr::from_ptr(action) }.to_str() else { return Status::ReplyDefault };
        let action = Action::parse(name);
        match action {
            Action::Load => {
                if let Err(e) = suites::load() {
                    return crate::node::error::status_for_load(&e);
                }
            }
            Action::Unload => {
                let status = crate::node::dispatch(action, effect, PropSet::from_raw(in_args), PropSet::from_raw(out_args));
                suites::unload();
                return status;
            }
            _ => {}
        }
        crate::node::dispatch(action, effect, PropSet::from_raw(in_args), PropSet::from_raw(out_args))
    }));
    match result {
        Ok(status) => status.code(),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            // Reporting may itself fail (no suites, no instance): guard it too, then give up quietly.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                if !handle.is_null() {
                    let text = format!("FaceSwap: internal error, this frame was not rendered ({what}). Please report it.");
                    let _ = message::set_persistent(effect, message::Level::Error, &text);
                }
            }));
            Status::Failed.code()
        }
    }
}
