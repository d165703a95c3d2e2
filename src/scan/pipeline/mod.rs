//! Pure per-page and per-document stages: bytes in, bytes out. No I/O, no tokio, no clocks.
//!
//! * [`process_page`]: a raw scanner page → validated, normalised, optionally rotated 180° (duplex back
//!   sides), ID card cropped, classified (text / colour / gray / blank), deskewed, encoded (text → 1-bit
//!   CCITT G4, colour → JPEG colour, gray photo → JPEG gray), with the SHA-256 of the encoded bytes.
//! * [`render`]: an encoded page → PNG or JPEG, rotated and scaled (downloads, thumbnails).
//! * [`assemble`]: encoded pages → a PDF that embeds them untouched.
//! * [`fit`]: [`assemble`] under a size limit, re-encoding pages at lower dpi/quality when needed.

mod classify;
mod crop;
mod deskew;
mod document;
mod fit;
mod g4;
mod jpeg;
mod raster;
mod render;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_pdf;

pub use counter_agent_driver_api::ColorMode;
use counter_agent_driver_api::RawPage;
use sha2::{Digest, Sha256};

pub use classify::Thresholds;
pub use document::PAGE_SHA256_KEY_PREFIX;
pub use fit::{COLOR_FLOOR_DPI, TEXT_FLOOR_DPI};

/// A clockwise quarter-turn rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    #[default]
    None,
    Cw90,
    Cw180,
    Cw270,
}

impl Rotation {
    /// Any multiple of 90 (negative = counter-clockwise); `None` for anything else.
    pub fn from_degrees(degrees: i32) -> Option<Rotation> {
        if degrees % 90 != 0 {
            return None;
        }
        Some(match degrees.rem_euclid(360) {
            0 => Rotation::None,
            90 => Rotation::Cw90,
            180 => Rotation::Cw180,
            _ => Rotation::Cw270,
        })
    }

    /// 0, 90, 180 or 270.
    pub fn degrees(self) -> u16 {
        match self {
            Rotation::None => 0,
            Rotation::Cw90 => 90,
            Rotation::Cw180 => 180,
            Rotation::Cw270 => 270,
        }
    }

    /// `self` followed by `other`.
    pub fn then(self, other: Rotation) -> Rotation {
        match Rotation::from_degrees(i32::from(self.degrees()) + i32::from(other.degrees())) {
            Some(rotation) => rotation,
            None => Rotation::None, // unreachable: a sum of multiples of 90
        }
    }
}

/// What a page holds, decided by [`process_page`] in [`ColorMode::Auto`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageClass {
    /// Dark marks on a light background, no colour: stored as 1-bit G4.
    Text,
    /// Colour content (red seal, blue ink, colour photo): JPEG colour.
    Color,
    /// A gray-tone photo or picture without colour: JPEG gray.
    Gray,
    /// Nothing on it (flagged, never dropped).
    Blank,
}

impl PageClass {
    pub fn as_str(self) -> &'static str {
        match self {
            PageClass::Text => "text",
            PageClass::Color => "color",
            PageClass::Gray => "gray",
            PageClass::Blank => "blank",
        }
    }
}

/// How an [`EncodedImage`]'s bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Raw CCITT T.6 (Group 4) data: `K -1`, black runs are black (`BlackIs1` false), no EOFB needed.
    G4,
    /// A JFIF file, one component.
    JpegGray,
    /// A JFIF file, three components (YCbCr).
    JpegColor,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::G4 => "g4",
            Encoding::JpegGray => "jpeg-gray",
            Encoding::JpegColor => "jpeg-color",
        }
    }

    pub fn file_extension(self) -> &'static str {
        match self {
            Encoding::G4 => "g4",
            Encoding::JpegGray | Encoding::JpegColor => "jpg",
        }
    }

    /// The inverse of [`Encoding::as_str`].
    pub fn parse(name: &str) -> Option<Encoding> {
        match name {
            "g4" => Some(Encoding::G4),
            "jpeg-gray" => Some(Encoding::JpegGray),
            "jpeg-color" => Some(Encoding::JpegColor),
            _ => None,
        }
    }
}

/// An encoded page image: what the PDF embeds as-is.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedImage {
    pub encoding: Encoding,
    /// G4: raw CCITT T.6 data (`BlackIs1` false, `K -1`); JPEG: a JFIF file.
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
}

impl std::fmt::Debug for EncodedImage {
    // Never print the bytes: they are citizen data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedImage")
            .field("encoding", &self.encoding)
            .field("n_bytes", &self.bytes.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("dpi", &self.dpi)
            .finish()
    }
}

