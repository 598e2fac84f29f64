//! End-to-end tests of the host against a small C plug-in (`tests/mock/mock_plugin.c`).

use std::path::PathBuf;

use ofx_host::{
    parse_param_arg, render_sequence, Bundle, Components, Context, Depth, HostConfig, HostImage, ImageSequence, Interpolation, MessageKind,
    ParamType, RectI, RenderRequest, SequenceJob, Value,
};

const MASK: &str = "NatronOfxImageComponentsPlaneName_FaceMask_PlaneLabel_FaceMask_Channel_A";

/// A bundle folder around a private copy of the mock binary (each test gets its own library).
fn bundle_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("Mock.ofx.bundle");
    let bin_dir = bundle.join("Contents/Linux-x86-64");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::copy(env!("OFXHOST_MOCK_PLUGIN"), bin_dir.join("Mock.ofx")).unwrap();
    (dir, bundle)
}

/// A w×h RGBA float frame whose pixels depend on x, y and time.
fn frame(w: u32, h: u32, time: f64) -> HostImage {
    let mut v = Vec::new();
    for y in 0..h {
        for x in 0..w {
            v.extend([x as f32 / w as f32, y as f32 / h as f32, (time as f32) / 10.0, 1.0]);
        }
    }
    HostImage::from_f32(RectI::from_size(w, h), Components::Rgba, Depth::F32, &v).unwrap()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-5
}

#[test]
fn describe_reports_everything_the_plugin_declared() {
    let (_dir, path) = bundle_dir();
    let bundle = Bundle::load(&path).unwrap();
    assert_eq!(bundle.plugin().id, "org.faceswap.mock");
    assert_eq!(bundle.plugin().version, (1, 2));
    let d = bundle.describe(Context::Filter).unwrap();
    assert!(d.multi_planar());
    assert_eq!(d.props.string("OfxPropLabel"), Some("Mock"));
    let source = d.clip("Source").unwrap();
    assert_eq!(source.supported_components, ["OfxImageComponentRGBA", "OfxImageComponentRGB"]);
    assert!(source.temporal_access && !source.optional && !source.is_mask);
    let gain = d.param("gain").unwrap();
    assert_eq!(gain.param_type, ParamType::Double);
    assert_eq!(gain.default, Value::Double(1.0));
    assert_eq!((gain.min.clone(), gain.max.clone()), (Some(Value::Double(0.0)), Some(Value::Double(4.0))));
    assert_eq!(gain.display_max, Some(Value::Double(2.0)));
    assert_eq!(gain.hint, "Multiplies the source");
    assert!(gain.animates);
    assert_eq!(d.param("mode").unwrap().choice_options, ["Copy", "Mask", "Identity"]);
    assert_eq!(d.param("note").unwrap().default, Value::String("hello".into()));
    assert_eq!(d.param("tint").unwrap().parent, "advanced");
    assert_eq!(d.param("tint").unwrap().default, Value::Rgba(1.0, 1.0, 1.0, 1.0));
    assert_eq!(d.param("Controls").unwrap().page_children.len(), 8);
    assert_eq!(d.param("reset").unwrap().param_type, ParamType::PushButton);
    assert!(bundle.describe(Context::General).is_ok());
}

#[test]
fn instance_params_messages_and_dynamic_choices() {
    let (_dir, path) = bundle_dir();
    let bundle = Bundle::load(&path).unwrap();
    let inst = bundle.create_instance(Context::Filter).unwrap();
    assert_eq!(inst.props().string("MockSuites"), Some("msg2=1 mt=1 planes=1"));
    assert_eq!(inst.choice_options("mode").unwrap(), ["Copy", "Mask", "Identity", "Extra"]);
    assert_eq!(inst.param_value("note").unwrap(), Value::String("hello".into()));
    inst.set_param("gain", Value::Double(3.5)).unwrap();
    let msgs = inst.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].kind, MessageKind::Warning);
    assert_eq!(msgs[0].id, "mock.gain");
    assert_eq!(msgs[0].text, "gain 3.5 is high");
    assert_eq!(inst.persistent_message().unwrap().text, "persistent 42");
    // The push button makes the plug-in set gain back through paramSetValue.
    inst.set_param("reset", Value::None).unwrap_err();
    inst.param_changed("reset").unwrap();
    assert_eq!(inst.param_value("gain").unwrap(), Value::Double(1.0));
    // CLI-style arguments resolve choice labels against the instance's options.
    let (name, arg) = parse_param_arg("mode=Extra").unwrap();
    inst.apply_param_arg(&name, &arg).unwrap();
    assert_eq!(inst.param_value("mode").unwrap(), Value::Choice(3));
    assert!(inst.set_param("gain", Value::String("x".into())).is_err());
    assert!(inst.set_param("nope", Value::Double(1.0)).is_err());
}

