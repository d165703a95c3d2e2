//! Image files to raw pages: JPEG and PNG (one page each) and TIFF (one page per image directory,
//! reduced-resolution thumbnails skipped). Pure: bytes in, pages out, no file system.
//!
//! Pixels become [`PixelFormat::Gray8`], [`PixelFormat::Rgb8`] or, for 1-bit images,
//! [`PixelFormat::Bw1`] with 1 = black. Transparency is flattened onto white paper. The dpi is the
//! file's own (JFIF density, PNG `pHYs`, TIFF `XResolution`), [`DEFAULT_DPI`] when it has none.

use std::io::Cursor;

use counter_agent_driver_api::{PageSide, PixelFormat, RawPage};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use tiff::decoder::{Decoder as TiffDecoder, DecodingResult};
use tiff::tags::Tag;
use tiff::ColorType as TiffColor;

/// The dpi of a page whose file does not say.
pub const DEFAULT_DPI: u32 = 300;
/// Longest side accepted, in pixels (A0 at 600 dpi is 28 000: far beyond any office scanner).
pub const MAX_SIDE: u32 = 20_000;
/// Most pixels accepted in one page. An A4 page at 600 dpi is 35 million pixels; A3 at 600 dpi
/// (70 million) is refused — scan it at 400 dpi or less. The cap is about memory, not paper: a
/// colour pixel costs at least 3 bytes in the daemon, plus the decoder's buffer and the
/// pipeline's working copies, so one 40-million-pixel colour page already needs several hundred
/// MB, and a file dropped into a shared folder must not be able to take the agent's memory.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Densities outside this range are taken as "not said" (a stray 0 or 1 in a header).
const DPI_RANGE: std::ops::RangeInclusive<u32> = 50..=4800;

/// Why a file cannot give pages. Messages are for technicians (English, like all driver errors).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("a PDF file, not an image — set the printer to scan to JPEG or TIFF (PDF is not read)")]
    Pdf,
    #[error("not a JPEG, PNG or TIFF image")]
    NotAnImage,
    #[error("the JPEG data stops before its end marker: the file is truncated")]
    TruncatedJpeg,
    #[error(
        "the image is {width}×{height} pixels — more than {MAX_SIDE} per side or {MAX_PIXELS} in all is \
         refused (scan at a lower dpi)"
    )]
    TooLarge { width: u32, height: u32 },
    #[error("the image is {width}×{height} pixels: it has no pixels")]
    Empty { width: u32, height: u32 },
    #[error("the TIFF file has no pages")]
    NoPages,
    #[error("unsupported {format} pixel layout: {what}")]
    Unsupported { format: &'static str, what: String },
    #[error("cannot decode the {format} image")]
    Image {
        format: &'static str,
        #[source]
        source: image::ImageError,
    },
    #[error("cannot decode the TIFF image")]
    Tiff(#[source] tiff::TiffError),
    #[error("the image decoder failed on this file (a bug in the decoder, caught)")]
    DecoderPanicked,
}

/// Runs a decoder so that a panic on a hostile file becomes an error for that file: the device
/// thread, and the files after it, must survive whatever is dropped into the folder.
fn guarded<T>(decode: impl FnOnce() -> Result<T, FileError>) -> Result<T, FileError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or(Err(FileError::DecoderPanicked))
}

/// The pages of one file, decoded one at a time so a 50-page TIFF never sits in memory whole.
pub enum PageSource {
    /// JPEG or PNG: decoded when the file is opened.
    Single(Option<RawPage>),
    Tiff(Box<TiffPages>),
}

impl std::fmt::Debug for PageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageSource").field("n_pages", &self.n_pages()).field("exhausted", &self.is_exhausted()).finish()
    }
}

pub struct TiffPages {
    decoder: TiffDecoder<Cursor<Vec<u8>>>,
    /// Image directory index of each page.
    pages: Vec<usize>,
    next: usize,
}

