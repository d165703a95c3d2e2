//! The IPP exchanges this driver makes, over the `ipp` crate's blocking client (HTTP/1.1 by `ureq`).
//!
//! Owns the four operations — Get-Printer-Attributes, Print-Job, Get-Job-Attributes, Cancel-Job —
//! their deadlines, and the mapping of transport failures and IPP status codes to [`DriverError`].
//! It decides nothing about what a state means (that is [`crate::status`]) and never waits between
//! requests (that is [`crate::printer`]).
//!
//! Every request has a whole-request deadline (connect, send, answer), so a printer that stops
//! answering cannot hold the device's thread. Each request opens its own connection: the `ipp`
//! crate makes one HTTP agent per request, and a printer between polls may close idle connections.

use std::io::{self, Cursor};
use std::time::Duration;

use counter_agent_driver_api::{DriverError, PrintDocument};
use ipp::model::{DelimiterTag, StatusCode};
use ipp::prelude::{IppClient, IppError, IppOperationBuilder, IppPayload, IppRequestResponse, IppValue};

use crate::spec::Target;
use crate::status::{JobReport, JobState, PrinterReport, PrinterState, PDF};
use crate::Timing;

/// `requesting-user-name` on every request; printer queues show it as the job's owner.
const USER_NAME: &str = "counter-agent";
/// Longest `job-name` IPP takes (`name(MAX)`, RFC 8011 §5.1.3), in bytes.
const MAX_NAME_BYTES: usize = 255;
/// Printer attributes the driver reads.
const PRINTER_ATTRIBUTES: [&str; 4] =
    ["printer-state", "printer-state-reasons", "printer-is-accepting-jobs", "document-format-supported"];

/// What the printer said to a Print-Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Submitted {
    /// Accepted as this job.
    Job(i32),
    /// Busy with something else (`server-error-busy` and the like): nothing was queued, ask again.
    Busy,
}

/// One printer's IPP endpoint.
pub(crate) struct Client {
    target: Target,
    timing: Timing,
}

impl Client {
    pub fn new(target: Target, timing: Timing) -> Client {
        Client { target, timing }
    }

    pub fn place(&self) -> &str {
        &self.target.place
    }

    /// Get-Printer-Attributes.
    pub fn printer(&self) -> Result<PrinterReport, DriverError> {
        let operation = IppOperationBuilder::get_printer_attributes(self.target.uri.clone())
            .attributes(PRINTER_ATTRIBUTES)
            .build()
            .map_err(|error| self.unexpected("Get-Printer-Attributes", error))?;
        let response = self.send("Get-Printer-Attributes", operation, self.timing.request)?;
        let status = response.header().status_code();
        if !status.is_success() {
            return Err(match status {
                StatusCode::ClientErrorNotFound | StatusCode::ClientErrorGone => self.no_printer_here(),
                other => self.refused("Get-Printer-Attributes", other),
            });
        }
        let value = |name| attribute(&response, DelimiterTag::PrinterAttributes, name);
        let state = value("printer-state").and_then(integer).map(PrinterState::from_ipp).ok_or_else(|| {
            DriverError::Protocol { detail: format!("{} answered without printer-state", self.target.place) }
        })?;
        Ok(PrinterReport {
            state,
            reasons: keywords(value("printer-state-reasons")),
            accepting_jobs: !matches!(value("printer-is-accepting-jobs"), Some(IppValue::Boolean(false))),
            formats: keywords(value("document-format-supported")),
        })
    }

    /// Print-Job with the PDF bytes.
    pub fn submit(&self, document: &PrintDocument) -> Result<Submitted, DriverError> {
        let payload = IppPayload::new(Cursor::new(document.bytes.clone()));
        let operation = IppOperationBuilder::print_job(self.target.uri.clone(), payload)
            .user_name(USER_NAME)
            .job_title(job_name(&document.job_name))
            .document_format(PDF)
            .build()
            .map_err(|error| self.unexpected("Print-Job", error))?;
        // The request deadline, plus the time to upload the document at the slowest rate expected.
        let upload = Duration::from_secs_f64(document.bytes.len() as f64 / self.timing.upload_rate.max(1) as f64);
        let response = self.send("Print-Job", operation, self.timing.request + upload)?;
        let status = response.header().status_code();
        if !status.is_success() {
            return match status {
                StatusCode::ServerErrorBusy
                | StatusCode::ServerErrorServiceUnavailable
                | StatusCode::ServerErrorTemporaryError => Ok(Submitted::Busy),
                StatusCode::ServerErrorNotAcceptingJobs => {
                    Err(DriverError::Fault { reason: counter_agent_driver_api::StatusReason::Offline })
                }
                StatusCode::ClientErrorDocumentFormatNotSupported
                | StatusCode::ClientErrorAttributesOrValuesNotSupported => Err(DriverError::Unsupported {
                    what: format!(
                        "PDF on {}: the printer refused it ({status}) — use a CUPS queue for this printer, which \
                         converts PDF (ipp://localhost:631/printers/NAME)",
                        self.target.place
                    ),
                }),
                StatusCode::ClientErrorRequestEntityTooLong => Err(DriverError::Unsupported {
                    what: format!(
                        "a document of {} bytes on {}: the printer says it is too large",
                        document.bytes.len(),
                        self.target.place
                    ),
                }),
                StatusCode::ClientErrorNotFound | StatusCode::ClientErrorGone => Err(self.no_printer_here()),
                other => Err(self.refused("Print-Job", other)),
            };
        }
        let job_id = attribute(&response, DelimiterTag::JobAttributes, "job-id").and_then(integer);
        job_id.map(Submitted::Job).ok_or_else(|| DriverError::Protocol {
            detail: format!("{} accepted the job without a job-id", self.target.place),
        })
    }

