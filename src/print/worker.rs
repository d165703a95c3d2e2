//! One worker per printer: takes the oldest job, prints it, and waits while the printer cannot.

use std::time::Duration;

use counter_agent_driver_api::{DeviceState, DriverError, PrintDocument, StatusReason};
use tokio::sync::mpsc;

use super::job::{job_from_row, JobState, PrintService};
use crate::devices::DeviceError;
use crate::store::now_ms;

/// How often a waiting job re-checks its printer even without a status change.
const RETRY_EVERY: Duration = Duration::from_secs(5);
/// Shortest pause between two attempts at a waiting job, so a printer that looks ready but keeps
/// failing is not hammered.
const MIN_RETRY_PAUSE: Duration = Duration::from_millis(500);

enum Outcome {
    Printed,
    /// The printer cannot print now (paper out, gone); the job waits and is retried.
    Wait(String),
    Failed(String),
    /// Cancelled while the printer held it half-printed.
    Cancelled,
}

pub(super) async fn run(service: PrintService, device: String) {
    let Some(wake) = service.inner.wake.get(&device).cloned() else { return };
    let Some(handle) = service.inner.devices.get(&device).cloned() else { return };
    let mut status = handle.watch_status();
    loop {
        let next = match service.inner.store.print_jobs_in(&device, &["queued", "waiting"]) {
            Ok(jobs) => jobs.into_iter().next(),
            Err(error) => {
                tracing::error!(message = "Cannot read the print queue.", %device, %error);
                tokio::time::sleep(RETRY_EVERY).await;
                continue;
            }
        };
        let Some(row) = next else {
            wake.notified().await;
            continue;
        };
        if row.state == "waiting" {
            // Wait for the printer to look ready again (or a periodic retry).
            let ready = matches!(handle.status().state, DeviceState::Ready);
            if !ready {
                tokio::select! {
                    _ = status.changed() => {}
                    _ = tokio::time::sleep(RETRY_EVERY) => {}
                    _ = wake.notified() => {}
                }
                continue;
            }
        }
        let from: &[&str] = &["queued", "waiting"];
        match service.inner.store.transition_print_job(&row.id, from, "printing", None, now_ms()) {
            Ok(true) => {}
            Ok(false) => continue, // cancelled meanwhile
            Err(error) => {
                tracing::error!(message = "Cannot update a print job.", job = %row.id, %error);
                tokio::time::sleep(RETRY_EVERY).await;
                continue;
            }
        }
        let mut job = job_from_row(&row);
        job.state = JobState::Printing;
        job.reason = None;
        service.publish(&row.origin, &job);
        let outcome = match tokio::fs::read(service.spool_path(&row.id)).await {
            Ok(bytes) => {
                let document =
                    PrintDocument { format: job.format, bytes, job_name: format!("counter-agent {}", row.id) };
                let cancel = service.track(&row.id);
                let (stalls, mut stalled) = mpsc::unbounded_channel();
                let printing = handle.print(document, cancel.clone(), stalls);
                tokio::pin!(printing);
                let mut held = false;
                let result = loop {
                    tokio::select! {
                        result = &mut printing => break result,
                        Some(reason) = stalled.recv() => {
                            held = true;
                            hold(&service, &row.origin, &mut job, reason);
                        }
                    }
                };
                service.untrack(&row.id);
                match result {
                    Ok(()) => Outcome::Printed,
                    // Part of the job may be on paper: never print it again.
                    Err(_) if cancel.is_cancelled() => Outcome::Cancelled,
                    Err(_) if held => Outcome::Failed("interrupted".into()),
                    Err(DeviceError::Driver(error)) => match error {
                        DriverError::Fault { reason } => Outcome::Wait(reason.code().to_string()),
                        DriverError::NotFound { .. } | DriverError::Io(_) => {
                            Outcome::Wait(error.status_reason().map_or("offline", |r| r.code()).to_string())
                        }
                        DriverError::Unsupported { .. } => Outcome::Failed("unsupported".into()),
                        DriverError::Protocol { .. } => Outcome::Failed("protocol_error".into()),
                        DriverError::Cancelled => Outcome::Failed("cancelled".into()),
                    },
                    Err(_) => Outcome::Failed("device_unavailable".into()),
                }
            }
            Err(error) => {
                tracing::error!(message = "Spooled document is missing.", job = %row.id, %error);
                Outcome::Failed("spool_missing".into())
            }
        };
        let (state, reason) = match &outcome {
            Outcome::Printed => ("printed", None),
            Outcome::Cancelled => ("cancelled", None),
            Outcome::Wait(reason) => ("waiting", Some(reason.as_str())),
            Outcome::Failed(reason) => ("failed", Some(reason.as_str())),
        };
        if let Err(error) = service.inner.store.transition_print_job(&row.id, &["printing"], state, reason, now_ms()) {
            tracing::error!(message = "Cannot record a print job's outcome.", job = %row.id, %error);
        }
        if !matches!(outcome, Outcome::Wait(_)) {
            let _ = tokio::fs::remove_file(service.spool_path(&row.id)).await;
        }
        job.state = JobState::parse(state).unwrap_or(JobState::Failed);
        job.reason = reason.map(str::to_string);
        service.publish(&row.origin, &job);
        if let Outcome::Wait(_) = outcome {
            // Do not spin: the next loop waits for the printer to come back.
            let _ = status.borrow_and_update();
            tokio::time::sleep(MIN_RETRY_PAUSE).await;
        }
    }
}

/// The printer stopped mid-job (`Some`) or went on (`None`). The row stays `printing` (a restart
/// must not print it again) with the reason; clients see `waiting` with that reason.
fn hold(service: &PrintService, origin: &str, job: &mut super::job::PrintJob, reason: Option<StatusReason>) {
    let code = reason.map(StatusReason::code);
    if let Err(error) = service.inner.store.transition_print_job(&job.id, &["printing"], "printing", code, now_ms()) {
        tracing::error!(message = "Cannot record a held print job.", job = %job.id, %error);
    }
    job.state = if reason.is_some() { JobState::Waiting } else { JobState::Printing };
    job.reason = code.map(str::to_string);
    service.publish(origin, job);
}
