//! The audit log: one JSON line per allow/deny decision, appended by a background thread.
//! It records who (origin, token id), what (method, path without query), and the decision —
//! never tokens, tickets, codes, query strings or document content.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::mpsc;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub at_ms: i64,
    pub decision: Decision,
    /// Stable error code for denials, or the action for allows (e.g. `token_created`).
    pub reason: String,
    pub method: String,
    pub path: String,
    pub origin: Option<String>,
    pub token_id: Option<String>,
}

/// Cheap-clone handle to the audit writer.
#[derive(Clone)]
pub struct Audit {
    sender: mpsc::SyncSender<AuditRecord>,
}

impl Audit {
    /// Opens (append-only) `audit.log` in the data directory and starts the writer thread.
    pub fn open(data_dir: &Path) -> std::io::Result<Audit> {
        let file = OpenOptions::new().create(true).append(true).open(data_dir.join("audit.log"))?;
        let (sender, receiver) = mpsc::sync_channel::<AuditRecord>(4096);
        std::thread::Builder::new().name("audit-log".into()).spawn(move || {
            let mut writer = BufWriter::new(file);
            while let Ok(record) = receiver.recv() {
                let mut batch = vec![record];
                batch.extend(receiver.try_iter());
                for record in batch {
                    if let Ok(line) = serde_json::to_string(&record) {
                        let _ = writeln!(writer, "{line}");
                    }
                }
                if let Err(error) = writer.flush() {
                    tracing::error!(message = "Cannot write the audit log.", %error);
                }
            }
        })?;
        Ok(Audit { sender })
    }

    pub fn record(&self, record: AuditRecord) {
        // A full queue means the disk is stalled; dropping a line beats stalling every request.
        if self.sender.try_send(record).is_err() {
            tracing::warn!(message = "Audit log queue full; a record was dropped.");
        }
    }
}
