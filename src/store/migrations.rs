//! Versioned schema migrations, tracked in SQLite's `user_version`.

use std::path::Path;

use super::StoreError;

/// Each entry brings the schema from version `i` to `i + 1`. Never edit a shipped entry: append.
const MIGRATIONS: &[&str] = &[
    // 1: tokens, event journal, print jobs, scan sessions.
    r#"
    CREATE TABLE tokens (
        id          TEXT PRIMARY KEY,
        hash        BLOB NOT NULL UNIQUE,
        origin      TEXT NOT NULL,
        scopes      TEXT NOT NULL,
        label       TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        revoked_ms  INTEGER
    );
    CREATE TABLE events (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms       INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        data        TEXT NOT NULL
    );
    CREATE TABLE print_jobs (
        id               TEXT PRIMARY KEY,
        device           TEXT NOT NULL,
        origin           TEXT NOT NULL,
        idempotency_key  TEXT NOT NULL,
        format           TEXT NOT NULL,
        n_bytes          INTEGER NOT NULL,
        sha256           TEXT NOT NULL,
        state            TEXT NOT NULL,
        reason           TEXT,
        created_ms       INTEGER NOT NULL,
        updated_ms       INTEGER NOT NULL,
        UNIQUE (origin, idempotency_key)
    );
    CREATE INDEX print_jobs_by_device_state ON print_jobs (device, state, created_ms);
    "#,
];

pub(super) fn migrate(conn: &rusqlite::Connection, path: &Path) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found: current, supported });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
