//! Safe access to OFX property sets.

use super::{check, cstr, suites, OfxError};
use ofx_sys as sys;
use std::ffi::{c_char, c_void, CStr, CString};

/// A host-owned property set (effect, clip, parameter, image or action arguments).
#[derive(Clone, Copy, Debug)]
pub struct PropSet(sys::OfxPropertySetHandle);

// SAFETY: property set handles are opaque host tokens; the spec allows using them from the thread running
// the action that received them, and render threads for render-time sets. We never dereference them.
unsafe impl Send for PropSet {}
unsafe impl Sync for PropSet {}

/// Owned copy of text for the host: it copies strings during `propSetString`, so a temporary is enough.
fn c_text(s: &str) -> Result<CString, OfxError> {
    CString::new(s).map_err(|_| OfxError::NulInString)
}

macro_rules! suite_fn {
    ($suites:expr, $f:ident) => {
        $suites.property.$f.ok_or(OfxError::MissingSuite(concat!("property (", stringify!($f), ")")))?
    };
}

impl PropSet {
    pub(crate) fn from_raw(h: sys::OfxPropertySetHandle) -> Self {
        PropSet(h)
    }

    pub fn is_null(&self) -> bool {
        self.0.is_null()
    }

    fn live(&self) -> Result<sys::OfxPropertySetHandle, OfxError> {
        if self.0.is_null() {
            Err(OfxError::Null("property set"))
        } else {
            Ok(self.0)
        }
    }

    pub fn set_string(&self, name: &'static [u8], index: i32, value: &str) -> Result<(), OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propSetString);
        let v = c_text(value)?;
        // SAFETY: live handle from the host, NUL-terminated name and value; the host copies the value.
        check("propSetString", unsafe { f(self.live()?, cstr(name).as_ptr(), index, v.as_ptr()) })
    }

    /// Sets values `0..values.len()` of a string property. Values beyond those keep what they held: use
    /// [`PropSet::replace_strings`] when the list may shrink.
    pub fn set_strings(&self, name: &'static [u8], values: &[&str]) -> Result<(), OfxError> {
        for (i, v) in values.iter().enumerate() {
            self.set_string(name, i as i32, v)?;
        }
        Ok(())
    }

    /// Replaces a string property by exactly `values`, shorter or longer than before (a dynamic choice menu):
    /// `propReset` to its default (empty for choice options), then the values from index 0. This is the OFX
    /// Support library's `resetOptions` + `appendOption`, the sequence openfx-misc plug-ins use with Natron.
    pub fn replace_strings(&self, name: &'static [u8], values: &[&str]) -> Result<(), OfxError> {
        let s = suites::get()?;
        if let Some(reset) = s.property.propReset {
            // SAFETY: live handle from the host, NUL-terminated name.
            let status = unsafe { reset(self.live()?, cstr(name).as_ptr()) };
            // A host that cannot reset the property still gets the new values written over the old ones: a
            // list with stale extra entries beats one not updated at all.
            let _ = check("propReset", status);
        }
        self.set_strings(name, values)
    }

    pub fn set_int(&self, name: &'static [u8], index: i32, value: i32) -> Result<(), OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propSetInt);
        // SAFETY: live handle, NUL-terminated name.
        check("propSetInt", unsafe { f(self.live()?, cstr(name).as_ptr(), index, value) })
    }

    pub fn set_double(&self, name: &'static [u8], index: i32, value: f64) -> Result<(), OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propSetDouble);
        // SAFETY: live handle, NUL-terminated name.
        check("propSetDouble", unsafe { f(self.live()?, cstr(name).as_ptr(), index, value) })
    }

    pub fn set_doubles(&self, name: &'static [u8], values: &[f64]) -> Result<(), OfxError> {
        for (i, v) in values.iter().enumerate() {
            self.set_double(name, i as i32, *v)?;
        }
        Ok(())
    }

    pub(crate) fn set_pointer(&self, name: &'static [u8], index: i32, value: *mut c_void) -> Result<(), OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propSetPointer);
        // SAFETY: live handle, NUL-terminated name; the host stores the pointer value only.
        check("propSetPointer", unsafe { f(self.live()?, cstr(name).as_ptr(), index, value) })
    }

