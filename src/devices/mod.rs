//! Devices: the registry of driver factories, one actor per configured device, and the cheap-clone
//! handles everything else uses.
//!
//! Invariant: a physical device is touched only by its actor thread. Drivers do blocking I/O, so each
//! actor is a plain thread; callers talk to it through a command channel and get replies on tokio
//! channels. Status is polled and pushed as events; a device that disappears is reported offline and
//! reopened by the next poll that finds it.

mod actor;
pub mod discover;
mod registry;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use counter_agent_driver_api::{
    CancelToken, Connection, DeviceKind, DeviceSettings, DeviceStatus, DriverError, DriverFactory, PrintDocument,
    RawPage, ScanProgress, ScanRequest, StatusReason,
};
use tokio::sync::{mpsc, oneshot, watch};

pub use registry::Registry;

/// Static facts about a configured device.
#[derive(Debug, Clone)]
pub struct DeviceInfo {
    pub id: String,
    pub kind: DeviceKind,
    pub profile_id: String,
    pub display_name: String,
    pub connection: Connection,
    pub settings: DeviceSettings,
}

/// Why a device operation did not run.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error("device `{id}` is a {kind}, not a {wanted}")]
    WrongKind { id: String, kind: DeviceKind, wanted: DeviceKind },
    #[error("device `{id}` is busy with another scan batch")]
    Busy { id: String },
    #[error("device `{id}` has no scan batch to continue")]
    NoBatch { id: String },
    #[error("the actor of device `{id}` has stopped")]
    ActorGone { id: String },
}

/// What a running scan batch reports, in order.
#[derive(Debug)]
pub enum ScanUpdate {
    /// The page being scanned is this far along (advisory; may be dropped when the reader lags).
    Progress(ScanProgress),
    Page(RawPage),
    /// A fault stopped the batch; it stays open and can be continued once the fault is cleared.
    Paused(DriverError),
    /// The feeder is empty (or the flatbed page is done); the batch is closed.
    Finished,
    /// The batch ended with an error and is closed.
    Failed(DriverError),
    Cancelled,
}

/// Scan updates waiting for the session: one raw A4 colour page at 300 dpi is 26 MB, so the scanner
/// may run at most this many pages ahead of the page processing (which keeps up at ADF speeds).
const SCAN_UPDATES_BUFFERED: usize = 1;

/// Called by actors when a device's status changes.
pub type StatusListener = Arc<dyn Fn(&DeviceInfo, DeviceStatus) + Send + Sync>;

pub(crate) enum Command {
    Print {
        document: PrintDocument,
        cancel: CancelToken,
        /// `Some(reason)` when the printer stops mid-job, `None` when it goes on.
        stalls: mpsc::UnboundedSender<Option<StatusReason>>,
        reply: oneshot::Sender<Result<(), DriverError>>,
    },
    ScanStart {
        request: ScanRequest,
        cancel: CancelToken,
        updates: mpsc::Sender<ScanUpdate>,
    },
    ScanContinue {
        cancel: CancelToken,
        updates: mpsc::Sender<ScanUpdate>,
    },
    ScanEnd,
    Shutdown,
}

/// Cheap-clone handle to one device's actor.
#[derive(Clone)]
pub struct DeviceHandle {
    shared: Arc<Shared>,
}

struct Shared {
    info: DeviceInfo,
    status: watch::Receiver<DeviceStatus>,
    commands: std::sync::mpsc::Sender<Command>,
}

impl DeviceHandle {
    pub fn info(&self) -> &DeviceInfo {
        &self.shared.info
    }

    pub fn status(&self) -> DeviceStatus {
        *self.shared.status.borrow()
    }

    /// A receiver that wakes on every status change.
    pub fn watch_status(&self) -> watch::Receiver<DeviceStatus> {
        self.shared.status.clone()
    }

    fn send(&self, command: Command) -> Result<(), DeviceError> {
        self.shared.commands.send(command).map_err(|_| DeviceError::ActorGone { id: self.shared.info.id.clone() })
    }

