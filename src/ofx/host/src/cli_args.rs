//! Parameter arguments of the command line: `name=value` and
//! `name=t0:v0,t1:v1[@linear|@smooth|@constant]`.
//!
//! Values are parsed without knowing the parameter first ([`parse_param_arg`]), then resolved
//! against its type and choice options ([`ParamArg::resolve`]):
//! - numbers: `2`, `-0.5`, `1e-3`;
//! - booleans: `true`/`false`, `on`/`off`, `yes`/`no` (or `1`/`0`);
//! - choices: an option label (exact, then case-insensitive) or a 0-based index;
//! - strings (and file paths): the text as written; wrap it in double quotes to keep `,` `:` `;`
//!   `@` or surrounding spaces literal (`\"` and `\\` escape inside quotes);
//! - 2D/3D/RGB/RGBA: components separated by `;` — `0.5;0.25`, `1;0.5;0;1`; one number fills every
//!   component, and an RGBA given three components gets alpha 1.
//!
//! A value is read as keyframes only if every comma-separated item is `<time>:<value>` with a
//! numeric time, so `path=C:/x.png` stays a constant string.

use crate::describe::ParamDescription;
use crate::error::{HostError, Result};
use crate::instance::Instance;
use crate::params::{Interpolation, ParamType, Value};

/// One value as written on the command line, not yet typed.
#[derive(Clone, Debug, PartialEq)]
pub struct RawValue {
    /// The text as written (quotes removed, escapes applied).
    pub text: String,
    /// Written in double quotes: always a string/label, never a number.
    pub quoted: bool,
}

/// A parsed parameter argument.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamArg {
    Constant(RawValue),
    Keys(Vec<(f64, RawValue)>, Interpolation),
}

/// A parameter argument resolved against the parameter's type.
#[derive(Clone, Debug, PartialEq)]
pub enum ResolvedArg {
    Constant(Value),
    Keys(Vec<(f64, Value)>, Interpolation),
}

fn bad(arg: &str, reason: impl Into<String>) -> HostError {
    HostError::BadArg { arg: arg.to_owned(), reason: reason.into() }
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn raw(s: &str, arg: &str) -> Result<RawValue> {
    let t = s.trim();
    if let Some(inner) = t.strip_prefix('"') {
        let inner = inner.strip_suffix('"').ok_or_else(|| bad(arg, "unterminated quote"))?;
        let mut text = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                text.push(chars.next().ok_or_else(|| bad(arg, "dangling backslash"))?);
            } else if c == '"' {
                return Err(bad(arg, "quote inside a quoted value (escape it as \\\")"));
            } else {
                text.push(c);
            }
        }
        return Ok(RawValue { text, quoted: true });
    }
    Ok(RawValue { text: t.to_owned(), quoted: false })
}

/// Parses `name=value` or `name=t0:v0,t1:v1[@interp]`.
pub fn parse_param_arg(s: &str) -> Result<(String, ParamArg)> {
    let (name, rest) = s.split_once('=').ok_or_else(|| bad(s, "expected name=value"))?;
    let name = name.trim();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(bad(s, "the parameter name is empty or has spaces"));
    }
    // An interpolation suffix is only meaningful on keyframes; find it outside quotes.
    let at_parts = split_unquoted(rest, '@');
    let (body, interp) = match at_parts.as_slice() {
        [body, suffix] => match suffix.trim().to_ascii_lowercase().as_str() {
            "linear" => (*body, Some(Interpolation::Linear)),
            "smooth" => (*body, Some(Interpolation::Smooth)),
            "constant" | "step" => (*body, Some(Interpolation::Constant)),
            _ => (rest, None),
        },
        _ => (rest, None),
    };
    let items = split_unquoted(body, ',');
    let keys: Option<Vec<(f64, &str)>> = items
        .iter()
        .map(|item| {
            let (t, v) = item.split_once(':')?;
            let t: f64 = t.trim().parse().ok()?;
            t.is_finite().then_some((t, v))
        })
        .collect();
    match keys {
        Some(keys) if !keys.is_empty() && !body.trim().starts_with('"') => {
            let keys = keys.into_iter().map(|(t, v)| Ok((t, raw(v, s)?))).collect::<Result<Vec<_>>>()?;
            Ok((name.to_owned(), ParamArg::Keys(keys, interp.unwrap_or_default())))
        }
        _ => {
            if interp.is_some() {
                return Err(bad(s, "@linear/@smooth/@constant only apply to keyframes t:v,…"));
            }
            Ok((name.to_owned(), ParamArg::Constant(raw(rest, s)?)))
        }
    }
}

