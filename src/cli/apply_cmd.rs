//! `faceswap apply`: the node's swap on footage, without a host, for batch work.
//!
//! Runs exactly what the node runs on each frame: the options become the node's parameters
//! ([`crate::apply_params`]), [`Settings::read`] validates them at the frame's time, [`Settings::request`]
//! builds the pipeline request and [`run::run`] renders the frame with its neighbouring frames for temporal
//! smoothing. Pixels travel the way they do through an OFX host: each source frame is converted to the clip's
//! bit depth (`--depth`, as `faceswap render --depth`), read as float RGBA, and the result is written back at
//! that depth; the mask goes through the same single-channel plane as the node's FaceMask plane. So a shot
//! rendered here and through the node with the same parameters gives the same files, bit for bit
//! (tests/apply_matches_node.rs).

use crate::apply_params::{self, NodeParams};
use crate::inputs::{self, Scratch, Source};
use crate::render_cmd::{parse_depth, FrameRange};
use faceswap_ofx::model::{cache, file};
use faceswap_ofx::node::params::{self, name};
use faceswap_ofx::node::settings::Settings;
use faceswap_ofx::pipeline::composite::OutputMode;
use faceswap_ofx::pipeline::frame::{Frame, Mask};
use faceswap_ofx::pipeline::run::{self, Severity};
use ofx_host::{Components, Depth, HostImage, RectI, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Footage: an image sequence (`plates/%05d.png` or `plates/#####.png`), one image, a folder of images, or
    /// a video file (decoded with ffmpeg; its frames are numbered from 1).
    #[arg(value_name = "INPUT")]
    pub input: String,
    /// Folder for the output frames (DIR/%05d.png, or .exr with --depth float) and the mask frames
    /// (DIR/FaceMask/%05d.png, 16-bit grey), as `faceswap render --planes` writes them.
    #[arg(long)]
    pub out: PathBuf,
    /// Swap model (.safetensors, from `faceswap train`). Node parameter: Model File. Required, except with
    /// --output analysis, which draws the face analysis and, like the node, needs no model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Frames to render, A-B or A (default: every frame of the input).
    #[arg(long)]
    pub frames: Option<String>,
    /// The identity to put on the faces, by name (default: the model's first). Node parameter: Identity.
    #[arg(long)]
    pub identity: Option<String>,
    /// Swap strength 0..1, or keyframes FRAME:VALUE,FRAME:VALUE[@linear|@smooth|@constant] (default 1).
    #[arg(long, allow_hyphen_values = true)]
    pub blend: Option<String>,
    /// composite, swapped-face (premultiplied by the mask), mask-only, or analysis (the face analysis drawn on
    /// the plate, no swap) (default composite).
    #[arg(long)]
    pub output: Option<String>,
    /// Put the face mask into the output's alpha channel.
    #[arg(long)]
    pub mask_in_alpha: bool,
    /// Shrink the mask by this many pixels (negative grows it), or keyframes (default 2).
    #[arg(long, allow_hyphen_values = true)]
    pub mask_erode: Option<String>,
    /// Soften the mask edge over this many pixels, or keyframes (default 8).
    #[arg(long, allow_hyphen_values = true)]
    pub mask_feather: Option<String>,
    /// The mask the swap is blended through: learned-in-hull (the model's mask inside the landmark hull),
    /// hull (the landmark hull alone) or learned (the model's mask alone) (default learned-in-hull).
    #[arg(long)]
    pub mask_source: Option<String>,
    /// reinhard (Lab statistics), mean-std (per RGB channel) or none (default reinhard).
    #[arg(long)]
    pub colour_transfer: Option<String>,
    /// Faces to swap: largest, all, or nearest (to --face-point) (default largest).
    #[arg(long)]
    pub faces: Option<String>,
    /// With --faces nearest: X;Y in the node's coordinates (pixels from the bottom-left corner, as Natron and
    /// Nuke show them), or keyframes FRAME:X;Y,... (default: the frame centre).
    #[arg(long, allow_hyphen_values = true)]
    pub face_point: Option<String>,
    /// Detection confidence a face needs, 0.05..0.99, or keyframes (default 0.5).
    #[arg(long, allow_hyphen_values = true)]
    pub threshold: Option<String>,
    /// Smallest face searched for, in percent of the frame height (0..100), or keyframes (default 3). Raise
    /// it on close-ups: detection skips its finest tiles.
    #[arg(long, allow_hyphen_values = true)]
    pub smallest_face: Option<String>,
    /// Landmarks averaged over this many frames before and after (0..12; 0 = off; default 2). Neighbours are
    /// read from the input sequence or video; single images and folders have none.
    #[arg(long, allow_hyphen_values = true)]
    pub temporal_smoothing: Option<i32>,
    /// auto (GPU when the machine has a real one), gpu or cpu (default auto).
    #[arg(long)]
    pub device: Option<String>,
    /// Bit depth frames are processed and written at, as in a host: 8 and 16 write PNG, float writes OpenEXR.
    #[arg(long, default_value = "8")]
    pub depth: String,
    /// Folder holding the face-analysis weights (default: this source tree's models/).
    #[arg(long)]
    pub models: Option<PathBuf>,
}

