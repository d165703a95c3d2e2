//! The pages of the simulated document, drawn at any resolution on A4 paper (210 × 297 mm).
//!
//! This module owns what each page looks like: the filled-in form with its seal and signature,
//! the text-only instructions page, blank sheets (front or back), and the form fed in slightly
//! skewed. Everything is drawn directly at the target resolution in page millimetres; the skewed
//! page is the same drawing under a rotated page transform, so no page is ever resampled.
//! It knows nothing about scan requests or pixel formats (see `scanner`).

use ab_glyph::point;

use crate::canvas::{Affine, Canvas, Ink, Rng};
use crate::ink_marks::{draw_seal, draw_signature};
use crate::sample_text::{
    FormLine, ADDRESSEE, DECLARATION, FORM_CODE, FORM_LINES, FORM_TITLE, GUIDE_FOOTER, GUIDE_PARAGRAPHS,
    GUIDE_SUBTITLE, GUIDE_TITLE, MOTTO, NATION, PLACE_AND_DATE, RECEIPT_BLOCK, RIGHT_MM, SIGNER_HINT, SIGNER_NAME,
    SIGNER_ROLE,
};
use crate::shapes::{circle, rect};
use crate::text::{Face, Painter, Style};

/// A4 in millimetres.
pub(crate) const PAGE_WIDTH_MM: f32 = 210.0;
pub(crate) const PAGE_HEIGHT_MM: f32 = 297.0;

/// Left edge of the text column (mm); the right edge is [`RIGHT_MM`].
pub(crate) const LEFT_MM: f32 = 20.0;

/// How far the skewed page is turned (degrees, clockwise).
pub(crate) const SKEW_DEGREES: f32 = 1.5;

/// Office paper as a scanner sees it: a little warm, a little darker than the scanner lid.
const PAPER_TINT: [u8; 3] = [246, 245, 239];
/// The scanner lid around a skewed sheet.
const LID_GREY: u8 = 253;

/// Where on the form page the seal and the signature go (mm), for tests that look for them.
pub(crate) const SEAL_CENTER_MM: (f32, f32) = (58.0, 262.0);
pub(crate) const SIGNATURE_ORIGIN_MM: (f32, f32) = (131.0, 247.0);

/// The kinds of page the simulated feeder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageArt {
    /// The filled-in declaration form with a red seal and a blue signature.
    Form,
    /// A text-only page of instructions, black toner only.
    Guide,
    /// An empty sheet: paper grain and a few specks of dust.
    Blank,
    /// The form fed in turned by [`SKEW_DEGREES`], the lid showing around it.
    SkewedForm,
    /// The back of a sheet printed on one side: blank.
    BackSide,
}

impl PageArt {
    /// The front sides of the demo document, in feeder order.
    pub const DOCUMENT: [PageArt; 4] = [PageArt::Form, PageArt::Guide, PageArt::Blank, PageArt::SkewedForm];
}

/// Page size in pixels at `dpi`.
pub(crate) fn page_size_px(dpi: u32) -> (u32, u32) {
    let px = |mm: f32| (mm * dpi as f32 / 25.4).round().max(1.0) as u32;
    (px(PAGE_WIDTH_MM), px(PAGE_HEIGHT_MM))
}

/// Draws one page at `dpi`; `seed` varies paper grain and dust between sheets.
pub(crate) fn render(art: PageArt, dpi: u32, seed: u64) -> Canvas {
    let (width, height) = page_size_px(dpi);
    let to_px = Affine::scale(dpi as f32 / 25.4);
    let sheet = match art {
        PageArt::SkewedForm => {
            let center = (PAGE_WIDTH_MM / 2.0, PAGE_HEIGHT_MM / 2.0);
            Affine::translate(-center.0, -center.1)
                .then(Affine::rotate(SKEW_DEGREES.to_radians()))
                .then(Affine::translate(center.0 + 1.5, center.1 + 2.0))
        }
        _ => Affine::IDENTITY,
    };
    let page = sheet.then(to_px);
    let mut canvas = Canvas::new(width, height, LID_GREY);
    let corners = [(0.0, 0.0), (PAGE_WIDTH_MM, 0.0), (PAGE_WIDTH_MM, PAGE_HEIGHT_MM), (0.0, PAGE_HEIGHT_MM)]
        .map(|(x, y)| page.apply(point(x, y)));
    canvas.lay_paper(corners, PAPER_TINT, seed);
    let mut painter = Painter { canvas: &mut canvas, page };
    scatter_dust(&mut painter, seed);
    match art {
        PageArt::Form | PageArt::SkewedForm => draw_form(&mut painter),
        PageArt::Guide => draw_guide(&mut painter),
        PageArt::Blank | PageArt::BackSide => {}
    }
    canvas
}

/// A few specks of dust, as on every real scan.
fn scatter_dust(painter: &mut Painter<'_>, seed: u64) {
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(7));
    let n_specks = 4 + rng.below(6);
    for _ in 0..n_specks {
        let at = point(5.0 + rng.unit() * 200.0, 5.0 + rng.unit() * 287.0);
        let grey = 90 + rng.below(80) as u8;
        let ink = Ink { rgb: [grey, grey, grey], opacity: 0.8, grain: 0.0 };
        painter.fill(&circle(at, 0.08 + rng.unit() * 0.12, false), &ink);
    }
}

