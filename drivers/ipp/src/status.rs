//! What a printer's and a job's IPP state mean for the agent. Pure: no I/O.
//!
//! Owns the reading of `printer-state`, `printer-state-reasons`, `printer-is-accepting-jobs`,
//! `document-format-supported`, `job-state` and `job-state-reasons` into [`DeviceStatus`] and
//! [`StatusReason`]. It must not send anything: the `client` module fetches, this module decides.
//!
//! ## Severity suffixes are not trusted for paper, jams, doors and offline
//!
//! RFC 8011 gives each reason a suffix: `-error` (stopped), `-warning`, `-report`. Printers apply
//! them unevenly: `ippeveprinter` reports an empty tray as `media-empty-report` while idle and as
//! `media-empty-warning` while a job waits for paper, though in both cases nothing can print. So the
//! keyword decides for the conditions that stop a job — paper out, jam, door open, offline — and
//! any suffix counts. Supply conditions (toner empty and the like) stop only as `-error` (or with no
//! suffix, which RFC 8011 says means error): many lasers keep printing, fainter, on a `-warning`.
//!
//! `processing` is ready: an IPP printer queues jobs itself, and a printer shared by counters is
//! often printing someone else's.

use counter_agent_driver_api::{DeviceStatus, StatusReason};

/// The document format this driver sends.
pub const PDF: &str = "application/pdf";

/// `printer-state` (RFC 8011 §5.4.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterState {
    Idle,
    Processing,
    Stopped,
    Other(i32),
}

impl PrinterState {
    pub fn from_ipp(value: i32) -> PrinterState {
        match value {
            3 => PrinterState::Idle,
            4 => PrinterState::Processing,
            5 => PrinterState::Stopped,
            other => PrinterState::Other(other),
        }
    }
}

/// `job-state` (RFC 8011 §5.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Pending,
    PendingHeld,
    Processing,
    ProcessingStopped,
    Canceled,
    Aborted,
    Completed,
    Other(i32),
}

impl JobState {
    pub fn from_ipp(value: i32) -> JobState {
        match value {
            3 => JobState::Pending,
            4 => JobState::PendingHeld,
            5 => JobState::Processing,
            6 => JobState::ProcessingStopped,
            7 => JobState::Canceled,
            8 => JobState::Aborted,
            9 => JobState::Completed,
            other => JobState::Other(other),
        }
    }

    /// Whether the printer is done with the job, one way or another.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Canceled | JobState::Aborted | JobState::Completed)
    }
}

/// What Get-Printer-Attributes told about the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterReport {
    pub state: PrinterState,
    /// `printer-state-reasons` keywords as sent, suffixes included; `none` left out.
    pub reasons: Vec<String>,
    /// `printer-is-accepting-jobs`; `true` when the printer does not say.
    pub accepting_jobs: bool,
    /// `document-format-supported`; empty when the printer does not say.
    pub formats: Vec<String>,
}

/// What Get-Job-Attributes told about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub state: JobState,
    /// `job-state-reasons` keywords, `none` left out.
    pub reasons: Vec<String>,
}

/// How a reason keyword's condition weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    /// Stops printing whatever the suffix says.
    Stops,
    /// Stops printing only as `-error` (or with no suffix).
    StopsAsError,
    /// The printer still prints.
    Warns,
}

/// The condition a reason keyword names (suffix stripped), if the agent knows it.
fn condition(base: &str) -> Option<(StatusReason, Weight)> {
    use StatusReason::*;
    use Weight::*;
    let found = match base {
        "media-empty" | "media-needed" | "input-tray-missing" => (PaperOut, Stops),
        "media-low" => (PaperNearEnd, Warns),
        "door-open" | "cover-open" | "interlock-open" => (CoverOpen, Stops),
        "offline" | "shutdown" | "paused" | "moving-to-paused" | "timed-out" | "spool-area-full" => (Offline, Stops),
        // No status reason names supplies; the printer is as good as offline while it cannot mark
        // paper. Low supplies are not shown: they have no reason of their own either.
        "toner-empty" | "marker-supply-empty" | "marker-waste-full" | "developer-empty" | "opc-life-over" => {
            (Offline, StopsAsError)
        }
        // `media-jam`, and the finisher's `bander-jam`, `binder-jam`, `stapler-jam`…
        jam if jam.ends_with("-jam") => (Jammed, Stops),
        door if door.ends_with("-door-open") || door.ends_with("-cover-open") => (CoverOpen, Stops),
        _ => return None,
    };
    Some(found)
}

/// Splits `media-empty-error` into `("media-empty", true)`: the keyword and whether it is an error
/// (`-error` or no suffix).
fn split_severity(keyword: &str) -> (&str, bool) {
    if let Some(base) = keyword.strip_suffix("-error") {
        (base, true)
    } else if let Some(base) = keyword.strip_suffix("-warning").or_else(|| keyword.strip_suffix("-report")) {
        (base, false)
    } else {
        (keyword, true)
    }
}

/// Order of importance when several reasons are present: what the clerk can fix first.
fn rank(reason: StatusReason) -> u8 {
    match reason {
        StatusReason::Jammed => 0,
        StatusReason::CoverOpen => 1,
        StatusReason::PaperOut => 2,
        StatusReason::Offline => 3,
        _ => 4,
    }
}

