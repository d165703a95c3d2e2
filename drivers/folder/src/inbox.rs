//! The folder itself: which files in it are candidates, when a file is complete, and the two ways
//! a file leaves it (deleted once its pages were handed over, or moved to `rejected/`).
//!
//! This module knows nothing about pixels or batches.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The subfolder unreadable files are moved to.
pub const REJECTED_DIR: &str = "rejected";

/// A hidden file the status check creates and removes to prove the folder is writable.
const PROBE_NAME: &str = ".counter-agent-write-check";

/// Size and modification time: while either changes, the file is still being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Stamp {
    pub size: u64,
    pub modified: SystemTime,
}

impl Stamp {
    fn of(metadata: &fs::Metadata) -> Stamp {
        Stamp { size: metadata.len(), modified: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH) }
    }
}

/// A regular file in the folder that may hold pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub path: PathBuf,
    pub name: String,
    pub stamp: Stamp,
}

/// Names that are never pages: hidden files, partial downloads and uploads, Office lock files and
/// the files Windows and macOS leave in shared folders. Compared case-insensitively.
pub(crate) fn is_ignored(name: &str) -> bool {
    let lower = name.to_lowercase();
    name.starts_with('.')
        || name.starts_with("~$")
        || [".part", ".tmp", ".partial", ".crdownload", ".filepart"].iter().any(|suffix| lower.ends_with(suffix))
        || ["thumbs.db", "desktop.ini"].contains(&lower.as_str())
}

/// The hot folder.
#[derive(Debug, Clone)]
pub(crate) struct Inbox {
    dir: PathBuf,
}

impl Inbox {
    pub fn new(dir: PathBuf) -> Inbox {
        Inbox { dir }
    }

    /// Whether the folder exists, can be listed and (with `write_probe`) written: the detail says
    /// what is wrong.
    pub fn check_access(&self, write_probe: bool) -> Result<(), String> {
        let shown = self.dir.display();
        match fs::metadata(&self.dir) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => return Err(format!("{shown} is not a folder — point folder: at the scan folder")),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(format!(
                    "folder {shown} does not exist — create it (and share it with the printer) or fix the connection"
                ))
            }
            Err(error) => return Err(format!("cannot open folder {shown}: {error}")),
        }
        if let Err(error) = fs::read_dir(&self.dir) {
            return Err(format!("cannot list folder {shown}: {error} — give the agent's user read access"));
        }
        if !write_probe {
            return Ok(());
        }
        let probe = self.dir.join(PROBE_NAME);
        match fs::write(&probe, b"") {
            Ok(()) => {
                let _ = fs::remove_file(&probe);
                Ok(())
            }
            Err(error) => Err(format!(
                "cannot write in folder {shown}: {error} — the agent deletes files it has taken, \
                 give its user write access"
            )),
        }
    }

    /// The candidate files, in page order: oldest modification first, then by name.
    pub fn list(&self) -> io::Result<Vec<Candidate>> {
        let mut candidates = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            // A name that is not Unicode is still a file someone dropped: it is shown lossily but
            // read and moved through its real path.
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_ignored(&name) {
                continue;
            }
            if let Some(candidate) = candidate(&entry, name) {
                candidates.push(candidate);
            }
        }
        candidates.sort_by(|a, b| (a.stamp.modified, &a.name).cmp(&(b.stamp.modified, &b.name)));
        Ok(candidates)
    }

    /// The file's stamp now, or `None` when it is gone.
    pub fn stamp(&self, path: &Path) -> Option<Stamp> {
        fs::metadata(path).ok().filter(fs::Metadata::is_file).map(|metadata| Stamp::of(&metadata))
    }

    /// Moves a file to `rejected/` (created when needed) under a free name, with a
    /// `<name>.reason.txt` beside it saying why. Returns where the file went.
    pub fn reject(&self, file: &Candidate, reason: &str) -> io::Result<PathBuf> {
        let rejected = self.dir.join(REJECTED_DIR);
        fs::create_dir_all(&rejected)?;
        let target = free_name(&rejected, &file.name);
        fs::rename(&file.path, &target)?;
        let target_name = target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let note = format!(
            "{target_name}: not taken as a scanned page.\nReason: {reason}\n\
             Tệp này không được lấy làm trang quét: tệp không phải ảnh JPEG, PNG, TIFF đọc được. \
             Kiểm tra tệp rồi xoá, hoặc quét lại.\n"
        );
        // The note is a courtesy; the file itself is what must not be lost.
        let _ = fs::write(rejected.join(format!("{target_name}.reason.txt")), note);
        Ok(target)
    }
}

fn candidate(entry: &fs::DirEntry, name: String) -> Option<Candidate> {
    // `metadata` follows symbolic links: a link to an image is taken like the image.
    let metadata = fs::metadata(entry.path()).ok()?;
    metadata.is_file().then(|| Candidate { path: entry.path(), name, stamp: Stamp::of(&metadata) })
}

/// `name`, or `name (2)`, `name (3)`… before the extension, whichever does not exist in `dir`.
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, format!(".{extension}")),
        _ => (name, String::new()),
    };
    (2..).map(|n| dir.join(format!("{stem} ({n}){extension}"))).find(|path| !path.exists()).unwrap_or(first)
}

/// What one listing tells about files still being written.
#[derive(Debug, Default)]
pub(crate) struct Observation {
    /// Some file appeared, grew, shrank or was touched since the last listing.
    pub changed: bool,
    /// Files complete by the settle rule, in page order.
    pub settled: Vec<Candidate>,
    /// Size of the largest file still being written, for progress.
    pub settling_bytes: Option<u64>,
}

/// Remembers when each file's stamp was last seen to change. A file is settled once its stamp has
/// been the same for the settle interval *as observed here*: the modification time alone is not
/// trusted, because SMB servers may update it only when the writer closes the file, and the
/// printer's clock may differ from ours.
#[derive(Debug, Default)]
pub(crate) struct Settler {
    seen: HashMap<PathBuf, (Stamp, Instant)>,
}

impl Settler {
    pub fn observe(&mut self, listing: Vec<Candidate>, now: Instant, settle: Duration) -> Observation {
        let mut observation = Observation::default();
        self.seen.retain(|path, _| listing.iter().any(|candidate| &candidate.path == path));
        for candidate in listing {
            let since = match self.seen.get(&candidate.path) {
                Some((stamp, since)) if *stamp == candidate.stamp => *since,
                _ => {
                    observation.changed = true;
                    self.seen.insert(candidate.path.clone(), (candidate.stamp, now));
                    now
                }
            };
            if now.saturating_duration_since(since) >= settle {
                observation.settled.push(candidate);
            } else {
                let bytes = observation.settling_bytes.unwrap_or(0).max(candidate.stamp.size);
                observation.settling_bytes = Some(bytes);
            }
        }
        observation
    }

    /// Forgets a file, so it must settle again (it changed after it was read).
    pub fn forget(&mut self, path: &Path) {
        self.seen.remove(path);
    }
}
