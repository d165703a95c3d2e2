//! Print job records. The document bytes live in a file beside the database (written and synced
//! before the row is inserted); the row is the job's state.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJobRow {
    pub id: String,
    pub device: String,
    pub origin: String,
    pub idempotency_key: String,
    pub format: String,
    pub n_bytes: i64,
    pub sha256: String,
    pub state: String,
    pub reason: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// What a caller gives to create a job.
#[derive(Debug, Clone)]
pub struct NewPrintJob<'a> {
    pub id: &'a str,
    pub device: &'a str,
    pub origin: &'a str,
    pub idempotency_key: &'a str,
    pub format: &'a str,
    pub n_bytes: i64,
    pub sha256: &'a str,
    pub at_ms: i64,
}

const COLUMNS: &str =
    "id, device, origin, idempotency_key, format, n_bytes, sha256, state, reason, created_ms, updated_ms";

fn row_to_job(row: &rusqlite::Row<'_>) -> rusqlite::Result<PrintJobRow> {
    Ok(PrintJobRow {
        id: row.get(0)?,
        device: row.get(1)?,
        origin: row.get(2)?,
        idempotency_key: row.get(3)?,
        format: row.get(4)?,
        n_bytes: row.get(5)?,
        sha256: row.get(6)?,
        state: row.get(7)?,
        reason: row.get(8)?,
        created_ms: row.get(9)?,
        updated_ms: row.get(10)?,
    })
}

impl Store {
    /// Inserts a queued job, or returns the existing job with the same origin and idempotency key
    /// (`Ok((row, false))`). Atomic: two racing submissions with one key yield one job.
    pub fn insert_print_job(&self, job: &NewPrintJob<'_>) -> Result<(PrintJobRow, bool), StoreError> {
        let conn = self.lock();
        let inserted = conn.execute(
            "INSERT INTO print_jobs (id, device, origin, idempotency_key, format, n_bytes, sha256, state, reason, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', NULL, ?8, ?8)
             ON CONFLICT (origin, idempotency_key) DO NOTHING",
            params![job.id, job.device, job.origin, job.idempotency_key, job.format, job.n_bytes, job.sha256, job.at_ms],
        )?;
        let row = conn.query_row(
            &format!("SELECT {COLUMNS} FROM print_jobs WHERE origin = ?1 AND idempotency_key = ?2"),
            params![job.origin, job.idempotency_key],
            row_to_job,
        )?;
        Ok((row, inserted == 1))
    }

    /// The job an origin already submitted under `key`, if any.
    pub fn print_job_by_key(&self, origin: &str, key: &str) -> Result<Option<PrintJobRow>, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM print_jobs WHERE origin = ?1 AND idempotency_key = ?2"),
                params![origin, key],
                row_to_job,
            )
            .optional()?;
        Ok(row)
    }

    pub fn print_job(&self, id: &str) -> Result<Option<PrintJobRow>, StoreError> {
        let conn = self.lock();
        let row =
            conn.query_row(&format!("SELECT {COLUMNS} FROM print_jobs WHERE id = ?1"), [id], row_to_job).optional()?;
        Ok(row)
    }

    /// Jobs of one device in one of the given states, oldest first (FIFO).
    pub fn print_jobs_in(&self, device: &str, states: &[&str]) -> Result<Vec<PrintJobRow>, StoreError> {
        let conn = self.lock();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM print_jobs WHERE device = ?1 AND state IN (SELECT value FROM json_each(?2)) ORDER BY created_ms, rowid"
        ))?;
        let states_json = format!("[{}]", states.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(","));
        let rows = statement.query_map(params![device, states_json], row_to_job)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Moves a job to `state` only if it is currently in one of `from`. Returns whether it moved.
    pub fn transition_print_job(
        &self,
        id: &str,
        from: &[&str],
        state: &str,
        reason: Option<&str>,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.lock();
        let from_json = format!("[{}]", from.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(","));
        let changed = conn.execute(
            "UPDATE print_jobs SET state = ?2, reason = ?3, updated_ms = ?4
             WHERE id = ?1 AND state IN (SELECT value FROM json_each(?5))",
            params![id, state, reason, at_ms, from_json],
        )?;
        Ok(changed == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_job<'a>(id: &'a str, key: &'a str) -> NewPrintJob<'a> {
        NewPrintJob {
            id,
            device: "a4",
            origin: "https://motcua.example.gov.vn",
            idempotency_key: key,
            format: "pdf",
            n_bytes: 10,
            sha256: "00",
            at_ms: 5,
        }
    }

    #[test]
    fn same_key_returns_the_first_job() {
        let store = Store::open_in_memory().expect("store");
        let (first, created) = store.insert_print_job(&new_job("j1", "k")).expect("insert");
        assert!(created);
        let (again, created_again) = store.insert_print_job(&new_job("j2", "k")).expect("insert again");
        assert!(!created_again);
        assert_eq!(again.id, first.id);
        assert!(store.print_job("j2").expect("get").is_none());
    }

    #[test]
    fn fifo_and_guarded_transitions() {
        let store = Store::open_in_memory().expect("store");
        for (id, key) in [("j1", "a"), ("j2", "b"), ("j3", "c")] {
            store.insert_print_job(&new_job(id, key)).expect("insert");
        }
        let ids: Vec<String> =
            store.print_jobs_in("a4", &["queued"]).expect("list").into_iter().map(|j| j.id).collect();
        assert_eq!(ids, vec!["j1", "j2", "j3"]);
        assert!(store.transition_print_job("j1", &["queued"], "printing", None, 6).expect("move"));
        // A second move from `queued` must not happen: the job is no longer queued.
        assert!(!store.transition_print_job("j1", &["queued"], "cancelled", None, 7).expect("no move"));
        assert!(store.transition_print_job("j1", &["printing"], "failed", Some("paper_out"), 8).expect("fail"));
        let job = store.print_job("j1").expect("get").expect("exists");
        assert_eq!((job.state.as_str(), job.reason.as_deref(), job.updated_ms), ("failed", Some("paper_out"), 8));
    }
}
