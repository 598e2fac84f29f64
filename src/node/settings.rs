//! Raw parameter values → one validated [`Settings`] struct, read once per render at the render's time.
//!
//! The pipeline never sees a raw parameter: whatever the host hands us (out-of-range values typed into a
//! script, NaN from an expression, a stale choice index) is checked or clamped here.

use super::params::{self, name, ChoiceOption};
use crate::pipeline::composite::{CompositeSettings, OutputMode};
use crate::pipeline::analysis::Search;
use crate::pipeline::run::Request;
use crate::pipeline::{ColourTransfer, FaceSelection, MaskSource};
use std::path::PathBuf;
use thiserror::Error;

/// Reads parameter values at a time. Implemented over the OFX parameter suite, and by plain maps in tests.
pub trait ParamSource {
    fn double(&self, name: &str, time: f64) -> Result<f64, SettingsError>;
    fn double2d(&self, name: &str, time: f64) -> Result<(f64, f64), SettingsError>;
    fn int(&self, name: &str, time: f64) -> Result<i32, SettingsError>;
    fn string(&self, name: &str, time: f64) -> Result<String, SettingsError>;

    /// Booleans are integer parameters in OFX: anything but 0 is on.
    fn boolean(&self, name: &str, time: f64) -> Result<bool, SettingsError> {
        Ok(self.int(name, time)? != 0)
    }

    /// The option index of a choice (an integer in OFX; a negative one is refused).
    fn choice(&self, name: &str, time: f64) -> Result<usize, SettingsError> {
        let v = self.int(name, time)?;
        usize::try_from(v).map_err(|_| SettingsError::Invalid { name: name.into(), value: v.to_string(), why: "negative option index" })
    }
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum SettingsError {
    #[error("the host could not give the value of parameter '{name}'")]
    Unreadable { name: String },
    #[error("parameter '{name}' has the value {value}, which is not usable: {why}")]
    Invalid { name: String, value: String, why: &'static str },
}

pub use crate::pipeline::DevicePreference;

/// The identity the user picked: by name first (stable across model changes), by menu index as a fallback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityChoice {
    pub name: String,
    pub index: usize,
}

/// Every parameter, validated, at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// None when the field is empty.
    pub model: Option<PathBuf>,
    pub identity: IdentityChoice,
    pub blend: f32,
    pub output: OutputMode,
    pub mask_in_alpha: bool,
    /// Full-resolution frame pixels; the render scales them.
    pub mask_erode: f32,
    pub mask_feather: f32,
    pub mask_source: MaskSource,
    pub colour_transfer: ColourTransfer,
    pub face_selection: FaceSelection,
    pub detection_threshold: f32,
    /// The Smallest Face parameter as a fraction of the frame's height.
    pub smallest_face: f32,
    /// Frames before and after used to steady the landmarks.
    pub temporal_window: u32,
    pub device: DevicePreference,
}

fn finite(name: &str, v: f64) -> Result<f64, SettingsError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(SettingsError::Invalid { name: name.into(), value: v.to_string(), why: "not a finite number" })
    }
}

/// Clamps a double to its declared range (scripts can set values outside the slider).
fn ranged(src: &dyn ParamSource, name: &str, time: f64) -> Result<f64, SettingsError> {
    let v = finite(name, src.double(name, time)?)?;
    match params::spec(name).map(|s| s.kind) {
        Some(params::Kind::Double { min, max, .. }) => Ok(v.clamp(min, max)),
        _ => Ok(v),
    }
}

fn option_id(
    src: &dyn ParamSource,
    name: &str,
    options: &'static [ChoiceOption],
    time: f64,
) -> Result<&'static str, SettingsError> {
    let i = src.choice(name, time)?;
    options
        .get(i)
        .map(|o| o.id)
        .ok_or_else(|| SettingsError::Invalid { name: name.into(), value: i.to_string(), why: "no such option" })
}

