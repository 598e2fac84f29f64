//! Host images: bounds-checked row access and conversion to and from float RGBA, released on drop.

use super::props::PropSet;
use super::{suites, text, OfxError, RectI};
use ofx_sys as sys;

const NATRON_PLANE_PREFIX: &str = "NatronOfxImageComponentsPlaneName_";
const NATRON_CHANNEL_TAG: &str = "_Channel_";

/// Bits per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    U8,
    U16,
    F32,
}

/// Channels per pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Components {
    Rgba,
    Rgb,
    Alpha,
}

impl Depth {
    pub fn from_ofx(s: &str) -> Option<Depth> {
        if s == text(sys::kOfxBitDepthByte) {
            Some(Depth::U8)
        } else if s == text(sys::kOfxBitDepthShort) {
            Some(Depth::U16)
        } else if s == text(sys::kOfxBitDepthFloat) {
            Some(Depth::F32)
        } else {
            None
        }
    }

    pub fn bytes(self) -> usize {
        match self {
            Depth::U8 => 1,
            Depth::U16 => 2,
            Depth::F32 => 4,
        }
    }
}

impl Components {
    pub fn from_ofx(s: &str) -> Option<Components> {
        if s == text(sys::kOfxImageComponentRGBA) {
            Some(Components::Rgba)
        } else if s == text(sys::kOfxImageComponentRGB) {
            Some(Components::Rgb)
        } else if s == text(sys::kOfxImageComponentAlpha) {
            Some(Components::Alpha)
        } else if s.starts_with(NATRON_PLANE_PREFIX) {
            // A custom plane in Natron's encoding (ofxNatron.h): its channels are listed after "_Channel_".
            match s.matches(NATRON_CHANNEL_TAG).count() {
                1 => Some(Components::Alpha),
                3 => Some(Components::Rgb),
                4 => Some(Components::Rgba),
                _ => None,
            }
        } else {
            None
        }
    }

    pub fn count(self) -> usize {
        match self {
            Components::Rgba => 4,
            Components::Rgb => 3,
            Components::Alpha => 1,
        }
    }
}

/// An image the host lent us; released back to the host on drop.
pub struct Image {
    handle: sys::OfxPropertySetHandle,
    data: *mut u8,
    bounds: RectI,
    row_bytes: isize,
    depth: Depth,
    components: Components,
}

// SAFETY: the image memory belongs to this handle until we release it; the spec allows fetching and using
// images on the render thread that fetched them, and we never share the pointer beyond `&self`/`&mut self`.
unsafe impl Send for Image {}
// SAFETY: through `&self` the image's memory is only read (`row`, `read_row_rgba`); writes need `&mut self`. The
// node's render thread reads a source image's rows from rayon's threads while it waits for them, inside the
// render action, before it releases the image: no suite is called from those threads, only memory is read.
unsafe impl Sync for Image {}

impl Image {
    pub(crate) fn from_handle(handle: sys::OfxPropertySetHandle) -> Result<Image, OfxError> {
        let props = PropSet::from_raw(handle);
        let read = || -> Result<Image, OfxError> {
            let data = props.get_pointer(sys::kOfxImagePropData, 0)? as *mut u8;
            let b = props.get_ints::<4>(sys::kOfxImagePropBounds)?;
            let bounds = RectI { x1: b[0], y1: b[1], x2: b[2], y2: b[3] };
            let row_bytes = props.get_int(sys::kOfxImagePropRowBytes, 0)? as isize;
            let depth_s = props.get_string(sys::kOfxImageEffectPropPixelDepth, 0)?;
            let comps_s = props.get_string(sys::kOfxImageEffectPropComponents, 0)?;
            let depth = Depth::from_ofx(&depth_s).ok_or_else(|| OfxError::BadImage(format!("pixel depth '{depth_s}'")))?;
            let components =
                Components::from_ofx(&comps_s).ok_or_else(|| OfxError::BadImage(format!("components '{comps_s}'")))?;
            let min_row = bounds.width() as isize * (depth.bytes() * components.count()) as isize;
            if data.is_null() && !bounds.is_empty() {
                return Err(OfxError::BadImage("null pixel data".into()));
            }
            if row_bytes.abs() < min_row {
                return Err(OfxError::BadImage(format!("row bytes {row_bytes} < {min_row} for width {}", bounds.width())));
            }
            Ok(Image { handle, data, bounds, row_bytes, depth, components })
        };
        match read() {
            Ok(img) => Ok(img),
            Err(e) => {
                release(handle);
                Err(e)
            }
        }
    }

