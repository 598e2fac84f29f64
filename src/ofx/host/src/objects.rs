//! The host-side objects behind the opaque handles: effects (descriptors and instances), clips,
//! parameter sets, parameters and images.
//!
//! Each lives in a `Box` registered in [`crate::handles`]; child objects keep a raw back pointer to
//! their effect, which owns them, so the pointer is valid as long as the child is.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::thread::ThreadId;

use parking_lot::Mutex;

use crate::handles::{self, Kind};
use crate::host::{HostMessage, HostShared};
use crate::params::{ParamState, ParamType};
use crate::props::PropertySet;
use crate::render_ctx::RenderCtx;

/// An image effect descriptor or instance (`OfxImageEffectHandle`).
pub(crate) struct EffectObj {
    pub host: Arc<HostShared>,
    pub props: Box<PropertySet>,
    pub param_set: Box<ParamSetObj>,
    /// Boxed so each clip keeps its address (its handle) when the vector grows.
    #[allow(clippy::vec_box)]
    pub clips: Mutex<Vec<Box<ClipObj>>>,
    /// False for descriptors (describe / describe-in-context), true for instances.
    pub is_instance: bool,
    /// Time used by `paramGetValue` and `paramSetValue` (f64 bits).
    current_time: AtomicU64,
    /// What `abort()` answers.
    pub abort: AtomicBool,
    /// Messages posted with this effect's handle, in order.
    pub messages: Mutex<Vec<HostMessage>>,
    /// The persistent message, if one is set.
    pub persistent: Mutex<Option<HostMessage>>,
    /// Renders in progress, by the thread running each (registered for the duration of
    /// [`crate::Instance::render`]). Several threads may render one instance of a fully thread-safe
    /// plug-in at once; each thread's suite calls must reach its own render.
    pub render: Mutex<Vec<(ThreadId, CtxPtr)>>,
    /// Serialises renders of this instance when the plug-in is only instance-safe.
    pub render_serial: Mutex<()>,
}

/// A pointer to the render context living on the stack of `Instance::render`.
#[derive(Clone, Copy)]
pub(crate) struct CtxPtr(pub *const RenderCtx<'static>);
// SAFETY: the context is Sync (see RenderCtx) and outlives every use: `render` clears this pointer
// before the context is dropped, and plug-in calls only happen inside `render`.
unsafe impl Send for CtxPtr {}
unsafe impl Sync for CtxPtr {}

/// Registers a render context for the current thread; unregisters it when dropped, however the
/// render ends.
pub(crate) struct RenderEntry<'e> {
    effect: &'e EffectObj,
    thread: ThreadId,
    ctx: *const RenderCtx<'static>,
}

impl Drop for RenderEntry<'_> {
    fn drop(&mut self) {
        let mut renders = self.effect.render.lock();
        if let Some(i) = renders.iter().position(|(t, p)| *t == self.thread && std::ptr::eq(p.0, self.ctx)) {
            renders.remove(i);
        }
    }
}

impl EffectObj {
    /// A registered effect with the given properties and an empty parameter set.
    pub fn boxed(host: Arc<HostShared>, props: Box<PropertySet>, is_instance: bool) -> Box<EffectObj> {
        let mut e = Box::new(EffectObj {
            host,
            props,
            param_set: ParamSetObj::boxed(),
            clips: Mutex::new(Vec::new()),
            is_instance,
            current_time: AtomicU64::new(0f64.to_bits()),
            abort: AtomicBool::new(false),
            messages: Mutex::new(Vec::new()),
            persistent: Mutex::new(None),
            render: Mutex::new(Vec::new()),
            render_serial: Mutex::new(()),
        });
        let ptr: *const EffectObj = &*e;
        e.param_set.effect = ptr;
        handles::register(ptr, Kind::Effect);
        e
    }

    /// The handle the plug-in sees.
    pub fn handle(&self) -> ofx_sys::OfxImageEffectHandle {
        self as *const EffectObj as ofx_sys::OfxImageEffectHandle
    }

    /// Resolves a plug-in handle.
    ///
    /// # Safety
    /// See [`handles::resolve`].
    pub unsafe fn from_handle<'a>(h: *const c_void) -> Option<&'a EffectObj> {
        unsafe { handles::resolve(h, Kind::Effect) }
    }

    pub fn current_time(&self) -> f64 {
        f64::from_bits(self.current_time.load(Ordering::Relaxed))
    }

    pub fn set_current_time(&self, t: f64) {
        self.current_time.store(t.to_bits(), Ordering::Relaxed);
    }

    /// The clip called `name`.
    pub fn clip(&self, name: &str) -> Option<&ClipObj> {
        let clips = self.clips.lock();
        let c: *const ClipObj = &**clips.iter().find(|c| c.name == name)?;
        // SAFETY: clips are boxed and only ever added while the effect lives, so the box outlives
        // the guard and `&self`.
        Some(unsafe { &*c })
    }

