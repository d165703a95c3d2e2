//! The scan service and its sessions.
//!
//! Pages are kept in the session in document order; a page's index is its 1-based position, its id
//! never changes. Pages arriving from the scanner are appended at the end, edits (reorder, rotate,
//! delete) happen under the session's lock, so indexes stay consistent while a batch is scanning.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use counter_agent_driver_api::{
    CancelToken, ColorMode, DeviceKind, DeviceSettings, DriverError, PageSide, ScanProgress, ScanRequest, ScanSource,
    ScannerSettings, StatusReason,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::pipeline::{
    self, DocumentMeta, DocumentPage, EncodedImage, Encoding, PageClass, PageOptions, ProcessedPage, Rotation,
    ViewFormat,
};
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
/// Default time-to-live of a scan without activity (its pages are deleted after it).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(60 * 60);
/// Longer side of a page thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 256;
/// Pages processed at once per batch (each holds its raw frame, up to tens of MB).
const PAGES_IN_FLIGHT: usize = 2;
/// A page in the pipeline.
type PageJob = tokio::task::JoinHandle<Result<ProcessedPage, pipeline::PipelineError>>;
/// At most this many progress events per second per scan.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// Title written into assembled documents.
const DOCUMENT_TITLE: &str = "Tài liệu quét";

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
    #[error("scan has no page {index} (it has {count})")]
    PageNotFound { index: u32, count: usize },
    #[error("{0}")]
    InvalidOrder(String),
    #[error("cannot rotate by {0} degrees: use 90, 180 or 270")]
    InvalidRotation(i64),
    #[error("scan `{id}` is {state}, so it cannot be continued")]
    NotPaused { id: String, state: &'static str },
    #[error("scanner `{device}` is busy with {}", scan_id.as_ref().map_or("another scan".to_string(), |id| format!("your scan `{id}`")))]
    Busy { device: String, scan_id: Option<String> },
    #[error("scan has no pages yet")]
    NoPages,
    #[error("scan `{0}` is still scanning, so its document is not complete")]
    InProgress(String),
    #[error("the smallest document reached is {smallest} bytes, over the {limit}-byte limit")]
    TooLarge { smallest: usize, limit: usize },
    #[error("the page image cannot be rendered")]
    Render(#[source] pipeline::PipelineError),
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
    /// Straighten askew pages (default on).
    pub deskew: bool,
    /// Flatbed only: crop to the ID card on the glass.
    pub crop_id_card: bool,
}

impl StartScan {
    /// A request with the defaults: deskew on, no crop.
    pub fn new(device: impl Into<String>, source: ScanSource, color: ColorMode, dpi: Option<u32>) -> StartScan {
        StartScan { device: device.into(), source, color, dpi, deskew: true, crop_id_card: false }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    /// 1-based position in the document.
    pub index: u32,
    /// Stable while the page exists (reorders do not change it).
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    pub class: PageClass,
    pub blank: bool,
    /// Skew corrected, in degrees (0.0 when none).
    pub skew_degrees: f32,
    pub cropped: bool,
    pub encoding: Encoding,
    /// The clerk's rotation (applied by render and the PDF's `/Rotate`).
    pub rotation: Rotation,
    pub n_bytes: u64,
    /// SHA-256 of the stored image (the PDF's `PageSHA256-n`).
    pub sha256: [u8; 32],
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
    /// The driver's own words (English, for a technician) when a driver error paused or failed the
    /// batch; never citizen data.
    pub detail: Option<String>,
    /// 1-based index of the page that failed (jam, storage) when paused or failed.
    pub failed_page: Option<u32>,
    pub pages: Vec<PageView>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

struct StoredPage {
    id: String,
    class: PageClass,
    blank: bool,
    skew_degrees: f32,
    cropped: bool,
    encoding: Encoding,
    width: u32,
    height: u32,
    dpi: u32,
    n_bytes: u64,
    sha256: [u8; 32],
    rotation: Rotation,
    path: PathBuf,
    /// The last thumbnail rendered, for the rotation it was rendered with.
    thumbnail: Option<(Rotation, Arc<Vec<u8>>)>,
}

impl StoredPage {
    fn view(&self, index: usize) -> PageView {
        PageView {
            index: index as u32 + 1,
            id: self.id.clone(),
            width: self.width,
            height: self.height,
            dpi: self.dpi,
            class: self.class,
            blank: self.blank,
            skew_degrees: self.skew_degrees,
            cropped: self.cropped,
            encoding: self.encoding,
            rotation: self.rotation,
            n_bytes: self.n_bytes,
            sha256: self.sha256,
        }
    }

    fn image(&self, bytes: Vec<u8>) -> EncodedImage {
        EncodedImage { encoding: self.encoding, bytes, width: self.width, height: self.height, dpi: self.dpi }
    }
}

struct Session {
    id: String,
    origin: String,
    device: String,
    request: ScanRequest,
    settings: ScannerSettings,
    deskew: bool,
    crop_id_card: bool,
    state: ScanState,
    reason: Option<String>,
    /// The driver error's text when one paused or failed the batch.
    detail: Option<String>,
    failed_page: Option<u32>,
    pages: Vec<StoredPage>,
    /// Pages received so far (names files: `page-NNNN.ext` never repeats within a session).
    n_received: u32,
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
            detail: self.detail.clone(),
            failed_page: self.failed_page,
            pages: self.pages.iter().enumerate().map(|(i, p)| p.view(i)).collect(),
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
        }
    }

    fn is_active(&self) -> bool {
        matches!(self.state, ScanState::Scanning | ScanState::Paused)
    }

    fn page_options(&self, side: PageSide) -> PageOptions {
        PageOptions {
            color: self.request.color,
            deskew: self.deskew,
            crop_id_card: self.crop_id_card && self.request.source == ScanSource::Flatbed,
            rotate_180: side == PageSide::Back && self.settings.duplex_back_rotate_180,
        }
    }

    /// The 0-based position of page `index` (1-based).
    fn position(&self, index: u32) -> Result<usize, ScanError> {
        index
            .checked_sub(1)
            .map(|i| i as usize)
            .filter(|&i| i < self.pages.len())
            .ok_or(ScanError::PageNotFound { index, count: self.pages.len() })
    }

    fn mark_changed(&mut self) {
        self.updated_ms = now_ms();
        self.touched = Instant::now();
        self.changed = self.touched;
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

/// Where the page's file goes and what it is called.
fn page_file(dir: &std::path::Path, number: u32, encoding: Encoding) -> PathBuf {
    dir.join(format!("page-{number:04}.{}", encoding.file_extension()))
}

/// Writes beside, then renames: a file on disk is always whole (a full disk leaves no half page).
async fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    if let Err(error) = tokio::fs::write(&part, bytes).await {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(error);
    }
    if let Err(error) = tokio::fs::rename(&part, path).await {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(error);
    }
    Ok(())
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

    /// The event bus the service publishes on (the command line follows its scan there).
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    fn scanner(&self, id: &str) -> Result<(DeviceHandle, ScannerSettings), ScanError> {
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
        if request.crop_id_card && request.source != ScanSource::Flatbed {
            return Err(ScanError::InvalidRequest(format!(
                "crop_id_card works on the flatbed only, not on the {} source",
                request.source.as_str()
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
                settings,
                deskew: request.deskew,
                crop_id_card: request.crop_id_card,
                state: ScanState::Scanning,
                reason: None,
                detail: None,
                failed_page: None,
                pages: Vec::new(),
                n_received: 0,
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

    /// Consumes a batch's updates: processes and keeps pages, reports progress, records the outcome.
    ///
    /// Up to [`PAGES_IN_FLIGHT`] pages go through the pipeline at once (the scanner is usually faster
    /// than one core), and they are kept strictly in the order they were scanned. Every page in flight
    /// is kept before the batch's outcome (paused, finished, failed) is recorded.
    async fn follow(self, session: SessionRef, mut updates: mpsc::Receiver<ScanUpdate>) {
        let mut last_progress: Option<Instant> = None;
        let mut in_flight: VecDeque<PageJob> = VecDeque::new();
        loop {
            let update = if in_flight.len() >= PAGES_IN_FLIGHT {
                None
            } else if let Some(oldest) = in_flight.front_mut() {
                tokio::select! {
                    biased;
                    processed = oldest => {
                        in_flight.pop_front();
                        if !self.keep_processed(&session, processed).await {
                            return;
                        }
                        continue;
                    }
                    update = updates.recv() => Some(update),
                }
            } else {
                Some(updates.recv().await)
            };
            let update = match update {
                // Full: the oldest page first.
                None => {
                    if let Some(oldest) = in_flight.pop_front() {
                        if !self.keep_processed(&session, oldest.await).await {
                            return;
                        }
                    }
                    continue;
                }
                Some(update) => update,
            };
            if let Some(ScanUpdate::Page(page)) = update {
                last_progress = None;
                let options = lock(&session).page_options(page.side);
                in_flight.push_back(tokio::task::spawn_blocking(move || pipeline::process_page(&page, &options)));
                continue;
            }
            if let Some(ScanUpdate::Progress(progress)) = update {
                self.progress(&session, progress, in_flight.len(), &mut last_progress);
                continue;
            }
            // The outcome comes after the pages scanned before it.
            while let Some(oldest) = in_flight.pop_front() {
                if !self.keep_processed(&session, oldest.await).await {
                    return;
                }
            }
            match update {
                None => return,
                Some(ScanUpdate::Page(_) | ScanUpdate::Progress(_)) => {}
                Some(ScanUpdate::Paused(error)) => {
                    let detail = Some(error.to_string());
                    self.finish(&session, ScanState::Paused, Some(reason_code(&error)), detail, true);
                }
                Some(ScanUpdate::Finished) => self.finish(&session, ScanState::Completed, None, None, false),
                Some(ScanUpdate::Failed(error)) => {
                    let detail = Some(error.to_string());
                    self.finish(&session, ScanState::Failed, Some(reason_code(&error)), detail, true);
                }
                Some(ScanUpdate::Cancelled) => {
                    // Cancelled by the page cap: a normal end with a reason; by a delete: gone anyway.
                    let capped = lock(&session).pages.len() >= MAX_PAGES;
                    if capped {
                        self.finish(&session, ScanState::Completed, Some("too_many_pages".into()), None, false);
                    } else {
                        self.finish(&session, ScanState::Cancelled, None, None, false);
                    }
                }
            }
        }
    }

    /// Keeps one page out of the pipeline; on a failure stops the batch, records it and answers false.
    async fn keep_processed(
        &self,
        session: &SessionRef,
        processed: Result<Result<ProcessedPage, pipeline::PipelineError>, tokio::task::JoinError>,
    ) -> bool {
        let reason = match processed {
            Ok(Ok(processed)) => match self.keep_page(session, processed).await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::error!(message = "Cannot keep scanned page.", %error);
                    let full = error.kind() == std::io::ErrorKind::StorageFull;
                    if full {
                        "storage_full"
                    } else {
                        "storage_error"
                    }
                }
            },
            Ok(Err(error)) => {
                tracing::warn!(message = "Scanner delivered a page the pipeline refused.", %error, code = error.code());
                StatusReason::ProtocolError.code()
            }
            Err(join) => {
                tracing::error!(message = "Page pipeline panicked.", error = %join);
                "internal"
            }
        };
        self.stop_batch(session);
        self.finish(session, ScanState::Failed, Some(reason.into()), None, true);
        false
    }

    /// Publishes how far the page being scanned is, at most [`PROGRESS_EVERY`] (and always its end).
    fn progress(&self, session: &SessionRef, progress: ScanProgress, in_flight: usize, last: &mut Option<Instant>) {
        let now = Instant::now();
        let complete = progress.expected_bytes.is_some_and(|expected| progress.bytes >= expected);
        if last.is_some_and(|at| now.duration_since(at) < PROGRESS_EVERY) && !complete {
            return;
        }
        *last = Some(now);
        let (origin, body) = {
            let s = lock(session);
            if s.state != ScanState::Scanning {
                return;
            }
            (
                s.origin.clone(),
                EventBody::ScanProgress {
                    scan_id: s.id.clone(),
                    page: (s.pages.len() + in_flight) as u32 + 1,
                    bytes: progress.bytes,
                    expected_bytes: progress.expected_bytes,
                },
            )
        };
        self.inner.events.publish(Some(&origin), body);
    }

    async fn keep_page(&self, session: &SessionRef, page: ProcessedPage) -> std::io::Result<()> {
        let (path, cancelled) = {
            let mut s = lock(session);
            s.n_received += 1;
            (page_file(&s.dir, s.n_received, page.image.encoding), s.state == ScanState::Cancelled)
        };
        if cancelled {
            return Ok(());
        }
        write_whole(&path, &page.image.bytes).await?;
        let stored = StoredPage {
            id: random_id(6),
            class: page.class,
            blank: page.blank,
            skew_degrees: page.skew_degrees,
            cropped: page.cropped,
            encoding: page.image.encoding,
            width: page.image.width,
            height: page.image.height,
            dpi: page.image.dpi,
            n_bytes: page.image.bytes.len() as u64,
            sha256: page.sha256,
            rotation: Rotation::None,
            path: path.clone(),
            thumbnail: None,
        };
        let kept = {
            let mut s = lock(session);
            // A page already in the pipeline when the cap was reached is dropped with the rest.
            if s.state == ScanState::Cancelled || s.pages.len() >= MAX_PAGES {
                None
            } else {
                s.pages.push(stored);
                s.mark_changed();
                if s.pages.len() >= MAX_PAGES {
                    s.cancel.cancel();
                }
                let index = s.pages.len() - 1;
                Some((s.id.clone(), s.origin.clone(), s.pages[index].view(index)))
            }
        };
        let Some((scan_id, origin, view)) = kept else {
            // Deleted while processing, or over the cap: do not leave the file behind.
            let _ = tokio::fs::remove_file(&path).await;
            return Ok(());
        };
        self.inner.events.publish(Some(&origin), page_event(&scan_id, &view));
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

    /// Records the outcome. `detail`: the driver error's text, if one ended the batch.
    /// `at_next_page`: the page after the last kept one is the one that failed.
    fn finish(
        &self,
        session: &SessionRef,
        state: ScanState,
        reason: Option<String>,
        detail: Option<String>,
        at_next_page: bool,
    ) {
        {
            let mut s = lock(session);
            if s.state == ScanState::Cancelled {
                return;
            }
            s.state = state;
            s.reason = reason;
            s.detail = detail;
            s.failed_page = at_next_page.then_some(s.pages.len() as u32 + 1);
            s.mark_changed();
            // What a technician needs to follow a batch; page content never goes to the log.
            tracing::info!(
                message = "Scan ended.",
                scan = %s.id,
                device = %s.device,
                state = s.state.as_str(),
                reason = s.reason.as_deref().unwrap_or(""),
                detail = s.detail.as_deref().unwrap_or(""),
                n_pages = s.pages.len(),
            );
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
                    detail: s.detail.clone(),
                    failed_page: s.failed_page,
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
            s.detail = None;
            s.failed_page = None;
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
            let dir = {
                let mut s = lock(&session);
                // Nothing refers to the pages any more; their thumbnails go with them.
                s.pages.clear();
                s.dir.clone()
            };
            if let Err(error) = std::fs::remove_dir_all(&dir) {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(message = "Cannot delete scan folder.", scan = %id, %error);
                }
            }
        }
    }

    /// Puts the pages in a new order: `order` lists every current index (1-based) exactly once, in
    /// the wanted order. Pages that arrive later are appended after them.
    pub fn reorder(&self, origin: &str, id: &str, order: &[u32]) -> Result<ScanView, ScanError> {
        let session = self.session(origin, id)?;
        let view = {
            let mut s = lock(&session);
            let count = s.pages.len();
            let mut seen = vec![false; count];
            let problem = if order.len() != count {
                Some(format!("order has {} entries but the scan has {count} pages", order.len()))
            } else {
                order.iter().find_map(|&index| match index.checked_sub(1).map(|i| i as usize) {
                    Some(i) if i < count && !seen[i] => {
                        seen[i] = true;
                        None
                    }
                    Some(i) if i < count => Some(format!("page {index} is listed twice")),
                    _ => Some(format!("page {index} does not exist (the scan has {count} pages)")),
                })
            };
            if let Some(problem) = problem {
                return Err(ScanError::InvalidOrder(format!(
                    "{problem}; list each page index from 1 to {count} once, e.g. [2, 1, 3]"
                )));
            }
            let mut old: Vec<Option<StoredPage>> = std::mem::take(&mut s.pages).into_iter().map(Some).collect();
            s.pages = order.iter().filter_map(|&index| old[index as usize - 1].take()).collect();
            s.mark_changed();
            s.view()
        };
        self.publish_pages(&session, "reorder");
        Ok(view)
    }

    /// Turns page `index` by `degrees` clockwise (90, 180, 270; added to its current rotation). The
    /// image is not re-encoded: views and the PDF's `/Rotate` apply the rotation.
    pub fn rotate(&self, origin: &str, id: &str, index: u32, degrees: i64) -> Result<PageView, ScanError> {
        let turn = match degrees {
            90 | 180 | 270 => i32::try_from(degrees).ok().and_then(Rotation::from_degrees),
            _ => None,
        }
        .ok_or(ScanError::InvalidRotation(degrees))?;
        let session = self.session(origin, id)?;
        let view = {
            let mut s = lock(&session);
            let position = s.position(index)?;
            let page = &mut s.pages[position];
            page.rotation = page.rotation.then(turn);
            let view = page.view(position);
            s.mark_changed();
            view
        };
        self.publish_pages(&session, "rotate");
        Ok(view)
    }

    /// Deletes page `index` and its file at once.
    pub async fn delete_page(&self, origin: &str, id: &str, index: u32) -> Result<ScanView, ScanError> {
        let session = self.session(origin, id)?;
        let (page, view) = {
            let mut s = lock(&session);
            let position = s.position(index)?;
            let page = s.pages.remove(position);
            s.mark_changed();
            (page, s.view())
        };
        if let Err(error) = tokio::fs::remove_file(&page.path).await {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(message = "Cannot delete a scanned page's file.", scan = %id, %error);
            }
        }
        self.publish_pages(&session, "delete");
        Ok(view)
    }

    fn publish_pages(&self, session: &SessionRef, change: &str) {
        let (origin, body) = {
            let s = lock(session);
            (
                s.origin.clone(),
                EventBody::ScanPages {
                    scan_id: s.id.clone(),
                    change: change.to_string(),
                    page_ids: s.pages.iter().map(|p| p.id.clone()).collect(),
                },
            )
        };
        self.inner.events.publish(Some(&origin), body);
    }

    /// A page's stored image and its rotation; a page deleted meanwhile is not found.
    async fn load_page(&self, session: &SessionRef, index: u32) -> Result<(EncodedImage, Rotation), ScanError> {
        let (path, rotation, template) = {
            let s = lock(session);
            let page = &s.pages[s.position(index)?];
            (page.path.clone(), page.rotation, page.image(Vec::new()))
        };
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let count = lock(session).pages.len();
                return Err(ScanError::PageNotFound { index, count });
            }
            Err(error) => return Err(error.into()),
        };
        Ok((EncodedImage { bytes, ..template }, rotation))
    }

    /// One page (1-based index) as JPEG or PNG, with its rotation applied. A stored JPEG page asked
    /// for as JPEG without rotation is served as stored (same bytes as in the PDF).
    pub async fn page(&self, origin: &str, id: &str, index: u32, format: ViewFormat) -> Result<Vec<u8>, ScanError> {
        let session = self.session(origin, id)?;
        let (image, rotation) = self.load_page(&session, index).await?;
        let stored_jpeg = matches!(image.encoding, Encoding::JpegGray | Encoding::JpegColor);
        if stored_jpeg && rotation == Rotation::None && format == ViewFormat::Jpeg {
            return Ok(image.bytes);
        }
        tokio::task::spawn_blocking(move || pipeline::render(&image, rotation, format, None))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .map_err(ScanError::Render)
    }

    /// A small JPEG of page `index` (longer side [`THUMBNAIL_SIDE`]), rendered once per rotation.
    pub async fn thumbnail(&self, origin: &str, id: &str, index: u32) -> Result<Arc<Vec<u8>>, ScanError> {
        let session = self.session(origin, id)?;
        let (page_id, cached) = {
            let s = lock(&session);
            let page = &s.pages[s.position(index)?];
            let cached = page.thumbnail.as_ref().filter(|(rotation, _)| *rotation == page.rotation);
            (page.id.clone(), cached.map(|(_, bytes)| bytes.clone()))
        };
        if let Some(bytes) = cached {
            return Ok(bytes);
        }
        let (image, rotation) = self.load_page(&session, index).await?;
        let bytes = tokio::task::spawn_blocking(move || {
            pipeline::render(&image, rotation, ViewFormat::Jpeg, Some(THUMBNAIL_SIDE))
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .map_err(ScanError::Render)?;
        let bytes = Arc::new(bytes);
        let mut s = lock(&session);
        if let Some(page) = s.pages.iter_mut().find(|p| p.id == page_id) {
            page.thumbnail = Some((rotation, bytes.clone()));
        }
        Ok(bytes)
    }

    /// The assembled PDF. With `max_bytes`, pages are re-encoded smaller when needed to fit; when
    /// even the smallest attempt is over, the error says how small it got.
    pub async fn document(&self, origin: &str, id: &str, max_bytes: Option<usize>) -> Result<Vec<u8>, ScanError> {
        let session = self.session(origin, id)?;
        let (pages, created_ms) = {
            let s = lock(&session);
            if s.state == ScanState::Scanning {
                return Err(ScanError::InProgress(s.id.clone()));
            }
            let pages: Vec<(EncodedImage, Rotation, [u8; 32], PathBuf)> =
                s.pages.iter().map(|p| (p.image(Vec::new()), p.rotation, p.sha256, p.path.clone())).collect();
            (pages, s.created_ms)
        };
        if pages.is_empty() {
            return Err(ScanError::NoPages);
        }
        // One document at a time: each is built in memory.
        let _permit = self.inner.assembling.acquire().await.map_err(|_| std::io::Error::other("shutting down"))?;
        let mut loaded = Vec::with_capacity(pages.len());
        for (template, rotation, sha256, path) in pages {
            match tokio::fs::read(&path).await {
                Ok(bytes) => loaded.push((EncodedImage { bytes, ..template }, rotation, sha256)),
                // Deleted by the clerk while the document was being gathered: not in it.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error.into()),
            }
        }
        if loaded.is_empty() {
            return Err(ScanError::NoPages);
        }
        let meta = DocumentMeta { title: DOCUMENT_TITLE.to_string(), created_utc_seconds: created_ms / 1000 };
        let built = tokio::task::spawn_blocking(move || {
            let pages: Vec<DocumentPage<'_>> = loaded
                .iter()
                .map(|(image, rotation, sha256)| DocumentPage { image, rotation: *rotation, sha256: *sha256 })
                .collect();
            match max_bytes {
                Some(limit) => pipeline::fit(&pages, &meta, limit),
                None => Ok(pipeline::assemble(&pages, &meta)),
            }
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        built.map_err(|error| ScanError::TooLarge { smallest: error.smallest, limit: error.limit })
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
                let failed_page = lock(&session).failed_page;
                self.finish(&session, ScanState::Failed, Some("abandoned".into()), None, false);
                lock(&session).failed_page = failed_page;
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

/// The `scan.page` event of a kept page: where it is, what it is, never what it shows.
fn page_event(scan_id: &str, view: &PageView) -> EventBody {
    EventBody::ScanPage {
        scan_id: scan_id.to_string(),
        index: view.index,
        page_id: view.id.clone(),
        thumbnail_url: thumbnail_url(scan_id, view.index),
        width: view.width,
        height: view.height,
        dpi: view.dpi,
        class: view.class.as_str().to_string(),
        blank: view.blank,
        skew_corrected: view.skew_degrees != 0.0,
        cropped: view.cropped,
        encoding: view.encoding.as_str().to_string(),
        n_bytes: view.n_bytes,
    }
}

/// Where a page's thumbnail is served.
pub fn thumbnail_url(scan_id: &str, index: u32) -> String {
    format!("/v1/scans/{scan_id}/pages/{index}/thumbnail")
}

#[cfg(test)]
mod tests {
    use counter_agent_driver_api::{PixelFormat, RawPage};

    use super::*;
    use crate::events::Event;
    use crate::store::Store;

    fn settings(duplex_back_rotate_180: bool) -> ScannerSettings {
        ScannerSettings {
            max_dpi: 600,
            default_dpi: 300,
            sources: vec![ScanSource::Flatbed, ScanSource::Adf, ScanSource::AdfDuplex],
            duplex_back_rotate_180,
            sane: Default::default(),
        }
    }

    /// A service without devices, and a session on it fed by hand (as the device actor would).
    fn session_on(dir: &std::path::Path, source: ScanSource, rotate_back: bool) -> (ScanService, SessionRef) {
        let events = EventBus::new(Store::open_in_memory().expect("store"));
        let service = ScanService::new(Devices::default(), events, dir.join("scans"), DEFAULT_RETENTION, PAUSED_IDLE)
            .expect("service");
        let dir = service.inner.dir.join("s1");
        std::fs::create_dir_all(&dir).expect("dir");
        let session = Arc::new(Mutex::new(Session {
            id: "s1".into(),
            origin: "https://app.example".into(),
            device: String::from("scanner"),
            request: ScanRequest { source, color: ColorMode::Auto, dpi: 100 },
            settings: settings(rotate_back),
            deskew: true,
            crop_id_card: true,
            state: ScanState::Scanning,
            reason: None,
            detail: None,
            failed_page: None,
            pages: Vec::new(),
            n_received: 0,
            cancel: CancelToken::new(),
            dir,
            touched: Instant::now(),
            changed: Instant::now(),
            created_ms: 0,
            updated_ms: 0,
        }));
        lock(&service.inner.sessions).insert("s1".into(), session.clone());
        (service, session)
    }

    fn white_page(side: PageSide) -> RawPage {
        let (width, height) = (200, 280);
        RawPage {
            width,
            height,
            dpi: 100,
            format: PixelFormat::Gray8,
            stride: width as usize,
            side,
            data: vec![255; (width * height) as usize],
        }
    }

    fn drain(events: &mut tokio::sync::broadcast::Receiver<Arc<Event>>) -> Vec<EventBody> {
        let mut out = Vec::new();
        while let Ok(event) = events.try_recv() {
            out.push(event.body.clone());
        }
        out
    }

    #[test]
    fn page_options_follow_the_request_and_the_profile() {
        let dir = tempfile::tempdir().expect("dir");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let _guard = runtime.enter();
        let (_, duplex) = session_on(dir.path(), ScanSource::AdfDuplex, true);
        let s = lock(&duplex);
        assert!(s.page_options(PageSide::Back).rotate_180, "back sides turned when the profile says so");
        assert!(!s.page_options(PageSide::Front).rotate_180);
        assert!(!s.page_options(PageSide::Front).crop_id_card, "cropping is for the flatbed only");
        assert!(s.page_options(PageSide::Front).deskew);
        drop(s);
        let (_, plain) = session_on(dir.path(), ScanSource::AdfDuplex, false);
        assert!(!lock(&plain).page_options(PageSide::Back).rotate_180);
        let (_, flatbed) = session_on(dir.path(), ScanSource::Flatbed, false);
        assert!(lock(&flatbed).page_options(PageSide::Front).crop_id_card);
    }

    /// Progress is published at most every 200 ms (its end always), naming the page being
    /// scanned; pages are announced with their flags; a pause names the page after the last kept.
    #[tokio::test(start_paused = true)]
    async fn progress_is_throttled_and_names_the_page_being_scanned() {
        let dir = tempfile::tempdir().expect("dir");
        let (service, session) = session_on(dir.path(), ScanSource::Adf, false);
        let mut events = service.events().subscribe();
        let (updates, receiver) = mpsc::channel(256);
        let follow = tokio::spawn(service.clone().follow(session.clone(), receiver));
        let progress = |bytes: u64| ScanUpdate::Progress(ScanProgress { bytes, expected_bytes: Some(10_000) });
        for bytes in (0..5_000).step_by(100) {
            updates.send(progress(bytes)).await.expect("send");
        }
        tokio::task::yield_now().await;
        tokio::time::advance(PROGRESS_EVERY).await;
        updates.send(progress(6_000)).await.expect("send");
        updates.send(progress(7_000)).await.expect("send");
        updates.send(progress(10_000)).await.expect("send");
        updates.send(ScanUpdate::Page(white_page(PageSide::Front))).await.expect("send");
        updates.send(ScanUpdate::Progress(ScanProgress { bytes: 10, expected_bytes: None })).await.expect("send");
        updates.send(ScanUpdate::Paused(DriverError::Fault { reason: StatusReason::Jammed })).await.expect("send");
        drop(updates);
        follow.await.expect("follow ends");

        let bodies = drain(&mut events);
        let progress: Vec<(u32, u64)> = bodies
            .iter()
            .filter_map(|b| match b {
                EventBody::ScanProgress { page, bytes, .. } => Some((*page, *bytes)),
                _ => None,
            })
            .collect();
        assert_eq!(progress, [(1, 0), (1, 6_000), (1, 10_000), (2, 10)]);
        let page = bodies.iter().find(|b| matches!(b, EventBody::ScanPage { .. })).expect("page event");
        let EventBody::ScanPage { index, class, blank, thumbnail_url, page_id, .. } = page else { unreachable!() };
        assert_eq!((*index, class.as_str(), *blank), (1, "blank", true));
        assert_eq!(thumbnail_url, "/v1/scans/s1/pages/1/thumbnail");
        assert!(!page_id.is_empty());
        let state = bodies.last().expect("state event");
        assert!(
            matches!(state, EventBody::ScanState { state, reason: Some(reason), failed_page: Some(2), n_pages: 1, .. }
                if state == "paused" && reason == "jammed"),
            "{state:?}"
        );
        // The page is on disk, whole.
        let files = std::fs::read_dir(dir.path().join("scans").join("s1")).expect("dir").count();
        assert_eq!(files, 1);
    }
}
