//! ID card auto-crop on the flatbed: a CCCD (ISO/IEC 7810 ID-1, 85.6 × 53.98 mm) lying anywhere on the
//! glass, the lid white around it.
//!
//! On the ~100 dpi analysis copy, pixels at least [`CONTRAST`] darker than the background (the page's
//! paper level, here the lid) are the card; rows and columns with fewer than [`MIN_RUN_FRACTION`] of a
//! card side in such pixels are dust. The bounding box of the rest is taken when it is card-sized: each
//! side between [`MIN_SCALE`] and [`MAX_SCALE`] × the card's (either orientation; the upper bound lets
//! a card with its shadow or slightly turned through), and cropped with [`MARGIN_MM`] around it.

use super::classify::{Analysis, Thresholds};
use super::raster::Rect;

pub(crate) const CARD_MM: (f32, f32) = (85.6, 53.98);
const CONTRAST: u8 = 16;
const MIN_RUN_FRACTION: f32 = 0.2;
const MIN_SCALE: f32 = 0.85;
const MAX_SCALE: f32 = 1.25;
const MARGIN_MM: f32 = 2.0;

/// The card's rectangle on the page (full-resolution pixels), when a card-sized region stands out.
pub(crate) fn find_card(analysis: &Analysis) -> Option<Rect> {
    let small = &analysis.small;
    let (width, height) = (small.width() as usize, small.height() as usize);
    let px_per_mm = analysis.dpi as f32 / 25.4 / analysis.factor as f32;
    let background = analysis.paper_level(&Thresholds { paper_percentile: 0.5, ..Thresholds::default() });
    let dark_below = background.saturating_sub(CONTRAST);
    let mut rows = vec![0u32; height];
    let mut cols = vec![0u32; width];
    for (y, row) in small.as_raw().chunks_exact(width).enumerate() {
        for (x, &v) in row.iter().enumerate() {
            if v < dark_below {
                rows[y] += 1;
                cols[x] += 1;
            }
        }
    }
    let min_run = (CARD_MM.1 * px_per_mm * MIN_RUN_FRACTION) as u32;
    let span = |counts: &[u32]| {
        let first = counts.iter().position(|&n| n >= min_run.max(1))?;
        let last = counts.iter().rposition(|&n| n >= min_run.max(1))?;
        Some((first, last + 1))
    };
    let (x0, x1) = span(&cols)?;
    let (y0, y1) = span(&rows)?;
    let (w_mm, h_mm) = ((x1 - x0) as f32 / px_per_mm, (y1 - y0) as f32 / px_per_mm);
    let fits = |w: f32, h: f32, card_w: f32, card_h: f32| {
        (MIN_SCALE * card_w..=MAX_SCALE * card_w).contains(&w) && (MIN_SCALE * card_h..=MAX_SCALE * card_h).contains(&h)
    };
    if !fits(w_mm, h_mm, CARD_MM.0, CARD_MM.1) && !fits(w_mm, h_mm, CARD_MM.1, CARD_MM.0) {
        return None;
    }
    // Back to full resolution, with the margin, clamped to the page.
    let margin = (MARGIN_MM * analysis.dpi as f32 / 25.4) as i64;
    let f = i64::from(analysis.factor);
    let (page_w, page_h) = (analysis.page_width as i64, analysis.page_height as i64);
    let left = (x0 as i64 * f - margin).clamp(0, page_w - 1);
    let top = (y0 as i64 * f - margin).clamp(0, page_h - 1);
    let right = (x1 as i64 * f + margin).clamp(left + 1, page_w);
    let bottom = (y1 as i64 * f + margin).clamp(top + 1, page_h);
    Some(Rect { x: left as u32, y: top as u32, width: (right - left) as u32, height: (bottom - top) as u32 })
}
