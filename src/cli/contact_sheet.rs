//! A contact sheet: one row per sampled frame, source | output | mask side by side, the frame number
//! drawn small on each row, column titles on top. Enough to see at a glance what a render did.

use faceswap_ofx::draw;
use image::{imageops, Rgb, RgbImage};
use std::path::{Path, PathBuf};

/// One row of the sheet.
pub struct Row {
    pub frame: i64,
    pub source: PathBuf,
    pub output: PathBuf,
    pub mask: PathBuf,
}

const GUTTER: u32 = 4;
const HEADER: u32 = 18;
/// Each font pixel is drawn as a SCALE×SCALE block: 5×7 glyphs become 10×14, legible and still small.
const SCALE: u32 = 2;
const BACKGROUND: Rgb<u8> = Rgb([24, 24, 24]);
/// Stands in for a file that is missing or unreadable (e.g. no mask on a frame the node skipped).
const MISSING: Rgb<u8> = Rgb([60, 0, 0]);
const INK: Rgb<u8> = Rgb([255, 255, 255]);

/// Up to `count` frames spread evenly over `first..=last`, both ends included.
pub fn sample_frames(first: i64, last: i64, count: usize) -> Vec<i64> {
    let span = last - first;
    if count <= 1 || span <= 0 {
        return vec![first];
    }
    let n = count as i64;
    let mut frames: Vec<i64> = (0..n).map(|i| first + i * span / (n - 1)).collect();
    frames.dedup();
    frames
}

/// Writes the sheet to `path` with tiles `tile_width` pixels wide (heights follow the first source's aspect).
pub fn write(rows: &[Row], path: &Path, tile_width: u32) -> Result<(), String> {
    let first = rows.first().ok_or("a contact sheet needs at least one frame")?;
    let probe = image::open(&first.source).map_err(|e| format!("{}: {e}", first.source.display()))?;
    let tile_height = ((u64::from(tile_width) * u64::from(probe.height())) / u64::from(probe.width().max(1))).max(1) as u32;
    let width = 3 * tile_width + 4 * GUTTER;
    let height = HEADER + rows.len() as u32 * (tile_height + GUTTER) + GUTTER;
    let mut sheet = RgbImage::from_pixel(width, height, BACKGROUND);
    for (col, title) in ["SOURCE", "OUTPUT", "MASK"].iter().enumerate() {
        let x = GUTTER + col as u32 * (tile_width + GUTTER);
        draw::text(&mut sheet, i64::from(x), i64::from((HEADER - draw::GLYPH_H * SCALE) / 2), title, SCALE, INK);
    }
    for (r, row) in rows.iter().enumerate() {
        let y = HEADER + r as u32 * (tile_height + GUTTER);
        for (col, file) in [&row.source, &row.output, &row.mask].iter().enumerate() {
            let x = GUTTER + col as u32 * (tile_width + GUTTER);
            let tile = tile(file, tile_width, tile_height);
            imageops::replace(&mut sheet, &tile, i64::from(x), i64::from(y));
        }
        // On a dark box so it reads on bright plates too.
        draw::label(&mut sheet, i64::from(GUTTER), i64::from(y), &row.frame.to_string(), SCALE, INK, Rgb([0, 0, 0]));
    }
    sheet.save(path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The image at `file` scaled to the tile, or a marked tile when it cannot be read.
fn tile(file: &Path, w: u32, h: u32) -> RgbImage {
    match image::open(file) {
        // 16-bit masks and RGBA outputs alike end up as 8-bit RGB; alpha is dropped on purpose (the mask
        // column shows the matte, the output column the colour).
        Ok(img) => imageops::resize(&img.to_rgb8(), w, h, imageops::FilterType::Triangle),
        Err(_) => RgbImage::from_pixel(w, h, MISSING),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_spread_over_the_range() {
        assert_eq!(sample_frames(69, 157, 6), vec![69, 86, 104, 121, 139, 157]);
        assert_eq!(sample_frames(1, 3, 6), vec![1, 2, 3], "short ranges give each frame once");
        assert_eq!(sample_frames(5, 5, 6), vec![5]);
    }

    #[test]
    fn sheet_has_a_row_per_frame_and_marks_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.png");
        RgbImage::from_pixel(64, 36, Rgb([200, 100, 50])).save(&src).unwrap();
        let rows: Vec<Row> = [1, 2]
            .iter()
            .map(|&f| Row { frame: f, source: src.clone(), output: src.clone(), mask: dir.path().join("absent.png") })
            .collect();
        let out = dir.path().join("sheet.png");
        write(&rows, &out, 32).unwrap();
        let sheet = image::open(&out).unwrap().to_rgb8();
        assert_eq!(sheet.dimensions(), (3 * 32 + 4 * GUTTER, HEADER + 2 * (18 + GUTTER) + GUTTER));
        let mask_tile = (GUTTER + 2 * (32 + GUTTER) + 16, HEADER + 9);
        assert_eq!(*sheet.get_pixel(mask_tile.0, mask_tile.1), MISSING);
    }
}
