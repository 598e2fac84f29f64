//! `faceswap render`: render a frame range through the OFX plug-in with the headless host, the way a
//! render farm node would: the real bundle is loaded with dlopen and driven through the C ABI.
//!
//! Raw arguments are validated into [`Job`] before the bundle is touched, so a typo in `--frames` or
//! `--param` fails at once instead of after the plug-in has loaded.

use ofx_host::{render_sequence, Bundle, Components, Context, Depth, HostMessage, ImageSequence, ParamArg, SequenceJob};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The plug-in bundle (FaceSwap.ofx.bundle, as written by `faceswap bundle`).
    #[arg(long)]
    pub bundle: PathBuf,
    /// Source frames: a pattern with %05d, %d or #### (frames/%05d.png), or one still image used for every frame.
    #[arg(long)]
    pub input: String,
    /// Frames to render: A-B (inclusive) or a single frame A.
    #[arg(long)]
    pub frames: String,
    /// Folder for the output frames (DIR/%05d.png, or .exr with --depth float).
    #[arg(long)]
    pub out: PathBuf,
    /// Set a parameter by script name: name=value, or keyframes name=t0:v0,t1:v1[@linear|@smooth|@constant]
    /// (e.g. blend=0:0,10:1@linear, model=models/x.safetensors). Repeat for several parameters.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Also write the node's custom planes (the FaceMask plane) into DIR/<plane>/.
    #[arg(long)]
    pub planes: bool,
    /// Render scale, 0 < S <= 1 (a proxy render: 0.5 renders at half resolution).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Bit depth of every clip: 8 and 16 write PNG, float writes OpenEXR.
    #[arg(long, default_value = "8")]
    pub depth: String,
}

/// An inclusive frame range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRange {
    pub first: i64,
    pub last: i64,
}

impl FrameRange {
    /// Parses `A-B` or `A`. Frames are non-negative: a leading `-` would make `-5-3` ambiguous, and no
    /// image sequence we read numbers frames below zero.
    pub fn parse(s: &str) -> Result<FrameRange, String> {
        let bad = |why: &str| format!("--frames {s:?}: {why} (expected A-B, e.g. 69-157, or a single frame)");
        let number = |t: &str| t.trim().parse::<i64>().ok().filter(|n| *n >= 0);
        let (first, last) = match s.split_once('-') {
            Some((a, b)) => (number(a).ok_or_else(|| bad("not a frame number"))?, number(b).ok_or_else(|| bad("not a frame number"))?),
            None => {
                let n = number(s).ok_or_else(|| bad("not a frame number"))?;
                (n, n)
            }
        };
        if first > last {
            return Err(bad("the first frame is after the last"));
        }
        Ok(FrameRange { first, last })
    }

    pub fn len(&self) -> i64 {
        self.last - self.first + 1
    }
}

/// Clip depth from `--depth`.
pub fn parse_depth(s: &str) -> Result<Depth, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "8" => Ok(Depth::U8),
        "16" => Ok(Depth::U16),
        "float" | "32" | "f32" => Ok(Depth::F32),
        _ => Err(format!("--depth {s:?}: expected 8, 16 or float")),
    }
}

/// `--scale`: hosts render proxies below 1; above 1 the plug-in would be asked for more pixels than the source has.
pub fn parse_scale(s: f64) -> Result<f64, String> {
    if s.is_finite() && s > 0.0 && s <= 1.0 {
        Ok(s)
    } else {
        Err(format!("--scale {s}: expected a number in (0, 1]"))
    }
}

/// Everything a render needs, validated.
pub struct Job {
    pub bundle: PathBuf,
    /// Source pattern or still image.
    pub input: String,
    pub frames: FrameRange,
    /// Frames the source may be asked for (temporal smoothing reads neighbours of the rendered range).
    pub source_range: FrameRange,
    pub params: Vec<(String, ParamArg)>,
    pub scale: f64,
    pub depth: Depth,
    pub planes: bool,
    /// Output file pattern (`out/%05d.png`).
    pub output: String,
    /// Plane file pattern, `{plane}` standing for the plane's label (`out/{plane}/%05d.png`).
    pub plane_output: String,
}