fn parse_bool(t: &str) -> Option<bool> {
    match t.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Some(true),
        "false" | "off" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Types one raw value for `desc`.
fn resolve_value(v: &RawValue, desc: &ParamDescription, arg: &str) -> Result<Value> {
    let ty = desc.param_type;
    let numbers = || -> Option<Vec<f64>> {
        if v.quoted {
            return None;
        }
        v.text.split(';').map(|p| p.trim().parse::<f64>().ok()).collect()
    };
    let fail = |why: String| bad(arg, format!("{}: {why}", desc.name));
    match ty {
        ParamType::String | ParamType::Custom => Ok(Value::String(v.text.clone())),
        ParamType::Boolean => parse_bool(&v.text).map(Value::Bool).ok_or_else(|| fail(format!("{:?} is not a boolean", v.text))),
        ParamType::Choice => {
            let opts = &desc.choice_options;
            if let Some(i) = opts.iter().position(|o| *o == v.text).or_else(|| opts.iter().position(|o| o.eq_ignore_ascii_case(&v.text))) {
                return Ok(Value::Choice(i as i32));
            }
            match v.text.parse::<i32>() {
                Ok(i) if !v.quoted && i >= 0 && (opts.is_empty() || (i as usize) < opts.len()) => Ok(Value::Choice(i)),
                _ => Err(fail(format!("{:?} is not one of {opts:?}", v.text))),
            }
        }
        ParamType::Group | ParamType::Page | ParamType::PushButton => Err(fail("this parameter has no value".into())),
        _ => {
            let n = ty.shape().1;
            let mut nums = numbers().ok_or_else(|| fail(format!("{:?} is not a number or ;-separated numbers", v.text)))?;
            if nums.len() == 1 && n > 1 {
                nums = vec![nums[0]; n];
            } else if ty == ParamType::Rgba && nums.len() == 3 {
                nums.push(1.0);
            }
            if nums.iter().any(|x| !x.is_finite()) {
                return Err(fail("values must be finite".into()));
            }
            Value::from_numbers(ty, &nums).ok_or_else(|| fail(format!("expected {n} component(s), got {}", nums.len())))
        }
    }
}

impl ParamArg {
    /// Types the argument for the parameter `desc`.
    pub fn resolve(&self, desc: &ParamDescription) -> Result<ResolvedArg> {
        let arg = format!("{}=…", desc.name);
        match self {
            ParamArg::Constant(v) => Ok(ResolvedArg::Constant(resolve_value(v, desc, &arg)?)),
            ParamArg::Keys(keys, interp) => {
                let typed = keys.iter().map(|(t, v)| Ok((*t, resolve_value(v, desc, &arg)?))).collect::<Result<Vec<_>>>()?;
                Ok(ResolvedArg::Keys(typed, *interp))
            }
        }
    }
}

impl Instance<'_> {
    /// Resolves `arg` against the parameter's current description (choice options as the plug-in
    /// last set them) and applies it with [`Instance::set_param`] or [`Instance::set_keys`].
    pub fn apply_param_arg(&self, name: &str, arg: &ParamArg) -> Result<()> {
        let desc = self.param_description(name)?;
        match arg.resolve(&desc)? {
            ResolvedArg::Constant(v) => self.set_param(name, v),
            ResolvedArg::Keys(keys, interp) => self.set_keys(name, &keys, interp),
        }
    }
}

#[cfg(test)]
#[path = "cli_args_tests.rs"]
mod tests;
