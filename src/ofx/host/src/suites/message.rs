//! The message suites (V1 and V2). The printf-style functions are formatted in `csrc/varargs.c`,
//! which hands the finished text to [`record_message`].

use std::ffi::{c_char, c_int, c_void};

use crate::handles::{c_str, guard, status, OfxStatus};
use crate::host::{HostMessage, MessageKind};
use crate::objects::{ClipObj, EffectObj, ParamObj};
use crate::suites::varargs;

/// The effect a message handle refers to: the effect itself, or the effect owning a clip or
/// parameter handle (some plug-ins pass those).
unsafe fn owning_effect<'a>(handle: *mut c_void) -> Option<&'a EffectObj> {
    unsafe {
        EffectObj::from_handle(handle)
            .or_else(|| ClipObj::from_handle(handle).map(|c| c.effect()))
            .or_else(|| ParamObj::from_handle(handle).map(|p| p.effect()))
    }
}

/// Records a formatted message on its effect (or on the host when the handle is NULL/unknown).
pub(crate) unsafe extern "C" fn record_message(handle: *mut c_void, persistent: c_int, kind: *const c_char, id: *const c_char, text: *const c_char) -> OfxStatus {
    guard(status::FAILED, || {
        let type_string = unsafe { c_str(kind) }.unwrap_or("").to_owned();
        let msg = HostMessage {
            kind: MessageKind::from_ofx(&type_string),
            type_string,
            id: unsafe { c_str(id) }.unwrap_or("").to_owned(),
            text: unsafe { c_str(text) }.map(str::to_owned).unwrap_or_default(),
            persistent: persistent != 0,
        };
        let kind = msg.kind;
        match unsafe { owning_effect(handle) } {
            Some(effect) => {
                let answer_yes = effect.host.config.answer_questions_yes;
                if msg.persistent {
                    *effect.persistent.lock() = Some(msg.clone());
                }
                effect.messages.lock().push(msg);
                answer(kind, answer_yes)
            }
            None if msg.persistent => status::ERR_BAD_HANDLE,
            None => {
                // Without an effect handle there is no telling which bundle posted it: keep it
                // in the process-wide list.
                ORPHANS.lock().push(msg);
                answer(kind, false)
            }
        }
    })
}

fn answer(kind: MessageKind, yes: bool) -> OfxStatus {
    match kind {
        MessageKind::Question if yes => status::REPLY_YES,
        MessageKind::Question => status::REPLY_NO,
        _ => status::OK,
    }
}

/// Messages posted with a NULL or unknown handle.
pub(crate) static ORPHANS: parking_lot::Mutex<Vec<HostMessage>> = parking_lot::Mutex::new(Vec::new());

unsafe extern "C" fn clear_persistent_message(handle: *mut c_void) -> OfxStatus {
    guard(status::FAILED, || match unsafe { owning_effect(handle) } {
        Some(effect) => {
            *effect.persistent.lock() = None;
            status::OK
        }
        None => status::ERR_BAD_HANDLE,
    })
}

pub(crate) static MESSAGE_SUITE_V1: ofx_sys::OfxMessageSuiteV1 = ofx_sys::OfxMessageSuiteV1 { message: Some(varargs::ofxhost_message) };

pub(crate) static MESSAGE_SUITE_V2: ofx_sys::OfxMessageSuiteV2 = ofx_sys::OfxMessageSuiteV2 {
    message: Some(varargs::ofxhost_message),
    setPersistentMessage: Some(varargs::ofxhost_setPersistentMessage),
    clearPersistentMessage: Some(clear_persistent_message),
};
