//! Host-side images: bounds, pixel formats, conversions and resampling.
//!
//! Rows are stored bottom-up like OFX images: row 0 of `data` is `bounds.y1`, the bottom row.
//! File readers and writers flip to and from the top-down order of PNG/EXR.

use crate::error::{HostError, Result};
use crate::handles::ofx;

/// An integer rectangle, x1/y1 inclusive, x2/y2 exclusive; y grows upwards (OFX convention).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RectI {
    pub x1: i32,
    pub y1: i32,
    pub x2: i32,
    pub y2: i32,
}

impl RectI {
    pub fn new(x1: i32, y1: i32, x2: i32, y2: i32) -> RectI {
        RectI { x1, y1, x2, y2 }
    }

    /// A `width` x `height` rectangle at the origin.
    pub fn from_size(width: u32, height: u32) -> RectI {
        RectI::new(0, 0, width as i32, height as i32)
    }

    pub fn width(&self) -> u32 {
        (self.x2 - self.x1).max(0) as u32
    }

    pub fn height(&self) -> u32 {
        (self.y2 - self.y1).max(0) as u32
    }

    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }

    pub fn intersect(&self, o: &RectI) -> RectI {
        let r = RectI::new(self.x1.max(o.x1), self.y1.max(o.y1), self.x2.min(o.x2), self.y2.min(o.y2));
        if r.x2 <= r.x1 || r.y2 <= r.y1 {
            RectI::default()
        } else {
            r
        }
    }

    /// The pixel rectangle covering canonical `rect` at `scale` (outward rounding).
    pub fn from_canonical(rect: [f64; 4], scale: (f64, f64)) -> RectI {
        RectI::new(
            (rect[0] * scale.0).floor() as i32,
            (rect[1] * scale.1).floor() as i32,
            (rect[2] * scale.0).ceil() as i32,
            (rect[3] * scale.1).ceil() as i32,
        )
    }

    /// Canonical coordinates (pixel aspect 1) of this pixel rectangle at `scale`.
    pub fn to_canonical(&self, scale: (f64, f64)) -> [f64; 4] {
        [
            f64::from(self.x1) / scale.0,
            f64::from(self.y1) / scale.1,
            f64::from(self.x2) / scale.0,
            f64::from(self.y2) / scale.1,
        ]
    }
}

/// Pixel components.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Components {
    Rgba,
    Rgb,
    /// Two channels (Natron's `kNatronOfxImageComponentXY`).
    Xy,
    Alpha,
}

impl Components {
    pub fn count(self) -> usize {
        match self {
            Components::Rgba => 4,
            Components::Rgb => 3,
            Components::Xy => 2,
            Components::Alpha => 1,
        }
    }

    /// The components with `n` channels.
    pub fn from_count(n: usize) -> Option<Components> {
        match n {
            4 => Some(Components::Rgba),
            3 => Some(Components::Rgb),
            2 => Some(Components::Xy),
            1 => Some(Components::Alpha),
            _ => None,
        }
    }

    /// The `kOfxImageComponent…` string.
    pub fn ofx_name(self) -> &'static str {
        match self {
            Components::Rgba => ofx!(kOfxImageComponentRGBA),
            Components::Rgb => ofx!(kOfxImageComponentRGB),
            Components::Xy => ofx!(kNatronOfxImageComponentXY),
            Components::Alpha => ofx!(kOfxImageComponentAlpha),
        }
    }

    /// Parses a component string; Natron custom planes map to their channel count.
    pub fn from_ofx(s: &str) -> Option<Components> {
        [Components::Rgba, Components::Rgb, Components::Xy, Components::Alpha]
            .into_iter()
            .find(|c| c.ofx_name() == s)
            .or_else(|| crate::planes::PlaneSpec::parse(s).and_then(|p| Components::from_count(p.channels.len())))
    }
}

/// Bit depth of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Depth {
    U8,
    U16,
    F32,
}

impl Depth {
    pub fn bytes(self) -> usize {
        match self {
            Depth::U8 => 1,
            Depth::U16 => 2,
            Depth::F32 => 4,
        }
    }

    /// The `kOfxBitDepth…` string.
    pub fn ofx_name(self) -> &'static str {
        match self {
            Depth::U8 => ofx!(kOfxBitDepthByte),
            Depth::U16 => ofx!(kOfxBitDepthShort),
            Depth::F32 => ofx!(kOfxBitDepthFloat),
        }
    }

    pub fn from_ofx(s: &str) -> Option<Depth> {
        [Depth::U8, Depth::U16, Depth::F32].into_iter().find(|d| d.ofx_name() == s)
    }
}

/// An image in host memory.
#[derive(Clone, Debug, PartialEq)]
pub struct HostImage {
    pub bounds: RectI,
    pub components: Components,
    pub depth: Depth,
    /// Bytes per row (always `width * channels * bytes`, positive: rows are bottom-up).
    pub row_bytes: usize,
    pub data: Vec<u8>,
}

