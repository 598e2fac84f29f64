//! Sampling an RGBA image through a 2D affine map into the planar crops the networks read: detection's tiles,
//! FaceMesh's rotated squares, the swap network's aligned face. Here, like the area downscale, because these
//! are per-pixel loops that this crate optimises in tests and benches as release builds do.
//!
//! Plain bilinear sampling would alias badly when a crop shrinks its source 15×, so each output pixel averages a
//! k×k grid of bilinear samples, with k from the map's scale (an area filter that costs k² samples only where
//! minifying). Detection's tiles are cut 1:1 from a downscaled level (a translation): those take a shorter loop
//! with the same arithmetic, so the same bits ([`crop_row`]).

use crate::clean_colour;

/// Most samples per output pixel and axis: a crop shrinking its source more than this much aliases a little
/// rather than taking more than 256 samples a pixel.
const MAX_SUBSAMPLES: usize = 16;

/// An RGBA image borrowed: `w × h` pixels, interleaved, row-major.
#[derive(Clone, Copy)]
pub struct Rgba<'a> {
    pub data: &'a [f32],
    pub width: usize,
    pub height: usize,
}

/// What a crop writes: colour clamped to [0, 1] (non-finite values black) then `value · gain + bias`; `fill`
/// (before gain and bias) outside the image, like the black bars of a letterbox.
#[derive(Clone, Copy, Debug)]
pub struct Levels {
    pub gain: f32,
    pub bias: f32,
    pub fill: f32,
}

/// Row `v` of a crop through `map` (`[a, b, c, d, e, f]`: output pixel centre `(x, y)` → source coordinates
/// `(a·x + b·y + c, d·x + e·y + f)`, pixel centres at +0.5) into its three planes' rows.
pub fn crop_row(src: Rgba<'_>, map: &[f32; 6], v: usize, levels: Levels, [r, g, b]: [&mut [f32]; 3]) {
    let k = scale(map).ceil().clamp(1.0, MAX_SUBSAMPLES as f32) as usize;
    if k == 1 && map[0] == 1.0 && map[1] == 0.0 && map[3] == 0.0 && map[4] == 1.0 {
        translated_row(src, map, v, levels, [r, g, b]);
    } else {
        general_row(src, map, k, v, levels, [r, g, b]);
    }
}

/// Source pixels per output pixel (the larger axis).
fn scale(m: &[f32; 6]) -> f32 {
    (m[0].hypot(m[3])).max(m[1].hypot(m[4]))
}

fn general_row(src: Rgba<'_>, m: &[f32; 6], k: usize, v: usize, Levels { gain, bias, fill }: Levels, [r, g, b]: [&mut [f32]; 3]) {
    let inv = 1.0 / (k * k) as f32;
    // Sub-sample offsets inside a pixel, divided once per row rather than twice per sample.
    let mut offsets = [0.0f32; MAX_SUBSAMPLES];
    for (s, o) in offsets.iter_mut().enumerate().take(k) {
        *o = (s as f32 + 0.5) / k as f32;
    }
    let offsets = &offsets[..k];
    for u in 0..r.len() {
        let mut acc = [0.0f32; 3];
        for &oy in offsets {
            for &ox in offsets {
                let (x, y) = (u as f32 + ox, v as f32 + oy);
                let (x, y) = (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]);
                // NaN/Inf pixels (bad renders upstream) become black: one must not poison a whole network input.
                let px = match bilinear(src, x, y) {
                    Some(p) => p.map(clean_colour),
                    None => [fill; 3],
                };
                for c in 0..3 {
                    acc[c] += px[c];
                }
            }
        }
        r[u] = acc[0] * inv * gain + bias;
        g[u] = acc[1] * inv * gain + bias;
        b[u] = acc[2] * inv * gain + bias;
    }
}

