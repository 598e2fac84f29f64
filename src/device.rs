//! The one place that decides where networks run: burn-wgpu on a real GPU adapter, Burn's `flex` CPU backend
//! otherwise. Software Vulkan (Mesa lavapipe) is never chosen automatically: it is ~30× slower than `flex` on
//! conv nets. Tests reach it explicitly through [`software_gpu`] to check the GPU code path.
//!
//! Runtime configuration happens once per process before any device exists: cubecl's cache goes to our own
//! per-user folder ([`cache_dir`]) and its `cubecl.toml`/`burn.toml` lookup (which walks up from the host's
//! working directory) is skipped.

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

/// Errors the GPU reported outside any call (validation, out of memory), newest last. Renders check and clear
/// it so a frame computed by a failed kernel is never delivered.
static GPU_ERRORS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Takes the GPU errors recorded since the last call.
pub fn take_gpu_errors() -> Vec<String> {
    std::mem::take(&mut *GPU_ERRORS.lock())
}

/// A real GPU, created once per process. `Err` when the machine has none (or only software Vulkan).
pub fn gpu() -> Result<Device, DeviceError> {
    static GPU: OnceLock<Result<Device, DeviceError>> = OnceLock::new();
    GPU.get_or_init(|| init_wgpu(false)).clone()
}

/// Mesa lavapipe or another software adapter, for testing the GPU code path on machines without a GPU.
pub fn software_gpu() -> Result<Device, DeviceError> {
    static SOFT: OnceLock<Result<Device, DeviceError>> = OnceLock::new();
    SOFT.get_or_init(|| init_wgpu(true)).clone()
}

fn init_wgpu(software: bool) -> Result<Device, DeviceError> {
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
    // After init: cubecl installs its own handler, which panics, and the last handler installed wins.
    device.on_uncaptured_error(Arc::new(|e| GPU_ERRORS.lock().push(e.to_string())));
    Ok(burn_device)
}
