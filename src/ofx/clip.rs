//! The effect handle and its clips.

use super::image::Image;
use super::param::ParamSet;
use super::props::PropSet;
use super::{check, suites, OfxError, RectD};
use ofx_sys as sys;
use std::any::Any;
use std::ffi::{c_void, CString};

/// An image effect (descriptor during describe, instance afterwards).
#[derive(Clone, Copy, Debug)]
pub struct Effect(sys::OfxImageEffectHandle);

/// A clip instance (or descriptor).
#[derive(Clone, Copy, Debug)]
pub struct Clip(sys::OfxImageClipHandle);

// SAFETY: opaque host tokens, usable from render threads per the spec; never dereferenced by us.
unsafe impl Send for Effect {}
unsafe impl Sync for Effect {}
unsafe impl Send for Clip {}
unsafe impl Sync for Clip {}

macro_rules! suite_fn {
    ($suites:expr, $f:ident) => {
        $suites.effect.$f.ok_or(OfxError::MissingSuite(concat!("image effect (", stringify!($f), ")")))?
    };
}

fn c_text(s: &str) -> Result<CString, OfxError> {
    CString::new(s).map_err(|_| OfxError::NulInString)
}

/// What a node keeps per instance: boxed once at CreateInstance, freed at DestroyInstance.
pub type InstanceBox = Box<dyn Any + Send + Sync>;

impl Effect {
    pub(crate) fn from_raw(h: sys::OfxImageEffectHandle) -> Self {
        Effect(h)
    }

    pub(crate) fn raw(&self) -> sys::OfxImageEffectHandle {
        self.0
    }

    pub fn props(&self) -> Result<PropSet, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, getPropertySet);
        let mut p: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: effect handle from the current action; valid out pointer.
        check("getPropertySet", unsafe { f(self.0, &mut p) })?;
        if p.is_null() {
            return Err(OfxError::Null("effect property set"));
        }
        Ok(PropSet::from_raw(p))
    }

    pub fn params(&self) -> Result<ParamSet, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, getParamSet);
        let mut p: sys::OfxParamSetHandle = std::ptr::null_mut();
        // SAFETY: effect handle from the current action; valid out pointer.
        check("getParamSet", unsafe { f(self.0, &mut p) })?;
        if p.is_null() {
            return Err(OfxError::Null("parameter set"));
        }
        Ok(ParamSet::from_raw(p))
    }

    /// Defines a clip (describe in context) and returns its descriptor properties.
    pub fn define_clip(&self, name: &str) -> Result<PropSet, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, clipDefine);
        let n = c_text(name)?;
        let mut p: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: descriptor handle; NUL-terminated name the host copies; valid out pointer.
        check("clipDefine", unsafe { f(self.0, n.as_ptr(), &mut p) })?;
        if p.is_null() {
            return Err(OfxError::Null("clip descriptor"));
        }
        Ok(PropSet::from_raw(p))
    }

    /// A clip instance by name.
    pub fn clip(&self, name: &str) -> Result<Clip, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, clipGetHandle);
        let n = c_text(name)?;
        let mut c: sys::OfxImageClipHandle = std::ptr::null_mut();
        // SAFETY: instance handle; NUL-terminated name; valid out pointer, optional property out left null.
        check("clipGetHandle", unsafe { f(self.0, n.as_ptr(), &mut c, std::ptr::null_mut()) })?;
        if c.is_null() {
            return Err(OfxError::Null("clip handle"));
        }
        Ok(Clip(c))
    }

    /// True when the host asks us to stop rendering (user interaction, cancelled farm task).
    pub fn aborted(&self) -> bool {
        let Ok(s) = suites::get() else { return false };
        let Some(f) = s.effect.abort else { return false };
        // SAFETY: instance handle during render.
        unsafe { f(self.0) != 0 }
    }

    /// Stores the node's per-instance data in the instance's property set.
    pub fn set_instance_data(&self, data: InstanceBox) -> Result<(), OfxError> {
        // Double box: a thin pointer to the fat `Box<dyn Any>` travels through the host as `void*`.
        let raw = Box::into_raw(Box::new(data)) as *mut c_void;
        if let Err(e) = self.props().and_then(|p| p.set_pointer(sys::kOfxPropInstanceData, 0, raw)) {
            // SAFETY: `raw` came from Box::into_raw just above and was not handed to the host.
            drop(unsafe { Box::from_raw(raw as *mut InstanceBox) });
            return Err(e);
        }
        Ok(())
    }

    /// Borrows the per-instance data for the duration of an action.
    pub fn with_instance_data<T: 'static, R>(&self, f: impl FnOnce(&T) -> R) -> Result<Option<R>, OfxError> {
        let raw = self.props()?.get_pointer(sys::kOfxPropInstanceData, 0)?;
        if raw.is_null() {
            return Ok(None);
        }
        // SAFETY: only `set_instance_data` writes this property, with a leaked `Box<InstanceBox>` that stays
        // alive until `take_instance_data` at DestroyInstance; the host does not call other actions on an
        // instance after destroying it. The data is Sync, so concurrent renders may share the borrow.
        let data: &InstanceBox = unsafe { &*(raw as *const InstanceBox) };
        Ok(data.downcast_ref::<T>().map(f))
    }

    /// Takes the per-instance data back (DestroyInstance) so it is dropped.
    pub fn take_instance_data(&self) -> Result<Option<InstanceBox>, OfxError> {
        let props = self.props()?;
        let raw = props.get_pointer(sys::kOfxPropInstanceData, 0)?;
        if raw.is_null() {
            return Ok(None);
        }
        props.set_pointer(sys::kOfxPropInstanceData, 0, std::ptr::null_mut())?;
        // SAFETY: see `with_instance_data`; the property is cleared first so nobody reads it again.
        Ok(Some(*unsafe { Box::from_raw(raw as *mut InstanceBox) }))
    }
}

