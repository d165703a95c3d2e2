//! PDFs sent by the portal: a quick check before a print job is queued ([`inspect`]) and one 1-bit
//! raster per page for receipt printers ([`rasterise_for_thermal`]).
//!
//! Pure: bytes in, values out; no I/O, no clock, no threads. Parsing and rendering are hayro's (pure
//! Rust, CPU only). `hayro-syntax` reads the cross-reference table and walks the page tree without
//! decoding any page's content, so checking a 500-page document costs its page tree, not its pages.
//!
//! What hayro does not decide for us is decided here:
//! * A file without `%%EOF` near its end was cut short. hayro would rebuild the cross-reference table
//!   and happily render the first half; a half-printed dossier is worse than a refusal.
//! * A PDF that opens with the empty password (an owner password only restricts editing or copying,
//!   as many issued documents do) is readable and passes; one that needs a user password, or uses an
//!   encryption hayro does not know, is [`PdfProblem::Encrypted`].
//! * Page size limits ([`MAX_SHORT_SIDE_MM`], [`MAX_LONG_SIDE_MM`], [`MAX_THERMAL_ROWS`]) and, before
//!   rasterising, the declared size of every image ([`MAX_IMAGE_PIXELS`]).
//!
//! Not guarded: hayro builds every page of the tree before we can count them, about 1.3 KB each
//! (100 000 pages: 130 MB and 0.25 s; a million: 1.4 GB and 6 s), and inflates streams without a
//! ceiling. A hostile body can therefore cost memory in proportion to the page objects it packs,
//! bounded only by the request body limit.

use std::panic::{catch_unwind, AssertUnwindSafe};

use counter_agent_driver_escpos::Bitmap;
use hayro::hayro_interpret::font::GlyphRun;
use hayro::hayro_interpret::{
    interpret_page, BlendMode, ClipPath, Context, Device, DrawMode, DrawProps, Image, ImageDrawProps, InterpreterCache,
    InterpreterSettings, SoftMask, TransformExt,
};
use hayro::hayro_syntax::page::Page;
use hayro::hayro_syntax::{DecryptionError, LoadPdfError, Pdf};
use hayro::kurbo::{Affine, BezPath, Rect};
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::vello_cpu::{Pixmap, RasterizerSettings, RenderContext, Resources, TargetInit};
use hayro::{RenderCache, RenderSettings};

/// Longest allowed short side of a page, in millimetres. A0 (841 × 1189 mm), the largest sheet an
/// office plotter takes, fits either way round; anything beyond is a mistake or an attack that would
/// make a printer (or a rasteriser) build a raster of gigabytes.
pub const MAX_SHORT_SIDE_MM: f32 = 1200.0;
/// Longest allowed long side of a page, in millimetres: an A0 sheet, or a receipt 3 m long (portals
/// size a receipt's page to its content, so receipt pages are narrow and can be long).
pub const MAX_LONG_SIDE_MM: f32 = 3000.0;
/// Most rows one page may take on a receipt printer once scaled to the paper's width: 20 000 dots,
/// 2.5 m of paper at 203 dpi.
pub const MAX_THERMAL_ROWS: u32 = 20_000;
/// Widest raster [`rasterise_for_thermal`] draws (receipt printers print 384 to 832 dots).
pub const MAX_THERMAL_WIDTH: u32 = 4096;
/// Largest image [`rasterise_for_thermal`] lets hayro decode, in pixels: 64 megapixels (an A4 page
/// scanned at 600 dpi is 35). hayro allocates what an image's dictionary declares, and an allocation
/// that fails aborts the whole process.
pub const MAX_IMAGE_PIXELS: u64 = 64_000_000;
/// Luma below which a pixel prints black: half way. Anti-aliased text and lines come out as wide as
/// their outlines (a pixel more than half covered is black), coloured text (red headings, blue links)
/// prints black, and light tints (table shading, watermarks) drop out.
const THRESHOLD: u8 = 128;
/// How far from its end `%%EOF` may be (the PDF specification lets readers look in the last 1024
/// bytes).
const EOF_WINDOW: usize = 1024;
/// PDF points per millimetre.
const POINTS_PER_MM: f32 = 72.0 / 25.4;

/// What a PDF holds, as far as printing cares.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfInfo {
    /// Number of pages (at least 1).
    pub pages: u32,
    /// Width and height in millimetres, as displayed (crop box, `/Rotate` and `/UserUnit` applied), of
    /// the page with the largest area; the first such page on a tie.
    pub largest_page_mm: (f32, f32),
}

