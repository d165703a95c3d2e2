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

/// The log is rotated at this size, keeping [`KEEP_ROTATED`] old files (about 60 MB in all).
pub const ROTATE_AT_BYTES: u64 = 10 * 1024 * 1024;
pub const KEEP_ROTATED: u32 = 5;

fn rotate(path: &Path) -> std::io::Result<std::fs::File> {
    let numbered = |n: u32| path.with_extension(format!("log.{n}"));
    let _ = std::fs::remove_file(numbered(KEEP_ROTATED));
    for n in (1..KEEP_ROTATED).rev() {
        let _ = std::fs::rename(numbered(n), numbered(n + 1));
    }
    std::fs::rename(path, numbered(1))?;
    OpenOptions::new().create(true).append(true).open(path)
}

/// Cheap-clone handle to the audit writer.
#[derive(Clone)]
pub struct Audit {
    sender: mpsc::SyncSender<AuditRecord>,
}

impl Audit {
    /// Opens (append-only) `audit.log` in the data directory and starts the writer thread.
    pub fn open(data_dir: &Path) -> std::io::Result<Audit> {
        Audit::open_rotating(data_dir, ROTATE_AT_BYTES)
    }

    /// Like [`Audit::open`], rotating when the file reaches `rotate_at` bytes: `audit.log` becomes
    /// `audit.log.1`, older ones shift up to `audit.log.{KEEP_ROTATED}`, the oldest is deleted.
    pub fn open_rotating(data_dir: &Path, rotate_at: u64) -> std::io::Result<Audit> {
        let path = data_dir.join("audit.log");
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let mut size = file.metadata()?.len();
        let (sender, receiver) = mpsc::sync_channel::<AuditRecord>(4096);
        std::thread::Builder::new().name("audit-log".into()).spawn(move || {
            let mut writer = BufWriter::new(file);
            while let Ok(record) = receiver.recv() {
                let mut batch = vec![record];
                batch.extend(receiver.try_iter());
                for record in batch {
                    if let Ok(line) = serde_json::to_string(&record) {
                        size += line.len() as u64 + 1;
                        let _ = writeln!(writer, "{line}");
                    }
                }
                if let Err(error) = writer.flush() {
                    tracing::error!(message = "Cannot write the audit log.", %error);
                }
                if size >= rotate_at {
                    match rotate(&path) {
                        Ok(file) => {
                            writer = BufWriter::new(file);
                            size = 0;
                        }
                        Err(error) => tracing::error!(message = "Cannot rotate the audit log.", %error),
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize) -> AuditRecord {
        AuditRecord {
            at_ms: i as i64,
            decision: Decision::Deny,
            reason: "origin_not_allowed".into(),
            method: "GET".into(),
            path: "/v1/devices".into(),
            origin: Some("https://evil.example".into()),
            token_id: None,
        }
    }

    fn lines(path: &Path) -> usize {
        std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
    }

    #[test]
    fn lines_are_json_and_the_log_rotates_keeping_a_bounded_number_of_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let audit = Audit::open_rotating(dir.path(), 2_000).expect("open");
        for i in 0..200 {
            audit.record(record(i));
            // One record per batch, so rotation is checked after each.
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(audit);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let log = dir.path().join("audit.log");
        let total =
            || lines(&log) + (1..=KEEP_ROTATED).map(|n| lines(&log.with_extension(format!("log.{n}")))).sum::<usize>();
        while dir.path().join(format!("audit.log.{KEEP_ROTATED}")).metadata().is_err()
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(dir.path().join(format!("audit.log.{KEEP_ROTATED}")).exists(), "rotated files exist");
        assert!(!dir.path().join(format!("audit.log.{}", KEEP_ROTATED + 1)).exists(), "no more than KEEP_ROTATED");
        assert!(total() < 200, "the oldest lines were dropped with the oldest file");
        let text = std::fs::read_to_string(log.with_extension("log.1")).expect("rotated file");
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
            assert_eq!(value["decision"], "deny");
        }
    }
}
