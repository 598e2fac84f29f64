//! `faceswap extract`: footage → a face set (aligned crops, hull masks, landmarks) for `faceswap train`.
//!
//! Runs exactly the node's face analysis (`pipeline::analysis::analyse`) and alignment (`pipeline::align`), so
//! a model trains on the crops it will see at render time. Inputs are still images, folders of images,
//! printf-style sequences (`frames/%05d.png`, `####`) and videos, which ffmpeg decodes to a scratch folder
//! inside the face set (removed when the source is done).
//!
//! Frame numbers in stems and records: the number in the file name for sequences, ffmpeg's (from 1, as
//! `faceswap demo` and compositors number a decoded clip) for videos, the position in name order (from 0) in
//! a folder, 0 for a single still.

use crate::inputs::{
    check_ffmpeg, classify, decode_video, face_weights, folder_frames, load_frame, sequence_frames, Scratch, Source,
};
use faceswap_ofx::device;
use faceswap_ofx::faceset::{FaceRecord, FaceSet, FaceSetInfo, FACESET_VERSION};
use faceswap_ofx::model::pretrained::FaceNets;
use faceswap_ofx::pipeline::align::{align, hull_mask_crop, warp_to_crop, FaceTemplate};
use faceswap_ofx::pipeline::analysis::{analyse, Search};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Footage: image files (png/jpg), folders of images, sequences (`frames/%05d.png` or `frames/#####.png`)
    /// or video files (decoded with ffmpeg).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Face set folder to write (faces/, masks/, landmarks/, faceset.json).
    #[arg(long)]
    pub out: PathBuf,
    /// Identity name stored in the face set (default: the --out folder's name).
    #[arg(long)]
    pub identity: Option<String>,
    /// Side of the square face crops, in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Detection confidence a face needs (0..1).
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Smallest face searched for, in percent of the frame height (the node's Smallest Face): raise it on
    /// close-ups to skip the detector's finest tiles.
    #[arg(long, default_value_t = 3.0)]
    pub smallest_face: f32,
    /// Take every Nth frame of each source.
    #[arg(long, default_value_t = 1)]
    pub every: usize,
    /// Faces kept per frame, largest first.
    #[arg(long, default_value_t = 1)]
    pub max_faces_per_frame: usize,
    /// Stop after this many frames in total.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Where the face-analysis networks run; `gpu` falls back to the CPU when there is no usable GPU.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Folder holding the face-analysis weights (default: this source tree's models/).
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Replace the faces of an existing face set in --out instead of refusing.
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    Cpu,
    Gpu,
}

/// Smallest and largest crop sides accepted: below 32 px a face has no detail left to train on; above 2048
/// the crops outgrow any swap model and the footage they come from.
const SIZE_RANGE: std::ops::RangeInclusive<usize> = 32..=2048;
/// Validated settings: everything the extraction needs, checked once.
#[derive(Debug)]
struct Settings {
    sources: Vec<(String, Source)>,
    out: PathBuf,
    identity: String,
    size: usize,
    search: Search,
    every: usize,
    max_faces: usize,
    limit: Option<u64>,
    device: DeviceChoice,
    models: PathBuf,
    overwrite: bool,
}

impl Settings {
    fn from_args(args: Args) -> Result<Settings, String> {
        if !SIZE_RANGE.contains(&args.size) {
            return Err(format!("--size {} is out of range ({}..={})", args.size, SIZE_RANGE.start(), SIZE_RANGE.end()));
        }
        // Both ends open: 0 keeps every anchor (thousands of boxes), 1 keeps none.
        if !(args.threshold > 0.0 && args.threshold < 1.0) {
            return Err(format!("--threshold {} must lie strictly between 0 and 1", args.threshold));
        }
        if !(0.0..=100.0).contains(&args.smallest_face) {
            return Err(format!("--smallest-face {} must lie between 0 and 100 (percent of the frame height)", args.smallest_face));
        }
        if args.every == 0 {
            return Err("--every must be at least 1".into());
        }
        if args.max_faces_per_frame == 0 {
            return Err("--max-faces-per-frame must be at least 1".into());
        }
        if args.limit == Some(0) {
            return Err("--limit must be at least 1".into());
        }
        let identity = match args.identity {
            Some(name) => name,
            None => default_identity(&args.out)?,
        };
        if identity.trim().is_empty() || identity.chars().any(char::is_control) {
            return Err(format!("--identity {identity:?} is not a usable name"));
        }
        let sources = args.inputs.iter().map(|i| classify(i).map(|s| (i.clone(), s))).collect::<Result<Vec<_>, _>>()?;
        if sources.len() > 100 {
            // Stems carry the source index in two digits.
            return Err(format!("{} inputs given; at most 100 per face set", sources.len()));
        }
        Ok(Settings {
            sources,
            out: args.out,
            identity,
            size: args.size,
            search: Search { threshold: args.threshold, smallest_face: args.smallest_face / 100.0 },
            every: args.every,
            max_faces: args.max_faces_per_frame,
            limit: args.limit,
            device: args.device,
            models: face_weights(args.models)?,
            overwrite: args.overwrite,
        })
    }
}

