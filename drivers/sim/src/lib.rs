//! # counter-agent built-in simulators
//!
//! Simulated devices are a product feature: `counter-agent serve --demo` runs on them and so do the
//! tests. They implement the traits of `counter-agent-driver-api` exactly as a real driver does,
//! behind connection strings `sim:<kind>[?options]`:
//!
//! | kind | device | options |
//! | --- | --- | --- |
//! | `scanner` | flatbed + feeder (simplex, duplex), demo document of 4 A4 pages | `pages=N` sheets in the feeder (default 4), `jam_at=N` |
//! | `printer-a4` | page printer, PDF only | `paper=out\|near-end\|ok` |
//! | `printer-80mm` | receipt printer, ESC/POS only, 576 dots at 203 dpi | `paper=…` |
//! | `printer-58mm` | receipt printer, ESC/POS only, 384 dots at 203 dpi | `paper=…` |
//!
//! The profile must suit the kind: a scanner profile on `sim:scanner`, a PDF profile on
//! `sim:printer-a4`, an ESC/POS profile no wider than the paper on the receipt printers.
//! [`SimFactory`]'s `check` reports every problem of a spec without opening anything, and `open`
//! refuses the same specs.
//!
//! Faults are injected at run time through [`SimControl`] (see [`SimFactory::control`]).
//!
//! # Layout
//!
//! * `lib.rs` — [`SimFactory`]: discovery, checking and opening.
//! * `spec` — what a `sim:` connection asks for (kind, options), checked against the profile; the
//!   one reader behind both `check` and `open`.
//! * `control` — [`SimControl`], the shared fault panel, and [`PrintedRecord`].
//! * `scanner` — the simulated scanner: batches, sides, faults, pixel formats.
//! * `page_art` — what each page of the demo document looks like; `ink_marks` draws the seal and
//!   the signature, `sample_text` holds the (fictitious) Vietnamese content, `text` lays out and
//!   draws glyphs, `shapes` builds outlines, `canvas` owns the pixels.
//! * `printer` — the simulated printers and the output folder they keep.
//! * [`escpos_preview`] — a pure ESC/POS interpreter that draws receipts (also useful to tests).
//! * `error` — how the simulators' failures map onto `DriverError`.
//! * `examples/render_pages.rs` scans the demo document to PNG files and prints per-page timings;
//!   `examples/escpos_preview.rs` draws an ESC/POS file.
//!
//! Like every driver, this crate does blocking work on the caller's thread and knows nothing of
//! tokio or the daemon.

mod canvas;
mod control;
mod error;
pub mod escpos_preview;
pub mod fake_escpos;
mod ink_marks;
mod page_art;
mod printer;
mod sample_text;
mod scanner;
mod shapes;
mod spec;
mod text;

use std::path::PathBuf;

use counter_agent_driver_api::{Device, DeviceKind, DeviceSettings, Discovered, DriverError, DriverFactory, OpenSpec};

pub use control::{PrintedRecord, SimControl};

use crate::error::unsupported;
use crate::printer::SimPrinter;
use crate::scanner::SimScanner;
use crate::spec::{SimKind, SimSpec};

/// Sheets in the simulated feeder unless `pages=N` says otherwise: the 4-page demo document.
pub const DEFAULT_SHEETS: u32 = 4;
/// Most sheets the simulated feeder holds.
pub const MAX_SHEETS: u32 = 500;

/// The simulator family: scheme `sim`.
#[derive(Debug)]
pub struct SimFactory {
    output_root: PathBuf,
    control: SimControl,
}

impl SimFactory {
    /// `output_root`: folder where simulated printers keep what they receive, one subfolder per
    /// device id.
    pub fn new(output_root: PathBuf) -> SimFactory {
        SimFactory { output_root, control: SimControl::new() }
    }

    /// A cheap-clone handle tests and the demo use to inject faults at run time.
    pub fn control(&self) -> SimControl {
        self.control.clone()
    }
}

impl DriverFactory for SimFactory {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["sim"]
    }

    fn discover(&self) -> Vec<Discovered> {
        let entry = |kind, connection: &str, description: &str| Discovered {
            kind: Some(kind),
            connection: connection.to_string(),
            description: description.to_string(),
        };
        vec![
            entry(
                DeviceKind::Scanner,
                "sim:scanner",
                "Máy quét mô phỏng (mặt kính, khay nạp 1 và 2 mặt, tài liệu mẫu 4 trang) — simulated scanner",
            ),
            entry(DeviceKind::Printer, "sim:printer-a4", "Máy in A4 mô phỏng, nhận PDF — simulated A4 printer"),
            entry(
                DeviceKind::Printer,
                "sim:printer-80mm",
                "Máy in hóa đơn 80 mm mô phỏng, nhận ESC/POS — simulated 80 mm receipt printer",
            ),
            entry(
                DeviceKind::Printer,
                "sim:printer-58mm",
                "Máy in hóa đơn 58 mm mô phỏng, nhận ESC/POS — simulated 58 mm receipt printer",
            ),
        ]
    }

    fn open(&self, spec: &OpenSpec) -> Result<Box<dyn Device>, DriverError> {
        // The problems `check` reports; the first one says why the device does not open.
        let SimSpec { kind, options } = spec::read(spec).map_err(|problems| {
            unsupported(problems.into_iter().next().unwrap_or_else(|| "an invalid simulator connection".to_string()))
        })?;
        self.control.check_present(&spec.id)?;
        // Connection options describe the device as the agent first finds it.
        self.control.with(&spec.id, |device| {
            if !device.initialised {
                device.initialised = true;
                if let Some(paper) = options.paper {
                    device.fault = paper;
                }
                if let Some(page) = options.jam_at {
                    device.jams.insert(page);
                }
            }
        });
        match (kind, &spec.settings) {
            (SimKind::Scanner, DeviceSettings::Scanner(settings)) => Ok(Box::new(SimScanner::new(
                spec.id.clone(),
                self.control.clone(),
                settings.clone(),
                options.n_sheets.unwrap_or(DEFAULT_SHEETS),
            ))),
            (SimKind::Printer(model), DeviceSettings::Printer(_)) => Ok(Box::new(SimPrinter::open(
                spec.id.clone(),
                self.control.clone(),
                model,
                self.output_root.join(&spec.id),
            )?)),
            // `spec::read` refuses a profile of the other kind.
            _ => Err(unsupported("a profile of the wrong kind for this simulator")),
        }
    }

    fn check(&self, spec: &OpenSpec) -> Vec<String> {
        spec::read(spec).err().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
