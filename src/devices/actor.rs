//! The device actor: one thread that owns one device, serialises every operation on it, polls its
//! status, and reopens it after it disappears.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use counter_agent_driver_api::{
    CancelToken, Device, DeviceState, DeviceStatus, DriverError, DriverFactory, OpenSpec, PageWatch, PrintWatch,
    ScanProgress, StatusReason,
};
use tokio::sync::{mpsc, watch};

use super::{Command, DeviceHandle, DeviceInfo, DeviceStartError, ScanUpdate, Shared, StatusListener};

pub(super) fn spawn(
    info: DeviceInfo,
    factory: Arc<dyn DriverFactory>,
    poll_interval: Duration,
    listener: StatusListener,
) -> Result<DeviceHandle, DeviceStartError> {
    let (status_sender, status) = watch::channel(DeviceStatus::offline(StatusReason::NotFound));
    let (commands, receiver) = std::sync::mpsc::channel();
    let spec = OpenSpec { id: info.id.clone(), connection: info.connection.clone(), settings: info.settings.clone() };
    let mut actor = Actor {
        info: info.clone(),
        spec,
        factory,
        device: None,
        batch_open: false,
        status: Arc::new(status_sender),
        listener,
        last_open_error: None,
    };
    std::thread::Builder::new()
        .name(format!("device-{}", info.id))
        .spawn(move || actor.run(receiver, poll_interval))
        .map_err(|source| DeviceStartError::Thread { id: info.id.clone(), source })?;
    Ok(DeviceHandle { shared: Arc::new(Shared { info, status, commands }) })
}

struct Actor {
    info: DeviceInfo,
    spec: OpenSpec,
    factory: Arc<dyn DriverFactory>,
    device: Option<Box<dyn Device>>,
    batch_open: bool,
    status: Arc<watch::Sender<DeviceStatus>>,
    listener: StatusListener,
    last_open_error: Option<String>,
}

/// Faults after which a scan batch can go on once a person has cleared them. A device-reported
/// I/O error mid-batch (SANE's `IO_ERROR`) is one: the pages so far are kept and the clerk may
/// try again; a lost connection (`DriverError::Io`, `NotFound`) is not. So is a hot-folder file
/// that was not an image (moved aside; continuing takes the files after it).
fn is_recoverable(error: &DriverError) -> bool {
    matches!(
        error,
        DriverError::Fault {
            reason: StatusReason::Jammed
                | StatusReason::CoverOpen
                | StatusReason::PaperOut
                | StatusReason::IoError
                | StatusReason::UnreadableFile
        }
    )
}