/// Why a PDF cannot be printed. Messages say what is wrong; [`PdfProblem::hint`] says what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PdfProblem {
    #[error("the document is not a PDF (it does not start with %PDF-)")]
    NotPdf,
    #[error("the PDF is truncated (no %%EOF marker at its end)")]
    Truncated,
    #[error("the PDF is password-protected, so it cannot be opened to print")]
    Encrypted,
    #[error("the PDF is damaged and cannot be read")]
    Unreadable,
    #[error("the PDF has no pages")]
    NoPages,
    #[error("the PDF has {pages} pages; at most {max} pages are printed in one job")]
    TooManyPages { pages: u32, max: u32 },
    #[error(
        "page {page} of the PDF is {width_mm:.0} × {height_mm:.0} mm, too large to print (at most {short} mm on \
         the short side and {long} mm on the long side; on a receipt printer at most {rows} dots long)",
        short = MAX_SHORT_SIDE_MM,
        long = MAX_LONG_SIDE_MM,
        rows = MAX_THERMAL_ROWS
    )]
    PageTooLarge { page: u32, width_mm: f32, height_mm: f32 },
    #[error(
        "page {page} of the PDF holds an image of {width} × {height} pixels, too large to print (at most {max} \
         pixels)",
        max = MAX_IMAGE_PIXELS
    )]
    ImageTooLarge { page: u32, width: u32, height: u32 },
    /// Compressed data that unpacks to more than the limits (a "zip bomb").
    #[error(
        "the PDF's compressed data unpacks to more than {mb} MB, far more than any printable document",
        mb = MAX_UNPACKED_BYTES >> 20
    )]
    UnpacksTooLarge,
}

impl PdfProblem {
    /// What the person who sent the document should do next.
    pub fn hint(&self) -> &'static str {
        match self {
            PdfProblem::NotPdf => "send the PDF file's own bytes (not a web page, an image or a link to the file)",
            PdfProblem::Truncated => "the download or upload was cut short: fetch the document again and resend it",
            PdfProblem::Encrypted => "ask for a copy without a password, or open it with the password and save a copy",
            PdfProblem::Unreadable => "open it in a PDF viewer, print it to a new PDF (\"Save as PDF\") and send that",
            PdfProblem::NoPages => "check that the right file was sent",
            PdfProblem::TooManyPages { .. } => {
                "split the document, or raise `max_pdf_pages` in the [print] section of the station file"
            }
            PdfProblem::PageTooLarge { .. } => "scale the document to A4 (or to the receipt's width) and resend it",
            PdfProblem::ImageTooLarge { .. } => "scan or export the images at 300 dpi or less and resend the document",
            PdfProblem::UnpacksTooLarge => {
                "open it in a PDF viewer, print it to a new PDF (\"Save as PDF\") and send that"
            }
        }
    }
}

/// Checks that `bytes` is a PDF the agent can print, with 1 to `max_pages` pages of a sensible size,
/// without decoding any page's content. A 2-page receipt takes well under a millisecond.
pub fn inspect(bytes: &[u8], max_pages: u32) -> Result<PdfInfo, PdfProblem> {
    guarded(|| {
        let pdf = open(bytes, max_pages)?;
        let mut largest = (0.0_f32, 0.0_f32);
        for (index, page) in pdf.pages().iter().enumerate() {
            let (width_mm, height_mm) = page_size_mm(page);
            let (short, long) = (width_mm.min(height_mm), width_mm.max(height_mm));
            if short > MAX_SHORT_SIDE_MM || long > MAX_LONG_SIDE_MM {
                return Err(PdfProblem::PageTooLarge { page: page_number(index), width_mm, height_mm });
            }
            if width_mm * height_mm > largest.0 * largest.1 {
                largest = (width_mm, height_mm);
            }
        }
        Ok(PdfInfo { pages: page_count(&pdf), largest_page_mm: largest })
    })
}

/// Renders every page `width_dots` wide (the page's width fills the paper; its height follows the
/// page's aspect ratio) and converts it to black and white, one [`Bitmap`] per page.
///
/// Conversion: text, lines and flat fills are cut at half luma ([`THRESHOLD`]) so they stay crisp;
/// raster images (photos, scanned seals and signatures, logos) are Floyd–Steinberg dithered inside
/// their bounding boxes so their greys survive. Anything drawn over an image inside its box is
/// dithered with it, which keeps black text black but frays its edges a little.
///
/// `width_dots` comes from a validated printer profile; it is clamped to 1..=[`MAX_THERMAL_WIDTH`].
/// Every page's height is checked against [`MAX_THERMAL_ROWS`] before any page is drawn.
pub fn rasterise_for_thermal(bytes: &[u8], width_dots: u32, max_pages: u32) -> Result<Vec<Bitmap>, PdfProblem> {
    rasterise_first(bytes, width_dots, max_pages, usize::MAX)
}

