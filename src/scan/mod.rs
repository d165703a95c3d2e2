//! Scan sessions: start a batch on a scanner, keep each page on disk as it arrives, pause on a jam
//! and continue, assemble the document, delete everything when the clerk is done or the session's
//! time-to-live has passed.
//!
//! Page content never reaches a log line or an event; events carry indexes and sizes only.
//! Knows nothing of HTTP.

pub mod pipeline;
mod session;

pub use session::{PageView, ScanError, ScanService, ScanState, ScanView, StartScan, MAX_PAGES, PAUSED_IDLE};
