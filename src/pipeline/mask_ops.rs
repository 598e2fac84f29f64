//! Mask shaping in frame pixels: erode (or grow) and feather.
//!
//! Both run in time independent of the radius (sliding extremum and running box sums), so a 200 px feather on a
//! 4K plate costs the same as a 2 px one. Radii are fractional: the node scales them by the render scale, and a
//! proxy render at 0.25 must look like the full-resolution one.

use super::frame::Mask;
use std::collections::VecDeque;

/// Erodes the mask by `radius` pixels (a square structuring element); a negative radius grows it instead.
/// The fractional part blends the results of the two neighbouring whole radii so that animating the radius
/// is smooth.
pub fn erode(mask: &Mask, radius: f32) -> Mask {
    if radius == 0.0 || !radius.is_finite() {
        return mask.clone();
    }
    let grow = radius < 0.0;
    let r = radius.abs();
    let lo = r.floor() as usize;
    let frac = r - lo as f32;
    let a = extremum_filter(mask, lo, grow);
    if frac <= 0.0 {
        return a;
    }
    let b = extremum_filter(mask, lo + 1, grow);
    let mut out = a;
    for (o, v) in out.data_mut().iter_mut().zip(b.data()) {
        *o += (*v - *o) * frac;
    }
    out
}

/// Softens the mask edge with a blur of about `radius` pixels (three box passes approximate a Gaussian whose
/// support is the radius). Zero or negative radius returns the mask unchanged.
pub fn feather(mask: &Mask, radius: f32) -> Mask {
    if radius <= 0.0 || !radius.is_finite() {
        return mask.clone();
    }
    // Three box passes of half-width h give a kernel of half-width 3h; pick h so 3h ≈ radius.
    let h = (radius / 3.0).max(0.5);
    let mut out = mask.clone();
    for _ in 0..3 {
        out = box_blur(&out, h);
    }
    out
}

/// Min (erode) or max (grow) over a (2r+1)² square, separable.
fn extremum_filter(mask: &Mask, r: usize, grow: bool) -> Mask {
    if r == 0 {
        return mask.clone();
    }
    separable(mask, |line, out| sliding_extremum(line, r, grow, out))
}

/// Runs a 1D filter over every row, then every column of the result.
fn separable(mask: &Mask, mut filter: impl FnMut(&[f32], &mut Vec<f32>)) -> Mask {
    let (w, h) = (mask.width(), mask.height());
    let mut tmp = Mask::empty(w, h);
    let mut line = Vec::new();
    let mut out_line = Vec::new();
    for y in 0..h {
        line.clear();
        line.extend((0..w).map(|x| mask.get(x, y)));
        filter(&line, &mut out_line);
        for (x, v) in out_line.iter().enumerate() {
            tmp.set(x, y, *v);
        }
    }
    let mut out = Mask::empty(w, h);
    for x in 0..w {
        line.clear();
        line.extend((0..h).map(|y| tmp.get(x, y)));
        filter(&line, &mut out_line);
        for (y, v) in out_line.iter().enumerate() {
            out.set(x, y, *v);
        }
    }
    out
}

/// Monotonic-deque sliding window extremum; pixels outside the image count as 0 when eroding (so the mask
/// shrinks away from the frame edge too) and are ignored when growing.
fn sliding_extremum(line: &[f32], r: usize, grow: bool, out: &mut Vec<f32>) {
    out.clear();
    let n = line.len();
    let better = |a: f32, b: f32| if grow { a >= b } else { a <= b };
    let mut dq: VecDeque<usize> = VecDeque::new();
    let mut next = 0usize;
    for i in 0..n {
        let hi = (i + r).min(n - 1);
        while next <= hi {
            while let Some(&back) = dq.back() {
                if better(line[next], line[back]) {
                    dq.pop_back();
                } else {
                    break;
                }
            }
            dq.push_back(next);
            next += 1;
        }
        while let Some(&front) = dq.front() {
            if front + r < i {
                dq.pop_front();
            } else {
                break;
            }
        }
        let mut v = dq.front().map(|&j| line[j]).unwrap_or(0.0);
        let touches_edge = i < r || i + r >= n;
        if !grow && touches_edge {
            v = 0.0;
        }
        out.push(v);
    }
}

