//! `counter-agent scan`: one batch through the same [`ScanService`] the daemon uses, followed on its
//! event bus, written as a PDF file. Knows nothing of HTTP; `main` builds the service.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use counter_agent_driver_api::StatusReason;
use tokio::sync::broadcast::error::RecvError;

use super::{ScanError, ScanService, ScanState, StartScan};
use crate::events::EventBody;

/// The origin the command line's scans belong to (no browser can send it: it is not a URL).
pub const CLI_ORIGIN: &str = "counter-agent scan";

/// Why a command-line scan produced no file.
#[derive(Debug, thiserror::Error)]
pub enum CliScanError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error("the scanner stopped at page {page}: {reason}{}", if *.kept > 0 { format!(" ({} page(s) were scanned before it; nothing was written)", .kept) } else { String::new() })]
    Stopped { page: u32, reason: String, kept: usize },
    #[error("the scan ended without pages: {0}")]
    Empty(String),
    #[error("stopped by Ctrl-C; nothing was written")]
    Interrupted,
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// What the command line shows and asks.
pub struct Terminal {
    /// stderr is a terminal: one progress line redrawn in place; otherwise plain lines.
    pub tty: bool,
    /// stdin is a terminal: a jam asks to press Enter instead of failing.
    pub interactive: bool,
}

/// A reason code with its Vietnamese text when it is a device reason.
fn describe(reason: &str) -> String {
    match StatusReason::from_code(reason) {
        Some(status) => format!("{reason} — {}", status.message_vi()),
        None => reason.to_string(),
    }
}

impl Terminal {
    fn line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{text}\n");
        } else {
            let _ = writeln!(err, "{text}");
        }
    }

    fn progress(&self, pages: usize, page: u32, percent: Option<u64>) {
        if !self.tty {
            return;
        }
        let current = match percent {
            Some(p) => format!("page {page}: {p:>3}%"),
            None => format!("page {page}: scanning…"),
        };
        let filled = percent.map_or(0, |p| (p.min(100) / 5) as usize);
        let bar: String = "#".repeat(filled) + &"-".repeat(20 - filled);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{pages} page(s) done  [{bar}] {current}");
        let _ = err.flush();
    }
}

/// Scans one batch, pausing on a jam (interactive: waits for Enter; otherwise fails), builds the
/// PDF (fitted under `max_bytes` when given) and writes it to `out` atomically. The session and
/// its pages are deleted in every case.
pub async fn scan_to_file(
    service: &ScanService,
    request: StartScan,
    max_bytes: Option<usize>,
    out: &Path,
    terminal: &Terminal,
) -> Result<usize, CliScanError> {
    // A path that cannot be written is found before the clerk feeds a stack of paper, not after.
    check_writable(out).map_err(|source| CliScanError::Write { path: out.to_path_buf(), source })?;
    let mut events = service.events().subscribe();
    let scan = service.start(CLI_ORIGIN, request)?;
    let id = scan.id.clone();
    let result = follow(service, &id, &mut events, max_bytes, out, terminal).await;
    let _ = service.delete(CLI_ORIGIN, &id);
    result
}

