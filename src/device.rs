//! The one place that decides where networks run: burn-wgpu on a real GPU adapter, Burn's `flex` CPU backend
//! otherwise. Software Vulkan (Mesa lavapipe) is never chosen automatically: it is ~30× slower than `flex` on
//! conv nets. Tests reach it explicitly through [`software_gpu`] to check the GPU code path.
//!
//! Runtime configuration happens once per process before any device exists: cubecl's cache goes to our own
//! per-user folder ([`cache_dir`]) and its `cubecl.toml`/`burn.toml` lookup (which walks up from the host's
//! working directory) is skipped.

pub mod fused;
pub mod train_conv;

use burn::tensor::wgpu::{wgpu, WgpuSetup};
use burn::tensor::Device;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use thiserror::Error;

#[derive(Debug, Error, Clone)]
pub enum DeviceError {
    #[error("no GPU adapter is available (only software rendering)")]
    NoGpu,
    #[error("the GPU could not be initialised: {0}")]
    Init(String),
    #[error("the GPU failed earlier in this session ({0})")]
    Faulted(String),
}

/// Where the GPU path keeps caches: `$XDG_CACHE_HOME/faceswap-ofx` or `~/.cache/faceswap-ofx`, never the host's
/// working directory. (Mesa keeps its own shader cache under `~/.cache/mesa_shader_cache` by default.)
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("faceswap-ofx")
}

/// Sets Burn's and cubecl's runtime configuration before first use. Idempotent.
pub fn configure_runtime() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        use burn::cubecl::config::cache::CacheConfig;
        use burn::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
        let mut cfg = CubeClRuntimeConfig::default();
        cfg.environment.path = CacheConfig::Directory(cache_dir().join("cubecl"));
        // `false` means another part of the process configured cubecl first; nothing we can do then.
        let _ = CubeClRuntimeConfig::try_set(cfg);
        let _ = burn::BurnConfig::try_set(burn::BurnConfig::default());
    });
}

/// The CPU device.
pub fn cpu() -> Device {
    configure_runtime();
    Device::flex()
}

/// Errors the GPU reported outside any call (validation, out of memory), newest last, for callers that want
/// the text (the extractor prints them). Each one also marks its device faulted: see [`Gpu::fault`].
static GPU_ERRORS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Takes the GPU errors recorded since the last call.
pub fn take_gpu_errors() -> Vec<String> {
    std::mem::take(&mut *GPU_ERRORS.lock())
}

/// A wgpu device with what the process has learnt about its health.
///
/// A device that reported an error (out of memory, a validation error: its results can no longer be trusted)
/// or that was lost is *faulted*, for good: later renders in the process go to the CPU instead. A fault is
/// recorded from three places: the uncaptured-error handler installed here, a failed readback (how device
/// loss reaches us: cubecl's device-lost callback poisons its streams, which then fail every sync point), and
/// a panic while running on the device (see `pipeline::run`).
#[derive(Clone)]
pub struct Gpu {
    device: Device,
    wgpu: wgpu::Device,
    fault: Arc<OnceLock<String>>,
    injected: Arc<Mutex<Option<InjectedFault>>>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("device", &self.device).field("fault", &self.fault.get()).finish()
    }
}

impl Gpu {
    /// The Burn device to run on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Why the device is no longer used, once it faulted.
    pub fn fault(&self) -> Option<&str> {
        self.fault.get().map(String::as_str)
    }

    /// Marks the device faulted (the first reason is kept).
    pub fn mark_faulted(&self, why: impl Into<String>) {
        let _ = self.fault.set(why.into());
    }

    /// Test hook: the next call to [`Gpu::fire_injected_fault`] (made by the pipeline between face analysis
    /// and the swap network, i.e. in the middle of a GPU render) causes `fault` on this device. Only Rust code
    /// linking the library can arm it: no parameter, environment variable or file reaches it from a host.
    /// It exists because neither device loss nor out-of-memory can be caused on demand from outside.
    #[doc(hidden)]
    pub fn inject_fault_for_tests(&self, fault: InjectedFault) {
        *self.injected.lock() = Some(fault);
    }