    /// Get-Job-Attributes; `None` when the printer no longer knows the job.
    pub fn job(&self, job_id: i32) -> Result<Option<JobReport>, DriverError> {
        let operation = IppOperationBuilder::get_job_attributes(self.target.uri.clone(), job_id)
            .user_name(USER_NAME)
            .build()
            .map_err(|error| self.unexpected("Get-Job-Attributes", error))?;
        let response = self.send("Get-Job-Attributes", operation, self.timing.request)?;
        let status = response.header().status_code();
        match status {
            status if status.is_success() => {}
            StatusCode::ClientErrorNotFound | StatusCode::ClientErrorGone | StatusCode::ClientErrorNotPossible => {
                return Ok(None);
            }
            other => return Err(self.refused("Get-Job-Attributes", other)),
        }
        let value = |name| attribute(&response, DelimiterTag::JobAttributes, name);
        let state =
            value("job-state").and_then(integer).map(JobState::from_ipp).ok_or_else(|| DriverError::Protocol {
                detail: format!("{} answered without job-state for job {job_id}", self.target.place),
            })?;
        Ok(Some(JobReport { state, reasons: keywords(value("job-state-reasons")) }))
    }

    /// Cancel-Job, as far as the printer lets it; the outcome is not needed.
    pub fn cancel(&self, job_id: i32) {
        let Ok(operation) =
            IppOperationBuilder::cancel_job(self.target.uri.clone(), job_id).user_name(USER_NAME).build()
        else {
            return;
        };
        let _ = self.send("Cancel-Job", operation, self.timing.request);
    }

    fn send(
        &self,
        operation: &str,
        request: impl Into<IppRequestResponse>,
        timeout: Duration,
    ) -> Result<IppRequestResponse, DriverError> {
        let builder = IppClient::builder(self.target.uri.clone()).request_timeout(timeout);
        // ureq's default TLS provider is rustls, which this crate does not build in.
        #[cfg(feature = "tls")]
        let builder = builder.tls_backend(ipp::client::TlsBackend::Native);
        builder.build().send(request).map_err(|error| self.transport(operation, timeout, error))
    }

    fn no_printer_here(&self) -> DriverError {
        DriverError::NotFound {
            detail: format!(
                "{} has no printer at this path — CUPS queues are /printers/NAME (see `lpstat -v`), IPP Everywhere \
                 printers usually /ipp/print",
                self.target.place
            ),
        }
    }

    fn refused(&self, operation: &str, status: StatusCode) -> DriverError {
        match status {
            StatusCode::ClientErrorForbidden
            | StatusCode::ClientErrorNotAuthenticated
            | StatusCode::ClientErrorNotAuthorized => DriverError::Unsupported {
                what: format!(
                    "{operation} on {}: the printer asks for a login ({status}), which this driver does not give — \
                     allow printing without authentication for this PC",
                    self.target.place
                ),
            },
            _ => DriverError::Protocol {
                detail: format!("{operation} on {}: the printer answered {status}", self.target.place),
            },
        }
    }

    fn unexpected(&self, operation: &str, error: impl std::fmt::Display) -> DriverError {
        DriverError::Protocol { detail: format!("{operation} for {} cannot be built: {error}", self.target.place) }
    }