impl Actor {
    fn run(&mut self, commands: Receiver<Command>, poll_interval: Duration) {
        self.refresh();
        loop {
            match commands.recv_timeout(poll_interval) {
                Ok(Command::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(command) => self.handle(command),
                Err(RecvTimeoutError::Timeout) => self.refresh(),
            }
        }
        if self.batch_open {
            if let Some(scanner) = self.device.as_mut().and_then(|d| d.as_scanner()) {
                scanner.end_batch();
            }
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Print { document, cancel, stalls, reply } => {
                let status = Arc::clone(&self.status);
                let listener = Arc::clone(&self.listener);
                let info = self.info.clone();
                let result = self.with_device(|device| match device.as_printer() {
                    Some(printer) => {
                        // A printer stopped mid-job: the device shows why, the job hears of it.
                        let mut stalled = |reason: Option<StatusReason>| {
                            let now = reason.map_or(DeviceStatus::BUSY, DeviceStatus::error);
                            publish_status(&status, &listener, &info, now);
                            let _ = stalls.send(reason);
                        };
                        printer.print_watched(&document, &mut PrintWatch { cancel: &cancel, stalled: &mut stalled })
                    }
                    None => Err(DriverError::Unsupported { what: "printing on this device".into() }),
                });
                let _ = reply.send(result);
                self.refresh();
            }
            Command::ScanStart { request, cancel, updates } => {
                if self.batch_open {
                    let busy = DriverError::Unsupported { what: "a second scan batch while one is open".into() };
                    let _ = updates.blocking_send(ScanUpdate::Failed(busy));
                    return;
                }
                let started = self.with_device(|device| match device.as_scanner() {
                    Some(scanner) => scanner.start_batch(&request),
                    None => Err(DriverError::Unsupported { what: "scanning on this device".into() }),
                });
                match started {
                    Ok(()) => {
                        self.batch_open = true;
                        self.scan_pages(&cancel, &updates);
                    }
                    Err(error) => {
                        let _ = updates.blocking_send(ScanUpdate::Failed(error));
                    }
                }
                self.refresh();
            }
            Command::ScanContinue { cancel, updates } => {
                if self.batch_open && self.device.is_some() {
                    self.scan_pages(&cancel, &updates);
                } else {
                    let error = DriverError::Unsupported { what: "continuing: no paused batch".into() };
                    let _ = updates.blocking_send(ScanUpdate::Failed(error));
                }
                self.refresh();
            }
            Command::ScanEnd => {
                self.end_batch();
                self.refresh();
            }
            Command::Shutdown => {}
        }
    }

    /// Pulls pages until the batch ends, pauses on a recoverable fault, or is cancelled.
    fn scan_pages(&mut self, cancel: &CancelToken, updates: &mpsc::Sender<ScanUpdate>) {
        self.set_status(DeviceStatus::BUSY);
        loop {
            if cancel.is_cancelled() {
                self.end_batch();
                let _ = updates.blocking_send(ScanUpdate::Cancelled);
                return;
            }
            let mut report = |progress: ScanProgress| {
                // Progress is advisory: a full channel drops it rather than stalling the scanner.
                let _ = updates.try_send(ScanUpdate::Progress(progress));
            };
            let mut watch = PageWatch { cancel, progress: &mut report };
            let next = match self.device.as_mut().and_then(|d| d.as_scanner()) {
                Some(scanner) => scanner.next_page_watched(&mut watch),
                None => Err(DriverError::NotFound { detail: "scanner closed".into() }),
            };
            match next {
                Ok(Some(page)) => {
                    if updates.blocking_send(ScanUpdate::Page(page)).is_err() {
                        // Nobody listens any more: the session was discarded.
                        self.end_batch();
                        return;
                    }
                }
                Ok(None) => {
                    self.end_batch();
                    let _ = updates.blocking_send(ScanUpdate::Finished);
                    return;
                }
                Err(DriverError::Cancelled) if cancel.is_cancelled() => {
                    self.end_batch();
                    let _ = updates.blocking_send(ScanUpdate::Cancelled);
                    return;
                }
                Err(error) if is_recoverable(&error) => {
                    let _ = updates.blocking_send(ScanUpdate::Paused(error));
                    return;
                }
                Err(error) => {
                    self.end_batch();
                    if matches!(error, DriverError::NotFound { .. } | DriverError::Io(_)) {
                        self.device = None;
                    }
                    let _ = updates.blocking_send(ScanUpdate::Failed(error));
                    return;
                }
            }
        }
    }

    fn end_batch(&mut self) {
        if self.batch_open {
            if let Some(scanner) = self.device.as_mut().and_then(|d| d.as_scanner()) {
                scanner.end_batch();
            }
            self.batch_open = false;
        }
    }

    /// Runs an operation on the open device (opening it first if needed), marking it busy.
    /// A device that turns out to be gone is closed so the next poll reopens it.
    fn with_device<T>(
        &mut self,
        operation: impl FnOnce(&mut dyn Device) -> Result<T, DriverError>,
    ) -> Result<T, DriverError> {
        if self.device.is_none() {
            self.open()?;
        }
        self.set_status(DeviceStatus::BUSY);
        let device = self.device.as_mut().ok_or(DriverError::NotFound { detail: "device closed".into() })?;
        let result = operation(device.as_mut());
        if let Err(DriverError::NotFound { .. } | DriverError::Io(_)) = &result {
            self.device = None;
            self.batch_open = false;
        }
        result
    }

    fn open(&mut self) -> Result<(), DriverError> {
        match self.factory.open(&self.spec) {
            Ok(device) => {
                if self.last_open_error.take().is_some() {
                    tracing::info!(message = "Device is back.", device = %self.info.id);
                }
                self.device = Some(device);
                Ok(())
            }
            Err(error) => {
                let text = error.to_string();
                if self.last_open_error.as_deref() != Some(text.as_str()) {
                    tracing::warn!(message = "Cannot open device.", device = %self.info.id, %error);
                    self.last_open_error = Some(text);
                }
                Err(error)
            }
        }
    }

    /// Polls the device (reopening it when closed) and publishes a change.
    fn refresh(&mut self) {
        if self.device.is_none() {
            if let Err(error) = self.open() {
                let reason = error.status_reason().unwrap_or(StatusReason::NotFound);
                let status = match error {
                    DriverError::NotFound { .. } => DeviceStatus::offline(reason),
                    _ => DeviceStatus::error(reason),
                };
                self.set_status(status);
                return;
            }
        }
        let polled = match self.device.as_mut() {
            Some(device) => device.status(),
            None => return,
        };
        match polled {
            // A device with an open (paused) batch is not free for anyone else.
            Ok(status) if self.batch_open && status.state == DeviceState::Ready => self.set_status(DeviceStatus::BUSY),
            Ok(status) => self.set_status(status),
            Err(error) => {
                let reason = error.status_reason().unwrap_or(StatusReason::ProtocolError);
                if matches!(error, DriverError::NotFound { .. } | DriverError::Io(_)) {
                    tracing::warn!(message = "Device disappeared.", device = %self.info.id, %error);
                    self.device = None;
                    self.batch_open = false;
                    self.set_status(DeviceStatus::offline(reason));
                } else {
                    self.set_status(DeviceStatus::error(reason));
                }
            }
        }
    }

    fn set_status(&mut self, status: DeviceStatus) {
        publish_status(&self.status, &self.listener, &self.info, status);
    }
}

/// Stores a device's status and tells the listener when it changed.
fn publish_status(
    sender: &watch::Sender<DeviceStatus>,
    listener: &StatusListener,
    info: &DeviceInfo,
    status: DeviceStatus,
) {
    let changed = sender.send_if_modified(|current| {
        if *current == status {
            false
        } else {
            *current = status;
            true
        }
    });
    if changed {
        listener(info, status);
    }
}
