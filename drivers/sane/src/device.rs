//! The daemon side: [`SaneFactory`] opens `sane:` devices whose scans run in a `scan-worker`
//! child process, so a backend that hangs or crashes costs a killed process, not the daemon.
//!
//! This module owns the child's life: spawn per batch, a reader thread per child turning stdout
//! into [`Reply`] messages, the stall timeout, cancel (`Cancel`, then kill after
//! [`CANCEL_GRACE`]) and `end_batch` (`Quit`, then kill after [`QUIT_GRACE`]). It never calls
//! libsane itself.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use counter_agent_driver_api::{
    Device, DeviceKind, DeviceSettings, DeviceStatus, Discovered, DriverError, DriverFactory, OpenSpec, PageWatch,
    RawPage, ScanProgress, ScanRequest, Scanner, ScannerSettings, StatusReason,
};

use crate::protocol::{read_reply, write_command, Command, FailKind, Reply};
use crate::status::SaneStatus;

/// After `Cancel`, how long the worker has to confirm before it is killed.
pub const CANCEL_GRACE: Duration = Duration::from_secs(3);
/// After `Quit`, how long the worker has to exit before it is killed.
pub const QUIT_GRACE: Duration = Duration::from_millis(1500);
/// Default: a worker silent this long while a page is expected is killed.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Default: how long opening the device (libsane init + `sane_open`) may take.
pub const DEFAULT_OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// A failed open is remembered this long, so status polls do not start a process each time.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(15);

/// How to start a scan worker: the daemon passes `current_exe() scan-worker`; tests add
/// environment such as `SANE_CONFIG_DIR`.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
}