    /// A request that got no IPP answer.
    fn transport(&self, operation: &str, timeout: Duration, error: IppError) -> DriverError {
        let place = &self.target.place;
        let gone = |why: String| DriverError::NotFound { detail: format!("{place}: {why}") };
        match error {
            IppError::ClientError(ureq::Error::Io(error)) | IppError::IoError(error) => io_error(place, error),
            IppError::ParseError(ipp::parser::IppParseError::IoError(error)) => io_error(place, error),
            IppError::ClientError(ureq::Error::HostNotFound) => {
                gone("the host name does not resolve — check the name or use the printer's IP address".into())
            }
            IppError::ClientError(ureq::Error::ConnectionFailed) => {
                gone("cannot connect (printer off, unplugged or wrong address?)".into())
            }
            IppError::ClientError(ureq::Error::Timeout(_)) => gone(format!(
                "no answer to {operation} within {} ms (printer off, asleep or unreachable?)",
                timeout.as_millis()
            )),
            IppError::ClientError(ureq::Error::StatusCode(404)) => self.no_printer_here(),
            IppError::ClientError(ureq::Error::StatusCode(code @ (401 | 403))) => DriverError::Unsupported {
                what: format!(
                    "{operation} on {place}: HTTP {code}, the printer asks for a login this driver does not give — \
                     allow printing without authentication for this PC"
                ),
            },
            IppError::ClientError(ureq::Error::StatusCode(426)) => DriverError::Unsupported {
                what: format!(
                    "{operation} on {place}: the server requires encryption — write ipps:// instead of ipp://"
                ),
            },
            IppError::ClientError(ureq::Error::StatusCode(code)) => {
                DriverError::Protocol { detail: format!("{operation} on {place}: HTTP status {code}") }
            }
            IppError::ClientError(error @ (ureq::Error::Tls(_) | ureq::Error::TlsRequired)) => tls_error(place, error),
            #[cfg(feature = "tls")]
            IppError::ClientError(error @ (ureq::Error::NativeTls(_) | ureq::Error::Der(_) | ureq::Error::Pem(_))) => {
                tls_error(place, error)
            }
            other => DriverError::Protocol { detail: format!("{operation} on {place}: {other}") },
        }
    }
}

fn io_error(place: &str, error: io::Error) -> DriverError {
    use io::ErrorKind::*;
    match error.kind() {
        ConnectionRefused => DriverError::NotFound {
            detail: format!("{place}: connection refused (printer off, or no IPP service on this port)"),
        },
        HostUnreachable | NetworkUnreachable | AddrNotAvailable | NotConnected => {
            DriverError::NotFound { detail: format!("{place}: unreachable ({error})") }
        }
        TimedOut | WouldBlock => DriverError::NotFound { detail: format!("{place}: no answer ({error})") },
        _ => DriverError::Io(error),
    }
}

fn tls_error(place: &str, error: ureq::Error) -> DriverError {
    DriverError::Protocol {
        detail: format!(
            "{place}: TLS failed ({error}) — printers often use a certificate this PC does not trust: install it in \
             the system's certificate store, or write ipp:// on a trusted network"
        ),
    }
}

/// `name` cut to what IPP takes, on a character boundary.
fn job_name(name: &str) -> &str {
    if name.len() <= MAX_NAME_BYTES {
        return name;
    }
    let mut end = MAX_NAME_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

fn attribute<'a>(response: &'a IppRequestResponse, tag: DelimiterTag, name: &str) -> Option<&'a IppValue> {
    response.attributes().groups_of(tag).find_map(|group| group.get(name)).map(|attribute| attribute.value())
}

fn integer(value: &IppValue) -> Option<i32> {
    match value {
        IppValue::Integer(n) | IppValue::Enum(n) => Some(*n),
        _ => None,
    }
}

/// The values of a keyword (or MIME type) attribute, one or a set, without `none`.
fn keywords(value: Option<&IppValue>) -> Vec<String> {
    value.into_iter().flatten().map(|value| value.to_string()).filter(|keyword| keyword != "none").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_cut_on_a_character_boundary() {
        assert_eq!(job_name("counter-agent 42"), "counter-agent 42");
        let long = "Biên nhận hồ sơ ".repeat(30);
        let cut = job_name(&long);
        assert!(cut.len() <= MAX_NAME_BYTES && cut.len() >= MAX_NAME_BYTES - 3, "{}", cut.len());
        assert!(long.starts_with(cut));
    }

    #[test]
    fn keyword_sets_read_as_lists() {
        let set = IppValue::Array(vec![
            IppValue::Keyword("media-empty-error".try_into().expect("a keyword")),
            IppValue::Keyword("media-needed-warning".try_into().expect("a keyword")),
        ]);
        assert_eq!(keywords(Some(&set)), ["media-empty-error", "media-needed-warning"]);
        let none = IppValue::Keyword("none".try_into().expect("a keyword"));
        assert_eq!(keywords(Some(&none)), Vec::<String>::new());
        let format = IppValue::MimeMediaType("application/pdf".try_into().expect("a MIME type"));
        assert_eq!(keywords(Some(&format)), ["application/pdf"]);
        assert_eq!(keywords(None), Vec::<String>::new());
    }
}