    pub fn get_string(&self, name: &'static [u8], index: i32) -> Result<String, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propGetString);
        let mut out: *const c_char = std::ptr::null();
        // SAFETY: live handle, NUL-terminated name, `out` is a valid place for one pointer.
        check("propGetString", unsafe { f(self.live()?, cstr(name).as_ptr(), index, &mut out) })?;
        if out.is_null() {
            return Ok(String::new());
        }
        // SAFETY: on success the host returns a NUL-terminated string it keeps alive at least until the
        // property changes; we copy it at once.
        let text = unsafe { CStr::from_ptr(out) };
        text.to_str().map(str::to_owned).map_err(|_| OfxError::NotUtf8)
    }

    pub fn get_int(&self, name: &'static [u8], index: i32) -> Result<i32, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propGetInt);
        let mut out = 0;
        // SAFETY: live handle, NUL-terminated name, `out` valid.
        check("propGetInt", unsafe { f(self.live()?, cstr(name).as_ptr(), index, &mut out) })?;
        Ok(out)
    }

    pub fn get_double(&self, name: &'static [u8], index: i32) -> Result<f64, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propGetDouble);
        let mut out = 0.0;
        // SAFETY: live handle, NUL-terminated name, `out` valid.
        check("propGetDouble", unsafe { f(self.live()?, cstr(name).as_ptr(), index, &mut out) })?;
        Ok(out)
    }

    pub fn get_doubles<const N: usize>(&self, name: &'static [u8]) -> Result<[f64; N], OfxError> {
        let mut out = [0.0; N];
        for (i, v) in out.iter_mut().enumerate() {
            *v = self.get_double(name, i as i32)?;
        }
        Ok(out)
    }

    pub fn get_ints<const N: usize>(&self, name: &'static [u8]) -> Result<[i32; N], OfxError> {
        let mut out = [0; N];
        for (i, v) in out.iter_mut().enumerate() {
            *v = self.get_int(name, i as i32)?;
        }
        Ok(out)
    }

    pub(crate) fn get_pointer(&self, name: &'static [u8], index: i32) -> Result<*mut c_void, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propGetPointer);
        let mut out: *mut c_void = std::ptr::null_mut();
        // SAFETY: live handle, NUL-terminated name, `out` valid.
        check("propGetPointer", unsafe { f(self.live()?, cstr(name).as_ptr(), index, &mut out) })?;
        Ok(out)
    }

    pub fn dimension(&self, name: &'static [u8]) -> Result<i32, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propGetDimension);
        let mut out = 0;
        // SAFETY: live handle, NUL-terminated name, `out` valid.
        check("propGetDimension", unsafe { f(self.live()?, cstr(name).as_ptr(), &mut out) })?;
        Ok(out)
    }

    /// Every value of a string property.
    pub fn get_strings(&self, name: &'static [u8]) -> Result<Vec<String>, OfxError> {
        let n = self.dimension(name)?;
        (0..n).map(|i| self.get_string(name, i)).collect()
    }

    /// Sets a property whose name is built at run time (Foundry's per-clip "OfxNeededComp_<clip>" keys).
    pub fn set_strings_dynamic(&self, name: &str, values: &[&str]) -> Result<(), OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propSetString);
        let n = c_text(name)?;
        for (i, v) in values.iter().enumerate() {
            let v = c_text(v)?;
            // SAFETY: live handle, NUL-terminated name and value; the host copies both.
            check("propSetString", unsafe { f(self.live()?, n.as_ptr(), i as i32, v.as_ptr()) })?;
        }
        Ok(())
    }
}

impl PropSet {
    /// Sets a double property whose name is built at run time (per-clip "OfxImageClipPropRoI_<clip>" keys).
    pub fn set_doubles_dynamic(&self, name: &str, values: &[f64]) -> Result<(), OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, propSetDouble);
        let n = c_text(name)?;
        for (i, v) in values.iter().enumerate() {
            // SAFETY: live handle, NUL-terminated name.
            check("propSetDouble", unsafe { f(self.live()?, n.as_ptr(), i as i32, *v) })?;
        }
        Ok(())
    }
}
