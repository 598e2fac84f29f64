//! What the node is: identity, parameters, describe, instances and render, in safe Rust over `crate::ofx`.
//!
//! [`dispatch`] routes each action; every error comes back here and goes through [`error::report`], the one
//! place that picks the OFX status and the message the artist reads.

pub mod describe;
pub mod error;
pub mod ids;
pub mod instance;
pub mod params;
pub mod render;
pub mod settings;

use crate::ofx::action::Action;
use crate::ofx::clip::Effect;
use crate::ofx::props::PropSet;
use crate::ofx::{sys, text, Status};
use error::NodeError;
use instance::Instance;

/// Handles one action. Called by the guarded entry point in `crate::ofx::entry`.
pub fn dispatch(action: Action, effect: Effect, in_args: PropSet, out_args: PropSet) -> Status {
    match handle(&action, effect, in_args, out_args) {
        Ok(status) => status,
        Err(err) => {
            let report = error::report(&err);
            if let Some(msg) = report.message {
                // Instance actions show the message on the node; describe-time errors have no node to show on.
                let shown = effect
                    .with_instance_data::<Instance, _>(|inst| inst.show(Some(msg.clone())))
                    .ok()
                    .flatten();
                if shown.is_none() {
                    let _ = crate::ofx::message::set_persistent(effect, msg.0, &msg.1);
                }
            }
            report.status
        }
    }
}

/// The face-analysis weights ship inside the bundle (`Contents/Resources/models`); the host tells us where the
/// bundle is through the effect's `kOfxPluginPropFilePath`.
fn remember_bundle_models(effect: Effect) {
    if let Ok(path) = effect.props().and_then(|p| p.get_string(sys::kOfxPluginPropFilePath, 0)) {
        if !path.is_empty() {
            crate::model::cache::set_models_dir(std::path::PathBuf::from(path).join("Contents/Resources/models"));
        }
    }
}

/// Runs `f` with this effect's instance data.
fn with_instance<R>(effect: Effect, f: impl FnOnce(&Instance) -> Result<R, NodeError>) -> Result<R, NodeError> {
    effect.with_instance_data::<Instance, _>(f)?.ok_or(NodeError::NoInstance)?
}

fn handle(action: &Action, effect: Effect, in_args: PropSet, out_args: PropSet) -> Result<Status, NodeError> {
    match action {
        // Suites are fetched by the entry point; nothing else to do: models load lazily at first render,
        // so loading the plug-in never fails for lack of a GPU or a model.
        Action::Load | Action::Unload => Ok(Status::Ok),
        Action::Describe => describe::describe(effect).map(|_| Status::Ok),
        Action::DescribeInContext => describe::describe_in_context(effect).map(|_| Status::Ok),
        Action::CreateInstance => {
            remember_bundle_models(effect);
            let inst = Instance::create(effect)?;
            // A project opened elsewhere (a farm node) lists the model's identities again. Failure to read the
            // model is shown on the node and is not a reason to refuse the instance.
            let _ = inst.refresh_identities();
            effect.set_instance_data(Box::new(inst))?;
            Ok(Status::Ok)
        }
        Action::DestroyInstance => {
            drop(effect.take_instance_data()?);
            Ok(Status::Ok)
        }
        Action::InstanceChanged => with_instance(effect, |inst| {
            let changed = in_args.get_string(sys::kOfxPropName, 0)?;
            let kind = in_args.get_string(sys::kOfxPropType, 0)?;
            if kind != text(sys::kOfxTypeParameter) {
                return Ok(Status::ReplyDefault);
            }
            if changed == params::name::MODEL {
                inst.refresh_identities()?;
            } else if changed == params::name::IDENTITY {
                inst.identity_picked()?;
            }
            Ok(Status::Ok)
        }),
        Action::Render => with_instance(effect, |inst| render::render(inst, in_args).map(|_| Status::Ok)),
        Action::IsIdentity => with_instance(effect, |inst| {
            Ok(if render::is_identity(inst, in_args, out_args)? { Status::Ok } else { Status::ReplyDefault })
        }),
        Action::GetFramesNeeded => with_instance(effect, |inst| render::frames_needed(inst, in_args, out_args).map(|_| Status::Ok)),
        Action::GetRegionsOfInterest => {
            with_instance(effect, |inst| render::regions_of_interest(inst, in_args, out_args).map(|_| Status::Ok))
        }
        Action::GetClipPreferences => with_instance(effect, |inst| render::clip_preferences(inst, out_args).map(|_| Status::Ok)),
        Action::GetClipComponents => render::clip_components(in_args, out_args).map(|_| Status::Ok),
        Action::BeginSequenceRender | Action::EndSequenceRender => Ok(Status::Ok),
        // Region of definition = the source's (the default), time domain = the source's (the default).
        Action::GetRegionOfDefinition | Action::GetTimeDomain => Ok(Status::ReplyDefault),
        Action::PurgeCaches | Action::SyncPrivateData => Ok(Status::ReplyDefault),
        Action::BeginInstanceChanged | Action::EndInstanceChanged => Ok(Status::ReplyDefault),
        Action::Other(_) => Ok(Status::ReplyDefault),
    }
}
