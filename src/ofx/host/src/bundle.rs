//! Loading a `.ofx.bundle`: dlopen, plug-in lookup, `setHost`, load/describe/unload actions.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::defaults;
use crate::describe::{describe_effect, Context, EffectDescription};
use crate::error::{check, HostError, Result};
use crate::handles::{ofx, status};
use crate::host::{fetch_suite, HostConfig, HostShared};
use crate::objects::EffectObj;
use crate::props::{PropValue, PropertySet};
use crate::suites::{thread, varargs};

/// The folder of a bundle holding the 64-bit Linux binary.
pub const BINARY_DIR: &str = "Contents/Linux-x86-64";

type MainEntry = unsafe extern "C" fn(*const c_char, *const c_void, ofx_sys::OfxPropertySetHandle, ofx_sys::OfxPropertySetHandle) -> ofx_sys::OfxStatus;

/// Identity of one plug-in exported by a binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    pub api: String,
    pub api_version: i32,
    pub id: String,
    pub version: (u32, u32),
}

/// A loaded plug-in binary, driving one image effect plug-in of it.
///
/// Dropping it (or [`Bundle::unload`]) sends `kOfxActionUnload` and closes the library; instances
/// borrow the bundle, so none can outlive it.
pub struct Bundle {
    path: PathBuf,
    binary: PathBuf,
    plugins: Vec<PluginInfo>,
    info: PluginInfo,
    main: MainEntry,
    shared: Arc<HostShared>,
    /// Given to `setHost`; the plug-in keeps the pointer until unload.
    _ofx_host: Box<ofx_sys::OfxHost>,
    descriptor: Mutex<Option<Box<EffectObj>>>,
    contexts: Mutex<HashMap<Context, Box<EffectObj>>>,
    loaded: bool,
    // Last field: dropped after everything that may point into the library.
    lib: Option<libloading::Library>,
}