/// One frame to render: its number (the node's time), the file, and the stem its outputs are named by.
#[derive(Clone, Debug, PartialEq)]
struct Item {
    number: u64,
    path: PathBuf,
    out_stem: String,
}

/// Everything a run needs, validated before any frame is read.
struct Job {
    source: Source,
    /// Raw input as given, for messages.
    input: String,
    frames: Option<FrameRange>,
    out: PathBuf,
    depth: Depth,
    params: NodeParams,
    /// (width, height) of the first frame; (0, 0) for a video until it is decoded.
    size: (usize, usize),
    face_point_given: bool,
    /// The face-analysis weights' folder, checked.
    models: PathBuf,
}

impl Job {
    fn from_args(args: Args) -> Result<Job, String> {
        let frames = args.frames.as_deref().map(FrameRange::parse).transpose()?;
        let depth = parse_depth(&args.depth)?;
        let source = inputs::classify(&args.input)?;
        if let (Some(_), Source::Still(_) | Source::Folder(_)) = (frames, &source) {
            return Err("--frames applies to sequences and videos, not to single images or folders".into());
        }
        let model = model_and_identity(&args)?;
        let models = inputs::face_weights(args.models.clone())?;
        let size = match &source {
            // A video's size is known once decoded; the default Face Point is set then.
            Source::Video(_) => (0, 0),
            _ => first_frame_size(&source)?,
        };
        let mut params = NodeParams::defaults(size);
        if let Some((path, identity_name, index)) = model {
            params.set(name::MODEL, Value::String(path.to_string_lossy().into_owned()));
            params.set(name::IDENTITY_NAME, Value::String(identity_name));
            params.set(name::IDENTITY, Value::Choice(index as i32));
        }
        let curves = [
            ("--blend", name::BLEND, &args.blend),
            ("--mask-erode", name::MASK_ERODE, &args.mask_erode),
            ("--mask-feather", name::MASK_FEATHER, &args.mask_feather),
            ("--threshold", name::DETECTION_THRESHOLD, &args.threshold),
            ("--smallest-face", name::SMALLEST_FACE, &args.smallest_face),
        ];
        for (option, param, text) in curves {
            if let Some(text) = text {
                params.set_state(param, apply_params::curve(option, param, text)?);
            }
        }
        let choices = [
            ("--output", name::OUTPUT, &args.output, &params::OUTPUT_OPTIONS[..]),
            ("--mask-source", name::MASK_SOURCE, &args.mask_source, &params::MASK_SOURCE_OPTIONS[..]),
            ("--colour-transfer", name::COLOUR_TRANSFER, &args.colour_transfer, &params::COLOUR_TRANSFER_OPTIONS[..]),
            ("--faces", name::FACE_SELECTION, &args.faces, &params::FACE_SELECTION_OPTIONS[..]),
            ("--device", name::DEVICE, &args.device, &params::DEVICE_OPTIONS[..]),
        ];
        for (option, param, text, options) in choices {
            if let Some(text) = text {
                params.set(param, Value::Choice(apply_params::choice(option, text, options)? as i32));
            }
        }
        params.set(name::MASK_IN_ALPHA, Value::Bool(args.mask_in_alpha));
        if let Some(k) = args.temporal_smoothing {
            params.set(name::TEMPORAL_SMOOTHING, apply_params::temporal_window(k)?);
        }
        let face_point = args.face_point.as_deref().map(|t| apply_params::curve("--face-point", name::FACE_POINT, t)).transpose()?;
        let face_point_given = face_point.is_some();
        if let Some(point) = face_point {
            params.set_state(name::FACE_POINT, point);
        }
        let (input, out) = (args.input, args.out);
        let job = Job { source, input, frames, out, depth, params, size, face_point_given, models };
        // Everything else is checked the way the node checks it, once, before any work.
        Settings::read(&job.params, 0.0).map_err(|e| e.to_string())?;
        Ok(job)
    }
}

