//! Image files (PNG 8/16-bit, OpenEXR float) and printf-style image sequences.
//!
//! Files are top-down, [`HostImage`] rows bottom-up: readers and writers flip. Images read from
//! files have bounds `(0, 0, width, height)`. Single-channel files (grey PNG, EXR with one channel
//! or only `Y`) read as [`Components::Alpha`].

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use exr::prelude as ex;
use parking_lot::Mutex;

use crate::error::{HostError, Result};
use crate::image::{Components, Depth, HostImage, RectI};
use crate::render_ctx::FrameProvider;

fn file_err(path: &Path, reason: impl ToString) -> HostError {
    HostError::ImageFile { path: path.to_owned(), reason: reason.to_string() }
}

fn ext(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

/// Reverses the row order of tightly packed rows.
fn flip_rows(data: &[u8], row_bytes: usize) -> Vec<u8> {
    if row_bytes == 0 {
        return data.to_vec();
    }
    data.chunks_exact(row_bytes).rev().flatten().copied().collect()
}

/// Reads a PNG (8 or 16 bit) or EXR (float) file.
pub fn read_image(path: impl AsRef<Path>) -> Result<HostImage> {
    let path = path.as_ref();
    if ext(path) == "exr" {
        return read_exr(path);
    }
    let img = image::open(path).map_err(|e| file_err(path, e))?;
    let (w, h) = (img.width(), img.height());
    use image::DynamicImage as D;
    let (components, depth, bytes): (Components, Depth, Vec<u8>) = match img {
        D::ImageLuma8(b) => (Components::Alpha, Depth::U8, b.into_raw()),
        D::ImageRgb8(b) => (Components::Rgb, Depth::U8, b.into_raw()),
        D::ImageRgba8(b) => (Components::Rgba, Depth::U8, b.into_raw()),
        D::ImageLumaA8(_) => (Components::Rgba, Depth::U8, img.to_rgba8().into_raw()),
        D::ImageLuma16(b) => (Components::Alpha, Depth::U16, b.into_raw().iter().flat_map(|v| v.to_ne_bytes()).collect()),
        D::ImageRgb16(b) => (Components::Rgb, Depth::U16, b.into_raw().iter().flat_map(|v| v.to_ne_bytes()).collect()),
        D::ImageRgba16(b) => (Components::Rgba, Depth::U16, b.into_raw().iter().flat_map(|v| v.to_ne_bytes()).collect()),
        D::ImageRgb32F(b) => (Components::Rgb, Depth::F32, b.into_raw().iter().flat_map(|v| v.to_ne_bytes()).collect()),
        other => (Components::Rgba, Depth::U16, other.to_rgba16().into_raw().iter().flat_map(|v| v.to_ne_bytes()).collect()),
    };
    let bounds = RectI::from_size(w, h);
    let row_bytes = w as usize * components.count() * depth.bytes();
    Ok(HostImage { bounds, components, depth, row_bytes, data: flip_rows(&bytes, row_bytes) })
}

fn read_exr(path: &Path) -> Result<HostImage> {
    let image = ex::read_first_flat_layer_from_file(path).map_err(|e| file_err(path, e))?;
    let layer = &image.layer_data;
    let (w, h) = (layer.size.width(), layer.size.height());
    let channel = |name: &str| layer.channel_data.list.iter().find(|c| c.name.eq(name)).map(|c| c.sample_data.values_as_f32().collect::<Vec<f32>>());
    let planes: Vec<Vec<f32>> = match (channel("R"), channel("G"), channel("B"), channel("A"), channel("Y")) {
        (Some(r), Some(g), Some(b), Some(a), _) => vec![r, g, b, a],
        (Some(r), Some(g), Some(b), None, _) => vec![r, g, b],
        (_, _, _, _, Some(y)) => vec![y],
        (_, _, _, Some(a), _) => vec![a],
        _ if layer.channel_data.list.len() == 1 => vec![layer.channel_data.list[0].sample_data.values_as_f32().collect()],
        _ => return Err(file_err(path, "no R,G,B(,A), Y or single channel")),
    };
    let n = planes.len();
    let components = Components::from_count(n).ok_or_else(|| file_err(path, "unsupported channel count"))?;
    // Interleave, flipping rows to bottom-up.
    let mut values = Vec::with_capacity(w * h * n);
    for y in (0..h).rev() {
        for x in 0..w {
            values.extend(planes.iter().map(|p| p[y * w + x]));
        }
    }
    HostImage::from_f32(RectI::from_size(w as u32, h as u32), components, Depth::F32, &values)
}

/// Writes `img` by extension: `.png` (8-bit for U8, 16-bit otherwise; floats are clamped to
/// [0, 1]) or `.exr` (32-bit float; Alpha as a single `Y` channel). Parent folders are created.
pub fn write_image(path: impl AsRef<Path>, img: &HostImage) -> Result<()> {
    let path = path.as_ref();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| HostError::Io { path: dir.to_owned(), source })?;
    }
    match ext(path).as_str() {
        "png" => write_png(path, img),
        "exr" => write_exr(path, img),
        other => Err(file_err(path, format!("unsupported extension {other:?} (png or exr)"))),
    }
}