/// [`rasterise_for_thermal`] for the first `first` pages only (a preview draws one).
pub fn rasterise_first(bytes: &[u8], width_dots: u32, max_pages: u32, first: usize) -> Result<Vec<Bitmap>, PdfProblem> {
    let width = width_dots.clamp(1, MAX_THERMAL_WIDTH);
    guarded(|| {
        let pdf = open(bytes, max_pages)?;
        let all = pdf.pages();
        let pages = &all[..first.min(all.len())];
        let settings = InterpreterSettings::default();
        // Every page is measured and surveyed before any is drawn.
        let mut plans = Vec::with_capacity(pages.len());
        for (index, page) in pages.iter().enumerate() {
            plans.push(plan(page, page_number(index), width, &settings)?);
        }
        let cache = RenderCache::new();
        let mut bitmaps = Vec::with_capacity(pages.len());
        for (page, plan) in pages.iter().zip(plans) {
            let mut luma = render_luma(page, &cache, &settings, &plan);
            dither_images(&mut luma, plan.width as usize, &plan.images);
            let bitmap = Bitmap::from_luma(plan.width, plan.height, &luma, THRESHOLD);
            bitmaps.push(bitmap.expect("render_luma returns width × height bytes"));
        }
        Ok(bitmaps)
    })
}

/// Runs `work`, turning a panic inside the parser or renderer (a bug that hostile input could reach)
/// into [`PdfProblem::Unreadable`] instead of tearing down the request.
fn guarded<T>(work: impl FnOnce() -> Result<T, PdfProblem>) -> Result<T, PdfProblem> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or(Err(PdfProblem::Unreadable))
}

/// The header, `%%EOF`, parse, encryption and page-count checks shared by both entry points.
fn open(bytes: &[u8], max_pages: u32) -> Result<Pdf, PdfProblem> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(PdfProblem::NotPdf);
    }
    let tail = &bytes[bytes.len().saturating_sub(EOF_WINDOW)..];
    if !contains(tail, b"%%EOF") {
        return Err(PdfProblem::Truncated);
    }
    check_unpacked_sizes(bytes)?;
    let pdf = match Pdf::new(bytes.to_vec()) {
        Ok(pdf) => pdf,
        Err(LoadPdfError::Decryption(
            DecryptionError::PasswordProtected
            | DecryptionError::UnsupportedAlgorithm
            | DecryptionError::InvalidEncryption
            | DecryptionError::MissingIDEntry,
        )) => return Err(PdfProblem::Encrypted),
        // hayro reports an encrypted file whose cross-reference table it had to rebuild as merely
        // invalid; an `/Encrypt` entry anywhere says which it is.
        Err(LoadPdfError::Invalid) if contains(bytes, b"/Encrypt") => return Err(PdfProblem::Encrypted),
        Err(LoadPdfError::Invalid) => return Err(PdfProblem::Unreadable),
    };
    let pages = page_count(&pdf);
    if pages == 0 {
        return Err(PdfProblem::NoPages);
    }
    if pages > max_pages {
        return Err(PdfProblem::TooManyPages { pages, max: max_pages });
    }
    Ok(pdf)
}

/// One Flate stream may unpack to at most this much (a 600 dpi A4 page in colour is 100 MB raw;
/// a printable document never needs more).
pub const MAX_STREAM_BYTES: usize = 128 << 20;
/// All Flate streams of a document together.
pub const MAX_UNPACKED_BYTES: usize = 512 << 20;

/// hayro inflates streams without a ceiling, so a 13 KB file can ask for gigabytes and the
/// allocation failure ends the process. Every `stream` whose dictionary names `/FlateDecode` (once
/// or chained) is unpacked here first, counting bytes under [`MAX_STREAM_BYTES`] per stream and
/// [`MAX_UNPACKED_BYTES`] in all; object streams are streams too, so what they hold is counted.
/// Damaged data is left for the parser to judge.
fn check_unpacked_sizes(bytes: &[u8]) -> Result<(), PdfProblem> {
    let mut total = 0usize;
    let mut pos = 0;
    while let Some(found) = find(&bytes[pos..], b"stream") {
        let at = pos + found;
        pos = at + b"stream".len();
        if bytes[..at].ends_with(b"end") {
            continue;
        }
        let mut start = pos;
        if bytes.get(start) == Some(&b'\r') {
            start += 1;
        }
        if bytes.get(start) == Some(&b'\n') {
            start += 1;
        }
        let end = find(&bytes[start..], b"endstream").map_or(bytes.len(), |e| start + e);
        // The stream's dictionary: back to its `obj` keyword, at most 4 KB.
        let window = &bytes[at.saturating_sub(4096)..at];
        let dictionary = match rfind(window, b"obj") {
            Some(i) => &window[i..],
            None => window,
        };
        let chained = count(dictionary, b"/FlateDecode");
        if chained > 0 {
            total += unpacked_size(&bytes[start..end], chained)?;
            if total > MAX_UNPACKED_BYTES {
                return Err(PdfProblem::UnpacksTooLarge);
            }
        }
        pos = end;
    }
    Ok(())
}

