//! Property-set tests, through the same C function pointers a plug-in uses.

use super::*;
use crate::suites::property::PROPERTY_SUITE;
use std::ffi::{CStr, CString};

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn suite() -> &'static ofx_sys::OfxPropertySuiteV1 {
    &PROPERTY_SUITE
}

#[test]
fn typed_get_set_through_the_suite() {
    let set = PropertySet::boxed();
    set.define("i", PropValue::Int(vec![1, 2]));
    set.define("d", PropValue::Double(vec![0.5]));
    set.define("s", PropValue::strs(&["a", "b"]));
    let h = set.handle();
    let s = suite();
    unsafe {
        let mut i = 0;
        assert_eq!(s.propGetInt.unwrap()(h, c("i").as_ptr(), 1, &mut i), status::OK);
        assert_eq!(i, 2);
        assert_eq!(s.propGetInt.unwrap()(h, c("i").as_ptr(), 2, &mut i), status::ERR_BAD_INDEX);
        assert_eq!(s.propGetInt.unwrap()(h, c("nope").as_ptr(), 0, &mut i), status::ERR_UNKNOWN);
        let mut d = 0.0;
        assert_eq!(s.propGetDouble.unwrap()(h, c("i").as_ptr(), 0, &mut d), status::ERR_VALUE);
        assert_eq!(s.propSetDouble.unwrap()(h, c("d").as_ptr(), 0, 2.5), status::OK);
        assert_eq!(s.propGetDouble.unwrap()(h, c("d").as_ptr(), 0, &mut d), status::OK);
        assert_eq!(d, 2.5);
        let mut p: *const std::ffi::c_char = std::ptr::null();
        assert_eq!(s.propGetString.unwrap()(h, c("s").as_ptr(), 1, &mut p), status::OK);
        assert_eq!(CStr::from_ptr(p).to_str().unwrap(), "b");
        // Replacing a string must not invalidate the pointer handed out before.
        assert_eq!(s.propSetString.unwrap()(h, c("s").as_ptr(), 1, c("changed").as_ptr()), status::OK);
        assert_eq!(CStr::from_ptr(p).to_str().unwrap(), "b");
        let mut dim = 0;
        assert_eq!(s.propGetDimension.unwrap()(h, c("s").as_ptr(), &mut dim), status::OK);
        assert_eq!(dim, 2);
        // Append one past the end.
        assert_eq!(s.propSetString.unwrap()(h, c("s").as_ptr(), 2, c("c").as_ptr()), status::OK);
        assert_eq!(set.strings("s").unwrap(), vec!["a", "changed", "c"]);
        // Null out-pointers and null handles are rejected, not dereferenced.
        assert_eq!(s.propGetInt.unwrap()(h, c("i").as_ptr(), 0, std::ptr::null_mut()), status::ERR_VALUE);
        assert_eq!(s.propGetInt.unwrap()(std::ptr::null_mut(), c("i").as_ptr(), 0, &mut i), status::ERR_BAD_HANDLE);
        assert_eq!(s.propGetInt.unwrap()(h, std::ptr::null(), 0, &mut i), status::ERR_UNKNOWN);
    }
}

#[test]
fn n_variants_reset_and_unknown_creation() {
    let set = PropertySet::boxed();
    set.define("rect", PropValue::Double(vec![0.0; 4]));
    let h = set.handle();
    let s = suite();
    unsafe {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(s.propSetDoubleN.unwrap()(h, c("rect").as_ptr(), 4, v.as_ptr()), status::OK);
        let mut out = [0.0; 4];
        assert_eq!(s.propGetDoubleN.unwrap()(h, c("rect").as_ptr(), 4, out.as_mut_ptr()), status::OK);
        assert_eq!(out, v);
        assert_eq!(s.propGetDoubleN.unwrap()(h, c("rect").as_ptr(), 5, out.as_mut_ptr()), status::ERR_BAD_INDEX);
        assert_eq!(s.propReset.unwrap()(h, c("rect").as_ptr()), status::OK);
        assert_eq!(set.doubles("rect").unwrap(), vec![0.0; 4]);
        // A property the host did not define is created by a set.
        let strs = [c("x"), c("y")];
        let ptrs: Vec<*const std::ffi::c_char> = strs.iter().map(|s| s.as_ptr()).collect();
        assert_eq!(s.propSetStringN.unwrap()(h, c("new").as_ptr(), 2, ptrs.as_ptr()), status::OK);
        assert_eq!(set.strings("new").unwrap(), vec!["x", "y"]);
        let mut ptr_out: *mut std::ffi::c_void = std::ptr::null_mut();
        assert_eq!(s.propSetPointer.unwrap()(h, c("ptr").as_ptr(), 0, 0x1234 as *mut _), status::OK);
        assert_eq!(s.propGetPointer.unwrap()(h, c("ptr").as_ptr(), 0, &mut ptr_out), status::OK);
        assert_eq!(ptr_out as usize, 0x1234);
        let ints = [7, 8, 9];
        assert_eq!(s.propSetIntN.unwrap()(h, c("ints").as_ptr(), 3, ints.as_ptr()), status::OK);
        let mut iout = [0; 2];
        assert_eq!(s.propGetIntN.unwrap()(h, c("ints").as_ptr(), 2, iout.as_mut_ptr()), status::OK);
        assert_eq!(iout, [7, 8]);
        // Type mismatch on an existing property.
        assert_eq!(s.propSetIntN.unwrap()(h, c("rect").as_ptr(), 3, ints.as_ptr()), status::ERR_VALUE);
    }
    let snap = set.snapshot();
    assert_eq!(snap.strings("new").unwrap(), ["x", "y"]);
    assert_eq!(snap.ints("ints").unwrap(), [7, 8, 9]);
}

#[test]
fn dropped_set_is_a_bad_handle() {
    let set = PropertySet::boxed();
    set.define("only_in_dropped_set", PropValue::Int(vec![1]));
    let h = set.handle();
    drop(set);
    let mut i = 0;
    let st = unsafe { suite().propGetInt.unwrap()(h, c("only_in_dropped_set").as_ptr(), 0, &mut i) };
    // Another test running in parallel may have reused the address for a new set; it cannot have
    // this property, so the call fails either way.
    assert!(st == status::ERR_BAD_HANDLE || st == status::ERR_UNKNOWN, "{st}");
}

#[test]
fn copy_keeps_values_and_defaults() {
    let a = PropertySet::boxed();
    a.define("x", PropValue::Int(vec![3]));
    a.set("x", PropValue::Int(vec![4]));
    let b = PropertySet::boxed_copy(&a);
    assert_eq!(b.int("x"), Some(4));
    assert_eq!(b.c_reset("x"), status::OK);
    assert_eq!(b.int("x"), Some(3));
    assert_eq!(a.int("x"), Some(4));
}