/// Box blur of fractional half-width `h` (the two end taps weighted by the fraction), separable, with the
/// edge pixels clamped.
fn box_blur(mask: &Mask, h: f32) -> Mask {
    separable(mask, |line, out| box_line(line, h, out))
}

fn box_line(line: &[f32], h: f32, out: &mut Vec<f32>) {
    out.clear();
    let n = line.len() as isize;
    if n == 0 {
        return;
    }
    let whole = h.floor() as isize;
    let frac = (h - whole as f32) as f64;
    let at = |i: isize| line[i.clamp(0, n - 1) as usize] as f64;
    // Prefix sums in f64: long rows of f32 would otherwise drift.
    let mut prefix = Vec::with_capacity(line.len() + 1);
    prefix.push(0.0f64);
    for v in line {
        let last = *prefix.last().unwrap_or(&0.0);
        prefix.push(last + *v as f64);
    }
    let sum = |a: isize, b: isize| -> f64 {
        // Sum of clamped samples over [a, b].
        let mut s = 0.0;
        let (ca, cb) = (a.max(0), b.min(n - 1));
        if ca <= cb {
            s += prefix[(cb + 1) as usize] - prefix[ca as usize];
        }
        if a < 0 {
            s += (-a).min(b - a + 1) as f64 * at(0);
        }
        if b > n - 1 {
            s += (b - (n - 1)).min(b - a + 1) as f64 * at(n - 1);
        }
        s
    };
    let norm = (2 * whole + 1) as f64 + 2.0 * frac;
    for i in 0..n {
        let mut s = sum(i - whole, i + whole);
        if frac > 0.0 {
            s += frac * (at(i - whole - 1) + at(i + whole + 1));
        }
        out.push((s / norm) as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(size: usize, lo: usize, hi: usize) -> Mask {
        let mut m = Mask::empty(size, size);
        for y in lo..hi {
            for x in lo..hi {
                m.set(x, y, 1.0);
            }
        }
        m
    }

    fn area(m: &Mask) -> f32 {
        m.data().iter().sum()
    }

    #[test]
    fn erode_shrinks_square_by_radius() {
        let m = square(32, 8, 24); // 16x16
        let e = erode(&m, 3.0);
        assert_eq!(area(&e), 100.0); // 10x10
        assert_eq!(e.get(11, 11), 1.0);
        assert_eq!(e.get(10, 10), 0.0);
    }

    #[test]
    fn negative_erode_grows() {
        let m = square(32, 8, 24);
        let g = erode(&m, -2.0);
        assert_eq!(area(&g), 400.0); // 20x20
    }

    #[test]
    fn fractional_erode_is_between_neighbours() {
        let m = square(32, 8, 24);
        let a = area(&erode(&m, 2.0));
        let b = area(&erode(&m, 3.0));
        let c = area(&erode(&m, 2.5));
        assert!(c < a && c > b, "{a} {c} {b}");
    }

    #[test]
    fn erode_treats_outside_as_empty() {
        let m = square(8, 0, 8);
        let e = erode(&m, 1.0);
        assert_eq!(e.get(0, 4), 0.0);
        assert_eq!(e.get(4, 4), 1.0);
    }

    #[test]
    fn feather_preserves_mass_and_softens_edges() {
        let m = square(64, 16, 48);
        let f = feather(&m, 6.0);
        // Blur conserves the mask's total away from the frame border (within float rounding).
        assert!((area(&f) - area(&m)).abs() < 1e-2, "{} vs {}", area(&f), area(&m));
        let edge = f.get(16, 32);
        assert!(edge > 0.2 && edge < 0.8, "edge {edge}");
        assert!((f.get(32, 32) - 1.0).abs() < 1e-6);
        assert_eq!(f.get(2, 2), 0.0);
    }

    #[test]
    fn zero_radii_are_identity() {
        let m = square(16, 4, 12);
        assert_eq!(erode(&m, 0.0), m);
        assert_eq!(feather(&m, 0.0), m);
        assert_eq!(feather(&m, f32::NAN), m);
    }
}
