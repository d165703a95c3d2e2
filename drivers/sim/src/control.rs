//! The run-time control panel of the simulators: faults, plugging and unplugging, scheduled jams
//! and what the printers received.
//!
//! One [`SimControl`] is shared by a factory, every device it opens and whoever injects faults
//! (tests, the demo). State is keyed by the station file's device id, so it survives a device
//! being closed and reopened, exactly as a real device's condition survives the daemon's reopen.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use counter_agent_driver_api::{DeviceStatus, DocumentFormat, DriverError, StatusReason};

use crate::error::unplugged;

/// A document a simulated printer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedRecord {
    pub format: DocumentFormat,
    pub n_bytes: usize,
    /// The kept document, `output_root/<device id>/NNNN.pdf` or `NNNN.escpos`.
    pub path: PathBuf,
    /// For ESC/POS, the rendered preview `NNNN.png`; `None` for PDFs or when the bytes could not
    /// be interpreted (see `preview_error`).
    pub preview: Option<PathBuf>,
    /// Why no preview could be drawn (malformed or unsupported ESC/POS), if so.
    pub preview_error: Option<String>,
}

/// The simulated condition of one device.
#[derive(Debug, Default)]
pub(crate) struct DeviceControl {
    pub fault: Option<StatusReason>,
    pub unplugged: bool,
    /// 1-based page indices (within a batch) that jam once.
    pub jams: BTreeSet<u32>,
    pub printed: Vec<PrintedRecord>,
    /// Whether connection-string options (`paper=out`, `jam_at=N`) were applied already: they
    /// describe the device when the agent first meets it, not after every reopen.
    pub initialised: bool,
}

impl DeviceControl {
    /// Status implied by the injected condition.
    pub fn status(&self) -> DeviceStatus {
        match self.fault {
            None => DeviceStatus::READY,
            Some(reason) if reason.is_warning() => DeviceStatus::ready_with(reason),
            Some(StatusReason::Offline) => DeviceStatus::offline(StatusReason::Offline),
            Some(reason) => DeviceStatus::error(reason),
        }
    }
}

/// A cheap-clone handle to inject faults into simulated devices at run time and to read what the
/// simulated printers received. Device ids are the station file's ids.
#[derive(Clone, Default)]
pub struct SimControl {
    devices: Arc<Mutex<HashMap<String, DeviceControl>>>,
}

impl fmt::Debug for SimControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let devices = self.lock();
        let mut ids: Vec<&String> = devices.keys().collect();
        ids.sort();
        f.debug_struct("SimControl").field("devices", &ids).finish()
    }
}

impl SimControl {
    pub(crate) fn new() -> SimControl {
        SimControl::default()
    }

    /// Locks the table. A panic elsewhere while holding the lock cannot leave it half-updated in a
    /// way that matters (every update is a single assignment), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, DeviceControl>> {
        self.devices.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the device's state, creating it if needed.
    pub(crate) fn with<R>(&self, device_id: &str, f: impl FnOnce(&mut DeviceControl) -> R) -> R {
        let mut devices = self.lock();
        f(devices.entry(device_id.to_string()).or_default())
    }

    /// `Err(NotFound)` while the device is unplugged.
    pub(crate) fn check_present(&self, device_id: &str) -> Result<(), DriverError> {
        if self.with(device_id, |d| d.unplugged) {
            Err(unplugged(device_id))
        } else {
            Ok(())
        }
    }

    /// Make the device with this station-file id report a fault (`Some`) or clear it (`None`).
    ///
    /// Printers: `PaperOut`, `CoverOpen` (and any other non-warning reason) make `status()` an
    /// error and `print` fail with `Fault` without writing anything; `PaperNearEnd` is a warning
    /// (ready, still prints). Scanner: `Jammed`, `CoverOpen` fail `start_batch` and `next_page`,
    /// and a batch in progress stays open so it continues once cleared; `FeederEmpty` fails the
    /// start of a feeder batch (not a flatbed scan) and ends a feeder batch in progress.
    pub fn set_fault(&self, device_id: &str, fault: Option<StatusReason>) {
        self.with(device_id, |d| d.fault = fault);
    }

    /// Unplug (`false`) or plug back (`true`): while unplugged, `status()`, every operation and
    /// `open()` return `DriverError::NotFound`.
    pub fn set_present(&self, device_id: &str, present: bool) {
        self.with(device_id, |d| d.unplugged = !present);
    }

    /// Scanner: make the page with this 1-based index (counted across the whole batch, including
    /// pages after a continue) fail once with `Fault { Jammed }`; the same page comes on the next
    /// call. A jam stays armed until a batch reaches that page.
    pub fn jam_at_page(&self, device_id: &str, page_index: u32) {
        self.with(device_id, |d| {
            d.jams.insert(page_index);
        });
    }

    /// Printers: documents received so far by this process, oldest first.
    pub fn printed(&self, device_id: &str) -> Vec<PrintedRecord> {
        self.with(device_id, |d| d.printed.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_fault() {
        let control = SimControl::new();
        let status = |c: &SimControl| c.with("p", |d| d.status());
        assert_eq!(status(&control), DeviceStatus::READY);
        control.set_fault("p", Some(StatusReason::PaperNearEnd));
        assert_eq!(status(&control), DeviceStatus::ready_with(StatusReason::PaperNearEnd));
        control.set_fault("p", Some(StatusReason::PaperOut));
        assert_eq!(status(&control), DeviceStatus::error(StatusReason::PaperOut));
        control.set_fault("p", Some(StatusReason::Offline));
        assert_eq!(status(&control), DeviceStatus::offline(StatusReason::Offline));
        control.set_fault("p", None);
        assert_eq!(status(&control), DeviceStatus::READY);
    }

    #[test]
    fn presence_is_per_device() {
        let control = SimControl::new();
        control.set_present("a", false);
        assert!(matches!(control.check_present("a"), Err(DriverError::NotFound { .. })));
        assert!(control.check_present("b").is_ok());
        control.clone().set_present("a", true);
        assert!(control.check_present("a").is_ok(), "clones share state");
    }
}
