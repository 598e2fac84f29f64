//! The pipeline's own image types: straight float RGBA frames and single-channel masks, stored top row first.
//!
//! Hosts hand us 8-bit, 16-bit or float images, RGB or RGBA, bottom row first; the OFX layer converts them to
//! these types once per render so that every stage works on one layout.

use super::{fingerprint, PipelineError};
use std::sync::OnceLock;

/// An RGBA float image, rows top to bottom, pixels left to right, 4 floats a pixel.
///
/// Colour values are whatever the host gave us (usually premultiplied scene-linear or display-referred);
/// stages that need [0, 1] display values clamp on read.
///
/// A frame remembers its [content hash](Frame::content_hash) once computed (or given by [`Frame::from_rows`]);
/// every `&mut` access forgets it.
///
/// Large frames take their memory from a small pool of buffers that dropped frames left ([`pool`]).
#[derive(Debug)]
pub struct Frame {
    width: usize,
    height: usize,
    data: Vec<f32>,
    content_hash: OnceLock<[u64; 2]>,
}

impl Clone for Frame {
    /// Copied in parallel (the composite starts from a copy of the source: 133 MB at 4K).
    fn clone(&self) -> Frame {
        use rayon::prelude::*;
        const CHUNK: usize = 1 << 16;
        let mut data = pool::take_len(self.data.len());
        data.par_chunks_mut(CHUNK).zip(self.data.par_chunks(CHUNK)).for_each(|(d, s)| d.copy_from_slice(s));
        Frame { width: self.width, height: self.height, data, content_hash: self.content_hash.clone() }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.data));
    }
}

/// Memory for large frames, kept for the next ones.
///
/// glibc serves large allocations with a fresh `mmap` (always above 32 MiB, a float RGBA frame larger than
/// 1080p; often below, as its threshold adapts) and unmaps them on free, so each frame was new pages: at 4K,
/// converting the host's image into a frame took 83 ms, most of it in the kernel's page-fault path, against ~20
/// ms for the copy itself, and at 1080p a bench converting five frames a render paid ~17 ms a conversion
/// instead of ~4 (BENCHMARKS.md); the node converts the frame and each neighbour it smooths over, every render.
/// Dropped frames' buffers of at least [`LARGE`] bytes wait here instead, at most [`KEPT`] of them; smaller ones
/// go back to the allocator.
mod pool {
    use parking_lot::Mutex;

    /// A float RGBA frame of a quarter megapixel: small frames (tests, thumbnails) are left to the allocator.
    pub const LARGE: usize = 4 << 20;
    /// The frames a render holds at once: the frame, the neighbour being analysed (smoothing fetches them one
    /// at a time) and the composite's output. Kept buffers serve frames only, so each one kept beyond that
    /// raised the peak: `faceswap render` at 4K peaked at 1.0 GB keeping seven, 0.93 GB keeping three
    /// (BENCHMARKS.md), for the same speed.
    pub const KEPT: usize = 3;

    static FREE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

    /// The smallest kept buffer with room for `len` values and not much more (a face's patch must not take a
    /// whole frame's buffer, which the next frame would then allocate afresh: 4K renders peaked ~15% higher),
    /// if `len` values are large.
    fn kept(len: usize) -> Option<Vec<f32>> {
        if len * 4 < LARGE {
            return None;
        }
        let mut free = FREE.lock();
        let fits = |b: &Vec<f32>| (len..=len + len / 4).contains(&b.capacity());
        let best = free.iter().enumerate().filter(|(_, b)| fits(b)).min_by_key(|(_, b)| b.capacity());
        let i = best.map(|(i, _)| i)?;
        Some(free.swap_remove(i))
    }

    /// An empty buffer with room for `len` values.
    pub fn take(len: usize) -> Vec<f32> {
        let mut buffer = kept(len).unwrap_or_else(|| Vec::with_capacity(len));
        buffer.clear();
        buffer
    }

    /// A buffer of `len` values, for the caller to overwrite: a kept one holds an earlier frame's values; a new
    /// one is zeroed memory from the allocator (`calloc`: pages are zeroed as they are first touched, by
    /// whichever thread touches them).
    pub fn take_len(len: usize) -> Vec<f32> {
        match kept(len) {
            Some(mut buffer) => {
                buffer.resize(len, 0.0);
                buffer
            }
            None => vec![0.0; len],
        }
    }

    /// Keeps `buffer` if it is large, dropping the oldest kept one when full.
    pub fn give(buffer: Vec<f32>) {
        if buffer.capacity() * 4 < LARGE {
            return;
        }
        let mut free = FREE.lock();
        if free.len() >= KEPT {
            free.remove(0);
        }
        free.push(buffer);
    }
}

