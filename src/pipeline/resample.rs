//! Sampling a frame through a 2D affine map into network-sized inputs.
//!
//! Networks see small crops (128² for detection, 192² for landmarks) of frames up to 8K wide: plain bilinear
//! sampling would alias badly when shrinking 15×, so each output pixel averages a k×k grid of bilinear samples,
//! with k from the map's scale (an area filter that costs k² samples only where minifying). The per-pixel
//! loops are `faceswap_cpu_kernels::{crop_row, area_downscale}`.

use super::frame::Frame;
use faceswap_cpu_kernels::{crop_row, Levels, Rgba};

/// `src = [a b c; d e f] · [x y 1]`: maps output pixel centres to source pixel coordinates (pixel centres at
/// +0.5, y down).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    pub m: [f32; 6],
}

impl Affine {
    /// Maps the output square `[0, out] × [0, out]` onto a square of side `side` centred at (`cx`, `cy`) and
    /// rotated by `theta` (radians; the crop's x axis points along angle `theta` in the source, y down).
    pub fn square_crop(cx: f32, cy: f32, side: f32, theta: f32, out: usize) -> Affine {
        let s = side / out as f32;
        let (sin, cos) = theta.sin_cos();
        // Output pixel u → offset from the crop centre (u - out/2)·s, rotated, plus the centre.
        let (a, b, d, e) = (cos * s, -sin * s, sin * s, cos * s);
        let h = out as f32 / 2.0;
        Affine { m: [a, b, cx - a * h - b * h, d, e, cy - d * h - e * h] }
    }

    #[inline(always)]
    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let m = &self.m;
        (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5])
    }
}

/// Samples an `out × out` RGB crop through `map` into `dst` (planar CHW, 3·out² values), colour clamped to
/// [0, 1] then mapped `v·gain + bias`. Outside the frame the value is `fill` (before gain and bias), like
/// the black bars of a letterbox.
/// Rows are computed in parallel (a FaceMesh crop of a large face takes 9 samples a pixel: ~15 ms a crop on
/// one core at 1080p, and a frame crops each face twice). [`crop_to_chw_serial`] is the same on the calling
/// thread, for callers that already crop many tiles in parallel.
pub fn crop_to_chw(frame: &Frame, map: &Affine, out: usize, gain: f32, bias: f32, fill: f32, dst: &mut [f32]) {
    use rayon::prelude::*;
    let plane = out * out;
    let (red, rest) = dst[..3 * plane].split_at_mut(plane);
    let (green, blue) = rest.split_at_mut(plane);
    let (src, levels) = (source(frame), Levels { gain, bias, fill });
    let rows = red.par_chunks_mut(out).zip(green.par_chunks_mut(out)).zip(blue.par_chunks_mut(out));
    rows.enumerate().for_each(|(v, ((r, g), b))| crop_row(src, &map.m, v, levels, [r, g, b]));
}

/// [`crop_to_chw`] without the parallel rows.
pub fn crop_to_chw_serial(frame: &Frame, map: &Affine, out: usize, gain: f32, bias: f32, fill: f32, dst: &mut [f32]) {
    let plane = out * out;
    let (red, rest) = dst[..3 * plane].split_at_mut(plane);
    let (green, blue) = rest.split_at_mut(plane);
    let (src, levels) = (source(frame), Levels { gain, bias, fill });
    let rows = red.chunks_mut(out).zip(green.chunks_mut(out)).zip(blue.chunks_mut(out));
    rows.enumerate().for_each(|(v, ((r, g), b))| crop_row(src, &map.m, v, levels, [r, g, b]));
}

/// The frame as the kernel crate's crop (`crop_row`: the per-pixel loop, in the crate optimised in tests and
/// benches as in release builds) reads it.
fn source(frame: &Frame) -> Rgba<'_> {
    Rgba { data: frame.data(), width: frame.width(), height: frame.height() }
}

/// The frame shrunk by `scale` (< 1) with an exact area filter: each output pixel is the mean of the source
/// area it covers (partial pixels weighted by their overlap), colours clamped to [0, 1] and non-finite values
/// read as black first, as [`crop_to_chw`] does. Output size is `ceil(w·scale) × ceil(h·scale)`; the last
/// column and row average only the source they cover. Rows are computed in parallel.
///
/// Detection looks at dozens of tiles of the same size; shrinking the frame once per tile size and cropping
/// the tiles 1:1 from it replaces k² bilinear samples per tile pixel by about one read per source pixel. The
/// loop is `faceswap_cpu_kernels::area_downscale` (it reads the whole frame; that crate is optimised in tests
/// and benches too).
pub fn area_downscale(frame: &Frame, scale: f32) -> Frame {
    let (ow, oh, out) = faceswap_cpu_kernels::area_downscale(frame.data(), frame.width(), frame.height(), scale);
    Frame::from_rgba(ow, oh, out).expect("ow·oh·4 values by construction")
}

