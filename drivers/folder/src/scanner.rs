//! The hot-folder scanner: a batch takes the files in the folder and those that arrive, page by
//! page, until the folder has been quiet for a while.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use counter_agent_driver_api::{
    CancelToken, Device, DeviceKind, DeviceStatus, DriverError, PageWatch, RawPage, ScanProgress, ScanRequest,
    ScanSource, Scanner, StatusReason,
};

use crate::decode::PageSource;
use crate::inbox::{Candidate, Inbox, Settler, Stamp};
use crate::spec::Timing;

/// The longest a wait sleeps before looking at the cancel flag again.
const CANCEL_CHECK: Duration = Duration::from_millis(50);
/// How often `status` proves the folder writable.
const WRITE_PROBE_EVERY: Duration = Duration::from_secs(30);

/// An open hot folder.
#[derive(Debug)]
pub struct FolderScanner {
    inbox: Inbox,
    timing: Timing,
    /// Files this process must not take again: taken but not deletable, or unreadable and not
    /// movable to `rejected/`. Keyed by stamp, so a file written anew under the same name is new.
    skip: HashSet<(PathBuf, Stamp)>,
    batch: Option<Batch>,
    /// When the folder was last proven writable.
    last_write_probe: Instant,
}

#[derive(Debug)]
struct Batch {
    source: ScanSource,
    settler: Settler,
    /// The file whose pages are being handed over.
    current: Option<OpenFile>,
    n_pages: u32,
    n_files: u32,
    /// Last time a page was handed over or the folder changed; the idle and wait clocks run from it.
    last_activity: Instant,
    /// The previous call ended in a fault: the clerk has pressed "continue", restart the clocks.
    resumed: bool,
}

#[derive(Debug)]
struct OpenFile {
    file: Candidate,
    pages: PageSource,
}

/// A driver error for a folder that cannot be used (see [`Inbox::check_access`]).
fn folder_gone(detail: String) -> DriverError {
    DriverError::NotFound { detail }
}

impl FolderScanner {
    pub(crate) fn open(path: PathBuf, timing: Timing) -> Result<FolderScanner, DriverError> {
        let inbox = Inbox::new(path);
        inbox.check_access(true).map_err(folder_gone)?;
        let last_write_probe = Instant::now();
        Ok(FolderScanner { inbox, timing, skip: HashSet::new(), batch: None, last_write_probe })
    }

    /// Deletes a file all of whose pages have been handed over (citizen data must not linger).
    fn consume(&mut self, file: &Candidate) {
        if std::fs::remove_file(&file.path).is_err() && self.inbox.stamp(&file.path).is_some() {
            // Cannot delete (permissions changed?): never take it twice in this run.
            self.skip.insert((file.path.clone(), file.stamp));
        }
    }

    /// Moves an unreadable file to `rejected/` and pauses the batch with `unreadable_file`.
    fn reject(&mut self, file: &Candidate, reason: &str) -> DriverError {
        if self.inbox.reject(file, reason, self.timing.rejected_keep).is_err() {
            self.skip.insert((file.path.clone(), file.stamp));
        }
        if let Some(batch) = self.batch.as_mut() {
            batch.current = None;
            batch.resumed = true;
            batch.settler.forget(&file.path);
        }
        DriverError::Fault { reason: StatusReason::UnreadableFile }
    }

