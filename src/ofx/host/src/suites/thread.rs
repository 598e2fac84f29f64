//! The multithread suite (`OfxMultiThreadSuiteV1`): real OS threads through
//! `std::thread::scope`, and recursive mutexes.

use std::cell::Cell;
use std::ffi::{c_int, c_uint, c_void};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::ThreadId;

use parking_lot::{Condvar, Mutex};

use crate::handles::{self, guard, status, Kind, OfxStatus};

/// What `multiThreadNumCPUs` reports; set from the most recently created host's configuration
/// (the suite functions receive no host handle).
pub(crate) static NUM_CPUS: AtomicU32 = AtomicU32::new(1);

thread_local! {
    /// The index of the current thread inside a `multiThread` call, if it is one of ours.
    static THREAD_INDEX: Cell<Option<u32>> = const { Cell::new(None) };
}

/// The plug-in's custom argument, passed through to every thread unchanged.
#[derive(Clone, Copy)]
struct Arg(*mut c_void);
// SAFETY: OFX hands the same pointer to all threads by design; synchronising through it is the
// plug-in's responsibility.
unsafe impl Send for Arg {}

unsafe extern "C" fn multi_thread(func: ofx_sys::OfxThreadFunctionV1, n: c_uint, arg: *mut c_void) -> OfxStatus {
    guard(status::FAILED, || {
        let Some(f) = func else { return status::FAILED };
        let n = if n == 0 { NUM_CPUS.load(Ordering::Relaxed).max(1) } else { n };
        let arg = Arg(arg);
        if THREAD_INDEX.with(Cell::get).is_some() {
            // Nested call from one of our threads: run serially on this thread, as the spec allows,
            // instead of multiplying threads.
            let outer = THREAD_INDEX.with(Cell::get);
            for i in 0..n {
                THREAD_INDEX.with(|t| t.set(Some(i)));
                // SAFETY: a plug-in supplied thread function with its own argument.
                unsafe { f(i, n, arg.0) };
            }
            THREAD_INDEX.with(|t| t.set(outer));
            return status::OK;
        }
        std::thread::scope(|s| {
            for i in 0..n {
                s.spawn(move || {
                    let arg = arg;
                    THREAD_INDEX.with(|t| t.set(Some(i)));
                    // SAFETY: as above.
                    unsafe { f(i, n, arg.0) };
                });
            }
        });
        status::OK
    })
}

unsafe extern "C" fn num_cpus(out: *mut c_uint) -> OfxStatus {
    if out.is_null() {
        return status::FAILED;
    }
    unsafe { *out = NUM_CPUS.load(Ordering::Relaxed).max(1) };
    status::OK
}

unsafe extern "C" fn thread_index(out: *mut c_uint) -> OfxStatus {
    if out.is_null() {
        return status::FAILED;
    }
    // The main thread (not spawned by multiThread) is index 0.
    unsafe { *out = THREAD_INDEX.with(Cell::get).unwrap_or(0) };
    status::OK
}

unsafe extern "C" fn is_spawned_thread() -> c_int {
    c_int::from(THREAD_INDEX.with(Cell::get).is_some())
}

/// A recursive mutex whose lock and unlock are separate C calls.
pub(crate) struct OfxMutex {
    state: Mutex<(Option<ThreadId>, u32)>,
    freed: Condvar,
}

unsafe fn mutex<'a>(h: ofx_sys::OfxMutexHandle) -> Option<&'a OfxMutex> {
    unsafe { handles::resolve(h as *const c_void, Kind::Mutex) }
}

unsafe extern "C" fn mutex_create(out: *mut ofx_sys::OfxMutexHandle, lock_count: c_int) -> OfxStatus {
    guard(status::FAILED, || {
        if out.is_null() {
            return status::FAILED;
        }
        let me = std::thread::current().id();
        let initial = u32::try_from(lock_count).unwrap_or(0);
        let owner = (initial > 0).then_some(me);
        let m = Box::into_raw(Box::new(OfxMutex { state: Mutex::new((owner, initial)), freed: Condvar::new() }));
        handles::register(m as *const OfxMutex, Kind::Mutex);
        unsafe { *out = m as ofx_sys::OfxMutexHandle };
        status::OK
    })
}

unsafe extern "C" fn mutex_destroy(h: ofx_sys::OfxMutexHandle) -> OfxStatus {
    guard(status::FAILED, || {
        if !handles::is_live(h as *const c_void, Kind::Mutex) {
            return status::ERR_BAD_HANDLE;
        }
        handles::unregister(h as *const OfxMutex);
        // SAFETY: created by Box::into_raw in mutex_create, unregistered exactly once.
        drop(unsafe { Box::from_raw(h as *mut OfxMutex) });
        status::OK
    })
}