/// The most important condition among `keywords` that stops printing.
pub fn stopping_reason<'a>(keywords: impl IntoIterator<Item = &'a str>) -> Option<StatusReason> {
    keywords
        .into_iter()
        .filter_map(|keyword| {
            let (base, error) = split_severity(keyword);
            match condition(base)? {
                (reason, Weight::Stops) => Some(reason),
                (reason, Weight::StopsAsError) if error => Some(reason),
                _ => None,
            }
        })
        .min_by_key(|reason| rank(*reason))
}

/// A warning among `keywords` that leaves the printer ready (paper near end).
fn warning<'a>(keywords: impl IntoIterator<Item = &'a str>) -> Option<StatusReason> {
    keywords.into_iter().find_map(|keyword| match condition(split_severity(keyword).0) {
        Some((reason, Weight::Warns)) => Some(reason),
        _ => None,
    })
}

impl PrinterReport {
    /// Why a job sent now would not print, if it would not.
    pub fn stopping_reason(&self) -> Option<StatusReason> {
        stopping_reason(self.reasons.iter().map(String::as_str)).or_else(|| {
            let stopped = self.state == PrinterState::Stopped || !self.accepting_jobs;
            stopped.then_some(StatusReason::Offline)
        })
    }

    pub fn device_status(&self) -> DeviceStatus {
        match self.stopping_reason() {
            Some(StatusReason::Offline) => DeviceStatus::offline(StatusReason::Offline),
            Some(reason) => DeviceStatus::error(reason),
            None => match warning(self.reasons.iter().map(String::as_str)) {
                Some(reason) => DeviceStatus::ready_with(reason),
                None => DeviceStatus::READY,
            },
        }
    }

    /// `false` only when the printer lists its formats and PDF is not among them.
    pub fn accepts_pdf(&self) -> bool {
        self.formats.is_empty() || self.formats.iter().any(|format| format.eq_ignore_ascii_case(PDF))
    }
}

/// How a job the printer gave up on (`aborted` or `canceled`) ends for the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Paper, jam, door or offline: the daemon keeps the job waiting and resends it.
    Fault(StatusReason),
    /// Someone cancelled it at the printer or in its queue: not to be printed again.
    CancelledThere,
    /// Anything else, with the reasons to show a technician.
    Failed(String),
}

