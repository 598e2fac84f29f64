//! Pictures of a training run: the preview sheet (per identity: input, reconstruction, swap into each other
//! identity) and the loss curve.

use crate::faceset::FaceSample;
use crate::model::swap_model::SwapModel;
use burn::prelude::*;
use burn::tensor::TensorData;
use image::{Rgb, RgbImage};

/// Runs `faces` (interleaved RGB at the model's resolution) through decoder `identity`; returns interleaved RGB.
pub fn decode_as(model: &SwapModel, faces: &[&FaceSample], identity: usize, device: &Device) -> Vec<Vec<f32>> {
    let res = model.config.resolution;
    let plane = res * res;
    let mut chw = Vec::with_capacity(faces.len() * 3 * plane);
    for f in faces {
        for c in 0..3 {
            chw.extend((0..plane).map(|i| f.rgb[i * 3 + c]));
        }
    }
    let x = Tensor::<4>::from_data(TensorData::new(chw, [faces.len(), 3, res, res]), device);
    let out: Vec<f32> = model.net.forward(x, identity).rgb.try_into_data().ok().and_then(|d| d.try_into_vec().ok()).unwrap_or_default();
    (0..faces.len())
        .map(|b| {
            let base = b * 3 * plane;
            (0..plane).flat_map(|i| (0..3).map(move |c| (base, c, i))).map(|(base, c, i)| out.get(base + c * plane + i).copied().unwrap_or(0.0)).collect()
        })
        .collect()
}

fn blit(sheet: &mut RgbImage, rgb: &[f32], res: usize, x0: u32, y0: u32) {
    for y in 0..res {
        for x in 0..res {
            let p = |c: usize| (rgb.get((y * res + x) * 3 + c).copied().unwrap_or(0.0).clamp(0.0, 1.0) * 255.0).round() as u8;
            sheet.put_pixel(x0 + x as u32, y0 + y as u32, Rgb([p(0), p(1), p(2)]));
        }
    }
}

/// The preview sheet: one row per sample face; columns: input, then the decode as every identity (the own
/// identity's column is the reconstruction, the others are swaps).
pub fn sheet(model: &SwapModel, faces: &[Vec<&FaceSample>], device: &Device) -> RgbImage {
    let res = model.config.resolution;
    let ids = model.identities.len();
    let rows: usize = faces.iter().map(Vec::len).sum();
    let mut img = RgbImage::from_pixel(((ids + 1) * res) as u32, (rows * res).max(1) as u32, Rgb([24, 24, 24]));
    let mut row = 0;
    for set in faces {
        let decoded: Vec<Vec<Vec<f32>>> = (0..ids).map(|i| decode_as(model, set, i, device)).collect();
        for (k, face) in set.iter().enumerate() {
            let y = (row * res) as u32;
            blit(&mut img, &face.rgb, res, 0, y);
            for (i, d) in decoded.iter().enumerate() {
                blit(&mut img, &d[k], res, ((i + 1) * res) as u32, y);
            }
            row += 1;
        }
    }
    img
}

/// The loss curve: one polyline per identity over iterations, log-scaled loss, on a 640×320 canvas.
pub fn loss_plot(history: &[(u64, Vec<f32>)]) -> RgbImage {
    let (w, h) = (640u32, 320u32);
    let mut img = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    let colours = [Rgb([200, 60, 40]), Rgb([40, 90, 200]), Rgb([40, 150, 60]), Rgb([160, 60, 160])];
    let Some(last) = history.last() else { return img };
    let all: Vec<f32> = history.iter().flat_map(|(_, l)| l.iter().copied()).filter(|v| *v > 0.0 && v.is_finite()).collect();
    let (lo, hi) = all.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v.ln()), b.max(v.ln())));
    let span = (hi - lo).max(1e-6);
    let max_it = last.0.max(1) as f32;
    for (id, colour) in (0..last.1.len()).zip(colours.iter().cycle()) {
        let mut prev: Option<(f32, f32)> = None;
        for (it, losses) in history {
            let Some(&v) = losses.get(id) else { continue };
            if !(v > 0.0 && v.is_finite()) {
                continue;
            }
            let p = (*it as f32 / max_it * (w - 1) as f32, (1.0 - (v.ln() - lo) / span) * (h - 1) as f32);
            if let Some(q) = prev {
                let steps = ((p.0 - q.0).abs().max((p.1 - q.1).abs()).ceil() as usize).max(1);
                for s in 0..=steps {
                    let t = s as f32 / steps as f32;
                    let (x, y) = (q.0 + (p.0 - q.0) * t, q.1 + (p.1 - q.1) * t);
                    if x >= 0.0 && y >= 0.0 && (x as u32) < w && (y as u32) < h {
                        img.put_pixel(x as u32, y as u32, *colour);
                    }
                }
            }
            prev = Some(p);
        }
    }
    img
}
