//! `faceswap apply`'s options as the node's parameters.
//!
//! Each option sets the node parameter of the same meaning (constant, or keyframed where the node animates it),
//! and [`NodeParams`] answers [`Settings::read`] the way a host answers the node: so the command line and the
//! node validate, clamp and map values through one function, and build their pipeline request through one
//! function ([`Settings::request`]). Keyframes interpolate with the headless host's curves
//! ([`ofx_host::ParamState`]), the ones `faceswap render --param` sets, so both tools see the same value at
//! every frame.

use faceswap_ofx::node::params::{self, name, ChoiceOption, Kind, PARAMS};
use faceswap_ofx::node::settings::{ParamSource, SettingsError};
use ofx_host::cli_args::RawValue;
use ofx_host::{ParamArg, ParamState, ParamType, Value};
use std::collections::HashMap;

/// Every node parameter's value, constant or animated, by script name.
pub struct NodeParams {
    values: HashMap<&'static str, ParamState>,
}

impl NodeParams {
    /// Every parameter at the node's default (the table in `node::params`). `frame` is the source's
    /// (width, height): Face Point's default is the frame centre, as a host resolves its normalised default.
    pub fn defaults(frame: (usize, usize)) -> NodeParams {
        let mut values = HashMap::new();
        for p in PARAMS.iter() {
            let (ty, value) = match p.kind {
                Kind::FilePath { default } | Kind::HiddenString { default } => (ParamType::String, Value::String(default.into())),
                Kind::Choice { default, .. } => (ParamType::Choice, Value::Choice(default as i32)),
                Kind::Bool { default } => (ParamType::Boolean, Value::Bool(default)),
                Kind::Int { default, .. } => (ParamType::Integer, Value::Int(default)),
                Kind::Double { default, .. } => (ParamType::Double, Value::Double(default)),
                Kind::Point { default } => {
                    (ParamType::Double2D, Value::Double2(default.0 * frame.0 as f64, default.1 * frame.1 as f64))
                }
            };
            values.insert(p.name, ParamState::new(ty, value));
        }
        NodeParams { values }
    }

    /// Face Point back at its default (the frame centre) for frames of `frame` = (width, height).
    pub fn set_face_point_default(&mut self, frame: (usize, usize)) {
        if let Some(state) = NodeParams::defaults(frame).values.remove(name::FACE_POINT) {
            self.values.insert(name::FACE_POINT, state);
        }
    }

    /// Sets a parameter to a constant of its type.
    pub fn set(&mut self, name: &'static str, value: Value) {
        if let Some(state) = self.values.get_mut(name) {
            *state = ParamState::new(state.ty, value);
        }
    }

    /// Sets a parameter to a constant or a curve.
    pub fn set_state(&mut self, name: &'static str, state: ParamState) {
        self.values.insert(name, state);
    }

    fn numbers(&self, name: &str, time: f64) -> Result<Vec<f64>, SettingsError> {
        let state = self.values.get(name).ok_or_else(|| SettingsError::Unreadable { name: name.into() })?;
        Ok(state.value_at(time).numbers())
    }
}

fn unreadable(name: &str) -> SettingsError {
    SettingsError::Unreadable { name: name.into() }
}

impl ParamSource for NodeParams {
    fn double(&self, name: &str, time: f64) -> Result<f64, SettingsError> {
        self.numbers(name, time)?.first().copied().ok_or_else(|| unreadable(name))
    }
    fn double2d(&self, name: &str, time: f64) -> Result<(f64, f64), SettingsError> {
        match self.numbers(name, time)?.as_slice() {
            [x, y] => Ok((*x, *y)),
            _ => Err(unreadable(name)),
        }
    }
    fn int(&self, name: &str, time: f64) -> Result<i32, SettingsError> {
        // Integer, boolean and choice values are whole numbers by construction.
        Ok(self.double(name, time)? as i32)
    }
    fn string(&self, name: &str, time: f64) -> Result<String, SettingsError> {
        match self.values.get(name).map(|s| s.value_at(time)) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(unreadable(name)),
        }
    }
}