/// The --out folder's own name, resolved against the working directory so `.` names the folder it means.
fn default_identity(out: &Path) -> Result<String, String> {
    let abs = std::path::absolute(out).map_err(|e| format!("cannot resolve {}: {e}", out.display()))?;
    let mut name = abs.components().filter_map(|c| match c {
        std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
        _ => None,
    });
    name.next_back().ok_or_else(|| format!("{} has no folder name to use as the identity: pass --identity", out.display()))
}

/// What an extraction did.
#[derive(Debug, Default, PartialEq)]
struct Summary {
    frames: u64,
    faces: u64,
    frames_without_face: u64,
    /// Faces found beyond --max-faces-per-frame, not written.
    faces_skipped: u64,
    interrupted: bool,
}

/// Refuses to mix a new extraction with an old one unless asked to replace it.
fn prepare_out(settings: &Settings) -> Result<(), String> {
    let faces = settings.out.join("faces");
    let has_faces = std::fs::read_dir(&faces).map(|mut d| d.next().is_some()).unwrap_or(false);
    if !has_faces {
        return Ok(());
    }
    if !settings.overwrite {
        return Err(format!(
            "{} already holds a face set; pass --overwrite to replace its faces, or choose another --out",
            settings.out.display()
        ));
    }
    for sub in ["faces", "masks", "landmarks"] {
        let dir = settings.out.join(sub);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
        }
    }
    Ok(())
}