impl EncodedImage {
    /// SHA-256 of [`EncodedImage::bytes`].
    pub fn sha256(&self) -> [u8; 32] {
        sha256(&self.bytes)
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lower-case hex of a digest.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What to do with a page.
#[derive(Debug, Clone)]
pub struct PageOptions {
    /// `Auto`: classify (text → G4, colour content → JPEG colour, gray photo → JPEG gray, blank → G4 and
    /// flagged); `Color`: JPEG colour; `Gray`: JPEG gray; `Bw`: G4. Blank is flagged in every mode.
    pub color: ColorMode,
    /// Straighten pages scanned up to ±5° askew (only when the estimate is confident).
    pub deskew: bool,
    /// Flatbed only: crop to the ID card on the glass.
    pub crop_id_card: bool,
    /// Duplex back side on models that deliver it upside down.
    pub rotate_180: bool,
}

impl Default for PageOptions {
    fn default() -> PageOptions {
        PageOptions { color: ColorMode::Auto, deskew: true, crop_id_card: false, rotate_180: false }
    }
}

/// A page after [`process_page`].
#[derive(Debug, Clone)]
pub struct ProcessedPage {
    pub class: PageClass,
    /// True also when the clerk forced colour/gray: never dropped, only flagged.
    pub blank: bool,
    /// The skew that was corrected, in degrees, positive = the content was rotated clockwise on the
    /// glass (0.0 when none was corrected).
    pub skew_degrees: f32,
    pub cropped: bool,
    pub image: EncodedImage,
    /// SHA-256 of `image.bytes`.
    pub sha256: [u8; 32],
}

/// Why a stage failed. [`PipelineError::code`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("page has zero size ({width}×{height})")]
    Empty { width: u32, height: u32 },
    #[error("page is {width}×{height} but its data has {n_bytes} bytes for stride {stride}")]
    ShortData { width: u32, height: u32, stride: usize, n_bytes: usize },
    #[error("page is {width}×{height}, over the {max_pixels}-pixel limit")]
    TooLarge { width: u32, height: u32, max_pixels: u64 },
    #[error("{encoding} image does not decode: {reason}")]
    Decode { encoding: &'static str, reason: String },
    #[error("{format} encoding failed: {reason}")]
    Encode { format: &'static str, reason: String },
}

impl PipelineError {
    pub fn code(&self) -> &'static str {
        match self {
            PipelineError::Empty { .. } => "page_empty",
            PipelineError::ShortData { .. } => "page_short_data",
            PipelineError::TooLarge { .. } => "page_too_large",
            PipelineError::Decode { .. } => "image_decode_failed",
            PipelineError::Encode { .. } => "image_encode_failed",
        }
    }
}

/// Largest page accepted, in pixels (A3 at 600 dpi is 70 M; a 2 m hand-scanner strip at 600 dpi
/// is about 100 M). Bounds memory whatever a driver or a stored file claims.
pub const MAX_PIXELS: u64 = 120_000_000;

/// Validates, normalises, classifies, deskews and encodes one page.
///
/// Order: validate (a borrowed view, no copy) → analyse → ID-card crop (view narrowed, analysed again) →
/// classify → copy out only what is encoded (luma for G4 and gray JPEG, RGB for colour JPEG; nothing for
/// an upright G4 page, thresholded row by row into the encoder) → deskew → 180° turn → encode. Crop and deskew commute with the 180° turn, so turning last gives the same page.
pub fn process_page(raw: &RawPage, options: &PageOptions) -> Result<ProcessedPage, PipelineError> {
    process_with(raw, options, &Thresholds::default())
}

pub(crate) fn process_with(
    raw: &RawPage,
    options: &PageOptions,
    thresholds: &Thresholds,
) -> Result<ProcessedPage, PipelineError> {
    let dpi = raw.dpi.max(1);
    let mut view = raster::View::from_raw(raw)?;
    let mut analysis = classify::analyse(&view, dpi);
    let mut cropped = false;
    if options.crop_id_card {
        if let Some(rect) = crop::find_card(&analysis) {
            view = view.crop(rect);
            analysis = classify::analyse(&view, dpi);
            cropped = true;
        }
    }
    let class = analysis.class(thresholds);
    let blank = class == PageClass::Blank;
    let encoding = match options.color {
        ColorMode::Auto => match class {
            PageClass::Text | PageClass::Blank => Encoding::G4,
            PageClass::Color => Encoding::JpegColor,
            PageClass::Gray => Encoding::JpegGray,
        },
        ColorMode::Color => Encoding::JpegColor,
        ColorMode::Gray => Encoding::JpegGray,
        ColorMode::Bw => Encoding::G4,
    };
    // Colour forced on a gray or 1-bit source stays gray: there is no colour to keep.
    let encoding = if encoding == Encoding::JpegColor && !view.is_rgb() { Encoding::JpegGray } else { encoding };
    let class = match options.color {
        ColorMode::Auto => class,
        _ if blank => PageClass::Blank,
        ColorMode::Bw => PageClass::Text,
        ColorMode::Color if encoding == Encoding::JpegColor => PageClass::Color,
        _ => PageClass::Gray,
    };
    let skew = if options.deskew && !blank { deskew::estimate(&analysis) } else { None };
    // Text pages are thresholded at Otsu's level of the analysis histogram (a sample of the page).
    let threshold = g4::otsu_threshold(&analysis.luma_histogram);
    let image = match (skew, options.rotate_180, encoding, view.packed()) {
        // Nothing to turn: G4 straight from the driver's rows, no page-sized copy.
        (None, false, Encoding::G4, _) => {
            g4::encode_rows(view.width, view.height, threshold, dpi, |y, row| view.luma_row(y, row))
        }
        // Nothing to turn: JPEG straight from the driver's buffer.
        (None, false, Encoding::JpegColor, Some(rgb)) if view.is_rgb() => {
            jpeg::encode_packed(rgb, view.width, view.height, true, dpi, jpeg::QUALITY)?
        }
        (None, false, Encoding::JpegGray, Some(gray)) if !view.is_rgb() => {
            jpeg::encode_packed(gray, view.width, view.height, false, dpi, jpeg::QUALITY)?
        }
        _ => {
            let mut raster = match encoding {
                Encoding::JpegColor => raster::Raster::Rgb(view.rgb_copy()),
                Encoding::G4 | Encoding::JpegGray => raster::Raster::Gray(view.gray_copy()),
            };
            if let Some(angle) = skew {
                raster = raster.rotate_small(angle);
            }
            if options.rotate_180 {
                raster.rotate_180();
            }
            match raster {
                raster::Raster::Gray(gray) if encoding == Encoding::G4 => g4::encode_gray(&gray, threshold, dpi),
                raster::Raster::Gray(gray) => jpeg::encode_gray(&gray, dpi, jpeg::QUALITY)?,
                raster::Raster::Rgb(rgb) => jpeg::encode_rgb(&rgb, dpi, jpeg::QUALITY)?,
            }
        }
    };
    let skew_degrees = skew.unwrap_or(0.0);
    let sha256 = image.sha256();
    Ok(ProcessedPage { class, blank, skew_degrees, cropped, image, sha256 })
}

/// Output format of [`render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewFormat {
    Jpeg,
    Png,
}

impl ViewFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ViewFormat::Jpeg => "image/jpeg",
            ViewFormat::Png => "image/png",
        }
    }
}

