//! The host descriptor: configuration, the host property set and `fetchSuite`.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void};
use std::sync::{Arc, LazyLock};

use parking_lot::RwLock;

use crate::handles::{self, foundry, ofx};
use crate::props::{PropValue, PropertySet};
use crate::suites;

/// What the host offers. Every optional suite can be switched off to test how the plug-in copes
/// with a host that lacks it (`fetchSuite` then returns NULL).
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// `kOfxPropName` of the host.
    pub name: String,
    /// `kOfxPropLabel` of the host.
    pub label: String,
    /// Offer `OfxMessageSuite` version 1.
    pub message_suite_v1: bool,
    /// Offer `OfxMessageSuite` version 2 (persistent messages).
    pub message_suite_v2: bool,
    /// Offer `OfxMultiThreadSuite` version 1.
    pub multithread_suite: bool,
    /// Offer the Foundry plane suite (versions 1 and 2).
    pub plane_suite: bool,
    /// Advertise `kFnOfxImageEffectPropMultiPlanar = 1` and drive multi-planar plug-ins through
    /// the get-clip-components action and render planes.
    pub multi_planar: bool,
    /// What `multiThreadNumCPUs` reports and how many threads `multiThread(…, 0, …)` uses.
    pub num_cpus: u32,
    /// Threads for host frame threading: when > 1, a plug-in that sets
    /// `kOfxImageEffectPluginPropHostFrameThreading` and is fully render-thread-safe gets its render
    /// window split into this many strips rendered concurrently. 1 (the default) renders the window
    /// in one call, which keeps tests deterministic.
    pub host_frame_threads: u32,
    /// The answer to `OfxMessageQuestion` messages (a background host cannot ask anyone).
    pub answer_questions_yes: bool,
    /// Suite names (`OfxParameterSuite`, `OfxImageEffectSuite`, …) `fetchSuite` answers NULL for, at
    /// every version, mandatory ones included: a host lacking a suite, to test how a plug-in copes.
    pub withheld_suites: Vec<String>,
    /// Clip preferences' defaults move each clip to components it declares (as Natron does). `false`
    /// offers inputs in their own components whatever the clip declares, as lax hosts do.
    pub map_to_supported_components: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            name: "org.faceswap.ofxhost".to_owned(),
            label: "faceswap headless OFX host".to_owned(),
            message_suite_v1: true,
            message_suite_v2: true,
            multithread_suite: true,
            plane_suite: true,
            multi_planar: true,
            num_cpus: std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1),
            host_frame_threads: 1,
            answer_questions_yes: false,
            withheld_suites: Vec::new(),
            map_to_supported_components: true,
        }
    }
}

/// The kind of a message posted by the plug-in (`kOfxMessage…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Fatal,
    Error,
    Warning,
    Message,
    Log,
    Question,
    /// A type string the host does not know.
    Other,
}

impl MessageKind {
    pub(crate) fn from_ofx(s: &str) -> MessageKind {
        match s {
            x if x == ofx!(kOfxMessageFatal) => MessageKind::Fatal,
            x if x == ofx!(kOfxMessageError) => MessageKind::Error,
            x if x == ofx!(kOfxMessageWarning) => MessageKind::Warning,
            x if x == ofx!(kOfxMessageMessage) => MessageKind::Message,
            x if x == ofx!(kOfxMessageLog) => MessageKind::Log,
            x if x == ofx!(kOfxMessageQuestion) => MessageKind::Question,
            _ => MessageKind::Other,
        }
    }
}

/// A message the plug-in posted through the message suites.
#[derive(Clone, Debug, PartialEq)]
pub struct HostMessage {
    pub kind: MessageKind,
    /// The raw `messageType` string.
    pub type_string: String,
    /// The `messageId` (may be empty).
    pub id: String,
    /// The formatted text.
    pub text: String,
    /// Posted with `setPersistentMessage`.
    pub persistent: bool,
}

/// State shared by everything loaded through one [`crate::Bundle`].
pub(crate) struct HostShared {
    pub config: HostConfig,
    pub props: Box<PropertySet>,
}

/// Hosts by the address of their property set, which is what `fetchSuite` receives.
static HOSTS: LazyLock<RwLock<HashMap<usize, Arc<HostShared>>>> = LazyLock::new(|| RwLock::new(HashMap::new()));

impl HostShared {
    /// Builds the host descriptor and registers it for `fetchSuite`.
    pub fn new(config: HostConfig) -> Arc<HostShared> {
        let props = PropertySet::boxed();
        define_host_props(&props, &config);
        let shared = Arc::new(HostShared { config, props });
        HOSTS.write().insert(shared.props.handle() as usize, Arc::clone(&shared));
        shared
    }

