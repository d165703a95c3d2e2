//! Checks that each page kind looks the way a scan pipeline will rely on: colour where the seal
//! and signature are, toner only on the text page, a near-white blank, a measurable skew.

use super::*;
use crate::canvas::luma;
use crate::ink_marks::SEAL_RADIUS_MM;
use crate::sample_text::FormLine;

/// Resolution of the pages drawn by these tests: enough detail, fast in debug builds.
const DPI: u32 = 100;

fn pixels_in(canvas: &Canvas, from_mm: (f32, f32), to_mm: (f32, f32)) -> Vec<[u8; 3]> {
    let (x0, y0) = mm_to_px(point(from_mm.0, from_mm.1), DPI);
    let (x1, y1) = mm_to_px(point(to_mm.0, to_mm.1), DPI);
    (y0..y1).flat_map(|y| (x0..x1).filter_map(move |x| canvas.pixel(x, y))).collect()
}

fn is_red(p: &[u8; 3]) -> bool {
    let [r, g, b] = p.map(i32::from);
    r > g + 60 && r > b + 60
}

fn is_blue(p: &[u8; 3]) -> bool {
    let [r, g, b] = p.map(i32::from);
    b > r + 50 && b > g + 40
}

fn is_dark(p: &[u8; 3]) -> bool {
    luma(p) < 128
}

#[test]
fn page_sizes_are_a4() {
    assert_eq!(page_size_px(300), (2480, 3508));
    assert_eq!(page_size_px(150), (1240, 1754));
    assert_eq!(page_size_px(1), (8, 12));
}

#[test]
fn form_has_a_red_seal_and_a_blue_signature_where_expected() {
    let canvas = render(PageArt::Form, DPI, 1);
    let (cx, cy) = SEAL_CENTER_MM;
    let r = SEAL_RADIUS_MM;
    let seal = pixels_in(&canvas, (cx - r, cy - r), (cx + r, cy + r));
    let n_red = seal.iter().filter(|p| is_red(p)).count();
    assert!(n_red * 100 > seal.len() * 8, "seal area: {n_red} red of {}", seal.len());
    assert_eq!(seal.iter().filter(|p| is_blue(p)).count(), 0, "no blue in the seal");

    let (sx, sy) = SIGNATURE_ORIGIN_MM;
    let signature = pixels_in(&canvas, (sx, sy), (sx + 46.0, sy + 24.0));
    let n_blue = signature.iter().filter(|p| is_blue(p)).count();
    assert!(n_blue * 100 > signature.len() * 3, "signature area: {n_blue} blue of {}", signature.len());
    assert_eq!(signature.iter().filter(|p| is_red(p)).count(), 0, "no red in the signature");

    let header = pixels_in(&canvas, (20.0, 10.0), (190.0, 60.0));
    assert!(header.iter().any(is_dark), "the header has text");
    assert!(!header.iter().any(|p| is_red(p) || is_blue(p)), "the header is toner only");
}

#[test]
fn seal_ink_multiplies_over_text() {
    // Where the seal crosses the receipt line, some pixels are both dark (text) and untouched
    // by the red (text stays black under ink), and the ring itself is red, not pink over black.
    let canvas = render(PageArt::Form, DPI, 1);
    let (cx, cy) = SEAL_CENTER_MM;
    let overlap = pixels_in(&canvas, (cx - 15.0, cy - 17.0), (cx + 15.0, cy - 12.0));
    assert!(overlap.iter().any(is_red), "seal ink crosses the text line");
    assert!(overlap.iter().any(|p| p.iter().all(|&c| c < 60)), "text under the seal stays black");
}

#[test]
fn guide_is_black_toner_only_and_text_heavy() {
    let canvas = render(PageArt::Guide, DPI, 2);
    let all = pixels_in(&canvas, (0.0, 0.0), (PAGE_WIDTH_MM, PAGE_HEIGHT_MM));
    let chroma = |p: &[u8; 3]| p.iter().max().copied().unwrap_or(0) - p.iter().min().copied().unwrap_or(0);
    let most_coloured = all.iter().map(chroma).max().unwrap_or(0);
    assert!(most_coloured <= 12, "colour found on the text page (chroma {most_coloured})");
    let n_dark = all.iter().filter(|p| is_dark(p)).count();
    assert!(n_dark * 100 > all.len() * 3, "text-heavy: {n_dark} dark of {}", all.len());
}

