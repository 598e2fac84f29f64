//! Describe through the headless host: the bundle's layout, the effect's declarations and every parameter.

mod support;

use faceswap_ofx::node::params::{Kind, PAGE, PARAMS};
use ofx_host::{Context, ParamType, Value};

#[test]
fn bundle_layout_and_info_plist() {
    let bundle = support::bundle_path();
    let contents = bundle.join("Contents");
    assert!(contents.join("Linux-x86-64/FaceSwap.ofx").is_file());
    assert!(contents.join("Resources/org.faceswapofx.FaceSwap.png").is_file());
    let plist = std::fs::read_to_string(contents.join("Info.plist")).unwrap();
    assert!(plist.contains("<string>FaceSwap.ofx</string>"));
    assert!(plist.contains("<string>org.faceswapofx.FaceSwap</string>"));
    assert!(plist.contains("<string>1.0</string>"));
    assert!(!plist.contains('@'), "unfilled placeholder in Info.plist");
}

#[test]
fn the_binary_exports_only_the_two_entry_points() {
    let lib = support::bundle_path().join("Contents/Linux-x86-64/FaceSwap.ofx");
    let out = std::process::Command::new("nm").args(["-D", "--defined-only"]).arg(&lib).output().expect("nm (binutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut names: Vec<&str> = text.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    names.sort();
    assert_eq!(names, ["OfxGetNumberOfPlugins", "OfxGetPlugin"]);
}

#[test]
fn effect_identity_and_declarations() {
    let bundle = support::load();
    assert_eq!(bundle.plugin().id, "org.faceswapofx.FaceSwap");
    assert_eq!(bundle.plugin().version, (1, 0));
    for ctx in [Context::Filter, Context::General] {
        let d = bundle.describe(ctx).unwrap();
        assert_eq!(d.props.string("OfxPropLabel"), Some("FaceSwap"));
        assert_eq!(d.props.string("OfxImageEffectPluginPropGrouping"), Some("Filter/Face"));
        assert_eq!(d.props.int("OfxImageEffectPropSupportsTiles"), Some(0));
        assert_eq!(d.props.int("OfxImageEffectPropSupportsMultiResolution"), Some(1));
        assert_eq!(d.props.int("OfxImageEffectPropTemporalClipAccess"), Some(1));
        assert_eq!(d.props.string("OfxImageEffectPluginRenderThreadSafety"), Some("OfxImageEffectRenderFullySafe"));
        assert_eq!(
            d.props.strings("OfxImageEffectPropSupportedPixelDepths").unwrap(),
            ["OfxBitDepthByte", "OfxBitDepthShort", "OfxBitDepthFloat"]
        );
        assert!(d.multi_planar(), "the headless host offers multi-plane, so the node must use it");
        let source = d.clip("Source").unwrap();
        assert_eq!(source.supported_components, ["OfxImageComponentRGBA", "OfxImageComponentRGB"]);
        assert!(source.temporal_access && !source.optional);
        assert!(d.clip("Output").is_some());
    }
}

#[test]
fn every_parameter_is_declared_as_the_table_says() {
    let d = support::load().describe(Context::Filter).unwrap();
    let page = d.param(PAGE).expect("Controls page");
    assert_eq!(page.param_type, ParamType::Page);
    for spec in PARAMS.iter() {
        let p = d.param(spec.name).unwrap_or_else(|| panic!("{} not declared", spec.name));
        assert_eq!(p.script_name, spec.name);
        assert_eq!(p.label, spec.label);
        assert_eq!(p.hint, spec.hint);
        assert_eq!(p.parent, spec.group.name, "{} group", spec.name);
        assert_eq!(p.animates, spec.animates, "{} animates", spec.name);
        assert!(page.page_children.iter().any(|c| c == spec.name), "{} not on the page", spec.name);
        assert_eq!(d.param(spec.group.name).map(|g| g.param_type), Some(ParamType::Group));
        match spec.kind {
            Kind::FilePath { default } => {
                assert_eq!(p.param_type, ParamType::String);
                assert_eq!(p.default, Value::String(default.into()));
                assert_eq!(p.props.string("OfxParamPropStringMode"), Some("OfxParamStringIsFilePath"));
            }
            Kind::HiddenString { default } => {
                assert_eq!(p.param_type, ParamType::String);
                assert_eq!(p.default, Value::String(default.into()));
                assert!(p.secret);
            }
            Kind::Choice { options, default } => {
                assert_eq!(p.param_type, ParamType::Choice);
                assert_eq!(p.default, Value::Choice(default as i32));
                let labels: Vec<&str> = options.iter().map(|o| o.label).collect();
                assert_eq!(p.choice_options, labels, "{} options", spec.name);
            }
            Kind::Bool { default } => {
                assert_eq!(p.param_type, ParamType::Boolean);
                assert_eq!(p.default, Value::Bool(default));
            }
            Kind::Int { default, min, max, display_max } => {
                assert_eq!(p.param_type, ParamType::Integer);
                assert_eq!(p.default, Value::Int(default));
                assert_eq!((p.min.clone(), p.max.clone()), (Some(Value::Int(min)), Some(Value::Int(max))));
                assert_eq!(p.display_max, Some(Value::Int(display_max)));
            }
            Kind::Double { default, min, max, display_min, display_max, .. } => {
                assert_eq!(p.param_type, ParamType::Double);
                assert_eq!(p.default, Value::Double(default));
                assert_eq!((p.min.clone(), p.max.clone()), (Some(Value::Double(min)), Some(Value::Double(max))));
                assert_eq!((p.display_min.clone(), p.display_max.clone()), (Some(Value::Double(display_min)), Some(Value::Double(display_max))));
            }
            Kind::Point { default } => {
                assert_eq!(p.param_type, ParamType::Double2D);
                assert_eq!(p.default, Value::Double2(default.0, default.1));
                assert_eq!(p.props.string("OfxParamPropDefaultCoordinateSystem"), Some("OfxParamCoordinatesNormalised"));
            }
        }
    }
}