#[test]
fn render_with_planes_temporal_fetch_and_threads() {
    let (_dir, path) = bundle_dir();
    let bundle = Bundle::load(&path).unwrap();
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    inst.set_param("gain", Value::Double(2.0)).unwrap();
    let source = |t: f64| Some(frame(8, 6, t));
    let r = inst.render(&RenderRequest::new(5.0, &source)).unwrap();
    assert!(r.ok(), "{:?}", r.messages);
    assert_eq!(r.render_window, RectI::from_size(8, 6));
    assert_eq!(r.region_of_definition, [0.0, 0.0, 8.0, 6.0]);
    assert_eq!(r.frames_needed, vec![("Source".to_owned(), vec![(4.0, 6.0)])]);
    assert!(r.fetched.contains(&("Source".to_owned(), 4.0)));
    assert_eq!(r.unreleased_images, 0);
    assert_eq!(r.output.components, Components::Rgba);
    let src = frame(8, 6, 5.0);
    for (o, s) in r.output.to_f32().chunks(4).zip(src.to_f32().chunks(4)) {
        assert!(close(o[0], 2.0 * s[0]) && close(o[2], 2.0 * s[2]) && close(o[3], 2.0), "{o:?} vs {s:?}");
    }
    let mask = r.plane("FaceMask").expect("mask plane");
    assert_eq!((mask.components, mask.depth), (Components::Alpha, Depth::F32));
    assert_eq!(r.planes[0].0, MASK);
    let prev = frame(8, 6, 4.0);
    let p = prev.to_f32();
    let expected = (p[0] + p[1] + p[2]) / 3.0;
    assert!(close(mask.to_f32()[0], expected));
    let cc = r.clip_components.as_ref().unwrap();
    assert_eq!(cc.planes("Output"), ["uk.co.thefoundry.OfxImagePlaneColour", MASK]);
}

#[test]
fn render_scale_window_keys_and_depth_conversion() {
    let (_dir, path) = bundle_dir();
    let bundle = Bundle::load(&path).unwrap();
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    inst.set_keys("gain", &[(0.0, Value::Double(1.0)), (10.0, Value::Double(3.0))], Interpolation::Linear).unwrap();
    // An 8-bit RGB source is served as float RGB (source clip supports RGB) at half scale.
    let src8 = frame(640, 360, 5.0).convert(Components::Rgb, Depth::U8);
    let mut req = RenderRequest::new(5.0, &src8);
    req.render_scale = (0.5, 0.5);
    let r = inst.render(&req).unwrap();
    assert!(r.ok());
    assert_eq!(r.output.bounds, RectI::from_size(320, 180));
    assert_eq!(r.clip_preferences.clip("Source"), Some(("OfxImageComponentRGB", "OfxBitDepthFloat")));
    let half = src8.convert(Components::Rgb, Depth::F32).scaled((0.5, 0.5));
    // gain(5) = 2 with linear keys 1 → 3 over 0..10.
    assert!(close(r.output.pixel(10, 20, 0).unwrap(), 2.0 * half.pixel(10, 20, 0).unwrap()));
    assert!(close(r.output.pixel(10, 20, 3).unwrap(), 1.0), "RGB source: alpha 1");
    // A sub-window.
    req.window = Some(RectI::new(4, 4, 20, 12));
    let r = inst.render(&req).unwrap();
    assert_eq!(r.output.bounds, RectI::new(4, 4, 20, 12));
    assert_eq!(r.plane("FaceMask").unwrap().bounds, RectI::new(4, 4, 20, 12));
}

#[test]
fn identity_copies_the_source() {
    let (_dir, path) = bundle_dir();
    let bundle = Bundle::load(&path).unwrap();
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    inst.set_param("mode", Value::Choice(2)).unwrap();
    let src = frame(4, 4, 1.0);
    let r = inst.render(&RenderRequest::new(1.0, &src)).unwrap();
    let id = r.identity.expect("identity");
    assert_eq!((id.clip.as_str(), id.time), ("Source", 1.0));
    assert_eq!(r.output, src);
    assert!(r.planes.is_empty());
}

