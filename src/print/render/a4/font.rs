//! The bundled DejaVu Sans (regular and bold): measuring text with the fonts' own advances, and
//! embedding the glyphs a document uses as a subset Type0 / CIDFontType2 font (Identity-H encoding, a
//! `CIDToGIDMap` stream, a `ToUnicode` CMap so text extraction returns the text).
//!
//! CIDs are given per character in order of first use (CID 0 stays `.notdef`), not per glyph: two
//! characters that share a glyph still extract as themselves.

use std::collections::HashMap;
use std::sync::OnceLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Name, Pdf, Rect, Ref, Str};
use sha2::{Digest, Sha256};
use ttf_parser::{Face, GlyphId};

static REGULAR_TTF: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans-Bold.ttf");

/// The two weights a receipt uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Weight {
    Regular,
    Bold,
}

struct BundledFont {
    face: Face<'static>,
    data: &'static [u8],
    /// PostScript name, after the subset tag.
    name: &'static str,
}

struct Bundled {
    regular: BundledFont,
    bold: BundledFont,
}

fn bundled() -> &'static Bundled {
    static BUNDLED: OnceLock<Bundled> = OnceLock::new();
    BUNDLED.get_or_init(|| Bundled {
        regular: BundledFont {
            face: Face::parse(REGULAR_TTF, 0).expect("the bundled DejaVuSans.ttf is a valid font (tested)"),
            data: REGULAR_TTF,
            name: "DejaVuSans",
        },
        bold: BundledFont {
            face: Face::parse(BOLD_TTF, 0).expect("the bundled DejaVuSans-Bold.ttf is a valid font (tested)"),
            data: BOLD_TTF,
            name: "DejaVuSans-Bold",
        },
    })
}

fn font(weight: Weight) -> &'static BundledFont {
    match weight {
        Weight::Regular => &bundled().regular,
        Weight::Bold => &bundled().bold,
    }
}

/// Whether both weights have a glyph for `c`: template data is refused otherwise, so nothing prints as
/// an empty box. Spaces count as drawable.
pub(in crate::print::render) fn can_draw(c: char) -> bool {
    let fonts = bundled();
    c == ' ' || (fonts.regular.face.glyph_index(c).is_some() && fonts.bold.face.glyph_index(c).is_some())
}

/// Width of `text` set in `weight` at `size` points, from the fonts' advances (no kerning: the content
/// stream does not kern either).
pub(super) fn text_width(weight: Weight, text: &str, size: f32) -> f32 {
    let font = font(weight);
    let units: u32 = text.chars().map(|c| u32::from(advance(&font.face, c))).sum();
    units as f32 * size / f32::from(font.face.units_per_em())
}

fn glyph(face: &Face<'_>, c: char) -> GlyphId {
    face.glyph_index(c).unwrap_or(GlyphId(0))
}

fn advance(face: &Face<'_>, c: char) -> u16 {
    face.glyph_hor_advance(glyph(face, c)).unwrap_or(0)
}

/// The characters one weight has shown so far, each with its CID.
#[derive(Debug, Default)]
pub(super) struct UsedChars {
    cids: HashMap<char, u16>,
    /// `chars[cid - 1]`.
    chars: Vec<char>,
}

impl UsedChars {
    /// `text` as Identity-H bytes (two bytes per CID), registering new characters.
    pub(super) fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let cid = match self.cids.get(&c) {
                Some(&cid) => cid,
                // A receipt's text is bounded far below 65 535 distinct characters; past that they
                // would show as `.notdef`.
                None => match u16::try_from(self.chars.len() + 1) {
                    Ok(cid) => {
                        self.chars.push(c);
                        self.cids.insert(c, cid);
                        cid
                    }
                    Err(_) => 0,
                },
            };
            bytes.extend_from_slice(&cid.to_be_bytes());
        }
        bytes
    }

    pub(super) fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }
}

