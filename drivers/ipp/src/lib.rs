//! # counter-agent IPP page printers
//!
//! A4 printers reached over IPP: IPP Everywhere network printers and CUPS queues on the counter PC
//! (`ipp://localhost:631/printers/NAME`, where CUPS converts PDF for printers that do not take it).
//! Connection `ipp://host[:port]/path` (port 631 by default), or `ipps://` in builds with the `tls`
//! feature; schemes `ipp` and `ipps`. The daemon sends PDF only; this driver sends it untouched.
//!
//! ## A job
//!
//! 1. **Before sending**, Get-Printer-Attributes. A printer whose `document-format-supported` lacks
//!    `application/pdf` gets nothing: [`DriverError::Unsupported`] names what it accepts (PDF sent
//!    as `application/octet-stream` would come out as pages of garbage). A printer out of paper,
//!    jammed, with a door open, stopped or refusing jobs gets nothing either:
//!    [`DriverError::Fault`] with the reason, and the daemon keeps the job waiting until the
//!    device's status is ready again.
//! 2. **Print-Job** with the PDF bytes, `document-format` `application/pdf`, `job-name` from the
//!    document. A printer answering "busy" (shared by several counters) is asked again, with
//!    growing pauses, for up to [`Timing::busy`].
//! 3. **Get-Job-Attributes** until the job is final. Polls start after 10 ms and double up to
//!    1 s, so a fast printer costs milliseconds and a slow one one request a second.
//!    * `completed` → `Ok`. A printer that no longer knows the job counts as done too (some keep
//!      no history; CUPS's own IPP backend does the same).
//!    * `aborted` / `canceled` → [`DriverError::Fault`] when the job's or the printer's reasons say
//!      paper, jam, door or offline (the daemon resends once the printer is ready);
//!      [`DriverError::Cancelled`] when someone cancelled it at the printer; otherwise
//!      [`DriverError::Protocol`] listing the reasons.
//!    * Still in the printer but not moving — the printer reports paper out, a jam… while the job
//!      waits, or the job is `processing-stopped` — is a **hold**: once it has lasted
//!      [`Timing::stall_report`] it is told through
//!      [`PrintWatch::stalled`](counter_agent_driver_api::PrintWatch) (the job is in the printer:
//!      resending would print it twice), and when the printer goes on, that is told too. A hold
//!      longer than [`Timing::stall_limit`], or a job not done after [`Timing::job`] of
//!      un-held time, is cancelled at the printer and fails. Contact lost while following is a hold
//!      (reason `not_found`). The daemon's cancel flag cancels the job at the printer.
//!
//! Every request has a deadline ([`Timing::request`], plus upload time for Print-Job), so nothing
//! waits forever on a printer that stopped answering. A refused connection, an unknown host or no
//! answer is [`DriverError::NotFound`]: the device is gone, try later.
//!
//! ## Status
//!
//! `status()` is one Get-Printer-Attributes; [`status`] maps `printer-state` and
//! `printer-state-reasons` to a device status (paper out, jammed, cover open, offline; paper near
//! end as a warning that stays ready), reading the reason keywords rather than trusting their
//! severity suffixes — see that module for why.
//!
//! ## Layout
//!
//! * `lib.rs` — [`IppFactory`] and [`Timing`].
//! * `spec` — the connection and profile checked without I/O (`check` and `open` share it).
//! * `status` — pure: IPP states and reasons to device status and job endings.
//! * `client` — the IPP requests, their deadlines, and transport errors as [`DriverError`].
//! * `printer` — [`IppPrinter`]: status, and a job from preflight to completion.
//! * `examples/print_file.rs` prints a PDF and reports the time to `completed`.
//!
//! Like every driver, this crate does blocking I/O on the caller's thread and knows nothing of
//! tokio or the daemon. It is tested against a real IPP printer, CUPS's `ippeveprinter`
//! (`tests/peer/`).

mod client;
mod printer;
mod spec;
pub mod status;

use std::time::Duration;

use counter_agent_driver_api::{Device, Discovered, DriverError, DriverFactory, OpenSpec};

pub use printer::IppPrinter;
pub use spec::TLS;

/// The waits of a job and of each request. [`Timing::default`] suits office printers on a LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Whole-request deadline (connect, send, answer) for every request.
    pub request: Duration,
    /// Slowest upload rate expected, in bytes per second: Print-Job's deadline is `request` plus
    /// the document's size at this rate.
    pub upload_rate: u64,
    /// First pause after Print-Job before asking for the job's state; each pause doubles.
    pub first_poll: Duration,
    /// Longest pause between two polls (and between polls while a job is held).
    pub max_poll: Duration,
    /// How long a job may take while not held before it is cancelled and fails.
    pub job: Duration,
    /// How long a printer answering "busy" is asked again before the job waits in the daemon.
    pub busy: Duration,
    /// How long a hold must last before it is told to the daemon.
    pub stall_report: Duration,
    /// How long a hold may last before the job is cancelled and fails as interrupted.
    pub stall_limit: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            request: Duration::from_secs(10),
            upload_rate: 100_000,
            first_poll: Duration::from_millis(10),
            max_poll: Duration::from_secs(1),
            job: Duration::from_secs(10 * 60),
            busy: Duration::from_secs(2 * 60),
            stall_report: Duration::from_secs(2),
            stall_limit: Duration::from_secs(15 * 60),
        }
    }
}

/// The IPP family: schemes `ipp` and `ipps`.
#[derive(Debug, Default)]
pub struct IppFactory {
    timing: Timing,
}

impl IppFactory {
    pub fn new() -> IppFactory {
        IppFactory::default()
    }

    /// A factory whose printers wait by `timing` (tests use short limits).
    pub fn with_timing(timing: Timing) -> IppFactory {
        IppFactory { timing }
    }

    /// Opens `spec` as the concrete printer type (the daemon uses [`DriverFactory::open`]).
    pub fn open_printer(&self, spec: &OpenSpec) -> Result<IppPrinter, DriverError> {
        let target = spec::read(spec).map_err(|problems| DriverError::Unsupported {
            what: format!("device `{}`: {}", spec.id, problems.join("; ")),
        })?;
        let mut printer = IppPrinter::new(client::Client::new(target, self.timing), self.timing);
        // Opening proves the printer is there; `NotFound` makes the daemon try again later.
        counter_agent_driver_api::Device::status(&mut printer)?;
        Ok(printer)
    }
}

impl DriverFactory for IppFactory {
    fn name(&self) -> &'static str {
        "ipp"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["ipp", "ipps"]
    }

    /// IPP printers are configured, not discovered: DNS-SD browsing would need avahi, and local
    /// CUPS queues are listed by the daemon itself.
    fn discover(&self) -> Vec<Discovered> {
        Vec::new()
    }

    fn open(&self, spec: &OpenSpec) -> Result<Box<dyn Device>, DriverError> {
        Ok(Box::new(self.open_printer(spec)?))
    }

    fn check(&self, spec: &OpenSpec) -> Vec<String> {
        spec::read(spec).err().unwrap_or_default()
    }
}

#[cfg(feature = "test-peer")]
pub mod peer;