#[test]
fn a_host_without_optional_suites() {
    let (_dir, path) = bundle_dir();
    let config = HostConfig { message_suite_v2: false, multithread_suite: false, plane_suite: false, ..HostConfig::default() };
    let bundle = Bundle::load_with(&path, config, None).unwrap();
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    assert_eq!(inst.props().string("MockSuites"), Some("msg2=0 mt=0 planes=0"));
    let r = inst.render(&RenderRequest::new(0.0, &frame(4, 2, 0.0))).unwrap();
    assert!(r.ok() && r.planes.is_empty() && r.clip_components.is_none());
    assert!(close(r.output.pixel(3, 1, 0).unwrap(), 0.75));
}

#[test]
fn unload_and_reload() {
    let (_dir, path) = bundle_dir();
    for _ in 0..2 {
        let bundle = Bundle::load(&path).unwrap();
        {
            let mut inst = bundle.create_instance(Context::General).unwrap();
            assert!(inst.render(&RenderRequest::new(0.0, &frame(2, 2, 0.0))).unwrap().ok());
        }
        bundle.unload().unwrap();
    }
    assert!(Bundle::load(path.join("nope")).is_err());
}

#[test]
fn render_a_sequence_to_files() {
    let (dir, path) = bundle_dir();
    let bundle = Bundle::load(&path).unwrap();
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    let input = dir.path().join("in/%03d.png").to_string_lossy().into_owned();
    for f in 1..=3 {
        ofx_host::write_image(ofx_host::expand_pattern(&input, f).unwrap(), &frame(6, 4, f as f64).convert(Components::Rgba, Depth::U8)).unwrap();
    }
    let seq = ImageSequence::open(&input, 1, 3).unwrap();
    let out = dir.path().join("out/%03d.png").to_string_lossy().into_owned();
    let mut seen = Vec::new();
    let report = render_sequence(&mut inst, &SequenceJob::new(&seq, 1, 3, &out), &mut |f| seen.push(f.frame)).unwrap();
    assert_eq!(seen, [1, 2, 3]);
    assert_eq!(report.frames.len(), 3);
    let written = ofx_host::read_image(&report.frames[1].output).unwrap();
    assert_eq!((written.width(), written.height(), written.depth), (6, 4, Depth::U16));
    let mask = ofx_host::read_image(&report.frames[1].planes[0]).unwrap();
    assert!(report.frames[1].planes[0].to_string_lossy().ends_with("002.FaceMask.png"));
    assert_eq!((mask.components, mask.depth), (Components::Alpha, Depth::U16));
    // Frame 1 has no previous frame in the sequence: the mock writes a black mask.
    let first_mask = ofx_host::read_image(&report.frames[0].planes[0]).unwrap();
    assert!(first_mask.to_f32().iter().all(|v| *v == 0.0));
}

#[test]
fn host_frame_threading_gives_the_same_pixels() {
    let (_dir, path) = bundle_dir();
    let src = frame(16, 9, 2.0);
    let render = |threads: u32| {
        let config = HostConfig { host_frame_threads: threads, ..HostConfig::default() };
        let bundle = Bundle::load_with(&path, config, None).unwrap();
        let mut inst = bundle.create_instance(Context::Filter).unwrap();
        inst.set_param("gain", Value::Double(0.5)).unwrap();
        let r = inst.render(&RenderRequest::new(2.0, &src)).unwrap();
        assert!(r.ok());
        (r.output, r.planes)
    };
    assert_eq!(render(1), render(4));
}

#[test]
fn stand_alone_actions() {
    let (_dir, path) = bundle_dir();
    let bundle = Bundle::load(&path).unwrap();
    let inst = bundle.create_instance(Context::Filter).unwrap();
    let src = frame(10, 4, 3.0);
    let mut req = RenderRequest::new(3.0, &src);
    assert_eq!(inst.get_region_of_definition(&req).unwrap(), [0.0, 0.0, 10.0, 4.0]);
    assert_eq!(inst.get_frames_needed(&req).unwrap(), vec![("Source".to_owned(), vec![(2.0, 4.0)])]);
    assert_eq!(inst.get_is_identity(&req).unwrap(), None);
    req.render_scale = (0.5, 0.5);
    req.window = Some(RectI::new(0, 0, 2, 2));
    assert_eq!(inst.get_regions_of_interest(&req).unwrap(), vec![("Source".to_owned(), [0.0, 0.0, 4.0, 4.0])]);
    let prefs = inst.get_clip_preferences(&req).unwrap();
    assert_eq!(prefs.clip("Output"), Some(("OfxImageComponentRGBA", "OfxBitDepthFloat")));
    assert_eq!(inst.clip_props("Source").unwrap().string("OfxImageClipPropUnmappedComponents"), Some("OfxImageComponentRGBA"));
    inst.set_param("mode", Value::Choice(2)).unwrap();
    assert_eq!(inst.get_is_identity(&req).unwrap().unwrap().clip, "Source");
}
