//! Rendering a frame range to files: what `faceswap render` runs.

use std::path::{Path, PathBuf};

use crate::error::{HostError, Result};
use crate::host::HostMessage;
use crate::image::{Components, Depth};
use crate::imageio::{expand_pattern, is_pattern, write_image, write_plane};
use crate::instance::Instance;
use crate::planes::PlaneSpec;
use crate::render::RenderRequest;
use crate::render_ctx::FrameProvider;

/// A frame range to render and where to write it.
pub struct SequenceJob<'a> {
    /// The `Source` clip (e.g. an [`crate::ImageSequence`]).
    pub source: &'a dyn FrameProvider,
    pub first: i64,
    pub last: i64,
    /// Output file pattern (`out/%05d.png`, `out/####.exr`); a plain path is allowed for one frame.
    pub output: String,
    /// Pattern for custom planes with `{plane}` standing for the plane's label; `None` inserts
    /// `.{plane}` before the output's extension (`out/%05d.FaceMask.png`). PNG planes are 16-bit
    /// grey, EXR planes one float channel.
    pub plane_output: Option<String>,
    pub render_scale: (f64, f64),
    pub output_depth: Depth,
    pub output_components: Components,
    /// Render and write custom planes.
    pub planes: bool,
}

impl<'a> SequenceJob<'a> {
    /// Full-scale float RGBA with planes, written next to `output`.
    pub fn new(source: &'a dyn FrameProvider, first: i64, last: i64, output: &str) -> Self {
        SequenceJob {
            source,
            first,
            last,
            output: output.to_owned(),
            plane_output: None,
            render_scale: (1.0, 1.0),
            output_depth: Depth::F32,
            output_components: Components::Rgba,
            planes: true,
        }
    }

    fn request(&self, time: f64) -> RenderRequest<'a> {
        let mut req = RenderRequest::new(time, self.source);
        req.render_scale = self.render_scale;
        req.output_depth = self.output_depth;
        req.output_components = self.output_components;
        req.planes = self.planes;
        req.sequence = Some((self.first as f64, self.last as f64));
        req.sequential = true;
        req
    }
}

/// What one frame produced.
#[derive(Clone, Debug)]
pub struct FrameReport {
    pub frame: i64,
    pub output: PathBuf,
    pub planes: Vec<PathBuf>,
    /// The plug-in declared itself an identity for this frame (the source was copied).
    pub identity: bool,
    pub messages: Vec<HostMessage>,
}

/// Every frame's report, in order.
#[derive(Clone, Debug, Default)]
pub struct SequenceReport {
    pub frames: Vec<FrameReport>,
}

fn frame_path(pattern: &str, frame: i64, single: bool) -> Result<PathBuf> {
    if is_pattern(pattern) {
        expand_pattern(pattern, frame)
    } else if single {
        Ok(PathBuf::from(pattern))
    } else {
        Err(HostError::BadPattern(pattern.to_owned()))
    }
}

/// The default plane pattern: `.{plane}` before the extension.
fn default_plane_pattern(output: &str) -> String {
    let p = Path::new(output);
    match (p.file_stem(), p.extension()) {
        (Some(stem), Some(ext)) => {
            let name = format!("{}.{{plane}}.{}", stem.to_string_lossy(), ext.to_string_lossy());
            p.with_file_name(name).to_string_lossy().into_owned()
        }
        _ => format!("{output}.{{plane}}"),
    }
}

/// Renders `job.first..=job.last` in order inside one begin/end-sequence bracket, writing the
/// output and planes of each frame; `progress` is called after each frame. Stops at the first
/// frame whose render fails, with the plug-in's messages in the error.
pub fn render_sequence(inst: &mut Instance<'_>, job: &SequenceJob<'_>, progress: &mut dyn FnMut(&FrameReport)) -> Result<SequenceReport> {
    let single = job.first == job.last;
    let plane_pattern = job.plane_output.clone().unwrap_or_else(|| default_plane_pattern(&job.output));
    let bracket = job.request(job.first as f64);
    inst.begin_sequence(&bracket)?;
    let mut report = SequenceReport::default();
    let outcome = (|| -> Result<()> {
        for frame in job.first..=job.last {
            let result = inst.render(&job.request(frame as f64))?;
            if !result.ok() {
                let texts: Vec<&str> = result.messages.iter().map(|m| m.text.as_str()).collect();
                return Err(HostError::Action {
                    action: format!("render of frame {frame} ({})", texts.join("; ")),
                    status: result.status,
                });
            }
            let output = frame_path(&job.output, frame, single)?;
            write_image(&output, &result.output)?;
            let mut planes = Vec::new();
            for (plane, img) in &result.planes {
                let label = PlaneSpec::parse(plane).map_or_else(|| "plane".to_owned(), |s| s.file_stem());
                let path = frame_path(&plane_pattern.replace("{plane}", &label), frame, single)?;
                write_plane(&path, img)?;
                planes.push(path);
            }
            let fr = FrameReport { frame, output, planes, identity: result.identity.is_some(), messages: result.messages };
            progress(&fr);
            report.frames.push(fr);
        }
        Ok(())
    })();
    let closed = inst.end_sequence(&bracket);
    outcome?;
    closed?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_paths() {
        assert_eq!(default_plane_pattern("out/%05d.png"), "out/%05d.{plane}.png");
        assert_eq!(default_plane_pattern("out/frame"), "out/frame.{plane}");
        assert_eq!(frame_path("a/%03d.png", 7, false).unwrap(), PathBuf::from("a/007.png"));
        assert_eq!(frame_path("a/x.png", 7, true).unwrap(), PathBuf::from("a/x.png"));
        assert!(frame_path("a/x.png", 7, false).is_err());
    }
}
