//! [`IppPrinter`]: the device, its status, and a print job from check to completion.
//!
//! A job goes: Get-Printer-Attributes (refuse early, send nothing) → Print-Job → Get-Job-Attributes
//! until the job is final. Owns the waiting between requests and the deadlines of a whole job;
//! each request's own deadline and error mapping are [`crate::client`]'s.

use std::thread;
use std::time::{Duration, Instant};

use counter_agent_driver_api::{
    CancelToken, Device, DeviceKind, DeviceStatus, DocumentFormat, DriverError, PrintDocument, PrintWatch, Printer,
    StatusReason,
};

use crate::client::{Client, Submitted};
use crate::status::{self, Ending, JobReport, JobState, PrinterReport};
use crate::Timing;

/// An IPP printer (a network printer or a CUPS queue), opened by [`crate::IppFactory`].
pub struct IppPrinter {
    client: Client,
    timing: Timing,
}

impl std::fmt::Debug for IppPrinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IppPrinter").field("place", &self.client.place()).finish()
    }
}

impl IppPrinter {
    pub(crate) fn new(client: Client, timing: Timing) -> IppPrinter {
        IppPrinter { client, timing }
    }

    /// Refuses a job the printer cannot print now, before anything is sent.
    fn preflight(&self) -> Result<(), DriverError> {
        let printer = self.client.printer()?;
        if !printer.accepts_pdf() {
            return Err(DriverError::Unsupported {
                what: format!(
                    "PDF on {}: the printer accepts only {} — use a CUPS queue for this printer, which converts PDF \
                     (ipp://localhost:631/printers/NAME), or a printer that lists application/pdf",
                    self.client.place(),
                    printer.formats.join(", ")
                ),
            });
        }
        match printer.stopping_reason() {
            Some(reason) => Err(DriverError::Fault { reason }),
            None => Ok(()),
        }
    }

    /// Print-Job, asking again while the printer says it is busy.
    fn submit(&self, document: &PrintDocument, cancel: &CancelToken) -> Result<i32, DriverError> {
        let started = Instant::now();
        let mut pause = self.timing.first_poll;
        loop {
            match self.client.submit(document)? {
                Submitted::Job(job_id) => return Ok(job_id),
                // Nothing queued: the daemon may send it again later.
                Submitted::Busy if started.elapsed() >= self.timing.busy => {
                    return Err(DriverError::Fault { reason: StatusReason::Offline });
                }
                Submitted::Busy => {}
            }
            if cancel.is_cancelled() {
                return Err(DriverError::Cancelled);
            }
            thread::sleep(pause);
            pause = (pause * 2).min(self.timing.max_poll);
        }
    }

    /// Follows `job_id` until the printer is done with it.
    fn follow(&self, job_id: i32, watch: &mut PrintWatch<'_>) -> Result<(), DriverError> {
        let mut follow = Follow::new(self.timing);
        loop {
            if watch.cancel.is_cancelled() {
                self.client.cancel(job_id);
                return Err(DriverError::Cancelled);
            }
            let job = match self.client.job(job_id) {
                // The printer forgot the job: some keep no history. CUPS's own IPP backend takes
                // this as done, and so does this driver.
                Ok(None) => return follow.finish(watch, Ok(())),
                Ok(Some(job)) => Some(job),
                Err(error @ (DriverError::NotFound { .. } | DriverError::Io(_))) => {
                    // Lost contact: held, as the job may still print; given up on at the stall limit.
                    follow.lost = Some(error);
                    None
                }
                Err(error) => return follow.finish(watch, Err(error)),
            };
            let hold = match &job {
                Some(job) if job.state == JobState::Completed => return follow.finish(watch, Ok(())),
                Some(job) if job.state.is_final() => {
                    let printer = self.client.printer().ok();
                    return follow.finish(watch, Err(ended(job, printer.as_ref())));
                }
                Some(job) => {
                    follow.lost = None;
                    self.hold_reason(job)
                }
                None => Some(StatusReason::NotFound),
            };
            if let Some(error) = follow.step(hold, watch) {
                self.client.cancel(job_id);
                return Err(error);
            }
        }
    }

    /// Why a job still in the printer is not moving, if it is not: the printer's stopping reason
    /// (paper out while the job waits, ippeveprinter's way), or the job's own stop.
    fn hold_reason(&self, job: &JobReport) -> Option<StatusReason> {
        let printer = self.client.printer().ok();
        let reason = printer.as_ref().and_then(PrinterReport::stopping_reason);
        let job_stopped = matches!(job.state, JobState::ProcessingStopped | JobState::PendingHeld);
        let job_reason = status::stopping_reason(job.reasons.iter().map(String::as_str));
        reason.or(job_reason).or(job_stopped.then_some(StatusReason::Offline))
    }
}

