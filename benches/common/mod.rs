//! What the benches share: the test frame and criterion settings sized for a 2-core machine.

// Each bench target compiles this module on its own and uses part of it.
#![allow(dead_code)]

use criterion::Criterion;
use faceswap_ofx::pipeline::frame::Frame;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Side of the benchmark frame: a 1080p plate.
pub const FRAME_W: u32 = 1920;
pub const FRAME_H: u32 = 1080;

/// Frame 100 of the Tears of Steel excerpt (numbered from 1, as ffmpeg's image muxer and `faceswap demo`
/// number it): the scientist, one face, frontal.
const FRAME: usize = 100;

/// Criterion settings for slow, whole-network benches: 10 samples, a short warm-up and measurement, so the
/// suite finishes in minutes on 2 cores. Criterion stretches the measurement time when one iteration is longer
/// than it allows (it prints a warning saying so); that is expected here.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .without_plots()
        .configure_from_args()
}

/// `frame` made again as the node makes the frame of a host's float RGBA image each render: converted row by
/// row into a fresh frame, each row hashed as it is written (`Frame::from_rows`; the hash keys the analysis
/// cache). Benches that time a render start from this, so the frame's hash is paid every time, as in a host.
pub fn ingest(frame: &Frame) -> Frame {
    Frame::from_rows(frame.width(), frame.height(), |y, row| {
        row.copy_from_slice(frame.row(y));
        Ok::<_, std::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
}

/// The 640×360 Tears of Steel frame scaled to 1920×1080 (Catmull-Rom), as straight RGBA floats in [0, 1].
/// ffmpeg decodes the frame into a temporary folder.
pub fn tears_of_steel_1080p() -> Frame {
    tears_of_steel_at(FRAME_W, FRAME_H)
}

/// The same frame scaled to `w × h`.
pub fn tears_of_steel_at(w: u32, h: u32) -> Frame {
    tears_of_steel_frame(FRAME, w as usize, h as usize)
}

/// Frame `number` (from 1) of the excerpt scaled to `w × h` (Catmull-Rom).
pub fn tears_of_steel_frame(number: usize, w: usize, h: usize) -> Frame {
    let (w, h) = (w as u32, h as u32);
    let clip = faceswap_ofx::footage::require("tears_of_steel/clip_01_tears_of_steel.mp4");
    let dir = tempfile::tempdir().expect("temporary folder");
    let png = dir.path().join("frame.png");
    decode_frame(&clip, number, &png);
    let small = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display())).to_rgba32f();
    let big = image::imageops::resize(&small, w, h, image::imageops::FilterType::CatmullRom);
    Frame::from_rgba(w as usize, h as usize, big.into_raw()).expect("frame size")
}

/// Writes frame `number` (from 1) of `clip` to `out` with ffmpeg.
fn decode_frame(clip: &Path, number: usize, out: &Path) {
    let select = format!("select=eq(n\\,{})", number - 1);
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(clip)
        .args(["-vf", &select, "-frames:v", "1"])
        .arg(out)
        .status()
        .expect("ffmpeg must be installed to build the benchmark frame (apt install ffmpeg)");
    assert!(status.success() && out.exists(), "ffmpeg could not decode frame {number} of {}", clip.display());
}
