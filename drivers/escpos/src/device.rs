//! The ESC/POS driver family: `tcp://host:9100`, `serial:/dev/ttyUSB0?baud=…&flow=…` and
//! `file:/dev/usb/lpN` printers.
//!
//! Jobs reach the printer as the daemon gives them (raw ESC/POS from a client, or a template the
//! daemon rendered with [`crate::Encoder`]): they are never re-encoded. The driver only adds
//! commands around them: `GS a` to turn on Automatic Status Back for profiles that use it, and
//! `GS r 1` after the job as a "printed" barrier where the profile says the printer answers status.
//!
//! Before a job the printer is asked for its status (`DLE EOT`) where the profile says it answers:
//! a printer out of paper or with its cover open gets nothing, and the daemon keeps the job
//! waiting. A printer that runs out of paper mid-job keeps its connection; the job is held
//! ([`counter_agent_driver_api::PrintWatch`]) until the printer reads again, up to [`STALL_LIMIT`].

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use counter_agent_driver_api::{
    Connection, Device, DeviceKind, DeviceSettings, DeviceStatus, Discovered, DocumentFormat, DriverError,
    DriverFactory, EscposStatus, OpenSpec, PrintDocument, PrintWatch, Printer, PrinterSettings, StatusReason,
};

use crate::encoder::automatic_status_back;
use crate::serial::{self, SerialError, SerialLink};
use crate::status::{Paper, Status};
use crate::tcp::{self, Deadlines, StallEvent, TcpError};

/// How long a half-sent job is held for a printer that stopped mid-job (paper out, cover open)
/// before it fails as `interrupted` — never resent, since its first part is already on paper.
pub const STALL_LIMIT: Duration = Duration::from_secs(15 * 60);

/// A printer that reads nothing for this long mid-job (without saying why) is reported stopped.
const STALL_REPORT: Duration = Duration::from_secs(3);

/// `GS a` mask: drawer, online/offline, errors, roll paper sensor.
const ASB_ALL: u8 = 0x0F;
const BARRIER: [u8; 3] = [0x1D, b'r', 1];

/// Opens `tcp:`, `serial:` and `file:` ESC/POS printers.
#[derive(Debug, Default)]
pub struct EscposFactory {
    deadlines: Deadlines,
}

impl EscposFactory {
    pub fn new() -> EscposFactory {
        EscposFactory::default()
    }

    /// A factory with other deadlines (tests use short ones).
    pub fn with_deadlines(deadlines: Deadlines) -> EscposFactory {
        EscposFactory { deadlines }
    }
}

fn printer_settings(spec: &OpenSpec) -> Result<&PrinterSettings, String> {
    match &spec.settings {
        DeviceSettings::Printer(settings) if settings.formats.contains(&DocumentFormat::EscPos) => {
            if settings.printable_dots == 0 {
                Err("the profile gives no printable_dots — ESC/POS printers need their printable width in dots, e.g. printable_dots = 576".into())
            } else {
                Ok(settings)
            }
        }
        DeviceSettings::Printer(_) => Err(
            "the profile's formats has no \"escpos\" — use a thermal printer profile such as escpos-generic-80mm with tcp: or file: connections".into(),
        ),
        DeviceSettings::Scanner(_) => {
            Err("this connection is an ESC/POS printer, not a scanner — use a printer profile".into())
        }
    }
}

impl DriverFactory for EscposFactory {
    fn name(&self) -> &'static str {
        "escpos"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["tcp", "serial", "file"]
    }

    fn discover(&self) -> Vec<Discovered> {
        // USB printers bound to the kernel's usblp driver appear as /dev/usb/lpN.
        let Ok(entries) = std::fs::read_dir("/dev/usb") else { return Vec::new() };
        let mut found: Vec<Discovered> = entries
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("lp"))
            .map(|entry| Discovered {
                kind: Some(DeviceKind::Printer),
                connection: format!("file:{}", entry.path().display()),
                description: "USB printer (usblp)".into(),
            })
            .collect();
        found.sort_by(|a, b| a.connection.cmp(&b.connection));
        found
    }

    fn check(&self, spec: &OpenSpec) -> Vec<String> {
        match printer_settings(spec) {
            Ok(_) => Vec::new(),
            Err(problem) => vec![problem],
        }
    }

    fn open(&self, spec: &OpenSpec) -> Result<Box<dyn Device>, DriverError> {
        let settings = printer_settings(spec).map_err(|what| DriverError::Unsupported { what })?.clone();
        let link = match &spec.connection {
            Connection::Tcp { host, port } => {
                let host = if host.contains(':') { format!("[{host}]") } else { host.clone() };
                Link::Tcp { address: format!("{host}:{port}") }
            }
            Connection::File { path } => Link::File { path: PathBuf::from(path) },
            Connection::Serial { port, baud, flow } => Link::Serial(SerialLink::new(port.clone(), *baud, *flow)),
            other => return Err(DriverError::Unsupported { what: format!("ESC/POS over {}:", other.scheme()) }),
        };
        let mut printer = EscposPrinter { link, settings, deadlines: self.deadlines };
        // Opening proves the printer is there; `NotFound` makes the daemon try again later.
        printer.status()?;
        Ok(Box::new(printer))
    }
}