/// How a job the printer gave up on ends for the daemon.
fn ended(job: &JobReport, printer: Option<&PrinterReport>) -> DriverError {
    match status::ending(job, printer) {
        Ending::Fault(reason) => DriverError::Fault { reason },
        Ending::CancelledThere => DriverError::Cancelled,
        Ending::Failed(detail) => DriverError::Protocol { detail },
    }
}

/// The clock and the hold of one followed job.
struct Follow {
    timing: Timing,
    /// Time spent not held, measured against `timing.job`.
    active: Duration,
    last: Instant,
    pause: Duration,
    /// Since when, and why, the job has not been moving.
    hold: Option<(Instant, StatusReason)>,
    /// The reason last told through `PrintWatch::stalled`.
    told: Option<StatusReason>,
    /// Why the printer did not answer the last poll.
    lost: Option<DriverError>,
}

impl Follow {
    fn new(timing: Timing) -> Follow {
        Follow {
            timing,
            active: Duration::ZERO,
            last: Instant::now(),
            pause: timing.first_poll,
            hold: None,
            told: None,
            lost: None,
        }
    }

    /// Records one poll's finding and sleeps until the next; an error ends the job (the caller
    /// cancels it at the printer).
    fn step(&mut self, hold: Option<StatusReason>, watch: &mut PrintWatch<'_>) -> Option<DriverError> {
        let now = Instant::now();
        match (hold, self.hold) {
            (None, _) => {
                self.active += now - self.last;
                self.hold = None;
                if self.told.take().is_some() {
                    (watch.stalled)(None);
                }
            }
            (Some(reason), Some((since, _))) => self.hold = Some((since, reason)),
            (Some(reason), None) => self.hold = Some((now, reason)),
        }
        self.last = now;
        if let Some((since, reason)) = self.hold {
            let held_for = now - since;
            // A hold is told only once it lasts: a job that fails at once (aborted for paper out)
            // is better resent than reported as stopped half-way.
            if held_for >= self.timing.stall_report && self.told != Some(reason) {
                self.told = Some(reason);
                (watch.stalled)(Some(reason));
            }
            if held_for >= self.timing.stall_limit {
                let why = match self.lost.take() {
                    Some(error) => format!("lost contact with the printer ({error})"),
                    None => format!("the printer stayed stopped ({reason})"),
                };
                return Some(DriverError::Protocol {
                    detail: format!("interrupted: {why} for {} s; the job was cancelled", held_for.as_secs()),
                });
            }
        } else if self.active >= self.timing.job {
            return Some(DriverError::Protocol {
                detail: format!(
                    "the printer did not finish the job within {} s; the job was cancelled",
                    self.timing.job.as_secs()
                ),
            });
        }
        let pause = if self.hold.is_some() { self.timing.max_poll } else { self.pause };
        thread::sleep(pause);
        self.pause = (self.pause * 2).min(self.timing.max_poll);
        None
    }

    /// Ends the job, telling the daemon the printer goes on if it was told it had stopped.
    fn finish(&mut self, watch: &mut PrintWatch<'_>, result: Result<(), DriverError>) -> Result<(), DriverError> {
        if self.told.take().is_some() && result.is_ok() {
            (watch.stalled)(None);
        }
        result
    }
}

impl Device for IppPrinter {
    fn kind(&self) -> DeviceKind {
        DeviceKind::Printer
    }

    fn status(&mut self) -> Result<DeviceStatus, DriverError> {
        Ok(self.client.printer()?.device_status())
    }

    fn as_printer(&mut self) -> Option<&mut dyn Printer> {
        Some(self)
    }
}

impl Printer for IppPrinter {
    fn print(&mut self, document: &PrintDocument) -> Result<(), DriverError> {
        let cancel = CancelToken::new();
        self.print_watched(document, &mut PrintWatch { cancel: &cancel, stalled: &mut |_| {} })
    }

    fn print_watched(&mut self, document: &PrintDocument, watch: &mut PrintWatch<'_>) -> Result<(), DriverError> {
        if document.format != DocumentFormat::Pdf {
            return Err(DriverError::Unsupported {
                what: format!("{} documents on an IPP page printer — send PDF", document.format.as_str()),
            });
        }
        if watch.cancel.is_cancelled() {
            return Err(DriverError::Cancelled);
        }
        self.preflight()?;
        let job_id = self.submit(document, watch.cancel)?;
        self.follow(job_id, watch)
    }
}