/// The size of `data` after `times` rounds of zlib inflation, each under [`MAX_STREAM_BYTES`].
fn unpacked_size(data: &[u8], times: usize) -> Result<usize, PdfProblem> {
    use miniz_oxide::inflate::{decompress_to_vec_zlib_with_limit, TINFLStatus};
    let mut current = std::borrow::Cow::Borrowed(data);
    for _ in 0..times {
        current = match decompress_to_vec_zlib_with_limit(&current, MAX_STREAM_BYTES) {
            Ok(out) => std::borrow::Cow::Owned(out),
            Err(error) if error.status == TINFLStatus::HasMoreOutput => return Err(PdfProblem::UnpacksTooLarge),
            // Damaged or not zlib: what came out is what the parser can get at most.
            Err(error) => std::borrow::Cow::Owned(error.output),
        };
    }
    Ok(current.len())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|window| window == needle)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|window| *window == needle).count()
}

fn page_count(pdf: &Pdf) -> u32 {
    u32::try_from(pdf.pages().len()).unwrap_or(u32::MAX)
}

/// 1-based, for messages.
fn page_number(index: usize) -> u32 {
    u32::try_from(index).map_or(u32::MAX, |index| index.saturating_add(1))
}

/// The page as displayed, in millimetres: hayro's render dimensions (crop box within media box,
/// rotation applied) times `/UserUnit` (PDF 1.6: the size of a unit in 1/72 inch, for pages over
/// 5 m that the 14 400-unit coordinate limit could not otherwise describe).
fn page_size_mm(page: &Page<'_>) -> (f32, f32) {
    let unit = page.raw().get::<f32>(b"UserUnit").filter(|unit| unit.is_finite() && *unit > 0.0).unwrap_or(1.0);
    let (width, height) = page.render_dimensions();
    (width * unit / POINTS_PER_MM, height * unit / POINTS_PER_MM)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// How one page is drawn: its raster size, the transform from the page to that raster, and where
/// its raster images land.
struct Plan {
    width: u32,
    height: u32,
    transform: Affine,
    images: Vec<PixelBox>,
}

/// A pixel rectangle, `x0..x1` × `y0..y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PixelBox {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

/// Sizes page `number` to `width` dots wide and surveys its images, refusing a page longer than
/// [`MAX_THERMAL_ROWS`] or one holding an image over [`MAX_IMAGE_PIXELS`].
///
/// The survey interprets the page with a device that only records image placements (it decodes
/// nothing). Stencil masks (1-bit images painted in one colour, such as some QR codes) are left to the
/// threshold, like text, but are size-checked too.
fn plan(page: &Page<'_>, number: u32, width: u32, settings: &InterpreterSettings) -> Result<Plan, PdfProblem> {
    let (width_pt, height_pt) = page.render_dimensions();
    let rows = (f64::from(height_pt) / f64::from(width_pt) * f64::from(width)).round().max(1.0);
    if rows > f64::from(MAX_THERMAL_ROWS) {
        let (width_mm, height_mm) = page_size_mm(page);
        return Err(PdfProblem::PageTooLarge { page: number, width_mm, height_mm });
    }
    // In range: 1..=MAX_THERMAL_ROWS.
    let height = rows as u32;
    let transform =
        Affine::scale_non_uniform(f64::from(width) / f64::from(width_pt), f64::from(height) / f64::from(height_pt))
            * page.initial_transform(true).to_kurbo();

    let target = Rect::new(0.0, 0.0, f64::from(width), f64::from(height));
    let cache = InterpreterCache::new();
    let mut context = Context::new(transform, target, &cache, page.xref(), settings.clone());
    let mut survey = ImageSurvey { target, boxes: Vec::new(), too_large: None };
    interpret_page(page, &mut context, &mut survey);
    if let Some((width, height)) = survey.too_large {
        return Err(PdfProblem::ImageTooLarge { page: number, width, height });
    }
    Ok(Plan { width, height, transform, images: survey.boxes })
}

/// Draws `page` on white at the plan's size, as one luma byte per pixel (BT.601 weights).
fn render_luma<'a>(
    page: &'a Page<'a>,
    cache: &RenderCache<'a>,
    settings: &InterpreterSettings,
    plan: &Plan,
) -> Vec<u8> {
    // Both fit: width ≤ MAX_THERMAL_WIDTH and height ≤ MAX_THERMAL_ROWS, both below u16::MAX.
    let (width, height) = (plan.width as u16, plan.height as u16);
    let mut context = RenderContext::new(width, height);
    hayro::render_into(page, cache, settings, &RenderSettings::default(), &mut context, plan.transform);
    context.flush();
    let mut pixmap = Pixmap::new(width, height);
    let rasterizer = RasterizerSettings { target_init: TargetInit::Clear(WHITE), ..Default::default() };
    context.render_with(&mut pixmap, &mut Resources::default(), rasterizer);
    // Opaque (cleared to white first), so premultiplied colour is plain colour.
    pixmap
        .data()
        .iter()
        .map(|pixel| ((77 * u32::from(pixel.r) + 150 * u32::from(pixel.g) + 29 * u32::from(pixel.b) + 128) >> 8) as u8)
        .collect()
}