impl Job {
    /// Validates the raw arguments. Checks the input exists, but loads nothing yet.
    pub fn from_args(args: Args) -> Result<Job, String> {
        let frames = FrameRange::parse(&args.frames)?;
        let depth = parse_depth(&args.depth)?;
        let scale = parse_scale(args.scale)?;
        let params = parse_params(&args.params)?;
        if !args.bundle.exists() {
            return Err(format!("--bundle {}: no such bundle (write one with `faceswap bundle --out DIR`)", args.bundle.display()));
        }
        let source_range = source_range(&args.input, frames)?;
        let ext = if depth == Depth::F32 { "exr" } else { "png" };
        let output = pattern_in(&args.out, &format!("%05d.{ext}"));
        let plane_output = pattern_in(&args.out.join("{plane}"), &format!("%05d.{ext}"));
        let (bundle, input, planes) = (args.bundle, args.input, args.planes);
        Ok(Job { bundle, input, frames, source_range, params, scale, depth, planes, output, plane_output })
    }
}

/// `dir/file` as a string pattern (the host's sequence functions take strings).
pub fn pattern_in(dir: &Path, file: &str) -> String {
    dir.join(file).to_string_lossy().into_owned()
}

/// Parses every `--param` before the bundle loads; the names are checked against the plug-in later.
pub fn parse_params(raw: &[String]) -> Result<Vec<(String, ParamArg)>, String> {
    raw.iter().map(|p| ofx_host::parse_param_arg(p).map_err(|e| format!("--param: {e}"))).collect()
}

/// How far beyond the rendered range the source is offered: the node's largest temporal window
/// (Temporal Smoothing goes up to 12 frames each side).
const TEMPORAL_MARGIN: i64 = 12;

/// The source frames to offer: the rendered range, which must exist, widened by up to
/// [`TEMPORAL_MARGIN`] frames each side while files exist, so smoothing at the range's ends sees the
/// same neighbours it would in a host that has the whole shot. A still image serves every frame.
fn source_range(input: &str, frames: FrameRange) -> Result<FrameRange, String> {
    if !ofx_host::imageio::is_pattern(input) {
        return if Path::new(input).is_file() {
            Ok(frames)
        } else {
            Err(format!("--input {input}: no such image (give a file, or a pattern such as frames/%05d.png)"))
        };
    }
    let exists = |f: i64| ofx_host::expand_pattern(input, f).map(|p| p.is_file()).unwrap_or(false);
    if let Some(missing) = (frames.first..=frames.last).find(|f| !exists(*f)) {
        let path = ofx_host::expand_pattern(input, missing).map(|p| p.display().to_string()).unwrap_or_default();
        return Err(format!("--input {input}: frame {missing} is missing ({path})"));
    }
    let mut range = frames;
    while range.first > 0 && frames.first - range.first < TEMPORAL_MARGIN && exists(range.first - 1) {
        range.first -= 1;
    }
    while range.last - frames.last < TEMPORAL_MARGIN && exists(range.last + 1) {
        range.last += 1;
    }
    Ok(range)
}

/// What a render did.
pub struct Outcome {
    pub rendered: usize,
    /// Frames the plug-in answered as identity (the host copied the source; no planes then).
    pub identity: usize,
    /// Plane files written.
    pub plane_files: usize,
    /// The node's persistent message after the last frame.
    pub persistent: Option<HostMessage>,
    pub elapsed: Duration,
}

pub fn run(args: Args) -> Result<(), String> {
    let job = Job::from_args(args)?;
    let outcome = execute(&job)?;
    println!(
        "rendered {} frame(s) in {:.1} s into {}{}",
        outcome.rendered,
        outcome.elapsed.as_secs_f64(),
        Path::new(&job.output).parent().map(|p| p.display().to_string()).unwrap_or_default(),
        if job.planes { format!(", {} plane file(s)", outcome.plane_files) } else { String::new() }
    );
    if job.planes && outcome.plane_files == 0 {
        println!("no plane was written: the plug-in produced none (identity frames copy the source and carry no planes)");
    }
    Ok(())
}