/// Writes a plane: single-channel planes as a 16-bit grey PNG or a one-channel float EXR.
pub fn write_plane(path: impl AsRef<Path>, img: &HostImage) -> Result<()> {
    let path = path.as_ref();
    let img = match (img.components, ext(path).as_str()) {
        (Components::Alpha, "png") => img.convert(Components::Alpha, Depth::U16),
        (Components::Alpha, _) => img.convert(Components::Alpha, Depth::F32),
        _ => img.clone(),
    };
    write_image(path, &img)
}

fn write_png(path: &Path, img: &HostImage) -> Result<()> {
    // PNG has no 2-channel colour type that means XY; store XY as RGB.
    let img = if img.components == Components::Xy { img.convert(Components::Rgb, img.depth) } else { img.clone() };
    let (w, h) = (img.width(), img.height());
    let top_down = flip_rows(&img.data, img.row_bytes);
    use image::ExtendedColorType as C;
    let result = if img.depth == Depth::U8 {
        let color = match img.components {
            Components::Rgba => C::Rgba8,
            Components::Rgb | Components::Xy => C::Rgb8,
            Components::Alpha => C::L8,
        };
        image::save_buffer(path, &top_down, w, h, color)
    } else {
        let img16 = HostImage { data: top_down, ..img.clone() }.convert(img.components, Depth::U16);
        // image's 16-bit buffers take native-endian bytes.
        let color = match img.components {
            Components::Rgba => C::Rgba16,
            Components::Rgb | Components::Xy => C::Rgb16,
            Components::Alpha => C::L16,
        };
        image::save_buffer(path, &img16.data, w, h, color)
    };
    result.map_err(|e| file_err(path, e))
}

fn write_exr(path: &Path, img: &HostImage) -> Result<()> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let n = img.components.count();
    let values = img.to_f32();
    let names: &[&str] = match img.components {
        Components::Rgba => &["R", "G", "B", "A"],
        Components::Rgb => &["R", "G", "B"],
        Components::Xy => &["X", "Y"],
        Components::Alpha => &["Y"],
    };
    let channels: Vec<ex::AnyChannel<ex::FlatSamples>> = names
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let mut plane = Vec::with_capacity(w * h);
            for y in (0..h).rev() {
                plane.extend((0..w).map(|x| values[(y * w + x) * n + c]));
            }
            ex::AnyChannel::new(*name, ex::FlatSamples::F32(plane))
        })
        .collect();
    let layer = ex::Layer::new((w, h), ex::LayerAttributes::default(), ex::Encoding::FAST_LOSSLESS, ex::AnyChannels::sort(ex::SmallVec::from_vec(channels)));
    use ex::WritableImage;
    ex::Image::from_layer(layer).write().to_file(path).map_err(|e| file_err(path, e))
}