impl Settings {
    /// Reads and validates every parameter at `time`.
    pub fn read(src: &dyn ParamSource, time: f64) -> Result<Settings, SettingsError> {
        let model = src.string(name::MODEL, time)?;
        let model = model.trim();
        let output = match option_id(src, name::OUTPUT, &params::OUTPUT_OPTIONS, time)? {
            "swappedFace" => OutputMode::SwappedFace,
            "maskOnly" => OutputMode::MaskOnly,
            "analysis" => OutputMode::Analysis,
            _ => OutputMode::Composite,
        };
        let mask_source = match option_id(src, name::MASK_SOURCE, &params::MASK_SOURCE_OPTIONS, time)? {
            "hull" => MaskSource::Hull,
            "learned" => MaskSource::Learned,
            _ => MaskSource::LearnedInHull,
        };
        let colour_transfer = match option_id(src, name::COLOUR_TRANSFER, &params::COLOUR_TRANSFER_OPTIONS, time)? {
            "meanStdRgb" => ColourTransfer::MeanStdRgb,
            "none" => ColourTransfer::None,
            _ => ColourTransfer::ReinhardLab,
        };
        let face_selection = match option_id(src, name::FACE_SELECTION, &params::FACE_SELECTION_OPTIONS, time)? {
            "all" => FaceSelection::All,
            "nearestPoint" => {
                let (x, y) = src.double2d(name::FACE_POINT, time)?;
                FaceSelection::NearestTo { x: finite(name::FACE_POINT, x)? as f32, y: finite(name::FACE_POINT, y)? as f32 }
            }
            _ => FaceSelection::Largest,
        };
        let device = match option_id(src, name::DEVICE, &params::DEVICE_OPTIONS, time)? {
            "gpu" => DevicePreference::Gpu,
            "cpu" => DevicePreference::Cpu,
            _ => DevicePreference::Auto,
        };
        let window = src.int(name::TEMPORAL_SMOOTHING, time)?;
        let max_window = match params::spec(name::TEMPORAL_SMOOTHING).map(|s| s.kind) {
            Some(params::Kind::Int { max, .. }) => max,
            _ => 0,
        };
        Ok(Settings {
            model: if model.is_empty() { None } else { Some(PathBuf::from(model)) },
            identity: IdentityChoice { name: src.string(name::IDENTITY_NAME, time)?, index: src.choice(name::IDENTITY, time)? },
            blend: ranged(src, name::BLEND, time)? as f32,
            output,
            mask_in_alpha: src.boolean(name::MASK_IN_ALPHA, time)?,
            mask_erode: ranged(src, name::MASK_ERODE, time)? as f32,
            mask_feather: ranged(src, name::MASK_FEATHER, time)? as f32,
            mask_source,
            colour_transfer,
            face_selection,
            detection_threshold: ranged(src, name::DETECTION_THRESHOLD, time)? as f32,
            smallest_face: ranged(src, name::SMALLEST_FACE, time)? as f32 / 100.0,
            temporal_window: window.clamp(0, max_window) as u32,
            device,
        })
    }

    /// True when rendering would give back the source unchanged, whatever the frame holds.
    pub fn is_identity(&self) -> bool {
        self.output == OutputMode::Composite && !self.mask_in_alpha && (self.blend <= 0.0 || self.model.is_none())
    }

    /// True when the output carries the mask in alpha (Mask in Alpha, Swapped Face Only, Mask Only), so it must
    /// be RGBA whatever the source is.
    pub fn output_needs_alpha(&self) -> bool {
        match self.output {
            OutputMode::Composite => self.mask_in_alpha,
            OutputMode::SwappedFace | OutputMode::MaskOnly => true,
            // The plate as it came, lines drawn on it: no mask to carry.
            OutputMode::Analysis => false,
        }
    }

