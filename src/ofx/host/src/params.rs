//! Parameter values and their animation: types, values, keyframes and interpolation.
//!
//! Animation model (documented host behaviour):
//! - a parameter is either constant or keyframed; once it has keys its value is a curve, and
//!   `paramSetValue` (no time) sets a key at the current time, as Natron and Nuke do;
//! - before the first key and after the last key the value is that key's value (constant
//!   extrapolation);
//! - numeric types (double, int, 2D/3D, RGB, RGBA) interpolate each component; ints are rounded;
//!   booleans, choices and strings step (the value of the last key at or before the time);
//! - [`Interpolation::Linear`] is piecewise linear;
//! - [`Interpolation::Smooth`] is a cubic Hermite spline whose tangents are Catmull-Rom at interior
//!   keys (`(v[i+1] - v[i-1]) / (t[i+1] - t[i-1])`, the non-uniform form) and **flat (zero slope) at
//!   the first and last key**, so two keys give an ease-in/ease-out ("smoothstep") curve, which is
//!   how Natron/Nuke "smooth" keys look at the ends of a curve;
//! - [`Interpolation::Constant`] holds each key's value until the next key.

use std::fmt;

/// Interpolation between keyframes of a parameter (one mode per parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Interpolation {
    /// Step: hold the value until the next key.
    Constant,
    /// Piecewise linear.
    #[default]
    Linear,
    /// Cubic Hermite, Catmull-Rom tangents inside, flat tangents at both ends.
    Smooth,
}

/// The OFX parameter types the host knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamType {
    Integer,
    Double,
    Boolean,
    Choice,
    Rgba,
    Rgb,
    Double2D,
    Integer2D,
    Double3D,
    Integer3D,
    String,
    Custom,
    Group,
    Page,
    PushButton,
}

/// What kind of C values a parameter's varargs carry (see `csrc/varargs.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueKind {
    Int = 0,
    Double = 1,
    String = 2,
}

impl ParamType {
    /// All types, for lookups.
    pub const ALL: [ParamType; 15] = [
        ParamType::Integer,
        ParamType::Double,
        ParamType::Boolean,
        ParamType::Choice,
        ParamType::Rgba,
        ParamType::Rgb,
        ParamType::Double2D,
        ParamType::Integer2D,
        ParamType::Double3D,
        ParamType::Integer3D,
        ParamType::String,
        ParamType::Custom,
        ParamType::Group,
        ParamType::Page,
        ParamType::PushButton,
    ];

    /// The `kOfxParamType…` string.
    pub fn ofx_name(self) -> &'static str {
        match self {
            ParamType::Integer => "OfxParamTypeInteger",
            ParamType::Double => "OfxParamTypeDouble",
            ParamType::Boolean => "OfxParamTypeBoolean",
            ParamType::Choice => "OfxParamTypeChoice",
            ParamType::Rgba => "OfxParamTypeRGBA",
            ParamType::Rgb => "OfxParamTypeRGB",
            ParamType::Double2D => "OfxParamTypeDouble2D",
            ParamType::Integer2D => "OfxParamTypeInteger2D",
            ParamType::Double3D => "OfxParamTypeDouble3D",
            ParamType::Integer3D => "OfxParamTypeInteger3D",
            ParamType::String => "OfxParamTypeString",
            ParamType::Custom => "OfxParamTypeCustom",
            ParamType::Group => "OfxParamTypeGroup",
            ParamType::Page => "OfxParamTypePage",
            ParamType::PushButton => "OfxParamTypePushButton",
        }
    }

    /// Parses a `kOfxParamType…` string.
    pub fn from_ofx(s: &str) -> Option<ParamType> {
        ParamType::ALL.into_iter().find(|t| t.ofx_name() == s)
    }

    /// Kind and count of the values (count 0: no value).
    pub(crate) fn shape(self) -> (ValueKind, usize) {
        match self {
            ParamType::Integer | ParamType::Boolean | ParamType::Choice => (ValueKind::Int, 1),
            ParamType::Integer2D => (ValueKind::Int, 2),
            ParamType::Integer3D => (ValueKind::Int, 3),
            ParamType::Double => (ValueKind::Double, 1),
            ParamType::Double2D => (ValueKind::Double, 2),
            ParamType::Double3D | ParamType::Rgb => (ValueKind::Double, 3),
            ParamType::Rgba => (ValueKind::Double, 4),
            ParamType::String | ParamType::Custom => (ValueKind::String, 1),
            ParamType::Group | ParamType::Page | ParamType::PushButton => (ValueKind::Int, 0),
        }
    }

    /// True for types whose value interpolates between keys.
    pub fn interpolates(self) -> bool {
        !matches!(self, ParamType::Boolean | ParamType::Choice | ParamType::String | ParamType::Custom) && self.shape().1 > 0
    }

    /// True for types that carry a value at all.
    pub fn has_value(self) -> bool {
        self.shape().1 > 0
    }

    /// The zero value of the type (before the descriptor's default is applied).
    pub fn zero(self) -> Value {
        match self {
            ParamType::Integer => Value::Int(0),
            ParamType::Double => Value::Double(0.0),
            ParamType::Boolean => Value::Bool(false),
            ParamType::Choice => Value::Choice(0),
            ParamType::Rgba => Value::Rgba(0.0, 0.0, 0.0, 0.0),
            ParamType::Rgb => Value::Rgb(0.0, 0.0, 0.0),
            ParamType::Double2D => Value::Double2(0.0, 0.0),
            ParamType::Integer2D => Value::Int2(0, 0),
            ParamType::Double3D => Value::Double3(0.0, 0.0, 0.0),
            ParamType::Integer3D => Value::Int3(0, 0, 0),
            ParamType::String | ParamType::Custom => Value::String(String::new()),
            ParamType::Group | ParamType::Page | ParamType::PushButton => Value::None,
        }
    }
}