impl Affine {
    /// The same map into a frame scaled by `s` (source coordinates multiplied by `s`).
    pub fn scaled(&self, s: f32) -> Affine {
        Affine { m: self.m.map(|v| v * s) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_crop_maps_centre_and_corners() {
        let a = Affine::square_crop(100.0, 50.0, 64.0, 0.0, 128);
        assert_eq!(a.apply(64.0, 64.0), (100.0, 50.0));
        assert_eq!(a.apply(0.0, 0.0), (68.0, 18.0));
        assert!((a.m[0].hypot(a.m[3]) - 0.5).abs() < 1e-6, "half a source pixel per output pixel");
        let r = Affine::square_crop(0.0, 0.0, 2.0, std::f32::consts::FRAC_PI_2, 2);
        let (x, y) = r.apply(2.0, 1.0); // one unit along the crop's x axis → along +y in the source
        assert!(x.abs() < 1e-6 && (y - 1.0).abs() < 1e-6, "{x} {y}");
    }

    #[test]
    fn identity_crop_reproduces_pixels_and_fills_outside() {
        let mut f = Frame::filled(4, 4, [0.0, 0.0, 0.0, 1.0]);
        f.set_pixel(1, 2, [1.0, 0.5, 0.25, 1.0]);
        let map = Affine::square_crop(2.0, 2.0, 4.0, 0.0, 4);
        let mut dst = vec![0.0; 48];
        crop_to_chw(&f, &map, 4, 2.0, -1.0, 0.0, &mut dst);
        assert_eq!([dst[2 * 4 + 1], dst[16 + 2 * 4 + 1], dst[32 + 2 * 4 + 1]], [1.0, 0.0, -0.5]);
        let outside = Affine::square_crop(100.0, 100.0, 4.0, 0.0, 4);
        crop_to_chw(&f, &outside, 4, 1.0, 0.0, 0.25, &mut dst);
        assert!(dst.iter().all(|&v| v == 0.25));
    }

    #[test]
    fn non_finite_pixels_do_not_reach_the_networks() {
        let mut f = Frame::filled(4, 4, [0.5, 0.5, 0.5, 1.0]);
        f.set_pixel(1, 1, [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.0]);
        let mut dst = vec![0.0; 48];
        crop_to_chw(&f, &Affine::square_crop(2.0, 2.0, 4.0, 0.0, 4), 4, 1.0, 0.0, 0.0, &mut dst);
        assert!(dst.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn minifying_averages_instead_of_aliasing() {
        // A 1-pixel checkerboard shrunk 8x must come out mid-grey, not black or white.
        let mut f = Frame::filled(64, 64, [0.0, 0.0, 0.0, 1.0]);
        for y in 0..64 {
            for x in 0..64 {
                if (x + y) % 2 == 0 {
                    f.set_pixel(x, y, [1.0, 1.0, 1.0, 1.0]);
                }
            }
        }
        let map = Affine::square_crop(32.0, 32.0, 64.0, 0.0, 8);
        let mut dst = vec![0.0; 3 * 64];
        crop_to_chw(&f, &map, 8, 1.0, 0.0, 0.0, &mut dst);
        assert!(dst.iter().all(|&v| (v - 0.5).abs() < 0.1), "{dst:?}");
    }

    #[test]
    fn area_downscale_averages_whole_and_partial_pixels() {
        // 5 px wide, halved: output pixels cover source [0,2), [2,4), [4,5).
        let mut f = Frame::filled(5, 1, [0.0, 0.0, 0.0, 1.0]);
        for (x, v) in [0.2, 0.4, 0.6, 0.8, 1.0].into_iter().enumerate() {
            f.set_pixel(x, 0, [v, 2.0, f32::NAN, 1.0]);
        }
        let d = area_downscale(&f, 0.5);
        assert_eq!((d.width(), d.height()), (3, 1));
        let r: Vec<f32> = (0..3).map(|x| d.pixel(x, 0)[0]).collect();
        // Float sums of two or one values: exact to 1e-6.
        for (got, want) in r.iter().zip([0.3, 0.7, 1.0]) {
            assert!((got - want).abs() < 1e-6, "{r:?}");
        }
        // Out-of-range and non-finite values are clamped / zeroed before averaging.
        assert!((0..3).all(|x| d.pixel(x, 0)[1] == 1.0 && d.pixel(x, 0)[2] == 0.0));
    }

    #[test]
    fn cropping_a_downscaled_frame_matches_the_area_filtered_crop() {
        // A smooth gradient: both filters average the same areas, so they agree up to the sub-sample
        // placement of the k×k filter (1/k of a pixel of a slow ramp).
        let mut f = Frame::filled(240, 240, [0.0; 4]);
        for y in 0..240 {
            for x in 0..240 {
                f.set_pixel(x, y, [x as f32 / 240.0, y as f32 / 240.0, 0.5, 1.0]);
            }
        }
        let map = Affine::square_crop(120.0, 120.0, 240.0, 0.0, 16);
        let (mut direct, mut via) = (vec![0.0; 3 * 256], vec![0.0; 3 * 256]);
        crop_to_chw(&f, &map, 16, 1.0, 0.0, 0.0, &mut direct);
        let s = 16.0 / 240.0;
        crop_to_chw(&area_downscale(&f, s), &map.scaled(s), 16, 1.0, 0.0, 0.0, &mut via);
        let worst = direct.iter().zip(&via).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 0.01, "worst {worst}");
    }
}
