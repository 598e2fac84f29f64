//! The last stage: mix the swapped face into the source through the shaped mask, per the output mode.
//!
//! `out = source + (swap − source) × mask × blend` on the colour channels. Where the mask is exactly zero the
//! source pixel is copied untouched, so everything outside the face stays bit-identical to the plate.

use super::frame::{Frame, Patch};
#[cfg(test)]
use super::frame::{Mask, Rect};

/// What the node's main output shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// The source with the swapped face blended in.
    Composite,
    /// The swapped face alone, premultiplied by the mask (black elsewhere).
    SwappedFace,
    /// The mask in every channel.
    MaskOnly,
    /// The plate with what the face analysis found drawn on it (`pipeline::overlay`); no swap, no mask.
    /// The pipeline draws it before compositing, so `composite` leaves the plate as it is in this mode.
    Analysis,
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

/// Mixes the patches (which must not overlap) into `source`. Outside them the mask is zero and the swap is the
/// source, so those pixels are only touched when the mode changes them (alpha from the mask, mask or face
/// outputs). Rows run in parallel; each pixel depends only on its own inputs, so the result is the same
/// whatever the thread count.
pub fn composite(source: &Frame, patches: &[Patch], settings: &CompositeSettings) -> Frame {
    use rayon::prelude::*;
    let mut out = source.clone();
    let blend = settings.blend.clamp(0.0, 1.0);
    let width = source.width();
    if width == 0 {
        return out;
    }
    let (mode, alpha) = (settings.mode, settings.mask_in_alpha);
    // Composite without the mask in alpha leaves everything outside the patches as the source's bits.
    if mode == OutputMode::Analysis {
        return out;
    }
    if mode != OutputMode::Composite || alpha {
        out.data_mut().par_chunks_mut(width * 4).for_each(|row| {
            for px in row.chunks_exact_mut(4) {
                let s = [px[0], px[1], px[2], px[3]];
                mix(px, &s, &s, 0.0, blend, mode, alpha);
            }
        });
    }
    let src = source.data();
    for p in patches {
        let r = p.rect;
        let rows = &mut out.data_mut()[r.y0 * width * 4..r.y1 * width * 4];
        rows.par_chunks_mut(width * 4).enumerate().for_each(|(py, row)| {
            let y = r.y0 + py;
            for px_x in 0..r.width() {
                let (x, i) = (r.x0 + px_x, py * r.width() + px_x);
                let s = &src[(y * width + x) * 4..(y * width + x) * 4 + 4];
                mix(&mut row[x * 4..x * 4 + 4], s, &p.rgb.data()[i * 4..i * 4 + 4], p.mask.data()[i], blend, mode, alpha);
            }
        });
    }
    out
}

/// One output pixel from the source pixel `s`, the swapped pixel `w` and the mask value `m`.
fn mix(px: &mut [f32], s: &[f32], w: &[f32], m: f32, blend: f32, mode: OutputMode, mask_in_alpha: bool) {
    match mode {
        OutputMode::Composite => {
            let k = m * blend;
            if k > 0.0 {
                for c in 0..3 {
                    px[c] = s[c] + (w[c] - s[c]) * k;
                }
            }
            if mask_in_alpha {
                px[3] = m;
            }
        }
        OutputMode::SwappedFace => {
            if m > 0.0 {
                for c in 0..3 {
                    px[c] = w[c] * m;
                }
            } else {
                // Not `w * 0`: a NaN or infinite plate pixel outside the face must not leak into the face output.
                px[..3].fill(0.0);
            }
            px[3] = m;
        }
        OutputMode::MaskOnly => {
            px.copy_from_slice(&[m, m, m, m]);
        }
        OutputMode::Analysis => {}
    }
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

    /// A patch covering the whole frame.
    fn composite(source: &Frame, swap: &Frame, mask: &Mask, s: &CompositeSettings) -> Frame {
        let rect = Rect { x0: 0, y0: 0, x1: source.width(), y1: source.height() };
        super::composite(source, &[Patch { rect, rgb: swap.clone(), mask: mask.clone() }], s)
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

    /// A patch over part of the frame gives what the same patch spread over the whole frame (source pixels and
    /// a zero mask around it) gives, in every mode.
    #[test]
    fn a_patch_equals_the_same_change_over_the_whole_frame() {
        let (w, h) = (11, 9);
        let v = |i: usize, k: usize| ((i * 7 + k * 13) % 101) as f32 / 100.0;
        let source = Frame::from_rgba(w, h, (0..w * h * 4).map(|i| v(i, 1)).collect()).unwrap();
        let mut patch = Patch::of_source(&source, Rect { x0: 3, y0: 2, x1: 8, y1: 6 });
        for (i, m) in patch.mask.data_mut().iter_mut().enumerate() {
            *m = if i % 4 == 0 { 0.0 } else { v(i, 3) };
        }
        for (i, c) in patch.rgb.data_mut().iter_mut().enumerate() {
            *c = v(i, 2);
        }
        let mut whole = Patch::of_source(&source, Rect { x0: 0, y0: 0, x1: w, y1: h });
        whole.overlay(&patch);
        for mode in [OutputMode::Composite, OutputMode::SwappedFace, OutputMode::MaskOnly] {
            for mask_in_alpha in [false, true] {
                let s = CompositeSettings { mode, blend: 0.6, mask_in_alpha };
                assert_eq!(super::composite(&source, &[patch.clone()], &s), super::composite(&source, &[whole.clone()], &s), "{mode:?} {mask_in_alpha}");
            }
        }
    }
}
