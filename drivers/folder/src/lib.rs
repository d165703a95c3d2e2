//! # counter-agent hot-folder scanner
//!
//! Many office multifunction printers "scan to folder": they write each scan job as image files
//! into a shared folder (SMB or FTP). This driver turns such a folder into a scanner: connection
//! `folder:<absolute path>[?settle=2s&idle=10s&wait=2m&keep=24h]`, scheme `folder`. The files arrive as the
//! pages of a scan session and go through the same pipeline as pages from SANE.
//!
//! ## Which files
//!
//! * JPEG, PNG and TIFF, recognised by their content, not their name. A TIFF gives one page per
//!   image directory (multi-page TIFF), skipping reduced-resolution thumbnails; compressions are
//!   none, PackBits, LZW, Deflate, JPEG (YCbCr, as colour TIFFs from printers are) and CCITT G4
//!   (the 1-bit TIFFs printers write). Old-style JPEG (6), palette and Lab TIFFs are rejected.
//! * **PDF is out of scope**: rendering PDF needs a PDF engine this agent does not carry. A PDF
//!   is rejected like any other unreadable file, with a note asking to scan to JPEG or TIFF.
//! * Ignored (left alone, never taken): hidden files (`.name`), `~$name` lock files, `*.part`,
//!   `*.tmp`, `*.partial`, `*.crdownload`, `*.filepart`, `Thumbs.db`, `desktop.ini`, folders, and
//!   anything that is not a regular file. **Symbolic links are never followed**: a link to an
//!   image (`ln -s /elsewhere/x.jpg inbox/`) would make the agent read, and send on, a file from
//!   outside the folder. A link is left where it is, and neither it nor its target is read,
//!   moved or deleted. A file replaced by a link while it is read is dropped and not delivered.
//! * Order: by modification time, then by name.
//!
//! ## When a file is complete
//!
//! A printer writes slowly over SMB, so a file counts once its size and modification time have
//! stayed the same for the settle interval (`settle`, default 2 s) *as seen by this driver*. The
//! modification time alone is not trusted (SMB servers may update it only on close; the
//! printer's clock may be wrong). Polling cannot tell a rename from a fast write, so a file
//! renamed in from `*.part`/`*.tmp` settles the same way, it only never looks incomplete. If a
//! file changes while it is read, it must settle again.
//!
//! ## Batches
//!
//! `start_batch` takes the files present now and those that arrive. `next_page` lists the folder
//! every 200 ms (no inotify: polling works the same on SMB mounts, and 200 ms is far below a
//! printer's pace) until the next complete file's next page. Any change in the folder (a new
//! file, a growing one) counts as activity. The batch ends (`Ok(None)`) after at least one page
//! when the folder has been quiet for `idle` (default 10 s); with no page at all, after `wait`
//! (default 2 min, time to walk to the printer) it fails with `feeder_empty`. The cancel flag
//! is checked at least every 50 ms while waiting. Progress reports the size of a file still being
//! written and of each file taken. Source `flatbed` takes one file (all its pages) and ends;
//! `adf` and `adf-duplex` take the whole batch (the printer already put back sides in the file).
//! The requested dpi and colour mode are not applied: the pages are what the printer wrote, and
//! the pipeline classifies and encodes them as it does any page.
//!
//! ## Pages
//!
//! Every page is a [`RawPage`](counter_agent_driver_api::RawPage): `Gray8`, `Rgb8`, or `Bw1`
//! (1 = black) for 1-bit images; transparency flattened onto white; YCbCr TIFF converted as JFIF
//! does, CMYK TIFF naively; 16-bit samples cut to 8.
//! The dpi is the file's own — JFIF density for JPEG, `pHYs` for PNG, `XResolution` with
//! `ResolutionUnit` for TIFF — or 300 when absent or implausible (outside 50–4800). Images over
//! 20 000 px per side or 40 million pixels are refused before decoding (decompression bombs),
//! with the size the file claims in the reason. 40 million is an A4 page at 600 dpi (35 Mpx) with
//! a margin; the cap is about memory: each pixel of a colour page costs at least 3 bytes in the
//! daemon, plus the decoder's buffer and the pipeline's working copies, and one file dropped into
//! a shared folder must not be able to exhaust the agent's memory. A3 at 600 dpi is refused:
//! scan it at 400 dpi or less.
//! A TIFF is decoded one page at a time, so a long multi-page file never sits in memory whole.
//! A decoder panic on a hostile file is caught and treated as an unreadable file.
//!
//! ## Files leave the folder
//!
//! * **Consumed files are deleted** — citizen data must not linger in a shared folder — but only
//!   once every page of the file has been handed over: on the next `next_page` call after its last
//!   page, or at `end_batch`. A file handed over only in part when the batch ends (cancelled in the
//!   middle of a multi-page TIFF) stays whole and is taken again by the next batch: nothing is lost.
//! * **Unreadable files** (not an image, PDF, truncated, unsupported compression or pixel layout,
//!   too large) are moved to a `rejected/` subfolder (created when needed, never overwriting: a
//!   clash gets ` (2)`), with `<name>.reason.txt` beside each saying why. The batch then pauses
//!   with `Fault { reason: UnreadableFile }` (`unreadable_file`); the clerk's "continue" takes
//!   the next files. Pages already taken from a file that fails half-way stay in the session; the
//!   whole original goes to `rejected/`.
//! * **Rejected files expire**: they are citizen documents too. A file in `rejected/` and its
//!   `.reason.txt` are deleted once they have been there for `keep` (default 24 h, from 1 min to
//!   30 days; [`Timing::rejected_keep`]) — counted from the newer of the file's and the note's
//!   modification time (the move keeps the printer's time on the file; the note is written when
//!   the file is rejected; a time in the future counts as now). Checked when a batch starts and on status polls (at most every 30 s); no
//!   background thread. Notes whose file was deleted by hand expire too; links and folders in
//!   `rejected/` are left alone. The note says when the file will go.
//! * A file that cannot be deleted or moved (permissions changed mid-batch) is not taken again by
//!   this process.
//!
//! ## Status
//!
//! `open`, `start_batch` and `status` check that the folder exists and that the agent can list it
//! and write in it (a hidden probe file, created and removed; `status` probes at most every 30 s,
//! the folder being a share others look at); otherwise `NotFound` with a detail that says what to
//! fix, so the device shows offline and the actor retries. One folder serves one device: two
//! agents taking from the same folder would split a batch between them. `check` (no I/O) refuses a
//! path that is not absolute, unknown or out-of-range options, and a printer profile.
//!
//! # Layout
//!
//! * `lib.rs` — [`FolderFactory`].
//! * `spec` — the `folder:` connection and its options ([`Timing`]).
//! * `inbox` — listing, ignoring, the settle rule, `rejected/`.
//! * `decode` — JPEG/PNG/TIFF bytes to raw pages; pure.
//! * `scanner` — [`FolderScanner`]: the device and its batches.
//! * `examples/folder_timing.rs` times A4 pages at 300 dpi through a batch (JPEG, PNG, G4 TIFF).
//!
//! Like every driver, this crate does blocking work on the caller's thread and knows nothing of
//! tokio or the daemon.

