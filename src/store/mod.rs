//! Storage: one SQLite database in the data directory (WAL), with versioned migrations.
//!
//! Owns tokens, the event journal, print jobs and scan session records. Knows SQL and nothing of
//! HTTP. Calls are short and synchronous; callers on async tasks hold the connection briefly (the
//! database lives on local disk and every statement touches a handful of rows).

mod events;
mod migrations;
mod prints;
mod tokens;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use events::StoredEvent;
pub use prints::{NewPrintJob, PrintJobRow};
pub use tokens::TokenRow;

/// Why storage failed. Messages are for technicians and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the data directory {path} is not a directory — choose a folder path for --data-dir or [storage] data_dir"
    )]
    NotADirectory { path: PathBuf },
    #[error("cannot create the data directory {path}: {source} — check the path and its permissions")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("the data directory {path} is not writable: {source} — give the agent's user write access or choose another --data-dir")]
    NotWritable { path: PathBuf, source: std::io::Error },
    #[error("cannot open the database {path}: {source} — if the file is damaged, move it aside and restart (tokens and job history will be recreated empty)")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("the database {path} is newer (schema {found}) than this agent understands (schema {supported}) — install the newer agent or restore a backup")]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("database error")]
    Sql(#[from] rusqlite::Error),
}

/// Cheap-clone handle to the database.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<rusqlite::Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) `agent.sqlite3` in `data_dir`, after checking that the directory
    /// is writable, and brings the schema up to date.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        if data_dir.exists() && !data_dir.is_dir() {
            return Err(StoreError::NotADirectory { path: data_dir.to_path_buf() });
        }
        fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::CreateDir { path: data_dir.to_path_buf(), source })?;
        check_writable(data_dir)?;
        restrict_to_owner(data_dir);
        let path = data_dir.join("agent.sqlite3");
        let open_error = |source| StoreError::Open { path: path.clone(), source };
        let conn = rusqlite::Connection::open(&path).map_err(open_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(open_error)?;
        // quick_check reads every page: a damaged file is caught here, not in the middle of a job.
        let verdict: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0)).map_err(open_error)?;
        if verdict != "ok" {
            return Err(StoreError::Open { path, source: rusqlite::Error::InvalidQuery });
        }
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_error)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_error)?;
        migrations::migrate(&conn, &path)?;
        Ok(Store { conn: Arc::new(Mutex::new(conn)), path })
    }

    /// Opens a private in-memory database (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = rusqlite::Connection::open_in_memory()?;
        let path = PathBuf::from(":memory:");
        migrations::migrate(&conn, &path)?;
        Ok(Store { conn: Arc::new(Mutex::new(conn)), path })
    }

    fn lock(&self) -> MutexGuard<'_, rusqlite::Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (statements are atomic),
        // so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Scans and print jobs are citizen data: only the agent's own user may read the data directory.
#[cfg(unix)]
fn restrict_to_owner(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(error) = fs::set_permissions(dir, fs::Permissions::from_mode(0o700)) {
        tracing::warn!(message = "Cannot restrict the data directory to its owner.", path = %dir.display(), %error);
    }
}

#[cfg(not(unix))]
fn restrict_to_owner(_dir: &Path) {
    // On Windows the data directory lives under ProgramData with the service account's ACL.
}

fn check_writable(dir: &Path) -> Result<(), StoreError> {
    let probe = dir.join(".write-test");
    let result = fs::write(&probe, b"ok").and_then(|()| fs::remove_file(&probe));
    result.map_err(|source| StoreError::NotWritable { path: dir.to_path_buf(), source })
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_keeps_data_and_schema() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = Store::open(dir.path()).expect("open");
            store.insert_token(&TokenRow::sample("t1")).expect("insert");
        }
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.tokens().expect("list").len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn the_data_directory_is_private_to_the_agent_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        Store::open(&data).expect("open");
        let mode = fs::metadata(&data).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn corrupt_database_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("agent.sqlite3"), vec![0x55u8; 8192]).expect("write garbage");
        let error = Store::open(dir.path()).expect_err("garbage must not open");
        assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
        assert!(error.to_string().contains("move it aside"), "{error}");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let conn = rusqlite::Connection::open(dir.path().join("agent.sqlite3")).expect("open");
            conn.pragma_update(None, "user_version", 999).expect("set version");
        }
        let error = Store::open(dir.path()).expect_err("newer schema");
        assert!(matches!(error, StoreError::TooNew { found: 999, .. }), "{error:?}");
    }

    #[test]
    fn unwritable_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A regular file where the directory should be cannot be created or written, even as root.
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"x").expect("write");
        let error = Store::open(&file.join("data")).expect_err("not creatable");
        assert!(matches!(error, StoreError::CreateDir { .. }), "{error:?}");
    }
}
