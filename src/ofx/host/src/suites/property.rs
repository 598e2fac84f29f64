//! The property suite (`OfxPropertySuiteV1`): each function resolves the handle and the name, then
//! defers to [`PropertySet`]'s C-facing methods; every pointer argument is null-checked.

use std::ffi::{c_char, c_void};

use crate::handles::{self, status, OfxStatus};
use crate::props::{PropertySet, Stored};

type H = ofx_sys::OfxPropertySetHandle;

/// Resolves (set, name) or returns the status to hand back.
unsafe fn args<'a>(h: H, name: *const c_char) -> Result<(&'a PropertySet, &'a str), OfxStatus> {
    let set = unsafe { PropertySet::from_handle(h) }.ok_or(status::ERR_BAD_HANDLE)?;
    let name = unsafe { handles::c_str(name) }.ok_or(status::ERR_UNKNOWN)?;
    Ok((set, name))
}

macro_rules! try_st {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(st) => return st,
        }
    };
}

unsafe extern "C" fn prop_set_pointer(h: H, name: *const c_char, index: i32, value: *mut c_void) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        set.c_set(name, index, Stored::Pointer(vec![value as usize]))
    })
}

unsafe extern "C" fn prop_set_string(h: H, name: *const c_char, index: i32, value: *const c_char) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        if value.is_null() {
            return status::ERR_VALUE;
        }
        // SAFETY: non-null, NUL-terminated per the OFX calling convention.
        let s = unsafe { std::ffi::CStr::from_ptr(value) }.to_owned();
        set.c_set(name, index, Stored::String(vec![s]))
    })
}

unsafe extern "C" fn prop_set_double(h: H, name: *const c_char, index: i32, value: f64) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        set.c_set(name, index, Stored::Double(vec![value]))
    })
}

unsafe extern "C" fn prop_set_int(h: H, name: *const c_char, index: i32, value: i32) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        set.c_set(name, index, Stored::Int(vec![value]))
    })
}

/// Reads `count` elements from a plug-in array; `None` when the array is null or count negative.
unsafe fn slice<'a, T>(ptr: *const T, count: i32) -> Option<&'a [T]> {
    let n = usize::try_from(count).ok()?;
    if n == 0 {
        return Some(&[]);
    }
    if ptr.is_null() {
        return None;
    }
    // SAFETY: the plug-in promises `count` readable elements.
    Some(unsafe { std::slice::from_raw_parts(ptr, n) })
}

unsafe extern "C" fn prop_set_pointer_n(h: H, name: *const c_char, count: i32, values: *const *mut c_void) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        let Some(v) = (unsafe { slice(values, count) }) else { return status::ERR_VALUE };
        set.c_set_n(name, Stored::Pointer(v.iter().map(|p| *p as usize).collect()))
    })
}

unsafe extern "C" fn prop_set_string_n(h: H, name: *const c_char, count: i32, values: *const *const c_char) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        let Some(v) = (unsafe { slice(values, count) }) else { return status::ERR_VALUE };
        if v.iter().any(|p| p.is_null()) {
            return status::ERR_VALUE;
        }
        // SAFETY: each pointer checked non-null; NUL-terminated per the calling convention.
        let strings = v.iter().map(|p| unsafe { std::ffi::CStr::from_ptr(*p) }.to_owned()).collect();
        set.c_set_n(name, Stored::String(strings))
    })
}

unsafe extern "C" fn prop_set_double_n(h: H, name: *const c_char, count: i32, values: *const f64) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        let Some(v) = (unsafe { slice(values, count) }) else { return status::ERR_VALUE };
        set.c_set_n(name, Stored::Double(v.to_vec()))
    })
}

unsafe extern "C" fn prop_set_int_n(h: H, name: *const c_char, count: i32, values: *const i32) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        let Some(v) = (unsafe { slice(values, count) }) else { return status::ERR_VALUE };
        set.c_set_n(name, Stored::Int(v.to_vec()))
    })
}

unsafe extern "C" fn prop_get_pointer(h: H, name: *const c_char, index: i32, value: *mut *mut c_void) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        if value.is_null() {
            return status::ERR_VALUE;
        }
        let v = try_st!(set.c_get_pointer(name, index));
        // SAFETY: checked non-null; the plug-in provides the out slot.
        unsafe { *value = v as *mut c_void };
        status::OK
    })
}

