//! Encoded page → PNG/JPEG for downloads and thumbnails.

use image::{DynamicImage, ImageFormat};

use super::{g4, jpeg, EncodedImage, Encoding, PipelineError, Rotation, ViewFormat};

/// Decodes an encoded page to pixels (G4 → gray 0/255).
pub(crate) fn decode(image: &EncodedImage) -> Result<DynamicImage, PipelineError> {
    match image.encoding {
        Encoding::G4 => g4::decode(image).map(DynamicImage::ImageLuma8),
        Encoding::JpegGray | Encoding::JpegColor => jpeg::decode(image),
    }
}

pub(crate) fn render(
    image: &EncodedImage,
    rotation: Rotation,
    format: ViewFormat,
    max_side: Option<u32>,
) -> Result<Vec<u8>, PipelineError> {
    let mut pixels = decode(image)?;
    if let Some(max_side) = max_side {
        let max_side = max_side.max(1);
        if pixels.width().max(pixels.height()) > max_side {
            pixels = pixels.thumbnail(max_side, max_side);
        }
    }
    pixels = match rotation {
        Rotation::None => pixels,
        Rotation::Cw90 => pixels.rotate90(),
        Rotation::Cw180 => pixels.rotate180(),
        Rotation::Cw270 => pixels.rotate270(),
    };
    let failed = |e: image::ImageError| PipelineError::Encode {
        format: match format {
            ViewFormat::Jpeg => "JPEG",
            ViewFormat::Png => "PNG",
        },
        reason: e.to_string(),
    };
    match format {
        ViewFormat::Png => {
            let mut out = std::io::Cursor::new(Vec::new());
            pixels.write_to(&mut out, ImageFormat::Png).map_err(failed)?;
            Ok(out.into_inner())
        }
        ViewFormat::Jpeg => match pixels {
            DynamicImage::ImageLuma8(gray) => Ok(jpeg::encode_gray(&gray, image.dpi, jpeg::QUALITY)?.bytes),
            other => Ok(jpeg::encode_rgb(&other.to_rgb8(), image.dpi, jpeg::QUALITY)?.bytes),
        },
    }
}
