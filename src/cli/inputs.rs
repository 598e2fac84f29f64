//! Footage inputs shared by `extract` and `apply`: stills, folders of images, printf-style sequences and
//! videos (decoded with ffmpeg into a scratch folder of PNG frames).
//!
//! Frame numbers: the number in the file name for sequences, ffmpeg's (from 1, as `faceswap demo` and
//! compositors number a decoded clip) for videos, the position in name order (from 0) in a folder, 0 for a
//! single still.

use faceswap_ofx::model::pretrained::{repo_models_dir, BLAZEFACE_FILE, FACEMESH_FILE};
use faceswap_ofx::pipeline::frame::Frame;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const STILL_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];
pub const VIDEO_EXTENSIONS: &[&str] =
    &["mpg", "mpeg", "mp4", "m4v", "mov", "mkv", "avi", "webm", "mxf", "mts", "m2ts", "ts", "wmv", "flv", "ogv", "y4m"];

/// A printf-style or `#` sequence: `dir/prefix{frame:0width}suffix`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    pub dir: PathBuf,
    pub prefix: String,
    pub width: usize,
    pub suffix: String,
}

impl Pattern {
    pub fn file_name(&self, frame: u64) -> String {
        format!("{}{frame:0width$}{}", self.prefix, self.suffix, width = self.width)
    }
}

/// One input, classified before any work.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Still(PathBuf),
    Folder(PathBuf),
    Sequence(Pattern),
    Video(PathBuf),
}

pub fn extension(path: &Path) -> String {
    path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default()
}

/// Sorts an input into a still, folder, sequence or video; errors name the input and say what would work.
pub fn classify(input: &str) -> Result<Source, String> {
    // Sequences and folders are listed now, so a typo fails before any work instead of extracting nothing.
    if let Some(pattern) = parse_pattern(input)? {
        if sequence_frames(&pattern)?.is_empty() {
            return Err(format!("{input}: no file in {} matches the sequence pattern", pattern.dir.display()));
        }
        return Ok(Source::Sequence(pattern));
    }
    let path = PathBuf::from(input);
    if path.is_dir() {
        if folder_frames(&path)?.is_empty() {
            return Err(format!("{input}: the folder holds no png/jpg images"));
        }
        return Ok(Source::Folder(path));
    }
    if !path.is_file() {
        return Err(format!("{input}: no such file or folder"));
    }
    let ext = extension(&path);
    if STILL_EXTENSIONS.contains(&ext.as_str()) {
        Ok(Source::Still(path))
    } else if VIDEO_EXTENSIONS.contains(&ext.as_str()) {
        Ok(Source::Video(path))
    } else {
        Err(format!(
            "{input}: unsupported file type; give png/jpg images, a sequence pattern, a folder or a video ({})",
            VIDEO_EXTENSIONS.join("/")
        ))
    }
}

/// `Some` when the file name holds one frame placeholder (`%d`, `%05d` or a run of `#`). A `%` or `#` in a
/// folder name is taken literally: sequences number files, not folders.
pub fn parse_pattern(input: &str) -> Result<Option<Pattern>, String> {
    let path = Path::new(input);
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return Ok(None) };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut found: Vec<(usize, usize, usize)> = Vec::new(); // (start, end, width)
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if bytes.get(i + 1 + digits) == Some(&b'd') {
                let spec = &name[i + 1..i + 1 + digits];
                // `%5d` pads with spaces, which no frame file holds; only zero padding or none makes sense.
                if !spec.is_empty() && !spec.starts_with('0') {
                    return Err(format!("{input}: use %0{spec}d (zero-padded) or %d for a sequence"));
                }
                let width = spec.parse::<usize>().unwrap_or(0);
                found.push((i, i + 2 + digits, width));
                i += 2 + digits;
                continue;
            }
        } else if bytes[i] == b'#' {
            let run = bytes[i..].iter().take_while(|&&b| b == b'#').count();
            found.push((i, i + run, run));
            i += run;
            continue;
        }
        i += 1;
    }
    match found.as_slice() {
        [] => Ok(None),
        [(start, end, width)] => {
            Ok(Some(Pattern { dir, prefix: name[..*start].to_owned(), width: *width, suffix: name[*end..].to_owned() }))
        }
        _ => Err(format!("{input}: more than one frame placeholder in the file name")),
    }
}

