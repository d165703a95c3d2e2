//! The `counter-agent scan-worker` process: one SANE session, one thread calling libsane.
//!
//! The daemon starts one worker per scan session and talks to it over stdio with the framed
//! protocol of [`crate::protocol`]. A second thread only decodes stdin into a channel, so the SANE
//! thread can notice `Cancel` between reads; it never calls libsane. If a backend hangs (the test
//! backend's `sane_cancel` can), the daemon kills this process: nothing here needs to be clean
//! for that to be safe.
//!
//! ADF batches: `sane_start` per page until `NO_DOCS` (from `sane_start` or the first `sane_read`),
//! never `sane_cancel` between pages. `JAMMED`, `COVER_OPEN` and `IO_ERROR` pause the batch (the
//! worker answers [`Reply::Fault`] and waits); `continue` scans on from the page that failed.
//! `DEVICE_BUSY` and `WARMING_UP` at `sane_start` are retried with a growing pause.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use counter_agent_driver_api::{ColorMode, PageSide, RawPage, SaneOptionMap, ScanSource};

use crate::ffi::{Handle, Read as SaneRead};
use crate::frame::{FrameParams, PageAssembler, FRAME_BLUE, FRAME_RED};
use crate::library_name;
use crate::options::{self, OptionDescriptor, OptionValue, Setting};
use crate::protocol::{read_command, write_reply, Command, FailKind, Reply};
use crate::script::{Script, Trigger};
use crate::status::SaneStatus;
use crate::worker::{library, Permit};

/// Pauses between `sane_start` attempts while the device says busy or warming up (about 15 s).
const BUSY_BACKOFF: [Duration; 6] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];
/// Bytes asked of each `sane_read`.
const READ_SIZE: usize = 256 * 1024;
/// Progress is sent at most this often (and only when bytes arrived).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Runs the worker until `quit` or the end of `input`; returns the process exit code
/// (0 after a clean quit, 1 when the device could not be opened, 2 on a protocol error).
pub fn run_worker<R: Read + Send + 'static, W: Write + Send + 'static>(input: R, output: W) -> i32 {
    let (sender, commands) = mpsc::channel();
    let reader = thread::Builder::new().name("scan-worker-stdin".into()).spawn(move || {
        let mut input = input;
        loop {
            let command = read_command(&mut input);
            let stop = !matches!(command, Ok(Some(_)));
            // A closed stdin means the daemon is gone: treat it as quit.
            let command = command.map(|command| command.unwrap_or(Command::Quit));
            if sender.send(command).is_err() || stop {
                break;
            }
        }
    });
    let Ok(mut out) = Output::new(output) else {
        // Nothing can be reported without the stdout thread.
        return 2;
    };
    if reader.is_err() {
        out.fail(FailKind::Io, 0, 0, "cannot start the stdin thread".into());
        return 2;
    }
    let (device, map) = match commands.recv() {
        Ok(Ok(Command::Open { device, map })) => (device, map),
        Ok(Ok(Command::Quit)) | Err(_) => return 0,
        Ok(Ok(other)) => {
            out.fail(FailKind::Protocol, 0, 0, format!("expected open, got {other:?}"));
            return 2;
        }
        Ok(Err(error)) => {
            out.fail(FailKind::Protocol, 0, 0, format!("unreadable command: {error}"));
            return 2;
        }
    };
    let script = match Script::from_env() {
        Ok(script) => script,
        Err(message) => {
            out.fail(FailKind::Protocol, 0, 0, message);
            return 2;
        }
    };
    let permit = Permit::acquire_blocking();
    let library = match library(&permit, &library_name()) {
        Ok(library) => library,
        Err(error) => {
            out.fail(FailKind::NotFound, 0, 0, error.to_string());
            return 1;
        }
    };
    let sane = match library.init(&permit) {
        Ok(sane) => sane,
        Err(error) => {
            out.fail(FailKind::NotFound, 0, 0, error.to_string());
            return 1;
        }
    };
    let handle = match sane.open(&device) {
        Ok(handle) => handle,
        Err(status) => {
            let kind = if status == SaneStatus::ACCESS_DENIED { FailKind::Unsupported } else { FailKind::NotFound };
            let message = format!(
                "SANE cannot open scanner `{device}`: {status} — check that it is on and listed by `scanimage -L`"
            );
            out.fail(kind, status.0, 0, message);
            return 1;
        }
    };
    let mut session = Session { handle: &handle, map: *map, script, out, commands, descriptors: Vec::new() };
    if let Err(message) = session.prepare() {
        session.out.fail(FailKind::Unsupported, 0, 0, message);
        return 1;
    }
    session.run()
}

