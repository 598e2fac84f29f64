//! The swap through the node, on a real face, with a real (small, untrained) model file: the mask outputs,
//! bit-identity outside the mask, keyframed blend, determinism. Quality is measured elsewhere; this checks
//! that the node does exactly what its parameters say.

mod support;

use ofx_host::{Components, Context, Depth, HostImage, Interpolation, RenderRequest, Value};

fn tiny_model(dir: &std::path::Path) -> String {
    support::tiny_model(dir, "tiny.safetensors", &["first", "second"]).display().to_string()
}

fn source() -> HostImage {
    support::astronaut().convert(Components::Rgba, Depth::F32)
}

#[test]
fn swap_mask_plane_and_bit_identity_outside_the_mask() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let bundle = support::load();
    let src = source();
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    inst.set_param("model", Value::String(model)).unwrap();
    assert_eq!(inst.choice_options("identity").unwrap(), ["first", "second"], "identity menu from the model");
    inst.set_param("identity", Value::Choice(1)).unwrap();
    assert_eq!(inst.param_value("identityName").unwrap(), Value::String("second".into()));
    let mut req = RenderRequest::new(0.0, &src);
    req.planes = true;
    let out = inst.render(&req).unwrap();
    assert!(out.ok(), "status {}", out.status);
    let mask = out.plane("FaceMask").expect("mask plane").to_f32();
    let (o, s) = (out.output.to_f32(), src.to_f32());
    let covered = mask.iter().filter(|&&m| m > 0.0).count();
    assert!(covered > 1000, "mask covers {covered} px");
    for (i, &m) in mask.iter().enumerate() {
        if m == 0.0 {
            assert_eq!(&o[i * 4..i * 4 + 4], &s[i * 4..i * 4 + 4], "pixel {i} outside the mask changed");
        }
    }
    assert_ne!(o, s);
    // The same frame again is bit-identical.
    assert_eq!(inst.render(&req).unwrap().output.to_f32(), o);
}

#[test]
fn keyed_blend_gives_the_exact_half_mix_and_mask_modes_deliver_the_mask() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let bundle = support::load();
    let src = source();
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    inst.set_param("model", Value::String(model)).unwrap();
    inst.set_keys("blend", &[(0.0, Value::Double(0.0)), (10.0, Value::Double(1.0))], Interpolation::Linear).unwrap();
    let at = |inst: &mut ofx_host::Instance, t: f64| inst.render(&RenderRequest::new(t, &src)).unwrap();
    let r0 = at(&mut inst, 0.0);
    assert!(r0.identity.is_some(), "blend 0 is identity");
    let (full, half) = (at(&mut inst, 10.0).output.to_f32(), at(&mut inst, 5.0).output.to_f32());
    let s = src.to_f32();
    for i in 0..s.len() {
        if i % 4 == 3 {
            continue;
        }
        let expected = s[i] + (full[i] - s[i]) * 0.5;
        // src + (swap − src)·m·b computed with b = 0.5 vs b = 1 then halved: float rounding only.
        assert!((half[i] - expected).abs() < 1e-6, "value {i}: {} vs {expected}", half[i]);
    }
    // Mask in alpha and mask only both carry the same mask.
    inst.set_keys("blend", &[(0.0, Value::Double(1.0))], Interpolation::Linear).unwrap();
    inst.set_param("maskInAlpha", Value::Bool(true)).unwrap();
    let alpha: Vec<f32> = at(&mut inst, 0.0).output.to_f32().chunks(4).map(|p| p[3]).collect();
    inst.set_param("maskInAlpha", Value::Bool(false)).unwrap();
    inst.set_param("output", Value::Choice(2)).unwrap();
    let only: Vec<f32> = at(&mut inst, 0.0).output.to_f32().chunks(4).map(|p| p[0]).collect();
    assert!(alpha.iter().filter(|&&a| a > 0.0).count() > 1000);
    assert!(alpha.iter().zip(&only).all(|(a, b)| (a - b).abs() < 1e-6));
}

#[test]
fn a_shot_split_across_two_instances_matches_one_instance() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let bundle = support::load();
    let src = source();
    let render = |times: &[f64]| -> Vec<Vec<f32>> {
        let mut inst = bundle.create_instance(Context::Filter).unwrap();
        inst.set_param("model", Value::String(model.clone())).unwrap();
        times.iter().map(|&t| inst.render(&RenderRequest::new(t, &src)).unwrap().output.to_f32()).collect()
    };
    let whole = render(&[0.0, 1.0, 2.0, 3.0]);
    let mut split = render(&[2.0, 3.0]);
    split.splice(0..0, render(&[0.0, 1.0]));
    assert_eq!(whole, split);
}
