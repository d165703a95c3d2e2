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

    /// The file's stamp now, or `None` when it is gone or is no longer a regular file (replaced by
    /// a symbolic link).
    pub fn stamp(&self, path: &Path) -> Option<Stamp> {
        regular_file(path).map(|metadata| Stamp::of(&metadata))
    }

    /// Moves a file to `rejected/` (created when needed) under a free name, with a
    /// `<name>.reason.txt` beside it saying why. Returns where the file went.
    pub fn reject(&self, file: &Candidate, reason: &str, keep: Duration) -> io::Result<PathBuf> {
        let rejected = self.dir.join(REJECTED_DIR);
        fs::create_dir_all(&rejected)?;
        let target = free_name(&rejected, &file.name);
        fs::rename(&file.path, &target)?;
        let target_name = target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let (amount, english, vietnamese) = keep_in_words(keep);
        let note = format!(
            "{target_name}: not taken as a scanned page.\nReason: {reason}\n\
             This file and this note are deleted automatically {amount} {english} after the file was rejected.\n\
             Tệp này không được lấy làm trang quét: tệp không phải ảnh JPEG, PNG, TIFF đọc được. \
             Kiểm tra tệp rồi xoá, hoặc quét lại. Tệp và ghi chú này tự động bị xoá sau {amount} {vietnamese} \
             kể từ khi bị từ chối.\n"
        );
        // The note is a courtesy; the file itself is what must not be lost.
        let _ = fs::write(rejected.join(format!("{target_name}{NOTE_SUFFIX}")), note);
        Ok(target)
    }

    /// Deletes the files in `rejected/` that have been there longer than `keep`, each with its
    /// `<name>.reason.txt`, and notes whose file is gone. A file's time there is the newer of its
    /// own and its note's modification time: a rename keeps the printer's (maybe old, maybe wrong)
    /// time on the file, while the note is written when the file is rejected. Times in the future
    /// count as now. Best effort: whatever cannot be listed or deleted is tried again next time.
    /// Only regular files are deleted; symbolic links and folders are left alone, and nothing is
    /// done when `rejected/` is itself a link. Returns how many entries went (a file with its note
    /// counts once).
    pub fn purge_rejected(&self, keep: Duration) -> usize {
        let rejected = self.dir.join(REJECTED_DIR);
        if !fs::symlink_metadata(&rejected).is_ok_and(|metadata| metadata.is_dir()) {
            return 0;
        }
        let Ok(entries) = fs::read_dir(&rejected) else {
            return 0;
        };
        let now = SystemTime::now();
        let age = |metadata: &fs::Metadata| {
            metadata.modified().ok().map_or(Duration::ZERO, |at| now.duration_since(at).unwrap_or(Duration::ZERO))
        };
        let mut deleted = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(metadata) = regular_file(&path) else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            let mut note_name = entry.file_name();
            note_name.push(NOTE_SUFFIX);
            let note_path = rejected.join(note_name);
            let note = regular_file(&note_path);
            let is_a_note = name
                .strip_suffix(NOTE_SUFFIX)
                .is_some_and(|file_name| regular_file(&rejected.join(file_name)).is_some());
            if note.is_none() && is_a_note {
                continue; // goes with its file
            }
            // A file with its note, a file whose note was deleted, or a note whose file was.
            let there = note.as_ref().map_or(age(&metadata), |note| age(note).min(age(&metadata)));
            if there > keep && fs::remove_file(&path).is_ok() {
                deleted += 1;
                if note.is_some() {
                    let _ = fs::remove_file(&note_path);
                }
            }
        }
        deleted
    }
}

/// The keep period for the note a person reads: whole hours, else whole minutes, else seconds.
pub(crate) fn keep_in_words(keep: Duration) -> (u64, &'static str, &'static str) {
    let seconds = keep.as_secs();
    if seconds >= 3600 && seconds.is_multiple_of(3600) {
        (seconds / 3600, if seconds == 3600 { "hour" } else { "hours" }, "giờ")
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        (seconds / 60, if seconds == 60 { "minute" } else { "minutes" }, "phút")
    } else {
        (seconds, if seconds == 1 { "second" } else { "seconds" }, "giây")
    }
}

/// The note beside a rejected file: `<name>.reason.txt`.
const NOTE_SUFFIX: &str = ".reason.txt";

fn candidate(entry: &fs::DirEntry, name: String) -> Option<Candidate> {
    // Symbolic links are never followed: a link could make the agent read (and send on) a file
    // from anywhere it can read. Links, folders, pipes and devices are left where they are.
    let metadata = regular_file(&entry.path())?;
    Some(Candidate { path: entry.path(), name, stamp: Stamp::of(&metadata) })
}

/// The metadata of `path` if it is a regular file itself — not a symbolic link to one.
fn regular_file(path: &Path) -> Option<fs::Metadata> {
    fs::symlink_metadata(path).ok().filter(fs::Metadata::is_file)
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
