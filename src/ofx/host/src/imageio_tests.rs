//! File and sequence tests.

use super::*;

fn gradient(comps: Components, depth: Depth, w: u32, h: u32) -> HostImage {
    let n = (w * h) as usize * comps.count();
    let v: Vec<f32> = (0..n).map(|i| (i % 97) as f32 / 96.0).collect();
    HostImage::from_f32(RectI::from_size(w, h), comps, depth, &v).unwrap()
}

#[test]
fn png_round_trips_8_and_16_bit() {
    let dir = tempfile::tempdir().unwrap();
    for (comps, depth) in [
        (Components::Rgba, Depth::U8),
        (Components::Rgb, Depth::U8),
        (Components::Alpha, Depth::U8),
        (Components::Rgba, Depth::U16),
        (Components::Alpha, Depth::U16),
    ] {
        let img = gradient(comps, depth, 7, 5);
        let path = dir.path().join(format!("{comps:?}{depth:?}.png"));
        write_image(&path, &img).unwrap();
        let back = read_image(&path).unwrap();
        assert_eq!(back, img, "{comps:?} {depth:?}");
    }
}

#[test]
fn png_rows_are_flipped_to_bottom_up() {
    let dir = tempfile::tempdir().unwrap();
    // Bottom row black, top row white.
    let img = HostImage::from_f32(RectI::from_size(1, 2), Components::Alpha, Depth::U8, &[0.0, 1.0]).unwrap();
    let path = dir.path().join("flip.png");
    write_image(&path, &img).unwrap();
    let file = image::open(&path).unwrap().to_luma8();
    assert_eq!(file.get_pixel(0, 0).0[0], 255, "file row 0 is the top");
    assert_eq!(read_image(&path).unwrap().pixel(0, 0, 0), Some(0.0));
}

#[test]
fn exr_round_trips_float() {
    let dir = tempfile::tempdir().unwrap();
    for comps in [Components::Rgba, Components::Rgb, Components::Alpha] {
        let mut img = gradient(comps, Depth::F32, 6, 4);
        // Out-of-range values survive in float.
        let mut v = img.to_f32();
        v[0] = 4.5;
        v[1] = -0.25;
        img = HostImage::from_f32(img.bounds, comps, Depth::F32, &v).unwrap();
        let path = dir.path().join(format!("{comps:?}.exr"));
        write_image(&path, &img).unwrap();
        assert_eq!(read_image(&path).unwrap(), img, "{comps:?}");
    }
}

#[test]
fn planes_are_single_channel_files() {
    let dir = tempfile::tempdir().unwrap();
    let mask = gradient(Components::Alpha, Depth::F32, 4, 4);
    let png = dir.path().join("mask.png");
    write_plane(&png, &mask).unwrap();
    let back = read_image(&png).unwrap();
    assert_eq!((back.components, back.depth), (Components::Alpha, Depth::U16));
    let exr = dir.path().join("mask.exr");
    write_plane(&exr, &mask).unwrap();
    assert_eq!(read_image(&exr).unwrap(), mask);
}

#[test]
fn pattern_expansion() {
    assert_eq!(expand_pattern("frames/%05d.png", 42).unwrap(), PathBuf::from("frames/00042.png"));
    assert_eq!(expand_pattern("f%d.exr", 7).unwrap(), PathBuf::from("f7.exr"));
    assert_eq!(expand_pattern("f.####.png", 12).unwrap(), PathBuf::from("f.0012.png"));
    assert_eq!(expand_pattern("f%04d.png", -5).unwrap(), PathBuf::from("f-005.png"));
    assert_eq!(expand_pattern("100%%_%d.png", 1).unwrap(), PathBuf::from("100%_1.png"));
    assert!(expand_pattern("plain.png", 1).is_err());
    assert!(expand_pattern("%d_%d.png", 1).is_err());
    assert!(expand_pattern("%5x.png", 1).is_err());
    assert!(is_pattern("a/%03d.png") && !is_pattern("a/b.png"));
}

#[test]
fn sequences_and_stills_provide_frames() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("in.%03d.png").to_string_lossy().into_owned();
    for f in 1..=3 {
        let v = vec![f as f32 / 10.0; 4];
        let img = HostImage::from_f32(RectI::from_size(2, 2), Components::Alpha, Depth::U8, &v).unwrap();
        write_image(expand_pattern(&pattern, f).unwrap(), &img).unwrap();
    }
    let seq = ImageSequence::open(&pattern, 1, 3).unwrap();
    assert_eq!(seq.frame_range(), Some((1.0, 3.0)));
    assert_eq!(seq.frame(2.0).unwrap().pixel(0, 0, 0), Some(51.0 / 255.0));
    assert_eq!(seq.frame(2.2).unwrap().pixel(0, 0, 0), Some(51.0 / 255.0), "rounds to the nearest frame");
    assert!(seq.frame(4.0).is_none());
    let missing = ImageSequence::pattern(&dir.path().join("none.%d.png").to_string_lossy(), 1, 2).unwrap();
    assert!(missing.frame(1.0).is_none());
    assert!(missing.last_error().is_some());
    let still = ImageSequence::still(HostImage::new(RectI::from_size(1, 1), Components::Rgb, Depth::U8), 0, 10);
    assert!(still.frame(10.0).is_some() && still.frame(11.0).is_none());
}
