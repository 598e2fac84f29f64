//! The varargs shim, called through the same suite function pointers a plug-in uses.

use super::*;
use crate::host::{HostConfig, HostShared};
use crate::objects::EffectObj;
use crate::params::Interpolation;
use crate::suites::message::MESSAGE_SUITE_V2;
use std::ffi::{CStr, CString};

/// An instance-like effect holding one parameter of each value shape.
fn effect() -> Box<EffectObj> {
    varargs::install();
    let e = EffectObj::boxed(HostShared::new(HostConfig::default()), PropertySet::boxed(), true);
    let ptr: *const EffectObj = &*e;
    {
        let mut params = e.param_set.params.lock();
        for (name, ty) in [
            ("d", ParamType::Double),
            ("i", ParamType::Integer),
            ("b", ParamType::Boolean),
            ("s", ParamType::String),
            ("rgba", ParamType::Rgba),
            ("i3", ParamType::Integer3D),
            ("page", ParamType::Page),
        ] {
            let props = PropertySet::boxed();
            defaults::param_descriptor(&props, ty, name);
            params.push(ParamObj::boxed(name, ty, props, ParamState::new(ty, ty.zero()), ptr));
        }
    }
    e
}

fn handle(e: &EffectObj, name: &str) -> ofx_sys::OfxParamHandle {
    let mut h: ofx_sys::OfxParamHandle = std::ptr::null_mut();
    let c = CString::new(name).unwrap();
    let st = unsafe { PARAM_SUITE.paramGetHandle.unwrap()(e.param_set.handle(), c.as_ptr(), &mut h, std::ptr::null_mut()) };
    assert_eq!(st, status::OK);
    h
}

#[test]
fn get_and_set_every_shape() {
    let e = effect();
    let s = &PARAM_SUITE;
    unsafe {
        let d = handle(&e, "d");
        assert_eq!(s.paramSetValue.unwrap()(d, 2.5f64), status::OK);
        let mut v = 0.0f64;
        assert_eq!(s.paramGetValue.unwrap()(d, &mut v as *mut f64), status::OK);
        assert_eq!(v, 2.5);

        let i = handle(&e, "i");
        assert_eq!(s.paramSetValue.unwrap()(i, 7 as c_int), status::OK);
        let mut iv: c_int = 0;
        assert_eq!(s.paramGetValue.unwrap()(i, &mut iv as *mut c_int), status::OK);
        assert_eq!(iv, 7);

        let b = handle(&e, "b");
        assert_eq!(s.paramSetValue.unwrap()(b, 1 as c_int), status::OK);
        assert_eq!(s.paramGetValue.unwrap()(b, &mut iv as *mut c_int), status::OK);
        assert_eq!(iv, 1);

        let st = handle(&e, "s");
        let text = CString::new("héllo").unwrap();
        assert_eq!(s.paramSetValue.unwrap()(st, text.as_ptr()), status::OK);
        let mut out: *const c_char = std::ptr::null();
        assert_eq!(s.paramGetValue.unwrap()(st, &mut out as *mut *const c_char), status::OK);
        assert_eq!(CStr::from_ptr(out).to_str().unwrap(), "héllo");

        let c = handle(&e, "rgba");
        assert_eq!(s.paramSetValue.unwrap()(c, 0.1f64, 0.2f64, 0.3f64, 0.4f64), status::OK);
        let (mut r, mut g, mut bl, mut a) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        assert_eq!(s.paramGetValue.unwrap()(c, &mut r as *mut f64, &mut g as *mut f64, &mut bl as *mut f64, &mut a as *mut f64), status::OK);
        assert_eq!((r, g, bl, a), (0.1, 0.2, 0.3, 0.4));

        let i3 = handle(&e, "i3");
        assert_eq!(s.paramSetValue.unwrap()(i3, 1 as c_int, 2 as c_int, 3 as c_int), status::OK);
        let (mut x, mut y, mut z): (c_int, c_int, c_int) = (0, 0, 0);
        assert_eq!(s.paramGetValue.unwrap()(i3, &mut x as *mut c_int, &mut y as *mut c_int, &mut z as *mut c_int), status::OK);
        assert_eq!((x, y, z), (1, 2, 3));

        // Valueless types read no varargs at all.
        let page = handle(&e, "page");
        assert_eq!(s.paramGetValue.unwrap()(page), status::ERR_UNSUPPORTED);
        // Derivatives only exist for doubles; the int* is never touched.
        assert_eq!(s.paramGetDerivative.unwrap()(i, 0.0, &mut iv as *mut c_int), status::ERR_UNSUPPORTED);
        // Bad handles are rejected before any va_arg is read.
        assert_eq!(s.paramGetValue.unwrap()(std::ptr::null_mut()), status::ERR_BAD_HANDLE);
        assert_eq!(s.paramGetValue.unwrap()(0x10 as ofx_sys::OfxParamHandle), status::ERR_BAD_HANDLE);
    }
}

