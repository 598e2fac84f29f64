//! Argument parser tests.

use super::*;
use crate::props::PropSnapshot;

fn desc(ty: ParamType, options: &[&str]) -> ParamDescription {
    ParamDescription {
        name: "p".into(),
        param_type: ty,
        script_name: "p".into(),
        label: "p".into(),
        hint: String::new(),
        parent: String::new(),
        default: ty.zero(),
        min: None,
        max: None,
        display_min: None,
        display_max: None,
        animates: true,
        secret: false,
        enabled: true,
        choice_options: options.iter().map(|s| (*s).to_owned()).collect(),
        page_children: Vec::new(),
        props: PropSnapshot::default(),
    }
}

fn constant(s: &str, ty: ParamType, options: &[&str]) -> Result<Value> {
    let (_, arg) = parse_param_arg(s)?;
    match arg.resolve(&desc(ty, options))? {
        ResolvedArg::Constant(v) => Ok(v),
        other => panic!("not a constant: {other:?}"),
    }
}

#[test]
fn constants_of_every_kind() {
    assert_eq!(constant("strength=0.75", ParamType::Double, &[]).unwrap(), Value::Double(0.75));
    assert_eq!(constant("n=3", ParamType::Integer, &[]).unwrap(), Value::Int(3));
    assert_eq!(constant("on=true", ParamType::Boolean, &[]).unwrap(), Value::Bool(true));
    assert_eq!(constant("on=off", ParamType::Boolean, &[]).unwrap(), Value::Bool(false));
    assert_eq!(constant("mode=Blend", ParamType::Choice, &["Replace", "Blend"]).unwrap(), Value::Choice(1));
    assert_eq!(constant("mode=blend", ParamType::Choice, &["Replace", "Blend"]).unwrap(), Value::Choice(1));
    assert_eq!(constant("mode=0", ParamType::Choice, &["Replace", "Blend"]).unwrap(), Value::Choice(0));
    assert!(constant("mode=2", ParamType::Choice, &["Replace", "Blend"]).is_err());
    assert!(constant("mode=Other", ParamType::Choice, &["Replace", "Blend"]).is_err());
    assert_eq!(constant("center=0.5;0.25", ParamType::Double2D, &[]).unwrap(), Value::Double2(0.5, 0.25));
    assert_eq!(constant("size=2", ParamType::Integer2D, &[]).unwrap(), Value::Int2(2, 2));
    assert_eq!(constant("tint=1;0.5;0", ParamType::Rgba, &[]).unwrap(), Value::Rgba(1.0, 0.5, 0.0, 1.0));
    assert!(constant("center=1;2;3", ParamType::Double2D, &[]).is_err());
    assert_eq!(constant("file=C:/faces/a.png", ParamType::String, &[]).unwrap(), Value::String("C:/faces/a.png".into()));
    assert_eq!(constant("file=/tmp/a b.png", ParamType::String, &[]).unwrap(), Value::String("/tmp/a b.png".into()));
    assert_eq!(constant(r#"label="1:2, \"x\"""#, ParamType::String, &[]).unwrap(), Value::String("1:2, \"x\"".into()));
    assert_eq!(constant("text=", ParamType::String, &[]).unwrap(), Value::String(String::new()));
    assert!(constant("strength=abc", ParamType::Double, &[]).is_err());
    assert!(constant("strength=\"1\"", ParamType::Double, &[]).is_err(), "quoted is never a number");
}

#[test]
fn keyframes_with_interpolation() {
    let (name, arg) = parse_param_arg("strength=0:0,10:1@smooth").unwrap();
    assert_eq!(name, "strength");
    match arg.resolve(&desc(ParamType::Double, &[])).unwrap() {
        ResolvedArg::Keys(keys, interp) => {
            assert_eq!(keys, vec![(0.0, Value::Double(0.0)), (10.0, Value::Double(1.0))]);
            assert_eq!(interp, Interpolation::Smooth);
        }
        other => panic!("{other:?}"),
    }
    let (_, arg) = parse_param_arg("center=1:0;0, 5:1;2").unwrap();
    match arg.resolve(&desc(ParamType::Double2D, &[])).unwrap() {
        ResolvedArg::Keys(keys, interp) => {
            assert_eq!(keys[1], (5.0, Value::Double2(1.0, 2.0)));
            assert_eq!(interp, Interpolation::Linear, "linear is the default");
        }
        other => panic!("{other:?}"),
    }
    let (_, arg) = parse_param_arg("mode=0:Replace,20:Blend@constant").unwrap();
    assert!(matches!(arg.resolve(&desc(ParamType::Choice, &["Replace", "Blend"])).unwrap(), ResolvedArg::Keys(_, Interpolation::Constant)));
}

#[test]
fn malformed_arguments() {
    assert!(parse_param_arg("novalue").is_err());
    assert!(parse_param_arg("=1").is_err());
    assert!(parse_param_arg("a b=1").is_err());
    assert!(parse_param_arg("x=1@smooth").is_err(), "interpolation needs keys");
    assert!(parse_param_arg("x=\"open").is_err());
    // Not all items are keys: a constant string.
    let (_, arg) = parse_param_arg("x=0:a,b").unwrap();
    assert!(matches!(arg, ParamArg::Constant(_)));
}