impl Clip {
    pub fn props(&self) -> Result<PropSet, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, clipGetPropertySet);
        let mut p: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: clip handle from clipGetHandle; valid out pointer.
        check("clipGetPropertySet", unsafe { f(self.0, &mut p) })?;
        if p.is_null() {
            return Err(OfxError::Null("clip property set"));
        }
        Ok(PropSet::from_raw(p))
    }

    pub fn connected(&self) -> bool {
        self.props().and_then(|p| p.get_int(sys::kOfxImageClipPropConnected, 0)).map(|v| v != 0).unwrap_or(false)
    }

    /// The clip's region of definition at `time`, in canonical coordinates.
    pub fn region_of_definition(&self, time: f64) -> Result<RectD, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, clipGetRegionOfDefinition);
        let mut r = sys::OfxRectD { x1: 0.0, y1: 0.0, x2: 0.0, y2: 0.0 };
        // SAFETY: clip handle; valid out pointer.
        check("clipGetRegionOfDefinition", unsafe { f(self.0, time, &mut r) })?;
        Ok(RectD { x1: r.x1, y1: r.y1, x2: r.x2, y2: r.y2 })
    }

    /// Fetches the clip's image at `time` (None when the host has no image there).
    pub fn image(&self, time: f64) -> Result<Option<Image>, OfxError> {
        let s = suites::get()?;
        let f = suite_fn!(s, clipGetImage);
        let mut h: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: clip handle; NULL region = the region the host deems right; valid out pointer.
        let status = unsafe { f(self.0, time, std::ptr::null(), &mut h) };
        if status != sys::kOfxStatOK as sys::OfxStatus || h.is_null() {
            // kOfxStatFailed: no image at that time (e.g. outside the clip's frame range).
            return Ok(None);
        }
        Image::from_handle(h).map(Some)
    }

    /// Fetches one plane of a multi-plane output (Foundry plane suite). None when the host lacks the suite.
    pub fn image_plane(&self, time: f64, view: i32, plane: &str) -> Result<Option<Image>, OfxError> {
        let s = suites::get()?;
        let Some(suite) = s.plane else { return Ok(None) };
        let Some(f) = suite.clip_get_image_plane else { return Ok(None) };
        let name = c_text(plane)?;
        let mut h: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: clip handle; NUL-terminated plane name; NULL region (the render window); valid out pointer.
        let status = unsafe { f(self.0, time, view, name.as_ptr(), std::ptr::null(), &mut h) };
        if status != sys::kOfxStatOK as sys::OfxStatus || h.is_null() {
            return Ok(None);
        }
        Image::from_handle(h).map(Some)
    }
}