enum Link {
    Tcp { address: String },
    Serial(SerialLink),
    File { path: PathBuf },
}

struct EscposPrinter {
    link: Link,
    settings: PrinterSettings,
    deadlines: Deadlines,
}

/// The device status a printer's own status report means.
pub fn device_status(status: &Status) -> DeviceStatus {
    if status.paper == Paper::End {
        DeviceStatus::error(StatusReason::PaperOut)
    } else if status.cover_open {
        DeviceStatus::error(StatusReason::CoverOpen)
    } else if status.cutter_error || status.unrecoverable {
        DeviceStatus::error(StatusReason::CutterError)
    } else if status.offline {
        DeviceStatus::offline(StatusReason::Offline)
    } else if status.paper == Paper::NearEnd {
        DeviceStatus::ready_with(StatusReason::PaperNearEnd)
    } else {
        DeviceStatus::READY
    }
}

/// Before a job: a printer that says it cannot print gets nothing, and the daemon keeps the job
/// waiting. No answer is not a reason to hold the job.
fn refuse_if_stopped(status: Option<Status>) -> Result<(), DriverError> {
    match status.filter(Status::stops_printing).and_then(|status| device_status(&status).reason) {
        Some(reason) => Err(DriverError::Fault { reason }),
        None => Ok(()),
    }
}

fn tcp_error(error: TcpError) -> DriverError {
    match error {
        TcpError::Resolve { .. } | TcpError::Connect { .. } => DriverError::NotFound { detail: error.to_string() },
        TcpError::Stalled { .. } => DriverError::Fault { reason: StatusReason::Offline },
        TcpError::Broken { source, .. } => DriverError::Io(source),
    }
}

fn serial_error(error: SerialError) -> DriverError {
    match error {
        SerialError::NotFound { .. }
        | SerialError::PermissionDenied { .. }
        | SerialError::Busy { .. }
        | SerialError::Open { .. } => DriverError::NotFound { detail: error.to_string() },
        // Nothing left the port: waiting and sending again is safe.
        SerialError::Stalled { sent: 0, .. } => DriverError::Fault { reason: StatusReason::Offline },
        SerialError::Broken { sent: 0, source, .. } => DriverError::Io(source),
        // Part of the job may be on paper: never sent again.
        SerialError::Stalled { .. } | SerialError::Broken { .. } => {
            DriverError::Protocol { detail: format!("interrupted: {error}") }
        }
    }
}

fn file_error(path: &std::path::Path, error: std::io::Error) -> DriverError {
    match error.kind() {
        std::io::ErrorKind::NotFound => {
            DriverError::NotFound { detail: format!("{} does not exist (printer unplugged or off?)", path.display()) }
        }
        std::io::ErrorKind::PermissionDenied => DriverError::NotFound {
            detail: format!(
                "permission denied on {} — add the agent's user to the `lp` group (sudo usermod -aG lp USER) or install a udev rule giving it access",
                path.display()
            ),
        },
        _ => DriverError::Io(error),
    }
}

impl EscposPrinter {
    fn asks_status(&self) -> bool {
        self.settings.escpos.status != EscposStatus::None
    }

