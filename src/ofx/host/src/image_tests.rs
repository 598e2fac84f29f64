//! Image conversion tests.

use super::*;

fn ramp(bounds: RectI, comps: Components, depth: Depth) -> HostImage {
    let mut img = HostImage::new(bounds, comps, depth);
    for (i, b) in img.data.iter_mut().enumerate() {
        *b = (i * 37 % 251) as u8;
    }
    if depth == Depth::F32 {
        // Arbitrary bytes may be NaN; use real floats instead.
        let n = bounds.width() as usize * bounds.height() as usize * comps.count();
        let v: Vec<f32> = (0..n).map(|i| i as f32 * 0.37 - 3.0).collect();
        img = HostImage::from_f32(bounds, comps, depth, &v).unwrap();
    }
    img
}

#[test]
fn u8_u16_f32_round_trips_are_lossless() {
    let b = RectI::new(-2, 3, 5, 7);
    for depth in [Depth::U8, Depth::U16, Depth::F32] {
        let img = ramp(b, Components::Rgba, depth);
        let back = HostImage::from_f32(b, Components::Rgba, depth, &img.to_f32()).unwrap();
        assert_eq!(back, img, "{depth:?}");
    }
    // u8 -> u16 -> u8 and u8 -> f32 -> u8 keep every code.
    let img = ramp(b, Components::Rgb, Depth::U8);
    assert_eq!(img.convert(Components::Rgb, Depth::U16).convert(Components::Rgb, Depth::U8), img);
    assert_eq!(img.convert(Components::Rgb, Depth::F32).convert(Components::Rgb, Depth::U8), img);
    let img16 = ramp(b, Components::Alpha, Depth::U16);
    assert_eq!(img16.convert(Components::Alpha, Depth::F32).convert(Components::Alpha, Depth::U16), img16);
}

#[test]
fn component_mapping() {
    let b = RectI::from_size(1, 1);
    let rgba = HostImage::from_f32(b, Components::Rgba, Depth::F32, &[0.1, 0.2, 0.3, 0.4]).unwrap();
    assert_eq!(rgba.convert(Components::Rgb, Depth::F32).to_f32(), vec![0.1, 0.2, 0.3]);
    assert_eq!(rgba.convert(Components::Alpha, Depth::F32).to_f32(), vec![0.4]);
    let rgb = HostImage::from_f32(b, Components::Rgb, Depth::F32, &[0.1, 0.2, 0.3]).unwrap();
    assert_eq!(rgb.convert(Components::Rgba, Depth::F32).to_f32(), vec![0.1, 0.2, 0.3, 1.0]);
    let a = HostImage::from_f32(b, Components::Alpha, Depth::F32, &[0.5]).unwrap();
    assert_eq!(a.convert(Components::Rgba, Depth::F32).to_f32(), vec![0.5, 0.5, 0.5, 1.0]);
}

#[test]
fn pixel_access_is_bottom_up_and_absolute() {
    let b = RectI::new(10, 20, 12, 22);
    let v: Vec<f32> = (0..4).map(|i| i as f32).collect();
    let img = HostImage::from_f32(b, Components::Alpha, Depth::F32, &v).unwrap();
    assert_eq!(img.pixel(10, 20, 0), Some(0.0)); // bottom-left
    assert_eq!(img.pixel(11, 20, 0), Some(1.0));
    assert_eq!(img.pixel(10, 21, 0), Some(2.0));
    assert_eq!(img.pixel(12, 20, 0), None);
}

#[test]
fn crop_pads_with_zero() {
    let img = HostImage::from_f32(RectI::from_size(2, 1), Components::Alpha, Depth::F32, &[1.0, 2.0]).unwrap();
    let c = img.crop(RectI::new(1, 0, 3, 1));
    assert_eq!(c.to_f32(), vec![2.0, 0.0]);
}

#[test]
fn half_scale_box_filter() {
    // 640x360 served as 320x180 at render scale 0.5.
    let img = HostImage::new(RectI::from_size(640, 360), Components::Rgb, Depth::U8);
    let s = img.scaled((0.5, 0.5));
    assert_eq!(s.bounds, RectI::from_size(320, 180));
    // Averages 2x2 blocks.
    let v = [0.0, 1.0, 0.5, 0.5, 0.25, 0.75, 1.0, 0.0];
    let small = HostImage::from_f32(RectI::from_size(4, 2), Components::Alpha, Depth::F32, &v).unwrap();
    let h = small.scaled((0.5, 0.5));
    assert_eq!(h.bounds, RectI::from_size(2, 1));
    let got = h.to_f32();
    assert!((got[0] - 0.5).abs() < 1e-6 && (got[1] - 0.5).abs() < 1e-6, "{got:?}");
    // Odd sizes round outwards.
    let odd = HostImage::new(RectI::from_size(5, 3), Components::Alpha, Depth::U8).scaled((0.5, 0.5));
    assert_eq!(odd.bounds, RectI::from_size(3, 2));
}

#[test]
fn rect_helpers() {
    let r = RectI::from_canonical([0.0, 0.0, 641.0, 360.0], (0.5, 0.5));
    assert_eq!(r, RectI::new(0, 0, 321, 180));
    assert_eq!(RectI::new(0, 0, 10, 10).intersect(&RectI::new(5, 5, 20, 20)), RectI::new(5, 5, 10, 10));
    assert!(RectI::new(0, 0, 1, 1).intersect(&RectI::new(2, 2, 3, 3)).is_empty());
}