impl PageSource {
    /// Reads a file's structure (and a JPEG's or PNG's pixels). Structural faults — not an image,
    /// truncated JPEG, too large, a TIFF directory chain that does not parse — show here, before
    /// any page is handed over.
    pub fn open(bytes: Vec<u8>) -> Result<PageSource, FileError> {
        guarded(|| PageSource::open_unguarded(bytes))
    }

    fn open_unguarded(bytes: Vec<u8>) -> Result<PageSource, FileError> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Ok(PageSource::Single(Some(decode_jpeg(&bytes)?)))
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Ok(PageSource::Single(Some(decode_png(&bytes)?)))
        } else if [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"].iter().any(|magic| bytes.starts_with(*magic)) {
            Ok(PageSource::Tiff(Box::new(TiffPages::open(bytes)?)))
        } else if bytes.starts_with(b"%PDF") {
            Err(FileError::Pdf)
        } else {
            Err(FileError::NotAnImage)
        }
    }

    pub fn n_pages(&self) -> usize {
        match self {
            PageSource::Single(_) => 1,
            PageSource::Tiff(tiff) => tiff.pages.len(),
        }
    }

    /// Whether every page has been returned.
    pub fn is_exhausted(&self) -> bool {
        match self {
            PageSource::Single(page) => page.is_none(),
            PageSource::Tiff(tiff) => tiff.next >= tiff.pages.len(),
        }
    }

    pub fn next_page(&mut self) -> Result<Option<RawPage>, FileError> {
        match self {
            PageSource::Single(page) => Ok(page.take()),
            PageSource::Tiff(tiff) => guarded(|| tiff.next_page()),
        }
    }
}

fn check_size(width: u32, height: u32) -> Result<(), FileError> {
    if width == 0 || height == 0 {
        return Err(FileError::Empty { width, height });
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(FileError::TooLarge { width, height });
    }
    Ok(())
}

fn sane_dpi(dpi: f64) -> Option<u32> {
    let dpi = dpi.round();
    (1.0..=1e6).contains(&dpi).then_some(dpi as u32).filter(|dpi| DPI_RANGE.contains(dpi))
}

// ---- JPEG and PNG -------------------------------------------------------------------------

/// The density a JPEG declares, in dpi: JFIF's APP0 if it says one, else EXIF's
/// `XResolution`. Walks the marker segments up to the first scan.
pub(crate) fn jpeg_dpi(bytes: &[u8]) -> Option<u32> {
    let mut exif = None;
    let mut position = 2;
    while position + 4 <= bytes.len() {
        if bytes[position] != 0xFF {
            break;
        }
        let marker = bytes[position + 1];
        if marker == 0xFF {
            position += 1; // fill byte
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let length = usize::from(u16::from_be_bytes([bytes[position + 2], bytes[position + 3]]));
        let Some(segment) = bytes.get(position + 4..position + 2 + length) else {
            break;
        };
        if marker == 0xE0 && segment.len() >= 12 && segment.starts_with(b"JFIF\0") {
            let x_density = f64::from(u16::from_be_bytes([segment[8], segment[9]]));
            let jfif = match segment[7] {
                1 => sane_dpi(x_density),
                2 => sane_dpi(x_density * 2.54),
                _ => None,
            };
            if jfif.is_some() {
                return jfif;
            }
        }
        if marker == 0xE1 && exif.is_none() {
            exif = segment.strip_prefix(b"Exif\0\0").and_then(exif_dpi);
        }
        position += 2 + length;
    }
    exif
}

/// `XResolution` and `ResolutionUnit` from the first image directory of an EXIF block (a small
/// TIFF structure of its own).
fn exif_dpi(tiff: &[u8]) -> Option<u32> {
    let big_endian = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let bytes: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if big_endian { u16::from_be_bytes(bytes) } else { u16::from_le_bytes(bytes) })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let bytes: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let (mut resolution, mut unit) = (None, 2);
    for entry in (0..usize::from(u16_at(ifd)?)).map(|i| ifd + 2 + 12 * i) {
        match u16_at(entry)? {
            282 => {
                let at = usize::try_from(u32_at(entry + 8)?).ok()?;
                let (numerator, denominator) = (u32_at(at)?, u32_at(at + 4)?);
                resolution = (denominator != 0).then(|| f64::from(numerator) / f64::from(denominator));
            }
            296 => unit = u16_at(entry + 8)?,
            _ => {}
        }
    }
    match unit {
        2 => sane_dpi(resolution?),
        3 => sane_dpi(resolution? * 2.54),
        _ => None,
    }
}

