//! Scan sessions: start a batch on a scanner, run each page through the pipeline and keep it on
//! disk as it arrives, pause on a jam and continue, let the clerk reorder, rotate and delete pages,
//! assemble the document (fitted under a size limit), delete everything when the clerk is done or
//! the session's time-to-live has passed.
//!
//! Page content never reaches a log line or an event; events carry indexes, classes and sizes only.
//! Knows nothing of HTTP.

pub mod cli;
pub mod pipeline;
mod session;

pub use session::{
    thumbnail_url, PageView, ScanError, ScanService, ScanState, ScanView, StartScan, DEFAULT_RETENTION, MAX_PAGES,
    PAUSED_IDLE, THUMBNAIL_SIDE,
};