/// A parameter value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i32),
    Double(f64),
    Bool(bool),
    /// Index into the choice options.
    Choice(i32),
    String(String),
    Int2(i32, i32),
    Double2(f64, f64),
    Int3(i32, i32, i32),
    Double3(f64, f64, f64),
    Rgb(f64, f64, f64),
    Rgba(f64, f64, f64, f64),
    /// Groups, pages and push buttons.
    None,
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) | Value::Choice(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Int2(a, b) => write!(f, "{a};{b}"),
            Value::Double2(a, b) => write!(f, "{a};{b}"),
            Value::Int3(a, b, c) => write!(f, "{a};{b};{c}"),
            Value::Double3(a, b, c) | Value::Rgb(a, b, c) => write!(f, "{a};{b};{c}"),
            Value::Rgba(a, b, c, d) => write!(f, "{a};{b};{c};{d}"),
            Value::None => write!(f, "-"),
        }
    }
}

impl Value {
    /// The numeric components (bools/choices as 0/1/index; strings and None have none).
    pub fn numbers(&self) -> Vec<f64> {
        match *self {
            Value::Int(v) | Value::Choice(v) => vec![f64::from(v)],
            Value::Double(v) => vec![v],
            Value::Bool(b) => vec![if b { 1.0 } else { 0.0 }],
            Value::Int2(a, b) => vec![f64::from(a), f64::from(b)],
            Value::Double2(a, b) => vec![a, b],
            Value::Int3(a, b, c) => vec![f64::from(a), f64::from(b), f64::from(c)],
            Value::Double3(a, b, c) | Value::Rgb(a, b, c) => vec![a, b, c],
            Value::Rgba(a, b, c, d) => vec![a, b, c, d],
            Value::String(_) | Value::None => Vec::new(),
        }
    }

    /// Builds a value of `ty` from components; `None` if the count is wrong or `ty` is textual.
    pub fn from_numbers(ty: ParamType, n: &[f64]) -> Option<Value> {
        let (_, count) = ty.shape();
        if n.len() != count || matches!(ty, ParamType::String | ParamType::Custom) {
            return None;
        }
        let i = |x: f64| x.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
        Some(match ty {
            ParamType::Integer => Value::Int(i(n[0])),
            ParamType::Double => Value::Double(n[0]),
            ParamType::Boolean => Value::Bool(n[0] != 0.0),
            ParamType::Choice => Value::Choice(i(n[0])),
            ParamType::Rgba => Value::Rgba(n[0], n[1], n[2], n[3]),
            ParamType::Rgb => Value::Rgb(n[0], n[1], n[2]),
            ParamType::Double2D => Value::Double2(n[0], n[1]),
            ParamType::Integer2D => Value::Int2(i(n[0]), i(n[1])),
            ParamType::Double3D => Value::Double3(n[0], n[1], n[2]),
            ParamType::Integer3D => Value::Int3(i(n[0]), i(n[1]), i(n[2])),
            ParamType::Group | ParamType::Page | ParamType::PushButton => Value::None,
            ParamType::String | ParamType::Custom => return None,
        })
    }