#[test]
fn blank_page_is_near_white_but_not_flat() {
    for art in [PageArt::Blank, PageArt::BackSide] {
        let canvas = render(art, DPI, 3);
        let all = pixels_in(&canvas, (0.0, 0.0), (PAGE_WIDTH_MM, PAGE_HEIGHT_MM));
        let n_near_white = all.iter().filter(|p| luma(&p[..]) >= 230).count();
        assert!(n_near_white * 1000 > all.len() * 999, "{art:?}: {n_near_white} of {}", all.len());
        let n_pure_white = all.iter().filter(|p| **p == [255, 255, 255]).count();
        assert!(n_pure_white * 100 < all.len(), "{art:?}: paper is not pure white");
        let mut levels: Vec<u8> = all.iter().map(|p| p[0]).collect();
        levels.sort_unstable();
        levels.dedup();
        assert!(levels.len() >= 5, "{art:?}: paper grain, got levels {levels:?}");
    }
}

/// Darkness of each row within a band of columns.
fn row_profile(canvas: &Canvas, from_mm: f32, to_mm: f32) -> Vec<f32> {
    let (x0, _) = mm_to_px(point(from_mm, 0.0), DPI);
    let (x1, _) = mm_to_px(point(to_mm, 0.0), DPI);
    (0..canvas.height())
        .map(|y| (x0..x1).filter_map(|x| canvas.pixel(x, y)).map(|p| 255.0 - f32::from(luma(&p[..]))).sum())
        .collect()
}

/// The vertical shift (pixels) that best aligns the right band's rows with the left band's:
/// positive when lines run downhill to the right.
fn baseline_shift(canvas: &Canvas) -> i32 {
    let left = row_profile(canvas, 35.0, 55.0);
    let right = row_profile(canvas, 155.0, 175.0);
    let score = |shift: i32| -> f32 {
        (0..left.len() as i32)
            .filter_map(|y| {
                let shifted = usize::try_from(y + shift).ok()?;
                Some(left[y as usize] * right.get(shifted)?)
            })
            .sum()
    };
    (-30..=30).max_by(|a, b| score(*a).total_cmp(&score(*b))).unwrap_or(0)
}

#[test]
fn skewed_page_text_lines_are_measurably_tilted() {
    let straight = baseline_shift(&render(PageArt::Form, DPI, 4));
    assert!(straight.abs() <= 1, "straight form: shift {straight}");
    // The band centres are 120 mm apart: tan(1.5°) × 120 mm = 3.1 mm = 12.4 px at 100 dpi.
    let skewed = baseline_shift(&render(PageArt::SkewedForm, DPI, 4));
    assert!((10..=15).contains(&skewed), "skewed form: shift {skewed}");
}

#[test]
fn skewed_page_shows_the_lid_outside_the_sheet() {
    let canvas = render(PageArt::SkewedForm, DPI, 5);
    let (width, _) = page_size_px(DPI);
    // Turned clockwise about its centre and shifted, the sheet leaves the top-right corner and the
    // left edge bare: the lid (brighter than paper) shows there.
    assert_eq!(canvas.pixel(width - 1, 0), Some([LID_GREY; 3]));
    assert_eq!(canvas.pixel(0, 0).map(|p| p[0] == LID_GREY), Some(true));
    let inside = canvas.pixel(width / 2, 20).expect("inside");
    assert!(inside[0] < LID_GREY - 3, "paper is darker than the lid: {inside:?}");
}

#[test]
fn pages_are_deterministic_per_seed() {
    let a = render(PageArt::Blank, 60, 9).into_pixels(counter_agent_driver_api::PixelFormat::Gray8);
    let b = render(PageArt::Blank, 60, 9).into_pixels(counter_agent_driver_api::PixelFormat::Gray8);
    let c = render(PageArt::Blank, 60, 10).into_pixels(counter_agent_driver_api::PixelFormat::Gray8);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn every_form_field_fits_before_its_end() {
    let (label_style, value_style) = field_styles();
    for line in FORM_LINES {
        let FormLine::Fields(fields) = line else {
            continue;
        };
        let mut x = LEFT_MM;
        for field in *fields {
            let end = x + label_style.width(field.label) + 2.0 + value_style.width(field.value);
            assert!(end <= field.until_mm, "{:?} ends at {end:.1} mm, after {} mm", field.label, field.until_mm);
            x = field.until_mm + 1.5;
        }
    }
}