/// Frames are equal when their pixels are: whether a hash was computed yet does not matter.
impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        (self.width, self.height) == (other.width, other.height) && self.data == other.data
    }
}

impl Frame {
    /// A frame filled with one colour.
    pub fn filled(width: usize, height: usize, rgba: [f32; 4]) -> Self {
        let mut data = pool::take(width * height * 4);
        for _ in 0..width * height {
            data.extend_from_slice(&rgba);
        }
        Frame { width, height, data, content_hash: OnceLock::new() }
    }

    /// A frame made row by row, top row first: `fill(y, row)` writes row `y` (interleaved RGBA, zeroed just
    /// before). Rows are made in parallel, and each is hashed right after it is written, while it is still in
    /// cache, so the frame comes with its [content hash](Frame::content_hash) without a second pass over it (the
    /// node converts the host's image this way). Fails with the first failing row's error.
    pub fn from_rows<E: Send>(width: usize, height: usize, fill: impl Fn(usize, &mut [f32]) -> Result<(), E> + Sync) -> Result<Self, E> {
        use rayon::prelude::*;
        let row_len = width * 4;
        let mut data = pool::take_len(row_len * height);
        let rows: Vec<Result<[u64; 2], E>> = data
            .par_chunks_mut(row_len.max(1))
            .enumerate()
            .map(|(y, row)| {
                // Zeroed here rather than when allocated: the row is in cache now, and memory reused from an
                // earlier frame must not show through.
                row.fill(0.0);
                fill(y, row)?;
                Ok(fingerprint::row(row))
            })
            .collect();
        let rows: Vec<[u64; 2]> = rows.into_iter().collect::<Result<_, E>>()?;
        let hash = fingerprint::combine(width, height, rows);
        Ok(Frame { width, height, data, content_hash: OnceLock::from(hash) })
    }

    /// Wraps interleaved RGBA data; errors when the length does not match the size.
    pub fn from_rgba(width: usize, height: usize, data: Vec<f32>) -> Result<Self, PipelineError> {
        if data.len() != width * height * 4 {
            return Err(PipelineError::BadFrame { width, height, len: data.len(), channels: 4 });
        }
        Ok(Frame { width, height, data, content_hash: OnceLock::new() })
    }

    /// 128 bits over the frame's size and every value's bits ([`fingerprint`]): computed on first use (rows in
    /// parallel) unless the frame came with it.
    pub fn content_hash(&self) -> [u64; 2] {
        *self.content_hash.get_or_init(|| fingerprint::of_frame(self.width, self.height, &self.data))
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
        self.content_hash.take();
        &mut self.data
    }

    /// One pixel; `x < width`, `y < height`.
    #[inline(always)]
    pub fn pixel(&self, x: usize, y: usize) -> [f32; 4] {
        let i = (y * self.width + x) * 4;
        [self.data[i], self.data[i + 1], self.data[i + 2], self.data[i + 3]]
    }

    pub fn set_pixel(&mut self, x: usize, y: usize, rgba: [f32; 4]) {
        self.content_hash.take();
        let i = (y * self.width + x) * 4;
        self.data[i..i + 4].copy_from_slice(&rgba);
    }

    /// One row of interleaved RGBA.
    pub fn row(&self, y: usize) -> &[f32] {
        &self.data[y * self.width * 4..(y + 1) * self.width * 4]
    }

    pub fn row_mut(&mut self, y: usize) -> &mut [f32] {
        self.content_hash.take();
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

/// A rectangle of pixels `[x0, x1) × [y0, y1)`, in frame pixels, y down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rect {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Rect {
    pub fn width(&self) -> usize {
        self.x1.saturating_sub(self.x0)
    }

    pub fn height(&self) -> usize {
        self.y1.saturating_sub(self.y0)
    }

    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }

    /// The smallest rectangle holding both (an empty one adds nothing).
    pub fn union(self, other: Rect) -> Rect {
        match (self.is_empty(), other.is_empty()) {
            (true, _) => other,
            (_, true) => self,
            _ => Rect { x0: self.x0.min(other.x0), y0: self.y0.min(other.y0), x1: self.x1.max(other.x1), y1: self.y1.max(other.y1) },
        }
    }

    /// Grown by `by` pixels on every side, clipped to a `width` × `height` frame.
    pub fn grown(self, by: usize, width: usize, height: usize) -> Rect {
        if self.is_empty() {
            return self;
        }
        Rect {
            x0: self.x0.saturating_sub(by),
            y0: self.y0.saturating_sub(by),
            x1: self.x1.saturating_add(by).min(width),
            y1: self.y1.saturating_add(by).min(height),
        }
    }

