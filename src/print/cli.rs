//! `counter-agent print`: one document or template through the same [`PrintService`] the daemon
//! uses, followed on its event bus until it is on paper (or failed). Knows nothing of HTTP; `main`
//! builds the service.

use std::time::Duration;

use counter_agent_driver_api::StatusReason;
use tokio::sync::broadcast::error::RecvError;

use super::{JobState, PrintError, PrintJob, PrintService, SubmitPrint, SubmitTemplate};
use crate::events::EventBody;

/// The origin the command line's jobs belong to (no browser can send it: it is not a URL).
pub const CLI_ORIGIN: &str = "counter-agent print";

/// What to print.
#[derive(Debug)]
pub enum CliDocument {
    Print(SubmitPrint),
    Template(SubmitTemplate),
}

#[derive(Debug, thiserror::Error)]
pub enum CliPrintError {
    #[error(transparent)]
    Print(#[from] PrintError),
    #[error("the job failed: {0}")]
    Failed(String),
    #[error("the job was cancelled")]
    Cancelled,
    #[error("stopped by Ctrl-C; the job was {0}")]
    Interrupted(&'static str),
}

/// A reason code with its Vietnamese text when it is a device reason.
fn describe(reason: &str) -> String {
    match StatusReason::from_code(reason) {
        Some(status) => format!("{reason} — {}", status.message_vi()),
        None => reason.to_string(),
    }
}

/// Submits the job, tells what happens to it on stderr (waiting for paper and the like) and
/// returns once it is printed. Ctrl-C cancels a job that has not started printing.
pub async fn print(service: &PrintService, document: CliDocument) -> Result<PrintJob, CliPrintError> {
    let mut events = service.inner.events.subscribe();
    let (job, _) = match document {
        CliDocument::Print(request) => service.submit(CLI_ORIGIN, request)?,
        CliDocument::Template(request) => service.submit_template(CLI_ORIGIN, request)?,
    };
    eprintln!("Job {} queued on {} ({} bytes).", job.id, job.device, job.n_bytes);
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut last = (job.state, job.reason.clone());
    loop {
        // Events say when something changed; the job row is the truth.
        let current = service.get(CLI_ORIGIN, &job.id)?;
        if (current.state, current.reason.clone()) != last {
            last = (current.state, current.reason.clone());
            match (current.state, current.reason.as_deref()) {
                (JobState::Printing, _) => eprintln!("Printing…"),
                (JobState::Waiting, Some(reason)) => eprintln!("Waiting for the printer: {}", describe(reason)),
                (JobState::Waiting, None) => eprintln!("Waiting for the printer."),
                _ => {}
            }
        }
        match current.state {
            JobState::Printed => return Ok(current),
            JobState::Failed => {
                return Err(CliPrintError::Failed(current.reason.as_deref().map_or("unknown".into(), describe)))
            }
            JobState::Cancelled => return Err(CliPrintError::Cancelled),
            JobState::Queued | JobState::Printing | JobState::Waiting => {}
        }
        tokio::select! {
            _ = &mut ctrl_c => {
                return Err(match service.cancel(CLI_ORIGIN, &job.id) {
                    Ok(_) => CliPrintError::Interrupted("cancelled"),
                    Err(_) => CliPrintError::Interrupted("already printing and may still come out"),
                });
            }
            event = tokio::time::timeout(Duration::from_secs(1), events.recv()) => match event {
                Ok(Ok(event)) => {
                    if !matches!(&event.body, EventBody::PrintState { print_id, .. } if *print_id == job.id) {
                        continue;
                    }
                }
                Ok(Err(RecvError::Lagged(_))) | Err(_) => {}
                Ok(Err(RecvError::Closed)) => return Err(CliPrintError::Failed("the agent stopped".into())),
            },
        }
    }
}