struct ImageSurvey {
    target: Rect,
    boxes: Vec<PixelBox>,
    /// The first image over [`MAX_IMAGE_PIXELS`], in pixels.
    too_large: Option<(u32, u32)>,
}

impl<'a> Device<'a> for ImageSurvey {
    fn draw_image(&mut self, image: Image<'a, '_>, props: ImageDrawProps<'a>) {
        let (width, height) = (image.width(), image.height());
        if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
            self.too_large.get_or_insert((width, height));
        }
        if !matches!(image, Image::Raster(_)) {
            return;
        }
        let local = Rect::new(0.0, 0.0, f64::from(width), f64::from(height));
        let placed = props.transform.transform_rect_bbox(local).intersect(self.target);
        if placed.width() > 0.0 && placed.height() > 0.0 {
            // Clamped to the target, which is at most MAX_THERMAL_WIDTH × MAX_THERMAL_ROWS.
            self.boxes.push(PixelBox {
                x0: placed.x0.floor() as usize,
                y0: placed.y0.floor() as usize,
                x1: placed.x1.ceil() as usize,
                y1: placed.y1.ceil() as usize,
            });
        }
    }

    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'a>, _: &DrawMode) {}
    fn push_clip_path(&mut self, _: &ClipPath) {}
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {}
    fn draw_glyph_run(&mut self, _: &GlyphRun<'_, 'a>, _: DrawProps<'a>, _: &DrawMode) {}
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}
}

/// Floyd–Steinberg dithers the pixels of `luma` (rows of `width` pixels) that lie inside the image
/// boxes to pure black (0) and white (255), scanning rows in alternate directions (a one-way scan
/// leaves a solid column along an image's left edge). Other pixels are left for the threshold in
/// [`Bitmap::from_luma`]. Error is only carried between pixels of images, so a photo's noise never
/// leaks into the text beside it.
fn dither_images(luma: &mut [u8], width: usize, images: &[PixelBox]) {
    if width == 0 || images.is_empty() {
        return;
    }
    let height = luma.len() / width;
    let mut in_image = vec![false; luma.len()];
    for image in images {
        for y in image.y0..image.y1.min(height) {
            in_image[y * width + image.x0.min(width)..y * width + image.x1.min(width)].fill(true);
        }
    }
    // Error for this row and the next, indexed x + 1: a spare cell at each end so that the pixels on
    // either side always exist.
    let mut this_row = vec![0_i32; width + 2];
    let mut next_row = vec![0_i32; width + 2];
    for y in 0..height {
        let left_to_right = y % 2 == 0;
        for step in 0..width {
            let x = if left_to_right { step } else { width - 1 - step };
            let index = y * width + x;
            if !in_image[index] {
                continue;
            }
            let value = i32::from(luma[index]) + this_row[x + 1];
            let printed = if value < i32::from(THRESHOLD) { 0 } else { 255 };
            luma[index] = printed;
            let error = value - i32::from(printed);
            let (ahead, behind) = if left_to_right { (x + 2, x) } else { (x, x + 2) };
            this_row[ahead] += error * 7 / 16;
            next_row[behind] += error * 3 / 16;
            next_row[x + 1] += error * 5 / 16;
            next_row[ahead] += error / 16;
        }
        std::mem::swap(&mut this_row, &mut next_row);
        next_row.fill(0);
    }
}

#[cfg(test)]
mod tests;