    /// The pipeline's request for one frame: pixel sizes scaled to the render, the face point moved from the
    /// host's canonical coordinates (y up) into the frame's pixels (y down).
    ///
    /// `scale` is the render scale; `left` and `top` are the source frame's left and top edges in the host's
    /// pixel coordinates at that scale (OFX bounds `x1` and `y2`: a frame read from a file has `0` and its
    /// height). The node and `faceswap apply` both build their requests here, so the two cannot drift apart.
    pub fn request(&self, scale: [f64; 2], left: i32, top: i32) -> Request {
        let sx = scale[0] as f32;
        let face_selection = match self.face_selection {
            FaceSelection::NearestTo { x, y } => {
                FaceSelection::NearestTo { x: x * sx - left as f32, y: top as f32 - y * scale[1] as f32 }
            }
            other => other,
        };
        Request {
            model: self.model.clone(),
            identity_name: self.identity.name.clone(),
            identity_index: self.identity.index,
            composite: CompositeSettings { mode: self.output, blend: self.blend, mask_in_alpha: self.mask_in_alpha },
            mask_erode: self.mask_erode * sx,
            mask_feather: self.mask_feather * sx,
            mask_source: self.mask_source,
            colour_transfer: self.colour_transfer,
            face_selection,
            search: Search { threshold: self.detection_threshold, smallest_face: self.smallest_face },
            device: self.device,
            temporal_window: self.temporal_window,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::node::params::{Kind, PARAMS};
    use std::collections::HashMap;

    /// Parameter values from the table's defaults, overridable per test.
    #[derive(Default)]
    pub struct MapSource {
        pub doubles: HashMap<&'static str, f64>,
        pub ints: HashMap<&'static str, i32>,
        pub strings: HashMap<&'static str, String>,
    }

    impl MapSource {
        pub fn defaults() -> Self {
            let mut m = MapSource::default();
            for p in PARAMS.iter() {
                match p.kind {
                    Kind::Double { default, .. } => {
                        m.doubles.insert(p.name, default);
                    }
                    Kind::Int { default, .. } => {
                        m.ints.insert(p.name, default);
                    }
                    Kind::Choice { default, .. } => {
                        m.ints.insert(p.name, default as i32);
                    }
                    Kind::Bool { default } => {
                        m.ints.insert(p.name, default as i32);
                    }
                    Kind::FilePath { default } | Kind::HiddenString { default } => {
                        m.strings.insert(p.name, default.to_string());
                    }
                    Kind::Point { default } => {
                        m.doubles.insert(p.name, default.0);
                    }
                }
            }
            m
        }
    }

    fn missing(name: &str) -> SettingsError {
        SettingsError::Unreadable { name: name.into() }
    }

    impl ParamSource for MapSource {
        fn double(&self, name: &str, _t: f64) -> Result<f64, SettingsError> {
            self.doubles.get(name).copied().ok_or_else(|| missing(name))
        }
        fn double2d(&self, name: &str, t: f64) -> Result<(f64, f64), SettingsError> {
            let v = self.double(name, t)?;
            Ok((v, v))
        }
        fn int(&self, name: &str, _t: f64) -> Result<i32, SettingsError> {
            self.ints.get(name).copied().ok_or_else(|| missing(name))
        }
        fn string(&self, name: &str, _t: f64) -> Result<String, SettingsError> {
            self.strings.get(name).cloned().ok_or_else(|| missing(name))
        }
    }

    #[test]
    fn defaults_read_cleanly() {
        let s = Settings::read(&MapSource::defaults(), 0.0).unwrap();
        assert_eq!(s.model, None);
        assert_eq!(s.blend, 1.0);
        assert_eq!(s.output, OutputMode::Composite);
        assert_eq!(s.face_selection, FaceSelection::Largest);
        assert_eq!(s.temporal_window, 2);
        assert!(s.is_identity(), "no model means passthrough");
    }

    #[test]
    fn out_of_range_values_are_clamped_and_nan_rejected() {
        let mut m = MapSource::defaults();
        m.doubles.insert(name::BLEND, 3.0);
        m.ints.insert(name::TEMPORAL_SMOOTHING, 99);
        let s = Settings::read(&m, 0.0).unwrap();
        assert_eq!(s.blend, 1.0);
        assert_eq!(s.temporal_window, 12);
        m.doubles.insert(name::MASK_FEATHER, f64::NAN);
        assert!(matches!(Settings::read(&m, 0.0), Err(SettingsError::Invalid { .. })));
    }

    #[test]
    fn bad_choice_index_is_an_error() {
        let mut m = MapSource::defaults();
        m.ints.insert(name::OUTPUT, 7);
        assert!(Settings::read(&m, 0.0).is_err());
    }

    #[test]
    fn choices_map_to_their_meaning() {
        let mut m = MapSource::defaults();
        m.ints.insert(name::OUTPUT, 2);
        m.ints.insert(name::FACE_SELECTION, 2);
        m.ints.insert(name::MASK_SOURCE, 1);
        m.doubles.insert(name::FACE_POINT, 0.25);
        m.strings.insert(name::MODEL, "  /models/a.safetensors ".into());
        let s = Settings::read(&m, 0.0).unwrap();
        assert_eq!(s.output, OutputMode::MaskOnly);
        assert_eq!((s.mask_source, s.request([1.0, 1.0], 0, 0).mask_source), (MaskSource::Hull, MaskSource::Hull));
        assert_eq!(Settings::read(&MapSource::defaults(), 0.0).unwrap().mask_source, MaskSource::LearnedInHull);
        // Face Analysis renders without a model, so the node is never an identity there, and adds no alpha.
        let mut analysis = MapSource::defaults();
        analysis.ints.insert(name::OUTPUT, 3);
        let a = Settings::read(&analysis, 0.0).unwrap();
        assert_eq!((a.output, a.model.is_none(), a.is_identity(), a.output_needs_alpha()), (OutputMode::Analysis, true, false, false));
        assert_eq!(s.face_selection, FaceSelection::NearestTo { x: 0.25, y: 0.25 });
        assert_eq!(s.model, Some(PathBuf::from("/models/a.safetensors")));
        assert!(!s.is_identity());
        assert!(s.output_needs_alpha(), "Mask Only carries the mask in alpha");
    }

    #[test]
    fn request_scales_pixel_sizes_and_moves_the_point() {
        let mut m = MapSource::defaults();
        m.ints.insert(name::FACE_SELECTION, 2);
        m.doubles.insert(name::FACE_POINT, 100.0);
        let s = Settings::read(&m, 0.0).unwrap();
        // A half-scale proxy of a 640x360 frame whose bounds are (0, 0, 320, 180).
        let req = s.request([0.5, 0.5], 0, 180);
        assert_eq!(req.mask_feather, s.mask_feather * 0.5);
        assert_eq!(req.mask_erode, s.mask_erode * 0.5);
        assert_eq!(req.face_selection, FaceSelection::NearestTo { x: 50.0, y: 130.0 });
        assert_eq!((req.composite.blend, req.temporal_window), (s.blend, s.temporal_window));
    }
}
