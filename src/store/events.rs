//! The event journal: every published event with its sequence number, so a client that reconnects
//! can ask for what it missed.

use rusqlite::params;

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub at_ms: i64,
    pub kind: String,
    /// The event's data as JSON text (no citizen data ever goes into events).
    pub data: String,
}

impl Store {
    /// Appends an event and returns its sequence number (strictly increasing, also across restarts).
    pub fn append_event(&self, at_ms: i64, kind: &str, data: &str) -> Result<i64, StoreError> {
        let conn = self.lock();
        conn.execute("INSERT INTO events (at_ms, kind, data) VALUES (?1, ?2, ?3)", params![at_ms, kind, data])?;
        Ok(conn.last_insert_rowid())
    }

    /// Events with `seq > after`, oldest first, at most `limit`.
    pub fn events_after(&self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.lock();
        let mut statement =
            conn.prepare_cached("SELECT seq, at_ms, kind, data FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = statement.query_map(params![after, limit as i64], |row| {
            Ok(StoredEvent { seq: row.get(0)?, at_ms: row.get(1)?, kind: row.get(2)?, data: row.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The highest sequence number so far (0 when empty).
    pub fn last_event_seq(&self) -> Result<i64, StoreError> {
        let conn = self.lock();
        Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |row| row.get(0))?)
    }

    /// The lowest sequence number still in the journal (0 when empty).
    pub fn first_event_seq(&self) -> Result<i64, StoreError> {
        let conn = self.lock();
        Ok(conn.query_row("SELECT COALESCE(MIN(seq), 0) FROM events", [], |row| row.get(0))?)
    }

    /// Keeps only the newest `keep` events.
    pub fn prune_events(&self, keep: i64) -> Result<usize, StoreError> {
        let conn = self.lock();
        Ok(conn.execute("DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?1", [keep])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_replay_prune() {
        let store = Store::open_in_memory().expect("store");
        let seqs: Vec<i64> = (0..5).map(|i| store.append_event(i, "device.status", "{}").expect("append")).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
        let after_two: Vec<i64> = store.events_after(2, 100).expect("replay").iter().map(|e| e.seq).collect();
        assert_eq!(after_two, vec![3, 4, 5]);
        assert_eq!(store.events_after(2, 1).expect("limited").len(), 1);
        assert_eq!(store.prune_events(2).expect("prune"), 3);
        assert_eq!(store.first_event_seq().expect("first"), 4);
        assert_eq!(store.last_event_seq().expect("last"), 5);
        // Numbering continues after pruning.
        assert_eq!(store.append_event(9, "x", "{}").expect("append"), 6);
    }
}
