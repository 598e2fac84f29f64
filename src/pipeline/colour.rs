//! Colour transfer: match the swapped face's colour statistics to the plate's face inside the face mask.
//!
//! Works on crops (the canonical face crop of the swap model) with a weight mask, so the statistics come from
//! skin and not from background or hair.

use super::ColourTransfer;

/// Matches the statistics of `face` (interleaved RGB in [0, 1]) to those of `target`, both weighted by `weight`
/// (one value a pixel). Changes `face` in place. Pixels with zero total weight leave it untouched.
pub fn transfer(mode: ColourTransfer, face: &mut [f32], target: &[f32], weight: &[f32]) {
    transfer_between(mode, face, weight, target, weight);
}

/// [`transfer`] where the two images have their own weights: `face`'s statistics are taken where
/// `face_weight` is, `target`'s where `target_weight` is (two different faces, as in training's colour
/// borrowing). Every pixel of `face` is changed.
pub fn transfer_between(mode: ColourTransfer, face: &mut [f32], face_weight: &[f32], target: &[f32], target_weight: &[f32]) {
    if face_weight.iter().all(|&w| w <= 0.0) || target_weight.iter().all(|&w| w <= 0.0) {
        return;
    }
    match mode {
        ColourTransfer::None => {}
        ColourTransfer::MeanStdRgb => match_stats(face, face_weight, target, target_weight),
        ColourTransfer::ReinhardLab => {
            let mut face_lab: Vec<f32> = face.chunks_exact(3).flat_map(rgb_to_lab).collect();
            let target_lab: Vec<f32> = target.chunks_exact(3).flat_map(rgb_to_lab).collect();
            match_stats(&mut face_lab, face_weight, &target_lab, target_weight);
            for (dst, lab) in face.chunks_exact_mut(3).zip(face_lab.chunks_exact(3)) {
                dst.copy_from_slice(&lab_to_rgb(lab));
            }
        }
    }
}

/// Weighted mean and standard deviation of each of the 3 channels.
fn stats(data: &[f32], weight: &[f32]) -> Option<([f64; 3], [f64; 3])> {
    let mut sum_w = 0.0f64;
    let mut mean = [0.0f64; 3];
    for (px, &w) in data.chunks_exact(3).zip(weight) {
        let w = w.max(0.0) as f64;
        sum_w += w;
        for c in 0..3 {
            mean[c] += w * px[c] as f64;
        }
    }
    if sum_w <= 1e-6 {
        return None;
    }
    for m in &mut mean {
        *m /= sum_w;
    }
    let mut var = [0.0f64; 3];
    for (px, &w) in data.chunks_exact(3).zip(weight) {
        let w = w.max(0.0) as f64;
        for c in 0..3 {
            let d = px[c] as f64 - mean[c];
            var[c] += w * d * d;
        }
    }
    let std = var.map(|v| (v / sum_w).sqrt());
    Some((mean, std))
}

fn match_stats(face: &mut [f32], face_weight: &[f32], target: &[f32], target_weight: &[f32]) {
    let (Some((fm, fs)), Some((tm, ts))) = (stats(face, face_weight), stats(target, target_weight)) else {
        return;
    };
    // A flat source channel (std ~ 0) would explode the gain; 1e-4 is well below any real skin variation.
    let gain: [f64; 3] = std::array::from_fn(|c| if fs[c] > 1e-4 { ts[c] / fs[c] } else { 1.0 });
    for px in face.chunks_exact_mut(3) {
        for c in 0..3 {
            px[c] = ((px[c] as f64 - fm[c]) * gain[c] + tm[c]) as f32;
        }
    }
}

// sRGB-encoded RGB ↔ CIE Lab (D65). The plate may be scene-linear; the transfer only needs a perceptually
// even space where the statistics are meaningful, and values are clamped to [0, 1] on the way in.
fn srgb_to_linear(v: f32) -> f32 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(v: f32) -> f32 {
    if v <= 0.0031308 {
        v * 12.92
    } else {
        1.055 * v.max(0.0).powf(1.0 / 2.4) - 0.055
    }
}

const WHITE: [f32; 3] = [0.95047, 1.0, 1.08883];

fn f_lab(t: f32) -> f32 {
    if t > 0.008856 {
        t.cbrt()
    } else {
        7.787 * t + 16.0 / 116.0
    }
}

fn f_lab_inv(t: f32) -> f32 {
    if t > 0.206893 {
        t * t * t
    } else {
        (t - 16.0 / 116.0) / 7.787
    }
}

