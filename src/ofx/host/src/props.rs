//! Typed, N-dimensional OFX property sets (the property suite itself is in `suites::property`).
//!
//! Semantics (OFX 1.4, `ofxProperty.h`):
//! - a property has one type (int, double, string or pointer) and a dimension that may change when
//!   the whole vector is set (`propSet…N`) or when an index one past the end is set (append);
//! - getting an unknown property is `kOfxStatErrUnknown`, which plug-ins use to probe host features;
//! - setting an unknown property creates it, so the host records everything a plug-in declares, even
//!   extensions it does not know (real hosts reject those; being lenient costs nothing here);
//! - a type mismatch is `kOfxStatErrValue`, an index out of range `kOfxStatErrBadIndex`;
//! - strings handed to the plug-in stay valid as long as the property set lives: replaced strings are
//!   retired into the set rather than freed.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_void, CString};

use parking_lot::Mutex;

use crate::handles::{self, status, Kind, OfxStatus};

/// A property's value as seen from Rust.
#[derive(Clone, Debug, PartialEq)]
pub enum PropValue {
    Int(Vec<i32>),
    Double(Vec<f64>),
    String(Vec<String>),
    /// Pointers as addresses; only their identity is meaningful to the host.
    Pointer(Vec<usize>),
}

impl PropValue {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            PropValue::Int(v) => v.len(),
            PropValue::Double(v) => v.len(),
            PropValue::String(v) => v.len(),
            PropValue::Pointer(v) => v.len(),
        }
    }

    /// True for a zero-dimension property.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A one-value string property.
    pub fn str(s: &str) -> Self {
        PropValue::String(vec![s.to_owned()])
    }

    /// A string property from several values.
    pub fn strs(values: &[&str]) -> Self {
        PropValue::String(values.iter().map(|s| (*s).to_owned()).collect())
    }
}

/// A copy of a whole property set, for tests and for the describe snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PropSnapshot(pub BTreeMap<String, PropValue>);

impl PropSnapshot {
    /// The raw value of a property.
    pub fn get(&self, name: &str) -> Option<&PropValue> {
        self.0.get(name)
    }

    /// The first int of an int property.
    pub fn int(&self, name: &str) -> Option<i32> {
        self.ints(name).and_then(|v| v.first().copied())
    }

