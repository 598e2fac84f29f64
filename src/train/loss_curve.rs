//! The loss curve of a training run: loss per identity over iterations on a log scale, each step's loss as a
//! pale band and its running mean as a line, with ticked axes and a legend giving each identity's current
//! (running-mean) loss. What an artist looks at to decide whether a run is still learning.

use crate::draw;
use image::{Rgb, RgbImage};

const SIZE: (u32, u32) = (800, 420);
/// Margins around the plot area: tick labels on the left and below, the legend above.
const LEFT: u32 = 76;
const RIGHT: u32 = 24;
const TOP: u32 = 40;
const BOTTOM: u32 = 44;
const SCALE: u32 = 2;
const INK: Rgb<u8> = Rgb([40, 40, 40]);
const GRID: Rgb<u8> = Rgb([225, 225, 225]);
const COLOURS: [Rgb<u8>; 6] =
    [Rgb([200, 60, 40]), Rgb([40, 90, 200]), Rgb([40, 150, 60]), Rgb([160, 60, 160]), Rgb([220, 140, 0]), Rgb([0, 150, 160])];

/// The running mean spans this many steps at most: the model card's "final loss" is the mean of the last 100.
const MAX_WINDOW: usize = 100;

/// The curve for `history` (iteration, one loss per identity), identities named by `names`.
pub fn plot(history: &[(u64, Vec<f32>)], names: &[String]) -> RgbImage {
    let (w, h) = SIZE;
    let mut img = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    let series: Vec<Vec<(u64, f32)>> = (0..names.len())
        .map(|id| {
            history
                .iter()
                .filter_map(|(it, l)| l.get(id).map(|&v| (*it, v)))
                .filter(|(_, v)| *v > 0.0 && v.is_finite())
                .collect()
        })
        .collect();
    let all = series.iter().flatten().map(|(_, v)| f64::from(*v));
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let max_it = history.last().map_or(0, |(it, _)| *it);
    draw::text(&mut img, 8, 12, "loss", SCALE, INK);
    if lo > hi || max_it == 0 {
        draw::text(&mut img, i64::from(LEFT), i64::from(h / 2), "no iterations yet", SCALE, INK);
        return img;
    }
    // A single distinct value still gets a visible band of axis around it.
    let (lo, hi) = if hi / lo < 1.05 { (lo / 1.05, hi * 1.05) } else { (lo, hi) };
    let (x0, x1, y0, y1) = (LEFT as f32, (w - RIGHT) as f32, TOP as f32, (h - BOTTOM) as f32);
    let px = |it: u64| x0 + it as f32 / max_it as f32 * (x1 - x0);
    let py = |v: f64| y1 - ((v.ln() - lo.ln()) / (hi.ln() - lo.ln())) as f32 * (y1 - y0);

    for v in log_ticks(lo, hi) {
        let y = py(v);
        draw::line(&mut img, (x0, y), (x1, y), GRID);
        let label = significant(v);
        let lx = i64::from(LEFT) - 8 - i64::from(draw::text_width(&label, SCALE));
        draw::text(&mut img, lx, y as i64 - i64::from(draw::GLYPH_H * SCALE / 2), &label, SCALE, INK);
    }
    let step = nice_step(max_it, 6);
    for it in (0..=max_it).step_by(step as usize) {
        let x = px(it);
        draw::line(&mut img, (x, y0), (x, y1), GRID);
        let label = iteration_label(it);
        let lx = x as i64 - i64::from(draw::text_width(&label, SCALE) / 2);
        draw::text(&mut img, lx, i64::from(h - BOTTOM + 6), &label, SCALE, INK);
    }
    let caption = "iterations";
    draw::text(&mut img, i64::from(w - RIGHT - draw::text_width(caption, SCALE)), i64::from(h - 18), caption, SCALE, INK);
    for (a, b) in [((x0, y0), (x1, y0)), ((x0, y1), (x1, y1)), ((x0, y0), (x0, y1)), ((x1, y0), (x1, y1))] {
        draw::line(&mut img, a, b, INK);
    }

    let mut legend_x = i64::from(LEFT);
    let mut unlisted = 0;
    for ((points, name), colour) in series.iter().zip(names).zip(COLOURS.iter().cycle()) {
        let pale = Rgb(colour.0.map(|c| (255.0 - (255.0 - f32::from(c)) * 0.3) as u8));
        let window = (points.len() / 50).clamp(1, MAX_WINDOW);
        let mean = running_mean(points, window);
        for pair in points.windows(2) {
            draw::line(&mut img, (px(pair[0].0), py(f64::from(pair[0].1))), (px(pair[1].0), py(f64::from(pair[1].1))), pale);
        }
        for pair in mean.windows(2) {
            let (a, b) = ((px(pair[0].0), py(f64::from(pair[0].1))), (px(pair[1].0), py(f64::from(pair[1].1))));
            // Two pixels thick, so the mean stands out of its own band.
            draw::line(&mut img, a, b, *colour);
            draw::line(&mut img, (a.0, a.1 + 1.0), (b.0, b.1 + 1.0), *colour);
        }
        let current = mean.last().map_or(String::new(), |(_, v)| format!(" {v:.4}"));
        let entry = format!("{name}{current}");
        // Entries that would run off the picture (many identities, long names) are counted instead, keeping
        // room for the count itself.
        let end = legend_x + 20 + i64::from(draw::text_width(&entry, SCALE));
        if unlisted > 0 || end > i64::from(w - RIGHT) - 48 {
            unlisted += 1;
            continue;
        }
        draw::fill(&mut img, legend_x, 12, 14, 14, *colour);
        draw::text(&mut img, legend_x + 20, 12, &entry, SCALE, INK);
        legend_x = end + 24;
    }
    if unlisted > 0 {
        draw::text(&mut img, legend_x, 12, &format!("+{unlisted}"), SCALE, INK);
    }
    img
}