    /// The job's bytes with the driver's additions around them: `GS a` for ASB profiles, and the
    /// `GS r 1` barrier where the link can read its answer.
    fn wire_bytes(&self, job: &[u8], barrier: bool) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(job.len() + 6);
        if self.settings.escpos.status == EscposStatus::Asb {
            bytes.extend_from_slice(&automatic_status_back(ASB_ALL));
        }
        bytes.extend_from_slice(job);
        if barrier {
            bytes.extend_from_slice(&BARRIER);
        }
        bytes
    }

    fn print_tcp(&self, address: &str, job: &[u8], watch: &mut PrintWatch<'_>) -> Result<(), DriverError> {
        if self.asks_status() {
            refuse_if_stopped(tcp::query_status(address, self.deadlines).map_err(tcp_error)?)?;
        }
        let bytes = self.wire_bytes(job, self.asks_status());
        let mut held = false;
        let mut on_stall = |event: StallEvent| match event {
            StallEvent::Stalled { sent, status, stalled_for } => {
                let reason = status.filter(Status::stops_printing).and_then(|s| device_status(&s).reason);
                if sent == 0 && reason.is_none() {
                    // Nothing taken yet: give up after the write deadline; resending is safe.
                    return stalled_for < self.deadlines.write;
                }
                // A printer printing a long job slowly also pauses reading: only a pause this long
                // (or the printer's own word) means it stopped.
                if reason.is_some() || stalled_for >= STALL_REPORT {
                    held = true;
                    (watch.stalled)(Some(reason.unwrap_or(StatusReason::Offline)));
                }
                !watch.cancel.is_cancelled() && stalled_for < STALL_LIMIT
            }
            StallEvent::Resumed => {
                if held {
                    held = false;
                    (watch.stalled)(None);
                }
                true
            }
        };
        match tcp::send_watched(address, &bytes, self.deadlines, self.asks_status(), &mut on_stall) {
            Ok(_) => Ok(()),
            // Untouched job: wait and resend is safe.
            Err(TcpError::Stalled { sent: 0, .. }) => Err(DriverError::Fault { reason: StatusReason::Offline }),
            // Part of it may be on paper: never resend.
            Err(TcpError::Stalled { sent, total, .. }) => Err(DriverError::Protocol {
                detail: format!("interrupted: the printer stopped after {sent} of {total} bytes and did not resume"),
            }),
            Err(TcpError::Broken { sent: 0, source, .. }) => Err(DriverError::Io(source)),
            Err(TcpError::Broken { sent, total, .. }) => Err(DriverError::Protocol {
                detail: format!("interrupted: the connection broke after {sent} of {total} bytes"),
            }),
            Err(error) => Err(tcp_error(error)),
        }
    }

    fn print_serial(&self, link: &SerialLink, job: &[u8]) -> Result<(), DriverError> {
        if self.asks_status() {
            refuse_if_stopped(serial::query_status(link, self.deadlines).map_err(serial_error)?)?;
        }
        // A serial line has no connection to keep: a stall mid-job fails it as interrupted.
        serial::send(link, &self.wire_bytes(job, false), self.deadlines).map_err(serial_error)?;
        Ok(())
    }

    fn print_file(&self, path: &std::path::Path, job: &[u8]) -> Result<(), DriverError> {
        let mut file = std::fs::OpenOptions::new().write(true).open(path).map_err(|error| file_error(path, error))?;
        // The usblp driver takes data as fast as the printer does; no barrier over this link.
        let bytes = self.wire_bytes(job, false);
        file.write_all(&bytes).and_then(|()| file.flush()).map_err(DriverError::Io)
    }
}

impl Device for EscposPrinter {
    fn kind(&self) -> DeviceKind {
        DeviceKind::Printer
    }

    fn status(&mut self) -> Result<DeviceStatus, DriverError> {
        match &self.link {
            Link::Tcp { address } => {
                if !self.asks_status() {
                    // Connecting proves it is there; that is all such a printer tells.
                    tcp::query_connect(address, self.deadlines).map_err(tcp_error)?;
                    return Ok(DeviceStatus::READY);
                }
                match tcp::query_status(address, self.deadlines).map_err(tcp_error)? {
                    Some(status) => Ok(device_status(&status)),
                    None => Ok(DeviceStatus::ready_with(StatusReason::StatusUnknown)),
                }
            }
            Link::Serial(link) => {
                if !self.asks_status() {
                    return Ok(DeviceStatus::READY);
                }
                match serial::query_status(link, self.deadlines).map_err(serial_error)? {
                    Some(status) => Ok(device_status(&status)),
                    None => Ok(DeviceStatus::ready_with(StatusReason::StatusUnknown)),
                }
            }
            Link::File { path } => {
                std::fs::OpenOptions::new().write(true).open(path).map_err(|error| file_error(path, error))?;
                Ok(DeviceStatus::READY)
            }
        }
    }

    fn as_printer(&mut self) -> Option<&mut dyn Printer> {
        Some(self)
    }
}

impl Printer for EscposPrinter {
    fn print(&mut self, document: &PrintDocument) -> Result<(), DriverError> {
        let cancel = counter_agent_driver_api::CancelToken::new();
        self.print_watched(document, &mut PrintWatch { cancel: &cancel, stalled: &mut |_| {} })
    }

    fn print_watched(&mut self, document: &PrintDocument, watch: &mut PrintWatch<'_>) -> Result<(), DriverError> {
        if document.format != DocumentFormat::EscPos {
            return Err(DriverError::Unsupported {
                what: format!(
                    "{} documents on an ESC/POS printer ({} dots wide) — send ESC/POS or a template",
                    document.format.as_str(),
                    self.settings.printable_dots
                ),
            });
        }
        match &self.link {
            Link::Tcp { address } => self.print_tcp(address, &document.bytes, watch),
            Link::Serial(link) => self.print_serial(link, &document.bytes),
            Link::File { path } => self.print_file(path, &document.bytes),
        }
    }
}