    /// Reads a settled file. `Ok(None)`: it changed or vanished since it was listed. A file that
    /// is there but cannot be read (permissions) is rejected like an unreadable image, so one bad
    /// file never blocks the folder.
    fn read(&mut self, file: &Candidate) -> Result<Option<Vec<u8>>, DriverError> {
        let bytes = match std::fs::read(&file.path) {
            Ok(bytes) => bytes,
            Err(_) if self.inbox.stamp(&file.path).is_none() => return Ok(None),
            Err(error) => return Err(self.reject(file, &format!("cannot read the file: {error}"))),
        };
        if self.inbox.stamp(&file.path) != Some(file.stamp) || bytes.len() as u64 != file.stamp.size {
            if let Some(batch) = self.batch.as_mut() {
                batch.settler.forget(&file.path);
            }
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    fn wait(&self, cancel: &CancelToken) -> Result<(), DriverError> {
        let until = Instant::now() + self.timing.poll;
        loop {
            if cancel.is_cancelled() {
                return Err(DriverError::Cancelled);
            }
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            std::thread::sleep((until - now).min(CANCEL_CHECK));
        }
    }
}

impl Device for FolderScanner {
    fn kind(&self) -> DeviceKind {
        DeviceKind::Scanner
    }

    /// Lists the folder on every poll; writes the probe file, and deletes expired files in
    /// `rejected/`, at most every `WRITE_PROBE_EVERY` (the folder is a share others look at).
    fn status(&mut self) -> Result<DeviceStatus, DriverError> {
        let probe = self.last_write_probe.elapsed() >= WRITE_PROBE_EVERY;
        self.inbox.check_access(probe).map_err(folder_gone)?;
        if probe {
            self.last_write_probe = Instant::now();
            self.inbox.purge_rejected(self.timing.rejected_keep);
        }
        Ok(DeviceStatus::READY)
    }

    fn as_scanner(&mut self) -> Option<&mut dyn Scanner> {
        Some(self)
    }
}

impl Scanner for FolderScanner {
    fn start_batch(&mut self, request: &ScanRequest) -> Result<(), DriverError> {
        self.end_batch();
        self.inbox.check_access(true).map_err(folder_gone)?;
        self.inbox.purge_rejected(self.timing.rejected_keep);
        self.batch = Some(Batch {
            source: request.source,
            settler: Settler::default(),
            current: None,
            n_pages: 0,
            n_files: 0,
            last_activity: Instant::now(),
            resumed: false,
        });
        Ok(())
    }

    fn next_page(&mut self) -> Result<Option<RawPage>, DriverError> {
        let cancel = CancelToken::new();
        let mut ignore = |_: ScanProgress| {};
        self.next_page_watched(&mut PageWatch { cancel: &cancel, progress: &mut ignore })
    }

    fn next_page_watched(&mut self, watch: &mut PageWatch<'_>) -> Result<Option<RawPage>, DriverError> {
        let timing = self.timing;
        let Some(batch) = self.batch.as_mut() else {
            return Err(DriverError::Unsupported { what: "a page outside a scan batch".into() });
        };
        if std::mem::take(&mut batch.resumed) {
            batch.last_activity = Instant::now();
        }
        let mut last_progress = None;
        loop {
            if watch.cancel.is_cancelled() {
                return Err(DriverError::Cancelled);
            }
            let batch = self.batch.as_mut().ok_or(DriverError::Cancelled)?;

            // 1. The open file's next page. Reaching its end here means the caller has every page
            //    of it (this is a later call than the one that returned its last page): delete it.
            if let Some(open) = batch.current.as_mut() {
                if open.pages.is_exhausted() {
                    let file = open.file.clone();
                    batch.current = None;
                    self.consume(&file);
                    continue;
                }
                match open.pages.next_page() {
                    Ok(Some(page)) => {
                        batch.n_pages += 1;
                        batch.last_activity = Instant::now();
                        return Ok(Some(page));
                    }
                    Ok(None) => {
                        open.pages = PageSource::Single(None);
                        continue;
                    }
                    Err(error) => {
                        let file = open.file.clone();
                        return Err(self.reject(&file, &error_chain(&error)));
                    }
                }
            }
            if batch.source == ScanSource::Flatbed && batch.n_files > 0 {
                // The flatbed takes one file: the page (or pages) on the glass.
                return Ok(None);
            }

            // 2. Look at the folder for the next complete file.
            let listing = self.inbox.list().map_err(|error| match self.inbox.check_access(false) {
                Err(detail) => folder_gone(detail),
                Ok(()) => DriverError::Io(error),
            })?;
            let listing: Vec<Candidate> =
                listing.into_iter().filter(|file| !self.skip.contains(&(file.path.clone(), file.stamp))).collect();
            let now = Instant::now();
            let observation = batch.settler.observe(listing, now, timing.settle);
            if observation.changed {
                batch.last_activity = now;
            }
            if let Some(file) = observation.settled.into_iter().next() {
                let Some(bytes) = self.read(&file)? else {
                    continue;
                };
                (watch.progress)(ScanProgress { bytes: bytes.len() as u64, expected_bytes: Some(bytes.len() as u64) });
                match PageSource::open(bytes) {
                    Ok(pages) => {
                        let batch = self.batch.as_mut().ok_or(DriverError::Cancelled)?;
                        batch.n_files += 1;
                        batch.current = Some(OpenFile { file, pages });
                        continue;
                    }
                    Err(error) => return Err(self.reject(&file, &error_chain(&error))),
                }
            }
            if let Some(bytes) = observation.settling_bytes.filter(|bytes| last_progress != Some(*bytes)) {
                last_progress = Some(bytes);
                (watch.progress)(ScanProgress { bytes, expected_bytes: None });
            }

            // 3. Nothing to take: end the batch, give up, or wait.
            let quiet = now.saturating_duration_since(batch.last_activity);
            if batch.n_pages > 0 && quiet >= timing.idle {
                return Ok(None);
            }
            if batch.n_pages == 0 && quiet >= timing.wait {
                return Err(DriverError::Fault { reason: StatusReason::FeederEmpty });
            }
            self.wait(watch.cancel)?;
        }
    }

    fn end_batch(&mut self) {
        let Some(batch) = self.batch.take() else {
            return;
        };
        // A file whose pages were all handed over goes; one handed over only in part (cancelled
        // in the middle of a multi-page TIFF) stays whole for the next batch: nothing is lost.
        if let Some(open) = batch.current.filter(|open| open.pages.is_exhausted()) {
            self.consume(&open.file);
        }
    }
}

/// An error and its sources, for the note beside a rejected file. A source that only repeats
/// what is already said is left out, and one that says more than the part before it replaces it
/// (the `tiff` crate's errors often wrap the same text twice).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.iter().any(|part| part.contains(&text)) {
            // Already said.
        } else if parts.last().is_some_and(|last| text.contains(last.as_str())) {
            if let Some(last) = parts.last_mut() {
                *last = text;
            }
        } else {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