#[test]
fn keys_through_the_suite() {
    let e = effect();
    let s = &PARAM_SUITE;
    unsafe {
        let d = handle(&e, "d");
        let p = ParamObj::from_handle(d as *const c_void).unwrap();
        p.state.lock().interpolation = Interpolation::Linear;
        assert_eq!(s.paramSetValueAtTime.unwrap()(d, 0.0, 0.0f64), status::OK);
        assert_eq!(s.paramSetValueAtTime.unwrap()(d, 10.0, 10.0f64), status::OK);
        let mut v = 0.0f64;
        assert_eq!(s.paramGetValueAtTime.unwrap()(d, 2.5, &mut v as *mut f64), status::OK);
        assert_eq!(v, 2.5);
        assert_eq!(s.paramGetDerivative.unwrap()(d, 5.0, &mut v as *mut f64), status::OK);
        assert_eq!(v, 1.0);
        assert_eq!(s.paramGetIntegral.unwrap()(d, 0.0, 10.0, &mut v as *mut f64), status::OK);
        assert!((v - 50.0).abs() < 1e-9);
        let mut n: c_uint = 0;
        assert_eq!(s.paramGetNumKeys.unwrap()(d, &mut n), status::OK);
        assert_eq!(n, 2);
        let mut t = 0.0;
        assert_eq!(s.paramGetKeyTime.unwrap()(d, 1, &mut t), status::OK);
        assert_eq!(t, 10.0);
        assert_eq!(s.paramGetKeyTime.unwrap()(d, 2, &mut t), status::ERR_BAD_INDEX);
        let mut idx: c_int = 0;
        assert_eq!(s.paramGetKeyIndex.unwrap()(d, 5.0, 1, &mut idx), status::OK);
        assert_eq!(idx, 1);
        assert_eq!(s.paramGetKeyIndex.unwrap()(d, 5.0, 0, &mut idx), status::FAILED);
        assert_eq!(idx, -1);
        // paramSetValue on an animated param keys the current time.
        e.set_current_time(4.0);
        assert_eq!(s.paramSetValue.unwrap()(d, 100.0f64), status::OK);
        assert_eq!(s.paramGetNumKeys.unwrap()(d, &mut n), status::OK);
        assert_eq!(n, 3);
        assert_eq!(s.paramGetValue.unwrap()(d, &mut v as *mut f64), status::OK);
        assert_eq!(v, 100.0);
        assert_eq!(p.props.int("OfxParamPropIsAnimating"), Some(1));
        assert_eq!(s.paramDeleteKey.unwrap()(d, 4.0), status::OK);
        assert_eq!(s.paramDeleteKey.unwrap()(d, 4.0), status::ERR_BAD_INDEX);
        assert_eq!(s.paramDeleteAllKeys.unwrap()(d), status::OK);
        assert_eq!(p.props.int("OfxParamPropIsAnimating"), Some(0));
    }
}

#[test]
fn define_duplicates_and_unknown_types() {
    let e = effect();
    let s = &PARAM_SUITE;
    let name = CString::new("d").unwrap();
    let fresh = CString::new("fresh").unwrap();
    let double = CString::new("OfxParamTypeDouble").unwrap();
    let bogus = CString::new("NoSuchType").unwrap();
    let mut props: ofx_sys::OfxPropertySetHandle = std::ptr::null_mut();
    unsafe {
        assert_eq!(s.paramDefine.unwrap()(e.param_set.handle(), double.as_ptr(), name.as_ptr(), &mut props), status::ERR_EXISTS);
        assert_eq!(s.paramDefine.unwrap()(e.param_set.handle(), bogus.as_ptr(), fresh.as_ptr(), &mut props), status::ERR_UNKNOWN);
        assert_eq!(s.paramDefine.unwrap()(e.param_set.handle(), double.as_ptr(), fresh.as_ptr(), &mut props), status::OK);
        assert!(!props.is_null());
        let mut set_props: ofx_sys::OfxPropertySetHandle = std::ptr::null_mut();
        assert_eq!(s.paramSetGetPropertySet.unwrap()(e.param_set.handle(), &mut set_props), status::OK);
        assert_eq!(set_props, e.props.handle(), "a param set's properties are the effect's");
    }
}

#[test]
fn printf_style_messages() {
    let e = effect();
    let m = &MESSAGE_SUITE_V2;
    let kind = CString::new("OfxMessageError").unwrap();
    let id = CString::new("id.1").unwrap();
    let fmt = CString::new("%s has %d faces (%.1f)").unwrap();
    let who = CString::new("frame").unwrap();
    let question = CString::new("OfxMessageQuestion").unwrap();
    let plain = CString::new("sure?").unwrap();
    unsafe {
        let h = e.handle() as *mut c_void;
        assert_eq!(m.message.unwrap()(h, kind.as_ptr(), id.as_ptr(), fmt.as_ptr(), who.as_ptr(), 3 as c_int, 0.5f64), status::OK);
        assert_eq!(m.message.unwrap()(h, question.as_ptr(), id.as_ptr(), plain.as_ptr()), status::REPLY_NO);
        assert_eq!(m.setPersistentMessage.unwrap()(h, kind.as_ptr(), id.as_ptr(), plain.as_ptr()), status::OK);
        assert!(e.persistent.lock().is_some());
        assert_eq!(m.clearPersistentMessage.unwrap()(h), status::OK);
        assert!(e.persistent.lock().is_none());
        assert_eq!(m.clearPersistentMessage.unwrap()(std::ptr::null_mut()), status::ERR_BAD_HANDLE);
    }
    let msgs = e.messages.lock();
    assert_eq!(msgs[0].text, "frame has 3 faces (0.5)");
    assert_eq!(msgs[0].id, "id.1");
    assert_eq!(msgs.len(), 3);
}
