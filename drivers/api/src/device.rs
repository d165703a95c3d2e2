//! Factory and device traits.
//!
//! A driver family registers one [`DriverFactory`] in the daemon's static registry list. The daemon
//! opens each configured device through it and hands the resulting [`Device`] to exactly one actor
//! thread, which is the only code that ever touches it.

use crate::connection::Connection;
use crate::error::DriverError;
use crate::types::{
    CancelToken, DeviceKind, DeviceSettings, DeviceStatus, PrintDocument, RawPage, ScanRequest, StatusReason,
};

/// Everything a driver needs to open one configured device.
#[derive(Debug, Clone)]
pub struct OpenSpec {
    /// The station file's device id, for messages only.
    pub id: String,
    pub connection: Connection,
    pub settings: DeviceSettings,
}

/// A device found by discovery, with the connection string to paste into the station file.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    pub kind: Option<DeviceKind>,
    pub connection: String,
    pub description: String,
}

/// One driver family: which connection schemes it serves, how to find and open its devices.
pub trait DriverFactory: Send + Sync {
    /// Short name for diagnostics, e.g. `"sim"`.
    fn name(&self) -> &'static str;
    /// Connection schemes this factory opens, e.g. `["sim"]`.
    fn schemes(&self) -> &'static [&'static str];
    /// Devices of this family that are attached now. Must not block for long.
    fn discover(&self) -> Vec<Discovered>;
    /// Opens a device. `NotFound` means "try again later"; other errors are configuration faults.
    fn open(&self, spec: &OpenSpec) -> Result<Box<dyn Device>, DriverError>;
    /// Problems with `spec` this driver sees without opening the device: no I/O, no waiting, so
    /// `counter-agent check` and start-up can refuse a station file that `open` would refuse.
    ///
    /// Each problem is one sentence that names what is wrong and says what to write instead, the
    /// two parts separated by ` — ` (as the daemon's diagnostics show them), e.g.
    /// ``"`pages=0` is not a number of sheets — write pages=N with N from 1 to 500"``.
    /// A driver whose `open` refuses a spec for a reason it can see here must report it here.
    fn check(&self, spec: &OpenSpec) -> Vec<String> {
        let _ = spec;
        Vec::new()
    }
}

/// An open device. Optional capabilities are reached through `as_*`.
pub trait Device: Send {
    fn kind(&self) -> DeviceKind;
    /// Asks the device for its live status. Errors mean the device is gone (see
    /// [`DriverError::status_reason`]).
    fn status(&mut self) -> Result<DeviceStatus, DriverError>;
    fn as_scanner(&mut self) -> Option<&mut dyn Scanner> {
        None
    }
    fn as_printer(&mut self) -> Option<&mut dyn Printer> {
        None
    }
}

/// A document scanner. One batch at a time: `start_batch`, then `next_page` until `Ok(None)`.
pub trait Scanner {
    fn start_batch(&mut self, request: &ScanRequest) -> Result<(), DriverError>;
    /// The next page, or `None` when the feeder is empty after at least one page (or the flatbed
    /// page is done). An empty feeder before the first page is `Fault { reason: FeederEmpty }`,
    /// from `start_batch` or from the first `next_page` (SANE reports it from either).
    /// A fault mid-batch leaves the batch open: the caller may call `next_page` again once the
    /// clerk has cleared it (continue after a jam).
    fn next_page(&mut self) -> Result<Option<RawPage>, DriverError>;
    /// [`Scanner::next_page`], watched: reports progress within the page and gives up when
    /// `watch.cancel` is set (returning [`DriverError::Cancelled`]). The daemon always calls this
    /// one; drivers whose pages take long to arrive (SANE, hot folders) override it.
    fn next_page_watched(&mut self, watch: &mut PageWatch<'_>) -> Result<Option<RawPage>, DriverError> {
        let _ = watch;
        self.next_page()
    }
    /// Ends the batch (also after an error). Must not block for long.
    fn end_batch(&mut self);
}

/// A printer.
pub trait Printer {
    /// Sends a whole document and returns once the device has accepted it.
    fn print(&mut self, document: &PrintDocument) -> Result<(), DriverError>;
    /// [`Printer::print`], watched: a driver that can hold a half-sent job while the printer is
    /// stopped (paper out mid-job) reports it through `watch.stalled` and goes on once the printer
    /// does, instead of failing — resending would print the first part twice. The daemon always
    /// calls this one.
    fn print_watched(&mut self, document: &PrintDocument, watch: &mut PrintWatch<'_>) -> Result<(), DriverError> {
        let _ = watch;
        self.print(document)
    }
}

/// What the daemon hands to [`Printer::print_watched`].
pub struct PrintWatch<'a> {
    /// Set when the job is cancelled; a stalled job checks it and gives up.
    pub cancel: &'a CancelToken,
    /// `Some(reason)`: the printer stopped mid-job for this reason and the job is held;
    /// `None`: it prints again. Must return quickly.
    pub stalled: &'a mut dyn FnMut(Option<StatusReason>),
}

/// How far the page being scanned has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanProgress {
    /// Image bytes received so far for this page.
    pub bytes: u64,
    /// Bytes the whole page will have, when the device knows (hand scanners do not).
    pub expected_bytes: Option<u64>,
}

/// What the daemon hands to [`Scanner::next_page_watched`].
pub struct PageWatch<'a> {
    /// Set when the clerk cancels; checked between reads.
    pub cancel: &'a CancelToken,
    /// Called with progress now and then (not for every read); must return quickly.
    pub progress: &'a mut dyn FnMut(ScanProgress),
}
