//! The node on real footage with the shipped default model, through the headless host: Tears of Steel
//! (640x360, frames numbered from 1 as ffmpeg numbers them; the scientist's face is in frames 69-157, the robot
//! with no person in frames 1-15). Checks what the node promises whatever the model's quality: where the mask
//! is, that nothing outside it changes, blend 0 and keyed blends, and that frames do not depend on render order
//! or on which instance renders them.

mod support;

use ofx_host::{Components, Depth, FrameProvider, HostImage, ImageSequence, Instance, Interpolation, RenderRequest, RenderResult, Value};
use std::path::PathBuf;

const CLIP: &str = "tears_of_steel/clip_01_tears_of_steel.mp4";

fn default_model() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/default.safetensors").display().to_string()
}

/// The excerpt as a host's Read node serves it: frame N at time N, frames 1-240.
fn clip() -> ImageSequence {
    let pattern = support::decoded_frames(CLIP).join("%05d.png");
    ImageSequence::pattern(&pattern.to_string_lossy(), 1, 240).expect("sequence")
}

fn node<'b>(bundle: &'b ofx_host::Bundle) -> Instance<'b> {
    let inst = bundle.create_instance(ofx_host::Context::Filter).expect("instance");
    inst.set_param("model", Value::String(default_model())).expect("model");
    inst
}

fn render(inst: &mut Instance<'_>, time: f64, source: &dyn FrameProvider) -> RenderResult {
    let result = inst.render(&RenderRequest::new(time, source)).expect("render");
    assert!(result.ok(), "frame {time}: status {} {:?}", result.status, result.messages);
    result
}

/// The source frame as float RGBA, in the host's row order (what a float RGBA render returns).
fn source_rgba(source: &dyn FrameProvider, time: f64) -> Vec<f32> {
    let img: HostImage = source.frame(time).expect("source frame");
    img.convert(Components::Rgba, Depth::F32).to_f32()
}

fn mask(result: &RenderResult) -> Vec<f32> {
    result.plane("FaceMask").expect("FaceMask plane").to_f32()
}

#[test]
fn the_mask_is_on_the_face_and_nothing_outside_it_changes() {
    let bundle = support::load();
    let seq = clip();
    let mut inst = node(&bundle);
    // Smoothing off here: this test is about the mask and the plate, not about neighbours.
    inst.set_param("temporalSmoothing", Value::Int(0)).unwrap();
    for frame in [3.0, 10.0] {
        let out = render(&mut inst, frame, &seq);
        assert!(out.identity.is_none(), "with a model and blend 1 the node renders");
        assert!(mask(&out).iter().all(|&m| m == 0.0), "robot frame {frame}: the mask must be empty");
        assert_eq!(out.output.to_f32(), source_rgba(&seq, frame), "robot frame {frame}: the plate passes through");
    }
    for frame in [75.0, 110.0, 150.0] {
        let out = render(&mut inst, frame, &seq);
        let (m, o, s) = (mask(&out), out.output.to_f32(), source_rgba(&seq, frame));
        let covered = m.iter().filter(|&&v| v > 0.0).count();
        // The scientist's face is 130-156 px across: its mask covers thousands of pixels, and far less than
        // the 230,400-pixel frame.
        assert!((3_000..40_000).contains(&covered), "frame {frame}: mask covers {covered} px");
        let mut changed = 0;
        for (i, &mv) in m.iter().enumerate() {
            let (px, sx) = (&o[i * 4..i * 4 + 4], &s[i * 4..i * 4 + 4]);
            if mv == 0.0 {
                assert_eq!(px, sx, "frame {frame}: pixel {i} outside the mask changed");
            } else if px != sx {
                changed += 1;
            }
        }
        assert!(changed > covered / 2, "frame {frame}: only {changed} of {covered} masked pixels changed");
    }
}