    /// Converts a value to the parameter's type: numbers convert between int and double (rounding),
    /// bools and choices accept ints, strings only go to string/custom parameters.
    pub fn coerce(&self, ty: ParamType) -> Option<Value> {
        match (self, ty) {
            (Value::String(s), ParamType::String | ParamType::Custom) => Some(Value::String(s.clone())),
            (Value::String(_), _) | (_, ParamType::String | ParamType::Custom) => None,
            (Value::None, t) if !t.has_value() => Some(Value::None),
            _ => Value::from_numbers(ty, &self.numbers()),
        }
    }
}

/// Tolerance when matching a key's time (`paramGetKeyIndex` direction 0, replacing a key).
pub const KEY_TIME_EPSILON: f64 = 1e-6;

/// The value state of one parameter instance.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamState {
    /// The parameter's type.
    pub ty: ParamType,
    /// The value when there are no keys.
    pub constant: Value,
    /// Keys sorted by time, no two closer than [`KEY_TIME_EPSILON`].
    pub keys: Vec<(f64, Value)>,
    /// How the keys are joined.
    pub interpolation: Interpolation,
}

impl ParamState {
    /// A constant parameter.
    pub fn new(ty: ParamType, value: Value) -> Self {
        ParamState { ty, constant: value, keys: Vec::new(), interpolation: Interpolation::default() }
    }

    /// Sets (or replaces) a key.
    pub fn set_key(&mut self, time: f64, value: Value) {
        match self.keys.iter().position(|(t, _)| (t - time).abs() <= KEY_TIME_EPSILON) {
            Some(i) => self.keys[i].1 = value,
            None => {
                let at = self.keys.partition_point(|(t, _)| *t < time);
                self.keys.insert(at, (time, value));
            }
        }
    }

    /// Deletes the key at `time`; false when there is none. Deleting the last key leaves the
    /// parameter constant at that key's value (what a user sees in Natron).
    pub fn delete_key(&mut self, time: f64) -> bool {
        let Some(i) = self.key_index(time, 0) else { return false };
        let (_, value) = self.keys.remove(i);
        if self.keys.is_empty() {
            self.constant = value;
        }
        true
    }

    /// Deletes every key, leaving the value the curve had at `time`.
    pub fn delete_all_keys(&mut self, time: f64) {
        if !self.keys.is_empty() {
            self.constant = self.value_at(time);
            self.keys.clear();
        }
    }

    /// Index of a key at/after/before `time` (OFX `paramGetKeyIndex` semantics).
    pub fn key_index(&self, time: f64, direction: i32) -> Option<usize> {
        match direction.signum() {
            0 => self.keys.iter().position(|(t, _)| (t - time).abs() <= KEY_TIME_EPSILON),
            1 => self.keys.iter().position(|(t, _)| *t > time + KEY_TIME_EPSILON),
            _ => self.keys.iter().rposition(|(t, _)| *t < time - KEY_TIME_EPSILON),
        }
    }

    /// The value at `time`.
    pub fn value_at(&self, time: f64) -> Value {
        let Some(seg) = self.segment(time) else { return self.constant.clone() };
        match seg {
            Segment::Hold(i) => self.keys[i].1.clone(),
            Segment::Between(i) => {
                if !self.ty.interpolates() || self.interpolation == Interpolation::Constant {
                    return self.keys[i].1.clone();
                }
                let n: Vec<f64> = (0..self.ty.shape().1).map(|c| self.eval(i, c, time).0).collect();
                Value::from_numbers(self.ty, &n).unwrap_or_else(|| self.keys[i].1.clone())
            }
        }
    }

    /// d(value)/d(time) per component; zero where the curve is flat or the type does not animate.
    pub fn derivative_at(&self, time: f64) -> Vec<f64> {
        let count = self.ty.shape().1;
        match self.segment(time) {
            Some(Segment::Between(i)) if self.ty.interpolates() && self.interpolation != Interpolation::Constant => {
                (0..count).map(|c| self.eval(i, c, time).1).collect()
            }
            _ => vec![0.0; count],
        }
    }

