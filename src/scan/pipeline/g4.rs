//! Text pages: binarisation and CCITT Group 4 (T.6) encode/decode with the `fax` crate.
//!
//! Polarity: a black pixel is encoded as a black run, so the PDF leaves `BlackIs1` at its default
//! (false); setting it would invert the page (FIELD-NOTES).

use fax::{decoder, encoder::Encoder, Color, VecWriter};
use image::GrayImage;

use super::{EncodedImage, Encoding, PipelineError};

/// Otsu's threshold is kept within these bounds: on a page with no ink (a blank, paper grain only) Otsu
/// would split the grain itself and fill the page with speckles.
pub(crate) const THRESHOLD_MIN: u8 = 64;
pub(crate) const THRESHOLD_MAX: u8 = 192;

/// Global Otsu threshold over the histogram, clamped to [`THRESHOLD_MIN`, `THRESHOLD_MAX`].
pub(crate) fn otsu_threshold(histogram: &[u64; 256]) -> u8 {
    let total: u64 = histogram.iter().sum();
    if total == 0 {
        return 128;
    }
    let sum_all: f64 = histogram.iter().enumerate().map(|(v, &n)| v as f64 * n as f64).sum();
    let (mut weight_below, mut sum_below) = (0u64, 0f64);
    let (mut best, mut best_variance) = (128u8, -1f64);
    for (value, &count) in histogram.iter().enumerate() {
        weight_below += count;
        sum_below += value as f64 * count as f64;
        if weight_below == 0 || weight_below == total {
            continue;
        }
        let weight_above = total - weight_below;
        let mean_below = sum_below / weight_below as f64;
        let mean_above = (sum_all - sum_below) / weight_above as f64;
        let variance = weight_below as f64 * weight_above as f64 * (mean_below - mean_above).powi(2);
        if variance > best_variance {
            best_variance = variance;
            best = value as u8;
        }
    }
    // Pixels ≤ best are dark; the threshold is the first light value.
    best.saturating_add(1).clamp(THRESHOLD_MIN, THRESHOLD_MAX)
}

/// Black (0) where the pixel is darker than `threshold`, white (255) elsewhere.
pub(crate) fn threshold_at(gray: &GrayImage, threshold: u8) -> GrayImage {
    let data = gray.as_raw().iter().map(|&v| if v < threshold { 0 } else { 255 }).collect();
    GrayImage::from_raw(gray.width(), gray.height(), data).unwrap_or_else(|| gray.clone())
}

/// Encodes a bilevel image (pixels < 128 are black) as G4.
pub(crate) fn encode(bits: &GrayImage, dpi: u32) -> EncodedImage {
    encode_gray(bits, 128, dpi)
}

/// Encodes a gray image as G4, a pixel darker than `threshold` black.
pub(crate) fn encode_gray(gray: &GrayImage, threshold: u8, dpi: u32) -> EncodedImage {
    let width = gray.width() as usize;
    encode_rows(gray.width(), gray.height(), threshold, dpi, |y, row| {
        row.copy_from_slice(&gray.as_raw()[y * width..(y + 1) * width])
    })
}

/// Encodes a page given row by row as luma (`fill(y, row)` writes row `y`), a pixel darker than
/// `threshold` black: no page-sized gray or bilevel copy is made.
pub(crate) fn encode_rows(
    width: u32,
    height: u32,
    threshold: u8,
    dpi: u32,
    mut fill: impl FnMut(usize, &mut [u8]),
) -> EncodedImage {
    let mut encoder = Encoder::new(VecWriter::with_capacity(width as usize * height as usize / 16));
    let mut row = vec![255u8; width as usize];
    for y in 0..height as usize {
        fill(y, &mut row);
        let pels = row.iter().map(|&v| if v < threshold { Color::Black } else { Color::White });
        // VecWriter never fails.
        let _ = encoder.encode_line(pels, width);
    }
    let bytes = match encoder.finish() {
        Ok(writer) => writer.finish(),
        Err(never) => match never {},
    };
    EncodedImage { encoding: Encoding::G4, bytes, width, height, dpi }
}

/// Decodes G4 data into a gray image (black 0, white 255).
pub(crate) fn decode(image: &EncodedImage) -> Result<GrayImage, PipelineError> {
    super::raster::check_size(image.width, image.height)?;
    let (width, height) = (image.width, image.height);
    let mut data = vec![255u8; width as usize * height as usize];
    let mut rows = data.chunks_exact_mut(width as usize);
    let mut bad_transition = false;
    let decoded = decoder::decode_g4(image.bytes.iter().copied(), width, Some(height), |transitions| {
        let Some(row) = rows.next() else { return };
        // Transitions alternate white→black, black→white, … from the start of the row.
        let mut start = None;
        for &at in transitions {
            let at = at.min(width) as usize;
            match start.take() {
                None => start = Some(at),
                Some(from) => {
                    if from > at {
                        bad_transition = true;
                    } else {
                        row[from..at].fill(0);
                    }
                }
            }
        }
        if let Some(from) = start {
            row[from..].fill(0);
        }
    });
    if decoded.is_none() || bad_transition {
        return Err(PipelineError::Decode { encoding: "g4", reason: "invalid CCITT G4 data".into() });
    }
    GrayImage::from_raw(width, height, data)
        .ok_or(PipelineError::Decode { encoding: "g4", reason: "size mismatch".into() })
}