mod decode;
mod inbox;
mod scanner;
mod spec;
#[cfg(test)]
mod test_files;
#[cfg(test)]
mod tests;

use counter_agent_driver_api::{Device, Discovered, DriverError, DriverFactory, OpenSpec};

pub use decode::{DEFAULT_DPI, MAX_PIXELS, MAX_SIDE};
pub use inbox::REJECTED_DIR;
pub use scanner::FolderScanner;
pub use spec::Timing;

/// The hot-folder family: scheme `folder`.
#[derive(Debug, Default)]
pub struct FolderFactory {
    timing: Timing,
}

impl FolderFactory {
    pub fn new() -> FolderFactory {
        FolderFactory::default()
    }

    /// A factory whose devices wait by `timing` unless their connection says otherwise (tests use
    /// short intervals).
    pub fn with_timing(timing: Timing) -> FolderFactory {
        FolderFactory { timing }
    }
}

impl DriverFactory for FolderFactory {
    fn name(&self) -> &'static str {
        "folder"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["folder"]
    }

    /// Folders are configured, not discovered.
    fn discover(&self) -> Vec<Discovered> {
        Vec::new()
    }

    fn open(&self, spec: &OpenSpec) -> Result<Box<dyn Device>, DriverError> {
        let folder = spec::read(spec, self.timing).map_err(|problems| DriverError::Unsupported {
            what: format!("device `{}`: {}", spec.id, problems.join("; ")),
        })?;
        Ok(Box::new(FolderScanner::open(folder.path, folder.timing)?))
    }

    fn check(&self, spec: &OpenSpec) -> Vec<String> {
        spec::read(spec, self.timing).err().unwrap_or_default()
    }
}
