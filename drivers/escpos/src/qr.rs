//! QR codes drawn as dots, for printers without native QR (`GS ( k`) or where the profile does not
//! trust it.

use qrcode::{EcLevel, QrCode};

use crate::encoder::{EncodeError, QrEcc};
use crate::text::Align;
use crate::Bitmap;

/// Modules of white around the code (the QR standard's quiet zone).
pub const QUIET_MODULES: u32 = 4;

/// The code for `data`, `module` dots per module, placed on a bitmap `width` dots wide. The module
/// size shrinks (down to 2 dots) until the code and its quiet zone fit.
pub fn render(data: &[u8], module: u8, ecc: QrEcc, align: Align, width: u32) -> Result<Bitmap, EncodeError> {
    if data.is_empty() {
        return Err(EncodeError::QrEmpty);
    }
    let level = match ecc {
        QrEcc::Low => EcLevel::L,
        QrEcc::Medium => EcLevel::M,
        QrEcc::Quartile => EcLevel::Q,
        QrEcc::High => EcLevel::H,
    };
    let code = QrCode::with_error_correction_level(data, level)
        .map_err(|_| EncodeError::QrTooLong { len: data.len(), max: crate::encoder::QR_MAX_BYTES })?;
    let modules = code.width() as u32;
    let span = modules + 2 * QUIET_MODULES;
    let module = (2..=u32::from(module.max(2)))
        .rev()
        .find(|&size| span * size <= width)
        .ok_or(EncodeError::QrTooWide { modules, width })?;
    let side = span * module;
    let left = match align {
        Align::Left => 0,
        Align::Center => (width - side) / 2,
        Align::Right => width - side,
    };
    let mut bitmap = Bitmap::new(width, side);
    let colors = code.to_colors();
    for (i, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i as u32 % modules, i as u32 / modules);
        let (x0, y0) = (left + (mx + QUIET_MODULES) * module, (my + QUIET_MODULES) * module);
        for y in y0..y0 + module {
            for x in x0..x0 + module {
                bitmap.set(x, y, true);
            }
        }
    }
    Ok(bitmap)
}
