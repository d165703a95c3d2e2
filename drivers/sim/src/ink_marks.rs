//! The marks that make a Vietnamese administrative page look real to a scan pipeline: a red round
//! seal (double ring, ring text, a star and a place name in the middle) and a blue-ink signature.
//!
//! Both are drawn with grainy, semi-transparent ink that multiplies over what is already on the
//! page, as stamp ink and ballpoint ink do, so text under the seal stays readable.

use ab_glyph::{point, Point};

use crate::canvas::{Affine, Ink};
use crate::sample_text::{SEAL_CENTER, SEAL_RING};
use crate::shapes::{pen_stroke, ring, star};
use crate::text::{glyph_frame, Face, Painter, PlacedGlyph, Style};

/// Red stamp ink: strong but not opaque, uneven like a rubber stamp.
pub(crate) const SEAL_INK: Ink = Ink { rgb: [214, 32, 44], opacity: 0.85, grain: 0.4 };

/// Blue ballpoint ink.
pub(crate) const PEN_INK: Ink = Ink { rgb: [28, 52, 168], opacity: 0.92, grain: 0.15 };

/// Radius of the seal in mm (real ward seals are about 35–40 mm across).
pub(crate) const SEAL_RADIUS_MM: f32 = 18.5;

/// Draws the seal centred at `center` (mm), turned by `turn_degrees` as a hand-held stamp is.
pub(crate) fn draw_seal(painter: &mut Painter<'_>, center: Point, turn_degrees: f32) {
    let about_center = Affine::translate(-center.x, -center.y)
        .then(Affine::rotate(turn_degrees.to_radians()))
        .then(Affine::translate(center.x, center.y));
    let mut seal = Painter { canvas: &mut *painter.canvas, page: about_center.then(painter.page) };

    let r = SEAL_RADIUS_MM;
    seal.fill(&ring(center, r, 0.9), &SEAL_INK);
    seal.fill(&ring(center, r - 5.0, 0.45), &SEAL_INK);
    seal.fill(&star(point(center.x, center.y - 3.0), 4.6, 1.85, 5), &SEAL_INK);
    let center_style = Style::new(Face::Bold, 6.5);
    seal.centered(center_style, center.x, center.y + 6.5, SEAL_CENTER, &SEAL_INK);
    draw_ring_text(&mut seal, center, r - 4.0, SEAL_RING);
}

/// Writes `text` around the top of a circle of `baseline_radius`, letters upright and facing
/// outwards, reading clockwise from about seven o'clock to five o'clock; a star closes the ring
/// at the bottom.
fn draw_ring_text(painter: &mut Painter<'_>, center: Point, baseline_radius: f32, text: &str) {
    const SPAN: f32 = 300.0 / 360.0 * std::f32::consts::TAU;
    let arc_length = SPAN * baseline_radius;
    let mut style = Style::new(Face::Bold, 7.5);
    let natural = style.width(text);
    if natural > 0.92 * arc_length {
        style.size_pt *= 0.92 * arc_length / natural;
    }
    let glyphs = style.layout(text);
    let (Some(first), Some(last)) = (glyphs.first(), glyphs.last()) else {
        return;
    };
    // Spread the letters evenly: the first centred at the start of the span, the last at its end.
    let (first_half, last_centre) = (first.advance / 2.0, last.x + last.advance / 2.0);
    let tracking = (arc_length - (last_centre - first_half)) / (glyphs.len().max(2) - 1) as f32;
    for (i, glyph) in glyphs.iter().enumerate() {
        let arc = glyph.x + glyph.advance / 2.0 - first_half + i as f32 * tracking;
        let theta = -SPAN / 2.0 + arc / baseline_radius;
        draw_on_circle(painter, style, center, baseline_radius, theta, glyph);
    }
    if let Some(star) = style.layout("★").first() {
        draw_on_circle(painter, style, center, baseline_radius, std::f32::consts::PI, star);
    }
}

/// Draws one glyph centred at angle `theta` (from the top, clockwise) on a circle, facing out.
fn draw_on_circle(
    painter: &mut Painter<'_>,
    style: Style,
    center: Point,
    radius: f32,
    theta: f32,
    glyph: &PlacedGlyph,
) {
    let (sin, cos) = theta.sin_cos();
    let (outward, along) = (point(sin, -cos), point(cos, sin));
    let half = glyph.advance / 2.0;
    let origin = point(center.x + radius * outward.x - half * along.x, center.y + radius * outward.y - half * along.y);
    painter.glyph(style.face, glyph.id, glyph_frame(style, origin, along), &SEAL_INK);
}

/// The signature's strokes, as cubic Bézier chains in mm relative to the top-left corner of a
/// 46 × 22 mm box: a looped capital, a crossing stroke, a running "n" and an underline flourish.
const SIGNATURE_STROKES: &[&[(f32, f32)]] = &[
    &[(3.0, 18.0), (7.0, 9.0), (10.0, 1.0), (14.0, 2.0), (17.0, 3.0), (16.0, 12.0), (19.0, 17.0)],
    &[(5.0, 12.5), (10.0, 9.0), (18.0, 8.5), (24.0, 10.0)],
    &[
        (21.0, 17.0),
        (22.5, 13.0),
        (23.5, 10.0),
        (25.5, 10.5),
        (27.5, 11.0),
        (27.0, 15.0),
        (28.0, 17.0),
        (29.0, 13.0),
        (31.0, 9.5),
        (33.5, 10.5),
        (35.5, 11.5),
        (34.5, 16.0),
        (37.5, 16.5),
    ],
    &[(2.0, 20.5), (14.0, 23.5), (32.0, 19.5), (45.0, 12.0)],
];

/// Draws the signature with its box's top-left corner at `origin` (mm).
pub(crate) fn draw_signature(painter: &mut Painter<'_>, origin: Point) {
    for stroke in SIGNATURE_STROKES {
        let path: Vec<Point> = stroke.iter().map(|&(x, y)| point(origin.x + x, origin.y + y)).collect();
        painter.fill(&pen_stroke(&path, 0.75), &PEN_INK);
    }
}
