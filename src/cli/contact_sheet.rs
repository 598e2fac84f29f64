//! A contact sheet: one row per sampled frame, source | output | mask side by side, the frame number
//! drawn small on each row, column titles on top. Enough to see at a glance what a render did.

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
/// Each font pixel is drawn as a SCALE×SCALE block: 3×5 glyphs become 6×10, legible and still small.
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
        draw_text(&mut sheet, x, (HEADER - 5 * SCALE) / 2, title);
    }
    for (r, row) in rows.iter().enumerate() {
        let y = HEADER + r as u32 * (tile_height + GUTTER);
        for (col, file) in [&row.source, &row.output, &row.mask].iter().enumerate() {
            let x = GUTTER + col as u32 * (tile_width + GUTTER);
            let tile = tile(file, tile_width, tile_height);
            imageops::replace(&mut sheet, &tile, i64::from(x), i64::from(y));
        }
        // On a dark box so it reads on bright plates too.
        let label = row.frame.to_string();
        let (bw, bh) = (text_width(&label) + 2 * SCALE, 5 * SCALE + 2 * SCALE);
        fill(&mut sheet, GUTTER, y, bw, bh, Rgb([0, 0, 0]));
        draw_text(&mut sheet, GUTTER + SCALE, y + SCALE, &label);
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

fn fill(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, colour: Rgb<u8>) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, colour);
        }
    }
}

fn text_width(text: &str) -> u32 {
    (text.chars().count() as u32 * 4).saturating_sub(1) * SCALE
}

/// Draws `text` (digits and the letters of the column titles) with its top-left at (x, y).
fn draw_text(img: &mut RgbImage, x: u32, y: u32, text: &str) {
    for (i, c) in text.chars().enumerate() {
        let gx = x + i as u32 * 4 * SCALE;
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..3u32 {
                if bits & (0b100 >> col) != 0 {
                    fill(img, gx + col * SCALE, y + row as u32 * SCALE, SCALE, SCALE, INK);
                }
            }
        }
    }
}

/// A 3×5 bitmap font: five rows of three bits, most significant bit on the left. Only the characters the
/// sheet draws; anything else is blank.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b001, 0b001, 0b001],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        'A' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'C' => [0b011, 0b100, 0b100, 0b100, 0b011],
        'E' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'K' => [0b101, 0b101, 0b110, 0b101, 0b101],
        'M' => [0b101, 0b111, 0b111, 0b101, 0b101],
        'O' => [0b010, 0b101, 0b101, 0b101, 0b010],
        'P' => [0b110, 0b101, 0b110, 0b100, 0b100],
        'R' => [0b110, 0b101, 0b110, 0b101, 0b101],
        'S' => [0b011, 0b100, 0b010, 0b001, 0b110],
        'T' => [0b111, 0b010, 0b010, 0b010, 0b010],
        'U' => [0b101, 0b101, 0b101, 0b101, 0b111],
        _ => [0; 5],
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
    fn every_titled_character_has_a_glyph() {
        for c in "SOURCEOUTPUTMASK0123456789".chars() {
            assert_ne!(glyph(c), [0; 5], "{c}");
        }
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