/// Loads the bundle, applies the parameters and renders the range, printing a line per frame and the
/// node's messages as they change.
pub fn execute(job: &Job) -> Result<Outcome, String> {
    let started = Instant::now();
    let bundle = Bundle::load(&job.bundle).map_err(|e| format!("cannot load the plug-in: {e}"))?;
    let mut inst = bundle.create_instance(Context::Filter).map_err(|e| format!("cannot create the node: {e}"))?;
    for (name, arg) in &job.params {
        inst.apply_param_arg(name, arg).map_err(|e| match e {
            ofx_host::HostError::NoParam(_) => {
                format!("--param {name}: the node has no such parameter (it has: {})", settable_params(&inst).join(", "))
            }
            e => format!("--param {name}: {e}"),
        })?;
    }
    let source = ImageSequence::open(&job.input, job.source_range.first, job.source_range.last).map_err(|e| format!("--input: {e}"))?;
    let mut seq = SequenceJob::new(&source, job.frames.first, job.frames.last, &job.output);
    seq.plane_output = Some(job.plane_output.clone());
    seq.render_scale = (job.scale, job.scale);
    seq.output_depth = job.depth;
    seq.output_components = output_components(&source, job.frames.first);
    seq.planes = job.planes;
    let total = job.frames.len();
    // Setting a parameter may already have set the node's message (e.g. an unreadable model file).
    let mut shown: Option<String> = None;
    if let Some(m) = inst.persistent_message() {
        println!("node {}: {}", kind_label(&m), m.text);
        shown = Some(m.text);
    }
    let mut progress = |fr: &ofx_host::sequence::FrameReport| {
        let mut line = format!("frame {} ({}/{total})  {}", fr.frame, fr.frame - job.frames.first + 1, fr.output.display());
        for p in &fr.planes {
            line.push_str(&format!("  {}", p.display()));
        }
        if fr.identity {
            line.push_str("  (identity: source copied)");
        }
        println!("{line}");
        // The node repeats the same message on every frame; print it once, and again only when it changes.
        for m in &fr.messages {
            if shown.as_deref() != Some(m.text.as_str()) {
                println!("node {}: {}", kind_label(m), m.text);
                shown = Some(m.text.clone());
            }
        }
    };
    let report = render_sequence(&mut inst, &seq, &mut progress).map_err(|e| {
        let hint = source.last_error().map(|s| format!(" (last source read error: {s})")).unwrap_or_default();
        format!("render failed: {e}{hint}")
    })?;
    let persistent = inst.persistent_message();
    if let Some(m) = &persistent {
        if shown.as_deref() != Some(m.text.as_str()) {
            println!("node {}: {}", kind_label(m), m.text);
        }
    }
    Ok(Outcome {
        rendered: report.frames.len(),
        identity: report.frames.iter().filter(|f| f.identity).count(),
        plane_files: report.frames.iter().map(|f| f.planes.len()).sum(),
        persistent,
        elapsed: started.elapsed(),
    })
}

/// Names `--param` can set: groups and pages carry no value, so they are left out of the hint.
fn settable_params(inst: &ofx_host::Instance<'_>) -> Vec<String> {
    inst.param_names()
        .into_iter()
        .filter(|n| inst.param_description(n).is_ok_and(|d| d.param_type.has_value()))
        .collect()
}

/// RGB sources give RGB files (smaller, and what the plate was); anything else renders RGBA. The node may
/// still ask for RGBA in its clip preferences (mask in alpha), which the host honours.
fn output_components(source: &ImageSequence, frame: i64) -> Components {
    use ofx_host::FrameProvider;
    match source.frame(frame as f64).map(|img| img.components) {
        Some(Components::Rgb) => Components::Rgb,
        _ => Components::Rgba,
    }
}