/// Letters and digits only, lower case: `Swapped Face Only`, `swapped-face` and `swappedFace` compare alike.
fn squash(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The option of a choice named by `text`: its id or label, or an unambiguous start of one, in any case and
/// with any punctuation (`mean-std` is Mean/Std (RGB), `mask` is Mask Only).
pub fn choice(option: &str, text: &str, options: &[ChoiceOption]) -> Result<usize, String> {
    let wanted = squash(text);
    let names = |o: &ChoiceOption| [squash(o.id), squash(o.label)];
    let exact: Vec<usize> = (0..options.len()).filter(|&i| names(&options[i]).contains(&wanted)).collect();
    let starts: Vec<usize> = (0..options.len()).filter(|&i| names(&options[i]).iter().any(|n| n.starts_with(&wanted))).collect();
    match (exact.as_slice(), starts.as_slice()) {
        ([i], _) => Ok(*i),
        ([], [i]) if !wanted.is_empty() => Ok(*i),
        _ => {
            let ids: Vec<&str> = options.iter().map(|o| o.id).collect();
            Err(format!("{option} {text:?}: expected one of {}", ids.join(", ")))
        }
    }
}

/// Reads a number or `;`-separated numbers (`320;180`), exactly `count` of them.
fn numbers(option: &str, raw: &RawValue, count: usize) -> Result<Value, String> {
    let parsed: Option<Vec<f64>> = if raw.quoted { None } else { raw.text.split(';').map(|p| p.trim().parse().ok()).collect() };
    let bad = || {
        let shape = if count == 1 { "a number" } else { "X;Y" };
        format!("{option} {:?}: expected {shape}, or keyframes FRAME:VALUE,FRAME:VALUE[@linear|@smooth|@constant]", raw.text)
    };
    let n = parsed.ok_or_else(bad)?;
    if n.len() != count || n.iter().any(|v| !v.is_finite()) {
        return Err(bad());
    }
    Ok(if count == 1 { Value::Double(n[0]) } else { Value::Double2(n[0], n[1]) })
}

/// A constant or keyframed value of an animatable node parameter, checked against the parameter's range:
/// `0.5`, or `69:0,81:1@linear` (frame:value pairs, the syntax of `faceswap render --param`).
pub fn curve(option: &str, param: &'static str, text: &str) -> Result<ParamState, String> {
    let (ty, count) = match params::spec(param).map(|s| s.kind) {
        Some(Kind::Point { .. }) => (ParamType::Double2D, 2),
        _ => (ParamType::Double, 1),
    };
    let (_, arg) = ofx_host::parse_param_arg(&format!("{param}={text}")).map_err(|e| format!("{option}: {e}"))?;
    let state = match arg {
        ParamArg::Constant(raw) => ParamState::new(ty, numbers(option, &raw, count)?),
        ParamArg::Keys(keys, interpolation) => {
            let mut state = ParamState::new(ty, Value::from_numbers(ty, &vec![0.0; count]).unwrap_or(Value::None));
            state.interpolation = interpolation;
            for (t, raw) in &keys {
                state.set_key(*t, numbers(option, raw, count)?);
            }
            state
        }
    };
    check_range(option, param, &state)?;
    Ok(state)
}

/// Values a node parameter cannot hold are refused here, where the node (whose host lets scripts set anything)
/// would clamp them: on the command line a typo should stop the run, not change the shot quietly.
fn check_range(option: &str, param: &str, state: &ParamState) -> Result<(), String> {
    let Some(Kind::Double { min, max, .. }) = params::spec(param).map(|s| s.kind) else { return Ok(()) };
    let values: Vec<f64> = if state.keys.is_empty() {
        state.constant.numbers()
    } else {
        state.keys.iter().flat_map(|(_, v)| v.numbers()).collect()
    };
    match values.iter().find(|v| !(min..=max).contains(*v)) {
        Some(v) => Err(format!("{option}: {v} is outside the node's range {min}..{max}")),
        None => Ok(()),
    }
}

/// Temporal Smoothing, checked against the node's range.
pub fn temporal_window(value: i32) -> Result<Value, String> {
    match params::spec(name::TEMPORAL_SMOOTHING).map(|s| s.kind) {
        Some(Kind::Int { min, max, .. }) if !(min..=max).contains(&value) => {
            Err(format!("--temporal-smoothing {value}: expected {min}..{max} frames"))
        }
        _ => Ok(Value::Int(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faceswap_ofx::node::settings::Settings;
    use faceswap_ofx::pipeline::composite::OutputMode;
    use faceswap_ofx::pipeline::{ColourTransfer, DevicePreference, FaceSelection};

    #[test]
    fn choices_accept_ids_labels_and_unambiguous_starts() {
        assert_eq!(choice("--output", "composite", &params::OUTPUT_OPTIONS), Ok(0));
        assert_eq!(choice("--output", "swapped-face", &params::OUTPUT_OPTIONS), Ok(1));
        assert_eq!(choice("--output", "Mask Only", &params::OUTPUT_OPTIONS), Ok(2));
        assert_eq!(choice("--output", "mask", &params::OUTPUT_OPTIONS), Ok(2));
        assert_eq!(choice("--output", "analysis", &params::OUTPUT_OPTIONS), Ok(3));
        assert_eq!(choice("--colour-transfer", "reinhard", &params::COLOUR_TRANSFER_OPTIONS), Ok(0));
        assert_eq!(choice("--colour-transfer", "mean-std", &params::COLOUR_TRANSFER_OPTIONS), Ok(1));
        assert_eq!(choice("--faces", "nearest", &params::FACE_SELECTION_OPTIONS), Ok(2));
        assert_eq!(choice("--mask-source", "learned-in-hull", &params::MASK_SOURCE_OPTIONS), Ok(0));
        assert_eq!(choice("--mask-source", "hull", &params::MASK_SOURCE_OPTIONS), Ok(1));
        assert_eq!(choice("--mask-source", "learned", &params::MASK_SOURCE_OPTIONS), Ok(2), "the exact id beats the start of learnedInHull");
        assert_eq!(choice("--device", "CPU", &params::DEVICE_OPTIONS), Ok(2));
        assert_eq!(choice("--device", "a", &params::DEVICE_OPTIONS), Ok(0), "the start of auto only");
        for bad in ["", "x", "swapped-face-only-please"] {
            assert!(choice("--output", bad, &params::OUTPUT_OPTIONS).unwrap_err().contains("composite, swappedFace, maskOnly"), "{bad:?}");
        }
    }

    #[test]
    fn curves_are_constants_or_keyframes_within_the_node_range() {
        let c = curve("--blend", name::BLEND, "0.25").unwrap();
        assert_eq!(c.value_at(7.0), Value::Double(0.25));
        let k = curve("--blend", name::BLEND, "0:0,10:1@linear").unwrap();
        assert_eq!(k.value_at(5.0), Value::Double(0.5));
        assert_eq!(k.value_at(-3.0), Value::Double(0.0), "held before the first key");
        let p = curve("--face-point", name::FACE_POINT, "320;180").unwrap();
        assert_eq!(p.value_at(0.0), Value::Double2(320.0, 180.0));
        assert!(curve("--blend", name::BLEND, "1.5").unwrap_err().contains("outside"));
        assert!(curve("--blend", name::BLEND, "0:0,10:2").unwrap_err().contains("outside"));
        assert!(curve("--mask-erode", name::MASK_ERODE, "-4").is_ok(), "negative erode grows the mask");
        for bad in ["", "abc", "nan", "1;2", "0:x"] {
            assert!(curve("--blend", name::BLEND, bad).is_err(), "{bad:?}");
        }
        assert!(curve("--face-point", name::FACE_POINT, "3").is_err(), "a point needs X;Y");
        assert!(temporal_window(13).is_err() && temporal_window(-1).is_err() && temporal_window(12).is_ok());
    }

    #[test]
    fn defaults_read_as_the_node_defaults_and_options_map_through_settings() {
        let mut p = NodeParams::defaults((640, 360));
        let s = Settings::read(&p, 0.0).unwrap();
        assert_eq!((s.model.clone(), s.blend, s.output, s.temporal_window), (None, 1.0, OutputMode::Composite, 2));
        assert_eq!((s.mask_erode, s.mask_feather, s.detection_threshold), (2.0, 8.0, 0.5));
        assert_eq!(s.request([1.0, 1.0], 0, 360).search, faceswap_ofx::pipeline::analysis::Search::default());
        assert_eq!((s.colour_transfer, s.device, s.face_selection), (ColourTransfer::ReinhardLab, DevicePreference::Auto, FaceSelection::Largest));

        p.set(name::MODEL, Value::String("m.safetensors".into()));
        p.set(name::IDENTITY_NAME, Value::String("s1".into()));
        p.set(name::OUTPUT, Value::Choice(2));
        p.set(name::FACE_SELECTION, Value::Choice(2));
        p.set(name::MASK_IN_ALPHA, Value::Bool(true));
        p.set(name::TEMPORAL_SMOOTHING, Value::Int(0));
        p.set_state(name::BLEND, curve("--blend", name::BLEND, "10:0,20:1").unwrap());
        let s = Settings::read(&p, 15.0).unwrap();
        assert_eq!(s.model.as_deref(), Some(std::path::Path::new("m.safetensors")));
        assert_eq!((s.identity.name.as_str(), s.blend, s.output, s.mask_in_alpha), ("s1", 0.5, OutputMode::MaskOnly, true));
        // Face Point defaults to the frame centre, in the host's coordinates (y up); the request moves it into
        // the frame's pixels (y down).
        assert_eq!(s.face_selection, FaceSelection::NearestTo { x: 320.0, y: 180.0 });
        assert_eq!(s.request([1.0, 1.0], 0, 360).face_selection, FaceSelection::NearestTo { x: 320.0, y: 180.0 });
        assert_eq!(s.temporal_window, 0);
        assert_eq!(Settings::read(&p, 10.0).unwrap().blend, 0.0);
    }
}
