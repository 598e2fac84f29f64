//! The suites handed to plug-ins through `fetchSuite`.
//!
//! Suite structs are `static`s, so "repeated calls to fetchSuite with the same parameters return the
//! same pointer" and every pointer stays valid while the binary is loaded (longer, in fact).

pub(crate) mod effect;
pub(crate) mod memory;
pub(crate) mod message;
pub(crate) mod param;
pub(crate) mod property;
pub(crate) mod thread;
pub(crate) mod varargs;

use std::ffi::c_void;

pub use effect::{FnOfxImageEffectPlaneSuiteV1, FnOfxImageEffectPlaneSuiteV2};

use crate::handles::{foundry, ofx};
use crate::host::HostConfig;

fn ptr<T>(suite: &'static T) -> *const c_void {
    suite as *const T as *const c_void
}

/// The suite called `name` at `version`, unless unknown or switched off in `config`.
pub(crate) fn lookup(config: &HostConfig, name: &str, version: i32) -> Option<*const c_void> {
    varargs::install();
    if config.withheld_suites.iter().any(|w| w == name) {
        return None;
    }
    let found = match (name, version) {
        (n, 1) if n == ofx!(kOfxPropertySuite) => ptr(&property::PROPERTY_SUITE),
        (n, 1) if n == ofx!(kOfxParameterSuite) => ptr(&param::PARAM_SUITE),
        (n, 1) if n == ofx!(kOfxImageEffectSuite) => ptr(&effect::EFFECT_SUITE),
        (n, 1) if n == ofx!(kOfxMemorySuite) => ptr(&memory::MEMORY_SUITE),
        (n, 1) if n == ofx!(kOfxMessageSuite) && config.message_suite_v1 => ptr(&message::MESSAGE_SUITE_V1),
        (n, 2) if n == ofx!(kOfxMessageSuite) && config.message_suite_v2 => ptr(&message::MESSAGE_SUITE_V2),
        (n, 1) if n == ofx!(kOfxMultiThreadSuite) && config.multithread_suite => ptr(&thread::MULTITHREAD_SUITE),
        (n, 1) if n == foundry::PLANE_SUITE && config.plane_suite => ptr(&effect::PLANE_SUITE_V1),
        (n, 2) if n == foundry::PLANE_SUITE && config.plane_suite => ptr(&effect::PLANE_SUITE_V2),
        _ => return None,
    };
    Some(found)
}
