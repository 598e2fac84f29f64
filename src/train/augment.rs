//! Training augmentation on the CPU, per sample: a random affine (rotation, scale, shift, flip) applied to
//! input, target and mask alike; DeepFaceLab's random grid warp on the input only (the network must undo it,
//! which is what teaches it faces rather than pixels); a colour jitter applied to input and target alike.

use crate::faceset::FaceSample;

/// A small, seedable random generator (SplitMix64): training runs are reproducible from their seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// One augmented training example, planar CHW in [0, 1].
pub struct Example {
    pub input: Vec<f32>,
    pub target: Vec<f32>,
    pub mask: Vec<f32>,
}

/// Bilinear sample of an interleaved `channels`-channel square image at (x, y) in pixel units, edges clamped.
pub(super) fn sample(img: &[f32], size: usize, channels: usize, x: f32, y: f32, out: &mut [f32]) {
    let fx = (x - 0.5).clamp(0.0, size as f32 - 1.0);
    let fy = (y - 0.5).clamp(0.0, size as f32 - 1.0);
    let (x0, y0) = (fx as usize, fy as usize);
    let (x1, y1) = ((x0 + 1).min(size - 1), (y0 + 1).min(size - 1));
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    for c in 0..channels {
        let p = |xx: usize, yy: usize| img[(yy * size + xx) * channels + c];
        let top = p(x0, y0) + (p(x1, y0) - p(x0, y0)) * tx;
        let bottom = p(x0, y1) + (p(x1, y1) - p(x0, y1)) * tx;
        out[c] = top + (bottom - top) * ty;
    }
}

/// A smooth random displacement field: a 5×5 grid of offsets (σ ≈ 2.5% of the side, zero at the border),
/// bilinearly interpolated. Returns the offset at (u, v) in [0, 1]².
struct WarpGrid {
    dx: [[f32; 5]; 5],
    dy: [[f32; 5]; 5],
}

impl WarpGrid {
    fn random(rng: &mut Rng, size: f32) -> WarpGrid {
        let mut g = WarpGrid { dx: [[0.0; 5]; 5], dy: [[0.0; 5]; 5] };
        for j in 1..4 {
            for i in 1..4 {
                g.dx[j][i] = rng.uniform(-1.0, 1.0) * size * 0.04;
                g.dy[j][i] = rng.uniform(-1.0, 1.0) * size * 0.04;
            }
        }
        g
    }

    fn at(&self, u: f32, v: f32) -> (f32, f32) {
        let (gx, gy) = ((u * 4.0).clamp(0.0, 3.999), (v * 4.0).clamp(0.0, 3.999));
        let (i, j) = (gx as usize, gy as usize);
        let (tx, ty) = (gx - i as f32, gy - j as f32);
        let lerp2 = |m: &[[f32; 5]; 5]| {
            let top = m[j][i] + (m[j][i + 1] - m[j][i]) * tx;
            let bottom = m[j + 1][i] + (m[j + 1][i + 1] - m[j + 1][i]) * tx;
            top + (bottom - top) * ty
        };
        (lerp2(&self.dx), lerp2(&self.dy))
    }
}

/// Augments one face sample of side `size`.
pub fn augment(s: &FaceSample, size: usize, rng: &mut Rng) -> Example {
    let n = size as f32;
    let angle = rng.uniform(-10.0, 10.0).to_radians();
    let scale = rng.uniform(0.95, 1.05);
    let (sx, sy) = (rng.uniform(-0.05, 0.05) * n, rng.uniform(-0.05, 0.05) * n);
    let flip = rng.below(2) == 1;
    let warp = WarpGrid::random(rng, n);
    // Colour jitter: brightness, contrast about mid-grey, saturation.
    let (bright, contrast, sat) = (rng.uniform(-0.05, 0.05), rng.uniform(0.9, 1.1), rng.uniform(0.85, 1.15));
    let (sin, cos) = angle.sin_cos();
    let plane = size * size;
    let mut ex = Example { input: vec![0.0; 3 * plane], target: vec![0.0; 3 * plane], mask: vec![0.0; plane] };
    let mut px = [0.0f32; 3];
    let mut m = [0.0f32; 1];
    for y in 0..size {
        for x in 0..size {
            // Output pixel → source pixel through the (inverse) affine about the centre.
            let (mut u, v) = (x as f32 + 0.5 - n / 2.0, y as f32 + 0.5 - n / 2.0);
            if flip {
                u = -u;
            }
            let src_x = (cos * u - sin * v) / scale + n / 2.0 + sx;
            let src_y = (sin * u + cos * v) / scale + n / 2.0 + sy;
            let jitter = |p: [f32; 3]| {
                let grey = (p[0] + p[1] + p[2]) / 3.0;
                p.map(|c| ((grey + (c - grey) * sat - 0.5) * contrast + 0.5 + bright).clamp(0.0, 1.0))
            };
            sample(&s.rgb, size, 3, src_x, src_y, &mut px);
            let t = jitter(px);
            sample(&s.mask, size, 1, src_x, src_y, &mut m);
            let (dx, dy) = warp.at(x as f32 / n, y as f32 / n);
            sample(&s.rgb, size, 3, src_x + dx, src_y + dy, &mut px);
            let i = jitter(px);
            let at = y * size + x;
            for c in 0..3 {
                ex.target[c * plane + at] = t[c];
                ex.input[c * plane + at] = i[c];
            }
            ex.mask[at] = m[0];
        }
    }
    ex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_reproducible_and_uniform_enough() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<f32> = (0..1000).map(|_| a.uniform(0.0, 1.0)).collect();
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        assert_eq!(xs[10], { for _ in 0..10 { b.uniform(0.0, 1.0); } b.uniform(0.0, 1.0) });
        let mean: f32 = xs.iter().sum::<f32>() / 1000.0;
        assert!((mean - 0.5).abs() < 0.05);
    }

    #[test]
    fn augmentation_keeps_ranges_and_differs_between_input_and_target() {
        let size = 16;
        let rgb: Vec<f32> = (0..size * size * 3).map(|i| ((i * 37) % 100) as f32 / 100.0).collect();
        let s = FaceSample { rgb, mask: vec![1.0; size * size], landmarks: Vec::new() };
        let ex = augment(&s, size, &mut Rng::new(1));
        assert!(ex.input.iter().chain(&ex.target).chain(&ex.mask).all(|v| (0.0..=1.0).contains(v)));
        assert_ne!(ex.input, ex.target, "the warp must change the input");
    }
}
