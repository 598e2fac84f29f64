//! `faceswap apply` gives the node's frames bit for bit: the same Tears of Steel frames, the same parameters,
//! once through the plug-in (`faceswap render` with the headless host, as a farm would) and once with
//! `faceswap apply`, with the shipped default model. Both write PNG files; the decoded pixels of every output
//! frame and every mask frame must be equal.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{faceswap, s};

const CLIP: &str = "tears_of_steel/clip_01_tears_of_steel.mp4";

fn default_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/default.safetensors")
}

/// Decoded pixels and their layout; None when the file does not exist.
fn pixels(path: &Path) -> Option<(image::ColorType, u32, u32, Vec<u8>)> {
    if !path.exists() {
        return None;
    }
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some((img.color(), img.width(), img.height(), img.as_bytes().to_vec()))
}

/// Compares the output and mask files of frames `frames` in two render folders; returns, per frame, how many
/// mask pixels are non-zero (None where neither wrote a mask).
fn compare(node: &Path, apply: &Path, frames: std::ops::RangeInclusive<u32>) -> Vec<Option<usize>> {
    frames
        .map(|n| {
            let name = format!("{n:05}.png");
            let (a, b) = (pixels(&node.join(&name)), pixels(&apply.join(&name)));
            assert!(a.is_some(), "the node wrote no frame {n}");
            assert!(a == b, "frame {n}: apply's output differs from the node's");
            let (ma, mb) = (pixels(&node.join("FaceMask").join(&name)), pixels(&apply.join("FaceMask").join(&name)));
            assert!(ma == mb, "frame {n}: apply's mask differs from the node's (or only one wrote it)");
            ma.map(|(colour, _, _, bytes)| {
                assert_eq!(colour, image::ColorType::L16, "masks are 16-bit grey");
                bytes.chunks_exact(2).filter(|v| v[0] != 0 || v[1] != 0).count()
            })
        })
        .collect()
}

/// An image sequence at 8 bits with the node's defaults (temporal smoothing over ±2 frames reads neighbours)
/// and a keyframed blend: frame 69 is identity (blend 0: the source copied, no mask), 70 a half mix.
#[test]
fn apply_on_a_sequence_matches_the_node_bit_for_bit() {
    let frames = support::decoded_frames(CLIP);
    let pattern = frames.join("%05d.png");
    let model = default_model();
    let tmp = tempfile::tempdir().unwrap();
    let (node, apply) = (tmp.path().join("node"), tmp.path().join("apply"));
    let model_param = format!("model=\"{}\"", model.display());
    faceswap(&[
        "render", "--bundle", s(support::bundle_path()), "--input", s(&pattern), "--frames", "69-72", "--out", s(&node),
        "--planes", "--param", &model_param, "--param", "blend=69:0,71:1@linear",
    ]);
    let log = faceswap(&["apply", s(&pattern), "--frames", "69-72", "--model", s(&model), "--out", s(&apply), "--blend", "69:0,71:1@linear"]);
    let masks = compare(&node, &apply, 69..=72);
    assert_eq!(masks[0], None, "blend 0 at frame 69: identity, no mask\n{log}");
    assert!(masks[1..].iter().all(|m| m.is_some_and(|c| c > 3_000)), "frames 70-72 swap the face: {masks:?}");
    let source = pixels(&frames.join("00071.png")).unwrap();
    assert!(pixels(&apply.join("00071.png")).unwrap() != source, "frame 71 must change");
}

/// The video file itself (apply decodes it with ffmpeg) at 16 bits, with every other parameter off its
/// default: the other identity by name, Swapped Face Only (RGBA out), Mean/Std colour transfer, a grown and
/// softer mask, all faces, another threshold, a ±1 smoothing window, Smallest Face at 20% (one tile) and the
/// landmark hull as the mask.
#[test]
fn apply_on_the_video_at_16_bits_with_other_parameters_matches_the_node() {
    let frames = support::decoded_frames(CLIP);
    let pattern = frames.join("%05d.png");
    let model = default_model();
    let clip = faceswap_ofx::footage::require(CLIP);
    let tmp = tempfile::tempdir().unwrap();
    let (node, apply) = (tmp.path().join("node"), tmp.path().join("apply"));
    let model_param = format!("model=\"{}\"", model.display());
    faceswap(&[
        "render", "--bundle", s(support::bundle_path()), "--input", s(&pattern), "--frames", "120-121", "--out", s(&node),
        "--planes", "--depth", "16", "--param", &model_param, "--param", "identity=scientist", "--param", "output=Swapped Face Only",
        "--param", "colourTransfer=Mean/Std (RGB)", "--param", "maskErode=-3", "--param", "maskFeather=4",
        "--param", "faceSelection=All Faces", "--param", "detectionThreshold=0.6", "--param", "temporalSmoothing=1",
        "--param", "smallestFace=20", "--param", "maskSource=Landmark Hull",
    ]);
    faceswap(&[
        "apply", s(&clip), "--frames", "120-121", "--model", s(&model), "--out", s(&apply), "--depth", "16",
        "--identity", "scientist", "--output", "swapped-face", "--colour-transfer", "mean-std", "--mask-erode", "-3",
        "--mask-feather", "4", "--faces", "all", "--threshold", "0.6", "--temporal-smoothing", "1",
        "--smallest-face", "20", "--mask-source", "hull",
    ]);
    let masks = compare(&node, &apply, 120..=121);
    assert!(masks.iter().all(|m| m.is_some_and(|c| c > 3_000)), "both frames swap the face: {masks:?}");
    let (colour, ..) = pixels(&apply.join("00120.png")).unwrap();
    assert_eq!(colour, image::ColorType::Rgba16, "Swapped Face Only carries the mask in alpha, at 16 bits");
    assert!(!apply.join(".decode").exists(), "the decoded frames are removed");
}

