//! Text as dots: each line is drawn with the bundled DejaVu Sans into a 1-bit [`Bitmap`], so
//! Vietnamese prints right on every printer whatever its code tables (FIELD-NOTES: code pages for
//! Vietnamese are unreliable across models and clones).
//!
//! Text is normalised to NFC first: DejaVu Sans has a precomposed glyph for each of the 134
//! Vietnamese letters, with its stacked marks ("Ệ", "ẫ") designed in; no shaping is needed. The line
//! box grows to the ink of the tallest stacked capital, so no mark is ever clipped.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    // Glyphs at whole-dot pen positions plus a quarter-dot phase, drawn from the cache.
    let mut placed: Vec<(i32, Arc<Mask>)> = Vec::new();
    let mut pen = 0.0f32;
    let mut previous = None;
    for c in line.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            pen += scaled.kern(previous, id);
        }
        let mut whole = pen.floor();
        let mut phase = ((pen - whole) * PHASES as f32).round() as u8;
        if phase == PHASES {
            (whole, phase) = (whole + 1.0, 0);
        }
        if let Some(mask) = mask(style, id, phase) {
            placed.push((whole as i32, mask));
        }
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
    let (mut top, mut bottom) = line_box(style);
    for (_, mask) in &placed {
        top = top.min(mask.top as f32);
        bottom = bottom.max((mask.top + mask.height as i32) as f32);
    }
    let baseline = (-top).ceil() as i32 + 1;
    let height = (baseline + bottom.ceil() as i32 + 1).max(1) as u32;
    let offset = match style.align {
        Align::Left => 0.0,
        Align::Center => ((width as f32 - pen) / 2.0).max(0.0).floor(),
        Align::Right => (width as f32 - pen).max(0.0).floor(),
    } as i32;
    let mut bitmap = Bitmap::new(width, height);
    for (x, mask) in &placed {
        let (x0, y0) = (offset + x + mask.left, baseline + mask.top);
        for (i, &ink) in mask.dots.iter().enumerate() {
            if ink {
                let (x, y) = (x0 + (i as u32 % mask.width) as i32, y0 + (i as u32 / mask.width) as i32);
                if x >= 0 && y >= 0 {
                    bitmap.set(x as u32, y as u32, true);
                }
            }
        }
    }
    bitmap
}

/// The same box for every line of a style: the font's ascent and descent, stretched to the tallest
/// Vietnamese letter and the deepest descender (computed once per style).
fn line_box(style: TextStyle) -> (f32, f32) {
    type Boxes = HashMap<(Face, u32), (f32, f32)>;
    static BOXES: LazyLock<Mutex<Boxes>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    let key = (style.face, style.size.to_bits());
    if let Some(found) = BOXES.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return *found;
    }
    let scaled = font(style.face).as_scaled(PxScale::from(style.size));
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
    let mut boxes = BOXES.lock().unwrap_or_else(|p| p.into_inner());
    if boxes.len() >= CACHE_LIMIT {
        boxes.clear();
    }
    boxes.insert(key, (top, bottom));
    (top, bottom)
}

/// Pen positions are rounded to this fraction of a dot.
const PHASES: u8 = 4;
/// The cache is emptied when it holds this many glyphs (a few fonts, sizes and alphabets).
const CACHE_LIMIT: usize = 8192;

/// A glyph's dots, relative to the pen's whole-dot position on the baseline.
#[derive(Debug)]
struct Mask {
    left: i32,
    top: i32,
    width: u32,
    height: u32,
    dots: Vec<bool>,
}

type MaskKey = (Face, u32, u16, u8);

static MASKS: LazyLock<Mutex<HashMap<MaskKey, Arc<Mask>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The dots of glyph `id` in `style` at sub-dot `phase`, drawn once and kept: tickets repeat the
/// same letters all day. `None` for glyphs without an outline (space).
fn mask(style: TextStyle, id: ab_glyph::GlyphId, phase: u8) -> Option<Arc<Mask>> {
    let key = (style.face, style.size.to_bits(), id.0, phase);
    if let Some(mask) = MASKS.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Some(Arc::clone(mask));
    }
    let position = point(f32::from(phase) / f32::from(PHASES), 0.0);
    let outlined = font(style.face).outline_glyph(id.with_scale_and_position(style.size, position))?;
    let bounds = outlined.px_bounds();
    let (width, height) = (bounds.width() as u32, bounds.height() as u32);
    let mut dots = vec![false; width as usize * height as usize];
    outlined.draw(|x, y, coverage| {
        if coverage >= INK && x < width && y < height {
            dots[(y * width + x) as usize] = true;
        }
    });
    let mask = Arc::new(Mask { left: bounds.min.x as i32, top: bounds.min.y as i32, width, height, dots });
    let mut masks = MASKS.lock().unwrap_or_else(|p| p.into_inner());
    if masks.len() >= CACHE_LIMIT {
        masks.clear();
    }
    masks.insert(key, Arc::clone(&mask));
    Some(mask)
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