/// Writes the Type0 font for the characters `used` in `weight` and returns its reference; `alloc` hands
/// out fresh object ids.
pub(super) fn embed(pdf: &mut Pdf, alloc: &mut impl FnMut() -> Ref, weight: Weight, used: &UsedChars) -> Ref {
    let font = font(weight);
    let face = &font.face;
    let (type0_id, cid_font_id, descriptor_id, file_id, to_unicode_id, cid_to_gid_id) =
        (alloc(), alloc(), alloc(), alloc(), alloc(), alloc());

    // Old glyph ids → subset glyph ids, in CID order so the subset stays small and deterministic.
    let mut remapper = subsetter::GlyphRemapper::new();
    let new_gids: Vec<u16> = used.chars.iter().map(|&c| remapper.remap(glyph(face, c).0)).collect();
    // The subsetter handles the bundled TrueType fonts (a test checks the result); if it ever failed,
    // the whole font is embedded with identity glyph ids: bigger, still correct.
    let (program, gid_of_cid): (Vec<u8>, Vec<u16>) = match subsetter::subset(font.data, 0, &remapper) {
        Ok(program) => (program, new_gids),
        Err(_) => (font.data.to_vec(), used.chars.iter().map(|&c| glyph(face, c).0).collect()),
    };

    let base_font = format!("{}+{}", subset_tag(weight, &used.chars), font.name);
    let base_font = Name(base_font.as_bytes());
    let system_info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
    let per_em = 1000.0 / f32::from(face.units_per_em());

    pdf.type0_font(type0_id)
        .base_font(base_font)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_font_id)
        .to_unicode(to_unicode_id);

    let mut cid_font = pdf.cid_font(cid_font_id);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(base_font)
        .system_info(system_info)
        .font_descriptor(descriptor_id)
        .cid_to_gid_map_stream(cid_to_gid_id)
        .default_width(f32::from(advance(face, '\u{0}')) * per_em);
    let widths: Vec<f32> = used.chars.iter().map(|&c| f32::from(advance(face, c)) * per_em).collect();
    cid_font.widths().consecutive(1, widths);
    drop(cid_font);

    let bbox = face.global_bounding_box();
    let mut flags = FontFlags::SYMBOLIC;
    if weight == Weight::Bold {
        flags |= FontFlags::FORCE_BOLD;
    }
    pdf.font_descriptor(descriptor_id)
        .name(base_font)
        .flags(flags)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * per_em,
            f32::from(bbox.y_min) * per_em,
            f32::from(bbox.x_max) * per_em,
            f32::from(bbox.y_max) * per_em,
        ))
        .italic_angle(face.italic_angle())
        .ascent(f32::from(face.ascender()) * per_em)
        .descent(f32::from(face.descender()) * per_em)
        .cap_height(f32::from(face.capital_height().unwrap_or(face.ascender())) * per_em)
        .stem_v(if weight == Weight::Bold { 120.0 } else { 80.0 })
        .font_file2(file_id);

    let compressed = deflate(&program);
    pdf.stream(file_id, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), i32::try_from(program.len()).unwrap_or(i32::MAX));

    // CID 0 → glyph 0, then one big-endian glyph id per used character.
    let mut cid_to_gid = vec![0u8, 0];
    for gid in &gid_of_cid {
        cid_to_gid.extend_from_slice(&gid.to_be_bytes());
    }
    pdf.stream(cid_to_gid_id, &deflate(&cid_to_gid)).filter(Filter::FlateDecode);

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), system_info);
    for (i, &c) in used.chars.iter().enumerate() {
        cmap.pair(u16::try_from(i + 1).unwrap_or(0), c);
    }
    let cmap = deflate(&cmap.finish());
    pdf.cmap(to_unicode_id, &cmap).name(Name(b"Custom")).system_info(system_info).filter(Filter::FlateDecode);

    type0_id
}

/// The six upper-case letters that mark a subset, derived from what it holds so the same receipt gives
/// the same bytes.
fn subset_tag(weight: Weight, chars: &[char]) -> String {
    let mut hash = Sha256::new();
    hash.update([weight as u8]);
    for c in chars {
        hash.update(u32::from(*c).to_be_bytes());
    }
    hash.finalize().iter().take(6).map(|byte| char::from(b'A' + byte % 26)).collect()
}

/// zlib-wrapped deflate, as `FlateDecode` expects.
pub(super) fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}
