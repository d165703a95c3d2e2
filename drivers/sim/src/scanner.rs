//! The simulated document scanner: a flatbed and an automatic document feeder (simplex and
//! duplex) loaded with the demo document (see `page_art`).
//!
//! It owns batch bookkeeping and the injected conditions (unplugged, jammed, cover open, feeder
//! empty, scheduled jams); drawing is `page_art`'s job. It adds no delay: pacing is the daemon's.

use counter_agent_driver_api::{
    ColorMode, Device, DeviceKind, DeviceStatus, DriverError, PageSide, PixelFormat, RawPage, ScanRequest, ScanSource,
    Scanner, ScannerSettings, StatusReason,
};

use crate::control::SimControl;
use crate::error::unsupported;
use crate::page_art::{self, PageArt};

/// Lowest resolution the simulator produces.
pub(crate) const MIN_DPI: u32 = 50;
/// Highest resolution the simulator produces, whatever the profile says: an A4 colour page at
/// 600 dpi is already 100 MB.
pub(crate) const MAX_DPI: u32 = 600;
/// Resolution used when neither the request nor the profile gives one.
const FALLBACK_DPI: u32 = 150;

/// One batch in progress.
#[derive(Debug, Clone)]
struct Batch {
    source: ScanSource,
    color: ColorMode,
    dpi: u32,
    /// 1-based index of the next page to deliver.
    next_index: u32,
    n_pages: u32,
}

pub(crate) struct SimScanner {
    id: String,
    control: SimControl,
    settings: ScannerSettings,
    /// Sheets in the feeder at the start of every batch.
    n_sheets: u32,
    batch: Option<Batch>,
}

impl SimScanner {
    pub(crate) fn new(id: String, control: SimControl, settings: ScannerSettings, n_sheets: u32) -> SimScanner {
        SimScanner { id, control, settings, n_sheets, batch: None }
    }

    /// The resolution actually used for a request: the profile's default when none is asked for,
    /// then limited to what the profile and the simulator allow.
    fn effective_dpi(&self, requested: u32) -> u32 {
        let wanted = match (requested, self.settings.default_dpi) {
            (0, 0) => FALLBACK_DPI,
            (0, default) => default,
            (dpi, _) => dpi,
        };
        let ceiling = match self.settings.max_dpi {
            0 => MAX_DPI,
            max => max.min(MAX_DPI),
        };
        wanted.min(ceiling).max(MIN_DPI)
    }

    /// What is on the page with this 1-based index of a batch, and which side it is.
    fn page_plan(source: ScanSource, index: u32) -> (PageArt, PageSide) {
        let front = |sheet: u32| PageArt::DOCUMENT[(sheet.saturating_sub(1) % 4) as usize];
        match source {
            ScanSource::Flatbed => (PageArt::Form, PageSide::Front),
            ScanSource::Adf => (front(index), PageSide::Front),
            ScanSource::AdfDuplex if index % 2 == 1 => (front(index.div_ceil(2)), PageSide::Front),
            ScanSource::AdfDuplex => (PageArt::BackSide, PageSide::Back),
        }
    }

    /// The condition that stops scanning now, if any.
    fn blocking_fault(&self) -> Option<StatusReason> {
        self.control.with(&self.id, |d| d.fault).filter(|reason| !reason.is_warning())
    }
}

/// Draws a page and lays its pixels out as the request's colour mode asks.
fn scan_page(art: PageArt, side: PageSide, color: ColorMode, dpi: u32, seed: u64) -> RawPage {
    let canvas = page_art::render(art, dpi, seed);
    let (width, height) = (canvas.width(), canvas.height());
    let format = match color {
        ColorMode::Auto | ColorMode::Color => PixelFormat::Rgb8,
        ColorMode::Gray => PixelFormat::Gray8,
        ColorMode::Bw => PixelFormat::Bw1,
    };
    let (data, stride) = canvas.into_pixels(format);
    RawPage { width, height, dpi, format, stride, side, data }
}

impl Device for SimScanner {
    fn kind(&self) -> DeviceKind {
        DeviceKind::Scanner
    }

    fn status(&mut self) -> Result<DeviceStatus, DriverError> {
        self.control.check_present(&self.id)?;
        Ok(self.control.with(&self.id, |d| d.status()))
    }

    fn as_scanner(&mut self) -> Option<&mut dyn Scanner> {
        Some(self)
    }
}

impl Scanner for SimScanner {
    fn start_batch(&mut self, request: &ScanRequest) -> Result<(), DriverError> {
        self.control.check_present(&self.id)?;
        self.batch = None;
        let sources = &self.settings.sources;
        if !sources.is_empty() && !sources.contains(&request.source) {
            let offered: Vec<&str> = sources.iter().map(|s| s.as_str()).collect();
            return Err(unsupported(format!(
                "source `{}` on this scanner; its profile offers: {}",
                request.source.as_str(),
                offered.join(", ")
            )));
        }
        let uses_feeder = request.source != ScanSource::Flatbed;
        match self.blocking_fault() {
            Some(StatusReason::FeederEmpty) if !uses_feeder => {}
            Some(reason) => return Err(DriverError::Fault { reason }),
            None => {}
        }
        let n_pages = match request.source {
            ScanSource::Flatbed => 1,
            ScanSource::Adf => self.n_sheets,
            ScanSource::AdfDuplex => self.n_sheets.saturating_mul(2),
        };
        self.batch = Some(Batch {
            source: request.source,
            color: request.color,
            dpi: self.effective_dpi(request.dpi),
            next_index: 1,
            n_pages,
        });
        Ok(())
    }

    fn next_page(&mut self) -> Result<Option<RawPage>, DriverError> {
        self.control.check_present(&self.id)?;
        let Some(batch) = self.batch.clone() else {
            return Err(unsupported("next_page without start_batch"));
        };
        match self.blocking_fault() {
            // The feeder ran out: the batch ends after what was scanned so far.
            Some(StatusReason::FeederEmpty) if batch.source != ScanSource::Flatbed => {
                return if batch.next_index > 1 {
                    Ok(None)
                } else {
                    Err(DriverError::Fault { reason: StatusReason::FeederEmpty })
                };
            }
            Some(StatusReason::FeederEmpty) | None => {}
            Some(reason) => return Err(DriverError::Fault { reason }),
        }
        if batch.next_index > batch.n_pages {
            return Ok(None);
        }
        let index = batch.next_index;
        if self.control.with(&self.id, |d| d.jams.remove(&index)) {
            // The sheet stops in the feeder; once cleared it is scanned again.
            return Err(DriverError::Fault { reason: StatusReason::Jammed });
        }
        let (art, side) = SimScanner::page_plan(batch.source, index);
        let page = scan_page(art, side, batch.color, batch.dpi, u64::from(index));
        if let Some(open) = self.batch.as_mut() {
            open.next_index += 1;
        }
        Ok(Some(page))
    }

    fn end_batch(&mut self) {
        self.batch = None;
    }
}

#[cfg(test)]
mod tests;
