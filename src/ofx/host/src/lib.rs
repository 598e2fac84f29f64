//! A headless OpenFX (OFX 1.4) host: loads a built `.ofx.bundle`, drives its image effect through
//! the C ABI and renders frames without a GUI. It serves the plug-in's integration tests and the
//! `faceswap render` command.
//!
//! ```no_run
//! use ofx_host::{Bundle, Context, HostImage, RenderRequest, Value};
//! # fn main() -> ofx_host::Result<()> {
//! let bundle = Bundle::load("target/FaceSwap.ofx.bundle")?;
//! let description = bundle.describe(Context::Filter)?;
//! let mut inst = bundle.create_instance(Context::Filter)?;
//! inst.set_param("strength", Value::Double(0.5))?;
//! let source = ofx_host::read_image("face.png")?;
//! let result = inst.render(&RenderRequest::new(1.0, &source))?;
//! ofx_host::write_image("out.png", &result.output)?;
//! # let _ = description; Ok(()) }
//! ```
//!
//! # What the host does
//! - **Suites**: property, parameter, image effect, memory (V1); message (V1, V2); multithread
//!   (V1, real threads); the Foundry plane suite (V1, V2). The optional ones can be switched off in
//!   [`HostConfig`], and any suite withheld by name ([`HostConfig::withheld_suites`]);
//!   `fetchSuite` then returns NULL.
//! - **Actions**: load, describe, describe-in-context, create/destroy instance,
//!   begin/instance/end-changed, get-clip-preferences, get-clip-components (multi-planar),
//!   region of definition, regions of interest, frames needed, is identity, begin/end sequence
//!   render, render, unload. Any other action through [`Instance::call_action`].
//! - **Threads**: [`Instance::render_shared`] renders one instance from several threads at once,
//!   as far as the plug-in's declared render thread safety allows (others wait their turn).
//! - **Parameters**: constant or keyframed values; see [`params`] for the interpolation rules.
//! - **Images**: inputs come from [`FrameProvider`]s at any time the plug-in asks, converted to the
//!   clip's components/depth (from clip preferences) and box-filtered to the render scale. The
//!   output (and each custom plane) is a buffer over the render window. The Source clip can be
//!   left unconnected ([`RenderRequest::source_connected`]).
//! - **Multi-planar plug-ins** (`kFnOfxImageEffectPropMultiPlanar = 1` on the descriptor): the host
//!   asks which planes the output produces (get-clip-components,
//!   `uk.co.thefoundry.OfxNeededComp_Output`), renders with `OfxImageEffectPropRenderPlanes`
//!   listing `uk.co.thefoundry.OfxImagePlaneColour` and every Natron custom plane, and serves
//!   `clipGetImagePlane(Output, …)` for each. As in Natron, a custom plane's image has the output
//!   clip's bit depth, one component per channel of the plane string, and its
//!   `kOfxImageEffectPropComponents` is the plane string itself.
//!
//! # Expectations on the plug-in
//! - Export `OfxGetNumberOfPlugins`/`OfxGetPlugin` from `Contents/Linux-x86-64/<name>.ofx` with
//!   `pluginApi = "OfxImageEffectPluginAPI"`; fetch suites in `kOfxActionLoad`, not in `setHost`.
//! - Declare the filter and/or general context; the host describes each context once per load.
//! - To produce custom planes, set `kFnOfxImageEffectPropMultiPlanar = 1` on the descriptor, answer
//!   `uk.co.thefoundry.OfxImageEffectActionGetClipComponents` by listing the colour plane and the
//!   Natron plane strings in `uk.co.thefoundry.OfxNeededComp_Output`, and fetch each plane's
//!   buffer with `clipGetImagePlane(Output, time, 0, plane, NULL, &img)` in the render action.
//!   Set `OfxImageEffectPropRenderAllPlanes = 1` to get all planes in one render call (otherwise
//!   one call per plane, each listing a single plane in `OfxImageEffectPropRenderPlanes`).
//! - Images come in any of 8-bit, 16-bit and float; every clip has the same depth (the host
//!   does not support multiple clip depths) and inputs keep their own components unless clip
//!   preferences ask otherwise.
//! - Release every image before the action returns (the host frees leftovers and counts them in
//!   [`RenderResult::unreleased_images`]).
//!
//! # Not implemented
//! Interacts and overlays, the progress, timeline, OpenGL, parametric-parameter and dialog
//! suites (`fetchSuite` returns NULL), parametric parameters (`paramDefine` answers
//! `kOfxStatErrUnsupported`), fields/interlacing, multiple views, custom-parameter interpolation
//! callbacks, and instance-changed notifications for values the plug-in itself sets (reason
//! `kOfxChangePluginEdited`). Values set from Rust are not clamped to the parameter's min/max.
//!
//! # Parameter arguments (CLI)
//! [`parse_param_arg`] reads `name=value` or `name=t0:v0,t1:v1[@linear|@smooth|@constant]`:
//! numbers, `true`/`false`/`on`/`off`, choice labels or indices, strings (quote with `"…"` to keep
//! commas, colons or semicolons), and 2D/3D/colour values with components separated by `;`
//! (e.g. `center=0.5;0.25`, `tint=1;0.5;0;1`). A key's time is before its first `:`.
//!
//! # Safety
//! All `unsafe` of the project lives under `src/ofx/`. Every handle given to the plug-in is looked
//! up in a registry before use, every callback is guarded against panics, and every pointer from the
//! plug-in is null-checked.

pub mod actions;
pub mod bundle;
pub mod cli_args;
pub(crate) mod defaults;
pub mod describe;
pub mod error;
pub mod handles;
pub mod host;
pub mod image;
pub mod imageio;
pub mod instance;
pub(crate) mod objects;
pub mod params;
pub mod planes;
pub mod props;
pub mod render;
pub mod render_ctx;
pub mod sequence;
pub(crate) mod session;
pub mod suites;

pub use actions::{ClipComponents, ClipPreferences, Identity};
pub use bundle::{find_binary, Bundle, PluginInfo};
pub use cli_args::{parse_param_arg, ParamArg};
pub use describe::{ClipDescription, Context, EffectDescription, ParamDescription};
pub use error::{HostError, Result};
pub use handles::status;
pub use host::{HostConfig, HostMessage, MessageKind};
pub use image::{Components, Depth, HostImage, RectI};
pub use imageio::{expand_pattern, read_image, write_image, write_plane, ImageSequence};
pub use instance::Instance;
pub use params::{Interpolation, ParamState, ParamType, Value};
pub use planes::PlaneSpec;
pub use props::{PropSnapshot, PropValue};
pub use render::{Premult, RenderRequest, RenderResult};
pub use render_ctx::FrameProvider;
pub use sequence::{render_sequence, SequenceJob, SequenceReport};

/// Messages posted with a NULL or unknown handle (no instance to attach them to).
pub fn orphan_messages() -> Vec<HostMessage> {
    suites::message::ORPHANS.lock().clone()
}

// SAFETY: the only non-thread-safe members of a Bundle are the `OfxHost` struct (read-only for the
// plug-in after setHost) and the library handle; descriptors are behind mutexes, and OFX allows
// actions on different instances from different threads.
unsafe impl Send for Bundle {}
unsafe impl Sync for Bundle {}