unsafe extern "C" fn mutex_lock(h: ofx_sys::OfxMutexHandle) -> OfxStatus {
    guard(status::FAILED, || {
        let Some(m) = (unsafe { mutex(h) }) else { return status::ERR_BAD_HANDLE };
        let me = std::thread::current().id();
        let mut st = m.state.lock();
        loop {
            match st.0 {
                None => {
                    *st = (Some(me), 1);
                    return status::OK;
                }
                Some(owner) if owner == me => {
                    st.1 += 1;
                    return status::OK;
                }
                Some(_) => m.freed.wait(&mut st),
            }
        }
    })
}

unsafe extern "C" fn mutex_unlock(h: ofx_sys::OfxMutexHandle) -> OfxStatus {
    guard(status::FAILED, || {
        let Some(m) = (unsafe { mutex(h) }) else { return status::ERR_BAD_HANDLE };
        let me = std::thread::current().id();
        let mut st = m.state.lock();
        if st.0 != Some(me) || st.1 == 0 {
            return status::FAILED;
        }
        st.1 -= 1;
        if st.1 == 0 {
            st.0 = None;
            m.freed.notify_one();
        }
        status::OK
    })
}

unsafe extern "C" fn mutex_try_lock(h: ofx_sys::OfxMutexHandle) -> OfxStatus {
    guard(status::FAILED, || {
        let Some(m) = (unsafe { mutex(h) }) else { return status::ERR_BAD_HANDLE };
        let me = std::thread::current().id();
        let mut st = m.state.lock();
        match st.0 {
            None => {
                *st = (Some(me), 1);
                status::OK
            }
            Some(owner) if owner == me => {
                st.1 += 1;
                status::OK
            }
            Some(_) => status::FAILED,
        }
    })
}

pub(crate) static MULTITHREAD_SUITE: ofx_sys::OfxMultiThreadSuiteV1 = ofx_sys::OfxMultiThreadSuiteV1 {
    multiThread: Some(multi_thread),
    multiThreadNumCPUs: Some(num_cpus),
    multiThreadIndex: Some(thread_index),
    multiThreadIsSpawnedThread: Some(is_spawned_thread),
    mutexCreate: Some(mutex_create),
    mutexDestroy: Some(mutex_destroy),
    mutexLock: Some(mutex_lock),
    mutexUnLock: Some(mutex_unlock),
    mutexTryLock: Some(mutex_try_lock),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    unsafe extern "C" fn count(i: c_uint, n: c_uint, arg: *mut c_void) {
        let counter = unsafe { &*(arg as *const AtomicUsize) };
        assert!(i < n);
        assert_eq!(unsafe { is_spawned_thread() }, 1);
        let mut idx = 99;
        unsafe { thread_index(&mut idx) };
        assert_eq!(idx, i);
        counter.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn runs_every_thread() {
        let counter = AtomicUsize::new(0);
        let st = unsafe { multi_thread(Some(count), 5, &counter as *const _ as *mut c_void) };
        assert_eq!(st, status::OK);
        assert_eq!(counter.load(Ordering::SeqCst), 5);
        assert_eq!(unsafe { is_spawned_thread() }, 0);
    }

    #[test]
    fn recursive_mutex() {
        let mut h: ofx_sys::OfxMutexHandle = std::ptr::null_mut();
        unsafe {
            assert_eq!(mutex_create(&mut h, 1), status::OK);
            assert_eq!(mutex_lock(h), status::OK);
            assert_eq!(mutex_try_lock(h), status::OK);
            let addr = h as usize;
            let other = std::thread::spawn(move || mutex_try_lock(addr as ofx_sys::OfxMutexHandle)).join().unwrap();
            assert_eq!(other, status::FAILED, "held by another thread");
            for _ in 0..3 {
                assert_eq!(mutex_unlock(h), status::OK);
            }
            assert_eq!(mutex_unlock(h), status::FAILED, "not held any more");
            let other = std::thread::spawn(move || {
                let h = addr as ofx_sys::OfxMutexHandle;
                let st = mutex_try_lock(h);
                mutex_unlock(h);
                st
            })
            .join()
            .unwrap();
            assert_eq!(other, status::OK);
            assert_eq!(mutex_destroy(h), status::OK);
            assert_eq!(mutex_lock(h), status::ERR_BAD_HANDLE);
        }
    }
}
