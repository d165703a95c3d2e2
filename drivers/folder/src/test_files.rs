//! Test images written with real encoders: `image` (JPEG), `png`, `tiff`, and `fax` (CCITT G4)
//! wrapped in a small hand-written TIFF container, as office printers write them.

use std::io::Cursor;

use image::codecs::jpeg::{JpegEncoder, PixelDensity};
use image::ExtendedColorType;
use tiff::encoder::{colortype, Compression, Rational, TiffEncoder};
use tiff::tags::ResolutionUnit;

/// A deterministic gray pattern (value of pixel x, y), with some structure for JPEG to keep.
pub fn gray_at(x: u32, y: u32, seed: u32) -> u8 {
    (((x / 8 + y / 8 + seed) % 4) * 60 + 20) as u8
}

pub fn gray_pixels(width: u32, height: u32, seed: u32) -> Vec<u8> {
    (0..height).flat_map(|y| (0..width).map(move |x| gray_at(x, y, seed))).collect()
}

pub fn rgb_pixels(width: u32, height: u32, seed: u32) -> Vec<u8> {
    (0..height)
        .flat_map(|y| (0..width).flat_map(move |x| [gray_at(x, y, seed), 200 - gray_at(x, y, seed + 1) / 2, 90]))
        .collect()
}

