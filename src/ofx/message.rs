//! Messages to the user: transient and persistent (shown on the node until cleared).

use super::clip::Effect;
use super::{suites, OfxError};
use ofx_sys as sys;
use std::ffi::CString;

/// Severity of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Message,
}

impl Level {
    fn ofx(self) -> &'static [u8] {
        match self {
            Level::Error => sys::kOfxMessageError,
            Level::Warning => sys::kOfxMessageWarning,
            Level::Message => sys::kOfxMessageMessage,
        }
    }
}

// Message text goes through a "%s" format: the suites are printf-like, and user text (file paths) may hold '%'.
const FORMAT: &[u8] = b"%s\0";

fn c_text(s: &str) -> CString {
    // Interior NULs cannot come from our own messages; replace rather than fail to report the original error.
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// Shows a message on the effect that stays until cleared (message suite v2). Falls back to a transient
/// message (v1) on hosts without v2, and does nothing on hosts without either.
pub fn set_persistent(effect: Effect, level: Level, text: &str) -> Result<(), OfxError> {
    let s = suites::get()?;
    let msg = c_text(text);
    let kind = super::cstr(level.ofx());
    if let Some(f) = s.message_v2.and_then(|m| m.setPersistentMessage) {
        // SAFETY: effect instance handle; NUL-terminated type and id (may be NULL per spec); "%s" with one
        // `char*` argument matches the variadic contract.
        let status = unsafe { f(effect.raw() as *mut _, kind.as_ptr(), std::ptr::null(), FORMAT.as_ptr().cast(), msg.as_ptr()) };
        return super::check("setPersistentMessage", status);
    }
    if let Some(f) = s.message_v1.and_then(|m| m.message) {
        // SAFETY: as above, for the v1 transient message.
        let status = unsafe { f(effect.raw() as *mut _, kind.as_ptr(), std::ptr::null(), FORMAT.as_ptr().cast(), msg.as_ptr()) };
        // Hosts return kOfxStatReplyYes/No/Default for questions; none of those are failures for a notice.
        let _ = status;
    }
    Ok(())
}

/// Clears the persistent message, if any (no-op without message suite v2).
pub fn clear_persistent(effect: Effect) -> Result<(), OfxError> {
    let s = suites::get()?;
    if let Some(f) = s.message_v2.and_then(|m| m.clearPersistentMessage) {
        // SAFETY: effect instance handle.
        return super::check("clearPersistentMessage", unsafe { f(effect.raw() as *mut _) });
    }
    Ok(())
}
