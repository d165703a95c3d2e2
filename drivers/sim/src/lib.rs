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
//! Faults are injected at run time through [`SimControl`] (see [`SimFactory::control`]).
//!
//! # Layout
//!
//! * `lib.rs` — [`SimFactory`]: connection kinds and options, discovery, opening.
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
mod ink_marks;
mod page_art;
mod printer;
mod sample_text;
mod scanner;
mod shapes;
mod text;

use std::path::PathBuf;

use counter_agent_driver_api::{
    Connection, Device, DeviceKind, DeviceSettings, Discovered, DriverError, DriverFactory, OpenSpec, StatusReason,
};

pub use control::{PrintedRecord, SimControl};

use crate::error::unsupported;
use crate::printer::{PrinterModel, SimPrinter};
use crate::scanner::SimScanner;

/// Sheets in the simulated feeder unless `pages=N` says otherwise: the 4-page demo document.
pub const DEFAULT_SHEETS: u32 = 4;
/// Most sheets the simulated feeder holds.
pub const MAX_SHEETS: u32 = 500;

const KINDS: &str = "scanner, printer-a4, printer-80mm, printer-58mm";

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

/// A `sim:` kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SimKind {
    Scanner,
    Printer(PrinterModel),
}

impl SimKind {
    fn parse(kind: &str) -> Result<SimKind, DriverError> {
        match kind {
            "scanner" => Ok(SimKind::Scanner),
            "printer-a4" => Ok(SimKind::Printer(PrinterModel::A4)),
            "printer-80mm" => Ok(SimKind::Printer(PrinterModel::Receipt80)),
            "printer-58mm" => Ok(SimKind::Printer(PrinterModel::Receipt58)),
            other => Err(unsupported(format!("simulator kind `{other}`; use one of: {KINDS}"))),
        }
    }

    fn device_kind(self) -> DeviceKind {
        match self {
            SimKind::Scanner => DeviceKind::Scanner,
            SimKind::Printer(_) => DeviceKind::Printer,
        }
    }
}

/// Options of a `sim:` connection, validated.
#[derive(Debug, Default, PartialEq, Eq)]
struct SimOptions {
    n_sheets: Option<u32>,
    jam_at: Option<u32>,
    paper: Option<Option<StatusReason>>,
}

fn parse_count(key: &str, value: &str, max: u32) -> Result<u32, DriverError> {
    match value.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(unsupported(format!("`{key}={value}`: expected a whole number from 1 to {max}"))),
    }
}

impl SimOptions {
    fn parse(kind: SimKind, options: &[(String, String)]) -> Result<SimOptions, DriverError> {
        let mut parsed = SimOptions::default();
        for (key, value) in options {
            match (kind, key.as_str()) {
                (SimKind::Scanner, "pages") => parsed.n_sheets = Some(parse_count(key, value, MAX_SHEETS)?),
                (SimKind::Scanner, "jam_at") => parsed.jam_at = Some(parse_count(key, value, 2 * MAX_SHEETS)?),
                (SimKind::Printer(_), "paper") => {
                    parsed.paper = Some(match value.as_str() {
                        "out" => Some(StatusReason::PaperOut),
                        "near-end" => Some(StatusReason::PaperNearEnd),
                        "ok" => None,
                        _ => {
                            return Err(unsupported(format!(
                                "`paper={value}`: use paper=out, paper=near-end or paper=ok"
                            )))
                        }
                    });
                }
                (SimKind::Scanner, _) => {
                    return Err(unsupported(format!("option `{key}` for sim:scanner; it accepts pages=N and jam_at=N")))
                }
                (SimKind::Printer(model), _) => {
                    return Err(unsupported(format!(
                        "option `{key}` for sim:{}; it accepts paper=out|near-end|ok",
                        model.kind_name()
                    )))
                }
            }
        }
        Ok(parsed)
    }
}

/// Device ids name output folders: keep them to one plain path component.
fn check_device_id(id: &str) -> Result<(), DriverError> {
    let plain = id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if id.is_empty() || !plain || id.starts_with('.') {
        return Err(unsupported(format!(
            "device id `{id}` for a simulator: use letters, digits, `-`, `_` and `.`, not starting with `.`"
        )));
    }
    Ok(())
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
        let Connection::Sim { kind, options } = &spec.connection else {
            return Err(unsupported(format!(
                "connection `{}` for the simulator driver; it opens sim: connections only",
                spec.connection.scheme()
            )));
        };
        let kind = SimKind::parse(kind)?;
        let options = SimOptions::parse(kind, options)?;
        if spec.settings.kind() != kind.device_kind() {
            return Err(unsupported(format!(
                "a {} profile for sim:{}; pick a {} profile for this device",
                spec.settings.kind(),
                match kind {
                    SimKind::Scanner => "scanner",
                    SimKind::Printer(model) => model.kind_name(),
                },
                kind.device_kind()
            )));
        }
        check_device_id(&spec.id)?;
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
            _ => Err(unsupported("a profile of the wrong kind for this simulator")),
        }
    }
}

#[cfg(test)]
mod tests;