impl WorkerCommand {
    pub fn new(program: impl Into<PathBuf>, args: impl IntoIterator<Item = impl Into<OsString>>) -> WorkerCommand {
        WorkerCommand { program: program.into(), args: args.into_iter().map(Into::into).collect(), env: Vec::new() }
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> WorkerCommand {
        self.env.push((key.into(), value.into()));
        self
    }
}

#[derive(Debug)]
struct Config {
    command: WorkerCommand,
    stall_timeout: Duration,
    open_timeout: Duration,
    retry_after: Duration,
    /// Device name → when the last open failed and how.
    failures: Mutex<HashMap<String, (Instant, String, FailKind)>>,
}

/// The driver factory for `sane:` connections.
#[derive(Debug, Clone)]
pub struct SaneFactory {
    config: Arc<Config>,
}

impl SaneFactory {
    pub fn new(command: WorkerCommand) -> SaneFactory {
        SaneFactory {
            config: Arc::new(Config {
                command,
                stall_timeout: DEFAULT_STALL_TIMEOUT,
                open_timeout: DEFAULT_OPEN_TIMEOUT,
                retry_after: DEFAULT_RETRY_AFTER,
                failures: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Timeouts (tests shorten them): stall while scanning, opening, and retrying a failed open.
    pub fn with_timeouts(self, stall: Duration, open: Duration, retry_after: Duration) -> SaneFactory {
        let config = Config {
            command: self.config.command.clone(),
            stall_timeout: stall,
            open_timeout: open,
            retry_after,
            failures: Mutex::new(HashMap::new()),
        };
        SaneFactory { config: Arc::new(config) }
    }
}

fn scanner_settings(spec: &OpenSpec) -> Result<&ScannerSettings, DriverError> {
    match &spec.settings {
        DeviceSettings::Scanner(settings) => Ok(settings),
        DeviceSettings::Printer(_) => {
            Err(DriverError::Unsupported { what: format!("`{}`: a sane: connection is a scanner", spec.id) })
        }
    }
}

fn device_name(spec: &OpenSpec) -> Result<String, DriverError> {
    match &spec.connection {
        counter_agent_driver_api::Connection::Sane { device } => Ok(device.clone()),
        other => Err(DriverError::Unsupported { what: format!("connection {other} is not a sane: connection") }),
    }
}

impl DriverFactory for SaneFactory {
    fn name(&self) -> &'static str {
        "sane"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["sane"]
    }

    /// Discovery of SANE devices runs through [`crate::list_devices`] (the `devices` command
    /// calls it with its own deadline); listing here would probe USB and the network at every call.
    fn discover(&self) -> Vec<Discovered> {
        Vec::new()
    }

    fn open(&self, spec: &OpenSpec) -> Result<Box<dyn Device>, DriverError> {
        let settings = scanner_settings(spec)?.clone();
        let name = device_name(spec)?;
        let failures = || self.config.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((when, message, kind)) = failures().get(&name) {
            if when.elapsed() < self.config.retry_after {
                return Err(error_from(*kind, 0, message.clone()));
            }
        }
        // The probe: a worker opens the device and quits. Not repeated per status poll.
        let probe = Worker::spawn(&self.config, &name, &settings).and_then(|mut worker| {
            let summary = worker.opened(self.config.open_timeout);
            worker.quit();
            summary
        });
        match probe {
            Ok(summary) => {
                failures().remove(&name);
                Ok(Box::new(SaneScanner {
                    config: Arc::clone(&self.config),
                    name,
                    settings,
                    summary,
                    worker: None,
                    paused: false,
                }))
            }
            Err(error) => {
                let kind = match &error {
                    DriverError::Unsupported { .. } => FailKind::Unsupported,
                    _ => FailKind::NotFound,
                };
                failures().insert(name, (Instant::now(), error_detail(&error), kind));
                Err(error)
            }
        }
    }

    fn check(&self, spec: &OpenSpec) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(error) = scanner_settings(spec) {
            problems.push(format!("{error} — use a scanner profile for this device"));
        }
        if let Ok(name) = device_name(spec) {
            if name.trim().is_empty() {
                problems
                    .push("the SANE device name is empty — write sane:NAME as `counter-agent devices` lists it".into());
            }
        }
        if let Err(error) = crate::installed() {
            problems.push(format!("{error}"));
        }
        problems
    }
}

fn error_detail(error: &DriverError) -> String {
    match error {
        DriverError::NotFound { detail } | DriverError::Protocol { detail } => detail.clone(),
        DriverError::Unsupported { what } => what.clone(),
        other => other.to_string(),
    }
}

/// The driver error for a worker's failure report.
fn error_from(kind: FailKind, status: i32, message: String) -> DriverError {
    match kind {
        FailKind::NotFound => DriverError::NotFound { detail: message },
        FailKind::Unsupported => DriverError::Unsupported { what: message },
        FailKind::Fault => DriverError::Fault { reason: reason_for(SaneStatus(status)) },
        FailKind::Protocol => DriverError::Protocol { detail: message },
        FailKind::Io => DriverError::Io(io::Error::other(message)),
        FailKind::Cancelled => DriverError::Cancelled,
    }
}

/// The device condition a SANE status stands for.
pub fn reason_for(status: SaneStatus) -> StatusReason {
    match status {
        SaneStatus::JAMMED => StatusReason::Jammed,
        SaneStatus::NO_DOCS => StatusReason::FeederEmpty,
        SaneStatus::COVER_OPEN => StatusReason::CoverOpen,
        SaneStatus::IO_ERROR => StatusReason::IoError,
        SaneStatus::DEVICE_BUSY | SaneStatus::WARMING_UP => StatusReason::Offline,
        _ => StatusReason::ProtocolError,
    }
}

/// One running worker process.
struct Worker {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    replies: Receiver<io::Result<Option<Reply>>>,
}

impl Worker {
    fn spawn(config: &Config, device: &str, settings: &ScannerSettings) -> Result<Worker, DriverError> {
        let command = &config.command;
        let mut process = Process::new(&command.program);
        process.args(&command.args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        for (key, value) in &command.env {
            process.env(key, value);
        }
        let mut child = process.spawn().map_err(|error| {
            DriverError::Io(io::Error::new(
                error.kind(),
                format!("cannot start the scan worker {}: {error}", command.program.display()),
            ))
        })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(DriverError::Io(io::Error::other("the scan worker has no stdio pipes")));
        };
        crate::os::widen_pipe(&stdout);
        // One message ahead at most: a page can be tens of MB, and the agent must stay small.
        let (sender, replies) = mpsc::sync_channel(1);
        let reader = thread::Builder::new().name("sane-worker-reader".into()).spawn(move || {
            let mut stdout = BufReader::with_capacity(1 << 20, stdout);
            loop {
                let reply = read_reply(&mut stdout);
                let stop = !matches!(reply, Ok(Some(_)));
                if sender.send(reply).is_err() || stop {
                    break;
                }
            }
        });
        if let Err(error) = reader {
            let _ = child.kill();
            let _ = child.wait();
            return Err(DriverError::Io(error));
        }
        let mut worker = Worker { child, stdin: BufWriter::new(stdin), replies };
        worker.send(&Command::Open { device: device.to_owned(), map: settings.sane.clone() })?;
        Ok(worker)
    }

    fn send(&mut self, command: &Command) -> Result<(), DriverError> {
        write_command(&mut self.stdin, command).and_then(|()| self.stdin.flush()).map_err(|error| {
            DriverError::Io(io::Error::new(error.kind(), format!("the scan worker stopped listening: {error}")))
        })
    }

    /// The next reply within `timeout`; a dead or silent worker is an I/O error.
    fn next(&mut self, timeout: Duration) -> Result<Option<Reply>, RecvTimeoutError> {
        match self.replies.recv_timeout(timeout) {
            Ok(Ok(Some(reply))) => Ok(Some(reply)),
            Ok(Ok(None)) | Ok(Err(_)) => Err(RecvTimeoutError::Disconnected),
            Err(error) => Err(error),
        }
    }

    /// Waits for `Opened` (the summary of what the device offers).
    fn opened(&mut self, timeout: Duration) -> Result<String, DriverError> {
        match self.next(timeout) {
            Ok(Some(Reply::Opened { summary })) => Ok(summary),
            Ok(Some(Reply::Failed { kind, status, message, .. })) => Err(error_from(kind, status, message)),
            Ok(other) => Err(DriverError::Protocol { detail: format!("the scan worker answered {other:?} to open") }),
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                Err(DriverError::NotFound {
                    detail: format!(
                        "SANE did not open the scanner within {} s — a backend may be hung; it was stopped",
                        timeout.as_secs()
                    ),
                })
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.died("opening the scanner")),
        }
    }

    /// The worker ended unexpectedly: reap it and say how.
    fn died(&mut self, doing: &str) -> DriverError {
        self.kill();
        let status = self.child.wait().map(|status| status.to_string()).unwrap_or_else(|e| e.to_string());
        DriverError::Io(io::Error::other(format!("the scan worker exited while {doing} ({status})")))
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `Quit`, then a short grace, then kill. Never blocks longer than [`QUIT_GRACE`].
    fn quit(&mut self) {
        let _ = self.send(&Command::Quit);
        let deadline = Instant::now() + QUIT_GRACE;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(_) => break,
            }
        }
        self.kill();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A SANE scanner; each batch runs in its own worker process.
struct SaneScanner {
    config: Arc<Config>,
    name: String,
    settings: ScannerSettings,
    /// What the device offered when it was last opened, for messages.
    summary: String,
    worker: Option<Worker>,
    /// The worker reported a pausing fault and waits for `Continue`.
    paused: bool,
}

impl SaneScanner {
    fn effective_dpi(&self, requested: u32) -> Result<u32, DriverError> {
        let dpi = match requested {
            0 if self.settings.default_dpi > 0 => self.settings.default_dpi,
            0 => 300,
            dpi => dpi,
        };
        if self.settings.max_dpi > 0 && dpi > self.settings.max_dpi {
            return Err(DriverError::Unsupported {
                what: format!("{dpi} dpi: this scanner's profile allows up to {} dpi", self.settings.max_dpi),
            });
        }
        Ok(dpi)
    }

    fn stop_worker(&mut self) {
        if let Some(mut worker) = self.worker.take() {
            worker.quit();
        }
        self.paused = false;
    }
}

impl Device for SaneScanner {
    fn kind(&self) -> DeviceKind {
        DeviceKind::Scanner
    }

    /// What the last worker learned: no process is started per poll.
    fn status(&mut self) -> Result<DeviceStatus, DriverError> {
        Ok(if self.worker.is_some() { DeviceStatus::BUSY } else { DeviceStatus::READY })
    }

    fn as_scanner(&mut self) -> Option<&mut dyn Scanner> {
        Some(self)
    }
}

impl Scanner for SaneScanner {
    fn start_batch(&mut self, request: &ScanRequest) -> Result<(), DriverError> {
        self.stop_worker();
        if !self.settings.sources.is_empty() && !self.settings.sources.contains(&request.source) {
            let offered: Vec<&str> = self.settings.sources.iter().map(|source| source.as_str()).collect();
            return Err(DriverError::Unsupported {
                what: format!("source {}: this scanner offers {}", request.source.as_str(), offered.join(", ")),
            });
        }
        let dpi = self.effective_dpi(request.dpi)?;
        let mut worker = Worker::spawn(&self.config, &self.name, &self.settings)?;
        self.summary = worker.opened(self.config.open_timeout)?;
        worker.send(&Command::Start { source: request.source, color: request.color, dpi })?;
        match worker.next(self.config.open_timeout) {
            Ok(Some(Reply::Started { .. })) => {
                self.worker = Some(worker);
                Ok(())
            }
            Ok(Some(Reply::Failed { kind, status, message, .. })) => {
                worker.quit();
                Err(error_from(kind, status, message))
            }
            Ok(other) => {
                worker.quit();
                Err(DriverError::Protocol { detail: format!("the scan worker answered {other:?} to start") })
            }
            Err(RecvTimeoutError::Timeout) => {
                worker.kill();
                Err(DriverError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the scanner did not accept its settings in time; the scan worker was stopped",
                )))
            }
            Err(RecvTimeoutError::Disconnected) => Err(worker.died("setting the scanner up")),
        }
    }

