//! Sampling a frame through a 2D affine map into network-sized inputs.
//!
//! Networks see small crops (128² for detection, 192² for landmarks) of frames up to 8K wide: plain bilinear
//! sampling would alias badly when shrinking 15×, so each output pixel averages a k×k grid of bilinear samples,
//! with k from the map's scale (an area filter that costs k² samples only where minifying).

use super::frame::Frame;

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

    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let m = &self.m;
        (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5])
    }

    /// Source pixels per output pixel (the larger axis).
    pub fn scale(&self) -> f32 {
        let m = &self.m;
        (m[0].hypot(m[3])).max(m[1].hypot(m[4]))
    }
}

/// Bilinear sample of RGB at source coordinates (pixel centres at +0.5); `None` outside the frame.
fn bilinear(frame: &Frame, x: f32, y: f32) -> Option<[f32; 3]> {
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    if !(x >= 0.0 && y >= 0.0 && x <= w && y <= h) {
        return None;
    }
    // Clamp to the centres of the edge pixels so the frame border extends half a pixel, as image resizers do.
    let fx = (x - 0.5).clamp(0.0, w - 1.0);
    let fy = (y - 0.5).clamp(0.0, h - 1.0);
    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(frame.width() - 1), (y0 + 1).min(frame.height() - 1));
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    let p = |xx, yy| frame.pixel(xx, yy);
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    let mut out = [0.0; 3];
    for ch in 0..3 {
        let top = a[ch] + (b[ch] - a[ch]) * tx;
        let bottom = c[ch] + (d[ch] - c[ch]) * tx;
        out[ch] = top + (bottom - top) * ty;
    }
    Some(out)
}

/// Samples an `out × out` RGB crop through `map` into `dst` (planar CHW, 3·out² values), colour clamped to
/// [0, 1] then mapped `v·gain + bias`. Outside the frame the value is `fill` (before gain and bias), like
/// the black bars of a letterbox.
pub fn crop_to_chw(frame: &Frame, map: &Affine, out: usize, gain: f32, bias: f32, fill: f32, dst: &mut [f32]) {
    let k = map.scale().ceil().clamp(1.0, 16.0) as usize;
    let plane = out * out;
    let inv = 1.0 / (k * k) as f32;
    for v in 0..out {
        for u in 0..out {
            let mut acc = [0.0f32; 3];
            for sy in 0..k {
                for sx in 0..k {
                    let (x, y) = map.apply(u as f32 + (sx as f32 + 0.5) / k as f32, v as f32 + (sy as f32 + 0.5) / k as f32);
                    // NaN/Inf pixels (bad renders upstream) become black: one must not poison a whole network input.
                    let px = bilinear(frame, x, y)
                        .map(|p| p.map(|c| if c.is_finite() { c.clamp(0.0, 1.0) } else { 0.0 }))
                        .unwrap_or([fill; 3]);
                    for c in 0..3 {
                        acc[c] += px[c];
                    }
                }
            }
            for c in 0..3 {
                dst[c * plane + v * out + u] = acc[c] * inv * gain + bias;
            }
        }
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
        assert!((a.scale() - 0.5).abs() < 1e-6);
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
}