fn draw_form(painter: &mut Painter<'_>) {
    let toner = Ink::TONER;
    let center_x = PAGE_WIDTH_MM / 2.0;
    let small = Style::new(Face::Regular, 9.0);
    painter.text(small, RIGHT_MM - small.width(FORM_CODE), 12.0, FORM_CODE, &toner);

    painter.centered(Style::new(Face::Bold, 12.0), center_x, 22.0, NATION, &toner);
    let motto = Style::new(Face::Bold, 12.5);
    painter.centered(motto, center_x, 28.0, MOTTO, &toner);
    let motto_width = motto.width(MOTTO);
    painter.fill(&rect(center_x - motto_width / 2.0, 29.6, motto_width, 0.35), &toner);

    painter.centered(Style::new(Face::Bold, 15.0), center_x, 44.0, FORM_TITLE, &toner);
    painter.centered(Style::new(Face::Regular, 12.0), center_x, 53.0, ADDRESSEE, &toner);

    let mut baseline = 64.0;
    for line in FORM_LINES {
        draw_form_line(painter, line, baseline);
        baseline += 8.2;
    }

    let body = Style::new(Face::Regular, 11.5);
    baseline += 2.0;
    for paragraph in DECLARATION {
        let indent = 10.0;
        let lines = body.wrap(paragraph, RIGHT_MM - LEFT_MM - indent);
        let n_lines = lines.len();
        for (i, line) in lines.iter().enumerate() {
            let x = if i == 0 { LEFT_MM + indent } else { LEFT_MM };
            if i + 1 < n_lines {
                painter.justified(body, x, baseline, RIGHT_MM - x, line, &toner);
            } else {
                painter.text(body, x, baseline, line, &toner);
            }
            baseline += 6.2;
        }
    }

    let (left_x, right_x) = (58.0, 152.0);
    let regular = Style::new(Face::Regular, 12.0);
    let bold = Style::new(Face::Bold, 11.0);
    painter.centered(regular, right_x, 230.0, PLACE_AND_DATE, &toner);
    for (i, text) in RECEIPT_BLOCK.iter().enumerate() {
        let style = if i < 2 { bold } else { Style::new(Face::Regular, 11.0) };
        painter.centered(style, left_x, 238.0 + 5.5 * i as f32, text, &toner);
    }
    painter.centered(Style::new(Face::Bold, 12.0), right_x, 238.0, SIGNER_ROLE, &toner);
    painter.centered(Style::new(Face::Regular, 10.5), right_x, 243.5, SIGNER_HINT, &toner);
    painter.centered(Style::new(Face::Bold, 12.0), right_x, 280.0, SIGNER_NAME, &toner);

    draw_signature(painter, point(SIGNATURE_ORIGIN_MM.0, SIGNATURE_ORIGIN_MM.1));
    draw_seal(painter, point(SEAL_CENTER_MM.0, SEAL_CENTER_MM.1), -12.0);
}

/// One line of fields: label, value in bold, then a dotted leader up to the field's end.
fn draw_form_line(painter: &mut Painter<'_>, line: &FormLine, baseline: f32) {
    let toner = Ink::TONER;
    let (label_style, value_style) = field_styles();
    match line {
        FormLine::Heading(text) => {
            painter.text(Style::new(Face::Bold, 11.5), LEFT_MM, baseline, text, &toner);
        }
        FormLine::Fields(fields) => {
            let mut x = LEFT_MM;
            for field in *fields {
                x = painter.text(label_style, x, baseline, field.label, &toner);
                x = painter.text(value_style, x + 2.0, baseline, field.value, &toner);
                draw_leader(painter, x + 1.5, field.until_mm - 1.5, baseline);
                x = field.until_mm + 1.5;
            }
        }
    }
}

/// Label and value styles of form fields.
pub(crate) fn field_styles() -> (Style, Style) {
    (Style::new(Face::Regular, 11.5), Style::new(Face::Bold, 11.5))
}

/// A dotted leader from `from` to `to` (mm) on `baseline`.
fn draw_leader(painter: &mut Painter<'_>, from: f32, to: f32, baseline: f32) {
    const PITCH_MM: f32 = 1.3;
    let mut x = from;
    while x <= to {
        painter.fill(&circle(point(x, baseline - 0.2), 0.17, false), &Ink::TONER);
        x += PITCH_MM;
    }
}

fn draw_guide(painter: &mut Painter<'_>) {
    let toner = Ink::TONER;
    let center_x = PAGE_WIDTH_MM / 2.0;
    painter.centered(Style::new(Face::Bold, 13.0), center_x, 28.0, GUIDE_TITLE, &toner);
    painter.centered(Style::new(Face::Regular, 11.0), center_x, 35.0, GUIDE_SUBTITLE, &toner);
    let body = Style::new(Face::Regular, 11.5);
    let width = RIGHT_MM - LEFT_MM;
    let mut baseline = 50.0;
    for paragraph in GUIDE_PARAGRAPHS {
        let lines = body.wrap(paragraph, width);
        let n_lines = lines.len();
        for (i, line) in lines.iter().enumerate() {
            if i + 1 < n_lines {
                painter.justified(body, LEFT_MM, baseline, width, line, &toner);
            } else {
                painter.text(body, LEFT_MM, baseline, line, &toner);
            }
            baseline += 6.4;
        }
        baseline += 3.0;
    }
    painter.centered(Style::new(Face::Regular, 9.0), center_x, 285.0, GUIDE_FOOTER, &toner);
}

/// Millimetres to pixels at `dpi`, for tests that look at regions of a page.
#[cfg(test)]
pub(crate) fn mm_to_px(mm: ab_glyph::Point, dpi: u32) -> (u32, u32) {
    let s = dpi as f32 / 25.4;
    ((mm.x * s).round() as u32, (mm.y * s).round() as u32)
}

#[cfg(test)]
mod tests;
