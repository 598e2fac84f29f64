//! Opaque OFX handles, status codes and the panic guard every C callback goes through.
//!
//! Every handle the host gives a plug-in (property sets, effects, clips, parameter sets, parameters,
//! mutexes, image memory) is the address of a heap object the host owns. Before a callback
//! dereferences a handle it looks it up in a registry of live objects of the expected kind, so a
//! null, stale or wrongly-typed handle yields `kOfxStatErrBadHandle` instead of undefined behaviour.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::LazyLock;

use parking_lot::RwLock;

/// OFX status codes, mirrored from `ofxCore.h` (the header defines them as `((int) n)` casts, which
/// bindgen does not turn into constants).
pub mod status {
    /// An OFX status code.
    pub type OfxStatus = i32;
    pub const OK: OfxStatus = 0;
    pub const FAILED: OfxStatus = 1;
    pub const ERR_FATAL: OfxStatus = 2;
    pub const ERR_UNKNOWN: OfxStatus = 3;
    pub const ERR_MISSING_HOST_FEATURE: OfxStatus = 4;
    pub const ERR_UNSUPPORTED: OfxStatus = 5;
    pub const ERR_EXISTS: OfxStatus = 6;
    pub const ERR_FORMAT: OfxStatus = 7;
    pub const ERR_MEMORY: OfxStatus = 8;
    pub const ERR_BAD_HANDLE: OfxStatus = 9;
    pub const ERR_BAD_INDEX: OfxStatus = 10;
    pub const ERR_VALUE: OfxStatus = 11;
    pub const REPLY_YES: OfxStatus = 12;
    pub const REPLY_NO: OfxStatus = 13;
    pub const REPLY_DEFAULT: OfxStatus = 14;

    /// The `kOfxStat…` name of a status, for messages.
    pub fn name(st: OfxStatus) -> &'static str {
        match st {
            OK => "kOfxStatOK",
            FAILED => "kOfxStatFailed",
            ERR_FATAL => "kOfxStatErrFatal",
            ERR_UNKNOWN => "kOfxStatErrUnknown",
            ERR_MISSING_HOST_FEATURE => "kOfxStatErrMissingHostFeature",
            ERR_UNSUPPORTED => "kOfxStatErrUnsupported",
            ERR_EXISTS => "kOfxStatErrExists",
            ERR_FORMAT => "kOfxStatErrFormat",
            ERR_MEMORY => "kOfxStatErrMemory",
            ERR_BAD_HANDLE => "kOfxStatErrBadHandle",
            ERR_BAD_INDEX => "kOfxStatErrBadIndex",
            ERR_VALUE => "kOfxStatErrValue",
            REPLY_YES => "kOfxStatReplyYes",
            REPLY_NO => "kOfxStatReplyNo",
            REPLY_DEFAULT => "kOfxStatReplyDefault",
            _ => "unknown OFX status",
        }
    }
}

pub use status::OfxStatus;

/// What a registered address points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    PropertySet,
    Effect,
    Clip,
    ParamSet,
    Param,
    Mutex,
    ImageMemory,
}

static REGISTRY: LazyLock<RwLock<HashMap<usize, Kind>>> = LazyLock::new(|| RwLock::new(HashMap::new()));

/// Records that `ptr` is a live object of `kind`. The object must stay at that address until
/// [`unregister`] is called (i.e. it lives in a `Box` that is not moved out of).
pub(crate) fn register<T>(ptr: *const T, kind: Kind) {
    REGISTRY.write().insert(ptr as usize, kind);
}

/// Forgets `ptr`; called before the object is freed.
pub(crate) fn unregister<T>(ptr: *const T) {
    REGISTRY.write().remove(&(ptr as usize));
}

/// True when `ptr` is registered as a live object of `kind`.
pub(crate) fn is_live(ptr: *const c_void, kind: Kind) -> bool {
    !ptr.is_null() && REGISTRY.read().get(&(ptr as usize)) == Some(&kind)
}

/// Resolves a handle to a reference if it is registered with `kind`.
///
/// # Safety
/// `T` must be the type registered under `kind`, and the caller must not keep the reference past the
/// current callback (objects are freed by the host between actions).
pub(crate) unsafe fn resolve<'a, T>(ptr: *const c_void, kind: Kind) -> Option<&'a T> {
    if is_live(ptr, kind) {
        // SAFETY: registered addresses point at live, boxed objects of the registered type.
        Some(unsafe { &*(ptr as *const T) })
    } else {
        None
    }
}