/// The frames of a sequence on disk, by frame number. A file counts only when the pattern writes exactly its
/// name for its number, so `%05d` does not pick up `img1.png` or `img000001.png`.
pub fn sequence_frames(pattern: &Pattern) -> Result<Vec<(u64, PathBuf)>, String> {
    let entries =
        std::fs::read_dir(&pattern.dir).map_err(|e| format!("cannot list the sequence folder {}: {e}", pattern.dir.display()))?;
    let mut frames: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let digits = name.strip_prefix(&pattern.prefix)?.strip_suffix(&pattern.suffix)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n = digits.parse::<u64>().ok()?;
            (pattern.file_name(n) == name).then(|| (n, e.path()))
        })
        .collect();
    frames.sort();
    Ok(frames)
}

/// The still images of a folder in name order, numbered from 0.
pub fn folder_frames(dir: &Path) -> Result<Vec<(u64, PathBuf)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && STILL_EXTENSIONS.contains(&extension(p).as_str()))
        .collect();
    files.sort();
    Ok(files.into_iter().enumerate().map(|(i, p)| (i as u64, p)).collect())
}

/// A scratch folder that is removed when dropped, so an error or Ctrl-C mid-source leaves nothing behind.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a folder we cannot remove is only wasted space, never a wrong result.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn ffmpeg_missing() -> String {
    "ffmpeg is not installed (or not on PATH); videos are decoded with it. \
     Install it (Debian/Ubuntu: apt install ffmpeg) or decode to an image sequence first"
        .to_owned()
}

/// Fails early when ffmpeg cannot run, before any output folder is created.
pub fn check_ffmpeg() -> Result<(), String> {
    match Command::new("ffmpeg").args(["-hide_banner", "-version"]).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!("ffmpeg is on PATH but does not run ({})", out.status)),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(ffmpeg_missing()),
        Err(e) => Err(format!("cannot run ffmpeg: {e}")),
    }
}

/// The folder of the face-analysis weights for `--models` (`given`), checked before any work: the default is
/// the `models/` folder of the source tree this binary was built from, which a copied binary no longer has.
pub fn face_weights(given: Option<PathBuf>) -> Result<PathBuf, String> {
    weights_folder(given, repo_models_dir())
}

fn weights_folder(given: Option<PathBuf>, default: PathBuf) -> Result<PathBuf, String> {
    let by_flag = given.is_some();
    let dir = given.unwrap_or(default);
    if [BLAZEFACE_FILE, FACEMESH_FILE].iter().all(|f| dir.join(f).is_file()) {
        return Ok(dir);
    }
    let needs = format!("{BLAZEFACE_FILE} and {FACEMESH_FILE}");
    Err(match by_flag {
        true if !dir.is_dir() => format!("--models {}: no such folder", dir.display()),
        true => format!("--models {}: the face-analysis weights ({needs}) are not there", dir.display()),
        false => format!(
            "no face-analysis weights in {}, the models/ folder of the source tree this binary was built from: \
             pass --models with a folder holding {needs} (a plug-in bundle's Contents/Resources/models has them)",
            dir.display()
        ),
    })
}

