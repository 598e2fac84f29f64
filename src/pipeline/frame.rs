//! The pipeline's own image types: straight float RGBA frames and single-channel masks, stored top row first.
//!
//! Hosts hand us 8-bit, 16-bit or float images, RGB or RGBA, bottom row first; the OFX layer converts them to
//! these types once per render so that every stage works on one layout.

use super::PipelineError;

/// An RGBA float image, rows top to bottom, pixels left to right, 4 floats a pixel.
///
/// Colour values are whatever the host gave us (usually premultiplied scene-linear or display-referred);
/// stages that need [0, 1] display values clamp on read.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl Frame {
    /// A frame filled with one colour.
    pub fn filled(width: usize, height: usize, rgba: [f32; 4]) -> Self {
        let mut data = Vec::with_capacity(width * height * 4);
        for _ in 0..width * height {
            data.extend_from_slice(&rgba);
        }
        Frame { width, height, data }
    }

    /// Wraps interleaved RGBA data; errors when the length does not match the size.
    pub fn from_rgba(width: usize, height: usize, data: Vec<f32>) -> Result<Self, PipelineError> {
        if data.len() != width * height * 4 {
            return Err(PipelineError::BadFrame { width, height, len: data.len(), channels: 4 });
        }
        Ok(Frame { width, height, data })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Interleaved RGBA, top row first.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// One pixel; `x < width`, `y < height`.
    pub fn pixel(&self, x: usize, y: usize) -> [f32; 4] {
        let i = (y * self.width + x) * 4;
        [self.data[i], self.data[i + 1], self.data[i + 2], self.data[i + 3]]
    }

    pub fn set_pixel(&mut self, x: usize, y: usize, rgba: [f32; 4]) {
        let i = (y * self.width + x) * 4;
        self.data[i..i + 4].copy_from_slice(&rgba);
    }

    /// One row of interleaved RGBA.
    pub fn row(&self, y: usize) -> &[f32] {
        &self.data[y * self.width * 4..(y + 1) * self.width * 4]
    }

    pub fn row_mut(&mut self, y: usize) -> &mut [f32] {
        let w = self.width * 4;
        &mut self.data[y * w..(y + 1) * w]
    }
}

/// A single-channel float image in [0, 1], same layout as [`Frame`].
#[derive(Clone, Debug, PartialEq)]
pub struct Mask {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl Mask {
    /// An empty (all zero) mask.
    pub fn empty(width: usize, height: usize) -> Self {
        Mask { width, height, data: vec![0.0; width * height] }
    }

    pub fn from_values(width: usize, height: usize, data: Vec<f32>) -> Result<Self, PipelineError> {
        if data.len() != width * height {
            return Err(PipelineError::BadFrame { width, height, len: data.len(), channels: 1 });
        }
        Ok(Mask { width, height, data })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn get(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    pub fn set(&mut self, x: usize, y: usize, v: f32) {
        self.data[y * self.width + x] = v;
    }

    /// True when no pixel is above zero.
    pub fn is_empty(&self) -> bool {
        self.data.iter().all(|&v| v <= 0.0)
    }

    /// Pixel-wise maximum with another mask of the same size (used to merge the masks of several faces).
    pub fn max_with(&mut self, other: &Mask) {
        for (a, b) in self.data.iter_mut().zip(&other.data) {
            *a = a.max(*b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rejects_wrong_length() {
        assert!(Frame::from_rgba(2, 2, vec![0.0; 15]).is_err());
        assert!(Frame::from_rgba(2, 2, vec![0.0; 16]).is_ok());
    }

    #[test]
    fn pixel_round_trip() {
        let mut f = Frame::filled(3, 2, [0.0; 4]);
        f.set_pixel(2, 1, [0.1, 0.2, 0.3, 0.4]);
        assert_eq!(f.pixel(2, 1), [0.1, 0.2, 0.3, 0.4]);
        assert_eq!(&f.row(1)[8..12], &[0.1, 0.2, 0.3, 0.4]);
    }

    #[test]
    fn mask_max_merges() {
        let mut a = Mask::from_values(2, 1, vec![0.2, 0.9]).unwrap();
        let b = Mask::from_values(2, 1, vec![0.5, 0.1]).unwrap();
        a.max_with(&b);
        assert_eq!(a.data(), &[0.5, 0.9]);
        assert!(!a.is_empty());
        assert!(Mask::empty(4, 4).is_empty());
    }
}
