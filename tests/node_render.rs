//! Render through the headless host with no usable model: every pixel format, render scale and window must
//! come back as the exact source, with a message saying why; blend and keyframes are read at render time.

mod support;

use ofx_host::{Components, Context, Depth, Interpolation, MessageKind, RectI, RenderRequest, Value};

/// A path that does not exist: the node must render (not report identity) and pass the source through.
const MISSING_MODEL: &str = "/nonexistent/faceswap-model.safetensors";

#[test]
fn missing_model_passes_every_format_through_exactly_with_a_message() {
    let bundle = support::load();
    let face = support::astronaut();
    for depth in [Depth::U8, Depth::U16, Depth::F32] {
        for comps in [Components::Rgb, Components::Rgba] {
            let source = support::sample(&face, 96, 64, comps, depth);
            let mut inst = bundle.create_instance(Context::Filter).unwrap();
            inst.set_param("model", Value::String(MISSING_MODEL.into())).unwrap();
            let mut req = RenderRequest::new(1.0, &source);
            req.output_depth = depth;
            req.output_components = comps;
            let result = inst.render(&req).unwrap();
            assert!(result.ok(), "{depth:?} {comps:?}: status {}", result.status);
            assert!(result.identity.is_none(), "a set model path must reach render");
            assert_eq!(result.output.bounds, source.bounds);
            assert_eq!(result.output.to_f32(), source.to_f32(), "{depth:?} {comps:?}: output differs from source");
            let msg = inst.persistent_message().expect("a persistent message");
            assert_eq!(msg.kind, MessageKind::Error);
            assert!(msg.text.contains("faceswap-model.safetensors") && msg.text.contains("passes through"), "{}", msg.text);
            assert_eq!(result.unreleased_images, 0);
        }
    }
}

#[test]
fn render_scales_and_a_smaller_window_come_back_exact() {
    let bundle = support::load();
    let source = support::sample(&support::astronaut(), 128, 96, Components::Rgba, Depth::F32);
    for scale in [1.0, 0.5, 0.25] {
        let mut inst = bundle.create_instance(Context::Filter).unwrap();
        inst.set_param("model", Value::String(MISSING_MODEL.into())).unwrap();
        let mut req = RenderRequest::new(0.0, &source);
        req.render_scale = (scale, scale);
        let expected = source.scaled((scale, scale));
        let result = inst.render(&req).unwrap();
        assert!(result.ok());
        assert_eq!(result.output.bounds, expected.bounds, "scale {scale}");
        assert_eq!(result.output.to_f32(), expected.to_f32(), "scale {scale}");
        let window = RectI::new(8, 4, 40, 20);
        req.window = Some(window);
        let result = inst.render(&req).unwrap();
        assert!(result.ok());
        assert_eq!(result.output.to_f32(), expected.crop(window).to_f32(), "window at scale {scale}");
    }
}

#[test]
fn no_model_or_zero_blend_is_identity() {
    let bundle = support::load();
    let source = support::sample(&support::astronaut(), 32, 32, Components::Rgba, Depth::F32);
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    let result = inst.render(&RenderRequest::new(3.0, &source)).unwrap();
    assert_eq!(result.identity.as_ref().map(|i| (i.clip.as_str(), i.time)), Some(("Source", 3.0)));
    assert_eq!(result.output.to_f32(), source.to_f32());
    let msg = inst.persistent_message().expect("a message asking for a model");
    assert!(msg.text.contains("no model file is set"), "{}", msg.text);

    inst.set_param("model", Value::String(MISSING_MODEL.into())).unwrap();
    inst.set_param("blend", Value::Double(0.0)).unwrap();
    let result = inst.render(&RenderRequest::new(3.0, &source)).unwrap();
    assert!(result.identity.is_some(), "blend 0 must be identity");
}

/// Blend keyed 0 at frame 0 and 1 at frame 10: identity exactly where the interpolated value is 0.
/// (The half mix at frame 5 is checked on the rendered image once the swap pipeline exists.)
#[test]
fn keyframed_blend_is_read_at_the_render_time() {
    let bundle = support::load();
    let source = support::sample(&support::astronaut(), 32, 32, Components::Rgba, Depth::F32);
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    inst.set_param("model", Value::String(MISSING_MODEL.into())).unwrap();
    inst.set_keys("blend", &[(0.0, Value::Double(0.0)), (10.0, Value::Double(1.0))], Interpolation::Linear).unwrap();
    for (time, identity) in [(-5.0, true), (0.0, true), (0.5, false), (5.0, false), (10.0, false)] {
        let result = inst.render(&RenderRequest::new(time, &source)).unwrap();
        assert_eq!(result.identity.is_some(), identity, "time {time}");
    }
}

#[test]
fn frames_needed_follow_temporal_smoothing() {
    let bundle = support::load();
    let source = support::sample(&support::astronaut(), 16, 16, Components::Rgba, Depth::F32);
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    inst.set_param("model", Value::String(MISSING_MODEL.into())).unwrap();
    inst.set_param("temporalSmoothing", Value::Int(3)).unwrap();
    let result = inst.render(&RenderRequest::new(20.0, &source)).unwrap();
    let needed = format!("{:?}", result.frames_needed);
    assert!(needed.contains("17") && needed.contains("23"), "{needed}");
}

#[test]
fn mask_plane_is_declared_to_multi_plane_hosts() {
    let bundle = support::load();
    let source = support::sample(&support::astronaut(), 16, 16, Components::Rgba, Depth::F32);
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    inst.set_param("model", Value::String(MISSING_MODEL.into())).unwrap();
    let mut req = RenderRequest::new(0.0, &source);
    req.planes = true;
    let result = inst.render(&req).unwrap();
    assert!(result.ok());
    let mask = result.plane("FaceMask").expect("FaceMask plane rendered");
    // No model, no face: the mask plane is delivered and empty.
    assert!(mask.to_f32().iter().all(|&v| v == 0.0));
}