#[test]
fn apply_says_what_is_wrong_before_rendering() {
    let model = default_model();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let still = faceswap_ofx::footage::require("astronaut.png");
    let fail = |args: &[&str], expected: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_faceswap")).args(args).output().expect("run faceswap");
        let text = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success() && text.contains(expected), "{args:?}: expected {expected:?} in {text:?}");
    };
    let base = ["apply", s(&still), "--model", s(&model), "--out", s(&out)];
    fail(&[&base[..], &["--identity", "nobody"]].concat(), "the model has s1, scientist");
    fail(&[&base[..], &["--blend", "2"]].concat(), "outside the node's range");
    fail(&[&base[..], &["--output", "sideways"]].concat(), "composite, swappedFace, maskOnly");
    fail(&[&base[..], &["--frames", "1-2"]].concat(), "--frames applies to sequences and videos");
    fail(&["apply", s(&still), "--model", s(&tmp.path().join("none.safetensors")), "--out", s(&out)], "--model");
    fail(&["apply", s(&still), "--out", s(&out)], "--model is required (only --output analysis");
    // A video without ffmpeg on PATH: a clear message, not a crash.
    let clip = faceswap_ofx::footage::require(CLIP);
    let o = Command::new(env!("CARGO_BIN_EXE_faceswap"))
        .args(["apply", s(&clip), "--model", s(&model), "--out", s(&out)])
        .env("PATH", "")
        .output()
        .expect("run faceswap");
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && text.contains("ffmpeg is not installed"), "{text}");
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none(), "nothing written on errors");
}

/// Face Analysis through the node needs no model (the node must not answer isIdentity without one), nor does
/// `apply`'s, and with the default model loaded `apply` draws the same pixels: the crop's square comes from
/// the face template, which the default model stores unchanged. Frame 125 has a second, rejected detection
/// (the back of a head), drawn in red.
#[test]
fn face_analysis_output_without_a_model_matches_apply() {
    let frames = support::decoded_frames(CLIP);
    let pattern = frames.join("%05d.png");
    let tmp = tempfile::tempdir().unwrap();
    let (node, apply) = (tmp.path().join("node"), tmp.path().join("apply"));
    faceswap(&[
        "render", "--bundle", s(support::bundle_path()), "--input", s(&pattern), "--frames", "124-125", "--out", s(&node),
        "--planes", "--param", "output=Face Analysis",
    ]);
    let log = faceswap(&["apply", s(&pattern), "--frames", "124-125", "--model", s(&default_model()), "--out", s(&apply), "--output", "analysis"]);
    assert!(log.contains("frames with a face   2"), "{log}");
    let masks = compare(&node, &apply, 124..=125);
    assert!(masks.iter().all(|m| *m == Some(0)), "no mask in Face Analysis: {masks:?}");
    let (drawn, source) = (pixels(&node.join("00125.png")).unwrap(), pixels(&frames.join("00125.png")).unwrap());
    let red = drawn.3.chunks_exact(3).filter(|p| p[0] == 255 && p[1] == 64 && p[2] == 64).count();
    assert!(red > 100, "the rejected detection's red box: {red} pixels");
    assert!(drawn.3.chunks_exact(3).zip(source.3.chunks_exact(3)).filter(|(a, b)| a != b).count() < 640 * 360 / 20);
    let bare = tmp.path().join("apply_without_model");
    let log = faceswap(&["apply", s(&pattern), "--frames", "124-125", "--out", s(&bare), "--output", "analysis"]);
    assert!(log.contains("frames with a face   2"), "{log}");
    compare(&node, &bare, 124..=125);
}
