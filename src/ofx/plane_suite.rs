//! Foundry's multi-plane extension (`nuke/fnOfxExtensions.h`), which `ofx_sys` does not bind.
//!
//! Natron and Nuke expose extra image planes through it; we use it to hand the face mask out as its own
//! "FaceMask" plane. Declared by hand from the header's documented layout.

use ofx_sys as sys;
use std::ffi::c_char;

/// `kFnOfxImageEffectPlaneSuite`.
pub const SUITE_NAME: &[u8] = b"uk.co.thefoundry.FnOfxImageEffectPlaneSuite\0";
/// `kFnOfxImageEffectPropMultiPlanar` (int, effect descriptor and host).
pub const PROP_MULTI_PLANAR: &[u8] = b"uk.co.thefoundry.OfxImageEffectPropMultiPlanar\0";
/// `kFnOfxImageEffectPropPassThroughComponents` (int, effect descriptor).
pub const PROP_PASS_THROUGH_COMPONENTS: &[u8] = b"uk.co.thefoundry.OfxImageEffectPropPassThroughComponents\0";
/// `kFnOfxImageEffectActionGetClipComponents`.
pub const ACTION_GET_CLIP_COMPONENTS: &[u8] = b"uk.co.thefoundry.OfxImageEffectActionGetClipComponents\0";
/// Prefix of the per-clip out-args of that action (`...OfxNeededComp_Output`).
pub const NEEDED_COMPONENTS_PREFIX: &str = "uk.co.thefoundry.OfxNeededComp_";
/// `kFnOfxImageEffectPropPassThroughClip`, `...Time`, `...View` (out-args of that action).
pub const PROP_PASS_THROUGH_CLIP: &[u8] = b"uk.co.thefoundry.ImageEffectPropPassThroughClip\0";
pub const PROP_PASS_THROUGH_TIME: &[u8] = b"uk.co.thefoundry.ImageEffectPropPassThroughTime\0";
pub const PROP_PASS_THROUGH_VIEW: &[u8] = b"uk.co.thefoundry.ImageEffectPropPassThroughView\0";
/// `kFnOfxImagePlaneColour`: the ordinary colour plane.
pub const PLANE_COLOUR: &str = "uk.co.thefoundry.OfxImagePlaneColour";
/// `kOfxImageEffectPropRenderPlanes` (render in-args: the planes to fill).
pub const PROP_RENDER_PLANES: &[u8] = b"OfxImageEffectPropRenderPlanes\0";
/// `kOfxImageEffectPropRenderAllPlanes` (effect descriptor: render every plane in one call).
pub const PROP_RENDER_ALL_PLANES: &[u8] = b"OfxImageEffectPropRenderAllPlanes\0";

/// Our mask plane in Natron's encoding of custom planes (ofxNatron.h): plane name, label, one channel.
pub const PLANE_FACE_MASK: &str = "NatronOfxImageComponentsPlaneName_FaceMask_PlaneLabel_FaceMask_Channel_Mask";

/// `FnOfxImageEffectPlaneSuiteV2` from fnOfxExtensions.h, field for field.
#[repr(C)]
pub struct FnOfxImageEffectPlaneSuiteV2 {
    pub clip_get_image_plane: Option<
        unsafe extern "C" fn(
            clip: sys::OfxImageClipHandle,
            time: sys::OfxTime,
            view: i32,
            plane: *const c_char,
            region: *const sys::OfxRectD,
            image: *mut sys::OfxPropertySetHandle,
        ) -> sys::OfxStatus,
    >,
    pub clip_get_region_of_definition: Option<
        unsafe extern "C" fn(
            clip: sys::OfxImageClipHandle,
            time: sys::OfxTime,
            view: i32,
            bounds: *mut sys::OfxRectD,
        ) -> sys::OfxStatus,
    >,
    pub get_view_name: Option<
        unsafe extern "C" fn(effect: sys::OfxImageEffectHandle, view: i32, name: *mut *const c_char) -> sys::OfxStatus,
    >,
    pub get_view_count: Option<unsafe extern "C" fn(effect: sys::OfxImageEffectHandle, count: *mut i32) -> sys::OfxStatus>,
}