    /// All clips, in definition order.
    pub fn clip_list(&self) -> Vec<&ClipObj> {
        let clips = self.clips.lock();
        // SAFETY: as in `clip`.
        clips.iter().map(|c| unsafe { &*(&**c as *const ClipObj) }).collect()
    }

    /// Makes `ctx` the render of the current thread until the returned entry is dropped.
    ///
    /// # Safety
    /// `ctx` must outlive the returned entry (see [`CtxPtr`]).
    pub unsafe fn enter_render(&self, ctx: *const RenderCtx<'static>) -> RenderEntry<'_> {
        let thread = std::thread::current().id();
        self.render.lock().push((thread, CtxPtr(ctx)));
        RenderEntry { effect: self, thread, ctx }
    }

    /// The render context of the calling thread; from a thread the host did not start (a plug-in's
    /// own worker), the one render in progress, if exactly one is.
    pub fn render_ctx(&self) -> Option<&RenderCtx<'static>> {
        let renders = self.render.lock();
        let me = std::thread::current().id();
        let p = match renders.iter().find(|(t, _)| *t == me) {
            Some((_, p)) => *p,
            None if renders.len() == 1 => renders[0].1,
            None => return None,
        };
        // SAFETY: see CtxPtr; the entry is removed before the context goes away, and the plug-in
        // only calls in while the render that registered it runs.
        Some(unsafe { &*p.0 })
    }
}

impl Drop for EffectObj {
    fn drop(&mut self) {
        handles::unregister(self as *const EffectObj);
    }
}

/// A clip descriptor or instance (`OfxImageClipHandle`).
pub(crate) struct ClipObj {
    pub name: String,
    pub props: Box<PropertySet>,
    pub effect: *const EffectObj,
}
// SAFETY: `effect` points at the owning, boxed effect (Sync), valid while the clip lives.
unsafe impl Send for ClipObj {}
unsafe impl Sync for ClipObj {}

impl ClipObj {
    pub fn boxed(name: &str, props: Box<PropertySet>, effect: *const EffectObj) -> Box<ClipObj> {
        let c = Box::new(ClipObj { name: name.to_owned(), props, effect });
        handles::register(&*c as *const ClipObj, Kind::Clip);
        c
    }

    pub fn handle(&self) -> ofx_sys::OfxImageClipHandle {
        self as *const ClipObj as ofx_sys::OfxImageClipHandle
    }

    /// # Safety
    /// See [`handles::resolve`].
    pub unsafe fn from_handle<'a>(h: *const c_void) -> Option<&'a ClipObj> {
        unsafe { handles::resolve(h, Kind::Clip) }
    }

    pub fn effect(&self) -> &EffectObj {
        // SAFETY: the effect owns this clip and outlives it.
        unsafe { &*self.effect }
    }
}

impl Drop for ClipObj {
    fn drop(&mut self) {
        handles::unregister(self as *const ClipObj);
    }
}

/// A parameter set (`OfxParamSetHandle`); its property set is the effect's (per the spec).
pub(crate) struct ParamSetObj {
    /// Boxed so each parameter keeps its address (its handle) when the vector grows.
    #[allow(clippy::vec_box)]
    pub params: Mutex<Vec<Box<ParamObj>>>,
    pub effect: *const EffectObj,
}
// SAFETY: as for ClipObj.
unsafe impl Send for ParamSetObj {}
unsafe impl Sync for ParamSetObj {}

impl ParamSetObj {
    fn boxed() -> Box<ParamSetObj> {
        let s = Box::new(ParamSetObj { params: Mutex::new(Vec::new()), effect: std::ptr::null() });
        handles::register(&*s as *const ParamSetObj, Kind::ParamSet);
        s
    }

    pub fn handle(&self) -> ofx_sys::OfxParamSetHandle {
        self as *const ParamSetObj as ofx_sys::OfxParamSetHandle
    }

    /// # Safety
    /// See [`handles::resolve`].
    pub unsafe fn from_handle<'a>(h: *const c_void) -> Option<&'a ParamSetObj> {
        unsafe { handles::resolve(h, Kind::ParamSet) }
    }

    pub fn effect(&self) -> &EffectObj {
        // SAFETY: set right after the effect is boxed; the effect owns this set.
        unsafe { &*self.effect }
    }

    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&ParamObj> {
        let params = self.params.lock();
        let p: *const ParamObj = &**params.iter().find(|p| p.name == name)?;
        // SAFETY: parameters are boxed and only ever added while the set lives.
        Some(unsafe { &*p })
    }