    pub fn bounds(&self) -> RectI {
        self.bounds
    }

    pub fn depth(&self) -> Depth {
        self.depth
    }

    pub fn components(&self) -> Components {
        self.components
    }

    pub fn props(&self) -> PropSet {
        PropSet::from_raw(self.handle)
    }

    fn row_ptr(&self, y: i32) -> Option<*mut u8> {
        if y < self.bounds.y1 || y >= self.bounds.y2 || self.data.is_null() {
            return None;
        }
        let offset = (y - self.bounds.y1) as isize * self.row_bytes;
        // SAFETY: the host promises `data` points at the pixel (x1, y1) and that rows of `row_bytes` (which may
        // be negative for bottom-up storage) cover the bounds; `y` is inside the bounds.
        Some(unsafe { self.data.offset(offset) })
    }

    fn row_len(&self) -> usize {
        self.bounds.width() as usize * self.depth.bytes() * self.components.count()
    }

    /// Raw bytes of row `y` (OFX pixel coordinates, y up).
    pub fn row(&self, y: i32) -> Option<&[u8]> {
        let p = self.row_ptr(y)?;
        // SAFETY: see `row_ptr`; `row_len` ≤ |row_bytes| was checked at construction.
        Some(unsafe { std::slice::from_raw_parts(p as *const u8, self.row_len()) })
    }

    /// Reads row `y` as straight RGBA floats into `out` (4 floats a pixel, `bounds.width()` pixels).
    /// RGB gets alpha 1; Alpha gets its value in all four channels' alpha and 0 colour.
    pub fn read_row_rgba(&self, y: i32, out: &mut [f32]) -> bool {
        let (Some(row), n) = (self.row(y), self.bounds.width() as usize) else { return false };
        if out.len() < n * 4 {
            return false;
        }
        let nc = self.components.count();
        for x in 0..n {
            let mut px = [0.0, 0.0, 0.0, 1.0];
            for c in 0..nc {
                let v = decode(row, (x * nc + c) * self.depth.bytes(), self.depth);
                match self.components {
                    Components::Alpha => px = [0.0, 0.0, 0.0, v],
                    _ => px[c] = v,
                }
            }
            out[x * 4..x * 4 + 4].copy_from_slice(&px);
        }
        true
    }

    /// Writes rows `ys` in parallel: `fill(y, pixels)` gives row `y`'s RGBA floats for `count` pixels from
    /// `x1`, converted to the image's format. False (nothing written) if any of those pixels is outside the
    /// image. The output of a 4K render is 133 MB of floats: one thread converting it pixel by pixel was most of
    /// the render's time after the networks (BENCHMARKS.md).
    pub fn write_rows_rgba(&mut self, ys: std::ops::Range<i32>, x1: i32, count: usize, fill: impl Fn(i32, &mut [f32]) + Sync) -> bool {
        use rayon::prelude::*;
        if ys.is_empty() || count == 0 {
            return true;
        }
        let (format, at) = (self.format(), self.column(x1, count));
        let Some(at) = at else { return false };
        let rows = self.rows_mut(ys.clone());
        // Rows outside the bounds are missing, and all of them when the host gave no memory (a null pointer).
        if rows.len() != ys.len() {
            return false;
        }
        rows.into_par_iter().for_each_init(
            || vec![0.0f32; count * 4],
            |pixels, (y, row)| {
                fill(y, pixels);
                format.encode_row(row, at, pixels);
            },
        );
        true
    }