/// stdout, written by a thread of its own: while a page's pixels (tens of MB) go down the pipe, the
/// SANE thread already reads the next page. The hand-over is a rendezvous, so at most two pages are in
/// memory (one being written, one being read). After a failed write (the daemon is gone) nothing more
/// is sent. Dropping it waits until everything handed over is written.
struct Output {
    sender: Option<SyncSender<Reply>>,
    writer: Option<thread::JoinHandle<()>>,
    broken: Arc<AtomicBool>,
}

impl Output {
    fn new<W: Write + Send + 'static>(mut stream: W) -> io::Result<Output> {
        let (sender, replies) = mpsc::sync_channel::<Reply>(0);
        let broken = Arc::new(AtomicBool::new(false));
        let failed = Arc::clone(&broken);
        let writer = thread::Builder::new().name("scan-worker-stdout".into()).spawn(move || {
            for reply in replies {
                if write_reply(&mut stream, &reply).is_err() {
                    failed.store(true, Ordering::Relaxed);
                    break;
                }
            }
        })?;
        Ok(Output { sender: Some(sender), writer: Some(writer), broken })
    }

    fn send(&mut self, reply: Reply) {
        if self.broken.load(Ordering::Relaxed) {
            return;
        }
        if let Some(sender) = &self.sender {
            let _ = sender.send(reply);
        }
    }

    /// Progress only when the writer is free: it must never hold up reading the page.
    fn send_progress(&mut self, bytes: u64, expected: Option<u64>) {
        if let Some(sender) = &self.sender {
            let _ = sender.try_send(Reply::Progress { bytes, expected });
        }
    }

    fn fail(&mut self, kind: FailKind, status: i32, page: u32, message: String) {
        self.send(Reply::Failed { kind, status, page, message });
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// How one page ended.
enum PageEnd {
    Page(RawPage),
    /// `NO_DOCS` before any data: the feeder is empty.
    NoDocs,
    /// A status from `sane_start` or `sane_read`.
    Status(SaneStatus),
    Cancelled,
    Quit,
    /// A broken contract (bad read length, impossible frame).
    Broken(String),
}

/// What the batch loop should do after a batch.
enum After {
    Idle,
    Quit,
}

struct Session<'h, 'l> {
    handle: &'h Handle<'l>,
    map: SaneOptionMap,
    script: Script,
    out: Output,
    commands: Receiver<std::io::Result<Command>>,
    descriptors: Vec<OptionDescriptor>,
}

impl Session<'_, '_> {
    /// Reads descriptors, applies the profile's extra options and the script's `open` lines.
    fn prepare(&mut self) -> Result<(), String> {
        self.reload()?;
        let extra = self.map.extra.clone();
        for (name, value) in extra.iter().chain(self.script.fire(Trigger::Open).iter()) {
            self.set_text(name, value)?;
        }
        let summary = options::summary(&self.descriptors, &self.map);
        self.out.send(Reply::Opened { summary });
        Ok(())
    }

    fn reload(&mut self) -> Result<(), String> {
        self.descriptors =
            self.handle.descriptors().map_err(|status| format!("cannot read the scanner's options: {status}"))?;
        Ok(())
    }

    fn set_text(&mut self, name: &str, value: &str) -> Result<(), String> {
        let descriptor = self
            .descriptors
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| format!("this scanner has no option `{name}`"))?;
        let value = options::parse_value(descriptor, value)?;
        self.set(&Setting { name: name.to_owned(), value }).map(|_| ())
    }

    /// Sets one option by name and reads it back (the backend may round it: `INEXACT`);
    /// descriptors are re-read after `RELOAD_OPTIONS`.
    fn set(&mut self, setting: &Setting) -> Result<OptionValue, String> {
        let descriptor = self
            .descriptors
            .iter()
            .find(|d| d.name == setting.name)
            .cloned()
            .ok_or_else(|| format!("this scanner has no option `{}`", setting.name))?;
        if !descriptor.is_settable() {
            return Err(format!("option `{}` cannot be set now (inactive or read-only)", setting.name));
        }
        let info = self
            .handle
            .set(&descriptor, &setting.value)
            .map_err(|status| format!("cannot set `{}` to {}: {status}", setting.name, setting.value))?;
        if info.reload_options {
            self.reload()?;
        }
        let descriptor = self.descriptors.iter().find(|d| d.name == setting.name).unwrap_or(&descriptor);
        self.handle.get(descriptor).map_err(|status| format!("cannot read `{}` back: {status}", setting.name))
    }

    fn run(mut self) -> i32 {
        loop {
            match self.commands.recv() {
                Ok(Ok(Command::Start { source, color, dpi })) => {
                    if let After::Quit = self.batch(source, color, dpi) {
                        return 0;
                    }
                }
                Ok(Ok(Command::Quit)) | Err(_) => return 0,
                Ok(Ok(Command::Cancel)) => self.out.send(Reply::Cancelled),
                Ok(Ok(Command::Continue)) => {
                    self.out.fail(FailKind::Unsupported, 0, 0, "continue: no paused batch".into());
                }
                Ok(Ok(Command::Open { .. })) => {
                    self.out.fail(FailKind::Protocol, 0, 0, "the device is already open".into());
                }
                Ok(Err(error)) => {
                    self.out.fail(FailKind::Protocol, 0, 0, format!("unreadable command: {error}"));
                    return 2;
                }
            }
        }
    }

    /// Selects source, mode and resolution; `Err` lists what the device offers.
    fn select(&mut self, source: ScanSource, color: ColorMode, dpi: u32) -> Result<u32, String> {
        let source_settings = options::choose_source(&self.descriptors, &self.map, source).map_err(|e| e.0)?;
        for setting in &source_settings {
            self.set(setting)?;
        }
        let mode_settings = options::choose_mode(&self.descriptors, &self.map, color).map_err(|e| e.0)?;
        for setting in &mode_settings {
            self.set(setting)?;
        }
        let resolution = options::choose_resolution(&self.descriptors, &self.map, dpi).map_err(|e| e.0)?;
        let mut actual = dpi;
        for setting in &resolution {
            if let Some(read_back) = options::value_dpi(&self.set(setting)?) {
                actual = read_back;
            }
        }
        Ok(actual)
    }

    fn batch(&mut self, source: ScanSource, color: ColorMode, dpi: u32) -> After {
        let dpi = match self.select(source, color, dpi) {
            Ok(dpi) => dpi,
            Err(message) => {
                self.out.fail(FailKind::Unsupported, 0, 0, message);
                return After::Idle;
            }
        };
        self.out.send(Reply::Started { dpi });
        let mut page: u32 = 1;
        loop {
            for (name, value) in self.script.fire(Trigger::Page(page)) {
                if let Err(message) = self.set_text(&name, &value) {
                    self.out.fail(FailKind::Protocol, 0, page, format!("test script: {message}"));
                    self.handle.cancel();
                    return After::Idle;
                }
            }
            let side = if source == ScanSource::AdfDuplex && page.is_multiple_of(2) {
                PageSide::Back
            } else {
                PageSide::Front
            };
            match self.scan_page(dpi, side) {
                PageEnd::Page(raw) => {
                    self.out.send(Reply::Page(raw));
                    if source == ScanSource::Flatbed {
                        self.handle.cancel();
                        self.out.send(Reply::BatchEnd { pages: 1 });
                        return After::Idle;
                    }
                    page += 1;
                }
                PageEnd::NoDocs if page == 1 => {
                    // Reported before cancelling: a backend that hangs in sane_cancel is killed.
                    self.out.fail(FailKind::Fault, SaneStatus::NO_DOCS.0, 1, "the document feeder is empty".into());
                    self.handle.cancel();
                    return After::Idle;
                }
                PageEnd::NoDocs => {
                    self.out.send(Reply::BatchEnd { pages: page - 1 });
                    self.handle.cancel();
                    return After::Idle;
                }
                PageEnd::Status(status) if is_pausing(status) => {
                    self.out.send(Reply::Fault { status: status.0, page });
                    // The broken-off page must be cancelled before the device can start again.
                    self.handle.cancel();
                    match self.wait_after_fault() {
                        Some(After::Quit) => return After::Quit,
                        Some(After::Idle) => return After::Idle,
                        None => {}
                    }
                }
                PageEnd::Status(status) => {
                    let (kind, message) = failure(status);
                    self.out.fail(kind, status.0, page, message);
                    self.handle.cancel();
                    return After::Idle;
                }
                PageEnd::Broken(message) => {
                    self.out.fail(FailKind::Protocol, 0, page, message);
                    self.handle.cancel();
                    return After::Idle;
                }
                PageEnd::Cancelled => {
                    self.handle.cancel();
                    self.out.send(Reply::Cancelled);
                    return After::Idle;
                }
                PageEnd::Quit => return After::Quit,
            }
        }
    }

    /// Waits for the daemon after a pausing fault: `None` to scan on, else how the batch ends.
    fn wait_after_fault(&mut self) -> Option<After> {
        match self.commands.recv() {
            Ok(Ok(Command::Continue)) => {
                for (name, value) in self.script.fire(Trigger::Continue) {
                    if let Err(message) = self.set_text(&name, &value) {
                        self.out.fail(FailKind::Protocol, 0, 0, format!("test script: {message}"));
                        return Some(After::Idle);
                    }
                }
                None
            }
            Ok(Ok(Command::Cancel)) => {
                self.out.send(Reply::Cancelled);
                Some(After::Idle)
            }
            Ok(Ok(Command::Quit)) | Ok(Err(_)) | Err(_) => Some(After::Quit),
            Ok(Ok(other)) => {
                self.out.fail(FailKind::Protocol, 0, 0, format!("unexpected {other:?} in a paused batch"));
                Some(After::Idle)
            }
        }
    }

    /// A command that arrived while scanning: cancel and quit stop the page, others are ignored.
    fn interrupted(&mut self) -> Option<PageEnd> {
        match self.commands.try_recv() {
            Ok(Ok(Command::Cancel)) => Some(PageEnd::Cancelled),
            Ok(Ok(Command::Quit)) | Ok(Err(_)) | Err(TryRecvError::Disconnected) => Some(PageEnd::Quit),
            Ok(Ok(_)) | Err(TryRecvError::Empty) => None,
        }
    }

    /// `sane_start`, retrying while the device is busy or warming up.
    fn start(&mut self) -> Result<(), SaneStatus> {
        let mut pauses = BUSY_BACKOFF.iter();
        loop {
            match self.handle.start() {
                Err(status) if status == SaneStatus::DEVICE_BUSY || status == SaneStatus::WARMING_UP => {
                    match pauses.next() {
                        Some(pause) => thread::sleep(*pause),
                        None => return Err(status),
                    }
                }
                other => return other,
            }
        }
    }

    /// Scans one page: every frame up to the one marked last.
    fn scan_page(&mut self, dpi: u32, side: PageSide) -> PageEnd {
        let mut assembler = PageAssembler::new(dpi, side);
        let mut page_bytes: u64 = 0;
        let mut first_frame = true;
        let mut last_progress = Instant::now();
        loop {
            if let Some(end) = self.interrupted() {
                return end;
            }
            match self.start() {
                Ok(()) => {}
                Err(status) if status == SaneStatus::NO_DOCS && first_frame => return PageEnd::NoDocs,
                Err(status) => return PageEnd::Status(status),
            }
            let params: FrameParams = match self.handle.parameters() {
                Ok(params) => params,
                Err(status) => return PageEnd::Status(status),
            };
            let frames: u64 = if (FRAME_RED..=FRAME_BLUE).contains(&params.format) { 3 } else { 1 };
            let expected = params.expected_bytes().map(|bytes| bytes * frames);
            // SANE reads straight into the frame's buffer, sized from the parameters (a fresh zeroed
            // allocation costs nothing until written) and grown when a backend sends more or does
            // not know the height.
            let mut data = vec![0u8; params.expected_bytes().unwrap_or(0).min(1 << 30) as usize];
            crate::os::huge_pages(&mut data);
            let mut filled = 0;
            loop {
                if data.len() - filled < READ_SIZE / 4 {
                    data.resize(filled + READ_SIZE, 0);
                }
                let room = (data.len() - filled).min(READ_SIZE);
                match self.handle.read(&mut data[filled..filled + room]) {
                    Ok(SaneRead::Data(n)) => {
                        filled += n;
                        page_bytes += n as u64;
                        let first = page_bytes == n as u64;
                        if n > 0 && (first || last_progress.elapsed() >= PROGRESS_EVERY) {
                            last_progress = Instant::now();
                            self.out.send_progress(page_bytes, expected);
                        }
                    }
                    Ok(SaneRead::Eof) => break,
                    Ok(SaneRead::Status(status)) if status == SaneStatus::NO_DOCS && first_frame && filled == 0 => {
                        return PageEnd::NoDocs;
                    }
                    Ok(SaneRead::Status(status)) => return PageEnd::Status(status),
                    Err(bad) => {
                        return PageEnd::Broken(format!(
                            "sane_read returned a length of {} for a {}-byte buffer",
                            bad.len, bad.max
                        ))
                    }
                }
                if let Some(end) = self.interrupted() {
                    return end;
                }
            }
            first_frame = false;
            data.truncate(filled);
            match assembler.add_frame(&params, data) {
                Ok(Some(page)) => return PageEnd::Page(page),
                Ok(None) => {}
                Err(error) => return PageEnd::Broken(error.to_string()),
            }
        }
    }
}

/// Conditions the clerk can clear, after which `continue` scans on.
fn is_pausing(status: SaneStatus) -> bool {
    status == SaneStatus::JAMMED || status == SaneStatus::COVER_OPEN || status == SaneStatus::IO_ERROR
}

/// How a status that ends the batch reaches the daemon.
fn failure(status: SaneStatus) -> (FailKind, String) {
    match status {
        SaneStatus::CANCELLED => (FailKind::Cancelled, "the scanner cancelled the scan".into()),
        SaneStatus::ACCESS_DENIED => (
            FailKind::Unsupported,
            format!(
                "the scanner refused access ({status}) — check the backend's permissions or password \
                 (/etc/sane.d/*.users) and that the user running the agent may use the device"
            ),
        ),
        SaneStatus::HW_LOCKED => {
            (FailKind::Unsupported, format!("{status} — unlock the scanner's transport lock and try again"))
        }
        SaneStatus::DEVICE_BUSY | SaneStatus::WARMING_UP => (
            FailKind::NotFound,
            format!("the scanner stayed busy ({status}) — another program may be using it; try again"),
        ),
        _ => (FailKind::Protocol, format!("the scanner failed: {status}")),
    }
}