fn kind_label(m: &HostMessage) -> &'static str {
    use ofx_host::MessageKind as K;
    match m.kind {
        K::Fatal => "fatal",
        K::Error => "error",
        K::Warning => "warning",
        K::Question => "question",
        K::Log => "log",
        K::Message | K::Other => "message",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ranges() {
        assert_eq!(FrameRange::parse("69-157"), Ok(FrameRange { first: 69, last: 157 }));
        assert_eq!(FrameRange::parse(" 7 - 9 "), Ok(FrameRange { first: 7, last: 9 }));
        assert_eq!(FrameRange::parse("12"), Ok(FrameRange { first: 12, last: 12 }));
        assert_eq!(FrameRange::parse("0-0").map(|r| r.len()), Ok(1));
    }

    #[test]
    fn bad_frame_ranges_are_rejected() {
        for bad in ["", "-", "a-b", "10-5", "-3-4", "1-", "-1", "1.5-3", "1-2-3", "1..5"] {
            assert!(FrameRange::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn depths() {
        assert_eq!(parse_depth("8"), Ok(Depth::U8));
        assert_eq!(parse_depth("16"), Ok(Depth::U16));
        assert_eq!(parse_depth("float"), Ok(Depth::F32));
        assert_eq!(parse_depth("FLOAT"), Ok(Depth::F32));
        for bad in ["12", "", "half", "8bit"] {
            assert!(parse_depth(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn scales() {
        assert_eq!(parse_scale(0.5), Ok(0.5));
        assert_eq!(parse_scale(1.0), Ok(1.0));
        for bad in [0.0, -1.0, 1.5, f64::NAN, f64::INFINITY] {
            assert!(parse_scale(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn params_parse_before_loading() {
        let raw = vec!["blend=0:0,10:1@linear".to_owned(), "model=models/x.safetensors".to_owned()];
        let parsed = parse_params(&raw).unwrap();
        assert_eq!(parsed[0].0, "blend");
        assert!(matches!(parsed[0].1, ParamArg::Keys(ref k, _) if k.len() == 2));
        assert!(matches!(parsed[1].1, ParamArg::Constant(_)));
        assert!(parse_params(&["blend".to_owned()]).is_err(), "no = sign");
        assert!(parse_params(&["=1".to_owned()]).is_err(), "no name");
    }

    fn args(dir: &Path, input: &str, frames: &str) -> Args {
        Args {
            bundle: dir.to_owned(),
            input: input.to_owned(),
            frames: frames.to_owned(),
            out: dir.join("out"),
            params: Vec::new(),
            planes: true,
            scale: 1.0,
            depth: "8".to_owned(),
        }
    }

    #[test]
    fn source_range_widens_to_existing_neighbours_only() {
        let dir = tempfile::tempdir().unwrap();
        for f in 3..=30 {
            std::fs::write(dir.path().join(format!("{f:05}.png")), b"").unwrap();
        }
        let pattern = pattern_in(dir.path(), "%05d.png");
        let job = Job::from_args(args(dir.path(), &pattern, "5-10")).unwrap();
        assert_eq!(job.source_range, FrameRange { first: 3, last: 22 }, "down to the first file, up by the margin");
        assert!(job.output.ends_with("out/%05d.png"));
        assert!(job.plane_output.ends_with("out/{plane}/%05d.png"));
        let err = Job::from_args(args(dir.path(), &pattern, "28-31")).err().unwrap();
        assert!(err.contains("frame 31 is missing"), "{err}");
    }

    #[test]
    fn bad_arguments_fail_before_loading() {
        let dir = tempfile::tempdir().unwrap();
        let missing = pattern_in(dir.path(), "none.png");
        assert!(Job::from_args(args(dir.path(), &missing, "1-2")).err().unwrap().contains("no such image"));
        let mut a = args(dir.path(), &missing, "1-2");
        a.depth = "24".into();
        assert!(Job::from_args(a).err().unwrap().contains("--depth"));
        let mut a = args(dir.path(), &missing, "1-2");
        a.bundle = dir.path().join("nope.ofx.bundle");
        assert!(Job::from_args(a).err().unwrap().contains("no such bundle"));
        let mut a = args(dir.path(), &missing, "2-1");
        a.depth = "24".into();
        assert!(Job::from_args(a).err().unwrap().contains("--frames"), "frames are checked first");
    }
}
