//! Interpolation and keyframe tests.

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn double_keys(interp: Interpolation, keys: &[(f64, f64)]) -> ParamState {
    let mut p = ParamState::new(ParamType::Double, Value::Double(0.0));
    p.interpolation = interp;
    for (t, v) in keys {
        p.set_key(*t, Value::Double(*v));
    }
    p
}

fn d(v: Value) -> f64 {
    match v {
        Value::Double(x) => x,
        other => panic!("not a double: {other:?}"),
    }
}

#[test]
fn linear_between_two_keys_and_clamped_outside() {
    let p = double_keys(Interpolation::Linear, &[(10.0, 1.0), (20.0, 3.0)]);
    assert!(close(d(p.value_at(15.0)), 2.0));
    assert!(close(d(p.value_at(12.5)), 1.5));
    assert!(close(d(p.value_at(0.0)), 1.0), "constant before the first key");
    assert!(close(d(p.value_at(99.0)), 3.0), "constant after the last key");
    assert!(close(p.derivative_at(15.0)[0], 0.2));
    assert!(close(p.derivative_at(5.0)[0], 0.0));
}

#[test]
fn smooth_between_two_keys_is_smoothstep() {
    let p = double_keys(Interpolation::Smooth, &[(0.0, 0.0), (10.0, 1.0)]);
    assert!(close(d(p.value_at(5.0)), 0.5));
    // Flat tangents at both ends: h01(s) = 3s² - 2s³.
    assert!(close(d(p.value_at(2.5)), 3.0 * 0.0625 - 2.0 * 0.015625));
    assert!(close(p.derivative_at(0.0)[0], 0.0));
    assert!(close(p.derivative_at(5.0)[0], 1.5 / 10.0));
    assert!(close(d(p.value_at(-5.0)), 0.0));
    assert!(close(d(p.value_at(15.0)), 1.0));
}

#[test]
fn smooth_uses_catmull_rom_tangents_inside() {
    let p = double_keys(Interpolation::Smooth, &[(0.0, 0.0), (10.0, 10.0), (20.0, 20.0)]);
    // The interior tangent is (20 - 0) / 20 = 1; at key 1 the slope is exactly 1.
    assert!(close(p.derivative_at(10.0)[0], 1.0));
    assert!(close(d(p.value_at(10.0)), 10.0));
}

#[test]
fn constant_interpolation_steps() {
    let p = double_keys(Interpolation::Constant, &[(0.0, 1.0), (10.0, 2.0)]);
    assert!(close(d(p.value_at(9.99)), 1.0));
    assert!(close(d(p.value_at(10.0)), 2.0));
}

#[test]
fn ints_round_and_bools_step() {
    let mut p = ParamState::new(ParamType::Integer, Value::Int(0));
    p.set_key(0.0, Value::Int(0));
    p.set_key(10.0, Value::Int(3));
    assert_eq!(p.value_at(5.0), Value::Int(2)); // 1.5 rounds away from zero
    let mut b = ParamState::new(ParamType::Boolean, Value::Bool(false));
    b.set_key(0.0, Value::Bool(false));
    b.set_key(10.0, Value::Bool(true));
    assert_eq!(b.value_at(9.0), Value::Bool(false));
    assert_eq!(b.value_at(10.0), Value::Bool(true));
}

#[test]
fn multi_component_interpolates_per_component() {
    let mut p = ParamState::new(ParamType::Double2D, Value::Double2(0.0, 0.0));
    p.set_key(0.0, Value::Double2(0.0, 10.0));
    p.set_key(2.0, Value::Double2(2.0, 0.0));
    assert_eq!(p.value_at(1.0), Value::Double2(1.0, 5.0));
}

#[test]
fn key_management() {
    let mut p = double_keys(Interpolation::Linear, &[(5.0, 1.0), (1.0, 0.0), (9.0, 2.0)]);
    let times: Vec<f64> = p.keys.iter().map(|k| k.0).collect();
    assert_eq!(times, vec![1.0, 5.0, 9.0]);
    assert_eq!(p.key_index(5.0, 0), Some(1));
    assert_eq!(p.key_index(5.0, 1), Some(2));
    assert_eq!(p.key_index(5.0, -1), Some(0));
    assert_eq!(p.key_index(0.0, -1), None);
    assert_eq!(p.key_index(4.0, 0), None);
    p.set_key(5.0, Value::Double(7.0));
    assert_eq!(p.keys.len(), 3, "same time replaces");
    assert!(p.delete_key(5.0));
    assert!(!p.delete_key(5.0));
    p.delete_all_keys(9.0);
    assert!(p.keys.is_empty());
    assert_eq!(p.constant, Value::Double(2.0));
}

#[test]
fn integral_is_exact_for_linear_and_smooth() {
    let p = double_keys(Interpolation::Linear, &[(0.0, 0.0), (10.0, 10.0)]);
    // ∫0..10 t dt = 50, plus 5 frames held at 10 = 50.
    assert!((p.integral(0.0, 15.0)[0] - 100.0).abs() < 1e-6);
    assert!((p.integral(15.0, 0.0)[0] + 100.0).abs() < 1e-6);
    let s = double_keys(Interpolation::Smooth, &[(0.0, 0.0), (10.0, 1.0)]);
    // Smoothstep is symmetric: its integral over the segment is half the height times the width.
    assert!((s.integral(0.0, 10.0)[0] - 5.0).abs() < 1e-6);
    let c = ParamState::new(ParamType::Double, Value::Double(2.0));
    assert!((c.integral(1.0, 4.0)[0] - 6.0).abs() < 1e-9);
}

#[test]
fn coercion_rules() {
    assert_eq!(Value::Int(2).coerce(ParamType::Double), Some(Value::Double(2.0)));
    assert_eq!(Value::Double(2.6).coerce(ParamType::Integer), Some(Value::Int(3)));
    assert_eq!(Value::Int(1).coerce(ParamType::Boolean), Some(Value::Bool(true)));
    assert_eq!(Value::String("a".into()).coerce(ParamType::Double), None);
    assert_eq!(Value::Double(1.0).coerce(ParamType::String), None);
    assert_eq!(Value::Double2(1.0, 2.0).coerce(ParamType::Integer2D), Some(Value::Int2(1, 2)));
    assert_eq!(Value::Double(1.0).coerce(ParamType::Double2D), None);
    assert_eq!(ParamType::from_ofx("OfxParamTypeRGBA"), Some(ParamType::Rgba));
}