unsafe extern "C" fn prop_get_string(h: H, name: *const c_char, index: i32, value: *mut *const c_char) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        if value.is_null() {
            return status::ERR_VALUE;
        }
        let v = try_st!(set.c_get_string(name, index));
        unsafe { *value = v };
        status::OK
    })
}

unsafe extern "C" fn prop_get_double(h: H, name: *const c_char, index: i32, value: *mut f64) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        if value.is_null() {
            return status::ERR_VALUE;
        }
        let v = try_st!(set.c_get_double(name, index));
        unsafe { *value = v };
        status::OK
    })
}

unsafe extern "C" fn prop_get_int(h: H, name: *const c_char, index: i32, value: *mut i32) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        if value.is_null() {
            return status::ERR_VALUE;
        }
        let v = try_st!(set.c_get_int(name, index));
        unsafe { *value = v };
        status::OK
    })
}

/// Shared body of the `propGet…N` functions: fills `count` slots with `get(i)`.
unsafe fn get_n<T>(h: H, name: *const c_char, count: i32, out: *mut T, get: impl Fn(&PropertySet, &str, i32) -> Result<T, OfxStatus>) -> OfxStatus {
    let (set, name) = try_st!(unsafe { args(h, name) });
    let Ok(n) = usize::try_from(count) else { return status::ERR_BAD_INDEX };
    if n > 0 && out.is_null() {
        return status::ERR_VALUE;
    }
    let dim = try_st!(set.c_dimension(name));
    if count > dim {
        return status::ERR_BAD_INDEX;
    }
    for i in 0..n {
        let v = try_st!(get(set, name, i as i32));
        // SAFETY: the plug-in provides `count` writable slots.
        unsafe { out.add(i).write(v) };
    }
    status::OK
}

unsafe extern "C" fn prop_get_pointer_n(h: H, name: *const c_char, count: i32, out: *mut *mut c_void) -> OfxStatus {
    handles::guard(status::FAILED, || unsafe {
        get_n(h, name, count, out, |s, n, i| s.c_get_pointer(n, i).map(|p| p as *mut c_void))
    })
}

unsafe extern "C" fn prop_get_string_n(h: H, name: *const c_char, count: i32, out: *mut *const c_char) -> OfxStatus {
    handles::guard(status::FAILED, || unsafe { get_n(h, name, count, out, |s, n, i| s.c_get_string(n, i)) })
}

unsafe extern "C" fn prop_get_double_n(h: H, name: *const c_char, count: i32, out: *mut f64) -> OfxStatus {
    handles::guard(status::FAILED, || unsafe { get_n(h, name, count, out, |s, n, i| s.c_get_double(n, i)) })
}

unsafe extern "C" fn prop_get_int_n(h: H, name: *const c_char, count: i32, out: *mut i32) -> OfxStatus {
    handles::guard(status::FAILED, || unsafe { get_n(h, name, count, out, |s, n, i| s.c_get_int(n, i)) })
}

unsafe extern "C" fn prop_reset(h: H, name: *const c_char) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        set.c_reset(name)
    })
}

unsafe extern "C" fn prop_get_dimension(h: H, name: *const c_char, count: *mut i32) -> OfxStatus {
    handles::guard(status::FAILED, || {
        let (set, name) = try_st!(unsafe { args(h, name) });
        if count.is_null() {
            return status::ERR_VALUE;
        }
        let n = try_st!(set.c_dimension(name));
        unsafe { *count = n };
        status::OK
    })
}

/// The property suite handed to plug-ins.
pub(crate) static PROPERTY_SUITE: ofx_sys::OfxPropertySuiteV1 = ofx_sys::OfxPropertySuiteV1 {
    propSetPointer: Some(prop_set_pointer),
    propSetString: Some(prop_set_string),
    propSetDouble: Some(prop_set_double),
    propSetInt: Some(prop_set_int),
    propSetPointerN: Some(prop_set_pointer_n),
    propSetStringN: Some(prop_set_string_n),
    propSetDoubleN: Some(prop_set_double_n),
    propSetIntN: Some(prop_set_int_n),
    propGetPointer: Some(prop_get_pointer),
    propGetString: Some(prop_get_string),
    propGetDouble: Some(prop_get_double),
    propGetInt: Some(prop_get_int),
    propGetPointerN: Some(prop_get_pointer_n),
    propGetStringN: Some(prop_get_string_n),
    propGetDoubleN: Some(prop_get_double_n),
    propGetIntN: Some(prop_get_int_n),
    propReset: Some(prop_reset),
    propGetDimension: Some(prop_get_dimension),
};