    /// All parameters, in definition order.
    pub fn param_list(&self) -> Vec<&ParamObj> {
        let params = self.params.lock();
        // SAFETY: as in `param`.
        params.iter().map(|p| unsafe { &*(&**p as *const ParamObj) }).collect()
    }
}

impl Drop for ParamSetObj {
    fn drop(&mut self) {
        handles::unregister(self as *const ParamSetObj);
    }
}

/// A parameter descriptor or instance (`OfxParamHandle`).
pub(crate) struct ParamObj {
    pub name: String,
    pub ty: ParamType,
    pub props: Box<PropertySet>,
    pub state: Mutex<ParamState>,
    pub effect: *const EffectObj,
}
// SAFETY: as for ClipObj.
unsafe impl Send for ParamObj {}
unsafe impl Sync for ParamObj {}

impl ParamObj {
    pub fn boxed(name: &str, ty: ParamType, props: Box<PropertySet>, state: ParamState, effect: *const EffectObj) -> Box<ParamObj> {
        let p = Box::new(ParamObj { name: name.to_owned(), ty, props, state: Mutex::new(state), effect });
        handles::register(&*p as *const ParamObj, Kind::Param);
        p
    }

    pub fn handle(&self) -> ofx_sys::OfxParamHandle {
        self as *const ParamObj as ofx_sys::OfxParamHandle
    }

    /// # Safety
    /// See [`handles::resolve`].
    pub unsafe fn from_handle<'a>(h: *const c_void) -> Option<&'a ParamObj> {
        unsafe { handles::resolve(h, Kind::Param) }
    }

    pub fn effect(&self) -> &EffectObj {
        // SAFETY: the effect owns the parameter set that owns this parameter.
        unsafe { &*self.effect }
    }
}

impl Drop for ParamObj {
    fn drop(&mut self) {
        handles::unregister(self as *const ParamObj);
    }
}

/// A 64-byte aligned, zeroed pixel buffer handed to the plug-in as `kOfxImagePropData`.
///
/// Rust never forms references into it while a plug-in may write to it; it is read back only
/// after the render action returned.
pub(crate) struct RawBuf {
    ptr: *mut u8,
    len: usize,
}
// SAFETY: a plain heap allocation; concurrent writes by plug-in threads are the plug-in's business
// (OFX lets it write any pixel of an output image from any render thread).
unsafe impl Send for RawBuf {}
unsafe impl Sync for RawBuf {}

const RAW_ALIGN: usize = 64;

impl RawBuf {
    /// A zeroed buffer; `None` if the allocation fails.
    pub fn zeroed(len: usize) -> Option<RawBuf> {
        let layout = std::alloc::Layout::from_size_align(len.max(1), RAW_ALIGN).ok()?;
        // SAFETY: non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        (!ptr.is_null()).then_some(RawBuf { ptr, len })
    }

    /// A buffer holding a copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Option<RawBuf> {
        let b = RawBuf::zeroed(bytes.len())?;
        // SAFETY: fresh allocation of at least `bytes.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), b.ptr, bytes.len()) };
        Some(b)
    }

    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// A copy of the contents (call only when no plug-in code can be writing).
    pub fn to_vec(&self) -> Vec<u8> {
        // SAFETY: `len` initialised bytes (zeroed at allocation).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }.to_vec()
    }
}

impl Drop for RawBuf {
    fn drop(&mut self) {
        if let Ok(layout) = std::alloc::Layout::from_size_align(self.len.max(1), RAW_ALIGN) {
            // SAFETY: allocated in `zeroed` with this layout.
            unsafe { std::alloc::dealloc(self.ptr, layout) };
        }
    }
}

/// An image handed to the plug-in: its property set is the handle; the pixels are shared.
pub(crate) struct ImageObj {
    pub props: Box<PropertySet>,
    pub _data: Arc<RawBuf>,
    /// The render that fetched it, so images the plug-in forgot to release are freed at its end.
    pub render_id: u64,
}

/// Live images by the address of their property set.
static IMAGES: LazyLock<Mutex<HashMap<usize, ImageObj>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Registers an image and returns its handle.
pub(crate) fn add_image(img: ImageObj) -> ofx_sys::OfxPropertySetHandle {
    let h = img.props.handle();
    IMAGES.lock().insert(h as usize, img);
    h
}

/// `clipReleaseImage`: false if the handle is not a live image.
pub(crate) fn release_image(h: ofx_sys::OfxPropertySetHandle) -> bool {
    let removed = IMAGES.lock().remove(&(h as usize));
    removed.is_some()
}

/// Frees the images of a finished render; returns how many the plug-in had not released.
pub(crate) fn release_render_images(render_id: u64) -> usize {
    let mut images = IMAGES.lock();
    let before = images.len();
    images.retain(|_, img| img.render_id != render_id);
    before - images.len()
}
