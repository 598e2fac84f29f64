//! The node's errors and the one place that turns them into OFX statuses and messages for the artist.

use super::settings::SettingsError;
use crate::ofx::message::Level;
use crate::ofx::{OfxError, Status};
use crate::pipeline::PipelineError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NodeError {
    #[error(transparent)]
    Host(#[from] OfxError),
    #[error("{0}")]
    Settings(#[from] SettingsError),
    #[error("the Source clip has no image at frame {time}")]
    NoSource { time: f64 },
    #[error("the host gave an output image that does not cover the render window")]
    OutputTooSmall,
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("the node's instance data is missing (the host called an action before CreateInstance)")]
    NoInstance,
}

/// How a failed action is reported: the status the host gets and what the artist reads on the node.
pub struct Report {
    pub status: Status,
    pub message: Option<(Level, String)>,
}

/// THE mapping from errors to statuses and messages. Every action's error goes through here.
pub fn report(err: &NodeError) -> Report {
    let (status, level) = match err {
        NodeError::Host(OfxError::MissingSuite(_)) => (Status::ErrMissingHostFeature, Level::Error),
        NodeError::Host(_) => (Status::Failed, Level::Error),
        NodeError::Settings(_) => (Status::ErrValue, Level::Error),
        NodeError::NoSource { .. } => (Status::Failed, Level::Error),
        NodeError::OutputTooSmall => (Status::ErrBadHandle, Level::Error),
        NodeError::Pipeline(_) => (Status::Failed, Level::Error),
        NodeError::NoInstance => (Status::ErrBadHandle, Level::Error),
    };
    Report { status, message: Some((level, format!("FaceSwap: {err}."))) }
}

/// Status for a failure while loading (fetching suites): the host must know which feature it lacks.
pub fn status_for_load(err: &OfxError) -> Status {
    match err {
        OfxError::MissingSuite(_) => Status::ErrMissingHostFeature,
        _ => Status::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_status_and_a_sentence() {
        let errors = [
            NodeError::Host(OfxError::MissingSuite("parameter")),
            NodeError::Host(OfxError::Host { call: "clipGetImage", status: 1 }),
            NodeError::Settings(SettingsError::Unreadable { name: "blend".into() }),
            NodeError::NoSource { time: 3.0 },
            NodeError::OutputTooSmall,
            NodeError::NoInstance,
        ];
        for e in &errors {
            let r = report(e);
            assert_ne!(r.status, Status::Ok);
            let (_, text) = r.message.expect("message");
            assert!(text.starts_with("FaceSwap: ") && text.ends_with('.'), "{text}");
        }
        assert_eq!(report(&errors[0]).status, Status::ErrMissingHostFeature);
    }
}
