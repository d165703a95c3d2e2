//! Fitting a document under a size limit by re-encoding pages, cheapest loss first.
//!
//! Each page has a ladder of re-encodings, from its original down to its floor:
//! * JPEG pages (colour or gray): quality 70, 55 at their own dpi, then 200 dpi q60/q45, 150 dpi q50/q40,
//!   and [`COLOR_FLOOR_DPI`] q40 (steps that would not lower the dpi or quality are skipped);
//! * G4 pages: 200 dpi, then [`TEXT_FLOOR_DPI`] (a text page scanned below the floor keeps its dpi).
//!
//! The size of a document is estimated as the assembled PDF's fixed overhead (measured once) plus the sum
//! of its images, so pages are re-encoded without re-assembling: while the estimate is over the limit,
//! the page that is currently largest moves one step down its ladder (so big colour pages give way
//! before small text pages are touched). The result is assembled and checked; if the estimate was short
//! (digits in lengths), stepping goes on. When every page is at its floor and the PDF is still over,
//! [`FitError`] tells the smallest size reached. Cost: one decode + re-encode per step (about 0.1–0.2 s
//! for an A4 300 dpi colour page); halving a 10-page 300 dpi document took ~1 s, quartering it ~6 s.

use image::imageops::FilterType;
use image::DynamicImage;

use super::{assemble, g4, jpeg, render, DocumentMeta, DocumentPage, EncodedImage, Encoding, FitError, PipelineError};

/// G4 (text) pages are never re-encoded below this resolution: small print stays legible.
pub const TEXT_FLOOR_DPI: u32 = 150;
/// JPEG (colour and gray) pages are never re-encoded below this resolution.
pub const COLOR_FLOOR_DPI: u32 = 100;

/// (dpi cap, quality) steps for JPEG pages.
const JPEG_LADDER: [(u32, u8); 7] =
    [(u32::MAX, 70), (u32::MAX, 55), (200, 60), (200, 45), (150, 50), (150, 40), (COLOR_FLOOR_DPI, 40)];
/// dpi steps for G4 pages.
const G4_LADDER: [u32; 2] = [200, TEXT_FLOOR_DPI];

/// The re-encodings of one page, in order, as (dpi, quality) (quality unused for G4).
fn ladder(image: &EncodedImage) -> Vec<(u32, u8)> {
    let mut steps = Vec::new();
    let mut last = (image.dpi, jpeg::QUALITY);
    match image.encoding {
        Encoding::G4 => {
            for cap in G4_LADDER {
                let dpi = image.dpi.min(cap);
                if dpi < last.0 {
                    steps.push((dpi, 0));
                    last.0 = dpi;
                }
            }
        }
        Encoding::JpegGray | Encoding::JpegColor => {
            for (cap, quality) in JPEG_LADDER {
                let step = (image.dpi.min(cap), quality);
                if step.0 < last.0 || (step.0 == last.0 && step.1 < last.1) {
                    steps.push(step);
                    last = step;
                }
            }
        }
    }
    steps
}

/// Re-encodes `image` at `dpi` (≤ its own) and `quality` (JPEG).
pub(crate) fn reencode(image: &EncodedImage, dpi: u32, quality: u8) -> Result<EncodedImage, PipelineError> {
    let pixels = render::decode(image)?;
    let scale = |n: u32| {
        ((u64::from(n) * u64::from(dpi) + u64::from(image.dpi) / 2) / u64::from(image.dpi.max(1))).max(1) as u32
    };
    let (width, height) = (scale(image.width), scale(image.height));
    let pixels = if (width, height) == (image.width, image.height) {
        pixels
    } else {
        pixels.resize_exact(width, height, FilterType::Triangle)
    };
    match (image.encoding, pixels) {
        (Encoding::G4, pixels) => Ok(g4::encode(&g4::threshold_at(&pixels.to_luma8(), 128), dpi)),
        (Encoding::JpegColor, DynamicImage::ImageRgb8(rgb)) => jpeg::encode_rgb(&rgb, dpi, quality),
        (Encoding::JpegColor, pixels) => jpeg::encode_rgb(&pixels.to_rgb8(), dpi, quality),
        (Encoding::JpegGray, pixels) => jpeg::encode_gray(&pixels.to_luma8(), dpi, quality),
    }
}

struct Slot<'a> {
    page: DocumentPage<'a>,
    steps: Vec<(u32, u8)>,
    taken: usize,
    current: Option<EncodedImage>,
}

impl Slot<'_> {
    fn size(&self) -> usize {
        self.current.as_ref().map_or(self.page.image.bytes.len(), |image| image.bytes.len())
    }

    fn can_step(&self) -> bool {
        self.taken < self.steps.len()
    }

    /// Moves one step down; a step that fails to decode/encode or does not shrink the page is skipped.
    fn step(&mut self) {
        let (dpi, quality) = self.steps[self.taken];
        self.taken += 1;
        if let Ok(image) = reencode(self.page.image, dpi, quality) {
            if image.bytes.len() < self.size() {
                self.current = Some(image);
            }
        }
    }
}

fn assemble_slots(slots: &[Slot<'_>], meta: &DocumentMeta) -> Vec<u8> {
    let pages: Vec<DocumentPage<'_>> = slots
        .iter()
        .map(|slot| match &slot.current {
            Some(image) => DocumentPage { image, rotation: slot.page.rotation, sha256: image.sha256() },
            None => slot.page,
        })
        .collect();
    assemble(&pages, meta)
}

pub(crate) fn fit(pages: &[DocumentPage<'_>], meta: &DocumentMeta, max_bytes: usize) -> Result<Vec<u8>, FitError> {
    let pdf = assemble(pages, meta);
    if pdf.len() <= max_bytes {
        return Ok(pdf);
    }
    let mut slots: Vec<Slot<'_>> =
        pages.iter().map(|&page| Slot { page, steps: ladder(page.image), taken: 0, current: None }).collect();
    let images = |slots: &[Slot<'_>]| slots.iter().map(Slot::size).sum::<usize>();
    let mut overhead = pdf.len().saturating_sub(images(&slots));
    let step_largest =
        |slots: &mut [Slot<'_>]| match slots.iter_mut().filter(|slot| slot.can_step()).max_by_key(|slot| slot.size()) {
            Some(largest) => {
                largest.step();
                true
            }
            None => false,
        };
    loop {
        while overhead + images(&slots) > max_bytes && step_largest(&mut slots) {}
        let pdf = assemble_slots(&slots, meta);
        if pdf.len() <= max_bytes {
            return Ok(pdf);
        }
        if !slots.iter().any(Slot::can_step) {
            return Err(FitError { smallest: pdf.len(), limit: max_bytes });
        }
        // The estimate was short (more digits in lengths): take the real overhead and step at least once.
        overhead = pdf.len().saturating_sub(images(&slots));
        step_largest(&mut slots);
    }
}