impl HostImage {
    /// A zeroed (transparent black) image.
    pub fn new(bounds: RectI, components: Components, depth: Depth) -> HostImage {
        let row_bytes = bounds.width() as usize * components.count() * depth.bytes();
        HostImage { bounds, components, depth, row_bytes, data: vec![0; row_bytes * bounds.height() as usize] }
    }

    /// Builds an image from normalised floats (`width * height * channels`, bottom-up rows).
    /// Integer depths clamp to [0, 1] and round to the nearest code.
    pub fn from_f32(bounds: RectI, components: Components, depth: Depth, values: &[f32]) -> Result<HostImage> {
        let mut img = HostImage::new(bounds, components, depth);
        if values.len() != bounds.width() as usize * bounds.height() as usize * components.count() {
            return Err(HostError::BadImage(format!("{} floats for a {:?} {:?} image", values.len(), bounds, components)));
        }
        match depth {
            Depth::U8 => {
                for (d, v) in img.data.iter_mut().zip(values) {
                    *d = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                }
            }
            Depth::U16 => {
                for (d, v) in img.data.chunks_exact_mut(2).zip(values) {
                    d.copy_from_slice(&((v.clamp(0.0, 1.0) * 65535.0).round() as u16).to_ne_bytes());
                }
            }
            Depth::F32 => {
                for (d, v) in img.data.chunks_exact_mut(4).zip(values) {
                    d.copy_from_slice(&v.to_ne_bytes());
                }
            }
        }
        Ok(img)
    }

    /// Normalised floats (`width * height * channels`, bottom-up rows). U8 and U16 codes map to
    /// `code / max`; converting back with [`HostImage::from_f32`] restores them exactly.
    pub fn to_f32(&self) -> Vec<f32> {
        match self.depth {
            Depth::U8 => self.data.iter().map(|v| f32::from(*v) / 255.0).collect(),
            Depth::U16 => self.data.chunks_exact(2).map(|b| f32::from(u16::from_ne_bytes([b[0], b[1]])) / 65535.0).collect(),
            Depth::F32 => self.data.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect(),
        }
    }

    pub fn width(&self) -> u32 {
        self.bounds.width()
    }

    pub fn height(&self) -> u32 {
        self.bounds.height()
    }

    /// Channel `c` of the pixel at absolute coordinates (x, y), normalised; `None` outside.
    pub fn pixel(&self, x: i32, y: i32, c: usize) -> Option<f32> {
        if x < self.bounds.x1 || x >= self.bounds.x2 || y < self.bounds.y1 || y >= self.bounds.y2 || c >= self.components.count() {
            return None;
        }
        let n = self.components.count();
        let i = (y - self.bounds.y1) as usize * self.row_bytes / self.depth.bytes() + (x - self.bounds.x1) as usize * n + c;
        let b = i * self.depth.bytes();
        Some(match self.depth {
            Depth::U8 => f32::from(self.data[b]) / 255.0,
            Depth::U16 => f32::from(u16::from_ne_bytes([self.data[b], self.data[b + 1]])) / 65535.0,
            Depth::F32 => f32::from_ne_bytes([self.data[b], self.data[b + 1], self.data[b + 2], self.data[b + 3]]),
        })
    }

    /// Converts to other components and depth.
    ///
    /// Channel mapping: RGBA→RGB drops alpha (no unpremultiplication); RGB→RGBA adds alpha 1;
    /// RGB(A)→Alpha keeps alpha for RGBA and Rec.709 luminance for RGB; a single channel going to
    /// colour is treated as a grey image (v, v, v[, 1]), which is what a grey PNG means; XY↔others
    /// maps x,y to r,g.
    pub fn convert(&self, components: Components, depth: Depth) -> HostImage {
        if components == self.components && depth == self.depth {
            return self.clone();
        }
        let src = self.to_f32();
        let sn = self.components.count();
        let mut out = Vec::with_capacity(src.len() / sn * components.count());
        for p in src.chunks_exact(sn) {
            map_pixel(self.components, p, components, &mut out);
        }
        // Same bounds and matching float count: cannot fail.
        HostImage::from_f32(self.bounds, components, depth, &out).unwrap_or_else(|_| HostImage::new(self.bounds, components, depth))
    }

    /// Crops (or pads with zeros) to `bounds`.
    pub fn crop(&self, bounds: RectI) -> HostImage {
        let mut out = HostImage::new(bounds, self.components, self.depth);
        let common = self.bounds.intersect(&bounds);
        if common.is_empty() {
            return out;
        }
        let px = self.components.count() * self.depth.bytes();
        let len = common.width() as usize * px;
        for y in common.y1..common.y2 {
            let s = (y - self.bounds.y1) as usize * self.row_bytes + (common.x1 - self.bounds.x1) as usize * px;
            let d = (y - bounds.y1) as usize * out.row_bytes + (common.x1 - bounds.x1) as usize * px;
            out.data[d..d + len].copy_from_slice(&self.data[s..s + len]);
        }
        out
    }