    /// True when the two share at least one pixel.
    pub fn overlaps(&self, other: &Rect) -> bool {
        !self.is_empty() && !other.is_empty() && self.x0 < other.x1 && other.x0 < self.x1 && self.y0 < other.y1 && other.y0 < self.y1
    }
}

/// Groups rectangles that overlap, directly or through others: each group's bounding rectangle and members (in
/// input order). The groups' rectangles do not overlap each other.
pub fn overlapping_groups(rects: &[Rect]) -> Vec<(Rect, Vec<usize>)> {
    let mut groups: Vec<(Rect, Vec<usize>)> = Vec::new();
    for (i, &r) in rects.iter().enumerate() {
        let mut group = (r, vec![i]);
        // Merging can make a group reach others it did not touch before: repeat until nothing overlaps.
        while let Some(at) = groups.iter().position(|(g, _)| g.overlaps(&group.0)) {
            let (g, members) = groups.swap_remove(at);
            group.0 = group.0.union(g);
            group.1.extend(members);
        }
        group.1.sort_unstable();
        groups.push(group);
    }
    groups
}

/// What a swap changes in a frame: new colours and a mask over one rectangle. Outside it the frame is the source
/// and the mask is zero, so the stages after the swap network cost what the faces cover, not what the plate
/// measures.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    pub rect: Rect,
    /// `rect`-sized; where the mask is zero these are the source's pixels.
    pub rgb: Frame,
    /// `rect`-sized.
    pub mask: Mask,
}

impl Patch {
    /// The source's pixels over `rect` (clipped to the frame) with an empty mask.
    pub fn of_source(source: &Frame, rect: Rect) -> Patch {
        let rect = Rect { x1: rect.x1.min(source.width()), y1: rect.y1.min(source.height()), ..rect };
        let (w, h) = (rect.width(), rect.height());
        let mut data = Vec::with_capacity(w * h * 4);
        for y in rect.y0..rect.y0 + h {
            data.extend_from_slice(&source.row(y)[rect.x0 * 4..(rect.x0 + w) * 4]);
        }
        Patch { rect, rgb: Frame { width: w, height: h, data, content_hash: OnceLock::new() }, mask: Mask::empty(w, h) }
    }

    /// Lays `other` (inside `self.rect`) over this patch where its mask is higher: where two faces overlap,
    /// the one with the stronger mask shows.
    pub fn overlay(&mut self, other: &Patch) {
        let (dx, dy) = (other.rect.x0 - self.rect.x0, other.rect.y0 - self.rect.y0);
        for y in 0..other.rect.height() {
            for x in 0..other.rect.width() {
                let m = other.mask.get(x, y);
                if m > self.mask.get(x + dx, y + dy) {
                    self.mask.set(x + dx, y + dy, m);
                    self.rgb.set_pixel(x + dx, y + dy, other.rgb.pixel(x, y));
                }
            }
        }
    }