/// A JPEG ends with `FF D9`, maybe followed by padding; scanners write nothing after it.
fn has_end_marker(bytes: &[u8]) -> bool {
    let end = bytes.iter().rposition(|&byte| byte != 0x00 && byte != 0xFF).map_or(0, |last| last + 1);
    bytes[..end].ends_with(&[0xFF, 0xD9])
}

fn decode_jpeg(bytes: &[u8]) -> Result<RawPage, FileError> {
    // The decoder fills a cut-off JPEG with grey without complaint: check the end marker first.
    if !has_end_marker(bytes) {
        return Err(FileError::TruncatedJpeg);
    }
    let image = decode_with_image(bytes, ImageFormat::Jpeg, "JPEG")?;
    Ok(to_page(image, jpeg_dpi(bytes).unwrap_or(DEFAULT_DPI), false))
}

fn decode_png(bytes: &[u8]) -> Result<RawPage, FileError> {
    let reader = png::Decoder::new(Cursor::new(bytes)).read_info().map_err(|error| FileError::Image {
        format: "PNG",
        source: image::ImageError::Decoding(image::error::DecodingError::new(ImageFormat::Png.into(), error)),
    })?;
    let info = reader.info();
    check_size(info.width, info.height)?;
    let dpi = info
        .pixel_dims
        .filter(|dims| dims.unit == png::Unit::Meter)
        .and_then(|dims| sane_dpi(f64::from(dims.xppu) * 0.0254))
        .unwrap_or(DEFAULT_DPI);
    let bilevel = info.bit_depth == png::BitDepth::One && info.color_type == png::ColorType::Grayscale;
    let image = decode_with_image(bytes, ImageFormat::Png, "PNG")?;
    Ok(to_page(image, dpi, bilevel))
}

fn decode_with_image(bytes: &[u8], format: ImageFormat, name: &'static str) -> Result<DynamicImage, FileError> {
    let failed = |source| FileError::Image { format: name, source };
    // The header is read without limits so that an image too large is refused with its real
    // size (`image`'s own limit error does not say it); the limits apply to the decoding.
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(failed)?;
    let (width, height) = decoder.dimensions();
    check_size(width, height)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    decoder.set_limits(limits).map_err(failed)?;
    DynamicImage::from_decoder(decoder).map_err(failed)
}

/// Gray or colour as the image is; a 1-bit source becomes `Bw1`. Alpha is flattened onto white.
fn to_page(image: DynamicImage, dpi: u32, bilevel: bool) -> RawPage {
    let (width, height) = (image.width(), image.height());
    if bilevel {
        let gray = image.to_luma8();
        return bw_page(width, height, dpi, gray.as_raw());
    }
    if image.color().has_color() {
        let data = if image.color().has_alpha() {
            let rgba = image.to_rgba8();
            rgba.as_raw()
                .chunks_exact(4)
                .flat_map(|p| [over_white(p[0], p[3]), over_white(p[1], p[3]), over_white(p[2], p[3])])
                .collect()
        } else {
            image.to_rgb8().into_raw()
        };
        RawPage {
            width,
            height,
            dpi,
            format: PixelFormat::Rgb8,
            stride: width as usize * 3,
            side: PageSide::Front,
            data,
        }
    } else {
        let data = if image.color().has_alpha() {
            image.to_luma_alpha8().as_raw().chunks_exact(2).map(|p| over_white(p[0], p[1])).collect()
        } else {
            image.to_luma8().into_raw()
        };
        RawPage { width, height, dpi, format: PixelFormat::Gray8, stride: width as usize, side: PageSide::Front, data }
    }
}