async fn follow(
    service: &ScanService,
    id: &str,
    events: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<crate::events::Event>>,
    max_bytes: Option<usize>,
    out: &Path,
    terminal: &Terminal,
) -> Result<usize, CliScanError> {
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let event = tokio::select! {
            _ = &mut ctrl_c => {
                if terminal.tty { eprintln!(); }
                return Err(CliScanError::Interrupted);
            }
            event = tokio::time::timeout(Duration::from_secs(1), events.recv()) => event,
        };
        match event {
            Ok(Ok(event)) => match &event.body {
                EventBody::ScanProgress { scan_id, page, bytes, expected_bytes } if scan_id == id => {
                    let pages = service.get(CLI_ORIGIN, id)?.pages.len();
                    let percent = expected_bytes.filter(|&e| e > 0).map(|e| bytes.saturating_mul(100) / e);
                    terminal.progress(pages, *page, percent);
                    continue;
                }
                EventBody::ScanPage { scan_id, index, class, n_bytes, .. } if scan_id == id => {
                    terminal.line(&format!("page {index} scanned ({class}, {} KB)", n_bytes.div_ceil(1024)));
                    continue;
                }
                EventBody::ScanState { scan_id, .. } if scan_id == id => {}
                _ => continue,
            },
            // Missed events or a quiet second: the session's state says where we are.
            Ok(Err(RecvError::Lagged(_))) | Err(_) => {}
            Ok(Err(RecvError::Closed)) => return Err(CliScanError::Empty("the agent stopped".into())),
        }
        let view = service.get(CLI_ORIGIN, id)?;
        match view.state {
            ScanState::Scanning => {}
            ScanState::Completed => {
                if view.pages.is_empty() {
                    return Err(CliScanError::Empty(view.reason.unwrap_or_else(|| "no pages".into())));
                }
                if let Some(reason) = &view.reason {
                    terminal.line(&format!("note: the batch ended early: {}", describe(reason)));
                }
                terminal.line(&format!("{} page(s) scanned; building the PDF…", view.pages.len()));
                let pdf = service.document(CLI_ORIGIN, id, max_bytes).await?;
                write_atomically(out, &pdf)
                    .map_err(|source| CliScanError::Write { path: out.to_path_buf(), source })?;
                terminal.line(&format!("wrote {} ({} pages, {} bytes)", out.display(), view.pages.len(), pdf.len()));
                return Ok(view.pages.len());
            }
            ScanState::Paused => {
                let page = view.failed_page.unwrap_or(view.pages.len() as u32 + 1);
                let reason = describe(view.reason.as_deref().unwrap_or("unknown"));
                if !terminal.interactive {
                    return Err(CliScanError::Stopped { page, reason, kept: view.pages.len() });
                }
                terminal.line(&format!(
                    "paused at page {page}: {reason}\nClear the scanner, then press Enter to continue, Ctrl-C to stop."
                ));
                let enter = tokio::task::spawn_blocking(|| {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map(|n| n > 0)
                });
                tokio::select! {
                    _ = &mut ctrl_c => return Err(CliScanError::Interrupted),
                    answer = enter => {
                        if !matches!(answer, Ok(Ok(true))) {
                            return Err(CliScanError::Stopped { page, reason, kept: view.pages.len() });
                        }
                    }
                }
                service.resume(CLI_ORIGIN, id)?;
            }
            ScanState::Failed | ScanState::Cancelled => {
                let page = view.failed_page.unwrap_or(view.pages.len() as u32 + 1);
                let reason = describe(view.reason.as_deref().unwrap_or(view.state.as_str()));
                if view.pages.is_empty() && view.failed_page.is_none() {
                    return Err(CliScanError::Empty(reason));
                }
                return Err(CliScanError::Stopped { page, reason, kept: view.pages.len() });
            }
        }
    }
}

/// The private page folder of this run, `data_dir/scan-cli-<pid>`. Folders of earlier runs whose
/// process is gone (killed mid-scan) are deleted first: they hold citizen data nobody will read.
pub fn pages_dir(data_dir: &Path) -> PathBuf {
    if let Ok(entries) = std::fs::read_dir(data_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("scan-cli-")) else { continue };
            if pid.parse::<u32>().is_ok_and(|pid| pid != std::process::id() && !process_alive(pid)) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    data_dir.join(format!("scan-cli-{}", std::process::id()))
}

/// Whether a process with this id runs (Linux: `/proc/<pid>`; elsewhere assumed alive).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// The temporary file written beside `path` before it is renamed over it.
fn part_path(path: &Path) -> std::io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| std::io::Error::other("the output path has no file name"))?;
    let mut part_name = std::ffi::OsString::from(".");
    part_name.push(name);
    part_name.push(format!(".{}.part", std::process::id()));
    Ok(path.with_file_name(part_name))
}

/// Whether the document can be written to `path` later: creates and removes its temporary file.
fn check_writable(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::other("it is a folder; give a file name such as hoso.pdf"));
    }
    let part = part_path(path)?;
    std::fs::File::create(&part)?;
    std::fs::remove_file(&part)
}

/// Writes beside `path`, syncs, then renames over it: the file is either whole or not there.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let part = part_path(path)?;
    let written = (|| {
        let mut file = std::fs::File::create(&part)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&part, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    written
}
