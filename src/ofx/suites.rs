//! The host's suite tables, fetched when the host loads us and dropped when it unloads us.
//!
//! Burn keeps background threads alive, so `dlclose` never really unmaps this library: a later `dlopen` of the
//! same bundle (hosts do this on a plug-in rescan) finds these statics as we left them. Everything here is
//! therefore reset by `setHost`/Load and cleared by Unload instead of relying on fresh statics.
//!
//! One host per process, as with every OFX plug-in: the suites are process globals, so a second host object
//! loading the same binary in the same process (no real host does this) would replace the first one's.

use super::plane_suite::FnOfxImageEffectPlaneSuiteV2;
use super::{cstr, OfxError};
use ofx_sys as sys;
use parking_lot::RwLock;
use std::ffi::CStr;

/// Pointers to host-owned suite tables.
#[derive(Clone, Copy)]
pub struct Suites {
    pub(crate) host: *mut sys::OfxHost,
    pub(crate) property: &'static sys::OfxPropertySuiteV1,
    pub(crate) param: &'static sys::OfxParameterSuiteV1,
    pub(crate) effect: &'static sys::OfxImageEffectSuiteV1,
    /// Optional: messages are dropped (and the status still returned) when the host lacks it.
    pub(crate) message_v2: Option<&'static sys::OfxMessageSuiteV2>,
    pub(crate) message_v1: Option<&'static sys::OfxMessageSuiteV1>,
    /// Optional: only multi-plane hosts (Natron, Nuke) have it.
    pub(crate) plane: Option<&'static FnOfxImageEffectPlaneSuiteV2>,
}

// SAFETY: the OFX specification makes suite tables immutable, host-owned and valid from `setHost` until the
// Unload action, callable from any thread (render threads included). We only read them.
unsafe impl Send for Suites {}
unsafe impl Sync for Suites {}

/// The host pointer handed to `setHost`, wrapped so it can sit in a static.
#[derive(Clone, Copy)]
struct HostPtr(*mut sys::OfxHost);
// SAFETY: see `Suites`; the host struct is read-only for plug-ins.
unsafe impl Send for HostPtr {}
unsafe impl Sync for HostPtr {}

static HOST: RwLock<Option<HostPtr>> = RwLock::new(None);
static SUITES: RwLock<Option<Suites>> = RwLock::new(None);

/// Remembers the host (called from `setHost`). A new host forgets the old suites.
pub(crate) fn set_host(host: *mut sys::OfxHost) {
    *HOST.write() = if host.is_null() { None } else { Some(HostPtr(host)) };
    *SUITES.write() = None;
}

/// Fetches every suite (Load action). Missing mandatory suites are an error the host sees at load.
pub(crate) fn load() -> Result<(), OfxError> {
    let host = HOST.read().ok_or(OfxError::Null("host (setHost was not called)"))?.0;
    let property = fetch::<sys::OfxPropertySuiteV1>(host, sys::kOfxPropertySuite, 1).ok_or(OfxError::MissingSuite("property"))?;
    let param = fetch::<sys::OfxParameterSuiteV1>(host, sys::kOfxParameterSuite, 1).ok_or(OfxError::MissingSuite("parameter"))?;
    let effect = fetch::<sys::OfxImageEffectSuiteV1>(host, sys::kOfxImageEffectSuite, 1).ok_or(OfxError::MissingSuite("image effect"))?;
    let suites = Suites {
        host,
        property,
        param,
        effect,
        message_v2: fetch(host, sys::kOfxMessageSuite, 2),
        message_v1: fetch(host, sys::kOfxMessageSuite, 1),
        plane: fetch(host, super::plane_suite::SUITE_NAME, 2),
    };
    *SUITES.write() = Some(suites);
    Ok(())
}

/// Forgets the suites (Unload action).
pub(crate) fn unload() {
    *SUITES.write() = None;
}

/// The current suites, or an error outside Load..Unload.
pub fn get() -> Result<Suites, OfxError> {
    SUITES.read().ok_or(OfxError::MissingSuite("any (the plug-in is not loaded)"))
}

fn fetch<T>(host: *mut sys::OfxHost, name: &'static [u8], version: i32) -> Option<&'static T> {
    // SAFETY: `host` came from `setHost` and the spec keeps it valid while we are loaded; `fetchSuite` is
    // mandatory in OfxHost, may return NULL for suites the host lacks, and otherwise returns a table of type T
    // for this name and version that lives until Unload.
    unsafe {
        let fetch_suite = (*host).fetchSuite?;
        let name: &CStr = cstr(name);
        let p = fetch_suite((*host).host, name.as_ptr(), version) as *const T;
        p.as_ref()
    }
}

impl Suites {
    /// The host's own property set (name, capabilities).
    pub fn host_props(&self) -> super::props::PropSet {
        // SAFETY: `host` is valid while loaded (see `fetch`); its `host` field is the host's property set.
        super::props::PropSet::from_raw(unsafe { (*self.host).host })
    }
}