    /// Rows `ys` that are inside the bounds, as separate mutable slices, for writing them from several threads.
    fn rows_mut(&mut self, ys: std::ops::Range<i32>) -> Vec<(i32, &mut [u8])> {
        let len = self.row_len();
        ys.filter_map(|y| {
            let p = self.row_ptr(y)?;
            // SAFETY: `p` is row `y` of the image's memory (`row_ptr`), `len` bytes long (`row`). The slices of
            // different rows do not overlap: rows start `row_bytes` apart and `row_len` ≤ |row_bytes| (checked at
            // construction); each `y` comes once from the range; and they borrow `self` mutably for as long as
            // they live, so nothing else reaches the memory meanwhile.
            Some((y, unsafe { std::slice::from_raw_parts_mut(p, len) }))
        })
        .collect()
    }

    fn format(&self) -> Format {
        Format { depth: self.depth, components: self.components }
    }

    /// The pixel index of `x1` in a row, if pixels `x1..x1 + count` are inside the bounds.
    fn column(&self, x1: i32, count: usize) -> Option<usize> {
        let (bx1, width) = (self.bounds.x1, self.bounds.width() as usize);
        (x1 >= bx1 && (x1 - bx1) as usize + count <= width).then_some((x1 - bx1) as usize)
    }
}

/// How an image stores its pixels.
#[derive(Clone, Copy)]
struct Format {
    depth: Depth,
    components: Components,
}

impl Format {
    /// Writes RGBA floats `src` into `row` from pixel index `at` on.
    fn encode_row(self, row: &mut [u8], at: usize, src: &[f32]) {
        let (depth, nc) = (self.depth, self.components.count());
        for (i, px) in src.chunks_exact(4).enumerate() {
            let x = at + i;
            match self.components {
                Components::Alpha => encode(row, x * depth.bytes(), depth, px[3]),
                _ => {
                    for (c, &v) in px.iter().enumerate().take(nc) {
                        encode(row, (x * nc + c) * depth.bytes(), depth, v);
                    }
                }
            }
        }
    }
}

fn decode(row: &[u8], at: usize, depth: Depth) -> f32 {
    match depth {
        Depth::U8 => row[at] as f32 / 255.0,
        Depth::U16 => u16::from_ne_bytes([row[at], row[at + 1]]) as f32 / 65535.0,
        Depth::F32 => f32::from_ne_bytes([row[at], row[at + 1], row[at + 2], row[at + 3]]),
    }
}

fn encode(row: &mut [u8], at: usize, depth: Depth, v: f32) {
    match depth {
        // Round to nearest: an 8/16-bit value read by `decode` and written back unchanged is bit-identical.
        Depth::U8 => row[at] = (v.clamp(0.0, 1.0) * 255.0).round() as u8,
        Depth::U16 => row[at..at + 2].copy_from_slice(&((v.clamp(0.0, 1.0) * 65535.0).round() as u16).to_ne_bytes()),
        Depth::F32 => row[at..at + 4].copy_from_slice(&v.to_ne_bytes()),
    }
}

fn release(handle: sys::OfxPropertySetHandle) {
    let Ok(s) = suites::get() else { return };
    if let Some(f) = s.effect.clipReleaseImage {
        // SAFETY: `handle` came from clipGetImage/clipGetImagePlane and is released exactly once.
        unsafe {
            f(handle);
        }
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        release(self.handle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natron_custom_planes_count_their_channels() {
        let mask = crate::ofx::plane_suite::PLANE_FACE_MASK;
        assert_eq!(Components::from_ofx(mask), Some(Components::Alpha));
        assert_eq!(Components::from_ofx("OfxImageComponentRGB"), Some(Components::Rgb));
        assert_eq!(Components::from_ofx("NatronOfxImageComponentsPlaneName_P_Channel_X_Channel_Y"), None);
    }

    #[test]
    fn integer_depths_round_trip_exactly() {
        for depth in [Depth::U8, Depth::U16] {
            let n = if depth == Depth::U8 { 256 } else { 65536 };
            for v in 0..n {
                let mut row = vec![0u8; 4];
                match depth {
                    Depth::U8 => row[0] = v as u8,
                    _ => row[..2].copy_from_slice(&(v as u16).to_ne_bytes()),
                }
                let f = decode(&row, 0, depth);
                let mut back = vec![0u8; 4];
                encode(&mut back, 0, depth, f);
                assert_eq!(row, back, "{depth:?} value {v}");
            }
        }
    }
}
