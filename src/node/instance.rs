//! One node in the host's graph: its clips and parameter handles, fetched once at CreateInstance.

use super::error::NodeError;
use super::ids;
use super::params::{name, PARAMS};
use super::settings::{ParamSource, SettingsError};
use crate::model::file;
use crate::ofx::clip::{Clip, Effect};
use crate::ofx::message::{self, Level};
use crate::ofx::param::Param;
use crate::ofx::sys;
use parking_lot::Mutex;
use std::collections::HashMap;

/// Per-instance data, shared by every render thread of the instance.
pub struct Instance {
    pub effect: Effect,
    pub source: Clip,
    pub output: Clip,
    params: HashMap<&'static str, Param>,
    /// The persistent message currently shown, so we only call the host when it changes.
    shown_message: Mutex<Option<(Level, String)>>,
}

impl Instance {
    pub fn create(effect: Effect) -> Result<Instance, NodeError> {
        let set = effect.params()?;
        let mut params = HashMap::new();
        for spec in PARAMS.iter() {
            params.insert(spec.name, set.get(spec.name)?);
        }
        Ok(Instance {
            effect,
            source: effect.clip(ids::CLIP_SOURCE)?,
            output: effect.clip(ids::CLIP_OUTPUT)?,
            params,
            shown_message: Mutex::new(None),
        })
    }

    fn param(&self, name: &str) -> Result<Param, SettingsError> {
        self.params.get(name).copied().ok_or_else(|| SettingsError::Unreadable { name: name.into() })
    }

    /// Shows `text` as the node's persistent message (None clears it); skips the host call when unchanged.
    pub fn show(&self, msg: Option<(Level, String)>) {
        let mut shown = self.shown_message.lock();
        if *shown == msg {
            return;
        }
        let result = match &msg {
            Some((level, text)) => message::set_persistent(self.effect, *level, text),
            None => message::clear_persistent(self.effect),
        };
        // A host without the message suite cannot show anything; the status we return still tells it.
        if result.is_ok() {
            *shown = msg;
        }
    }

    /// Rebuilds the Identity menu from the model file and re-selects the remembered name. Called when the
    /// model path changes and at instance creation (a project opened on a farm node lists identities again).
    pub fn refresh_identities(&self) -> Result<(), NodeError> {
        let path = self.string(name::MODEL, 0.0)?;
        let remembered = self.string(name::IDENTITY_NAME, 0.0)?;
        let choice = self.param(name::IDENTITY)?;
        let names: Vec<String> = if path.trim().is_empty() {
            Vec::new()
        } else {
            match file::read_header(std::path::Path::new(path.trim())) {
                Ok(h) => h.identities,
                Err(e) => {
                    self.show(Some((Level::Error, format!("FaceSwap: {e}. The source passes through unchanged."))));
                    Vec::new()
                }
            }
        };
        let labels: Vec<&str> = if names.is_empty() {
            // Keep the remembered name visible so a project opened where the model is missing still says
            // which identity it wants.
            if remembered.is_empty() { vec![super::params::NO_IDENTITY_OPTION.label] } else { vec![remembered.as_str()] }
        } else {
            names.iter().map(String::as_str).collect()
        };
        let props = choice.props()?;
        // Hosts shrink an option list only after a reset: overwriting from index 0 alone left the identities of
        // a bigger, earlier model in the menu (see the reliability test named after this).
        props.replace_strings(sys::kOfxParamPropChoiceOption, &labels)?;
        if let Some(i) = names.iter().position(|n| *n == remembered) {
            choice.set_int(i as i32)?;
        } else if !names.is_empty() {
            let current = choice.int_at(0.0)?.clamp(0, names.len() as i32 - 1);
            choice.set_int(current)?;
            self.param(name::IDENTITY_NAME)?.set_string(&names[current as usize])?;
        }
        Ok(())
    }

    /// The user picked an identity from the menu: remember it by name.
    pub fn identity_picked(&self) -> Result<(), NodeError> {
        let choice = self.param(name::IDENTITY)?;
        let index = choice.int_at(0.0)?;
        let label = choice.props()?.get_string(sys::kOfxParamPropChoiceOption, index)?;
        if label != super::params::NO_IDENTITY_OPTION.label {
            self.param(name::IDENTITY_NAME)?.set_string(&label)?;
        }
        Ok(())
    }
}

fn unreadable(name: &str) -> impl FnOnce(crate::ofx::OfxError) -> SettingsError + '_ {
    move |_| SettingsError::Unreadable { name: name.into() }
}

impl ParamSource for Instance {
    fn double(&self, name: &str, time: f64) -> Result<f64, SettingsError> {
        self.param(name)?.double_at(time).map_err(unreadable(name))
    }
    fn double2d(&self, name: &str, time: f64) -> Result<(f64, f64), SettingsError> {
        self.param(name)?.double2d_at(time).map_err(unreadable(name))
    }
    fn int(&self, name: &str, time: f64) -> Result<i32, SettingsError> {
        self.param(name)?.int_at(time).map_err(unreadable(name))
    }
    fn string(&self, name: &str, time: f64) -> Result<String, SettingsError> {
        self.param(name)?.string_at(time).map_err(unreadable(name))
    }
}