    /// Resamples to render scale `scale` with an area-averaging box filter (exact for integer
    /// down-scales such as 0.5; nearest-neighbour-like when up-scaling). Bounds become
    /// [`RectI::from_canonical`] of the scale-1 bounds.
    pub fn scaled(&self, scale: (f64, f64)) -> HostImage {
        if scale == (1.0, 1.0) {
            return self.clone();
        }
        let b = self.bounds;
        let nb = RectI::from_canonical([f64::from(b.x1), f64::from(b.y1), f64::from(b.x2), f64::from(b.y2)], scale);
        let n = self.components.count();
        let src = self.to_f32();
        let (sw, sh) = (b.width() as usize, b.height() as usize);
        // Horizontal pass then vertical pass, each an exact area average.
        let h_weights = axis_weights(b.x1, sw, nb.x1, nb.width() as usize, scale.0);
        let v_weights = axis_weights(b.y1, sh, nb.y1, nb.height() as usize, scale.1);
        let nw = nb.width() as usize;
        let mut tmp = vec![0f32; nw * sh * n];
        for y in 0..sh {
            for (dx, ws) in h_weights.iter().enumerate() {
                for c in 0..n {
                    let acc: f64 = ws.iter().map(|(sx, w)| f64::from(src[(y * sw + sx) * n + c]) * w).sum();
                    tmp[(y * nw + dx) * n + c] = acc as f32;
                }
            }
        }
        let nh = nb.height() as usize;
        let mut out = vec![0f32; nw * nh * n];
        for (dy, ws) in v_weights.iter().enumerate() {
            for x in 0..nw {
                for c in 0..n {
                    let acc: f64 = ws.iter().map(|(sy, w)| f64::from(tmp[(sy * nw + x) * n + c]) * w).sum();
                    out[(dy * nw + x) * n + c] = acc as f32;
                }
            }
        }
        HostImage::from_f32(nb, self.components, self.depth, &out).unwrap_or_else(|_| HostImage::new(nb, self.components, self.depth))
    }
}

/// For each destination pixel along one axis, the source pixels it covers and their weights
/// (normalised to sum to 1).
fn axis_weights(src_start: i32, src_len: usize, dst_start: i32, dst_len: usize, scale: f64) -> Vec<Vec<(usize, f64)>> {
    (0..dst_len)
        .map(|d| {
            let lo = f64::from(dst_start + d as i32) / scale - f64::from(src_start);
            let hi = f64::from(dst_start + d as i32 + 1) / scale - f64::from(src_start);
            let first = lo.floor().max(0.0) as usize;
            let last = (hi.ceil().max(0.0) as usize).min(src_len);
            let mut ws: Vec<(usize, f64)> = (first..last)
                .map(|s| {
                    let (a, b) = (s as f64, s as f64 + 1.0);
                    (s, (hi.min(b) - lo.max(a)).max(0.0))
                })
                .filter(|(_, w)| *w > 0.0)
                .collect();
            let total: f64 = ws.iter().map(|(_, w)| w).sum();
            if total > 0.0 {
                ws.iter_mut().for_each(|(_, w)| *w /= total);
            }
            ws
        })
        .collect()
}

fn map_pixel(from: Components, p: &[f32], to: Components, out: &mut Vec<f32>) {
    use Components::*;
    let luma = |p: &[f32]| 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
    match (from, to) {
        (a, b) if a == b => out.extend_from_slice(p),
        (Rgba, Rgb) => out.extend_from_slice(&p[..3]),
        (Rgba, Alpha) => out.push(p[3]),
        (Rgb, Rgba) => out.extend_from_slice(&[p[0], p[1], p[2], 1.0]),
        (Rgb, Alpha) => out.push(luma(p)),
        (Alpha, Rgba) => out.extend_from_slice(&[p[0], p[0], p[0], 1.0]),
        (Alpha, Rgb) => out.extend_from_slice(&[p[0]; 3]),
        (Alpha, Xy) => out.extend_from_slice(&[p[0], p[0]]),
        (Xy, Rgba) => out.extend_from_slice(&[p[0], p[1], 0.0, 1.0]),
        (Xy, Rgb) => out.extend_from_slice(&[p[0], p[1], 0.0]),
        (Xy, Alpha) => out.push(p[0]),
        (Rgba | Rgb, Xy) => out.extend_from_slice(&p[..2]),
        _ => out.extend(std::iter::repeat_n(0.0, to.count())),
    }
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