fn over_white(value: u8, alpha: u8) -> u8 {
    let (value, alpha) = (u32::from(value), u32::from(alpha));
    ((value * alpha + 255 * (255 - alpha) + 127) / 255) as u8
}

/// Packs 8-bit gray (dark below 128) into `Bw1`, 1 = black.
fn bw_page(width: u32, height: u32, dpi: u32, gray: &[u8]) -> RawPage {
    let stride = (width as usize).div_ceil(8);
    let mut data = vec![0u8; stride * height as usize];
    for (row, out) in gray.chunks_exact(width as usize).zip(data.chunks_exact_mut(stride)) {
        for (x, &value) in row.iter().enumerate() {
            if value < 128 {
                out[x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    RawPage { width, height, dpi, format: PixelFormat::Bw1, stride, side: PageSide::Front, data }
}

// ---- TIFF ---------------------------------------------------------------------------------

fn tiff_error(error: tiff::TiffError) -> FileError {
    FileError::Tiff(error)
}

impl TiffPages {
    fn open(bytes: Vec<u8>) -> Result<TiffPages, FileError> {
        let mut decoder = TiffDecoder::new(Cursor::new(bytes)).map_err(tiff_error)?;
        let mut pages = Vec::new();
        let mut index = 0;
        loop {
            // NewSubfileType bit 0: a reduced-resolution copy (thumbnail) of another page.
            let subfile = decoder.find_tag_unsigned::<u32>(Tag::NewSubfileType).map_err(tiff_error)?.unwrap_or(0);
            if subfile & 1 == 0 {
                let (width, height) = decoder.dimensions().map_err(tiff_error)?;
                check_size(width, height)?;
                pages.push(index);
            }
            if !decoder.more_images() {
                break;
            }
            decoder.next_image().map_err(tiff_error)?;
            index += 1;
        }
        if pages.is_empty() {
            return Err(FileError::NoPages);
        }
        Ok(TiffPages { decoder, pages, next: 0 })
    }

    fn next_page(&mut self) -> Result<Option<RawPage>, FileError> {
        let Some(&index) = self.pages.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        self.decoder.seek_to_image(index).map_err(tiff_error)?;
        let (width, height) = self.decoder.dimensions().map_err(tiff_error)?;
        check_size(width, height)?;
        let dpi = self.dpi().unwrap_or(DEFAULT_DPI);
        let color = self.decoder.colortype().map_err(tiff_error)?;
        let pixels = self.decoder.read_image().map_err(tiff_error)?;
        tiff_page(width, height, dpi, color, pixels).map(Some)
    }

    /// `XResolution` in dpi, `ResolutionUnit` 2 (inch, the default) or 3 (centimetre).
    fn dpi(&mut self) -> Option<u32> {
        let value = self.decoder.find_tag(Tag::XResolution).ok()??;
        let dpi = match value.into_u32_vec().ok()?.as_slice() {
            [numerator, denominator] if *denominator != 0 => f64::from(*numerator) / f64::from(*denominator),
            _ => return None,
        };
        match self.decoder.find_tag_unsigned::<u16>(Tag::ResolutionUnit).ok()?.unwrap_or(2) {
            2 => sane_dpi(dpi),
            3 => sane_dpi(dpi * 2.54),
            _ => None,
        }
    }
}

/// The decoder's samples as a page. `tiff` hands gray data with 0 = black whatever the file's
/// photometric interpretation (it inverts `WhiteIsZero`), G4 included.
fn tiff_page(
    width: u32,
    height: u32,
    dpi: u32,
    color: TiffColor,
    pixels: DecodingResult,
) -> Result<RawPage, FileError> {
    let unsupported = |what: String| FileError::Unsupported { format: "TIFF", what };
    let (w, h) = (width as usize, height as usize);
    let page = |format, stride, data| RawPage { width, height, dpi, format, stride, side: PageSide::Front, data };
    let short = || unsupported(format!("{color:?} data shorter than {width}×{height} pixels"));
    match (color, pixels) {
        (TiffColor::Gray(1), DecodingResult::U8(data)) => {
            let stride = w.div_ceil(8);
            let mut data = data.get(..stride * h).ok_or_else(short)?.to_vec();
            // Invert to 1 = black, and keep the padding bits after the last pixel white.
            let last_mask = if w % 8 == 0 { 0xFF } else { 0xFFu8 << (8 - w % 8) };
            for row in data.chunks_exact_mut(stride) {
                for byte in row.iter_mut() {
                    *byte = !*byte;
                }
                if let Some(last) = row.last_mut() {
                    *last &= last_mask;
                }
            }
            Ok(page(PixelFormat::Bw1, stride, data))
        }
        (TiffColor::Gray(8), DecodingResult::U8(data)) => {
            Ok(page(PixelFormat::Gray8, w, data.get(..w * h).ok_or_else(short)?.to_vec()))
        }
        (TiffColor::Gray(16), DecodingResult::U16(data)) => {
            let data = data.get(..w * h).ok_or_else(short)?.iter().map(|v| (v >> 8) as u8).collect();
            Ok(page(PixelFormat::Gray8, w, data))
        }
        (TiffColor::GrayA(8), DecodingResult::U8(data)) => {
            let data: Vec<u8> =
                data.get(..w * h * 2).ok_or_else(short)?.chunks_exact(2).map(|p| over_white(p[0], p[1])).collect();
            Ok(page(PixelFormat::Gray8, w, data))
        }
        (TiffColor::RGB(8), DecodingResult::U8(data)) => {
            Ok(page(PixelFormat::Rgb8, w * 3, data.get(..w * h * 3).ok_or_else(short)?.to_vec()))
        }
        (TiffColor::RGB(16), DecodingResult::U16(data)) => {
            let data = data.get(..w * h * 3).ok_or_else(short)?.iter().map(|v| (v >> 8) as u8).collect();
            Ok(page(PixelFormat::Rgb8, w * 3, data))
        }
        (TiffColor::RGBA(8), DecodingResult::U8(data)) => {
            let data = data
                .get(..w * h * 4)
                .ok_or_else(short)?
                .chunks_exact(4)
                .flat_map(|p| [over_white(p[0], p[3]), over_white(p[1], p[3]), over_white(p[2], p[3])])
                .collect();
            Ok(page(PixelFormat::Rgb8, w * 3, data))
        }
        (TiffColor::YCbCr(8), DecodingResult::U8(data)) => {
            // Colour TIFFs from printers are mostly JPEG-compressed YCbCr, which `tiff` hands over
            // unconverted (upsampled). JFIF's full-range BT.601 conversion.
            let data = data.get(..w * h * 3).ok_or_else(short)?.chunks_exact(3).flat_map(ycbcr_to_rgb).collect();
            Ok(page(PixelFormat::Rgb8, w * 3, data))
        }
        (TiffColor::CMYK(8), DecodingResult::U8(data)) => {
            let data = data
                .get(..w * h * 4)
                .ok_or_else(short)?
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u32::from(p[3]);
                    p[..3].iter().map(move |&c| ((255 - u32::from(c)) * k / 255) as u8).collect::<Vec<_>>()
                })
                .collect();
            Ok(page(PixelFormat::Rgb8, w * 3, data))
        }
        (color, _) => Err(unsupported(format!("{color:?} (take gray, colour or 1-bit images)"))),
    }
}

fn ycbcr_to_rgb(sample: &[u8]) -> [u8; 3] {
    let (y, cb, cr) = (f32::from(sample[0]), f32::from(sample[1]) - 128.0, f32::from(sample[2]) - 128.0);
    let clamp = |value: f32| value.round().clamp(0.0, 255.0) as u8;
    [clamp(y + 1.402 * cr), clamp(y - 0.344_136 * cb - 0.714_136 * cr), clamp(y + 1.772 * cb)]
}
