//! The image effect suite (`OfxImageEffectSuiteV1`) and the Foundry plane suite (V1, V2).

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::Ordering;

use crate::defaults;
use crate::handles::{c_str, foundry, guard, ofx, status, OfxStatus};
use crate::objects::{release_image, ClipObj, EffectObj};
use crate::props::PropertySet;
use crate::suites::memory;

type EffectH = ofx_sys::OfxImageEffectHandle;
type PropsH = ofx_sys::OfxPropertySetHandle;
type ClipH = ofx_sys::OfxImageClipHandle;

unsafe fn effect<'a>(h: EffectH) -> Result<&'a EffectObj, OfxStatus> {
    unsafe { EffectObj::from_handle(h as *const c_void) }.ok_or(status::ERR_BAD_HANDLE)
}

unsafe fn clip<'a>(h: ClipH) -> Result<&'a ClipObj, OfxStatus> {
    unsafe { ClipObj::from_handle(h as *const c_void) }.ok_or(status::ERR_BAD_HANDLE)
}

macro_rules! try_st {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(st) => return st,
        }
    };
}

/// Writes `value` through a plug-in out-pointer, failing on NULL.
unsafe fn put<T>(out: *mut T, value: T) -> OfxStatus {
    if out.is_null() {
        return status::FAILED;
    }
    // SAFETY: checked non-null; the plug-in supplies the slot.
    unsafe { out.write(value) };
    status::OK
}

unsafe extern "C" fn get_property_set(h: EffectH, out: *mut PropsH) -> OfxStatus {
    guard(status::FAILED, || {
        let e = try_st!(unsafe { effect(h) });
        unsafe { put(out, e.props.handle()) }
    })
}

unsafe extern "C" fn get_param_set(h: EffectH, out: *mut ofx_sys::OfxParamSetHandle) -> OfxStatus {
    guard(status::FAILED, || {
        let e = try_st!(unsafe { effect(h) });
        unsafe { put(out, e.param_set.handle()) }
    })
}

unsafe extern "C" fn clip_define(h: EffectH, name: *const c_char, out: *mut PropsH) -> OfxStatus {
    guard(status::FAILED, || {
        let e = try_st!(unsafe { effect(h) });
        let Some(name) = (unsafe { c_str(name) }) else { return status::ERR_VALUE };
        if e.is_instance {
            // Clips are defined in describe-in-context only.
            return status::ERR_UNSUPPORTED;
        }
        let mut clips = e.clips.lock();
        if clips.iter().any(|c| c.name == name) {
            return status::ERR_EXISTS;
        }
        let props = PropertySet::boxed();
        defaults::clip_descriptor(&props, name);
        let c = ClipObj::boxed(name, props, e as *const EffectObj);
        let h = c.props.handle();
        clips.push(c);
        if out.is_null() {
            status::OK
        } else {
            unsafe { put(out, h) }
        }
    })
}

unsafe extern "C" fn clip_get_handle(h: EffectH, name: *const c_char, out: *mut ClipH, props: *mut PropsH) -> OfxStatus {
    guard(status::FAILED, || {
        let e = try_st!(unsafe { effect(h) });
        let Some(name) = (unsafe { c_str(name) }) else { return status::ERR_UNKNOWN };
        let Some(c) = e.clip(name) else { return status::ERR_UNKNOWN };
        if !props.is_null() {
            unsafe { props.write(c.props.handle()) };
        }
        unsafe { put(out, c.handle()) }
    })
}

unsafe extern "C" fn clip_get_property_set(h: ClipH, out: *mut PropsH) -> OfxStatus {
    guard(status::FAILED, || {
        let c = try_st!(unsafe { clip(h) });
        unsafe { put(out, c.props.handle()) }
    })
}

/// Shared by `clipGetImage` and the plane suite.
fn get_image(c: &ClipObj, time: f64, plane: &str, out: *mut PropsH) -> OfxStatus {
    if out.is_null() {
        return status::FAILED;
    }
    let Some(ctx) = c.effect().render_ctx() else { return status::FAILED };
    match ctx.get_image(&c.name, time, plane) {
        Ok(h) => unsafe { put(out, h) },
        Err(st) => st,
    }
}

unsafe extern "C" fn clip_get_image(h: ClipH, time: f64, _region: *const ofx_sys::OfxRectD, out: *mut PropsH) -> OfxStatus {
    // The region is only a hint: the whole frame is always "at least as big".
    guard(status::FAILED, || {
        let c = try_st!(unsafe { clip(h) });
        get_image(c, time, foundry::PLANE_COLOUR, out)
    })
}

unsafe extern "C" fn clip_release_image(h: PropsH) -> OfxStatus {
    guard(status::FAILED, || if release_image(h) { status::OK } else { status::ERR_BAD_HANDLE })
}

/// Canonical RoD of a clip: inputs from their frame, the output from the last RoD computed.
fn clip_rod(c: &ClipObj, time: f64) -> Option<[f64; 4]> {
    let e = c.effect();
    let ctx = e.render_ctx()?;
    if c.name == ofx!(kOfxImageEffectOutputClipName) {
        if let Some(r) = *ctx.output_rod.lock() {
            return Some(r.to_canonical(ctx.scale));
        }
        return ctx.input_rod(ofx!(kOfxImageEffectSimpleSourceClipName), time);
    }
    ctx.input_rod(&c.name, time)
}