/// Substitutes `frame` into a pattern with one `%d`, `%0Nd` or run of `#` (Nuke style, zero-padded
/// to the run's length). `%%` is a literal `%`.
pub fn expand_pattern(pattern: &str, frame: i64) -> Result<PathBuf> {
    let bad = || HostError::BadPattern(pattern.to_owned());
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut found = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '%' if chars.peek() == Some(&'%') => {
                chars.next();
                out.push('%');
            }
            '%' => {
                let mut width = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    width.push(*d);
                    chars.next();
                }
                if chars.next() != Some('d') || found {
                    return Err(bad());
                }
                let w: usize = if width.is_empty() { 0 } else { width.parse().map_err(|_| bad())? };
                out.push_str(&pad(frame, w));
                found = true;
            }
            '#' => {
                let mut w = 1;
                while chars.peek() == Some(&'#') {
                    chars.next();
                    w += 1;
                }
                if found {
                    return Err(bad());
                }
                out.push_str(&pad(frame, w));
                found = true;
            }
            c => out.push(c),
        }
    }
    if found {
        Ok(PathBuf::from(out))
    } else {
        Err(bad())
    }
}

/// True when `s` has a frame placeholder.
pub fn is_pattern(s: &str) -> bool {
    expand_pattern(s, 0).is_ok()
}

/// printf `%0Nd`: zero padding after the sign.
fn pad(frame: i64, width: usize) -> String {
    if frame < 0 {
        format!("-{:0w$}", frame.unsigned_abs(), w = width.saturating_sub(1))
    } else {
        format!("{frame:0width$}")
    }
}

/// Frames from an image-sequence pattern, or one still image for every frame, over a frame range.
/// A [`FrameProvider`]: times round to the nearest frame; times outside the range have no frame.
pub struct ImageSequence {
    source: SequenceSource,
    first: i64,
    last: i64,
    cache: Mutex<VecDeque<(i64, HostImage)>>,
    capacity: usize,
    last_error: Mutex<Option<String>>,
}

enum SequenceSource {
    Pattern(String),
    Still(HostImage),
}

impl ImageSequence {
    /// A sequence read from `pattern` (see [`expand_pattern`]) for frames `first..=last`.
    pub fn pattern(pattern: &str, first: i64, last: i64) -> Result<ImageSequence> {
        expand_pattern(pattern, first)?;
        Ok(ImageSequence::with(SequenceSource::Pattern(pattern.to_owned()), first, last))
    }

    /// One image used for every frame of `first..=last`.
    pub fn still(image: HostImage, first: i64, last: i64) -> ImageSequence {
        ImageSequence::with(SequenceSource::Still(image), first, last)
    }

    /// A pattern if `path` has a placeholder, otherwise the still image read from `path`.
    pub fn open(path: &str, first: i64, last: i64) -> Result<ImageSequence> {
        if is_pattern(path) {
            ImageSequence::pattern(path, first, last)
        } else {
            Ok(ImageSequence::still(read_image(path)?, first, last))
        }
    }

    fn with(source: SequenceSource, first: i64, last: i64) -> ImageSequence {
        // Enough decoded frames for a temporal window of a few frames each side.
        ImageSequence { source, first, last, cache: Mutex::new(VecDeque::new()), capacity: 8, last_error: Mutex::new(None) }
    }

    /// The frame range.
    pub fn range(&self) -> (i64, i64) {
        (self.first, self.last)
    }

    /// Why the last failed read failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }

    fn load(&self, frame: i64) -> Option<HostImage> {
        let SequenceSource::Pattern(p) = &self.source else { return None };
        if let Some((_, img)) = self.cache.lock().iter().find(|(f, _)| *f == frame) {
            return Some(img.clone());
        }
        let read = expand_pattern(p, frame).and_then(read_image);
        match read {
            Ok(img) => {
                let mut cache = self.cache.lock();
                if cache.len() >= self.capacity {
                    cache.pop_front();
                }
                cache.push_back((frame, img.clone()));
                Some(img)
            }
            Err(e) => {
                *self.last_error.lock() = Some(e.to_string());
                None
            }
        }
    }
}

impl FrameProvider for ImageSequence {
    fn frame(&self, time: f64) -> Option<HostImage> {
        let frame = time.round() as i64;
        if frame < self.first || frame > self.last {
            return None;
        }
        match &self.source {
            SequenceSource::Still(img) => Some(img.clone()),
            SequenceSource::Pattern(_) => self.load(frame),
        }
    }

    fn frame_range(&self) -> Option<(f64, f64)> {
        Some((self.first as f64, self.last as f64))
    }
}

#[cfg(test)]
#[path = "imageio_tests.rs"]
mod tests;
