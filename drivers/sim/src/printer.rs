//! The simulated printers: an A4 page printer that takes PDF, and 80 mm / 58 mm receipt printers
//! that take ESC/POS.
//!
//! What a printer receives is kept under `output_root/<device id>/` as `NNNN.pdf` or
//! `NNNN.escpos` (bytes as received) plus `NNNN.png`, the ESC/POS preview. Numbering continues
//! after a restart. Files are written under a temporary name and renamed, so a reader never sees
//! half a document. Validating PDFs is the daemon's job: they are kept as they come.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use counter_agent_driver_api::{Device, DeviceKind, DeviceStatus, DocumentFormat, DriverError, PrintDocument, Printer};

use crate::control::{PrintedRecord, SimControl};
use crate::error::{output_io, unsupported};
use crate::escpos_preview::render_preview;

/// The printer models the simulator offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrinterModel {
    A4,
    Receipt80,
    Receipt58,
}

impl PrinterModel {
    pub fn kind_name(self) -> &'static str {
        match self {
            PrinterModel::A4 => "printer-a4",
            PrinterModel::Receipt80 => "printer-80mm",
            PrinterModel::Receipt58 => "printer-58mm",
        }
    }

    pub fn accepts(self) -> DocumentFormat {
        match self {
            PrinterModel::A4 => DocumentFormat::Pdf,
            PrinterModel::Receipt80 | PrinterModel::Receipt58 => DocumentFormat::EscPos,
        }
    }

    /// Printable width in dots at 203 dpi, for receipt printers.
    pub fn width_dots(self) -> Option<u32> {
        match self {
            PrinterModel::A4 => None,
            PrinterModel::Receipt80 => Some(576),
            PrinterModel::Receipt58 => Some(384),
        }
    }
}

pub(crate) fn format_name(format: DocumentFormat) -> &'static str {
    match format {
        DocumentFormat::Pdf => "PDF",
        DocumentFormat::EscPos => "ESC/POS",
    }
}

fn extension(format: DocumentFormat) -> &'static str {
    match format {
        DocumentFormat::Pdf => "pdf",
        DocumentFormat::EscPos => "escpos",
    }
}

pub(crate) struct SimPrinter {
    id: String,
    control: SimControl,
    model: PrinterModel,
    folder: PathBuf,
    next_number: u32,
}

impl SimPrinter {
    /// Opens the printer's output folder (creating it) and finds where numbering resumes.
    pub(crate) fn open(
        id: String,
        control: SimControl,
        model: PrinterModel,
        folder: PathBuf,
    ) -> Result<SimPrinter, DriverError> {
        fs::create_dir_all(&folder).map_err(|e| output_io(&folder, e))?;
        let next_number = highest_number(&folder)?.saturating_add(1);
        Ok(SimPrinter { id, control, model, folder, next_number })
    }

    /// The path for `number` with `extension`, and its temporary twin.
    fn paths(&self, number: u32, extension: &str) -> (PathBuf, PathBuf) {
        let name = format!("{number:04}.{extension}");
        (self.folder.join(&name), self.folder.join(format!(".{name}.part")))
    }

    /// The next number not already used by a file in the folder.
    fn claim_number(&mut self, extension: &str) -> u32 {
        while self.paths(self.next_number, extension).0.exists() || self.paths(self.next_number, "png").0.exists() {
            self.next_number = self.next_number.saturating_add(1);
        }
        let number = self.next_number;
        self.next_number = self.next_number.saturating_add(1);
        number
    }
}

/// The highest `NNNN` among files named `NNNN.*` in `folder` (0 when there are none).
fn highest_number(folder: &Path) -> Result<u32, DriverError> {
    let mut highest = 0;
    for entry in fs::read_dir(folder).map_err(|e| output_io(folder, e))? {
        let entry = entry.map_err(|e| output_io(folder, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stem = name.split('.').next().unwrap_or("");
        if !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()) {
            highest = highest.max(stem.parse::<u32>().unwrap_or(u32::MAX));
        }
    }
    Ok(highest)
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
fn write_atomically(path: &Path, temporary: &Path, bytes: &[u8]) -> Result<(), DriverError> {
    fs::write(temporary, bytes).map_err(|e| output_io(temporary, e))?;
    fs::rename(temporary, path).map_err(|e| output_io(path, e))
}

/// The ESC/POS preview as PNG bytes, or why there is none.
fn preview_png(bytes: &[u8], width_dots: u32) -> Result<Vec<u8>, String> {
    let preview = render_preview(bytes, width_dots).map_err(|e| e.to_string())?;
    let mut png = Cursor::new(Vec::new());
    preview.image.write_to(&mut png, image::ImageFormat::Png).map_err(|e| format!("cannot encode the preview: {e}"))?;
    Ok(png.into_inner())
}

impl Device for SimPrinter {
    fn kind(&self) -> DeviceKind {
        DeviceKind::Printer
    }

    fn status(&mut self) -> Result<DeviceStatus, DriverError> {
        self.control.check_present(&self.id)?;
        Ok(self.control.with(&self.id, |d| d.status()))
    }

    fn as_printer(&mut self) -> Option<&mut dyn Printer> {
        Some(self)
    }
}

impl Printer for SimPrinter {
    fn print(&mut self, document: &PrintDocument) -> Result<(), DriverError> {
        self.control.check_present(&self.id)?;
        if let Some(reason) = self.control.with(&self.id, |d| d.fault).filter(|r| !r.is_warning()) {
            return Err(DriverError::Fault { reason });
        }
        let accepted = self.model.accepts();
        if document.format != accepted {
            return Err(unsupported(format!(
                "{} documents on {} (it accepts {} only)",
                format_name(document.format),
                self.model.kind_name(),
                format_name(accepted)
            )));
        }
        let extension = extension(document.format);
        let number = self.claim_number(extension);
        let (path, temporary) = self.paths(number, extension);
        write_atomically(&path, &temporary, &document.bytes)?;

        let (mut preview, mut preview_error) = (None, None);
        if let Some(width) = self.model.width_dots() {
            match preview_png(&document.bytes, width) {
                Ok(png) => {
                    let (png_path, png_temporary) = self.paths(number, "png");
                    write_atomically(&png_path, &png_temporary, &png)?;
                    preview = Some(png_path);
                }
                Err(error) => preview_error = Some(error),
            }
        }
        let record =
            PrintedRecord { format: document.format, n_bytes: document.bytes.len(), path, preview, preview_error };
        self.control.with(&self.id, |d| d.printed.push(record));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_number_ignores_other_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["0003.pdf", "0012.escpos", "0012.png", "notes.txt", "12a.pdf", ".0099.pdf.part"] {
            fs::write(dir.path().join(name), b"x").expect("write");
        }
        assert_eq!(highest_number(dir.path()).expect("readable"), 12);
    }

    #[test]
    fn empty_folder_starts_at_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let printer = SimPrinter::open("a4".into(), SimControl::default(), PrinterModel::A4, dir.path().join("a4"))
            .expect("opens");
        assert_eq!(printer.next_number, 1);
    }
}
