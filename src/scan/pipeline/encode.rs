//! Page encoding: a raw scanner page to a JPEG the clerk can view and the PDF can embed as-is.

use counter_agent_driver_api::{PixelFormat, RawPage};
use image::codecs::jpeg::JpegEncoder;
use image::ExtendedColorType;

/// JPEG quality for stored pages.
pub const JPEG_QUALITY: u8 = 85;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageColor {
    Color,
    Gray,
}

impl PageColor {
    pub fn as_str(self) -> &'static str {
        match self {
            PageColor::Color => "color",
            PageColor::Gray => "gray",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPage {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    pub color: PageColor,
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("page is {width}×{height} but its data has {n_bytes} bytes for stride {stride}")]
    ShortData { width: u32, height: u32, stride: usize, n_bytes: usize },
    #[error("page has zero size")]
    Empty,
    #[error("JPEG encoding failed")]
    Jpeg(#[source] image::ImageError),
}

/// Tightly packed samples (no row padding), one or three bytes per pixel, 0 = black.
fn packed_samples(page: &RawPage) -> Result<(Vec<u8>, PageColor), EncodeError> {
    let (width, height) = (page.width as usize, page.height as usize);
    if width == 0 || height == 0 {
        return Err(EncodeError::Empty);
    }
    let row_bytes = match page.format {
        PixelFormat::Gray8 => width,
        PixelFormat::Rgb8 => width * 3,
        PixelFormat::Bw1 => width.div_ceil(8),
    };
    let short = || EncodeError::ShortData {
        width: page.width,
        height: page.height,
        stride: page.stride,
        n_bytes: page.data.len(),
    };
    if page.stride < row_bytes || page.data.len() < page.stride * (height - 1) + row_bytes {
        return Err(short());
    }
    let rows = (0..height).map(|y| &page.data[y * page.stride..y * page.stride + row_bytes]);
    match page.format {
        PixelFormat::Gray8 => Ok((rows.flatten().copied().collect(), PageColor::Gray)),
        PixelFormat::Rgb8 => Ok((rows.flatten().copied().collect(), PageColor::Color)),
        PixelFormat::Bw1 => {
            let mut out = Vec::with_capacity(width * height);
            for row in rows {
                // SANE lineart: bit 1 = black, most significant bit first.
                out.extend((0..width).map(|x| if row[x / 8] & (0x80 >> (x % 8)) != 0 { 0 } else { 255 }));
            }
            Ok((out, PageColor::Gray))
        }
    }
}

pub fn encode_page(page: &RawPage) -> Result<EncodedPage, EncodeError> {
    let (samples, color) = packed_samples(page)?;
    let mut jpeg = Vec::new();
    let kind = match color {
        PageColor::Color => ExtendedColorType::Rgb8,
        PageColor::Gray => ExtendedColorType::L8,
    };
    JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
        .encode(&samples, page.width, page.height, kind)
        .map_err(EncodeError::Jpeg)?;
    Ok(EncodedPage { jpeg, width: page.width, height: page.height, dpi: page.dpi, color })
}

#[cfg(test)]
mod tests {
    use super::*;
    use counter_agent_driver_api::PageSide;

    fn page(format: PixelFormat, width: u32, height: u32, stride: usize, data: Vec<u8>) -> RawPage {
        RawPage { width, height, dpi: 100, format, stride, side: PageSide::Front, data }
    }

    fn decode(jpeg: &[u8]) -> image::DynamicImage {
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).expect("valid JPEG")
    }

    #[test]
    fn bw_bit_one_is_black_and_padding_is_ignored() {
        // 16×16, left half black, stride 3 (one padding byte per row filled with garbage).
        let data: Vec<u8> = (0..16).flat_map(|_| [0xFF, 0x00, 0xAB]).collect();
        let encoded = encode_page(&page(PixelFormat::Bw1, 16, 16, 3, data)).expect("encode");
        assert_eq!(encoded.color, PageColor::Gray);
        let image = decode(&encoded.jpeg).to_luma8();
        assert!(image.get_pixel(2, 8)[0] < 40, "left is black");
        assert!(image.get_pixel(13, 8)[0] > 215, "right is white");
    }

    #[test]
    fn rgb_keeps_colour() {
        let data: Vec<u8> = (0..8 * 8).flat_map(|_| [200u8, 20, 20]).collect();
        let encoded = encode_page(&page(PixelFormat::Rgb8, 8, 8, 24, data)).expect("encode");
        let pixel = decode(&encoded.jpeg).to_rgb8().get_pixel(4, 4).0;
        assert!(pixel[0] > 150 && pixel[1] < 80 && pixel[2] < 80, "{pixel:?}");
    }

    #[test]
    fn short_data_is_an_error_not_a_panic() {
        let error = encode_page(&page(PixelFormat::Gray8, 10, 10, 10, vec![0; 95])).expect_err("short");
        assert!(matches!(error, EncodeError::ShortData { .. }));
        let error = encode_page(&page(PixelFormat::Rgb8, 10, 10, 20, vec![0; 1000])).expect_err("stride < row");
        assert!(matches!(error, EncodeError::ShortData { .. }));
        assert!(matches!(encode_page(&page(PixelFormat::Gray8, 0, 10, 0, vec![])), Err(EncodeError::Empty)));
    }
}
