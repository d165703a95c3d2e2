//! The scan service and its sessions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use counter_agent_driver_api::{
    CancelToken, ColorMode, DeviceKind, DeviceSettings, DriverError, ScanRequest, ScanSource, StatusReason,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::pipeline::encode::{encode_page, EncodedPage, PageColor};
use super::pipeline::pdf;
use crate::auth::random_id;
use crate::devices::{DeviceError, DeviceHandle, Devices, ScanUpdate};
use crate::events::{EventBody, EventBus};
use crate::store::now_ms;

pub const MIN_DPI: u32 = 75;
/// A batch stops at this many pages (a stuck feeder sensor must not fill the disk).
pub const MAX_PAGES: usize = 500;
/// Default for how long a batch may stay paused without the clerk touching it before it is
/// closed, so the scanner is free again; its pages stay until the time-to-live.
pub const PAUSED_IDLE: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanState {
    Scanning,
    /// A fault (jam, cover open) stopped the batch; pages so far are kept; `continue` resumes.
    Paused,
    Completed,
    Failed,
    Cancelled,
}

impl ScanState {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanState::Scanning => "scanning",
            ScanState::Paused => "paused",
            ScanState::Completed => "completed",
            ScanState::Failed => "failed",
            ScanState::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("no device `{0}` is configured")]
    UnknownDevice(String),
    #[error("device `{id}` is a {kind}, not a scanner")]
    NotAScanner { id: String, kind: DeviceKind },
    #[error("{0}")]
    InvalidRequest(String),
    #[error("no scan `{0}`")]
    NotFound(String),
    #[error("scan has no page {0}")]
    PageNotFound(u32),
    #[error("scan `{id}` is {state}, so it cannot be continued")]
    NotPaused { id: String, state: &'static str },
    #[error("scanner `{device}` is busy with {}", scan_id.as_ref().map_or("another scan".to_string(), |id| format!("your scan `{id}`")))]
    Busy { device: String, scan_id: Option<String> },
    #[error("scan has no pages yet")]
    NoPages,
    #[error("the document is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("device error")]
    Device(#[from] DeviceError),
    #[error("cannot keep the scanned page on disk")]
    Io(#[from] std::io::Error),
    #[error("the PC's disk is full")]
    StorageFull,
}

/// What the clerk asked for.
#[derive(Debug, Clone)]
pub struct StartScan {
    pub device: String,
    pub source: ScanSource,
    pub color: ColorMode,
    pub dpi: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    pub color: &'static str,
    pub n_bytes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScanView {
    pub id: String,
    pub device: String,
    pub source: ScanSource,
    pub color: ColorMode,
    pub dpi: u32,
    pub state: ScanState,
    pub reason: Option<String>,
    pub pages: Vec<PageView>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

struct StoredPage {
    view: PageView,
    color: PageColor,
    path: PathBuf,
}

struct Session {
    id: String,
    origin: String,
    device: String,
    request: ScanRequest,
    state: ScanState,
    reason: Option<String>,
    pages: Vec<StoredPage>,
    cancel: CancelToken,
    dir: PathBuf,
    /// Last time anyone read or changed the session; the time-to-live counts from here.
    touched: Instant,
    /// Last change of state or pages; a paused batch's idle time counts from here (status polling
    /// by a forgotten tab must not keep the scanner blocked).
    changed: Instant,
    created_ms: i64,
    updated_ms: i64,
}

impl Session {
    fn view(&self) -> ScanView {
        ScanView {
            id: self.id.clone(),
            device: self.device.clone(),
            source: self.request.source,
            color: self.request.color,
            dpi: self.request.dpi,
            state: self.state,
            reason: self.reason.clone(),
            pages: self.pages.iter().map(|p| p.view.clone()).collect(),
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
        }
    }

    fn is_active(&self) -> bool {
        matches!(self.state, ScanState::Scanning | ScanState::Paused)
    }
}

type SessionRef = Arc<Mutex<Session>>;

/// Cheap-clone scan service.
#[derive(Clone)]
pub struct ScanService {
    inner: Arc<Inner>,
}

struct Inner {
    devices: Devices,
    events: EventBus,
    dir: PathBuf,
    ttl: Duration,
    paused_idle: Duration,
    sessions: Mutex<HashMap<String, SessionRef>>,
    assembling: tokio::sync::Semaphore,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn reason_code(error: &DriverError) -> String {
    match error.status_reason() {
        Some(reason) => reason.code().to_string(),
        None => match error {
            DriverError::Cancelled => "cancelled".into(),
            _ => "unsupported".into(),
        },
    }
}

impl ScanService {
    /// `dir` holds one folder per session; whatever is left there from a previous run is deleted.
    pub fn new(
        devices: Devices,
        events: EventBus,
        dir: PathBuf,
        ttl: Duration,
        paused_idle: Duration,
    ) -> std::io::Result<ScanService> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(ScanService {
            inner: Arc::new(Inner {
                devices,
                events,
                dir,
                ttl,
                paused_idle,
                sessions: Mutex::new(HashMap::new()),
                assembling: tokio::sync::Semaphore::new(1),
            }),
        })
    }

    fn scanner(&self, id: &str) -> Result<(DeviceHandle, counter_agent_driver_api::ScannerSettings), ScanError> {
        let handle = self.inner.devices.get(id).ok_or_else(|| ScanError::UnknownDevice(id.to_string()))?;
        match &handle.info().settings {
            DeviceSettings::Scanner(settings) => Ok((handle.clone(), settings.clone())),
            DeviceSettings::Printer(_) => Err(ScanError::NotAScanner { id: id.to_string(), kind: handle.info().kind }),
        }
    }

    pub fn start(&self, origin: &str, request: StartScan) -> Result<ScanView, ScanError> {
        let (handle, settings) = self.scanner(&request.device)?;
        if !settings.sources.contains(&request.source) {
            let names: Vec<&str> = settings.sources.iter().map(|s| s.as_str()).collect();
            return Err(ScanError::InvalidRequest(format!(
                "scanner `{}` has no {} source (it has: {})",
                request.device,
                request.source.as_str(),
                names.join(", ")
            )));
        }
        let dpi = request.dpi.unwrap_or(settings.default_dpi);
        if !(MIN_DPI..=settings.max_dpi).contains(&dpi) {
            return Err(ScanError::InvalidRequest(format!(
                "dpi must be between {MIN_DPI} and {} for scanner `{}`",
                settings.max_dpi, request.device
            )));
        }
        let scan_request = ScanRequest { source: request.source, color: request.color, dpi };
        let id = random_id(8);
        let dir = self.inner.dir.join(&id);
        let session = {
            let mut sessions = lock(&self.inner.sessions);
            let busy = sessions.values().find_map(|s| {
                let s = lock(s);
                (s.device == request.device && s.is_active()).then(|| (s.origin == origin).then(|| s.id.clone()))
            });
            if let Some(scan_id) = busy {
                return Err(ScanError::Busy { device: request.device.clone(), scan_id });
            }
            std::fs::create_dir_all(&dir)?;
            let now = now_ms();
            let session = Arc::new(Mutex::new(Session {
                id: id.clone(),
                origin: origin.to_string(),
                device: request.device.clone(),
                request: scan_request.clone(),
                state: ScanState::Scanning,
                reason: None,
                pages: Vec::new(),
                cancel: CancelToken::new(),
                dir,
                touched: Instant::now(),
                changed: Instant::now(),
                created_ms: now,
                updated_ms: now,
            }));
            sessions.insert(id.clone(), session.clone());
            session
        };
        let cancel = lock(&session).cancel.clone();
        let updates = match handle.start_scan(scan_request, cancel) {
            Ok(updates) => updates,
            Err(error) => {
                self.remove(&id);
                return Err(error.into());
            }
        };
        self.publish_state(&session);
        tokio::spawn(self.clone().follow(session.clone(), updates));
        let view = lock(&session).view();
        Ok(view)
    }

    /// Consumes a batch's updates: keeps pages, records the outcome.
    async fn follow(self, session: SessionRef, mut updates: mpsc::Receiver<ScanUpdate>) {
        while let Some(update) = updates.recv().await {
            match update {
                ScanUpdate::Progress(_) => {}
                ScanUpdate::Page(page) => {
                    let encoded = tokio::task::spawn_blocking(move || encode_page(&page)).await;
                    match encoded {
                        Ok(Ok(encoded)) => {
                            if let Err(error) = self.keep_page(&session, encoded).await {
                                tracing::error!(message = "Cannot keep scanned page.", %error);
                                let reason = if error.kind() == std::io::ErrorKind::StorageFull {
                                    "storage_full"
                                } else {
                                    "storage_error"
                                };
                                self.stop_batch(&session);
                                self.finish(&session, ScanState::Failed, Some(reason.into()));
                                return;
                            }
                        }
                        Ok(Err(error)) => {
                            tracing::warn!(message = "Scanner delivered a malformed page.", %error);
                            self.finish(&session, ScanState::Failed, Some(StatusReason::ProtocolError.code().into()));
                            return;
                        }
                        Err(join) => {
                            tracing::error!(message = "Page encoder panicked.", error = %join);
                            self.finish(&session, ScanState::Failed, Some("internal".into()));
                            return;
                        }
                    }
                }
                ScanUpdate::Paused(error) => {
                    self.finish(&session, ScanState::Paused, Some(reason_code(&error)));
                }
                ScanUpdate::Finished => self.finish(&session, ScanState::Completed, None),
                ScanUpdate::Failed(error) => self.finish(&session, ScanState::Failed, Some(reason_code(&error))),
                ScanUpdate::Cancelled => {
                    // Cancelled by the page cap: a normal end with a reason; by a delete: gone anyway.
                    let capped = lock(&session).pages.len() >= MAX_PAGES;
                    if capped {
                        self.finish(&session, ScanState::Completed, Some("too_many_pages".into()));
                    } else {
                        self.finish(&session, ScanState::Cancelled, None);
                    }
                }
            }
        }
    }

    async fn keep_page(&self, session: &SessionRef, encoded: EncodedPage) -> std::io::Result<()> {
        let (index, path, cancelled) = {
            let s = lock(session);
            let index = s.pages.len() as u32 + 1;
            (index, s.dir.join(format!("page-{index:04}.jpg")), s.state == ScanState::Cancelled)
        };
        if cancelled {
            return Ok(());
        }
        // Write beside, then rename: a page on disk is always whole (a full disk leaves no half page).
        let part = path.with_extension("jpg.part");
        if let Err(error) = tokio::fs::write(&part, &encoded.jpeg).await {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(error);
        }
        tokio::fs::rename(&part, &path).await?;
        let view = PageView {
            index,
            width: encoded.width,
            height: encoded.height,
            dpi: encoded.dpi,
            color: encoded.color.as_str(),
            n_bytes: encoded.jpeg.len() as u64,
        };
        let kept = {
            let mut s = lock(session);
            if s.state == ScanState::Cancelled {
                None
            } else {
                s.pages.push(StoredPage { view: view.clone(), color: encoded.color, path: path.clone() });
                s.updated_ms = now_ms();
                s.touched = Instant::now();
                s.changed = s.touched;
                if s.pages.len() >= MAX_PAGES {
                    s.cancel.cancel();
                }
                Some((s.id.clone(), s.origin.clone()))
            }
        };
        let Some((scan_id, origin)) = kept else {
            // Deleted while encoding: do not leave the file behind.
            let _ = tokio::fs::remove_file(&path).await;
            return Ok(());
        };
        self.inner.events.publish(
            Some(&origin),
            EventBody::ScanPage {
                scan_id,
                index: view.index,
                width: view.width,
                height: view.height,
                dpi: view.dpi,
                color: view.color.to_string(),
                n_bytes: view.n_bytes,
            },
        );
        Ok(())
    }

    /// Stops a running batch on the device (the session keeps its pages).
    fn stop_batch(&self, session: &SessionRef) {
        let device = {
            let s = lock(session);
            s.cancel.cancel();
            s.device.clone()
        };
        if let Some(handle) = self.inner.devices.get(&device) {
            handle.end_scan();
        }
    }

    fn finish(&self, session: &SessionRef, state: ScanState, reason: Option<String>) {
        {
            let mut s = lock(session);
            if s.state == ScanState::Cancelled {
                return;
            }
            s.state = state;
            s.reason = reason;
            s.updated_ms = now_ms();
            s.touched = Instant::now();
            s.changed = s.touched;
        }
        self.publish_state(session);
    }

    fn publish_state(&self, session: &SessionRef) {
        let (origin, body) = {
            let s = lock(session);
            (
                s.origin.clone(),
                EventBody::ScanState {
                    scan_id: s.id.clone(),
                    device: s.device.clone(),
                    state: s.state.as_str().to_string(),
                    reason: s.reason.clone(),
                    n_pages: s.pages.len() as u32,
                },
            )
        };
        self.inner.events.publish(Some(&origin), body);
    }

    /// A session visible to `origin` (another origin's sessions do not exist for it).
    /// Every access counts as activity for the time-to-live.
    fn session(&self, origin: &str, id: &str) -> Result<SessionRef, ScanError> {
        let sessions = lock(&self.inner.sessions);
        let session = sessions.get(id).filter(|s| lock(s).origin == origin).cloned();
        let session = session.ok_or_else(|| ScanError::NotFound(id.to_string()))?;
        lock(&session).touched = Instant::now();
        Ok(session)
    }

    /// The origin's sessions, newest first (a page that was reloaded finds its scan again).
    pub fn list(&self, origin: &str) -> Vec<ScanView> {
        let sessions = lock(&self.inner.sessions);
        let mut views: Vec<ScanView> = sessions
            .values()
            .filter_map(|s| {
                let s = lock(s);
                (s.origin == origin).then(|| s.view())
            })
            .collect();
        views.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then_with(|| b.id.cmp(&a.id)));
        views
    }

    pub fn get(&self, origin: &str, id: &str) -> Result<ScanView, ScanError> {
        let session = self.session(origin, id)?;
        let view = lock(&session).view();
        Ok(view)
    }

    /// Resumes a paused batch (after the clerk cleared a jam).
    pub fn resume(&self, origin: &str, id: &str) -> Result<ScanView, ScanError> {
        let session = self.session(origin, id)?;
        let (device, cancel) = {
            let s = lock(&session);
            if s.state != ScanState::Paused {
                return Err(ScanError::NotPaused { id: id.to_string(), state: s.state.as_str() });
            }
            (s.device.clone(), s.cancel.clone())
        };
        let (handle, _) = self.scanner(&device)?;
        let updates = handle.continue_scan(cancel)?;
        {
            let mut s = lock(&session);
            s.state = ScanState::Scanning;
            s.reason = None;
            s.updated_ms = now_ms();
            s.changed = Instant::now();
        }
        self.publish_state(&session);
        tokio::spawn(self.clone().follow(session.clone(), updates));
        let view = lock(&session).view();
        Ok(view)
    }

    /// Cancels if running and deletes the session with every page.
    pub fn delete(&self, origin: &str, id: &str) -> Result<(), ScanError> {
        let session = self.session(origin, id)?;
        let (device, was_active) = {
            let mut s = lock(&session);
            let was_active = s.is_active();
            s.cancel.cancel();
            s.state = ScanState::Cancelled;
            (s.device.clone(), was_active)
        };
        if was_active {
            if let Some(handle) = self.inner.devices.get(&device) {
                handle.end_scan();
            }
        }
        self.remove(id);
        Ok(())
    }

    fn remove(&self, id: &str) {
        let removed = lock(&self.inner.sessions).remove(id);
        if let Some(session) = removed {
            let dir = lock(&session).dir.clone();
            if let Err(error) = std::fs::remove_dir_all(&dir) {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(message = "Cannot delete scan folder.", scan = %id, %error);
                }
            }
        }
    }

    /// One page's JPEG (1-based index).
    pub async fn page(&self, origin: &str, id: &str, index: u32) -> Result<Vec<u8>, ScanError> {
        let session = self.session(origin, id)?;
        let path = {
            let s = lock(&session);
            let page =
                index.checked_sub(1).and_then(|i| s.pages.get(i as usize)).ok_or(ScanError::PageNotFound(index))?;
            page.path.clone()
        };
        Ok(tokio::fs::read(path).await?)
    }

    /// The assembled PDF. `max_bytes` refuses a document over the limit (fitting comes later).
    pub async fn document(&self, origin: &str, id: &str, max_bytes: Option<usize>) -> Result<Vec<u8>, ScanError> {
        let session = self.session(origin, id)?;
        let pages: Vec<(PageView, PageColor, PathBuf)> = {
            let s = lock(&session);
            s.pages.iter().map(|p| (p.view.clone(), p.color, p.path.clone())).collect()
        };
        if pages.is_empty() {
            return Err(ScanError::NoPages);
        }
        // The PDF holds every JPEG as-is, so it is at least their sum: refuse before building it.
        let images: u64 = pages.iter().map(|(view, _, _)| view.n_bytes).sum();
        if let Some(limit) = max_bytes {
            if images > limit as u64 {
                return Err(ScanError::TooLarge { size: images as usize, limit });
            }
        }
        // One document at a time: each is built in memory.
        let _permit = self.inner.assembling.acquire().await.map_err(|_| std::io::Error::other("shutting down"))?;
        let mut encoded = Vec::with_capacity(pages.len());
        for (view, color, path) in pages {
            let jpeg = tokio::fs::read(path).await?;
            encoded.push(EncodedPage { jpeg, width: view.width, height: view.height, dpi: view.dpi, color });
        }
        let document = tokio::task::spawn_blocking(move || pdf::assemble(&encoded, "Tài liệu quét"))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        match max_bytes {
            Some(limit) if document.len() > limit => Err(ScanError::TooLarge { size: document.len(), limit }),
            _ => Ok(document),
        }
    }

    /// Closes batches paused for longer than `paused_idle` without activity (the scanner is free
    /// again, the pages stay), and deletes sessions idle for longer than the time-to-live that are
    /// not scanning. Returns how many sessions were deleted.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let sessions: Vec<SessionRef> = lock(&self.inner.sessions).values().cloned().collect();
        let mut expired = Vec::new();
        for session in sessions {
            let (id, state, idle, unchanged) = {
                let s = lock(&session);
                (s.id.clone(), s.state, now.duration_since(s.touched), now.duration_since(s.changed))
            };
            if idle >= self.inner.ttl && state != ScanState::Scanning {
                expired.push(id);
            } else if state == ScanState::Paused && unchanged >= self.inner.paused_idle {
                self.stop_batch(&session);
                self.finish(&session, ScanState::Failed, Some("abandoned".into()));
            }
        }
        for id in &expired {
            if let Some(session) = lock(&self.inner.sessions).get(id).cloned() {
                let paused = lock(&session).state == ScanState::Paused;
                if paused {
                    self.stop_batch(&session);
                }
                lock(&session).state = ScanState::Cancelled;
            }
            self.remove(id);
        }
        expired.len()
    }

    /// Runs [`ScanService::sweep`] every minute (or every TTL, if shorter) until the service is dropped.
    pub fn spawn_sweeper(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            // Every minute, or more often when the TTL or paused idle time is shorter (tests use short ones).
            let every = weak.upgrade().map_or(Duration::from_secs(60), |inner| {
                inner.ttl.min(inner.paused_idle).clamp(Duration::from_millis(100), Duration::from_secs(60))
            });
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let swept = ScanService { inner }.sweep();
                if swept > 0 {
                    tracing::info!(message = "Deleted expired scans.", count = swept);
                }
            }
        });
    }
}