/// Runs the extraction; `stop` is polled between frames (Ctrl-C).
fn extract(settings: &Settings, nets: &FaceNets, on_gpu: bool, stop: &AtomicBool) -> Result<Summary, String> {
    if settings.sources.iter().any(|(_, s)| matches!(s, Source::Video(_))) {
        check_ffmpeg()?;
    }
    prepare_out(settings)?;
    let template = FaceTemplate::default();
    let info = FaceSetInfo {
        version: FACESET_VERSION,
        size: settings.size,
        template: template.clone(),
        identity: settings.identity.clone(),
        sources: settings.sources.iter().map(|(input, _)| input.clone()).collect(),
    };
    let mut set = FaceSet::create(&settings.out, info).map_err(|e| format!("cannot create the face set: {e}"))?;
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} frames ({per_sec}) {msg}")
        .map_err(|e| format!("progress bar: {e}"))?;
    bar.set_style(style.progress_chars("=> "));
    let mut sum = Summary::default();
    for (index, (input, source)) in settings.sources.iter().enumerate() {
        let remaining = settings.limit.map(|l| l.saturating_sub(sum.frames));
        if remaining == Some(0) || stop.load(Ordering::Relaxed) {
            break;
        }
        let mut _scratch = None;
        let frames = match source {
            Source::Still(p) => vec![(0, p.clone())],
            Source::Folder(d) => folder_frames(d)?,
            Source::Sequence(p) => sequence_frames(p)?,
            Source::Video(v) => {
                let dir = settings.out.join(format!(".decode-{index:02}"));
                _scratch = Some(Scratch(dir.clone()));
                bar.set_message(format!("decoding {input}"));
                // Decode only what --limit and --every can use.
                let need = remaining.map(|r| (r - 1).saturating_mul(settings.every as u64).saturating_add(1));
                match decode_video(v, &dir, need) {
                    Ok(frames) => frames,
                    // Ctrl-C reaches ffmpeg too (same process group): its failure is the interruption.
                    Err(_) if stop.load(Ordering::Relaxed) => {
                        sum.interrupted = true;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        if frames.is_empty() {
            bar.println(format!("{input}: no frames found"));
            continue;
        }
        let taken: Vec<&(u64, PathBuf)> = frames.iter().step_by(settings.every).collect();
        let taken = &taken[..remaining.map_or(taken.len(), |r| taken.len().min(r as usize))];
        bar.inc_length(taken.len() as u64);
        for (frame_no, path) in taken {
            if stop.load(Ordering::Relaxed) {
                sum.interrupted = true;
                break;
            }
            let frame = load_frame(path)?;
            let mut faces = analyse(nets, &frame, settings.search).map_err(|e| format!("{}: {e}", path.display()))?;
            if on_gpu {
                let errors = device::take_gpu_errors();
                if !errors.is_empty() {
                    return Err(format!("the GPU failed on {}: {}", path.display(), errors.join("; ")));
                }
            }
            // Largest first: the face a shot is about is usually the biggest one in it.
            faces.sort_by(|a, b| b.detection.area().total_cmp(&a.detection.area()));
            sum.faces_skipped += faces.len().saturating_sub(settings.max_faces) as u64;
            faces.truncate(settings.max_faces);
            if faces.is_empty() {
                sum.frames_without_face += 1;
            }
            // A still or folder image is its own source; a sequence or video is named as given, plus frame.
            let record_source = match source {
                Source::Still(_) | Source::Folder(_) => path.display().to_string(),
                _ => input.clone(),
            };
            for (k, face) in faces.iter().enumerate() {
                let alignment = align(&face.landmarks, &template, settings.size);
                let rgb = warp_to_crop(&frame, &alignment);
                let mask = hull_mask_crop(&face.landmarks, &alignment);
                let landmarks = face
                    .landmarks
                    .iter()
                    .map(|l| {
                        let (x, y) = alignment.frame_to_crop.apply(l[0], l[1]);
                        [x, y]
                    })
                    .collect();
                let record = FaceRecord { source: record_source.clone(), frame: *frame_no, landmarks };
                // The first face keeps the plain stem, so a one-face-per-frame set reads source_frame.
                let stem = match k {
                    0 => format!("{index:02}_{frame_no:06}"),
                    _ => format!("{index:02}_{frame_no:06}_{k}"),
                };
                set.write(&stem, &rgb, mask.data(), &record).map_err(|e| format!("cannot write face {stem}: {e}"))?;
                sum.faces += 1;
            }
            sum.frames += 1;
            bar.set_message(format!("{} faces", sum.faces));
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(sum)
}

fn load_nets(settings: &Settings) -> Result<(FaceNets, bool), String> {
    let (device, on_gpu) = match settings.device {
        DeviceChoice::Cpu => (device::cpu(), false),
        DeviceChoice::Gpu => match device::gpu() {
            Ok(d) => (d, true),
            Err(e) => {
                eprintln!("faceswap extract: {e}; running on the CPU");
                (device::cpu(), false)
            }
        },
    };
    let nets = FaceNets::load(&settings.models, &device)
        .map_err(|e| format!("cannot load the face-analysis networks from {}: {e}", settings.models.display()))?;
    Ok((nets, on_gpu))
}

pub fn run(args: Args) -> Result<(), String> {
    let settings = Settings::from_args(args)?;
    let (nets, on_gpu) = load_nets(&settings)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C finishes the current frame, removes the decode scratch folder and still prints the summary. If a
    // handler cannot be installed, Ctrl-C simply kills the process as usual.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    let started = Instant::now();
    let sum = extract(&settings, &nets, on_gpu, &stop)?;
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 { sum.frames as f64 / secs } else { 0.0 };
    println!("{}", settings.out.display());
    println!("  identity             {}", settings.identity);
    println!("  frames read          {} ({rate:.2} frames/s, {secs:.1} s)", sum.frames);
    println!("  faces written        {}", sum.faces);
    println!("  frames with no face  {}", sum.frames_without_face);
    if sum.faces_skipped > 0 {
        println!("  faces not kept       {} (beyond --max-faces-per-frame {})", sum.faces_skipped, settings.max_faces);
    }
    if sum.interrupted {
        return Err("interrupted; the faces written so far are kept".into());
    }
    if sum.faces == 0 {
        return Err("no face was found in the footage (try a lower --threshold)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn settings(argv: &[&str]) -> Result<Settings, String> {
        let cli = Cli::try_parse_from(std::iter::once("extract").chain(argv.iter().copied())).map_err(|e| e.to_string())?;
        Settings::from_args(cli.args)
    }

    #[test]
    fn numeric_options_are_range_checked() {
        let still = faceswap_ofx::footage::require("astronaut.png");
        let still = still.to_str().unwrap_or_default();
        assert!(settings(&[still, "--out", "/tmp/x"]).is_ok());
        for bad in [["--size", "0"], ["--size", "4096"], ["--threshold", "0"], ["--threshold", "1.5"], ["--every", "0"],
            ["--max-faces-per-frame", "0"], ["--limit", "0"], ["--threshold", "NaN"], ["--smallest-face", "-1"], ["--smallest-face", "101"]]
        {
            let err = settings(&[still, "--out", "/tmp/x", bad[0], bad[1]]).err();
            assert!(err.is_some(), "{bad:?} was accepted");
        }
        assert!(settings(&["--out", "/tmp/x"]).is_err(), "no input");
        assert!(settings(&[still]).is_err(), "no --out");
        assert!(settings(&[still, "--out", "/tmp/x", "--device", "tpu"]).is_err());
    }

    #[test]
    fn identity_defaults_to_the_out_folder_name() {
        let still = faceswap_ofx::footage::require("astronaut.png");
        let still = still.to_str().unwrap_or_default();
        assert_eq!(settings(&[still, "--out", "/tmp/faces/s1/"]).unwrap().identity, "s1");
        assert_eq!(settings(&[still, "--out", "/tmp/x", "--identity", "anna"]).unwrap().identity, "anna");
        assert!(settings(&[still, "--out", "/tmp/x", "--identity", " "]).is_err());
        assert!(settings(&[still, "--out", "/"]).is_err(), "/ has no name");
    }

    #[test]
    fn an_existing_face_set_is_not_mixed_into() {
        let dir = tempfile::tempdir().unwrap();
        let still = faceswap_ofx::footage::require("astronaut.png");
        let still = still.to_str().unwrap_or_default();
        let out = dir.path().to_string_lossy().into_owned();
        std::fs::create_dir_all(dir.path().join("faces")).unwrap();
        std::fs::write(dir.path().join("faces/00_000000.png"), b"x").unwrap();
        assert!(prepare_out(&settings(&[still, "--out", &out]).unwrap()).unwrap_err().contains("--overwrite"));
        assert!(prepare_out(&settings(&[still, "--out", &out, "--overwrite"]).unwrap()).is_ok());
        assert!(!dir.path().join("faces").exists());
    }

    /// The real thing on a real face: one aligned crop, its mask and landmarks, read back as `train` will.
    #[test]
    fn astronaut_gives_one_aligned_face() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("collins");
        let still = faceswap_ofx::footage::require("astronaut.png");
        let s = settings(&[still.to_str().unwrap_or_default(), "--out", &out.to_string_lossy(), "--size", "128"]).unwrap();
        let (nets, on_gpu) = load_nets(&s).unwrap();
        let sum = extract(&s, &nets, on_gpu, &AtomicBool::new(false)).unwrap();
        assert_eq!(sum, Summary { frames: 1, faces: 1, ..Summary::default() });

        let set = FaceSet::open(&out).unwrap();
        assert_eq!((set.info.identity.as_str(), set.info.size), ("collins", 128));
        assert_eq!(set.items, ["00_000000"]);
        let face = set.load(0, 128).unwrap();
        // The template's hull covers about 30% of the crop (align.rs); 20-70% brackets any real face.
        let coverage = face.mask.iter().sum::<f32>() / (128.0 * 128.0);
        assert!((0.2..0.7).contains(&coverage), "mask covers {coverage} of the crop");
        // The crop centre lies on the face, the corners mostly off it.
        assert!(face.mask[64 * 128 + 64] > 0.99 && face.mask[0] == 0.0);

        let text = std::fs::read_to_string(out.join("landmarks/00_000000.json")).unwrap();
        let record: FaceRecord = serde_json::from_str(&text).unwrap();
        assert_eq!((record.landmarks.len(), record.frame), (468, 0));
        // Landmarks in crop pixels: the eye corners land near the template's eye points.
        let t = FaceTemplate::default();
        let eye = [(record.landmarks[33][0] + record.landmarks[133][0]) / 2.0, (record.landmarks[33][1] + record.landmarks[133][1]) / 2.0];
        assert!((eye[0] - t.points[0][0] * 128.0).abs() < 6.0 && (eye[1] - t.points[0][1] * 128.0).abs() < 6.0, "{eye:?}");
    }
}