    /// ∫ value dt from `t1` to `t2` per component. Exact: the curve is piecewise cubic (or lower)
    /// between key times, and Simpson's rule is exact for cubics on each piece.
    pub fn integral(&self, t1: f64, t2: f64) -> Vec<f64> {
        let count = self.ty.shape().1;
        let (lo, hi, sign) = if t1 <= t2 { (t1, t2, 1.0) } else { (t2, t1, -1.0) };
        let mut cuts = vec![lo];
        cuts.extend(self.keys.iter().map(|(t, _)| *t).filter(|t| *t > lo && *t < hi));
        cuts.push(hi);
        let mut total = vec![0.0; count];
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            if b <= a {
                continue;
            }
            let m = 0.5 * (a + b);
            // Sample just inside the piece so a step at a key time belongs to the right side.
            let inset = (b - a) * 1e-9;
            let fa = self.value_at(a + inset).numbers();
            let fm = self.value_at(m).numbers();
            let fb = self.value_at(b - inset).numbers();
            for c in 0..count.min(fa.len()).min(fm.len()).min(fb.len()) {
                total[c] += (b - a) / 6.0 * (fa[c] + 4.0 * fm[c] + fb[c]);
            }
        }
        total.iter().map(|v| v * sign).collect()
    }

    fn segment(&self, time: f64) -> Option<Segment> {
        let n = self.keys.len();
        if n == 0 {
            return None;
        }
        if time <= self.keys[0].0 {
            return Some(Segment::Hold(0));
        }
        if time >= self.keys[n - 1].0 {
            return Some(Segment::Hold(n - 1));
        }
        // The last key whose time is <= `time`; n >= 2 here.
        let i = self.keys.partition_point(|(t, _)| *t <= time).saturating_sub(1);
        Some(Segment::Between(i.min(n - 2)))
    }

    fn num(&self, i: usize, c: usize) -> f64 {
        self.keys[i].1.numbers().get(c).copied().unwrap_or(0.0)
    }

    /// Tangent (slope per unit time) at key `i` for component `c`.
    fn tangent(&self, i: usize, c: usize) -> f64 {
        let n = self.keys.len();
        if i == 0 || i + 1 >= n {
            return 0.0;
        }
        let dt = self.keys[i + 1].0 - self.keys[i - 1].0;
        if dt <= 0.0 {
            return 0.0;
        }
        (self.num(i + 1, c) - self.num(i - 1, c)) / dt
    }

    /// (value, derivative) of component `c` between keys `i` and `i + 1`.
    fn eval(&self, i: usize, c: usize, time: f64) -> (f64, f64) {
        let (t0, t1) = (self.keys[i].0, self.keys[i + 1].0);
        let (v0, v1) = (self.num(i, c), self.num(i + 1, c));
        let h = t1 - t0;
        if h <= 0.0 {
            return (v0, 0.0);
        }
        let s = (time - t0) / h;
        match self.interpolation {
            Interpolation::Constant => (v0, 0.0),
            Interpolation::Linear => (v0 + (v1 - v0) * s, (v1 - v0) / h),
            Interpolation::Smooth => {
                let (m0, m1) = (self.tangent(i, c) * h, self.tangent(i + 1, c) * h);
                let (s2, s3) = (s * s, s * s * s);
                let h00 = 2.0 * s3 - 3.0 * s2 + 1.0;
                let h10 = s3 - 2.0 * s2 + s;
                let h01 = -2.0 * s3 + 3.0 * s2;
                let h11 = s3 - s2;
                let value = h00 * v0 + h10 * m0 + h01 * v1 + h11 * m1;
                let d00 = 6.0 * s2 - 6.0 * s;
                let d10 = 3.0 * s2 - 4.0 * s + 1.0;
                let d01 = -6.0 * s2 + 6.0 * s;
                let d11 = 3.0 * s2 - 2.0 * s;
                let deriv = (d00 * v0 + d10 * m0 + d01 * v1 + d11 * m1) / h;
                (value, deriv)
            }
        }
    }
}

enum Segment {
    /// Before the first key or after the last: hold key `i`.
    Hold(usize),
    /// Between key `i` and key `i + 1`.
    Between(usize),
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