/// The model file and the identity chosen in it (name, index): the node's Model File and Identity. `None`
/// only with `--output analysis`, which, like the node, needs no model.
fn model_and_identity(args: &Args) -> Result<Option<(PathBuf, String, usize)>, String> {
    let Some(model) = &args.model else {
        let analysis = match &args.output {
            Some(text) => params::OUTPUT_OPTIONS[apply_params::choice("--output", text, &params::OUTPUT_OPTIONS)?].id == "analysis",
            None => false,
        };
        return if analysis { Ok(None) } else { Err("--model is required (only --output analysis runs without a model)".into()) };
    };
    let header = file::read_header(model).map_err(|e| format!("--model: {e}"))?;
    let (name, index) = match &args.identity {
        Some(wanted) => {
            let index = header
                .identities
                .iter()
                .position(|n| n == wanted)
                .ok_or_else(|| format!("--identity {wanted:?}: the model has {}", header.identities.join(", ")))?;
            (wanted.clone(), index)
        }
        // The node's default: a fresh node selects the model's first identity.
        None => (header.identities.first().cloned().ok_or("--model: the model has no identities")?, 0),
    };
    Ok(Some((model.clone(), name, index)))
}

fn first_frame_size(source: &Source) -> Result<(usize, usize), String> {
    let path = match source {
        Source::Still(p) => p.clone(),
        Source::Folder(d) => inputs::folder_frames(d)?.into_iter().next().map(|(_, p)| p).ok_or("empty folder")?,
        Source::Sequence(p) => inputs::sequence_frames(p)?.into_iter().next().map(|(_, p)| p).ok_or("empty sequence")?,
        Source::Video(v) => return Err(format!("{}: a video's size is known after decoding", v.display())),
    };
    let (w, h) = image::image_dimensions(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((w as usize, h as usize))
}

/// The frames to render and the frames temporal smoothing may read, by number.
struct Footage {
    render: Vec<Item>,
    /// Frames of the clip a host would offer as neighbours (empty for stills and folders).
    clip: BTreeMap<u64, PathBuf>,
}

/// How many frames beyond `--frames` a video is decoded: the node's largest temporal window.
const TEMPORAL_MARGIN: u64 = 12;

fn footage(job: &Job, scratch_dir: &Path) -> Result<Footage, String> {
    let numbered = |frames: Vec<(u64, PathBuf)>| -> Result<Footage, String> {
        let clip: BTreeMap<u64, PathBuf> = frames.into_iter().collect();
        let render = match job.frames {
            Some(r) => (r.first as u64..=r.last as u64)
                .map(|n| match clip.get(&n) {
                    Some(p) => Ok(Item { number: n, path: p.clone(), out_stem: format!("{n:05}") }),
                    None => Err(format!("{}: frame {n} is missing", job.input)),
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => clip.iter().map(|(n, p)| Item { number: *n, path: p.clone(), out_stem: format!("{n:05}") }).collect(),
        };
        Ok(Footage { render, clip })
    };
    let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "frame".into());
    match &job.source {
        Source::Still(p) => Ok(Footage { render: vec![Item { number: 0, path: p.clone(), out_stem: stem(p) }], clip: BTreeMap::new() }),
        Source::Folder(d) => Ok(Footage {
            render: inputs::folder_frames(d)?.into_iter().map(|(n, p)| Item { number: n, out_stem: stem(&p), path: p }).collect(),
            clip: BTreeMap::new(),
        }),
        Source::Sequence(p) => numbered(inputs::sequence_frames(p)?),
        Source::Video(v) => {
            inputs::check_ffmpeg()?;
            let need = job.frames.map(|r| r.last as u64 + TEMPORAL_MARGIN);
            println!("decoding {} (ffmpeg)", v.display());
            numbered(inputs::decode_video(v, scratch_dir, need)?)
        }
    }
}

/// A source file as the host serves it to the node: the clip's components (RGB and RGBA stay, anything else
/// becomes RGBA, the node's supported components) at the clip's depth.
fn served(path: &Path, depth: Depth) -> Result<HostImage, String> {
    let img = ofx_host::read_image(path).map_err(|e| e.to_string())?;
    let components = match img.components {
        Components::Rgb => Components::Rgb,
        _ => Components::Rgba,
    };
    Ok(img.convert(components, depth))
}

/// A served image as the node reads it: float RGBA (RGB gets alpha 1), top row first.
fn to_frame(img: &HostImage) -> Result<Frame, String> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let bottom_up = img.convert(Components::Rgba, Depth::F32).to_f32();
    let data: Vec<f32> = bottom_up.chunks_exact(w * 4).rev().flatten().copied().collect();
    Frame::from_rgba(w, h, data).map_err(|e| e.to_string())
}

/// Rows of a top-first buffer with `n` values a pixel, bottom row first (the host's order).
fn flipped(data: &[f32], width: usize, n: usize) -> Vec<f32> {
    data.chunks_exact(width * n).rev().flatten().copied().collect()
}

/// The node's output frame in the output clip's format.
fn output_image(frame: &Frame, components: Components, depth: Depth) -> Result<HostImage, String> {
    let bounds = RectI::from_size(frame.width() as u32, frame.height() as u32);
    let rgba = HostImage::from_f32(bounds, Components::Rgba, Depth::F32, &flipped(frame.data(), frame.width(), 4)).map_err(|e| e.to_string())?;
    Ok(rgba.convert(components, depth))
}

/// The mask as the node writes its FaceMask plane: one channel at the clip's depth.
fn mask_image(mask: &Mask, depth: Depth) -> Result<HostImage, String> {
    let bounds = RectI::from_size(mask.width() as u32, mask.height() as u32);
    HostImage::from_f32(bounds, Components::Alpha, depth, &flipped(mask.data(), mask.width(), 1)).map_err(|e| e.to_string())
}

/// Source frames decoded once and kept while the temporal window may still need them.
struct FrameCache {
    frames: BTreeMap<u64, (HostImage, Frame)>,
    depth: Depth,
}

impl FrameCache {
    fn get(&mut self, number: u64, path: &Path) -> Result<&(HostImage, Frame), String> {
        if !self.frames.contains_key(&number) {
            let img = served(path, self.depth).map_err(|e| format!("{}: {e}", path.display()))?;
            let frame = to_frame(&img)?;
            self.frames.insert(number, (img, frame));
        }
        self.frames.get(&number).ok_or_else(|| "frame cache".to_owned())
    }

    /// Forgets frames before `first`.
    fn keep_from(&mut self, first: u64) {
        self.frames = self.frames.split_off(&first);
    }
}

/// What a run did.
#[derive(Debug, Default)]
struct Summary {
    written: usize,
    swapped: usize,
    /// Frames where the node would answer isIdentity (blend 0): the source is copied and no mask written.
    identity: usize,
    without_face: usize,
    interrupted: bool,
    /// The run drew the face analysis (Output: Face Analysis) instead of swapping.
    analysis: bool,
}

fn execute(job: &mut Job, stop: &AtomicBool) -> Result<Summary, String> {
    cache::set_models_dir(job.models.clone());
    // A video decodes into OUT/.decode, removed when the run ends (also on errors and Ctrl-C).
    let scratch_dir = job.out.join(".decode");
    let _scratch = matches!(job.source, Source::Video(_)).then(|| Scratch(scratch_dir.clone()));
    let footage = footage(job, &scratch_dir)?;
    let Some(first) = footage.render.first() else { return Err(format!("{}: no frames to render", job.input)) };
    if job.size == (0, 0) {
        let (w, h) = image::image_dimensions(&first.path).map_err(|e| format!("cannot read {}: {e}", first.path.display()))?;
        job.size = (w as usize, h as usize);
        if !job.face_point_given {
            job.params.set_face_point_default(job.size);
        }
    }
    // As `faceswap render` asks a host: RGB frames give RGB files unless the node wants alpha (its clip
    // preferences, which the node reads at time 0).
    let at_start = Settings::read(&job.params, 0.0).map_err(|e| e.to_string())?;
    let alpha = at_start.output_needs_alpha();
    let rgb = served(&first.path, job.depth)?.components == Components::Rgb;
    let writer = Writer {
        out: job.out.clone(),
        ext: if job.depth == Depth::F32 { "exr" } else { "png" },
        components: if rgb && !alpha { Components::Rgb } else { Components::Rgba },
        depth: job.depth,
    };
    let mask_dir = job.out.join("FaceMask");
    std::fs::create_dir_all(&mask_dir).map_err(|e| format!("cannot create {}: {e}", mask_dir.display()))?;
    let mut cache = FrameCache { frames: BTreeMap::new(), depth: job.depth };
    let mut sum = Summary { analysis: at_start.output == OutputMode::Analysis, ..Summary::default() };
    let mut shown: Option<String> = None;
    let total = footage.render.len();
    for (i, item) in footage.render.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            sum.interrupted = true;
            break;
        }
        let mut line = format!("frame {} ({}/{total})  {}", item.number, i + 1, writer.output(item).display());
        match apply_frame(job, item, &footage.clip, &mut cache, &writer)? {
            Done::Identity => {
                sum.identity += 1;
                line.push_str("  (identity: source copied)");
            }
            Done::Rendered { swapped, message } => {
                // Like the node's message: printed when it appears or changes, not on every frame.
                if message.is_some() && message != shown {
                    line.push_str(&format!("\n  {}", message.as_deref().unwrap_or_default()));
                }
                shown = message;
                if swapped {
                    sum.swapped += 1;
                } else {
                    sum.without_face += 1;
                }
            }
        }
        sum.written += 1;
        println!("{line}");
    }
    Ok(sum)
}

