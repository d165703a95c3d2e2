//! Text as dots: each line is drawn with the bundled DejaVu Sans into a 1-bit [`Bitmap`], so
//! Vietnamese prints right on every printer whatever its code tables (FIELD-NOTES: code pages for
//! Vietnamese are unreliable across models and clones).
//!
//! Text is normalised to NFC first: DejaVu Sans has a precomposed glyph for each of the 134
//! Vietnamese letters, with its stacked marks ("Ệ", "ẫ") designed in; no shaping is needed. The line
//! box grows to the ink of the tallest stacked capital, so no mark is ever clipped.

use std::sync::LazyLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use unicode_normalization::UnicodeNormalization;

use crate::Bitmap;

static REGULAR: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../../../assets/fonts/DejaVuSans.ttf"))
        .expect("invariant: the bundled DejaVuSans.ttf is a valid font (checked by a test)")
});

static BOLD: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf"))
        .expect("invariant: the bundled DejaVuSans-Bold.ttf is a valid font (checked by a test)")
});

/// Letters that reach highest (a tilde or hook over a circumflex or breve) and lowest (dot below,
/// descenders).
const TALLEST: &str = "ẪẴỖỄẲẨỂỔỞỬỈẶỘỆỴỵgjpqy|";

/// Coverage at or above this is a black dot (thermal dots are on or off).
const INK: f32 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// How a block of text is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    pub face: Face,
    /// Em size in dots (24 dots ≈ the printer's own Font A; a queue number might be 120).
    pub size: f32,
    pub align: Align,
}

impl TextStyle {
    pub fn new(face: Face, size: f32, align: Align) -> TextStyle {
        TextStyle { face, size, align }
    }
}

fn font(face: Face) -> &'static FontRef<'static> {
    match face {
        Face::Regular => &REGULAR,
        Face::Bold => &BOLD,
    }
}

/// Characters of `text` (after NFC) the bundled font has no glyph for.
pub fn missing_glyphs(text: &str) -> Vec<char> {
    let font = font(Face::Regular);
    let mut missing: Vec<char> = text.nfc().filter(|c| !c.is_control() && font.glyph_id(*c).0 == 0).collect();
    missing.dedup();
    missing
}

/// Draws `text` in lines no wider than `width` dots (wrapped at spaces; a word longer than a line is
/// broken between letters; `\n` starts a new line). The bitmap is `width` dots wide.
pub fn render(text: &str, style: TextStyle, width: u32) -> Bitmap {
    let normalised: String = text.nfc().collect();
    let lines: Vec<String> = normalised.split('\n').flat_map(|paragraph| wrap(paragraph, style, width)).collect();
    let rendered: Vec<Bitmap> = lines.iter().map(|line| render_line(line, style, width)).collect();
    stack(&rendered, width)
}

/// Width of `line` in dots when drawn in `style`.
pub fn measure(line: &str, style: TextStyle) -> f32 {
    let scaled = font(style.face).as_scaled(PxScale::from(style.size));
    let mut pen = 0.0;
    let mut previous = None;
    for c in line.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            pen += scaled.kern(previous, id);
        }
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
    pen
}

fn wrap(paragraph: &str, style: TextStyle, width: u32) -> Vec<String> {
    let limit = width as f32;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in paragraph.split(' ') {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if measure(&candidate, style) <= limit {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // The word alone: broken between letters while too wide.
        for c in word.chars() {
            let mut longer = line.clone();
            longer.push(c);
            if !line.is_empty() && measure(&longer, style) > limit {
                lines.push(std::mem::take(&mut line));
                line.push(c);
            } else {
                line = longer;
            }
        }
    }
    lines.push(line);
    lines
}

/// One line: the box spans the font's ascent and descent, or more where a glyph's ink reaches
/// further (stacked marks on capitals).
fn render_line(line: &str, style: TextStyle, width: u32) -> Bitmap {
    let scaled = font(style.face).as_scaled(PxScale::from(style.size));
    let mut glyphs = Vec::new();
    let mut pen = 0.0;
    let mut previous = None;
    for c in line.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            pen += scaled.kern(previous, id);
        }
        glyphs.push(id.with_scale_and_position(style.size, point(pen, 0.0)));
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
    let outlined: Vec<_> = glyphs.into_iter().filter_map(|glyph| scaled.font.outline_glyph(glyph)).collect();
    // The same box for every line of a style: the font's ascent and descent, stretched to the
    // tallest Vietnamese letter and the deepest descender, plus a dot of margin.
    let (mut top, mut bottom) = (-scaled.ascent(), -scaled.descent());
    for c in TALLEST.chars() {
        // Outline bounds from the glyph's header, no outlining needed (ab_glyph gives them with y
        // up but min and max swapped, so both are taken as they come).
        if let Some(outline) = scaled.font.outline(scaled.glyph_id(c)) {
            let (a, b) = (outline.bounds.min.y, outline.bounds.max.y);
            top = top.min((-a.max(b) * scaled.v_scale_factor()).floor());
            bottom = bottom.max((-a.min(b) * scaled.v_scale_factor()).ceil());
        }
    }
    for glyph in &outlined {
        let bounds = glyph.px_bounds();
        top = top.min(bounds.min.y);
        bottom = bottom.max(bounds.max.y);
    }
    let baseline = (-top).ceil() + 1.0;
    let height = (baseline + bottom.ceil() + 1.0).max(1.0) as u32;
    let offset = match style.align {
        Align::Left => 0.0,
        Align::Center => ((width as f32 - pen) / 2.0).max(0.0).floor(),
        Align::Right => (width as f32 - pen).max(0.0).floor(),
    };
    let mut bitmap = Bitmap::new(width, height);
    for glyph in &outlined {
        let bounds = glyph.px_bounds();
        let (x0, y0) = (bounds.min.x + offset, bounds.min.y + baseline);
        glyph.draw(|gx, gy, coverage| {
            if coverage >= INK {
                let (x, y) = (x0 + gx as f32, y0 + gy as f32);
                if x >= 0.0 && y >= 0.0 {
                    bitmap.set(x as u32, y as u32, true);
                }
            }
        });
    }
    bitmap
}

/// Parts one under the other, `width` dots wide (a wider part is cut at `width`).
pub fn stack(parts: &[Bitmap], width: u32) -> Bitmap {
    let height = parts.iter().map(Bitmap::height).sum();
    let mut out = Bitmap::new(width, height);
    let mut top = 0;
    for part in parts {
        for y in 0..part.height() {
            out.paste_row(top + y, part.row(y));
        }
        top += part.height();
    }
    out
}