/// Finds `Contents/Linux-x86-64/*.ofx` in a bundle (or accepts a path to the binary itself).
pub fn find_binary(bundle: &Path) -> Result<PathBuf> {
    if bundle.is_file() {
        return Ok(bundle.to_owned());
    }
    let dir = bundle.join(BINARY_DIR);
    let entries = std::fs::read_dir(&dir).map_err(|_| HostError::NoBinary(bundle.to_owned()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ofx") && p.is_file())
        .collect();
    found.sort();
    found.into_iter().next().ok_or_else(|| HostError::NoBinary(bundle.to_owned()))
}

fn cstr_field(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the plug-in's static strings, NUL-terminated.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

impl Bundle {
    /// Loads a bundle with the default host configuration and its first image effect plug-in.
    pub fn load(path: impl AsRef<Path>) -> Result<Bundle> {
        Bundle::load_with(path, HostConfig::default(), None)
    }

    /// Loads a bundle with `config`, picking the plug-in `plugin_id` (or the first image effect).
    pub fn load_with(path: impl AsRef<Path>, config: HostConfig, plugin_id: Option<&str>) -> Result<Bundle> {
        let path = path.as_ref().to_owned();
        let binary = find_binary(&path)?;
        varargs::install();
        thread::NUM_CPUS.store(config.num_cpus.max(1), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: loading a library runs its initialisers; that is the point of a plug-in host.
        let lib = unsafe { libloading::Library::new(&binary) }.map_err(|source| HostError::Load { path: binary.clone(), source })?;
        let (plugins, chosen) = {
            // SAFETY: the OFX entry points have these C signatures (ofxCore.h).
            let count: libloading::Symbol<unsafe extern "C" fn() -> c_int> =
                unsafe { lib.get(b"OfxGetNumberOfPlugins\0") }.map_err(|source| HostError::Load { path: binary.clone(), source })?;
            let get: libloading::Symbol<unsafe extern "C" fn(c_int) -> *mut ofx_sys::OfxPlugin> =
                unsafe { lib.get(b"OfxGetPlugin\0") }.map_err(|source| HostError::Load { path: binary.clone(), source })?;
            let n = unsafe { count() };
            let mut plugins = Vec::new();
            let mut chosen = None;
            for i in 0..n.max(0) {
                let p = unsafe { get(i) };
                // SAFETY: null-checked; the struct is static data of the plug-in.
                let Some(plugin) = (unsafe { p.as_ref() }) else { continue };
                let info = PluginInfo {
                    api: cstr_field(plugin.pluginApi),
                    api_version: plugin.apiVersion,
                    id: cstr_field(plugin.pluginIdentifier),
                    version: (plugin.pluginVersionMajor, plugin.pluginVersionMinor),
                };
                let wanted = info.api == ofx!(kOfxImageEffectPluginApi) && plugin_id.is_none_or(|id| id == info.id);
                if wanted && chosen.is_none() {
                    chosen = Some((p, info.clone()));
                }
                plugins.push(info);
            }
            (plugins, chosen)
        };
        let (plugin, info) = chosen.ok_or_else(|| HostError::NoPlugin(plugin_id.unwrap_or("any image effect").to_owned()))?;
        // SAFETY: non-null, checked above.
        let plugin = unsafe { &*plugin };
        let (Some(set_host), Some(main)) = (plugin.setHost, plugin.mainEntry) else {
            return Err(HostError::InvalidPlugin(format!("{} has a null setHost or mainEntry", info.id)));
        };
        let shared = HostShared::new(config);
        let mut ofx_host = Box::new(ofx_sys::OfxHost { host: shared.props.handle(), fetchSuite: Some(fetch_suite) });
        // SAFETY: the OfxHost outlives the loaded binary (dropped after unload).
        unsafe { set_host(&mut *ofx_host) };
        let mut bundle = Bundle {
            path,
            binary,
            plugins,
            info,
            main,
            shared,
            _ofx_host: ofx_host,
            descriptor: Mutex::new(None),
            contexts: Mutex::new(HashMap::new()),
            loaded: false,
            lib: Some(lib),
        };
        let st = bundle.action(ofx!(kOfxActionLoad), std::ptr::null(), None, None);
        check(ofx!(kOfxActionLoad), st)?;
        bundle.loaded = true;
        Ok(bundle)
    }

    /// The bundle path given to `load`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The binary inside the bundle.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Every plug-in the binary exports.
    pub fn plugins(&self) -> &[PluginInfo] {
        &self.plugins
    }

    /// The plug-in this bundle drives.
    pub fn plugin(&self) -> &PluginInfo {
        &self.info
    }

    /// The host configuration in force.
    pub fn config(&self) -> &HostConfig {
        &self.shared.config
    }

    pub(crate) fn shared(&self) -> &Arc<HostShared> {
        &self.shared
    }

    /// Calls the plug-in's main entry.
    pub(crate) fn action(&self, action: &str, handle: *const c_void, in_args: Option<&PropertySet>, out_args: Option<&PropertySet>) -> i32 {
        let Ok(name) = CString::new(action) else { return status::ERR_VALUE };
        let h = |p: Option<&PropertySet>| p.map_or(std::ptr::null_mut(), PropertySet::handle);
        // SAFETY: the plug-in's entry point with host-owned, live arguments.
        unsafe { (self.main)(name.as_ptr(), handle, h(in_args), h(out_args)) }
    }

    /// Runs `kOfxActionDescribe` once (cached).
    fn ensure_described(&self) -> Result<()> {
        let mut d = self.descriptor.lock();
        if d.is_some() {
            return Ok(());
        }
        let props = PropertySet::boxed();
        defaults::effect_descriptor(&props, &self.path.to_string_lossy());
        let effect = EffectObj::boxed(Arc::clone(&self.shared), props, false);
        let st = self.action(ofx!(kOfxActionDescribe), effect.handle() as *const c_void, None, None);
        check(ofx!(kOfxActionDescribe), st)?;
        *d = Some(effect);
        Ok(())
    }

    /// Runs describe and describe-in-context for `context` (each once per bundle load) and
    /// returns what the plug-in declared.
    pub fn describe(&self, context: Context) -> Result<EffectDescription> {
        self.with_context_descriptor(context, |e| describe_effect(e, &self.info.id, self.info.version, context))
    }

    /// The contexts the plug-in declared in describe.
    pub fn supported_contexts(&self) -> Result<Vec<String>> {
        self.ensure_described()?;
        let d = self.descriptor.lock();
        Ok(d.as_ref().and_then(|e| e.props.strings(ofx!(kOfxImageEffectPropSupportedContexts))).unwrap_or_default())
    }

    /// Runs `f` on the describe-in-context descriptor, creating it first if needed.
    pub(crate) fn with_context_descriptor<R>(&self, context: Context, f: impl FnOnce(&EffectObj) -> R) -> Result<R> {
        self.ensure_described()?;
        let mut contexts = self.contexts.lock();
        if let Some(e) = contexts.get(&context) {
            return Ok(f(e));
        }
        let supported = self.supported_contexts_locked();
        if !supported.iter().any(|c| c == context.ofx_name()) {
            return Err(HostError::UnsupportedContext(context.ofx_name().to_owned()));
        }
        let props = {
            let d = self.descriptor.lock();
            let Some(global) = d.as_ref() else { return Err(HostError::InvalidPlugin("no descriptor".into())) };
            PropertySet::boxed_copy(&global.props)
        };
        let effect = EffectObj::boxed(Arc::clone(&self.shared), props, false);
        let in_args = PropertySet::boxed();
        in_args.define(ofx!(kOfxImageEffectPropContext), PropValue::str(context.ofx_name()));
        let action = ofx!(kOfxImageEffectActionDescribeInContext);
        check(action, self.action(action, effect.handle() as *const c_void, Some(&in_args), None))?;
        let r = f(&effect);
        contexts.insert(context, effect);
        Ok(r)
    }

    fn supported_contexts_locked(&self) -> Vec<String> {
        let d = self.descriptor.lock();
        d.as_ref().and_then(|e| e.props.strings(ofx!(kOfxImageEffectPropSupportedContexts))).unwrap_or_default()
    }

    /// Sends `kOfxActionUnload` and closes the library.
    pub fn unload(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        // Descriptors first: the plug-in may hold their handles until unload, never after.
        let result = if self.loaded {
            self.loaded = false;
            let st = self.action(ofx!(kOfxActionUnload), std::ptr::null(), None, None);
            check(ofx!(kOfxActionUnload), st).map(|_| ())
        } else {
            Ok(())
        };
        self.contexts.lock().clear();
        *self.descriptor.lock() = None;
        self.shared.retire();
        if let Some(lib) = self.lib.take() {
            lib.close().map_err(|source| HostError::Load { path: self.binary.clone(), source })?;
        }
        result
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