/// `Bw1` rows (1 = black), stride `width.div_ceil(8)`: stripes and blocks, white padding bits.
pub fn bw1_pixels(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let stride = width.div_ceil(8) as usize;
    let mut data = vec![0u8; stride * height as usize];
    for y in 0..height {
        for x in 0..width {
            if (x / 3 + y / 5 + seed).is_multiple_of(3) {
                data[y as usize * stride + x as usize / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    data
}

pub fn jpeg(width: u32, height: u32, color: bool, dpi: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 95);
    if let Some(dpi) = dpi {
        encoder.set_pixel_density(PixelDensity::dpi(dpi));
    }
    if color {
        encoder.encode(&rgb_pixels(width, height, 0), width, height, ExtendedColorType::Rgb8).expect("JPEG encodes");
    } else {
        encoder.encode(&gray_pixels(width, height, 0), width, height, ExtendedColorType::L8).expect("JPEG encodes");
    }
    out
}

pub fn png(
    width: u32,
    height: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    dpi: Option<u32>,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(depth);
        if let Some(dpi) = dpi {
            let ppm = (f64::from(dpi) / 0.0254).round() as u32;
            encoder.set_pixel_dims(Some(png::PixelDimensions { xppu: ppm, yppu: ppm, unit: png::Unit::Meter }));
        }
        let mut writer = encoder.write_header().expect("PNG header");
        writer.write_image_data(data).expect("PNG data");
        writer.finish().expect("PNG end");
    }
    out
}

/// A colour or gray page for [`tiff_pages`].
#[derive(Clone)]
pub struct TiffPage {
    pub width: u32,
    pub height: u32,
    pub color: bool,
    pub seed: u32,
    pub dpi: Rational,
    pub unit: ResolutionUnit,
}

/// A multi-page TIFF from the `tiff` crate's encoder, LZW-compressed.
pub fn tiff_pages(pages: &[TiffPage]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut out).expect("TIFF encoder").with_compression(Compression::Lzw);
    for page in pages {
        if page.color {
            let mut image = encoder.new_image::<colortype::RGB8>(page.width, page.height).expect("TIFF page");
            image.resolution(page.unit, Rational { n: page.dpi.n, d: page.dpi.d });
            image.write_data(&rgb_pixels(page.width, page.height, page.seed)).expect("TIFF data");
        } else {
            let mut image = encoder.new_image::<colortype::Gray8>(page.width, page.height).expect("TIFF page");
            image.resolution(page.unit, Rational { n: page.dpi.n, d: page.dpi.d });
            image.write_data(&gray_pixels(page.width, page.height, page.seed)).expect("TIFF data");
        }
    }
    out.into_inner()
}

/// A 1-bit page for [`bilevel_tiff`].
pub struct BilevelPage {
    pub width: u32,
    pub height: u32,
    /// 1 = black, rows `width.div_ceil(8)` bytes.
    pub bw1: Vec<u8>,
    pub dpi: u32,
    /// Marked as a reduced-resolution copy (NewSubfileType 1): not a page.
    pub thumbnail: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bilevel {
    /// CCITT T.6, `WhiteIsZero`: what printers write.
    G4,
    /// Uncompressed, with the given photometric interpretation.
    Raw { black_is_zero: bool },
}

fn g4_encode(page: &BilevelPage) -> Vec<u8> {
    let stride = page.width.div_ceil(8) as usize;
    let mut encoder = fax::encoder::Encoder::new(fax::VecWriter::new());
    for row in page.bw1.chunks_exact(stride) {
        let pels = (0..page.width as usize).map(|x| {
            if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                fax::Color::Black
            } else {
                fax::Color::White
            }
        });
        encoder.encode_line(pels, page.width).expect("G4 line encodes");
    }
    encoder.finish().expect("G4 ends").finish()
}

/// A (multi-page) 1-bit TIFF, little-endian, one strip per page.
pub fn bilevel_tiff(pages: &[BilevelPage], coding: Bilevel) -> Vec<u8> {
    let mut out = b"II\x2a\x00\0\0\0\0".to_vec();
    let mut next_pointer = 4;
    for page in pages {
        let data = match coding {
            Bilevel::G4 => g4_encode(page),
            Bilevel::Raw { black_is_zero: false } => page.bw1.clone(),
            Bilevel::Raw { black_is_zero: true } => page.bw1.iter().map(|byte| !byte).collect(),
        };
        let data_offset = out.len() as u32;
        out.extend_from_slice(&data);
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let ifd_offset = out.len() as u32;
        out[next_pointer..next_pointer + 4].copy_from_slice(&ifd_offset.to_le_bytes());
        let (compression, photometric) = match coding {
            Bilevel::G4 => (4, 0),
            Bilevel::Raw { black_is_zero } => (1, u32::from(black_is_zero)),
        };
        // (tag, type, value); type 3 SHORT, 4 LONG, 5 RATIONAL (value is filled in below).
        let entries: [(u16, u16, u32); 13] = [
            (254, 4, if page.thumbnail { 1 } else { 2 }),
            (256, 4, page.width),
            (257, 4, page.height),
            (258, 3, 1),
            (259, 3, compression),
            (262, 3, photometric),
            (273, 4, data_offset),
            (277, 3, 1),
            (278, 4, page.height),
            (279, 4, data.len() as u32),
            (282, 5, 0),
            (283, 5, 0),
            (296, 3, 2),
        ];
        let rationals = ifd_offset + 2 + 12 * entries.len() as u32 + 4;
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        let mut n_rationals = 0;
        for (tag, kind, value) in entries {
            let value = if kind == 5 {
                n_rationals += 1;
                rationals + 8 * (n_rationals - 1)
            } else {
                value
            };
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&value.to_le_bytes());
        }
        next_pointer = out.len();
        out.extend_from_slice(&[0; 4]);
        for _ in 0..n_rationals {
            out.extend_from_slice(&page.dpi.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
        }
    }
    out
}

/// Overwrites one tag's value (a LONG or SHORT held in the entry) in image directory `ifd_index`
/// of a little-endian TIFF: breaks a file on purpose.
pub fn patch_tag(bytes: &mut [u8], ifd_index: usize, tag: u16, value: u32) {
    let read_u32 =
        |bytes: &[u8], at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
    let mut offset = read_u32(bytes, 4);
    for _ in 0..ifd_index {
        let n = usize::from(u16::from_le_bytes([bytes[offset], bytes[offset + 1]]));
        offset = read_u32(bytes, offset + 2 + 12 * n);
    }
    let n = usize::from(u16::from_le_bytes([bytes[offset], bytes[offset + 1]]));
    for entry in (0..n).map(|j| offset + 2 + 12 * j) {
        if u16::from_le_bytes([bytes[entry], bytes[entry + 1]]) == tag {
            bytes[entry + 8..entry + 12].copy_from_slice(&value.to_le_bytes());
            return;
        }
    }
    panic!("tag {tag} not in image directory {ifd_index}");
}

/// A colour TIFF as printers write it: one strip holding a whole JPEG (compression 7),
/// photometric YCbCr, no resolution tag.
pub fn jpeg_tiff(width: u32, height: u32) -> Vec<u8> {
    let strip = jpeg(width, height, true, None);
    let mut out = b"II\x2a\x00\0\0\0\0".to_vec();
    let data_offset = out.len() as u32;
    out.extend_from_slice(&strip);
    if out.len() % 2 == 1 {
        out.push(0);
    }
    let ifd_offset = out.len() as u32;
    out[4..8].copy_from_slice(&ifd_offset.to_le_bytes());
    let n_entries = 11u32;
    let bits_offset = ifd_offset + 2 + 12 * n_entries + 4;
    // (tag, type, count, value); type 3 SHORT, 4 LONG.
    let entries: [(u16, u16, u32, u32); 11] = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 3, bits_offset),
        (259, 3, 1, 7),
        (262, 3, 1, 6),
        (273, 4, 1, data_offset),
        (277, 3, 1, 3),
        (278, 4, 1, height),
        (279, 4, 1, strip.len() as u32),
        (284, 3, 1, 1),
        (530, 3, 2, 1 | (1 << 16)), // YCbCrSubSampling 1, 1: the JPEG decoder upsamples
    ];
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&[0; 4]);
    for _ in 0..3 {
        out.extend_from_slice(&8u16.to_le_bytes());
    }
    out
}