#[test]
fn blend_zero_is_the_plate_exactly_and_the_node_says_identity() {
    let bundle = support::load();
    let seq = clip();
    let mut inst = node(&bundle);
    inst.set_param("blend", Value::Double(0.0)).unwrap();
    for depth in [Depth::F32, Depth::U8] {
        let mut req = RenderRequest::new(100.0, &seq);
        req.output_depth = depth;
        req.output_components = Components::Rgb;
        let identity = inst.get_is_identity(&req).unwrap().expect("isIdentity at blend 0");
        assert_eq!((identity.clip.as_str(), identity.time), ("Source", 100.0));
        let out = inst.render(&req).unwrap();
        let plate = seq.frame(100.0).unwrap().convert(Components::Rgb, depth);
        assert_eq!(out.output, plate, "{depth:?}: blend 0 must give the plate exactly");
        assert!(out.planes.is_empty(), "an identity frame renders no plane");
    }
    // Blend 1 on the same frame is not identity and changes the face: the check above is not vacuous.
    inst.set_param("blend", Value::Double(1.0)).unwrap();
    assert!(inst.get_is_identity(&RenderRequest::new(100.0, &seq)).unwrap().is_none());
    assert_ne!(render(&mut inst, 100.0, &seq).output.to_f32(), source_rgba(&seq, 100.0));
}

#[test]
fn blend_keyed_0_at_frame_0_and_1_at_frame_10_gives_the_half_mix_at_frame_5() {
    let bundle = support::load();
    let seq = clip();
    // A shot that starts on the scientist: the excerpt's frames 95-105 as frames 0-10 (a Read node with a
    // frame offset), so frame 5 has a face to mix.
    let shot = |t: f64| seq.frame(t + 95.0);
    let mut inst = node(&bundle);
    inst.set_keys("blend", &[(0.0, Value::Double(0.0)), (10.0, Value::Double(1.0))], Interpolation::Linear).unwrap();
    assert!(inst.get_is_identity(&RenderRequest::new(0.0, &shot)).unwrap().is_some(), "blend 0 at frame 0");
    let half = render(&mut inst, 5.0, &shot);
    let mut full_node = node(&bundle);
    let full = render(&mut full_node, 5.0, &shot);
    assert_eq!(mask(&half), mask(&full), "the mask does not depend on blend");
    assert!(mask(&full).iter().filter(|&&m| m > 0.0).count() > 3_000, "frame 5 has a face");
    let (h, f, s) = (half.output.to_f32(), full.output.to_f32(), source_rgba(&shot, 5.0));
    let mut mixed = 0;
    for i in (0..s.len()).filter(|i| i % 4 != 3) {
        let expected = s[i] + (f[i] - s[i]) * 0.5;
        // The node computes src + (swap − src)·(mask·0.5); the expectation goes through the blend-1 result:
        // the same value up to float rounding (a few ulps of values in 0..1).
        assert!((h[i] - expected).abs() < 1e-6, "value {i}: {} vs {expected}", h[i]);
        mixed += usize::from(f[i] != s[i]);
    }
    assert!(mixed > 3_000, "the full swap changed only {mixed} values");
    // At frame 10 the key is 1: the full swap.
    assert_eq!(render(&mut inst, 10.0, &shot).output, render(&mut full_node, 10.0, &shot).output);
}

#[test]
fn a_frame_rendered_twice_and_a_shot_split_across_two_instances_are_bit_identical() {
    let bundle = support::load();
    let seq = clip();
    // Default Temporal Smoothing (2): every frame also reads its neighbours, which must not make a frame
    // depend on what was rendered before it.
    let frames = [100.0, 101.0, 102.0, 103.0];
    let mut whole = node(&bundle);
    let one: Vec<(Vec<f32>, Vec<f32>)> = frames.iter().map(|&t| {
        let r = render(&mut whole, t, &seq);
        (r.output.to_f32(), mask(&r))
    }).collect();
    let again = render(&mut whole, 101.0, &seq);
    assert_eq!((again.output.to_f32(), mask(&again)), one[1], "frame 101 rendered twice");
    // Two farm nodes: the second half first, on a fresh instance each.
    let mut split = Vec::new();
    for part in [&frames[2..], &frames[..2]] {
        let mut inst = node(&bundle);
        split.push(part.iter().map(|&t| {
            let r = render(&mut inst, t, &seq);
            (r.output.to_f32(), mask(&r))
        }).collect::<Vec<_>>());
    }
    let split: Vec<_> = split[1].iter().chain(&split[0]).cloned().collect();
    assert!(one == split, "a shot split across two instances must match one instance");
    assert!(one.iter().all(|(_, m)| m.iter().any(|&v| v > 0.0)), "every frame of the split has a face");
}
