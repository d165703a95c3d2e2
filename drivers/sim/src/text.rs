//! Text on simulated pages: the bundled DejaVu Sans faces, measuring, wrapping and drawing glyph
//! outlines in any orientation (straight lines, rotated pages, round seal rings).
//!
//! Vietnamese is drawn from precomposed (NFC) code points: DejaVu Sans has a glyph for every one
//! of the 134 Vietnamese letters, so no shaping is needed. Text must therefore be NFC; a test checks
//! the sample texts.

use std::sync::LazyLock;

use ab_glyph::{point, Font, FontRef, GlyphId, OutlineCurve, Point};

use crate::canvas::{Affine, Canvas, Ink, Segment};

static REGULAR: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../../../assets/fonts/DejaVuSans.ttf"))
        .expect("invariant: the bundled DejaVuSans.ttf is a valid font (checked by a test)")
});

static BOLD: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf"))
        .expect("invariant: the bundled DejaVuSans-Bold.ttf is a valid font (checked by a test)")
});

/// Millimetres per typographic point.
const MM_PER_PT: f32 = 25.4 / 72.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Face {
    Regular,
    Bold,
}

impl Face {
    pub fn font(self) -> &'static FontRef<'static> {
        match self {
            Face::Regular => &REGULAR,
            Face::Bold => &BOLD,
        }
    }
}

/// A face at a size in points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Style {
    pub face: Face,
    pub size_pt: f32,
}

/// One positioned glyph of a laid-out line: `x` is the pen position in mm from the line start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlacedGlyph {
    pub id: GlyphId,
    pub x: f32,
    pub advance: f32,
}

impl Style {
    pub const fn new(face: Face, size_pt: f32) -> Style {
        Style { face, size_pt }
    }

    /// Millimetres per font unit.
    fn mm_per_unit(&self) -> f32 {
        let units_per_em = self.face.font().units_per_em().unwrap_or(2048.0);
        self.size_pt * MM_PER_PT / units_per_em
    }

