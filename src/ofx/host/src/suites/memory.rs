//! The memory suite (`OfxMemorySuiteV1`) and the image-memory functions of the image effect suite.

use std::alloc::Layout;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::LazyLock;

use parking_lot::Mutex;

use crate::handles::{self, guard, status, Kind, OfxStatus};
use crate::objects::RawBuf;

/// Alignment of every block (enough for SIMD loads of floats).
const ALIGN: usize = 64;

/// Sizes of live `memoryAlloc` blocks by address, needed to free them.
static BLOCKS: LazyLock<Mutex<HashMap<usize, Layout>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

unsafe extern "C" fn memory_alloc(_handle: *mut c_void, n: usize, out: *mut *mut c_void) -> OfxStatus {
    guard(status::ERR_MEMORY, || {
        if out.is_null() {
            return status::FAILED;
        }
        let Ok(layout) = Layout::from_size_align(n.max(1), ALIGN) else { return status::ERR_MEMORY };
        // SAFETY: non-zero size.
        let p = unsafe { std::alloc::alloc(layout) };
        if p.is_null() {
            return status::ERR_MEMORY;
        }
        BLOCKS.lock().insert(p as usize, layout);
        unsafe { *out = p.cast() };
        status::OK
    })
}

unsafe extern "C" fn memory_free(p: *mut c_void) -> OfxStatus {
    guard(status::FAILED, || {
        let Some(layout) = BLOCKS.lock().remove(&(p as usize)) else { return status::ERR_BAD_HANDLE };
        // SAFETY: allocated by memory_alloc with this layout, and removed from the table once.
        unsafe { std::alloc::dealloc(p.cast(), layout) };
        status::OK
    })
}

pub(crate) static MEMORY_SUITE: ofx_sys::OfxMemorySuiteV1 = ofx_sys::OfxMemorySuiteV1 {
    memoryAlloc: Some(memory_alloc),
    memoryFree: Some(memory_free),
};

/// An `OfxImageMemoryHandle`: a buffer plus a lock count (the host may not move locked memory;
/// this host never moves memory, the count only validates unlock calls).
pub(crate) struct ImageMemory {
    buf: RawBuf,
    locks: AtomicI32,
}

pub(crate) unsafe extern "C" fn image_memory_alloc(
    _effect: ofx_sys::OfxImageEffectHandle,
    n: usize,
    out: *mut ofx_sys::OfxImageMemoryHandle,
) -> OfxStatus {
    guard(status::ERR_MEMORY, || {
        if out.is_null() {
            return status::FAILED;
        }
        let Some(buf) = RawBuf::zeroed(n) else { return status::ERR_MEMORY };
        let mem = Box::new(ImageMemory { buf, locks: AtomicI32::new(0) });
        let p = Box::into_raw(mem);
        handles::register(p as *const ImageMemory, Kind::ImageMemory);
        unsafe { *out = p as ofx_sys::OfxImageMemoryHandle };
        status::OK
    })
}

pub(crate) unsafe extern "C" fn image_memory_free(h: ofx_sys::OfxImageMemoryHandle) -> OfxStatus {
    guard(status::FAILED, || {
        if !handles::is_live(h as *const c_void, Kind::ImageMemory) {
            return status::ERR_BAD_HANDLE;
        }
        handles::unregister(h as *const ImageMemory);
        // SAFETY: created by Box::into_raw in image_memory_alloc and unregistered exactly once.
        drop(unsafe { Box::from_raw(h as *mut ImageMemory) });
        status::OK
    })
}

pub(crate) unsafe extern "C" fn image_memory_lock(h: ofx_sys::OfxImageMemoryHandle, out: *mut *mut c_void) -> OfxStatus {
    guard(status::FAILED, || {
        let Some(mem) = (unsafe { handles::resolve::<ImageMemory>(h as *const c_void, Kind::ImageMemory) }) else {
            return status::ERR_BAD_HANDLE;
        };
        if out.is_null() {
            return status::FAILED;
        }
        mem.locks.fetch_add(1, Ordering::SeqCst);
        unsafe { *out = mem.buf.ptr().cast() };
        status::OK
    })
}

pub(crate) unsafe extern "C" fn image_memory_unlock(h: ofx_sys::OfxImageMemoryHandle) -> OfxStatus {
    guard(status::FAILED, || {
        let Some(mem) = (unsafe { handles::resolve::<ImageMemory>(h as *const c_void, Kind::ImageMemory) }) else {
            return status::ERR_BAD_HANDLE;
        };
        // Unbalanced unlocks are tolerated (count stays at zero); hosts differ here.
        let _ = mem.locks.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n > 0).then_some(n - 1));
        status::OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_and_free_blocks() {
        let mut p: *mut c_void = std::ptr::null_mut();
        unsafe {
            assert_eq!(memory_alloc(std::ptr::null_mut(), 100, &mut p), status::OK);
            assert_eq!(p as usize % ALIGN, 0);
            std::ptr::write_bytes(p.cast::<u8>(), 7, 100);
            assert_eq!(memory_free(p), status::OK);
            assert_eq!(memory_free(p), status::ERR_BAD_HANDLE);
            assert_eq!(memory_alloc(std::ptr::null_mut(), 1, std::ptr::null_mut()), status::FAILED);
        }
    }

    #[test]
    fn image_memory_lifecycle() {
        let mut h: ofx_sys::OfxImageMemoryHandle = std::ptr::null_mut();
        let mut p: *mut c_void = std::ptr::null_mut();
        unsafe {
            assert_eq!(image_memory_alloc(std::ptr::null_mut(), 64, &mut h), status::OK);
            assert_eq!(image_memory_lock(h, &mut p), status::OK);
            assert!(!p.is_null());
            assert_eq!(*p.cast::<u8>(), 0, "zeroed");
            assert_eq!(image_memory_unlock(h), status::OK);
            assert_eq!(image_memory_free(h), status::OK);
            assert_eq!(image_memory_lock(h, &mut p), status::ERR_BAD_HANDLE);
        }
    }
}