/// Where and how frames are written: the output clip's format, and `faceswap render --planes`'s layout.
struct Writer {
    out: PathBuf,
    ext: &'static str,
    components: Components,
    depth: Depth,
}

impl Writer {
    fn output(&self, item: &Item) -> PathBuf {
        self.out.join(format!("{}.{}", item.out_stem, self.ext))
    }

    fn mask(&self, item: &Item) -> PathBuf {
        self.out.join("FaceMask").join(format!("{}.{}", item.out_stem, self.ext))
    }
}

/// What happened to one frame.
enum Done {
    /// Blend 0: the node answers isIdentity; the host copies the source frame and renders no plane.
    Identity,
    Rendered {
        /// The mask is non-empty (Face Analysis: a face was found).
        swapped: bool,
        /// Why the frame passed through, or a note (as the node shows it).
        message: Option<String>,
    },
}

/// Renders one frame as the node does and writes it; errors stop the run (the node would pass the frame
/// through with an error message, which in batch work would silently ruin a shot).
fn apply_frame(job: &Job, item: &Item, clip: &BTreeMap<u64, PathBuf>, cache: &mut FrameCache, writer: &Writer) -> Result<Done, String> {
    let settings = Settings::read(&job.params, item.number as f64).map_err(|e| format!("frame {}: {e}", item.number))?;
    let window = settings.temporal_window as u64;
    cache.keep_from(item.number.saturating_sub(window));
    let (source_img, source) = cache.get(item.number, &item.path)?.clone();
    if settings.is_identity() {
        write(&writer.output(item), &source_img.convert(writer.components, writer.depth), false)?;
        return Ok(Done::Identity);
    }
    // Neighbours one at a time, as the node fetches them; a frame that cannot be read stops the run.
    let mut fetch_failure = None;
    let outcome = run::run_fetching(
        &source,
        &mut |offset| {
            let (n, path) = u64::try_from(item.number as i64 + offset as i64).ok().and_then(|n| clip.get_key_value(&n))?;
            match cache.get(*n, path) {
                Ok((_, frame)) => Some(Cow::Owned(frame.clone())),
                Err(e) => {
                    fetch_failure.get_or_insert(e);
                    None
                }
            }
        },
        &settings.request([1.0, 1.0], 0, source.height() as i32),
    );
    if let Some(e) = fetch_failure {
        return Err(e);
    }
    if let Some((Severity::Error, why)) = &outcome.passthrough {
        return Err(format!("frame {}: {why} (frames before it are written)", item.number));
    }
    write(&writer.output(item), &output_image(&outcome.image, writer.components, writer.depth)?, false)?;
    write(&writer.mask(item), &mask_image(&outcome.mask, writer.depth)?, true)?;
    // Face Analysis draws faces instead of swapping them: no mask, and no message when one was found.
    let swapped = if settings.output == OutputMode::Analysis { outcome.passthrough.is_none() } else { outcome.mask.data().iter().any(|&m| m > 0.0) };
    let message = outcome.passthrough.map(|(_, why)| why).or(outcome.note);
    Ok(Done::Rendered { swapped, message })
}