    fn expect_kind(&self, wanted: DeviceKind) -> Result<(), DeviceError> {
        let info = &self.shared.info;
        if info.kind == wanted {
            Ok(())
        } else {
            Err(DeviceError::WrongKind { id: info.id.clone(), kind: info.kind, wanted })
        }
    }

    /// Prints a whole document; resolves when the device has accepted it or failed. Until then,
    /// `stalls` hears when the printer stops mid-job (`Some(reason)`, the job is held) and goes on
    /// (`None`); `cancel` gives up a held job.
    pub async fn print(
        &self,
        document: PrintDocument,
        cancel: CancelToken,
        stalls: mpsc::UnboundedSender<Option<StatusReason>>,
    ) -> Result<(), DeviceError> {
        self.expect_kind(DeviceKind::Printer)?;
        let (reply, answer) = oneshot::channel();
        self.send(Command::Print { document, cancel, stalls, reply })?;
        let result = answer.await.map_err(|_| DeviceError::ActorGone { id: self.shared.info.id.clone() })?;
        Ok(result?)
    }

    /// Starts a scan batch; pages and the outcome arrive on the returned channel.
    pub fn start_scan(
        &self,
        request: ScanRequest,
        cancel: CancelToken,
    ) -> Result<mpsc::Receiver<ScanUpdate>, DeviceError> {
        self.expect_kind(DeviceKind::Scanner)?;
        let (updates, receiver) = mpsc::channel(SCAN_UPDATES_BUFFERED);
        self.send(Command::ScanStart { request, cancel, updates })?;
        Ok(receiver)
    }

    /// Continues a paused batch (after a jam was cleared).
    pub fn continue_scan(&self, cancel: CancelToken) -> Result<mpsc::Receiver<ScanUpdate>, DeviceError> {
        self.expect_kind(DeviceKind::Scanner)?;
        let (updates, receiver) = mpsc::channel(SCAN_UPDATES_BUFFERED);
        self.send(Command::ScanContinue { cancel, updates })?;
        Ok(receiver)
    }

    /// Closes a paused batch. Harmless when none is open.
    pub fn end_scan(&self) {
        let _ = self.send(Command::ScanEnd);
    }
}

/// All configured devices, in station-file order.
#[derive(Clone, Default)]
pub struct Devices {
    by_id: Arc<BTreeMap<String, DeviceHandle>>,
    order: Arc<Vec<String>>,
}

impl Devices {
    /// Starts one actor per device. Devices whose scheme has no factory never reach here: the
    /// station file's validation refuses them.
    pub fn start(
        registry: &Registry,
        infos: Vec<DeviceInfo>,
        poll_interval: Duration,
        listener: StatusListener,
    ) -> Result<Devices, DeviceStartError> {
        let mut by_id = BTreeMap::new();
        let mut order = Vec::new();
        for info in infos {
            let factory: Arc<dyn DriverFactory> = registry
                .factory_for(info.connection.scheme())
                .ok_or_else(|| DeviceStartError::NoDriver { id: info.id.clone(), scheme: info.connection.scheme() })?;
            order.push(info.id.clone());
            let handle = actor::spawn(info, factory, poll_interval, listener.clone())?;
            by_id.insert(handle.info().id.clone(), handle);
        }
        Ok(Devices { by_id: Arc::new(by_id), order: Arc::new(order) })
    }

    pub fn get(&self, id: &str) -> Option<&DeviceHandle> {
        self.by_id.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &DeviceHandle> {
        self.order.iter().filter_map(|id| self.by_id.get(id))
    }

    /// Asks every actor to stop after its current operation.
    pub fn shutdown(&self) {
        for handle in self.by_id.values() {
            let _ = handle.send(Command::Shutdown);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceStartError {
    #[error("device `{id}`: no driver for `{scheme}:` connections in this build")]
    NoDriver { id: String, scheme: &'static str },
    #[error("cannot start the thread for device `{id}`")]
    Thread { id: String, source: std::io::Error },
}
