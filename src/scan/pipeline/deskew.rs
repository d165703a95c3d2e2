//! Skew estimation by projection profiles on the ~100 dpi analysis copy.
//!
//! The bottom edges of dark pixels (at least [`INK_CONTRAST`] under the paper level) are projected onto the vertical axis
//! along lines at angle `a`; text lines make the profile peaky exactly when `a` is the skew, so the angle
//! that maximises Σ bin² wins. Coarse search over ±[`MAX_DEGREES`] in [`COARSE_STEP`] steps, then a fine
//! search around the best in [`FINE_STEP`] steps.
//!
//! Only a confident estimate is corrected: enough ink ([`MIN_POINTS`]), a peak at least
//! [`MIN_PEAK_RATIO`] × the median score of the coarse range (text, not a photo), not at the edge of the
//! range, and at least [`MIN_DEGREES`] (smaller skews are not worth a resampling).

use super::classify::{Analysis, Thresholds};

pub(crate) const MAX_DEGREES: f32 = 5.0;
pub(crate) const MIN_DEGREES: f32 = 0.1;
const COARSE_STEP: f32 = 0.25;
const FINE_STEP: f32 = 0.025;
const INK_CONTRAST: u8 = 48;
const MIN_POINTS: usize = 200;
pub(crate) const MIN_PEAK_RATIO: f64 = 1.2;

/// Estimated skew in degrees (positive: the content is turned clockwise on screen), when confident and
/// worth correcting.
pub(crate) fn estimate(analysis: &Analysis) -> Option<f32> {
    let found = search(analysis)?;
    (found.confident && found.degrees.abs() >= MIN_DEGREES).then_some(found.degrees)
}

pub(crate) struct Found {
    pub degrees: f32,
    pub confident: bool,
}

pub(crate) fn search(analysis: &Analysis) -> Option<Found> {
    let small = &analysis.small;
    let (width, height) = small.dimensions();
    let paper = analysis.paper_level(&Thresholds::default());
    let dark_below = paper.saturating_sub(INK_CONTRAST);
    let cx = width as f32 / 2.0;
    // Bottom edges of the ink (a dark pixel over a light one): the baselines of text, a third of the
    // dark pixels and a sharper profile. Points as (x − cx, y).
    let mut points: Vec<(i32, i32)> = Vec::new();
    let rows: Vec<&[u8]> = small.as_raw().chunks_exact(width as usize).collect();
    for (y, pair) in rows.windows(2).enumerate() {
        for (x, (&v, &below)) in pair[0].iter().zip(pair[1]).enumerate() {
            if v < dark_below && below >= dark_below {
                points.push((x as i32 - cx as i32, y as i32));
            }
        }
    }
    if points.len() < MIN_POINTS {
        return None;
    }
    // Profile bins span the rows plus the drift at the largest angle.
    let margin = (width as f32 * (MAX_DEGREES + 1.0).to_radians().tan()).ceil() as i32 + 2;
    let n_bins = (height as i32 + 2 * margin) as usize;
    let mut bins = vec![0u32; n_bins];
    let mut score = |degrees: f32| -> f64 {
        bins.fill(0);
        // y' = y − x·tan(a), in 1/1024 px fixed point.
        let slope = (f64::from(degrees).to_radians().tan() * 1024.0).round() as i64;
        for &(x, y) in &points {
            let shifted = ((i64::from(y) << 10) - i64::from(x) * slope + 512) >> 10;
            let bin = (shifted + i64::from(margin)).clamp(0, n_bins as i64 - 1) as usize;
            bins[bin] += 1;
        }
        bins.iter().map(|&n| f64::from(n) * f64::from(n)).sum()
    };
    let n_coarse = (MAX_DEGREES / COARSE_STEP).round() as i32;
    let coarse: Vec<(f32, f64)> =
        (-n_coarse..=n_coarse).map(|i| i as f32 * COARSE_STEP).map(|a| (a, score(a))).collect();
    let (mut best, mut best_score) = coarse.iter().copied().fold((0.0, f64::MIN), |b, c| if c.1 > b.1 { c } else { b });
    let at_edge = best.abs() >= MAX_DEGREES - COARSE_STEP / 2.0;
    let mut sorted: Vec<f64> = coarse.iter().map(|c| c.1).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2].max(1.0);
    let n_fine = (COARSE_STEP / FINE_STEP).round() as i32;
    for i in -n_fine..=n_fine {
        let a = best + i as f32 * FINE_STEP;
        if a.abs() > MAX_DEGREES {
            continue;
        }
        let s = score(a);
        if s > best_score {
            (best, best_score) = (a, s);
        }
    }
    let best = (best / FINE_STEP).round() * FINE_STEP;
    let peak_ratio = best_score / median;
    Some(Found { degrees: best, confident: !at_edge && peak_ratio >= MIN_PEAK_RATIO })
}