unsafe extern "C" fn clip_get_region_of_definition(h: ClipH, time: f64, out: *mut ofx_sys::OfxRectD) -> OfxStatus {
    guard(status::FAILED, || {
        let c = try_st!(unsafe { clip(h) });
        let Some(r) = clip_rod(c, time) else { return status::FAILED };
        unsafe { put(out, ofx_sys::OfxRectD { x1: r[0], y1: r[1], x2: r[2], y2: r[3] }) }
    })
}

unsafe extern "C" fn abort(h: EffectH) -> c_int {
    let answer = std::panic::catch_unwind(|| unsafe { effect(h) }.map(|e| e.abort.load(Ordering::Relaxed)).unwrap_or(false));
    c_int::from(answer.unwrap_or(false))
}

pub(crate) static EFFECT_SUITE: ofx_sys::OfxImageEffectSuiteV1 = ofx_sys::OfxImageEffectSuiteV1 {
    getPropertySet: Some(get_property_set),
    getParamSet: Some(get_param_set),
    clipDefine: Some(clip_define),
    clipGetHandle: Some(clip_get_handle),
    clipGetPropertySet: Some(clip_get_property_set),
    clipGetImage: Some(clip_get_image),
    clipReleaseImage: Some(clip_release_image),
    clipGetRegionOfDefinition: Some(clip_get_region_of_definition),
    abort: Some(abort),
    imageMemoryAlloc: Some(memory::image_memory_alloc),
    imageMemoryFree: Some(memory::image_memory_free),
    imageMemoryLock: Some(memory::image_memory_lock),
    imageMemoryUnlock: Some(memory::image_memory_unlock),
};

// ---- The Foundry plane suite (nuke/fnOfxExtensions.h), declared by hand: ofx_sys does not bind it.

/// `FnOfxImageEffectPlaneSuiteV1`.
#[allow(non_snake_case)]
#[repr(C)]
pub struct FnOfxImageEffectPlaneSuiteV1 {
    pub clipGetImagePlane: Option<unsafe extern "C" fn(clip: ClipH, time: f64, plane: *const c_char, region: *const ofx_sys::OfxRectD, image: *mut PropsH) -> OfxStatus>,
}

/// `FnOfxImageEffectPlaneSuiteV2` (adds views).
#[allow(non_snake_case)]
#[repr(C)]
pub struct FnOfxImageEffectPlaneSuiteV2 {
    pub clipGetImagePlane:
        Option<unsafe extern "C" fn(clip: ClipH, time: f64, view: c_int, plane: *const c_char, region: *const ofx_sys::OfxRectD, image: *mut PropsH) -> OfxStatus>,
    pub clipGetRegionOfDefinition: Option<unsafe extern "C" fn(clip: ClipH, time: f64, view: c_int, bounds: *mut ofx_sys::OfxRectD) -> OfxStatus>,
    pub getViewName: Option<unsafe extern "C" fn(effect: EffectH, view: c_int, name: *mut *const c_char) -> OfxStatus>,
    pub getViewCount: Option<unsafe extern "C" fn(effect: EffectH, count: *mut c_int) -> OfxStatus>,
}

unsafe extern "C" fn plane_v1(h: ClipH, time: f64, plane: *const c_char, region: *const ofx_sys::OfxRectD, out: *mut PropsH) -> OfxStatus {
    unsafe { plane_v2(h, time, 0, plane, region, out) }
}

unsafe extern "C" fn plane_v2(h: ClipH, time: f64, view: c_int, plane: *const c_char, _region: *const ofx_sys::OfxRectD, out: *mut PropsH) -> OfxStatus {
    guard(status::FAILED, || {
        let c = try_st!(unsafe { clip(h) });
        if view != 0 {
            // A single-view host.
            return status::FAILED;
        }
        let Some(plane) = (unsafe { c_str(plane) }) else { return status::FAILED };
        get_image(c, time, plane, out)
    })
}

unsafe extern "C" fn plane_rod(h: ClipH, time: f64, _view: c_int, out: *mut ofx_sys::OfxRectD) -> OfxStatus {
    unsafe { clip_get_region_of_definition(h, time, out) }
}

/// The one view's name; a static string so the pointer stays valid.
static MAIN_VIEW: &[u8] = b"Main\0";

unsafe extern "C" fn view_name(h: EffectH, view: c_int, out: *mut *const c_char) -> OfxStatus {
    guard(status::FAILED, || {
        try_st!(unsafe { effect(h) });
        if view != 0 {
            return status::ERR_BAD_INDEX;
        }
        unsafe { put(out, MAIN_VIEW.as_ptr().cast()) }
    })
}

unsafe extern "C" fn view_count(h: EffectH, out: *mut c_int) -> OfxStatus {
    guard(status::FAILED, || {
        try_st!(unsafe { effect(h) });
        unsafe { put(out, 1) }
    })
}

pub(crate) static PLANE_SUITE_V1: FnOfxImageEffectPlaneSuiteV1 = FnOfxImageEffectPlaneSuiteV1 { clipGetImagePlane: Some(plane_v1) };

pub(crate) static PLANE_SUITE_V2: FnOfxImageEffectPlaneSuiteV2 = FnOfxImageEffectPlaneSuiteV2 {
    clipGetImagePlane: Some(plane_v2),
    clipGetRegionOfDefinition: Some(plane_rod),
    getViewName: Some(view_name),
    getViewCount: Some(view_count),
};
