//! `faceswap demo`: the main job on the built-in default. Decodes the Tears of Steel excerpt, renders the
//! scientist's shot through the plug-in with the default model, and writes the output frames, the mask
//! frames and a contact sheet.

use crate::contact_sheet;
use crate::render_cmd::{self, FrameRange, Job};
use ofx_host::cli_args::RawValue;
use ofx_host::{Depth, ParamArg};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(clap::Args)]
pub struct Args {
    /// The plug-in bundle (FaceSwap.ofx.bundle, as written by `faceswap bundle`).
    #[arg(long)]
    pub bundle: PathBuf,
    /// Folder for source/, output/, mask/ and contact_sheet.png.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Frames of the excerpt to render (1-240); the default is where the scientist's face is.
    #[arg(long, default_value = "69-157")]
    pub frames: String,
    /// Swap model (default: models/default.safetensors in the repository).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

/// The excerpt, inside the shared data folder.
const CLIP: &str = "tears_of_steel/clip_01_tears_of_steel.mp4";
/// Frames in the excerpt, numbered from 1 as ffmpeg's image muxer numbers them.
const CLIP_FRAMES: FrameRange = FrameRange { first: 1, last: 240 };
/// Overrides the shared data folder (`../shared/data` from the repository), or names the clip file.
const DATA_ENV: &str = "FACESWAP_DATA";
/// Rows on the contact sheet.
const SHEET_ROWS: usize = 6;
/// Half the excerpt's 640 px width: three columns fit a laptop screen.
const TILE_WIDTH: u32 = 320;

/// Validated settings of a demo run.
struct Demo {
    bundle: PathBuf,
    out: PathBuf,
    frames: FrameRange,
    model: PathBuf,
    clip: PathBuf,
}

impl Demo {
    fn from_args(args: Args) -> Result<Demo, String> {
        let frames = FrameRange::parse(&args.frames)?;
        check_in_clip(frames)?;
        if !args.bundle.exists() {
            return Err(format!("--bundle {}: no such bundle (write one with `faceswap bundle --out DIR`)", args.bundle.display()));
        }
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let model = args.model.unwrap_or_else(|| repo.join("models/default.safetensors"));
        let data = std::env::var_os(DATA_ENV).map(PathBuf::from).unwrap_or_else(|| repo.join("../shared/data"));
        // FACESWAP_DATA may name the data folder or the clip itself.
        let clip = if data.is_file() { data } else { data.join(CLIP) };
        Ok(Demo { bundle: args.bundle, out: args.out, frames, model, clip })
    }
}

fn check_in_clip(frames: FrameRange) -> Result<(), String> {
    if frames.first < CLIP_FRAMES.first || frames.last > CLIP_FRAMES.last {
        return Err(format!("--frames {}-{}: the excerpt has frames {}-{}", frames.first, frames.last, CLIP_FRAMES.first, CLIP_FRAMES.last));
    }
    Ok(())
}

pub fn run(args: Args) -> Result<(), String> {
    let demo = Demo::from_args(args)?;
    let source_dir = demo.out.join("source");
    decode(&demo.clip, &source_dir)?;

    let model_present = demo.model.is_file();
    if !model_present {
        println!(
            "note: no default model ships yet ({} does not exist): the node renders anyway and passes the frames \
             through unchanged, so output/ matches source/ and the mask is empty.",
            demo.model.display()
        );
    }
    // Quoted, so a path with ':' or ',' is never read as keyframes.
    let model_arg = ParamArg::Constant(RawValue { text: demo.model.to_string_lossy().into_owned(), quoted: true });
    let job = Job {
        bundle: demo.bundle.clone(),
        input: render_cmd::pattern_in(&source_dir, "%05d.png"),
        frames: demo.frames,
        // The whole excerpt, as a host holding the whole shot would offer it to temporal smoothing.
        source_range: CLIP_FRAMES,
        params: vec![("model".to_owned(), model_arg)],
        scale: 1.0,
        depth: Depth::U8,
        planes: true,
        output: render_cmd::pattern_in(&demo.out.join("output"), "%05d.png"),
        // The node has one custom plane (FaceMask), so it needs no {plane} in its path.
        plane_output: render_cmd::pattern_in(&demo.out.join("mask"), "%05d.png"),
    };
    let outcome = render_cmd::execute(&job)?;

    let sheet = demo.out.join("contact_sheet.png");
    let frame_file = |dir: &str, f: i64| demo.out.join(dir).join(format!("{f:05}.png"));
    let rows: Vec<contact_sheet::Row> = contact_sheet::sample_frames(demo.frames.first, demo.frames.last, SHEET_ROWS)
        .into_iter()
        .map(|f| contact_sheet::Row {
            frame: f,
            source: frame_file("source", f),
            output: frame_file("output", f),
            mask: frame_file("mask", f),
        })
        .collect();
    contact_sheet::write(&rows, &sheet, TILE_WIDTH)?;

    let (a, b) = (demo.frames.first, demo.frames.last);
    println!();
    let seconds = outcome.elapsed.as_secs_f64();
    println!("demo: {} frame(s) {a}-{b} in {seconds:.1} s ({:.2} s/frame)", outcome.rendered, seconds / outcome.rendered.max(1) as f64);
    println!("  source frames  {}", source_dir.join("%05d.png").display());
    println!("  output frames  {}  ({a}-{b})", demo.out.join("output/%05d.png").display());
    if outcome.plane_files > 0 {
        println!("  mask frames    {}  ({} written, 16-bit grey)", demo.out.join("mask/%05d.png").display(), outcome.plane_files);
    } else {
        println!("  mask frames    none: the node rendered no FaceMask plane (identity frames copy the source)");
    }
    let sampled: Vec<String> = rows.iter().map(|r| r.frame.to_string()).collect();
    println!("  contact sheet  {}  (rows: frames {}; columns: source | output | mask)", sheet.display(), sampled.join(", "));
    if outcome.identity > 0 {
        println!("  {} frame(s) were identity: the node asked the host to copy the source", outcome.identity);
    }
    match (&outcome.persistent, model_present) {
        (Some(m), _) => println!("  node says: {}", m.text),
        (None, false) => println!("  no model: frames passed through unchanged"),
        (None, true) => {}
    }
    Ok(())
}

/// Decodes the excerpt into `dir/%05d.png` unless a previous run did. ffmpeg writes into a side folder
/// renamed at the end, so an interrupted decode is never taken for a finished one.
fn decode(clip: &Path, dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        let missing = (CLIP_FRAMES.first..=CLIP_FRAMES.last).find(|f| !dir.join(format!("{f:05}.png")).is_file());
        return match missing {
            None => {
                println!("source frames already decoded in {}", dir.display());
                Ok(())
            }
            Some(f) => Err(format!("{} is incomplete (frame {f} is missing): delete it to decode the excerpt again", dir.display())),
        };
    }
    if !clip.is_file() {
        return Err(format!(
            "the demo footage is missing: expected {}.\n\
             It is an excerpt of Tears of Steel by the Blender Foundation (CC BY 3.0, https://mango.blender.org):\n\
             640x360, 24 fps, 240 frames. Download the film from there, cut the excerpt, save it at that path,\n\
             or point {DATA_ENV} at a folder holding {CLIP}.",
            clip.display()
        ));
    }
    let partial = dir.with_file_name(format!("{}.partial", dir.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| format!("cannot clear {}: {e}", partial.display()))?;
    }
    std::fs::create_dir_all(&partial).map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    println!("decoding {} into {} (ffmpeg)", clip.display(), dir.display());
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
        .arg(clip)
        // Every decoded frame becomes one file, numbered from 1: no frames dropped or duplicated.
        .args(["-fps_mode", "passthrough", "-start_number", "1"])
        .arg(partial.join("%05d.png"))
        .status()
        .map_err(|e| {
            let _ = std::fs::remove_dir_all(&partial);
            match e.kind() {
            ErrorKind::NotFound => "ffmpeg is not installed (or not on PATH); the demo decodes its footage with it: \
                                    `apt-get install ffmpeg` on Debian/Ubuntu"
                .to_owned(),
                _ => format!("cannot run ffmpeg: {e}"),
            }
        })?;
    if !status.success() {
        // Leave nothing half-decoded behind; the next run starts over anyway.
        let _ = std::fs::remove_dir_all(&partial);
        return Err(format!("ffmpeg could not decode {} ({status})", clip.display()));
    }
    std::fs::rename(&partial, dir).map_err(|e| format!("cannot move {} to {}: {e}", partial.display(), dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_must_lie_in_the_excerpt() {
        assert!(check_in_clip(FrameRange { first: 69, last: 157 }).is_ok());
        assert!(check_in_clip(FrameRange { first: 1, last: 240 }).is_ok());
        assert!(check_in_clip(FrameRange { first: 0, last: 10 }).is_err());
        assert!(check_in_clip(FrameRange { first: 230, last: 241 }).is_err());
    }

    #[test]
    fn missing_footage_says_where_to_get_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = decode(&dir.path().join("absent.mp4"), &dir.path().join("source")).unwrap_err();
        assert!(err.contains("https://mango.blender.org") && err.contains("CC BY 3.0") && err.contains("240 frames"), "{err}");
        assert!(!dir.path().join("source").exists(), "nothing is created when there is nothing to decode");
    }

    #[test]
    fn an_incomplete_source_folder_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        std::fs::create_dir_all(&source).unwrap();
        std::fs::write(source.join("00001.png"), b"").unwrap();
        let err = decode(&dir.path().join("absent.mp4"), &source).unwrap_err();
        assert!(err.contains("frame 2 is missing"), "{err}");
    }
}