/// Runs a callback body, turning a panic into `on_panic` so that no unwind crosses the C ABI
/// (which would abort the whole host process).
pub(crate) fn guard(on_panic: OfxStatus, body: impl FnOnce() -> OfxStatus) -> OfxStatus {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// Reads a C string argument; `None` for null or non-UTF-8 text.
///
/// # Safety
/// `ptr` must be null or point at a NUL-terminated string valid for the duration of the call.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char) -> Option<&'a str> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated per the OFX calling convention.
    unsafe { CStr::from_ptr(ptr) }.to_str().ok()
}

/// Turns an ofx_sys byte-string constant (`b"OfxPropName\0"`) into a `&str` without the NUL.
/// `const` so a malformed constant is a compile error, not a runtime one.
pub(crate) const fn k(bytes: &'static [u8]) -> &'static str {
    match bytes.split_last() {
        Some((0, rest)) => match std::str::from_utf8(rest) {
            Ok(s) => s,
            Err(_) => panic!("OFX constant is not UTF-8"),
        },
        _ => panic!("OFX constant is not NUL-terminated"),
    }
}

/// `ofx!(kOfxPropName)` is the `&'static str` of an ofx_sys string constant.
macro_rules! ofx {
    ($name:ident) => {
        $crate::handles::k(ofx_sys::$name)
    };
}
pub(crate) use ofx;

/// Extension strings from The Foundry's `nuke/fnOfxExtensions.h`, which ofx_sys does not bind.
pub mod foundry {
    /// Name of the plane suite.
    pub const PLANE_SUITE: &str = "uk.co.thefoundry.FnOfxImageEffectPlaneSuite";
    /// Host/plug-in can fetch more than one plane from a clip (int x1).
    pub const PROP_MULTI_PLANAR: &str = "uk.co.thefoundry.OfxImageEffectPropMultiPlanar";
    /// Pass-through of unprocessed planes (int x1, 0/1/2).
    pub const PROP_PASS_THROUGH_COMPONENTS: &str = "uk.co.thefoundry.OfxImageEffectPropPassThroughComponents";
    /// Planes present on a clip (string xN).
    pub const PROP_COMPONENTS_PRESENT: &str = "uk.co.thefoundry.OfxImageEffectClipPropPlanesPresent";
    /// Render all planes in one render call (int x1).
    pub const PROP_RENDER_ALL_PLANES: &str = "OfxImageEffectPropRenderAllPlanes";
    /// Planes to render, in the render action's inArgs (string xN).
    pub const PROP_RENDER_PLANES: &str = "OfxImageEffectPropRenderPlanes";
    /// Identity plane in the is-identity action (string x1).
    pub const PROP_IDENTITY_PLANE: &str = "OfxImageEffectPropIdentityPlane";
    /// The get-clip-components action.
    pub const ACTION_GET_CLIP_COMPONENTS: &str = "uk.co.thefoundry.OfxImageEffectActionGetClipComponents";
    /// Prefix of the per-clip out-args of that action.
    pub const NEEDED_COMP_PREFIX: &str = "uk.co.thefoundry.OfxNeededComp_";
    /// Pass-through clip/time/view out-args of that action.
    pub const PROP_PASS_THROUGH_CLIP: &str = "uk.co.thefoundry.ImageEffectPropPassThroughClip";
    pub const PROP_PASS_THROUGH_TIME: &str = "uk.co.thefoundry.ImageEffectPropPassThroughTime";
    pub const PROP_PASS_THROUGH_VIEW: &str = "uk.co.thefoundry.ImageEffectPropPassThroughView";
    /// View index in action in-args (int x1).
    pub const PROP_VIEW: &str = "uk.co.thefoundry.OfxImageEffectPropView";
    /// The colour plane.
    pub const PLANE_COLOUR: &str = "uk.co.thefoundry.OfxImagePlaneColour";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_distinguishes_kinds_and_lifetimes() {
        let b = Box::new(5u64);
        let p = &*b as *const u64;
        assert!(!is_live(p.cast(), Kind::Clip));
        register(p, Kind::Clip);
        assert!(is_live(p.cast(), Kind::Clip));
        assert!(!is_live(p.cast(), Kind::Param));
        assert_eq!(unsafe { resolve::<u64>(p.cast(), Kind::Clip) }, Some(&5));
        unregister(p);
        assert!(!is_live(p.cast(), Kind::Clip));
        assert!(!is_live(std::ptr::null(), Kind::Clip));
    }

    #[test]
    fn guard_catches_panics() {
        assert_eq!(guard(status::FAILED, || panic!("boom")), status::FAILED);
        assert_eq!(guard(status::FAILED, || status::OK), status::OK);
    }

    #[test]
    fn k_strips_nul() {
        assert_eq!(k(b"OfxPropName\0"), "OfxPropName");
    }
}
