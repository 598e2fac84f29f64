//! The last stage: mix the swapped face into the source through the shaped mask, per the output mode.
//!
//! `out = source + (swap − source) × mask × blend` on the colour channels. Where the mask is exactly zero the
//! source pixel is copied untouched, so everything outside the face stays bit-identical to the plate.

use super::frame::{Frame, Mask};

/// What the node's main output shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// The source with the swapped face blended in.
    Composite,
    /// The swapped face alone, premultiplied by the mask (black elsewhere).
    SwappedFace,
    /// The mask in every channel.
    MaskOnly,
}

/// How the composite treats alpha and strength.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompositeSettings {
    pub mode: OutputMode,
    /// Strength of the swap in [0, 1].
    pub blend: f32,
    /// Replace the output alpha with the face mask.
    pub mask_in_alpha: bool,
}

/// Mixes `swap` into `source` through `mask`. All three must have the same size. Rows run in parallel; each
/// pixel depends only on its own inputs, so the result is the same whatever the thread count.
pub fn composite(source: &Frame, swap: &Frame, mask: &Mask, settings: &CompositeSettings) -> Frame {
    use rayon::prelude::*;
    let mut out = source.clone();
    let blend = settings.blend.clamp(0.0, 1.0);
    let row = source.width() * 4;
    if row == 0 {
        return out;
    }
    let (src, sw, mk) = (source.data(), swap.data(), mask.data());
    out.data_mut().par_chunks_mut(row).enumerate().for_each(|(y, dst)| {
        let base = y * source.width();
        for (x, px) in dst.chunks_exact_mut(4).enumerate() {
            let i = base + x;
            let m = mk[i];
            let (s, w) = (&src[i * 4..i * 4 + 4], &sw[i * 4..i * 4 + 4]);
            match settings.mode {
                OutputMode::Composite => {
                    let k = m * blend;
                    if k > 0.0 {
                        for c in 0..3 {
                            px[c] = s[c] + (w[c] - s[c]) * k;
                        }
                    }
                    if settings.mask_in_alpha {
                        px[3] = m;
                    }
                }
                OutputMode::SwappedFace => {
                    for c in 0..3 {
                        px[c] = w[c] * m;
                    }
                    px[3] = m;
                }
                OutputMode::MaskOnly => {
                    px.copy_from_slice(&[m, m, m, m]);
                }
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Frame, Frame, Mask) {
        let source = Frame::filled(2, 1, [0.2, 0.4, 0.6, 1.0]);
        let swap = Frame::filled(2, 1, [1.0, 0.0, 0.5, 1.0]);
        let mask = Mask::from_values(2, 1, vec![0.0, 0.5]).unwrap();
        (source, swap, mask)
    }

    #[test]
    fn outside_mask_is_source_exactly() {
        let (source, swap, mask) = setup();
        let s = CompositeSettings { mode: OutputMode::Composite, blend: 1.0, mask_in_alpha: false };
        let out = composite(&source, &swap, &mask, &s);
        assert_eq!(out.pixel(0, 0), source.pixel(0, 0));
    }

    #[test]
    fn half_mask_half_blend_mixes_a_quarter() {
        let (source, swap, mask) = setup();
        let s = CompositeSettings { mode: OutputMode::Composite, blend: 0.5, mask_in_alpha: true };
        let out = composite(&source, &swap, &mask, &s);
        let p = out.pixel(1, 0);
        assert!((p[0] - (0.2 + 0.8 * 0.25)).abs() < 1e-6);
        assert!((p[1] - 0.3).abs() < 1e-6);
        assert_eq!(p[3], 0.5);
    }

    #[test]
    fn blend_zero_is_source() {
        let (source, swap, mask) = setup();
        let s = CompositeSettings { mode: OutputMode::Composite, blend: 0.0, mask_in_alpha: false };
        assert_eq!(composite(&source, &swap, &mask, &s), source);
    }

    #[test]
    fn mask_only_and_swapped_face_modes() {
        let (source, swap, mask) = setup();
        let s = CompositeSettings { mode: OutputMode::MaskOnly, blend: 1.0, mask_in_alpha: false };
        assert_eq!(composite(&source, &swap, &mask, &s).pixel(1, 0), [0.5; 4]);
        let s = CompositeSettings { mode: OutputMode::SwappedFace, blend: 1.0, mask_in_alpha: false };
        let out = composite(&source, &swap, &mask, &s);
        assert_eq!(out.pixel(1, 0), [0.5, 0.0, 0.25, 0.5]);
        assert_eq!(out.pixel(0, 0), [0.0; 4]);
    }

    /// Rows are split across threads: every pixel of a frame several rows high still gets its own mask value.
    #[test]
    fn parallel_rows_keep_each_pixel_with_its_own_mask_value() {
        let (w, h) = (37, 23);
        let v = |i: usize, k: usize| ((i * 7 + k * 13) % 101) as f32 / 100.0;
        let source = Frame::from_rgba(w, h, (0..w * h * 4).map(|i| v(i, 1)).collect()).unwrap();
        let swap = Frame::from_rgba(w, h, (0..w * h * 4).map(|i| v(i, 2)).collect()).unwrap();
        let mask = Mask::from_values(w, h, (0..w * h).map(|i| if i % 3 == 0 { 0.0 } else { v(i, 3) }).collect()).unwrap();
        let s = CompositeSettings { mode: OutputMode::Composite, blend: 0.75, mask_in_alpha: true };
        let out = composite(&source, &swap, &mask, &s);
        for y in 0..h {
            for x in 0..w {
                let (a, b, m) = (source.pixel(x, y), swap.pixel(x, y), mask.get(x, y));
                let want: Vec<f32> = (0..3).map(|c| if m == 0.0 { a[c] } else { a[c] + (b[c] - a[c]) * (m * 0.75) }).chain([m]).collect();
                assert_eq!(out.pixel(x, y).to_vec(), want, "pixel {x},{y}");
            }
        }
    }
}