    /// Lays `text` out on a straight line (advances and kerning), in mm.
    pub fn layout(&self, text: &str) -> Vec<PlacedGlyph> {
        let font = self.face.font();
        let scale = self.mm_per_unit();
        let mut glyphs = Vec::with_capacity(text.len());
        let mut x = 0.0;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(previous) = previous {
                x += font.kern_unscaled(previous, id) * scale;
            }
            let advance = font.h_advance_unscaled(id) * scale;
            glyphs.push(PlacedGlyph { id, x, advance });
            x += advance;
            previous = Some(id);
        }
        glyphs
    }

    /// Width of `text` in mm.
    pub fn width(&self, text: &str) -> f32 {
        self.layout(text).last().map_or(0.0, |g| g.x + g.advance)
    }

    /// Breaks `text` into lines no wider than `width_mm` (a word longer than a line gets its own).
    pub fn wrap(&self, text: &str, width_mm: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if self.width(&candidate) > width_mm && !line.is_empty() {
                lines.push(std::mem::replace(&mut line, word.to_string()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// The font-units → mm map for a glyph whose pen position is `origin` (mm), advancing along the
/// unit vector `direction` (y-down page coordinates).
pub(crate) fn glyph_frame(style: Style, origin: Point, direction: Point) -> Affine {
    let k = style.mm_per_unit();
    // Font y points up; on the page "up" is the direction turned a quarter anticlockwise.
    let up = point(direction.y, -direction.x);
    Affine { a: k * direction.x, b: k * direction.y, c: k * up.x, d: k * up.y, e: origin.x, f: origin.y }
}

/// Draws on a canvas in page millimetres: `page` maps millimetres to pixels (a scale, plus a
/// rotation for the skewed page).
pub(crate) struct Painter<'a> {
    pub canvas: &'a mut Canvas,
    pub page: Affine,
}

impl Painter<'_> {
    /// Fills an outline given in millimetres.
    pub fn fill(&mut self, segments_mm: &[Segment], ink: &Ink) {
        let in_px: Vec<Segment> = segments_mm.iter().map(|s| s.transformed(&self.page)).collect();
        self.canvas.fill(&in_px, ink);
    }

    /// Draws one glyph; `glyph_to_mm` maps font units (y up, origin on the baseline at the pen
    /// position) to page millimetres (see [`glyph_frame`]).
    pub fn glyph(&mut self, face: Face, id: GlyphId, glyph_to_mm: Affine, ink: &Ink) {
        let Some(outline) = face.font().outline(id) else {
            return; // Spaces and other blank glyphs have no outline.
        };
        let to_px = glyph_to_mm.then(self.page);
        let segments: Vec<Segment> = outline
            .curves
            .iter()
            .map(|curve| {
                let segment = match *curve {
                    OutlineCurve::Line(p0, p1) => Segment::Line(p0, p1),
                    OutlineCurve::Quad(p0, p1, p2) => Segment::Quad(p0, p1, p2),
                    OutlineCurve::Cubic(p0, p1, p2, p3) => Segment::Cubic(p0, p1, p2, p3),
                };
                segment.transformed(&to_px)
            })
            .collect();
        self.canvas.fill(&segments, ink);
    }

    /// Draws `text` with its baseline starting at (`x`, `baseline`); returns the end x.
    pub fn text(&mut self, style: Style, x: f32, baseline: f32, text: &str, ink: &Ink) -> f32 {
        let mut end = x;
        for glyph in style.layout(text) {
            let frame = glyph_frame(style, point(x + glyph.x, baseline), point(1.0, 0.0));
            self.glyph(style.face, glyph.id, frame, ink);
            end = x + glyph.x + glyph.advance;
        }
        end
    }

    /// Draws `text` centred on `center_x`.
    pub fn centered(&mut self, style: Style, center_x: f32, baseline: f32, text: &str, ink: &Ink) {
        let x = center_x - style.width(text) / 2.0;
        self.text(style, x, baseline, text, ink);
    }

    /// Draws `line` stretched to exactly `width` mm by widening the spaces between words.
    pub fn justified(&mut self, style: Style, x: f32, baseline: f32, width: f32, line: &str, ink: &Ink) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 2 {
            self.text(style, x, baseline, line, ink);
            return;
        }
        let words_width: f32 = words.iter().map(|w| style.width(w)).sum();
        let gap = ((width - words_width) / (words.len() - 1) as f32).max(style.width(" "));
        let mut pen = x;
        for word in words {
            pen = self.text(style, pen, baseline, word, ink) + gap;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_fonts_load_and_have_every_vietnamese_letter() {
        let letters = "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrstuùủũúụưừửữứựvxyỳỷỹýỵ";
        for face in [Face::Regular, Face::Bold] {
            let font = face.font();
            for c in letters.chars().chain(letters.to_uppercase().chars()) {
                assert_ne!(font.glyph_id(c).0, 0, "{face:?} lacks {c}");
            }
        }
        let n_accented = letters.chars().filter(|c| !c.is_ascii()).count();
        assert_eq!(n_accented, 67, "67 accented lowercase letters, 134 with the capitals");
    }

    #[test]
    fn width_scales_with_size() {
        let small = Style::new(Face::Regular, 10.0).width("Hà Nội");
        let large = Style::new(Face::Regular, 20.0).width("Hà Nội");
        assert!(small > 5.0 && small < 20.0, "{small}");
        assert!((large / small - 2.0).abs() < 1e-3);
    }

    #[test]
    fn wrap_respects_width() {
        let style = Style::new(Face::Regular, 12.0);
        let text = "Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật";
        let lines = style.wrap(text, 60.0);
        assert!(lines.len() >= 2, "{lines:?}");
        assert!(lines.iter().all(|l| style.width(l) <= 60.0));
        assert_eq!(lines.join(" "), text);
    }
}