fn rgb_to_lab(rgb: &[f32]) -> [f32; 3] {
    let [r, g, b] = [srgb_to_linear(rgb[0]), srgb_to_linear(rgb[1]), srgb_to_linear(rgb[2])];
    let x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
    let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    let z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
    let (fx, fy, fz) = (f_lab(x / WHITE[0]), f_lab(y / WHITE[1]), f_lab(z / WHITE[2]));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

fn lab_to_rgb(lab: &[f32]) -> [f32; 3] {
    let fy = (lab[0] + 16.0) / 116.0;
    let fx = fy + lab[1] / 500.0;
    let fz = fy - lab[2] / 200.0;
    let (x, y, z) = (f_lab_inv(fx) * WHITE[0], f_lab_inv(fy) * WHITE[1], f_lab_inv(fz) * WHITE[2]);
    let r = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z;
    let g = -0.9692660 * x + 1.8760108 * y + 0.0415560 * z;
    let b = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z;
    [linear_to_srgb(r).clamp(0.0, 1.0), linear_to_srgb(g).clamp(0.0, 1.0), linear_to_srgb(b).clamp(0.0, 1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize, base: [f32; 3], spread: f32) -> Vec<f32> {
        (0..n).flat_map(|i| {
            let t = i as f32 / (n - 1) as f32 - 0.5;
            [base[0] + spread * t, base[1] + spread * t * 0.5, base[2] - spread * t * 0.3]
        }).collect()
    }

    #[test]
    fn lab_round_trip() {
        for rgb in [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.8, 0.5, 0.3], [0.1, 0.7, 0.9]] {
            let back = lab_to_rgb(&rgb_to_lab(&rgb));
            for c in 0..3 {
                // Float Lab round trip; 1e-4 is far below one 8-bit code value (3.9e-3).
                assert!((back[c] - rgb[c]).abs() < 1e-4, "{rgb:?} -> {back:?}");
            }
        }
        let white = rgb_to_lab(&[1.0, 1.0, 1.0]);
        assert!((white[0] - 100.0).abs() < 1e-2 && white[1].abs() < 1e-2 && white[2].abs() < 1e-2);
    }

    #[test]
    fn both_modes_move_face_statistics_to_the_target() {
        let target = ramp(64, [0.7, 0.5, 0.4], 0.2);
        let weight = vec![1.0; 64];
        for mode in [ColourTransfer::MeanStdRgb, ColourTransfer::ReinhardLab] {
            let mut face = ramp(64, [0.3, 0.4, 0.6], 0.05);
            transfer(mode, &mut face, &target, &weight);
            let (fm, _) = stats(&face, &weight).unwrap();
            let (tm, _) = stats(&target, &weight).unwrap();
            for c in 0..3 {
                // RGB matches exactly; Lab matches in Lab, so RGB means agree to within the non-linearity.
                assert!((fm[c] - tm[c]).abs() < 0.02, "{mode:?} channel {c}: {} vs {}", fm[c], tm[c]);
            }
        }
    }

    /// Each image's statistics come from its own weights: a face whose weighted half is dark takes the mean
    /// of the target's weighted half, whatever the unweighted halves hold.
    #[test]
    fn transfer_between_reads_each_image_where_its_own_weight_is() {
        let mut face: Vec<f32> = (0..16).flat_map(|i| if i < 8 { [0.2, 0.2, 0.2] } else { [0.9, 0.1, 0.1] }).collect();
        let target: Vec<f32> = (0..16).flat_map(|i| if i < 8 { [0.1, 0.9, 0.1] } else { [0.6, 0.6, 0.6] }).collect();
        let first: Vec<f32> = (0..16).map(|i| if i < 8 { 1.0 } else { 0.0 }).collect();
        let second: Vec<f32> = first.iter().map(|w| 1.0 - w).collect();
        transfer_between(ColourTransfer::MeanStdRgb, &mut face, &first, &target, &second);
        let (fm, _) = stats(&face, &first).unwrap();
        assert!(fm.iter().all(|m| (m - 0.6).abs() < 1e-6), "{fm:?}");
        // A flat face (std 0) is shifted, not scaled: its other half moves by the same offset.
        assert!((face[3 * 8] - 1.3).abs() < 1e-6 && (face[3 * 8 + 1] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn zero_weight_or_none_leaves_face_alone() {
        let target = ramp(8, [0.7, 0.5, 0.4], 0.2);
        let original = ramp(8, [0.3, 0.4, 0.6], 0.05);
        let mut face = original.clone();
        transfer(ColourTransfer::ReinhardLab, &mut face, &target, &[0.0; 8]);
        assert_eq!(face, original);
        transfer(ColourTransfer::None, &mut face, &target, &[1.0; 8]);
        assert_eq!(face, original);
    }
}