/// Why `job` was aborted or canceled, looking at the job's reasons first, then the printer's
/// (`printer`, fetched after the job ended, when it could be).
pub fn ending(job: &JobReport, printer: Option<&PrinterReport>) -> Ending {
    let printer_reasons = printer.map(|p| p.reasons.as_slice()).unwrap_or_default();
    let job_reasons = job.reasons.iter().map(String::as_str);
    if let Some(reason) = stopping_reason(job_reasons.chain(printer_reasons.iter().map(String::as_str))) {
        return Ending::Fault(reason);
    }
    let by_someone = ["job-canceled-by-user", "job-canceled-at-device", "job-canceled-by-operator"];
    if job.state == JobState::Canceled && job.reasons.iter().any(|r| by_someone.contains(&r.as_str())) {
        return Ending::CancelledThere;
    }
    let list = |reasons: &[String]| if reasons.is_empty() { "none".to_string() } else { reasons.join(", ") };
    Ending::Failed(format!(
        "the printer {} the job (job-state-reasons: {}; printer-state-reasons: {})",
        if job.state == JobState::Canceled { "canceled" } else { "aborted" },
        list(&job.reasons),
        list(printer_reasons),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use counter_agent_driver_api::DeviceState;

    fn report(state: PrinterState, reasons: &[&str]) -> PrinterReport {
        PrinterReport {
            state,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            accepting_jobs: true,
            formats: vec!["application/octet-stream".into(), PDF.into()],
        }
    }

    fn check(state: PrinterState, reasons: &[&str], expected: DeviceStatus) {
        assert_eq!(report(state, reasons).device_status(), expected, "{state:?} {reasons:?}");
    }

    #[test]
    fn printer_states_and_reasons_become_device_status() {
        use PrinterState::*;
        use StatusReason::*;
        let ready = DeviceStatus::READY;
        check(Idle, &[], ready);
        check(Processing, &[], ready);
        check(Other(42), &[], ready);
        check(Stopped, &[], DeviceStatus::offline(Offline));
        // Paper, any suffix (ippeveprinter: -report while idle, -warning while a job waits).
        for keyword in ["media-empty", "media-empty-error", "media-empty-warning", "media-empty-report"] {
            check(Idle, &[keyword], DeviceStatus::error(PaperOut));
        }
        check(Processing, &["media-needed-warning"], DeviceStatus::error(PaperOut));
        check(Idle, &["input-tray-missing-error"], DeviceStatus::error(PaperOut));
        check(Stopped, &["media-jam-error"], DeviceStatus::error(Jammed));
        check(Stopped, &["stapler-jam-error"], DeviceStatus::error(Jammed));
        check(Stopped, &["door-open-error"], DeviceStatus::error(CoverOpen));
        check(Stopped, &["cover-open"], DeviceStatus::error(CoverOpen));
        check(Stopped, &["output-tray-door-open-warning"], DeviceStatus::error(CoverOpen));
        check(Idle, &["offline-report"], DeviceStatus::offline(Offline));
        check(Stopped, &["paused"], DeviceStatus::offline(Offline));
        check(Idle, &["shutdown"], DeviceStatus::offline(Offline));
        // Warnings leave the printer ready.
        check(Idle, &["media-low-warning"], DeviceStatus::ready_with(PaperNearEnd));
        check(Idle, &["media-low-report", "toner-low-warning"], DeviceStatus::ready_with(PaperNearEnd));
        check(Idle, &["toner-low-warning", "marker-supply-low-report"], ready);
        // Supplies stop only as errors.
        check(Processing, &["toner-empty-warning"], ready);
        check(Stopped, &["toner-empty-error"], DeviceStatus::offline(Offline));
        check(Idle, &["marker-supply-empty"], DeviceStatus::offline(Offline));
        // Unknown reasons (CUPS's own among them) change nothing on a working printer.
        check(Idle, &["cups-waiting-for-job-completed", "other-warning", "connecting-to-device"], ready);
        check(Idle, &["com.example.vendor-error"], ready);
        // The most fixable condition first, whatever the order.
        check(Stopped, &["media-empty-error", "media-jam-error"], DeviceStatus::error(Jammed));
        check(Stopped, &["offline-report", "door-open-error", "media-low-warning"], DeviceStatus::error(CoverOpen));
        check(Stopped, &["paused", "media-needed"], DeviceStatus::error(PaperOut));
    }

    #[test]
    fn a_printer_refusing_jobs_is_offline() {
        let mut refusing = report(PrinterState::Idle, &[]);
        refusing.accepting_jobs = false;
        assert_eq!(refusing.device_status(), DeviceStatus::offline(StatusReason::Offline));
        assert_eq!(refusing.stopping_reason(), Some(StatusReason::Offline));
        assert_eq!(report(PrinterState::Processing, &["media-low"]).stopping_reason(), None);
        assert_eq!(report(PrinterState::Processing, &["media-low"]).device_status().state, DeviceState::Ready);
    }

    #[test]
    fn pdf_is_accepted_when_listed_or_when_the_printer_does_not_say() {
        let mut printer = report(PrinterState::Idle, &[]);
        assert!(printer.accepts_pdf());
        printer.formats = vec!["application/octet-stream".into(), "image/pwg-raster".into()];
        assert!(!printer.accepts_pdf());
        printer.formats = vec!["Application/PDF".into()];
        assert!(printer.accepts_pdf());
        printer.formats.clear();
        assert!(printer.accepts_pdf());
    }

    fn job(state: JobState, reasons: &[&str]) -> JobReport {
        JobReport { state, reasons: reasons.iter().map(|r| r.to_string()).collect() }
    }

    #[test]
    fn endings_say_what_to_do_next() {
        use JobState::*;
        let idle = |reasons: &[&str]| report(PrinterState::Idle, reasons);
        let check = |job: JobReport, printer: Option<PrinterReport>, expected: Ending| {
            assert_eq!(ending(&job, printer.as_ref()), expected, "{job:?} {printer:?}");
        };
        // ippeveprinter after a hook said `STATE: +media-empty-error` and failed.
        check(
            job(Aborted, &["aborted-by-system"]),
            Some(idle(&["media-empty-report"])),
            Ending::Fault(StatusReason::PaperOut),
        );
        check(job(Aborted, &["media-jam-error"]), None, Ending::Fault(StatusReason::Jammed));
        check(job(Canceled, &["job-canceled-at-device"]), Some(idle(&[])), Ending::CancelledThere);
        check(job(Canceled, &["job-canceled-by-user"]), None, Ending::CancelledThere);
        check(
            job(Aborted, &["aborted-by-system", "document-unprintable-error"]),
            Some(idle(&["toner-low-warning"])),
            Ending::Failed(
                "the printer aborted the job (job-state-reasons: aborted-by-system, document-unprintable-error; \
                 printer-state-reasons: toner-low-warning)"
                    .into(),
            ),
        );
        check(
            job(Canceled, &[]),
            None,
            Ending::Failed(
                "the printer canceled the job (job-state-reasons: none; printer-state-reasons: none)".into(),
            ),
        );
    }

    #[test]
    fn job_states_read_from_ipp_enums() {
        let states: Vec<JobState> = (3..=10).map(JobState::from_ipp).collect();
        assert_eq!(
            states,
            [
                JobState::Pending,
                JobState::PendingHeld,
                JobState::Processing,
                JobState::ProcessingStopped,
                JobState::Canceled,
                JobState::Aborted,
                JobState::Completed,
                JobState::Other(10),
            ]
        );
        assert!(JobState::Completed.is_final() && JobState::Aborted.is_final() && JobState::Canceled.is_final());
        assert!(!JobState::ProcessingStopped.is_final());
        assert_eq!(PrinterState::from_ipp(5), PrinterState::Stopped);
    }
}