    fn next_page(&mut self) -> Result<Option<RawPage>, DriverError> {
        let cancel = counter_agent_driver_api::CancelToken::new();
        let mut ignore = |_: ScanProgress| {};
        self.next_page_watched(&mut PageWatch { cancel: &cancel, progress: &mut ignore })
    }

    fn next_page_watched(&mut self, watch: &mut PageWatch<'_>) -> Result<Option<RawPage>, DriverError> {
        let stall = self.config.stall_timeout;
        let Some(worker) = self.worker.as_mut() else {
            return Err(DriverError::Unsupported { what: "no scan batch is open".into() });
        };
        if self.paused {
            worker.send(&Command::Continue)?;
            self.paused = false;
        }
        let mut last_heard = Instant::now();
        let mut cancel_sent: Option<Instant> = None;
        loop {
            if cancel_sent.is_none() && watch.cancel.is_cancelled() {
                // A dead stdin is fine here: the kill below follows anyway.
                let _ = worker.send(&Command::Cancel);
                cancel_sent = Some(Instant::now());
            }
            if let Some(sent) = cancel_sent {
                if sent.elapsed() >= CANCEL_GRACE {
                    worker.kill();
                    self.worker = None;
                    return Err(DriverError::Cancelled);
                }
            }
            match worker.next(Duration::from_millis(100)) {
                Ok(Some(reply)) => {
                    last_heard = Instant::now();
                    match reply {
                        Reply::Progress { bytes, expected } => {
                            (watch.progress)(ScanProgress { bytes, expected_bytes: expected });
                        }
                        Reply::Page(page) => return Ok(Some(page)),
                        Reply::BatchEnd { .. } => return Ok(None),
                        Reply::Cancelled => return Err(DriverError::Cancelled),
                        Reply::Fault { status, .. } => {
                            self.paused = true;
                            return Err(DriverError::Fault { reason: reason_for(SaneStatus(status)) });
                        }
                        Reply::Failed { kind, status, message, .. } => return Err(error_from(kind, status, message)),
                        other => {
                            let detail = format!("the scan worker sent {other:?} mid-batch");
                            worker.kill();
                            self.worker = None;
                            return Err(DriverError::Protocol { detail });
                        }
                    }
                }
                Ok(None) => {}
                Err(RecvTimeoutError::Timeout) => {
                    if last_heard.elapsed() >= stall {
                        worker.kill();
                        self.worker = None;
                        return Err(DriverError::Io(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "the scanner sent nothing for {} s; the scan worker was stopped",
                                stall.as_secs_f32()
                            ),
                        )));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let error = worker.died("scanning");
                    self.worker = None;
                    if cancel_sent.is_some() {
                        return Err(DriverError::Cancelled);
                    }
                    return Err(error);
                }
            }
        }
    }

    fn end_batch(&mut self) {
        self.stop_worker();
    }
}
