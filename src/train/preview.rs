//! The preview sheet of a training run: per identity, sample faces with their reconstruction and their swap
//! into every other identity.

use crate::draw;
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

/// Sheet cells are at least this many pixels wide: a 64 px model's faces are shown at 2× (nearest
/// neighbour, so what is seen is what the network produced, pixel for pixel).
const MIN_CELL: usize = 128;
const GUTTER: u32 = 2;
const HEADER: u32 = 20;
const TEXT_SCALE: u32 = 2;
const BACKGROUND: Rgb<u8> = Rgb([24, 24, 24]);
const INK: Rgb<u8> = Rgb([255, 255, 255]);

/// Copies interleaved RGB in [0, 1] at `res`×`res` into `sheet` at (x0, y0), each pixel as a `zoom`² block.
fn blit(sheet: &mut RgbImage, rgb: &[f32], res: usize, zoom: u32, x0: u32, y0: u32) {
    for y in 0..res {
        for x in 0..res {
            let p = |c: usize| (rgb.get((y * res + x) * 3 + c).copied().unwrap_or(0.0).clamp(0.0, 1.0) * 255.0).round() as u8;
            let colour = Rgb([p(0), p(1), p(2)]);
            draw::fill(sheet, i64::from(x0 + x as u32 * zoom), i64::from(y0 + y as u32 * zoom), zoom, zoom, colour);
        }
    }
}

/// The preview sheet: one row per sample face, grouped by identity; columns: input, then the decode as every
/// identity (the own identity's column is the reconstruction, the others are swaps). Column titles on top, each
/// input labelled with its identity.
pub fn sheet(model: &SwapModel, faces: &[Vec<&FaceSample>], device: &Device) -> RgbImage {
    let res = model.config.resolution;
    let ids = model.identities.len();
    let (zoom, cell) = cell_size(res);
    let rows = faces.iter().map(Vec::len).sum::<usize>() as u32;
    let (w, h) = sheet_size(ids, rows as usize, res);
    let mut img = RgbImage::from_pixel(w, h, BACKGROUND);
    let titles = std::iter::once("input").chain(model.identities.iter().map(String::as_str));
    for (col, title) in titles.enumerate() {
        let x = GUTTER + col as u32 * (cell + GUTTER);
        let title = draw::fit(title, cell, TEXT_SCALE);
        draw::text(&mut img, i64::from(x), i64::from((HEADER - draw::GLYPH_H * TEXT_SCALE) / 2), &title, TEXT_SCALE, INK);
    }
    let mut row = 0;
    for (set, name) in faces.iter().zip(&model.identities) {
        let decoded: Vec<Vec<Vec<f32>>> = (0..ids).map(|i| decode_as(model, set, i, device)).collect();
        for (k, face) in set.iter().enumerate() {
            let y = HEADER + row * (cell + GUTTER);
            blit(&mut img, &face.rgb, res, zoom, GUTTER, y);
            draw::label(&mut img, i64::from(GUTTER), i64::from(y), &draw::fit(name, cell - 2, 1), 1, INK, Rgb([0, 0, 0]));
            for (i, d) in decoded.iter().enumerate() {
                blit(&mut img, &d[k], res, zoom, GUTTER + (i as u32 + 1) * (cell + GUTTER), y);
            }
            row += 1;
        }
    }
    img
}

/// The zoom (each model pixel drawn as a `zoom`² block) and the side of a sheet cell for a `res` px model.
fn cell_size(res: usize) -> (u32, u32) {
    let zoom = MIN_CELL.div_ceil(res.max(1)) as u32;
    (zoom, res.max(1) as u32 * zoom)
}

/// Width and height of the preview sheet for `identities` decoders, `rows` sample faces and a `res` px model.
pub fn sheet_size(identities: usize, rows: usize, res: usize) -> (u32, u32) {
    let (_, cell) = cell_size(res);
    let cols = identities as u32 + 1;
    (GUTTER + cols * (cell + GUTTER), HEADER + rows as u32 * (cell + GUTTER))
}
