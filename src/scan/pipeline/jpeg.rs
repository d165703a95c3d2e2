//! JPEG encode (`jpeg-encoder`: pure Rust, AVX2 when the CPU has it, 4:2:0 chroma below q90) and decode
//! (`image`, i.e. zune-jpeg).

use image::{GrayImage, RgbImage};
use jpeg_encoder::{ColorType, Density, Encoder};

use super::{EncodedImage, Encoding, PipelineError};

/// Quality of stored JPEG pages.
pub(crate) const QUALITY: u8 = 85;

fn encode(
    samples: &[u8],
    width: u32,
    height: u32,
    kind: ColorType,
    dpi: u32,
    quality: u8,
) -> Result<Vec<u8>, PipelineError> {
    let failed = |reason: String| PipelineError::Encode { format: "JPEG", reason };
    let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err(failed(format!("{width}×{height} is over JPEG's 65535-pixel side")));
    };
    let mut bytes = Vec::with_capacity(samples.len() / 8);
    let mut encoder = Encoder::new(&mut bytes, quality.clamp(1, 100));
    let dpi = u16::try_from(dpi).unwrap_or(u16::MAX);
    encoder.set_density(Density::Inch { x: dpi, y: dpi });
    encoder.encode(samples, w, h, kind).map_err(|e| failed(e.to_string()))?;
    Ok(bytes)
}

pub(crate) fn encode_gray(image: &GrayImage, dpi: u32, quality: u8) -> Result<EncodedImage, PipelineError> {
    let (width, height) = image.dimensions();
    let bytes = encode(image.as_raw(), width, height, ColorType::Luma, dpi, quality)?;
    Ok(EncodedImage { encoding: Encoding::JpegGray, bytes, width, height, dpi })
}

pub(crate) fn encode_rgb(image: &RgbImage, dpi: u32, quality: u8) -> Result<EncodedImage, PipelineError> {
    let (width, height) = image.dimensions();
    let bytes = encode(image.as_raw(), width, height, ColorType::Rgb, dpi, quality)?;
    Ok(EncodedImage { encoding: Encoding::JpegColor, bytes, width, height, dpi })
}

/// Encodes packed 8-bit samples (RGB when `rgb`, else gray).
pub(crate) fn encode_packed(
    samples: &[u8],
    width: u32,
    height: u32,
    rgb: bool,
    dpi: u32,
    quality: u8,
) -> Result<EncodedImage, PipelineError> {
    let (kind, encoding) =
        if rgb { (ColorType::Rgb, Encoding::JpegColor) } else { (ColorType::Luma, Encoding::JpegGray) };
    let bytes = encode(samples, width, height, kind, dpi, quality)?;
    Ok(EncodedImage { encoding, bytes, width, height, dpi })
}

/// Decodes a stored JPEG page; its size must match what was recorded.
pub(crate) fn decode(image: &EncodedImage) -> Result<image::DynamicImage, PipelineError> {
    let failed = |reason: String| PipelineError::Decode { encoding: image.encoding.as_str(), reason };
    super::raster::check_size(image.width, image.height)?;
    let decoded = image::load_from_memory_with_format(&image.bytes, image::ImageFormat::Jpeg)
        .map_err(|e| failed(e.to_string()))?;
    if (decoded.width(), decoded.height()) != (image.width, image.height) {
        return Err(failed(format!(
            "it is {}×{}, recorded as {}×{}",
            decoded.width(),
            decoded.height(),
            image.width,
            image.height
        )));
    }
    Ok(decoded)
}