    /// All ints of an int property.
    pub fn ints(&self, name: &str) -> Option<&[i32]> {
        match self.0.get(name)? {
            PropValue::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The first double of a double property.
    pub fn double(&self, name: &str) -> Option<f64> {
        self.doubles(name).and_then(|v| v.first().copied())
    }

    /// All doubles of a double property.
    pub fn doubles(&self, name: &str) -> Option<&[f64]> {
        match self.0.get(name)? {
            PropValue::Double(v) => Some(v),
            _ => None,
        }
    }

    /// The first string of a string property.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.strings(name).and_then(|v| v.first().map(String::as_str))
    }

    /// All strings of a string property.
    pub fn strings(&self, name: &str) -> Option<&[String]> {
        match self.0.get(name)? {
            PropValue::String(v) => Some(v),
            _ => None,
        }
    }

    /// Property names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// Internal storage: strings kept as `CString` so `propGetString` can hand out stable pointers.
#[derive(Clone, Debug)]
pub(crate) enum Stored {
    Int(Vec<i32>),
    Double(Vec<f64>),
    String(Vec<CString>),
    Pointer(Vec<usize>),
}

fn to_cstring(s: &str) -> CString {
    // Interior NULs cannot be represented in C; cut the string there like C would read it.
    let cut = s.split('\0').next().unwrap_or("");
    CString::new(cut).unwrap_or_default()
}

impl Stored {
    fn from_value(v: &PropValue) -> Stored {
        match v {
            PropValue::Int(x) => Stored::Int(x.clone()),
            PropValue::Double(x) => Stored::Double(x.clone()),
            PropValue::String(x) => Stored::String(x.iter().map(|s| to_cstring(s)).collect()),
            PropValue::Pointer(x) => Stored::Pointer(x.clone()),
        }
    }

    fn to_value(&self) -> PropValue {
        match self {
            Stored::Int(x) => PropValue::Int(x.clone()),
            Stored::Double(x) => PropValue::Double(x.clone()),
            Stored::String(x) => PropValue::String(x.iter().map(|s| s.to_string_lossy().into_owned()).collect()),
            Stored::Pointer(x) => PropValue::Pointer(x.clone()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Stored::Int(v) => v.len(),
            Stored::Double(v) => v.len(),
            Stored::String(v) => v.len(),
            Stored::Pointer(v) => v.len(),
        }
    }
}

#[derive(Debug)]
struct Prop {
    value: Stored,
    default: Stored,
}

#[derive(Debug, Default)]
struct Inner {
    props: HashMap<String, Prop>,
    /// Strings that were replaced while the plug-in may still hold pointers to them.
    retired: Vec<CString>,
}

/// A property set the plug-in reaches through an `OfxPropertySetHandle`.
///
/// Always lives in a `Box` created by [`PropertySet::boxed`], whose address is the handle.
#[derive(Debug)]
pub struct PropertySet {
    inner: Mutex<Inner>,
}

/// Sets one element of a vector, appending when `index == len` and padding with `fill` beyond.
fn set_at<T: Clone>(v: &mut Vec<T>, index: usize, value: T, fill: T) {
    if index >= v.len() {
        v.resize(index, fill);
        v.push(value);
    } else {
        v[index] = value;
    }
}

impl PropertySet {
    /// A new, empty, registered property set.
    pub(crate) fn boxed() -> Box<PropertySet> {
        let b = Box::new(PropertySet { inner: Mutex::new(Inner::default()) });
        handles::register(&*b as *const PropertySet, Kind::PropertySet);
        b
    }

    /// A registered copy (values and defaults) of another set.
    pub(crate) fn boxed_copy(other: &PropertySet) -> Box<PropertySet> {
        let b = PropertySet::boxed();
        {
            let src = other.inner.lock();
            let mut dst = b.inner.lock();
            for (name, p) in &src.props {
                dst.props.insert(name.clone(), Prop { value: p.value.clone(), default: p.default.clone() });
            }
        }
        b
    }

    /// The handle the plug-in sees.
    pub(crate) fn handle(&self) -> ofx_sys::OfxPropertySetHandle {
        self as *const PropertySet as ofx_sys::OfxPropertySetHandle
    }

    /// Resolves a plug-in supplied handle.
    ///
    /// # Safety
    /// See [`handles::resolve`].
    pub(crate) unsafe fn from_handle<'a>(h: ofx_sys::OfxPropertySetHandle) -> Option<&'a PropertySet> {
        unsafe { handles::resolve(h as *const c_void, Kind::PropertySet) }
    }

    /// Defines a property with a value that is also its default (host side).
    pub fn define(&self, name: &str, value: PropValue) {
        let stored = Stored::from_value(&value);
        let mut inner = self.inner.lock();
        let old = inner.props.insert(name.to_owned(), Prop { value: stored.clone(), default: stored });
        if let Some(Prop { value: Stored::String(old), .. }) = old {
            inner.retired.extend(old);
        }
    }

    /// Sets a whole property from Rust, creating it if needed (keeps an existing default).
    pub fn set(&self, name: &str, value: PropValue) {
        let stored = Stored::from_value(&value);
        let mut inner = self.inner.lock();
        let retired = match inner.props.get_mut(name) {
            Some(p) => std::mem::replace(&mut p.value, stored),
            None => {
                inner.props.insert(name.to_owned(), Prop { value: stored.clone(), default: stored });
                return;
            }
        };
        if let Stored::String(old) = retired {
            inner.retired.extend(old);
        }
    }

    /// The value of a property.
    pub fn get(&self, name: &str) -> Option<PropValue> {
        self.inner.lock().props.get(name).map(|p| p.value.to_value())
    }

    /// Whether a property exists.
    pub fn contains(&self, name: &str) -> bool {
        self.inner.lock().props.contains_key(name)
    }

    /// First int of an int property.
    pub fn int(&self, name: &str) -> Option<i32> {
        match self.inner.lock().props.get(name)?.value {
            Stored::Int(ref v) => v.first().copied(),
            _ => None,
        }
    }

    /// First double of a double property.
    pub fn double(&self, name: &str) -> Option<f64> {
        match self.inner.lock().props.get(name)?.value {
            Stored::Double(ref v) => v.first().copied(),
            _ => None,
        }
    }

    /// All doubles of a double property.
    pub fn doubles(&self, name: &str) -> Option<Vec<f64>> {
        match self.inner.lock().props.get(name)?.value {
            Stored::Double(ref v) => Some(v.clone()),
            _ => None,
        }
    }

    /// All ints of an int property.
    pub fn ints(&self, name: &str) -> Option<Vec<i32>> {
        match self.inner.lock().props.get(name)?.value {
            Stored::Int(ref v) => Some(v.clone()),
            _ => None,
        }
    }

    /// First string of a string property.
    pub fn string(&self, name: &str) -> Option<String> {
        self.strings(name).and_then(|v| v.into_iter().next())
    }

    /// All strings of a string property.
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        match self.get(name)? {
            PropValue::String(v) => Some(v),
            _ => None,
        }
    }

    /// First pointer of a pointer property.
    pub fn pointer(&self, name: &str) -> Option<usize> {
        match self.inner.lock().props.get(name)?.value {
            Stored::Pointer(ref v) => v.first().copied(),
            _ => None,
        }
    }

    /// A copy of every property.
    pub fn snapshot(&self) -> PropSnapshot {
        let inner = self.inner.lock();
        PropSnapshot(inner.props.iter().map(|(k, p)| (k.clone(), p.value.to_value())).collect())
    }

    // ---- the C-facing operations, returning OFX status codes ----

    fn with_prop<R>(&self, name: &str, f: impl FnOnce(&mut Stored, &mut Vec<CString>) -> Result<R, OfxStatus>) -> Result<R, OfxStatus> {
        let mut inner = self.inner.lock();
        let Inner { props, retired } = &mut *inner;
        let p = props.get_mut(name).ok_or(status::ERR_UNKNOWN)?;
        f(&mut p.value, retired)
    }

    /// Sets element `index`, creating the property with that type when unknown.
    pub(crate) fn c_set(&self, name: &str, index: i32, value: Stored) -> OfxStatus {
        let Ok(index) = usize::try_from(index) else { return status::ERR_BAD_INDEX };
        let mut inner = self.inner.lock();
        let Inner { props, retired } = &mut *inner;
        let prop = props.entry(name.to_owned()).or_insert_with(|| {
            let empty = match value {
                Stored::Int(_) => Stored::Int(Vec::new()),
                Stored::Double(_) => Stored::Double(Vec::new()),
                Stored::String(_) => Stored::String(Vec::new()),
                Stored::Pointer(_) => Stored::Pointer(Vec::new()),
            };
            Prop { value: empty.clone(), default: empty }
        });
        match (&mut prop.value, value) {
            (Stored::Int(v), Stored::Int(x)) => set_at(v, index, x[0], 0),
            (Stored::Double(v), Stored::Double(x)) => set_at(v, index, x[0], 0.0),
            (Stored::Pointer(v), Stored::Pointer(x)) => set_at(v, index, x[0], 0),
            (Stored::String(v), Stored::String(mut x)) => {
                let new = x.remove(0);
                if index < v.len() {
                    retired.push(std::mem::replace(&mut v[index], new));
                } else {
                    set_at(v, index, new, CString::default());
                }
            }
            _ => return status::ERR_VALUE,
        }
        status::OK
    }

    /// Replaces the whole vector (`propSet…N`).
    pub(crate) fn c_set_n(&self, name: &str, value: Stored) -> OfxStatus {
        let mut inner = self.inner.lock();
        let Inner { props, retired } = &mut *inner;
        match props.get_mut(name) {
            None => {
                props.insert(name.to_owned(), Prop { value: value.clone(), default: value });
                status::OK
            }
            Some(p) => {
                if std::mem::discriminant(&p.value) != std::mem::discriminant(&value) {
                    return status::ERR_VALUE;
                }
                if let Stored::String(old) = std::mem::replace(&mut p.value, value) {
                    retired.extend(old);
                }
                status::OK
            }
        }
    }

    pub(crate) fn c_get_int(&self, name: &str, index: i32) -> Result<i32, OfxStatus> {
        self.with_prop(name, |v, _| match v {
            Stored::Int(v) => usize::try_from(index).ok().and_then(|i| v.get(i).copied()).ok_or(status::ERR_BAD_INDEX),
            _ => Err(status::ERR_VALUE),
        })
    }

    pub(crate) fn c_get_double(&self, name: &str, index: i32) -> Result<f64, OfxStatus> {
        self.with_prop(name, |v, _| match v {
            Stored::Double(v) => usize::try_from(index).ok().and_then(|i| v.get(i).copied()).ok_or(status::ERR_BAD_INDEX),
            _ => Err(status::ERR_VALUE),
        })
    }

    pub(crate) fn c_get_pointer(&self, name: &str, index: i32) -> Result<usize, OfxStatus> {
        self.with_prop(name, |v, _| match v {
            Stored::Pointer(v) => usize::try_from(index).ok().and_then(|i| v.get(i).copied()).ok_or(status::ERR_BAD_INDEX),
            _ => Err(status::ERR_VALUE),
        })
    }

    /// The pointer stays valid while the set lives (the CString is never freed before that).
    pub(crate) fn c_get_string(&self, name: &str, index: i32) -> Result<*const c_char, OfxStatus> {
        self.with_prop(name, |v, _| match v {
            Stored::String(v) => usize::try_from(index).ok().and_then(|i| v.get(i)).map(|s| s.as_ptr()).ok_or(status::ERR_BAD_INDEX),
            _ => Err(status::ERR_VALUE),
        })
    }

    pub(crate) fn c_dimension(&self, name: &str) -> Result<i32, OfxStatus> {
        self.with_prop(name, |v, _| Ok(i32::try_from(v.len()).unwrap_or(i32::MAX)))
    }

    pub(crate) fn c_reset(&self, name: &str) -> OfxStatus {
        let mut inner = self.inner.lock();
        let Inner { props, retired } = &mut *inner;
        let Some(p) = props.get_mut(name) else { return status::ERR_UNKNOWN };
        if let Stored::String(old) = std::mem::replace(&mut p.value, p.default.clone()) {
            retired.extend(old);
        }
        status::OK
    }
}

impl Drop for PropertySet {
    fn drop(&mut self) {
        handles::unregister(self as *const PropertySet);
    }
}

#[cfg(test)]
#[path = "props_tests.rs"]
mod tests;
