//! Safe access to the parameter suite: defining parameters at describe time, reading them at render time.

use super::props::PropSet;
use super::{check, cstr, suites, OfxError};
use ofx_sys as sys;
use std::ffi::{c_char, CStr, CString};

/// The effect's parameter set (descriptor or instance).
#[derive(Clone, Copy, Debug)]
pub struct ParamSet(sys::OfxParamSetHandle);

/// One parameter instance.
#[derive(Clone, Copy, Debug)]
pub struct Param(sys::OfxParamHandle);

// SAFETY: opaque host tokens that the spec lets render threads use for reading values; never dereferenced.
unsafe impl Send for ParamSet {}
unsafe impl Sync for ParamSet {}
unsafe impl Send for Param {}
unsafe impl Sync for Param {}

macro_rules! suite_fn {
    ($suites:expr, $f:ident) => {
        $suites.param.$f.ok_or(OfxError::MissingSuite(concat!("parameter (", stringify!($f), ")")))?
    };
}

fn c_text(s: &str) -> Result<CString, OfxError> {
    CString::new(s).map_err(|_| OfxError::NulInString)
}

impl ParamSet {
    pub(crate) fn from_raw(h: sys::OfxParamSetHandle) -> Self {
        ParamSet(h)
    }

    /// Defines a parameter of an OFX type (`sys::kOfxParamTypeDouble`...) and returns its property set.
    pub fn define(&self, kind: &'static [u8], name: &str) -> Result<PropSet, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, paramDefine);
        let n = c_text(name)?;
        let mut props: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: handle from the describe action; NUL-terminated type and name (the host copies the name);
        // `props` is a valid out pointer.
        check("paramDefine", unsafe { f(self.0, cstr(kind).as_ptr(), n.as_ptr(), &mut props) })?;
        if props.is_null() {
            return Err(OfxError::Null("parameter property set"));
        }
        Ok(PropSet::from_raw(props))
    }

    /// The instance handle of a parameter by script name.
    pub fn get(&self, name: &str) -> Result<Param, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, paramGetHandle);
        let n = c_text(name)?;
        let mut h: sys::OfxParamHandle = std::ptr::null_mut();
        // SAFETY: instance param set; NUL-terminated name; valid out pointers (the property set is optional).
        check("paramGetHandle", unsafe { f(self.0, n.as_ptr(), &mut h, std::ptr::null_mut()) })?;
        if h.is_null() {
            return Err(OfxError::Null("parameter handle"));
        }
        Ok(Param(h))
    }
}

impl Param {
    /// The parameter's property set (to change choice options, labels, enabledness).
    pub fn props(&self) -> Result<PropSet, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, paramGetPropertySet);
        let mut props: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: live param handle, valid out pointer.
        check("paramGetPropertySet", unsafe { f(self.0, &mut props) })?;
        if props.is_null() {
            return Err(OfxError::Null("parameter property set"));
        }
        Ok(PropSet::from_raw(props))
    }

    // The value getters call the C-variadic `paramGetValueAtTime(handle, time, ...)`: the spec fixes the
    // trailing arguments by parameter type (one pointer per component). Calling a C-variadic function from
    // Rust is sound as long as we pass exactly what that type expects, which each getter does.

    pub fn double_at(&self, time: f64) -> Result<f64, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, paramGetValueAtTime);
        let mut v = 0.0f64;
        // SAFETY: double parameters take one `double*`.
        check("paramGetValueAtTime(double)", unsafe { f(self.0, time, &mut v as *mut f64) })?;
        Ok(v)
    }

    pub fn double2d_at(&self, time: f64) -> Result<(f64, f64), OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, paramGetValueAtTime);
        let (mut x, mut y) = (0.0f64, 0.0f64);
        // SAFETY: 2D double parameters take two `double*`.
        check("paramGetValueAtTime(double2d)", unsafe { f(self.0, time, &mut x as *mut f64, &mut y as *mut f64) })?;
        Ok((x, y))
    }

    /// Integer, boolean and choice parameters all return one `int`.
    pub fn int_at(&self, time: f64) -> Result<i32, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, paramGetValueAtTime);
        let mut v: i32 = 0;
        // SAFETY: int, boolean and choice parameters take one `int*`.
        check("paramGetValueAtTime(int)", unsafe { f(self.0, time, &mut v as *mut i32) })?;
        Ok(v)
    }

    pub fn string_at(&self, time: f64) -> Result<String, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, paramGetValueAtTime);
        let mut p: *mut c_char = std::ptr::null_mut();
        // SAFETY: string parameters take one `char**`; the host keeps the string alive until the value changes
        // and we copy it immediately.
        check("paramGetValueAtTime(string)", unsafe { f(self.0, time, &mut p as *mut *mut c_char) })?;
        if p.is_null() {
            return Ok(String::new());
        }
        // SAFETY: non-null NUL-terminated host string (see above).
        unsafe { CStr::from_ptr(p) }.to_str().map(str::to_owned).map_err(|_| OfxError::NotUtf8)
    }

    /// Sets a string parameter's (non-animated) value.
    pub fn set_string(&self, value: &str) -> Result<(), OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, paramSetValue);
        let v = c_text(value)?;
        // SAFETY: string parameters take one `char*` by value; the host copies it.
        check("paramSetValue(string)", unsafe { f(self.0, v.as_ptr()) })
    }

    /// Sets an int, boolean or choice parameter's (non-animated) value.
    pub fn set_int(&self, value: i32) -> Result<(), OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, paramSetValue);
        // SAFETY: int-like parameters take one `int` by value.
        check("paramSetValue(int)", unsafe { f(self.0, value as std::ffi::c_int) })
    }
}
