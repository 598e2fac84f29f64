//! Typed errors of the host.

use std::path::PathBuf;

use crate::handles::status;

/// Everything that can go wrong on the host side.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The bundle directory has no `Contents/Linux-x86-64/*.ofx` binary.
    #[error("no OFX binary in bundle {0} (expected Contents/Linux-x86-64/*.ofx)")]
    NoBinary(PathBuf),
    /// dlopen or symbol lookup failed.
    #[error("cannot load {path}: {source}")]
    Load {
        path: PathBuf,
        #[source]
        source: libloading::Error,
    },
    /// The binary exports no plug-in, or not the one asked for.
    #[error("plug-in not found: {0}")]
    NoPlugin(String),
    /// The plug-in's `OfxPlugin` struct is unusable (null entry points, wrong API).
    #[error("invalid plug-in: {0}")]
    InvalidPlugin(String),
    /// An action returned an error status.
    #[error("action {action} failed with {} ({status})", status::name(*.status))]
    Action { action: String, status: i32 },
    /// The effect does not support the requested context.
    #[error("context {0} is not supported by the plug-in")]
    UnsupportedContext(String),
    /// The plug-in or the host lacks something the request needs.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// No parameter of that name.
    #[error("no parameter named {0:?}")]
    NoParam(String),
    /// A value does not fit a parameter.
    #[error("bad value for parameter {param:?}: {reason}")]
    BadValue { param: String, reason: String },
    /// A command-line parameter argument could not be parsed.
    #[error("cannot parse parameter argument {arg:?}: {reason}")]
    BadArg { arg: String, reason: String },
    /// No clip of that name.
    #[error("no clip named {0:?}")]
    NoClip(String),
    /// The source has no frame at the render time.
    #[error("the source provides no frame at time {0}")]
    NoSourceFrame(f64),
    /// Image decoding/encoding.
    #[error("image file {path}: {reason}")]
    ImageFile { path: PathBuf, reason: String },
    /// An image of the wrong shape was given.
    #[error("bad image: {0}")]
    BadImage(String),
    /// A sequence pattern is malformed.
    #[error("bad sequence pattern {0:?}: expected one %d, %0Nd or run of #")]
    BadPattern(String),
    /// File system errors.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of the crate.
pub type Result<T, E = HostError> = std::result::Result<T, E>;

/// Turns an action's status into a result; OK and ReplyDefault are successes.
pub(crate) fn check(action: &str, st: i32) -> Result<i32> {
    if st == status::OK || st == status::REPLY_DEFAULT {
        Ok(st)
    } else {
        Err(HostError::Action { action: action.to_owned(), status: st })
    }
}
