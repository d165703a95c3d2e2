//! The event bus: every event gets a sequence number, goes into the journal and out to live
//! subscribers, in that order, so a client that reconnects with the last number it saw misses nothing.
//!
//! Events carry identifiers and states only — never page images, names or document content.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::store::{now_ms, Store, StoreError};

/// How many events the journal keeps for replay.
const JOURNAL_KEEP: i64 = 10_000;

/// What happened. Serialised as-is into the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    DeviceStatus {
        device: String,
        state: String,
        reason: Option<String>,
    },
    /// `failed_page`: the 1-based index of the page a pause or failure happened at.
    ScanState {
        scan_id: String,
        device: String,
        state: String,
        reason: Option<String>,
        /// The driver error's text (English, for a technician) when one paused or failed the batch.
        #[serde(default)]
        detail: Option<String>,
        #[serde(default)]
        failed_page: Option<u32>,
        n_pages: u32,
    },
    /// A page was processed and kept; `index` is its 1-based position, `page_id` never changes.
    ScanPage {
        scan_id: String,
        index: u32,
        #[serde(default)]
        page_id: String,
        #[serde(default)]
        thumbnail_url: String,
        width: u32,
        height: u32,
        dpi: u32,
        /// `text`, `color`, `gray` or `blank`.
        #[serde(default)]
        class: String,
        #[serde(default)]
        blank: bool,
        #[serde(default)]
        skew_corrected: bool,
        #[serde(default)]
        cropped: bool,
        /// `g4`, `jpeg-gray` or `jpeg-color`.
        #[serde(default)]
        encoding: String,
        n_bytes: u64,
    },
    /// The page being scanned (`page`, 1-based) is `bytes` of `expected_bytes` along.
    ScanProgress {
        scan_id: String,
        page: u32,
        bytes: u64,
        expected_bytes: Option<u64>,
    },
    /// The clerk reordered, rotated or deleted pages; `page_ids` is the new order.
    ScanPages {
        scan_id: String,
        change: String,
        page_ids: Vec<String>,
    },
    PrintState {
        print_id: String,
        device: String,
        state: String,
        reason: Option<String>,
    },
}

impl EventBody {
    /// The wire name of the event type, e.g. `device.status`.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::DeviceStatus { .. } => "device.status",
            EventBody::ScanState { .. } => "scan.state",
            EventBody::ScanPage { .. } => "scan.page",
            EventBody::ScanProgress { .. } => "scan.progress",
            EventBody::ScanPages { .. } => "scan.pages",
            EventBody::PrintState { .. } => "print.state",
        }
    }
}

/// A published event. `origin` limits who may see it (`None`: every client).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub at_ms: i64,
    pub origin: Option<String>,
    pub body: EventBody,
}

#[derive(Serialize, Deserialize)]
struct JournalRecord {
    origin: Option<String>,
    body: EventBody,
}

/// Cheap-clone handle to the bus.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    sender: broadcast::Sender<Arc<Event>>,
    /// Held while appending and broadcasting, so live order equals journal order.
    publish: Mutex<u64>,
}

impl EventBus {
    pub fn new(store: Store) -> EventBus {
        let (sender, _) = broadcast::channel(1024);
        EventBus { inner: Arc::new(Inner { store, sender, publish: Mutex::new(0) }) }
    }

    /// Journals and broadcasts an event. A journal failure is logged and the event dropped: live
    /// clients must never see a number the journal cannot replay.
    pub fn publish(&self, origin: Option<&str>, body: EventBody) -> Option<Arc<Event>> {
        let record = JournalRecord { origin: origin.map(str::to_string), body };
        let data = match serde_json::to_string(&record) {
            Ok(data) => data,
            Err(error) => {
                tracing::error!(message = "Cannot encode event.", %error);
                return None;
            }
        };
        let mut published = self.inner.publish.lock().unwrap_or_else(|p| p.into_inner());
        let at_ms = now_ms();
        let seq = match self.inner.store.append_event(at_ms, record.body.kind(), &data) {
            Ok(seq) => seq,
            Err(error) => {
                tracing::error!(message = "Cannot journal event.", %error);
                return None;
            }
        };
        *published += 1;
        if (*published).is_multiple_of(1000) {
            if let Err(error) = self.inner.store.prune_events(JOURNAL_KEEP) {
                tracing::warn!(message = "Cannot prune event journal.", %error);
            }
        }
        let event = Arc::new(Event { seq, at_ms, origin: record.origin, body: record.body });
        // No receivers is fine.
        let _ = self.inner.sender.send(event.clone());
        Some(event)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.sender.subscribe()
    }

    /// Journaled events after `after`, oldest first. Rows that no longer decode are skipped.
    pub fn replay(&self, after: i64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let rows = self.inner.store.events_after(after, limit)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let record: JournalRecord = serde_json::from_str(&row.data).ok()?;
                Some(Event { seq: row.seq, at_ms: row.at_ms, origin: record.origin, body: record.body })
            })
            .collect())
    }

    /// Oldest and newest sequence numbers still in the journal.
    pub fn journal_bounds(&self) -> Result<(i64, i64), StoreError> {
        Ok((self.inner.store.first_event_seq()?, self.inner.store.last_event_seq()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(device: &str, state: &str) -> EventBody {
        EventBody::DeviceStatus { device: device.into(), state: state.into(), reason: None }
    }

    #[tokio::test]
    async fn live_and_replayed_events_agree() {
        let bus = EventBus::new(Store::open_in_memory().expect("store"));
        let mut live = bus.subscribe();
        let first = bus.publish(None, status("a4", "ready")).expect("published");
        let second = bus.publish(Some("https://x.example"), status("a4", "busy")).expect("published");
        assert_eq!((first.seq, second.seq), (1, 2));
        assert_eq!(*live.recv().await.expect("live 1"), *first);
        assert_eq!(*live.recv().await.expect("live 2"), *second);
        let replayed = bus.replay(1, 10).expect("replay");
        assert_eq!(replayed, vec![(*second).clone()]);
        assert_eq!(bus.journal_bounds().expect("bounds"), (1, 2));
    }
}