/// Decodes `image`, applies `rotation`, scales so the longer side is at most `max_side` (None: full
/// size), encodes as `format`. For page downloads (`?format=png|jpeg`) and thumbnails (`Some(256)`).
pub fn render(
    image: &EncodedImage,
    rotation: Rotation,
    format: ViewFormat,
    max_side: Option<u32>,
) -> Result<Vec<u8>, PipelineError> {
    render::render(image, rotation, format, max_side)
}

/// One page of a document to assemble.
#[derive(Debug, Clone, Copy)]
pub struct DocumentPage<'a> {
    pub image: &'a EncodedImage,
    /// The clerk's rotation, written as the page's `/Rotate`.
    pub rotation: Rotation,
    /// SHA-256 of `image.bytes`, written to the document information.
    pub sha256: [u8; 32],
}

/// Document information.
#[derive(Debug, Clone)]
pub struct DocumentMeta {
    pub title: String,
    /// Creation date (UTC, Unix seconds).
    pub created_utc_seconds: i64,
}

/// A PDF with one page per entry, images embedded untouched (JPEG as `DCTDecode`, G4 as
/// `CCITTFaxDecode`), page size from dpi, rotation as the page's `/Rotate`, the SHA-256 of each page's
/// image in the document information (keys `PageSHA256-1`, `PageSHA256-2`, …).
pub fn assemble(pages: &[DocumentPage<'_>], meta: &DocumentMeta) -> Vec<u8> {
    document::assemble(pages, meta)
}

/// Even the smallest PDF [`fit`] could make is over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the smallest document reached is {smallest} bytes, over the {limit}-byte limit")]
pub struct FitError {
    pub smallest: usize,
    pub limit: usize,
}

/// [`assemble`], and if that is over `max_bytes`, re-encodes pages at lower dpi/quality (never below
/// [`TEXT_FLOOR_DPI`] for G4 pages, [`COLOR_FLOOR_DPI`] for JPEG pages) until it fits.
pub fn fit(pages: &[DocumentPage<'_>], meta: &DocumentMeta, max_bytes: usize) -> Result<Vec<u8>, FitError> {
    fit::fit(pages, meta, max_bytes)
}