    /// Causes the armed test fault, if any (a no-op in production: nothing arms it).
    pub(crate) fn fire_injected_fault(&self) {
        let Some(fault) = self.injected.lock().take() else { return };
        match fault {
            // A real device loss: wgpu calls the device-lost callback and fails everything after.
            InjectedFault::DeviceLost => self.wgpu.destroy(),
            // A real uncaptured error through wgpu's error sink: a buffer larger than the device allows (out
            // of memory is reported through the same handler and cannot be caused reliably).
            InjectedFault::UncapturedError => {
                let _ = self.wgpu.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("faceswap-ofx injected fault"),
                    size: self.wgpu.limits().max_buffer_size.saturating_add(4),
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                });
            }
        }
    }
}

/// Faults [`Gpu::inject_fault_for_tests`] can cause.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedFault {
    DeviceLost,
    UncapturedError,
}

/// The real GPU as a [`Gpu`], created once per process. `Err` when the machine has none (or only software
/// Vulkan). A faulted device is still returned: callers decide what to tell the artist.
pub fn hardware_gpu() -> Result<Gpu, DeviceError> {
    static GPU: OnceLock<Result<Gpu, DeviceError>> = OnceLock::new();
    GPU.get_or_init(|| init_wgpu(false)).clone()
}

/// A real GPU that has not faulted, created once per process. `Err` when the machine has none (or only
/// software Vulkan), or once it faulted.
pub fn gpu() -> Result<Device, DeviceError> {
    healthy(hardware_gpu()?)
}

/// Mesa lavapipe or another software adapter, for testing the GPU code path on machines without a GPU.
pub fn software_gpu() -> Result<Device, DeviceError> {
    static SOFT: OnceLock<Result<Gpu, DeviceError>> = OnceLock::new();
    healthy(SOFT.get_or_init(|| init_wgpu(true)).clone()?)
}

/// A new software GPU device of its own (not shared with [`software_gpu`]), so a test may fault it.
#[doc(hidden)]
pub fn new_software_gpu_for_tests() -> Result<Gpu, DeviceError> {
    init_wgpu(true)
}

fn healthy(gpu: Gpu) -> Result<Device, DeviceError> {
    match gpu.fault() {
        Some(why) => Err(DeviceError::Faulted(why.to_owned())),
        None => Ok(gpu.device),
    }
}

fn init_wgpu(software: bool) -> Result<Gpu, DeviceError> {
    configure_runtime();
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        // Vulkan/Metal/DX12 only: probing GL/EGL headless prints warnings on render nodes and adds nothing.
        backends: wgpu::Backends::PRIMARY,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = burn::tensor::read_sync(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    let is_software = |a: &wgpu::Adapter| a.get_info().device_type == wgpu::DeviceType::Cpu;
    let adapter = adapters.into_iter().find(|a| is_software(a) == software).ok_or(DeviceError::NoGpu)?;
    let info = adapter.get_info();
    let desc = wgpu::DeviceDescriptor {
        label: Some("faceswap-ofx"),
        // cubecl sizes kernels from the adapter's features and limits: ask for all of them.
        required_features: adapter.features().difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
        required_limits: adapter.limits(),
        memory_hints: wgpu::MemoryHints::MemoryUsage,
        ..Default::default()
    };
    let (device, queue) =
        burn::tensor::read_sync(adapter.request_device(&desc)).map_err(|e| DeviceError::Init(e.to_string()))?;
    let setup = WgpuSetup { instance, adapter, device: device.clone(), queue, backend: info.backend };
    let burn_device = Device::wgpu_options().setup(setup).init().map_err(|e| DeviceError::Init(e.to_string()))?;
    let fault = Arc::new(OnceLock::new());
    // After init: cubecl installs its own handler, which panics (inside the host), and the last handler
    // installed wins. Its device-lost callback stays: it poisons cubecl's streams so no sync point waits on
    // a lost device, and the loss then reaches us as failed readbacks.
    let sink = fault.clone();
    device.on_uncaptured_error(Arc::new(move |e| {
        let text = e.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = sink.set(format!("the GPU reported an error ({text})"));
        let mut errors = GPU_ERRORS.lock();
        // Nobody may be taking them (the pipeline reads the fault instead): keep the newest few.
        if errors.len() >= 64 {
            errors.remove(0);
        }
        errors.push(text);
    }));
    Ok(Gpu { device: burn_device, wgpu: device, fault, injected: Arc::new(Mutex::new(None)) })
}
