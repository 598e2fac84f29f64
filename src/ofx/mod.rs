//! The OpenFX boundary: the only module with raw pointers and `unsafe`.
//!
//! Everything the host hands us (suite tables, property sets, parameter and clip handles, image memory) is
//! wrapped here in small safe types; the node (`crate::node`) works only with those. Each `unsafe` block says
//! which promise of the OFX 1.4 specification makes it sound.
//!
//! - [`entry`]: the two exported symbols, `setHost`, `mainEntry` and the panic guard around every call.
//! - [`suites`]: the host's suite tables, fetched once per load.
//! - [`props`], [`param`], [`clip`], [`image`], [`message`]: safe handles over the suites.
//! - [`plane_suite`]: Foundry's multi-plane suite, which `ofx_sys` does not bind, declared by hand.

pub mod action;
pub mod clip;
pub mod entry;
pub mod image;
pub mod message;
pub mod param;
pub mod plane_suite;
pub mod props;
pub mod suites;

/// Property names, action names, parameter types and other string constants of the OFX headers, as
/// NUL-terminated byte strings (`b"OfxPropName\0"`). Plain data: safe to use anywhere.
pub use ofx_sys as sys;

use std::ffi::CStr;
use thiserror::Error;

/// A failure at the OFX boundary.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OfxError {
    #[error("the host has not provided the {0} suite")]
    MissingSuite(&'static str),
    #[error("host call {call} failed with OFX status {status}")]
    Host { call: &'static str, status: i32 },
    #[error("the host returned a null {0}")]
    Null(&'static str),
    #[error("text passed to the host contains a NUL byte")]
    NulInString,
    #[error("the host returned text that is not UTF-8")]
    NotUtf8,
    #[error("the host image has unsupported layout: {0}")]
    BadImage(String),
}

/// Turns an OFX header constant (`&[u8]` ending in NUL) into a C string.
pub fn cstr(bytes: &'static [u8]) -> &'static CStr {
    // Every constant of ofx_sys ends with exactly one NUL; a malformed one is a bug in the bindings and
    // falls back to the empty string rather than panicking inside the host.
    CStr::from_bytes_with_nul(bytes).unwrap_or(c"")
}

/// Text as the host's C strings compare it: the constant without its NUL.
pub fn text(bytes: &'static [u8]) -> &'static str {
    cstr(bytes).to_str().unwrap_or("")
}

/// OFX status codes we return, as a safe enum. The node decides which one; [`entry`] converts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    ReplyDefault,
    Failed,
    ErrFatal,
    ErrBadHandle,
    ErrBadIndex,
    ErrValue,
    ErrMemory,
    ErrUnsupported,
    ErrMissingHostFeature,
}

impl Status {
    /// The integer the C ABI carries.
    pub fn code(self) -> ofx_sys::OfxStatus {
        // The headers define the statuses as casts bindgen cannot bind; ofx_sys's `eOfxStatus` enum mirrors them.
        match self {
            Status::Ok => ofx_sys::eOfxStatus_OK,
            Status::ReplyDefault => ofx_sys::eOfxStatus_ReplyDefault,
            Status::Failed => ofx_sys::eOfxStatus_Failed,
            Status::ErrFatal => ofx_sys::eOfxStatus_ErrFatal,
            Status::ErrBadHandle => ofx_sys::eOfxStatus_ErrBadHandle,
            Status::ErrBadIndex => ofx_sys::eOfxStatus_ErrBadIndex,
            Status::ErrValue => ofx_sys::eOfxStatus_ErrValue,
            Status::ErrMemory => ofx_sys::eOfxStatus_ErrMemory,
            Status::ErrUnsupported => ofx_sys::eOfxStatus_ErrUnsupported,
            Status::ErrMissingHostFeature => ofx_sys::eOfxStatus_ErrMissingHostFeature,
        }
    }
}

/// Checks a host call's status.
pub(crate) fn check(call: &'static str, status: ofx_sys::OfxStatus) -> Result<(), OfxError> {
    if status == ofx_sys::kOfxStatOK as ofx_sys::OfxStatus {
        Ok(())
    } else {
        Err(OfxError::Host { call, status })
    }
}

/// Rectangle in pixel coordinates, OFX convention: x1,y1 inclusive bottom-left, x2,y2 exclusive top-right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RectI {
    pub x1: i32,
    pub y1: i32,
    pub x2: i32,
    pub y2: i32,
}

impl RectI {
    pub fn width(&self) -> i32 {
        (self.x2 - self.x1).max(0)
    }
    pub fn height(&self) -> i32 {
        (self.y2 - self.y1).max(0)
    }
    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }
    pub fn intersect(&self, o: &RectI) -> RectI {
        RectI { x1: self.x1.max(o.x1), y1: self.y1.max(o.y1), x2: self.x2.min(o.x2), y2: self.y2.min(o.y2) }
    }
}

/// Rectangle in canonical coordinates (doubles).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct RectD {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}