    /// Stops answering `fetchSuite` for this host (before the binary is unloaded).
    pub fn retire(&self) {
        HOSTS.write().remove(&(self.props.handle() as usize));
    }
}

fn define_host_props(p: &PropertySet, c: &HostConfig) {
    let int = |v: i32| PropValue::Int(vec![v]);
    p.define(ofx!(kOfxPropType), PropValue::str(ofx!(kOfxTypeImageEffectHost)));
    p.define(ofx!(kOfxPropName), PropValue::str(&c.name));
    p.define(ofx!(kOfxPropLabel), PropValue::str(&c.label));
    p.define(ofx!(kOfxPropAPIVersion), PropValue::Int(vec![1, 4]));
    p.define(ofx!(kOfxPropVersion), PropValue::Int(vec![0, 1, 0]));
    p.define(ofx!(kOfxPropVersionLabel), PropValue::str(env!("CARGO_PKG_VERSION")));
    p.define(ofx!(kOfxImageEffectHostPropIsBackground), int(1));
    p.define(ofx!(kOfxImageEffectPropSupportsOverlays), int(0));
    p.define(ofx!(kOfxImageEffectPropSupportsMultiResolution), int(1));
    p.define(ofx!(kOfxImageEffectPropSupportsTiles), int(1));
    p.define(ofx!(kOfxImageEffectPropTemporalClipAccess), int(1));
    p.define(
        ofx!(kOfxImageEffectPropSupportedComponents),
        PropValue::strs(&[ofx!(kOfxImageComponentRGBA), ofx!(kOfxImageComponentRGB), ofx!(kOfxImageComponentAlpha)]),
    );
    p.define(
        ofx!(kOfxImageEffectPropSupportedContexts),
        PropValue::strs(&[ofx!(kOfxImageEffectContextFilter), ofx!(kOfxImageEffectContextGeneral)]),
    );
    p.define(
        ofx!(kOfxImageEffectPropSupportedPixelDepths),
        PropValue::strs(&[ofx!(kOfxBitDepthByte), ofx!(kOfxBitDepthShort), ofx!(kOfxBitDepthFloat)]),
    );
    p.define(ofx!(kOfxImageEffectPropSupportsMultipleClipDepths), int(0));
    p.define(ofx!(kOfxImageEffectPropSupportsMultipleClipPARs), int(0));
    p.define(ofx!(kOfxImageEffectPropSetableFrameRate), int(0));
    p.define(ofx!(kOfxImageEffectPropSetableFielding), int(0));
    // 2: frames may or may not be rendered in order (the CLI does, tests may not).
    p.define(ofx!(kOfxImageEffectInstancePropSequentialRender), int(2));
    p.define(ofx!(kOfxImageEffectPropRenderQualityDraft), int(0));
    p.define(ofx!(kOfxImageEffectHostPropNativeOrigin), PropValue::str(ofx!(kOfxHostNativeOriginBottomLeft)));
    p.define(ofx!(kOfxImageEffectPropOpenGLRenderSupported), PropValue::str("false"));
    p.define(ofx!(kOfxParamHostPropSupportsCustomInteract), int(0));
    p.define(ofx!(kOfxParamHostPropSupportsStringAnimation), int(0));
    p.define(ofx!(kOfxParamHostPropSupportsChoiceAnimation), int(0));
    p.define(ofx!(kOfxParamHostPropSupportsBooleanAnimation), int(0));
    p.define(ofx!(kOfxParamHostPropSupportsCustomAnimation), int(0));
    p.define(ofx!(kOfxParamHostPropSupportsParametricAnimation), int(0));
    p.define(ofx!(kOfxParamHostPropMaxParameters), int(-1));
    p.define(ofx!(kOfxParamHostPropMaxPages), int(0));
    p.define(ofx!(kOfxParamHostPropPageRowColumnCount), PropValue::Int(vec![0, 0]));
    p.define(ofx!(kOfxPropHostOSHandle), PropValue::Pointer(vec![0]));
    p.define(ofx!(kNatronOfxParamHostPropSupportsDynamicChoices), int(1));
    p.define(foundry::PROP_MULTI_PLANAR, int(i32::from(c.multi_planar)));
}

/// `OfxHost::fetchSuite`: NULL for unknown suites, versions, hosts and switched-off suites.
pub(crate) unsafe extern "C" fn fetch_suite(host: ofx_sys::OfxPropertySetHandle, name: *const c_char, version: c_int) -> *const c_void {
    let found = std::panic::catch_unwind(|| {
        let shared = HOSTS.read().get(&(host as usize)).cloned()?;
        // SAFETY: a C string from the plug-in, null-checked by c_str.
        let name = unsafe { handles::c_str(name) }?;
        suites::lookup(&shared.config, name, version)
    });
    found.ok().flatten().unwrap_or(std::ptr::null())
}