    /// The masks of `patches` (not overlapping) over the whole `width` × `height` frame.
    pub fn frame_mask(patches: &[Patch], width: usize, height: usize) -> Mask {
        let mut out = Mask::empty(width, height);
        for p in patches {
            let w = p.rect.width();
            for y in 0..p.rect.height() {
                let at = (p.rect.y0 + y) * width + p.rect.x0;
                out.data[at..at + w].copy_from_slice(&p.mask.data[y * w..(y + 1) * w]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame made row by row carries the hash a fresh computation gives; any `&mut` access drops it, so an
    /// edited frame is never taken for the original.
    #[test]
    fn content_hash_follows_the_pixels() {
        let values: Vec<f32> = (0..7 * 5 * 4).map(|i| i as f32 * 0.01).collect();
        let built = Frame::from_rows(7, 5, |y, row| {
            row.copy_from_slice(&values[y * 28..(y + 1) * 28]);
            Ok::<_, ()>(())
        })
        .unwrap();
        let wrapped = Frame::from_rgba(7, 5, values.clone()).unwrap();
        assert_eq!(built, wrapped);
        let h = built.content_hash();
        assert_eq!(wrapped.content_hash(), h);
        assert_eq!(built.clone().content_hash(), h);
        let edits: [fn(&mut Frame); 3] = [
            |f| f.set_pixel(6, 4, [9.0; 4]),
            |f| f.row_mut(0)[0] = 9.0,
            |f| f.data_mut()[50] = 9.0,
        ];
        for edit in edits {
            let mut edited = built.clone();
            edit(&mut edited);
            assert_ne!(edited.content_hash(), h);
            assert_eq!(edited.content_hash(), Frame::from_rgba(7, 5, edited.data().to_vec()).unwrap().content_hash());
        }
        // The same values as another size.
        assert_ne!(Frame::from_rgba(5, 7, values).unwrap().content_hash(), h);
        assert_eq!(Frame::from_rows(2, 2, |y, _| if y == 1 { Err(y) } else { Ok(()) }), Err(1));
    }

    /// Large frames reuse dropped frames' memory: what a new frame holds is still only what it was given.
    #[test]
    fn reused_memory_starts_clean() {
        let (w, h) = (640, 480); // 4.9 MB: above the pool's threshold
        assert!(w * h * 16 >= pool::LARGE);
        for _ in 0..3 {
            drop(Frame::filled(w, h, [f32::NAN; 4]));
            let fresh = Frame::from_rows(w, h, |_, _| Ok::<_, ()>(())).unwrap();
            assert!(fresh.data().iter().all(|&v| v == 0.0));
            let grey = Frame::filled(w, h, [0.5; 4]);
            assert!(grey.data().iter().all(|&v| v == 0.5) && grey.data().len() == w * h * 4);
            let copy = grey.clone();
            assert_eq!(copy, grey);
        }
    }

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

    #[test]
    fn rect_union_and_growth_clip_to_the_frame() {
        let a = Rect { x0: 2, y0: 3, x1: 5, y1: 6 };
        assert_eq!(a.union(Rect::default()), a);
        assert_eq!(Rect::default().union(a), a);
        assert_eq!(a.union(Rect { x0: 4, y0: 1, x1: 9, y1: 4 }), Rect { x0: 2, y0: 1, x1: 9, y1: 6 });
        assert_eq!(a.grown(3, 7, 100), Rect { x0: 0, y0: 0, x1: 7, y1: 9 });
    }

    #[test]
    fn groups_join_rectangles_that_touch_through_others() {
        let r = |x0, y0, x1, y1| Rect { x0, y0, x1, y1 };
        // 0 and 2 only meet through 1, which comes last; 3 stands alone; 4 is empty.
        let rects = [r(0, 0, 10, 10), r(30, 0, 40, 10), r(8, 5, 32, 8), r(0, 50, 5, 55), r(0, 0, 0, 0)];
        let mut groups = overlapping_groups(&rects[..4]);
        groups.sort_by_key(|g| g.1[0]);
        assert_eq!(groups, vec![(r(0, 0, 40, 10), vec![0, 1, 2]), (r(0, 50, 5, 55), vec![3])]);
        assert!(!r(0, 0, 10, 10).overlaps(&r(10, 0, 20, 10)), "edges that only touch do not overlap");
        assert!(!rects[4].overlaps(&rects[0]));
    }

    #[test]
    fn overlay_keeps_the_stronger_mask() {
        let source = Frame::filled(4, 1, [0.0; 4]);
        let mut a = Patch::of_source(&source, Rect { x0: 0, y0: 0, x1: 4, y1: 1 });
        a.mask = Mask::from_values(4, 1, vec![0.0, 0.5, 0.5, 0.0]).unwrap();
        let mut b = Patch::of_source(&source, Rect { x0: 1, y0: 0, x1: 3, y1: 1 });
        b.mask = Mask::from_values(2, 1, vec![0.4, 0.6]).unwrap();
        b.rgb = Frame::filled(2, 1, [1.0; 4]);
        a.overlay(&b);
        assert_eq!(a.mask.data(), &[0.0, 0.5, 0.6, 0.0]);
        assert_eq!((a.rgb.pixel(1, 0), a.rgb.pixel(2, 0)), ([0.0; 4], [1.0; 4]));
    }

    #[test]
    fn patch_laid_over_a_wider_one_lands_in_its_place() {
        let v = |i: usize| i as f32 / 100.0;
        let source = Frame::from_rgba(6, 5, (0..120).map(v).collect()).unwrap();
        let mut p = Patch::of_source(&source, Rect { x0: 2, y0: 1, x1: 4, y1: 3 });
        assert_eq!(p.rgb.pixel(0, 0), source.pixel(2, 1));
        p.rgb.set_pixel(1, 1, [9.0; 4]);
        p.mask.set(1, 1, 0.5);
        let mut wide = Patch::of_source(&source, Rect { x0: 1, y0: 0, x1: 6, y1: 5 });
        wide.overlay(&p);
        assert_eq!(wide.rgb.pixel(2, 2), [9.0; 4]);
        assert_eq!(wide.rgb.pixel(0, 0), source.pixel(1, 0));
        assert_eq!(wide.mask.get(2, 2), 0.5);
        assert_eq!(wide.mask.data().iter().filter(|&&m| m > 0.0).count(), 1);
        let full = Patch::frame_mask(std::slice::from_ref(&wide), 6, 5);
        assert_eq!(full.get(3, 2), 0.5);
        assert_eq!(full.data().iter().filter(|&&m| m > 0.0).count(), 1);
    }
}