/// `general_row` for a map that only translates (one sample a pixel): the source row pair and its weight are
/// the same for the whole output row, so they are found once, and the pixels are read from two row slices.
/// Every value is computed with the operations `general_row` uses, in its order: the same bits (tested).
/// Detection's 88 tiles took ~20 ms of a 1080p frame through the general loop (opt-level 3).
fn translated_row(src: Rgba<'_>, m: &[f32; 6], v: usize, Levels { gain, bias, fill }: Levels, [r, g, b]: [&mut [f32]; 3]) {
    let (w, h) = (src.width as f32, src.height as f32);
    // What `general_row` computes for k = 1 (offset 0.5) when a = e = 1 and b = d = 0: adding the zero terms
    // changes no value.
    let y = (v as f32 + 0.5) + m[5];
    let finish = |acc: [f32; 3], r: &mut f32, g: &mut f32, b: &mut f32| {
        *r = acc[0] * gain + bias;
        *g = acc[1] * gain + bias;
        *b = acc[2] * gain + bias;
    };
    let outside = [0.0 + fill; 3];
    if !(y >= 0.0 && y <= h) || src.width == 0 || src.height == 0 {
        for ((r, g), b) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
            finish(outside, r, g, b);
        }
        return;
    }
    let (y0, y1, ty) = between(y, src.height);
    let row = |y: usize| &src.data[y * src.width * 4..][..src.width * 4];
    let (top_row, bottom_row) = (row(y0), row(y1));
    for (u, ((r, g), b)) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()).enumerate() {
        let x = (u as f32 + 0.5) + m[2];
        if !(x >= 0.0 && x <= w) {
            finish(outside, r, g, b);
            continue;
        }
        let (x0, x1, tx) = between(x, src.width);
        let (a, bb) = (&top_row[x0 * 4..][..3], &top_row[x1 * 4..][..3]);
        let (c, d) = (&bottom_row[x0 * 4..][..3], &bottom_row[x1 * 4..][..3]);
        let mut acc = [0.0f32; 3];
        for ch in 0..3 {
            let top = a[ch] + (bb[ch] - a[ch]) * tx;
            let bottom = c[ch] + (d[ch] - c[ch]) * tx;
            acc[ch] += clean_colour(top + (bottom - top) * ty);
        }
        // `general_row` also multiplies by 1/k², which is 1 here: no change to any value.
        finish(acc, r, g, b);
    }
}

/// Bilinear sample of RGB at source coordinates (pixel centres at +0.5); `None` outside the image.
#[inline(always)]
fn bilinear(src: Rgba<'_>, x: f32, y: f32) -> Option<[f32; 3]> {
    let (w, h) = (src.width as f32, src.height as f32);
    if !(x >= 0.0 && y >= 0.0 && x <= w && y <= h) || src.width == 0 || src.height == 0 {
        return None;
    }
    let ((x0, x1, tx), (y0, y1, ty)) = (between(x, src.width), between(y, src.height));
    let pixel = |x: usize, y: usize| &src.data[(y * src.width + x) * 4..][..3];
    let (a, b, c, d) = (pixel(x0, y0), pixel(x1, y0), pixel(x0, y1), pixel(x1, y1));
    let mut out = [0.0; 3];
    for ch in 0..3 {
        let top = a[ch] + (b[ch] - a[ch]) * tx;
        let bottom = c[ch] + (d[ch] - c[ch]) * tx;
        out[ch] = top + (bottom - top) * ty;
    }
    Some(out)
}

/// The two pixels a coordinate (pixel centres at +0.5) falls between along an axis of `len ≥ 1` pixels, and the
/// second one's weight. Clamped to the centres of the edge pixels, so the border extends half a pixel, as image
/// resizers do.
#[inline(always)]
fn between(coord: f32, len: usize) -> (usize, usize, f32) {
    let f = (coord - 0.5).clamp(0.0, len as f32 - 1.0);
    // Truncation is the floor here (f ≥ 0 after the clamp), and cheaper than `floor` without SSE4.1.
    let first = f as usize;
    (first, (first + 1).min(len - 1), f - first as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Translations at fractional offsets, reaching past every edge, over values with NaN, infinities and
    /// out-of-range colours: the short loop gives the general loop's bits.
    #[test]
    fn translated_rows_match_the_general_loop_bit_for_bit() {
        let (w, h) = (29, 17);
        let mut data = crate::tests::values(w * h * 4, 5);
        data[9] = f32::NAN;
        data[44] = f32::INFINITY;
        data[61] = 2.5;
        data[70] = -0.0;
        let src = Rgba { data: &data, width: w, height: h };
        let levels = Levels { gain: 2.0, bias: -1.0, fill: 0.25 };
        for (dx, dy) in [(0.0, 0.0), (3.37, -2.61), (-4.5, 5.25), (20.75, 11.125), (-0.001, 16.9)] {
            let map = [1.0, 0.0, dx, 0.0, 1.0, dy];
            for v in 0..24 {
                let n = 24;
                let (mut fast, mut slow) = (vec![0.0f32; 3 * n], vec![0.0f32; 3 * n]);
                let [fr, fg, fb] = split3(&mut fast, n);
                translated_row(src, &map, v, levels, [fr, fg, fb]);
                let [sr, sg, sb] = split3(&mut slow, n);
                general_row(src, &map, 1, v, levels, [sr, sg, sb]);
                assert!(fast.iter().zip(&slow).all(|(a, b)| a.to_bits() == b.to_bits()), "offset ({dx}, {dy}), row {v}");
            }
        }
    }

    fn split3(buf: &mut [f32], n: usize) -> [&mut [f32]; 3] {
        let (r, rest) = buf.split_at_mut(n);
        let (g, b) = rest.split_at_mut(n);
        [r, g, b]
    }
}