/// Decodes a video into `scratch/%06d.png` (numbered from 1), at most `max_frames` frames.
pub fn decode_video(video: &Path, scratch: &Path, max_frames: Option<u64>) -> Result<Vec<(u64, PathBuf)>, String> {
    if scratch.exists() {
        // Left by an earlier run that was killed before it could clean up.
        std::fs::remove_dir_all(scratch).map_err(|e| format!("cannot clear {}: {e}", scratch.display()))?;
    }
    std::fs::create_dir_all(scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let mut cmd = Command::new("ffmpeg");
    // -nostdin: ffmpeg would otherwise read keys from our terminal. passthrough (the new spelling of
    // `-vsync 0`): every decoded frame becomes exactly one file, none dropped or duplicated.
    cmd.args(["-hide_banner", "-v", "error", "-nostdin", "-i"]).arg(video).args(["-fps_mode", "passthrough"]);
    if let Some(n) = max_frames {
        cmd.args(["-frames:v", &n.to_string()]);
    }
    let status = cmd.args(["-start_number", "1"]).arg(scratch.join("%06d.png")).status().map_err(|e| match e.kind() {
        ErrorKind::NotFound => ffmpeg_missing(),
        _ => format!("cannot run ffmpeg: {e}"),
    })?;
    if !status.success() {
        return Err(format!("ffmpeg could not decode {} ({status})", video.display()));
    }
    let frames = sequence_frames(&Pattern { dir: scratch.to_owned(), prefix: String::new(), width: 6, suffix: ".png".into() })?;
    if frames.is_empty() {
        return Err(format!("ffmpeg decoded no frames from {}", video.display()));
    }
    Ok(frames)
}

pub fn load_frame(path: &Path) -> Result<Frame, String> {
    let img = image::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?.to_rgba32f();
    let (w, h) = (img.width() as usize, img.height() as usize);
    Frame::from_rgba(w, h, img.into_raw()).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weights' folder is checked before any work, and each way it can be wrong names what to do.
    #[test]
    fn the_face_weights_folder_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let (empty, missing, full) = (dir.path().join("empty"), dir.path().join("missing"), dir.path().join("full"));
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::create_dir_all(&full).unwrap();
        for f in [BLAZEFACE_FILE, FACEMESH_FILE] {
            std::fs::write(full.join(f), b"checked for presence only; the loader reports bad contents").unwrap();
        }
        assert_eq!(face_weights(None), Ok(repo_models_dir()), "this source tree has them");
        assert_eq!(weights_folder(None, full.clone()), Ok(full.clone()));
        assert_eq!(weights_folder(Some(full.clone()), empty.clone()), Ok(full), "--models wins over the default");
        let e = weights_folder(None, missing.clone()).unwrap_err();
        assert!(e.contains("built from") && e.contains("pass --models") && e.contains(BLAZEFACE_FILE), "{e}");
        let e = weights_folder(Some(missing), empty.clone()).unwrap_err();
        assert!(e.contains("no such folder"), "{e}");
        let e = weights_folder(Some(empty), repo_models_dir()).unwrap_err();
        assert!(e.contains("are not there") && e.contains(FACEMESH_FILE), "{e}");
    }

    #[test]
    fn inputs_are_classified() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in ["a.png", "b.JPG", "clip.mp4", "notes.txt"] {
            std::fs::write(d.join(name), b"x").unwrap();
        }
        let s = |n: &str| d.join(n).to_string_lossy().into_owned();
        assert_eq!(classify(&s("a.png")), Ok(Source::Still(d.join("a.png"))));
        assert_eq!(classify(&s("b.JPG")), Ok(Source::Still(d.join("b.JPG"))));
        assert_eq!(classify(&s("clip.mp4")), Ok(Source::Video(d.join("clip.mp4"))));
        assert_eq!(classify(&d.to_string_lossy()), Ok(Source::Folder(d.to_owned())));
        assert!(classify(&s("notes.txt")).unwrap_err().contains("unsupported"));
        assert!(classify(&s("missing.png")).unwrap_err().contains("no such file"));
        std::fs::create_dir(d.join("f")).unwrap();
        assert!(classify(&s("f")).unwrap_err().contains("no png/jpg"));
        assert!(classify(&s("f/%04d.png")).unwrap_err().contains("matches"));
        assert!(classify(&s("nowhere/%04d.png")).unwrap_err().contains("cannot list"));
        std::fs::write(d.join("f/0007.png"), b"x").unwrap();
        assert!(matches!(classify(&s("f/%04d.png")), Ok(Source::Sequence(_))));
    }

    #[test]
    fn sequence_patterns_parse_and_list_exactly_their_frames() {
        let p = parse_pattern("plates/shot_%05d.png").unwrap().unwrap();
        assert_eq!(p, Pattern { dir: "plates".into(), prefix: "shot_".into(), width: 5, suffix: ".png".into() });
        assert_eq!(parse_pattern("%d.jpg").unwrap().unwrap().width, 0);
        assert_eq!(parse_pattern("f.####.png").unwrap().unwrap().width, 4);
        assert_eq!(parse_pattern("50%.png").unwrap(), None, "a bare % is part of the name");
        assert!(parse_pattern("%5d.png").is_err(), "space padding");
        assert!(parse_pattern("%04d_%04d.png").is_err(), "two placeholders");

        let dir = tempfile::tempdir().unwrap();
        for name in ["0001.png", "0002.png", "0010.png", "12345.png", "001.png", "x0003.png", "0004.jpg"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let pattern = parse_pattern(&dir.path().join("%04d.png").to_string_lossy()).unwrap().unwrap();
        let frames: Vec<u64> = sequence_frames(&pattern).unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(frames, [1, 2, 10, 12345]);
        let folder: Vec<u64> = folder_frames(dir.path()).unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(folder, [0, 1, 2, 3, 4, 5, 6], "every png/jpg, numbered by position");
    }
}