/// Trailing mean over `window` points (fewer at the start), one output per input point.
fn running_mean(points: &[(u64, f32)], window: usize) -> Vec<(u64, f32)> {
    let mut sum = 0.0f64;
    points
        .iter()
        .enumerate()
        .map(|(i, &(it, v))| {
            sum += f64::from(v);
            if i >= window {
                sum -= f64::from(points[i - window].1);
            }
            (it, (sum / (i + 1).min(window) as f64) as f32)
        })
        .collect()
}

/// Ticks for a log axis over [lo, hi]: 1, 2 and 5 times powers of ten; every integer mantissa when that gives
/// fewer than three; the two ends when even that gives fewer than two.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    // Values a hair outside the range still count: the range's ends are often round numbers themselves.
    let inside = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let decades = lo.log10().floor() as i32..=hi.log10().ceil() as i32;
    let with = |mantissas: &[f64]| -> Vec<f64> {
        decades.clone().flat_map(|d| mantissas.iter().map(move |m| m * 10f64.powi(d))).filter(inside).collect()
    };
    let ticks = with(&[1.0, 2.0, 5.0]);
    if ticks.len() >= 3 {
        return ticks;
    }
    let ticks = with(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    if ticks.len() >= 2 {
        return ticks;
    }
    vec![lo, hi]
}

/// A step of 1, 2 or 5 times a power of ten giving about `count` intervals over [0, span].
fn nice_step(span: u64, count: u64) -> u64 {
    let raw = (span as f64 / count.max(1) as f64).max(1.0);
    let magnitude = 10f64.powi(raw.log10().floor() as i32);
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    step.round().max(1.0) as u64
}

/// "20k" for round thousands, the plain number otherwise.
fn iteration_label(it: u64) -> String {
    if it >= 1000 && it % 1000 == 0 {
        format!("{}k", it / 1000)
    } else {
        it.to_string()
    }
}

/// Three significant digits, trailing zeros dropped: 0.02 -> "0.02", 0.0213 -> "0.0213", 200 -> "200".
fn significant(v: f64) -> String {
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        // Powers of ten computed in f64 differ from the literals by an ulp or so.
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * y.abs())
    }

    #[test]
    fn log_axis_ticks_are_round_numbers_inside_the_range() {
        let t = log_ticks(0.02, 0.5);
        assert!(close(&t, &[0.02, 0.05, 0.1, 0.2, 0.5]), "{t:?}");
        let t = log_ticks(0.021, 0.058);
        assert!(close(&t, &[0.03, 0.04, 0.05]), "narrow ranges fall back to every mantissa: {t:?}");
        let t = log_ticks(0.0213, 0.0291);
        assert!(close(&t, &[0.0213, 0.0291]), "{t:?}");
    }

    #[test]
    fn iteration_axis_steps_and_labels() {
        assert_eq!(nice_step(21_000, 6), 5000);
        assert_eq!(nice_step(60, 6), 10);
        assert_eq!(nice_step(3, 6), 1);
        assert_eq!((iteration_label(20_000), iteration_label(2500), iteration_label(0)), ("20k".into(), "2500".into(), "0".into()));
        assert_eq!((significant(0.02), significant(0.0213), significant(200.0), significant(1.5)), ("0.02".into(), "0.0213".into(), "200".into(), "1.5".into()));
    }

    #[test]
    fn running_mean_trails_over_the_window() {
        let points: Vec<(u64, f32)> = [4.0, 2.0, 6.0, 8.0].iter().enumerate().map(|(i, v)| (i as u64 + 1, *v)).collect();
        let mean: Vec<f32> = running_mean(&points, 2).iter().map(|p| p.1).collect();
        assert_eq!(mean, vec![4.0, 3.0, 4.0, 7.0]);
    }

    #[test]
    fn each_identity_gets_its_colour_and_an_empty_run_still_draws() {
        let names = vec!["a".to_string(), "b".to_string()];
        let history: Vec<(u64, Vec<f32>)> = (1..=200).map(|i| (i, vec![1.0 / i as f32, 2.0 / i as f32])).collect();
        let img = plot(&history, &names);
        for colour in &COLOURS[..2] {
            // The mean line is drawn in the plot area, not only the legend swatch.
            let in_plot = img.enumerate_pixels().filter(|(x, y, p)| *y > TOP + 2 && *x > LEFT && *p == colour).count();
            assert!(in_plot > 100, "{colour:?}: {in_plot} pixels");
        }
        assert!(!img.pixels().any(|p| *p == COLOURS[2]), "only two identities");
        let empty = plot(&[], &names);
        assert_eq!(empty.dimensions(), SIZE);
        assert!(empty.pixels().any(|p| *p == INK));
    }

    #[test]
    fn a_legend_too_long_for_the_picture_counts_the_rest() {
        let names: Vec<String> = (0..8).map(|i| format!("identity_number_{i}")).collect();
        let history: Vec<(u64, Vec<f32>)> = (1..=20).map(|i| (i, vec![0.5; 8])).collect();
        let img = plot(&history, &names);
        // Swatches are drawn only for listed entries: two 'identity_number_N 0.5000' entries fit in 800 px
        // (286 px of text each), a third does not, nor any after it.
        let swatch = |c: Rgb<u8>| (0..TOP).any(|y| (0..SIZE.0).any(|x| *img.get_pixel(x, y) == c));
        assert!(swatch(COLOURS[0]) && swatch(COLOURS[1]));
        assert!(!swatch(COLOURS[2]) && !swatch(COLOURS[3]));
    }
}
