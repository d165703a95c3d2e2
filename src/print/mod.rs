//! Print jobs: validated, persisted before they are acknowledged, printed strictly in order per
//! printer, waiting (not failing) while a printer is out of paper or gone, and never printed twice.
//!
//! The document bytes are written and synced to the spool folder before the job row exists; a job
//! that was `printing` when the agent stopped is marked `failed` with reason `interrupted` rather than
//! printed again. Knows nothing of HTTP.

pub mod cli;
mod job;
pub mod render;
mod worker;

pub use job::{
    format_name, JobState, PreviewDocument, PreviewRequest, PrintConfig, PrintError, PrintJob, PrintService,
    SubmitPrint, SubmitTemplate, MAX_DOCUMENT_BYTES, MAX_THERMAL_PDF_PAGES,
};
