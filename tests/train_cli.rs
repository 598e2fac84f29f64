//! `faceswap train` as a process: extracted from real footage, trained, stopped the way a render-farm scheduler
//! cancels a job (SIGTERM), and resumed from the checkpoint that stop saved.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{faceswap, s};

/// Iterations recorded in a model file's header.
fn iterations(model: &Path) -> u64 {
    let info = faceswap(&["info", s(model), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&info).unwrap_or_else(|e| panic!("info --json: {e}\n{info}"));
    v["training"]["iterations"].as_u64().unwrap_or_else(|| panic!("no iteration count in {info}"))
}

#[test]
fn sigterm_saves_the_run_and_resume_goes_on_from_it() {
    let frames = support::decoded_frames("tears_of_steel/clip_01_tears_of_steel.mp4");
    let dir = tempfile::tempdir().unwrap();
    let (sci, other) = (dir.path().join("scientist"), dir.path().join("astronaut"));
    faceswap(&["extract", s(&frames.join("00095.png")), s(&frames.join("00140.png")), "--out", s(&sci), "--size", "64"]);
    let astronaut = faceswap_ofx::footage::require("astronaut.png");
    faceswap(&["extract", s(&astronaut), "--out", s(&other), "--size", "64"]);
    let model = dir.path().join("m.safetensors");
    // A tiny network (32 px) so that steps take milliseconds; no checkpoints or previews until the end, so any
    // saved iteration count comes from the stop. Both borrowings on, to run them in the real binary too.
    let train = [
        "train", "--set", s(&sci), "--set", s(&other), "--out", s(&model), "--resolution", "32", "--encoder-channels", "4",
        "--decoder-channels", "4", "--bottleneck", "8", "--batch", "2", "--iterations", "100000000", "--save-every", "0",
        "--preview-every", "0", "--device", "cpu", "--pose-borrowing", "0.5", "--colour-borrowing", "0.5",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_faceswap")).args(train).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // The previews folder is made just before the signal handler is installed; then give the run time for
    // some steps (a step of this network takes milliseconds; 3 s leaves room for a loaded CI machine).
    let previews = dir.path().join("m.safetensors.previews");
    let t0 = Instant::now();
    while !previews.is_dir() {
        assert!(t0.elapsed() < Duration::from_secs(120), "the run never started");
        assert!(child.try_wait().unwrap().is_none(), "the run ended early: {:?}", child.wait_with_output());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill (procps; scripts/setup.sh installs it)");
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "SIGTERM must end the run cleanly: {:?}\n{text}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("stopped by a signal"), "{text}");
    let stopped_at = iterations(&model);
    assert!(stopped_at > 0, "the stop saved no progress");
    assert!(dir.path().join("m.safetensors.adam").is_file(), "Adam's state is saved with the stop");
    // Resume to a few more iterations: it continues from the saved count with the saved optimizer state.
    let target = (stopped_at + 3).to_string();
    let mut again: Vec<&str> = train.to_vec();
    let at = again.iter().position(|a| *a == "100000000").unwrap();
    again[at] = &target;
    again.push("--resume");
    let resumed = faceswap(&again);
    assert!(!resumed.contains("Adam restarts"), "the stop's optimizer state must be used: {resumed}");
    assert_eq!(iterations(&model), stopped_at + 3);
}