fn write(path: &Path, img: &HostImage, plane: bool) -> Result<(), String> {
    let written = if plane { ofx_host::write_plane(path, img) } else { ofx_host::write_image(path, img) };
    written.map_err(|e| e.to_string())
}

pub fn run(args: Args) -> Result<(), String> {
    let mut job = Job::from_args(args)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C finishes the current frame and removes the decode folder; without a handler it simply kills us.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    let started = Instant::now();
    let sum = execute(&mut job, &stop)?;
    let secs = started.elapsed().as_secs_f64();
    println!();
    println!("applied to {} frame(s) in {secs:.1} s ({:.2} s/frame)", sum.written, secs / sum.written.max(1) as f64);
    println!("  output frames        {}", job.out.display());
    println!("  mask frames          {}  (16-bit grey PNG; float EXR with --depth float)", job.out.join("FaceMask").display());
    if sum.analysis {
        println!("  frames with a face   {}  (face analysis drawn, no swap)", sum.swapped);
    } else {
        println!("  frames with a swap   {}", sum.swapped);
    }
    println!("  frames with no face  {}", sum.without_face);
    if sum.identity > 0 {
        println!("  {} frame(s) at blend 0: the source copied, no mask written (the node's isIdentity)", sum.identity);
    }
    if sum.interrupted {
        return Err("interrupted; the frames written so far are kept".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pixel the pipeline leaves alone must come out as it went in, at every depth: the node's promise of
    /// bit identity outside the mask depends on these conversions.
    #[test]
    fn frames_round_trip_through_the_clip_formats_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.png");
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 37 % 256) as u8).collect();
        image::save_buffer(&path, &rgb, 4, 3, image::ExtendedColorType::Rgb8).unwrap();
        for depth in [Depth::U8, Depth::U16, Depth::F32] {
            let served = served(&path, depth).unwrap();
            assert_eq!((served.components, served.depth), (Components::Rgb, depth));
            let frame = to_frame(&served).unwrap();
            // Top row first in the frame, alpha 1 for an RGB source.
            assert_eq!(frame.pixel(0, 0), [rgb[0] as f32 / 255.0, rgb[1] as f32 / 255.0, rgb[2] as f32 / 255.0, 1.0]);
            assert_eq!(output_image(&frame, Components::Rgb, depth).unwrap(), served, "{depth:?}");
        }
    }

    #[test]
    fn the_mask_is_a_single_channel_at_the_clip_depth_bottom_row_first() {
        let mut mask = Mask::empty(2, 2);
        mask.set(1, 0, 1.0);
        let img = mask_image(&mask, Depth::U8).unwrap();
        assert_eq!((img.components, img.depth), (Components::Alpha, Depth::U8));
        assert_eq!(img.data, [0, 0, 0, 255], "the top row is stored last");
    }

    fn args(input: &Path, out: &Path) -> Args {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.safetensors");
        let argv = ["apply", input.to_str().unwrap(), "--model", model.to_str().unwrap(), "--out", out.to_str().unwrap()];
        Cli::try_parse_from(argv).unwrap().args
    }

    #[test]
    fn a_still_is_frame_0_named_after_its_file_and_a_sequence_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let still = faceswap_ofx::footage::require("astronaut.png");
        let job = Job::from_args(args(&still, dir.path())).unwrap();
        assert_eq!(job.size, (512, 512));
        let f = footage(&job, dir.path()).unwrap();
        assert_eq!(f.render, [Item { number: 0, path: still.clone(), out_stem: "astronaut".into() }]);
        assert!(f.clip.is_empty(), "a still has no neighbours");

        for n in [7, 8, 9, 11] {
            std::fs::copy(&still, dir.path().join(format!("p{n:03}.png"))).unwrap();
        }
        let mut a = args(&dir.path().join("p%03d.png"), dir.path());
        a.frames = Some("7-9".into());
        let job = Job::from_args(a).unwrap();
        let f = footage(&job, dir.path()).unwrap();
        assert_eq!(f.render.iter().map(|i| (i.number, i.out_stem.as_str())).collect::<Vec<_>>(), [(7, "00007"), (8, "00008"), (9, "00009")]);
        assert_eq!(f.clip.keys().copied().collect::<Vec<_>>(), [7, 8, 9, 11], "every frame on disk may be a neighbour");
        let mut a = args(&dir.path().join("p%03d.png"), dir.path());
        a.frames = Some("9-11".into());
        let job = Job::from_args(a).unwrap();
        assert!(footage(&job, dir.path()).err().unwrap().contains("frame 10 is missing"));
    }
}
