//! A fake ESC/POS printer behind a real transport: a TCP port like a port-9100 printer, or one end of
//! a pseudo-terminal pair made by `socat` like a printer on a serial cable. The daemon's tests, the
//! escpos driver's tests and the demo print to it through the same code that drives real printers.
//!
//! What it does, as a real Epson does:
//! * keeps every job byte it takes (`jobs`, `printed`); image data (`GS v 0`, `GS ( k`, `GS ( L`,
//!   `ESC *`, `GS 8 L`…) is skipped by its length, so pixels are never read as commands;
//! * answers the real-time request `DLE EOT n` (n = 1…4) as soon as it reads it, with the fixed bits
//!   of a real reply (`b & 0x93 == 0x12`); real-time requests (`DLE EOT`, `DLE ENQ`, `DLE DC4`) are
//!   not job bytes and never appear in `jobs`;
//! * answers `GS r 1` (paper sensor) in order with the print data, once everything before it is
//!   printed, and only while online: it is the sender's "printed" barrier;
//! * after `GS a n` (n ≠ 0) sends Automatic Status Back packets of 4 bytes: one at once, then one at
//!   every change of condition (paper ran out, paper reloaded, cover closed…).
//!
//! # Jobs
//!
//! On TCP a job is one connection (connections that carried only status requests leave no job). A
//! serial line has no connections, so there a job starts at each `ESC @` (initialise) the printer
//! processes — our encoder begins every job with it. Like a real printer, the fake reads a serial
//! line as one stream: a job cut off in the middle of an image has the next job's first bytes taken
//! as the rest of its pixels.
//!
//! # Buffer, paper out and flow control
//!
//! Bytes go from the line into a receive buffer (4 KB on TCP, [`PtyOptions::buffer`] on a pty) and
//! from there to the mechanism. [`Behaviour::RunsOutAfter`]`(n)` stops the mechanism after `n` job
//! bytes of a job: the buffer fills, then the fake stops reading (on a pty with `xon_xoff`, it sends
//! XOFF instead), the kernel's buffers fill and the sender's writes block, as when a real Epson goes
//! offline. `DLE EOT` is still answered when it is read, but a request queued behind unread job data
//! is not read (or, after XOFF, cannot be sent), so it goes unanswered, as on a real printer whose
//! buffer is full. [`FakeEscpos::set_behaviour`] resumes the mechanism and the reading of the same
//! connection where they stopped: nothing is lost, nothing is repeated.
//!
//! On a pty, [`PtyOptions::baud`] makes the fake take bytes off the line no faster than the real
//! line would carry them (while bytes keep coming it catches up, by up to a quarter of a second, on
//! time its thread was not scheduled). With [`PtyOptions::xon_xoff`] the fake sends XOFF when its
//! buffer is half full (and again when more bytes arrive, at most every 20 ms, until its XON), XON
//! when it drains to a quarter, and never stops reading: bytes that arrive when the buffer is full
//! are counted as an overrun ([`FakeEscpos::overruns`]), kept nonetheless so the job stays
//! comparable. Without `xon_xoff`, a full buffer makes the fake stop reading (the pty's own flow
//! control then stops the sender, as RTS/CTS would): no overrun is possible.
//!
//! The fake owns its thread, its port and its `socat`; all stop when the last clone is dropped (a
//! process killed outright leaves its idle `socat` behind).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How the fake printer behaves; switch at run time with [`FakeEscpos::set_behaviour`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Ready,
    /// Says paper out (offline), yet keeps taking bytes (a printer with a large buffer); it does not
    /// answer `GS r`. Use `RunsOutAfter` for a printer that stops reading.
    PaperOut,
    PaperNearEnd,
    /// Says cover open (offline), keeps taking bytes, does not answer `GS r`.
    CoverOpen,
    /// Takes everything, never answers (`DLE EOT`, `GS r`, ASB).
    Silent,
    /// Accepts the connection (or holds the line) and never reads.
    NeverReads,
    /// TCP: closes the connection after this many bytes. Pty: after this many bytes tears the
    /// pseudo-terminal pair down (a printer switched off, a USB adapter pulled).
    ClosesAfter(usize),
    /// Prints this many job bytes of a job, then runs out of paper and stops reading until
    /// `set_behaviour` (see the module documentation).
    RunsOutAfter(usize),
}

/// How the pty end of the fake emulates a serial printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtyOptions {
    /// The line speed to emulate: bytes come off the line at most at `baud / 10` a second (8N1).
    /// `None`: as fast as the pty delivers them.
    pub baud: Option<u32>,
    /// Send XOFF / XON as the receive buffer fills and drains.
    pub xon_xoff: bool,
    /// Receive buffer in bytes.
    pub buffer: usize,
    /// How fast the mechanism prints, in job bytes a second; `None`: at once. Slower than the line,
    /// it makes the buffer fill.
    pub print_rate: Option<u32>,
}

impl Default for PtyOptions {
    fn default() -> PtyOptions {
        PtyOptions { baud: None, xon_xoff: false, buffer: 1024, print_rate: None }
    }
}

/// The receive buffer of the TCP fake.
const TCP_BUFFER: usize = 4096;
/// How often a waiting loop looks at its state again.
const TICK: Duration = Duration::from_millis(2);
/// At most one repeated XOFF this often.
const XOFF_REPEAT: Duration = Duration::from_millis(20);
const XON: u8 = 0x11;
const XOFF: u8 = 0x13;

/// A running fake printer. Clones share it; it stops when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct FakeEscpos {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    address: String,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The pty pair's folder, removed at the end.
    folder: Option<PathBuf>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// The `socat` that makes the pty pair.
    socat: Mutex<Option<Child>>,
}

#[derive(Debug, Clone)]
struct State {
    behaviour: Behaviour,
    /// `RunsOutAfter` tripped: out of paper until `set_behaviour`.
    ran_out: bool,
    jobs: Vec<Vec<u8>>,
    /// Index in `jobs` of the job being printed; `None` until its first byte.
    current: Option<usize>,
    overruns: usize,
    flow_stops: usize,
    stop: bool,
}

impl FakeEscpos {
    /// A printer on `127.0.0.1` at a free port, serving one client at a time like port 9100.
    pub fn start_tcp(behaviour: Behaviour) -> io::Result<FakeEscpos> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?.to_string();
        let shared = Shared::new(behaviour);
        let thread = {
            let shared = Arc::clone(&shared);
            thread::Builder::new().name("fake-escpos-tcp".into()).spawn(move || serve_tcp(&listener, &shared))?
        };
        Ok(FakeEscpos::new(shared, address, thread, None))
    }

    /// A printer on a serial line: `socat` makes a pseudo-terminal pair, the fake holds one end and
    /// [`FakeEscpos::address`] is the path of the other, for the transport to open. Fails with
    /// `NotFound` and an install hint when `socat` is missing.
    pub fn start_pty(behaviour: Behaviour, options: PtyOptions) -> io::Result<FakeEscpos> {
        let folder = new_folder()?;
        let started = start_socat(&folder).and_then(|(socat, printer_end, host_end)| {
            let shared = Shared::new(behaviour);
            *shared.lock_socat() = Some(socat);
            let port = serialport::new(printer_end.to_string_lossy(), 115_200)
                .timeout(TICK)
                .open_native()
                .map_err(io::Error::from);
            let port = match port {
                Ok(port) => port,
                Err(error) => {
                    shared.kill_socat();
                    return Err(error);
                }
            };
            let thread = {
                let shared = Arc::clone(&shared);
                thread::Builder::new().name("fake-escpos-pty".into()).spawn(move || serve_pty(port, &shared, options))
            };
            match thread {
                Ok(thread) => Ok((shared, host_end, thread)),
                Err(error) => {
                    shared.kill_socat();
                    Err(error)
                }
            }
        });
        match started {
            Ok((shared, host_end, thread)) => {
                Ok(FakeEscpos::new(shared, host_end.to_string_lossy().into_owned(), thread, Some(folder)))
            }
            Err(error) => {
                let _ = std::fs::remove_dir_all(&folder);
                Err(error)
            }
        }
    }

    fn new(shared: Arc<Shared>, address: String, thread: JoinHandle<()>, folder: Option<PathBuf>) -> FakeEscpos {
        FakeEscpos { inner: Arc::new(Inner { shared, address, thread: Mutex::new(Some(thread)), folder }) }
    }

    /// `127.0.0.1:PORT` on TCP; on a pty, the path of the end the transport opens.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// Switches behaviour (paper reloaded, cover closed…); ends a `RunsOutAfter` paper out.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        let mut state = self.inner.shared.lock();
        state.behaviour = behaviour;
        state.ran_out = false;
        self.inner.shared.changed.notify_all();
    }

    pub fn behaviour(&self) -> Behaviour {
        self.inner.shared.lock().behaviour
    }

    /// Whether a `RunsOutAfter` has tripped (paper out, not reading).
    pub fn ran_out(&self) -> bool {
        self.inner.shared.lock().ran_out
    }

    /// The job bytes printed so far, one entry per job (see the module documentation), the job in
    /// progress included; real-time requests excluded.
    pub fn jobs(&self) -> Vec<Vec<u8>> {
        self.inner.shared.lock().jobs.clone()
    }

    /// All job bytes printed so far, concatenated.
    pub fn printed(&self) -> Vec<u8> {
        self.inner.shared.lock().jobs.concat()
    }

    /// Waits until `n` jobs have begun or `timeout` passes; returns the jobs.
    pub fn wait_jobs(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        self.wait(timeout, |state| state.jobs.len() >= n).jobs.clone()
    }

    /// Waits until `len` job bytes are printed or `timeout` passes; returns what is printed.
    pub fn wait_printed(&self, len: usize, timeout: Duration) -> Vec<u8> {
        self.wait(timeout, |state| state.jobs.iter().map(Vec::len).sum::<usize>() >= len).jobs.concat()
    }

    /// Bytes that arrived while the receive buffer was full (only with `PtyOptions::xon_xoff`).
    pub fn overruns(&self) -> usize {
        self.inner.shared.lock().overruns
    }

    /// How many times the fake told the sender to stop (XOFF sent while not stopped already).
    pub fn flow_stops(&self) -> usize {
        self.inner.shared.lock().flow_stops
    }

    fn wait(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> MutexGuard<'_, State> {
        let until = Instant::now() + timeout;
        let mut state = self.inner.shared.lock();
        while !done(&state) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self.inner.shared.changed.wait_timeout(state, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        state
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = thread.join();
        }
        self.shared.kill_socat();
        if let Some(folder) = &self.folder {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

impl Shared {
    fn new(behaviour: Behaviour) -> Arc<Shared> {
        Arc::new(Shared { state: Mutex::new(State::new(behaviour)), changed: Condvar::new(), socat: Mutex::new(None) })
    }

    /// Every update of the state is complete before anything can panic, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_socat(&self) -> MutexGuard<'_, Option<Child>> {
        self.socat.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends our `socat` (by its own handle, never by name): the pty pair disappears.
    fn kill_socat(&self) {
        if let Some(mut socat) = self.lock_socat().take() {
            let _ = socat.kill();
            let _ = socat.wait();
        }
    }

    /// Waits a tick or until something changes.
    fn pause<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait_timeout(state, TICK).unwrap_or_else(PoisonError::into_inner).0
    }
}

/// The printer's condition as its status replies tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    Ready,
    NearEnd,
    PaperOut,
    CoverOpen,
}

impl State {
    fn new(behaviour: Behaviour) -> State {
        State { behaviour, ran_out: false, jobs: Vec::new(), current: None, overruns: 0, flow_stops: 0, stop: false }
    }

    fn condition(&self) -> Condition {
        if self.ran_out {
            return Condition::PaperOut;
        }
        match self.behaviour {
            Behaviour::PaperOut => Condition::PaperOut,
            Behaviour::PaperNearEnd => Condition::NearEnd,
            Behaviour::CoverOpen => Condition::CoverOpen,
            _ => Condition::Ready,
        }
    }

    fn answers(&self) -> bool {
        self.behaviour != Behaviour::Silent
    }

    /// Appends printed bytes to the job in progress, starting one if needed.
    fn print(&mut self, bytes: &[u8]) {
        let index = match self.current {
            Some(index) => index,
            None => {
                self.jobs.push(Vec::new());
                self.jobs.len() - 1
            }
        };
        self.current = Some(index);
        self.jobs[index].extend_from_slice(bytes);
    }
}

impl Condition {
    fn online(self) -> bool {
        matches!(self, Condition::Ready | Condition::NearEnd)
    }

    /// The answer to `DLE EOT n`: fixed bits 0x12, then n=1 offline 0x08; n=2 cover open 0x04, stopped
    /// by paper end 0x20; n=4 near end 0x0C, paper end 0x60.
    fn real_time_status(self, n: u8) -> u8 {
        let fixed = 0x12;
        match (self, n) {
            (Condition::PaperOut | Condition::CoverOpen, 1) => fixed | 0x08,
            (Condition::PaperOut, 2) => fixed | 0x20,
            (Condition::CoverOpen, 2) => fixed | 0x04,
            (Condition::PaperOut, 4) => fixed | 0x60,
            (Condition::NearEnd, 4) => fixed | 0x0C,
            _ => fixed,
        }
    }

    /// The paper sensor byte of `GS r 1` and of the third ASB byte: near end 0x03, end 0x0C.
    fn paper_sensor(self) -> u8 {
        match self {
            Condition::NearEnd => 0x03,
            Condition::PaperOut => 0x0C,
            _ => 0x00,
        }
    }

    /// An Automatic Status Back packet: first byte `0x10` with offline 0x08 and cover open 0x20.
    fn automatic_status(self) -> [u8; 4] {
        let first = match self {
            Condition::Ready | Condition::NearEnd => 0x10,
            Condition::PaperOut => 0x18,
            Condition::CoverOpen => 0x38,
        };
        [first, 0x00, self.paper_sensor(), 0x00]
    }
}

// ---------------------------------------------------------------------------------------------
// Commands: a streaming reader that knows how long each command is.

const DLE: u8 = 0x10;
const ESC: u8 = 0x1B;
const FS: u8 = 0x1C;
const GS: u8 = 0x1D;

/// What a command means to the fake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// `ESC @`.
    Init,
    /// `DLE EOT n`: answered when read; not a job byte.
    StatusRequest(u8),
    /// `GS r n`: answered in order.
    Transmit(u8),
    /// `GS a n`.
    AutomaticStatus(u8),
}

/// What follows a command's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Payload {
    #[default]
    None,
    Bytes(usize),
    /// Up to this many bytes, the last one NUL.
    UntilNul(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parse {
    /// The prefix is not complete yet.
    NeedMore,
    /// The prefix is not a command: its first byte is plain data.
    Data,
    /// A command of the prefix's length (the whole prefix).
    Complete { event: Option<Event>, real_time: bool, payload: Payload },
}

/// Reads `prefix` (starting with DLE, ESC, FS or GS) as far as it goes.
fn command(prefix: &[u8]) -> Parse {
    let len = prefix.len();
    let done = |need: usize, event: Option<Event>, payload: Payload| {
        if len < need {
            Parse::NeedMore
        } else {
            Parse::Complete { event, real_time: false, payload }
        }
    };
    let counted = |at: usize| usize::from(prefix[at]) + 256 * usize::from(prefix[at + 1]);
    if len < 2 {
        return Parse::NeedMore;
    }
    match (prefix[0], prefix[1]) {
        (DLE, 0x04) => {
            // DLE EOT n; n = 7, 8 and 18 take one more byte.
            if len < 3 {
                return Parse::NeedMore;
            }
            let n = prefix[2];
            let need = if matches!(n, 7 | 8 | 18) { 4 } else { 3 };
            match done(need, Some(Event::StatusRequest(n)), Payload::None) {
                Parse::Complete { event, payload, .. } => Parse::Complete { event, real_time: true, payload },
                other => other,
            }
        }
        (DLE, 0x05 | 0x14) => {
            let need = if prefix[1] == 0x05 {
                3
            } else if len < 3 {
                return Parse::NeedMore;
            } else {
                match prefix[2] {
                    1..=3 => 5,
                    7 => 4,
                    8 => 10,
                    _ => 3,
                }
            };
            match done(need, None, Payload::None) {
                Parse::Complete { payload, .. } => Parse::Complete { event: None, real_time: true, payload },
                other => other,
            }
        }
        (DLE, _) => Parse::Data,
        (ESC, b'@') => done(2, Some(Event::Init), Payload::None),
        (ESC, b'$' | b'\\') => done(4, None, Payload::None),
        (ESC, b'p') => done(5, None, Payload::None),
        (ESC, b'W') => done(10, None, Payload::None),
        (ESC, b'c') => done(4, None, Payload::None),
        (ESC, b'D') => done(2, None, Payload::UntilNul(33)),
        (ESC, b'*') => {
            if len < 5 {
                return Parse::NeedMore;
            }
            let per_column = if matches!(prefix[2], 32 | 33) { 3 } else { 1 };
            done(5, None, Payload::Bytes(counted(3) * per_column))
        }
        (ESC, b'(') => {
            if len < 5 {
                return Parse::NeedMore;
            }
            done(5, None, Payload::Bytes(counted(3)))
        }
        (
            ESC,
            b'a' | b'E' | b'G' | b'-' | b'!' | b't' | b'd' | b'J' | b'3' | b'M' | b'R' | b' ' | b'{' | b'V' | b'U'
            | b'=' | b'r' | b'e' | b'K' | b'%' | b'?' | b'T',
        ) => done(3, None, Payload::None),
        (ESC, _) => done(2, None, Payload::None),
        (GS, b'v') => {
            if len < 8 {
                return Parse::NeedMore;
            }
            done(8, None, Payload::Bytes(counted(4) * counted(6)))
        }
        (GS, b'(') => {
            if len < 5 {
                return Parse::NeedMore;
            }
            done(5, None, Payload::Bytes(counted(3)))
        }
        (GS, b'8') => {
            if len < 7 {
                return Parse::NeedMore;
            }
            let n = u32::from_le_bytes([prefix[3], prefix[4], prefix[5], prefix[6]]);
            done(7, None, Payload::Bytes(usize::try_from(n).unwrap_or(usize::MAX)))
        }
        (GS, b'V') => {
            if len < 3 {
                return Parse::NeedMore;
            }
            let need = if matches!(prefix[2], 65 | 66 | 97 | 98 | 103 | 104) { 4 } else { 3 };
            done(need, None, Payload::None)
        }
        (GS, b'k') => {
            if len < 3 {
                return Parse::NeedMore;
            }
            if prefix[2] <= 6 {
                done(3, None, Payload::UntilNul(256))
            } else if len < 4 {
                Parse::NeedMore
            } else {
                done(4, None, Payload::Bytes(usize::from(prefix[3])))
            }
        }
        (GS, b'*') => {
            if len < 4 {
                return Parse::NeedMore;
            }
            done(4, None, Payload::Bytes(usize::from(prefix[2]) * usize::from(prefix[3]) * 8))
        }
        (GS, b'a') => done(3, (len >= 3).then(|| Event::AutomaticStatus(prefix[2])), Payload::None),
        (GS, b'r') => done(3, (len >= 3).then(|| Event::Transmit(prefix[2])), Payload::None),
        (GS, b'!' | b'B' | b'b' | b'H' | b'h' | b'w' | b'f' | b'I' | b'/' | b'E' | b'T') => {
            done(3, None, Payload::None)
        }
        (GS, b'L' | b'W' | b'P' | b'$' | b'\\') => done(4, None, Payload::None),
        (GS, b'^') => done(5, None, Payload::None),
        (GS, _) => done(2, None, Payload::None),
        (FS, b'!' | b'-' | b'W' | b'C') => done(3, None, Payload::None),
        (FS, b'S' | b'p') => done(4, None, Payload::None),
        (FS, b'(') => {
            if len < 5 {
                return Parse::NeedMore;
            }
            done(5, None, Payload::Bytes(counted(3)))
        }
        (FS, _) => done(2, None, Payload::None),
        _ => Parse::Data,
    }
}

/// Splits a byte stream, arriving in any chunks, into job bytes and events.
#[derive(Debug, Default)]
struct Parser {
    /// The command being read.
    pending: Vec<u8>,
    payload: Payload,
}

/// What one chunk held: job bytes, and events at their offset in those bytes (a real-time request
/// at the offset where it came).
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    job: Vec<u8>,
    events: Vec<(usize, Event)>,
}

impl Parser {
    fn push(&mut self, mut bytes: &[u8]) -> Parsed {
        let mut parsed = Parsed::default();
        while let Some((&byte, rest)) = bytes.split_first() {
            match self.payload {
                Payload::Bytes(left) if left > 0 => {
                    let take = left.min(bytes.len());
                    parsed.job.extend_from_slice(&bytes[..take]);
                    self.payload = Payload::Bytes(left - take);
                    bytes = &bytes[take..];
                    continue;
                }
                Payload::UntilNul(left) if left > 0 => {
                    parsed.job.push(byte);
                    self.payload = if byte == 0 { Payload::None } else { Payload::UntilNul(left - 1) };
                    bytes = rest;
                    continue;
                }
                _ => {}
            }
            bytes = rest;
            if self.pending.is_empty() && !matches!(byte, DLE | ESC | FS | GS) {
                parsed.job.push(byte);
                continue;
            }
            self.pending.push(byte);
            match command(&self.pending) {
                Parse::NeedMore => {}
                Parse::Data => {
                    // Only the first byte was data; the rest is read again as the stream goes on.
                    let pending = std::mem::take(&mut self.pending);
                    parsed.job.push(pending[0]);
                    let more = self.push(&pending[1..]);
                    let offset = parsed.job.len();
                    parsed.events.extend(more.events.into_iter().map(|(at, event)| (offset + at, event)));
                    parsed.job.extend(more.job);
                }
                Parse::Complete { event, real_time, payload } => {
                    // `ESC @` acts before its bytes (they begin the next job), the others once read.
                    let start = parsed.job.len();
                    if !real_time {
                        parsed.job.extend_from_slice(&self.pending);
                    }
                    match event {
                        Some(Event::Init) => parsed.events.push((start, Event::Init)),
                        Some(event) => parsed.events.push((parsed.job.len(), event)),
                        None => {}
                    }
                    self.pending.clear();
                    self.payload = payload;
                }
            }
        }
        parsed
    }
}

// ---------------------------------------------------------------------------------------------
// The printer: receive buffer, mechanism, replies.

#[derive(Debug)]
struct Engine {
    parser: Parser,
    capacity: usize,
    /// Start a new job at each `ESC @` (serial) rather than per connection (TCP).
    split_at_init: bool,
    /// Job bytes received, not printed yet.
    buffer: VecDeque<u8>,
    /// In-order events at their position in the received job stream.
    events: VecDeque<(u64, Event)>,
    received: u64,
    printed: u64,
    /// Job bytes printed of the current job (for `RunsOutAfter`).
    job_bytes: usize,
    automatic_status: bool,
    last_automatic: Option<[u8; 4]>,
    /// Replies to send.
    out: Vec<u8>,
}

impl Engine {
    fn new(capacity: usize, split_at_init: bool) -> Engine {
        Engine {
            parser: Parser::default(),
            capacity,
            split_at_init,
            buffer: VecDeque::new(),
            events: VecDeque::new(),
            received: 0,
            printed: 0,
            job_bytes: 0,
            automatic_status: false,
            last_automatic: None,
            out: Vec::new(),
        }
    }

    fn used(&self) -> usize {
        self.buffer.len()
    }

    fn room(&self) -> usize {
        self.capacity.saturating_sub(self.buffer.len())
    }

    /// Bytes off the line: real-time requests answered at once, the rest queued for the mechanism.
    fn receive(&mut self, bytes: &[u8], state: &State) {
        let parsed = self.parser.push(bytes);
        for (at, event) in parsed.events {
            match event {
                Event::StatusRequest(n) => {
                    if state.answers() && (1..=4).contains(&n) {
                        self.out.push(state.condition().real_time_status(n));
                    }
                }
                _ => self.events.push_back((self.received + at as u64, event)),
            }
        }
        self.received += parsed.job.len() as u64;
        self.buffer.extend(parsed.job);
    }

    /// The mechanism prints up to `budget` bytes; returns how many it printed.
    fn print(&mut self, budget: usize, state: &mut State) -> usize {
        let mut printed = 0;
        loop {
            while let Some(&(at, event)) = self.events.front() {
                if at != self.printed || state.ran_out {
                    break;
                }
                self.events.pop_front();
                self.handle(event, state);
            }
            if let Behaviour::RunsOutAfter(n) = state.behaviour {
                if self.job_bytes >= n && !self.buffer.is_empty() {
                    state.ran_out = true;
                }
            }
            if state.ran_out || self.buffer.is_empty() || printed >= budget {
                return printed;
            }
            let next_event = self.events.front().map_or(u64::MAX, |&(at, _)| at);
            let mut take = self.buffer.len().min(budget - printed);
            take = take.min(usize::try_from(next_event - self.printed).unwrap_or(usize::MAX));
            if let Behaviour::RunsOutAfter(n) = state.behaviour {
                take = take.min(n.saturating_sub(self.job_bytes));
            }
            let bytes: Vec<u8> = self.buffer.drain(..take).collect();
            state.print(&bytes);
            self.printed += take as u64;
            self.job_bytes += take;
            printed += take;
            if let Behaviour::RunsOutAfter(n) = state.behaviour {
                if self.job_bytes >= n {
                    state.ran_out = true;
                }
            }
        }
    }

    fn handle(&mut self, event: Event, state: &mut State) {
        match event {
            Event::Init if self.split_at_init => {
                state.current = None;
                self.job_bytes = 0;
            }
            Event::Transmit(n) => {
                let condition = state.condition();
                if state.answers() && condition.online() {
                    self.out.push(if matches!(n, 1 | 49) { condition.paper_sensor() } else { 0x00 });
                }
            }
            Event::AutomaticStatus(mask) => {
                self.automatic_status = mask != 0;
                self.last_automatic = None;
            }
            Event::Init | Event::StatusRequest(_) => {}
        }
    }

    /// With ASB on, a packet whenever the condition differs from the last one sent.
    fn report(&mut self, state: &State) {
        if !self.automatic_status || !state.answers() {
            return;
        }
        let packet = state.condition().automatic_status();
        if self.last_automatic != Some(packet) {
            self.out.extend_from_slice(&packet);
            self.last_automatic = Some(packet);
        }
    }

    fn take_out(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

// ---------------------------------------------------------------------------------------------
// TCP

fn serve_tcp(listener: &TcpListener, shared: &Shared) {
    loop {
        if shared.lock().stop {
            return;
        }
        match listener.accept() {
            Ok((stream, _)) => serve_connection(stream, shared),
            Err(_) => thread::sleep(TICK),
        }
    }
}

/// One client, until it closes and everything it sent is printed.
fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(TICK * 5)).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let mut engine = Engine::new(TCP_BUFFER, false);
    let mut total = 0usize;
    let mut closed = false;
    let mut chunk = vec![0u8; 8192];
    shared.lock().current = None;
    loop {
        let limit = {
            let mut state = shared.lock();
            if state.stop {
                return;
            }
            if engine.print(usize::MAX, &mut state) > 0 {
                shared.changed.notify_all();
            }
            engine.report(&state);
            let limit = match state.behaviour {
                Behaviour::NeverReads => 0,
                Behaviour::ClosesAfter(n) if total >= n => return,
                Behaviour::ClosesAfter(n) => engine.room().min(n - total),
                _ => engine.room(),
            };
            if closed {
                if engine.used() == 0 {
                    return;
                }
                0
            } else {
                limit
            }
        };
        let out = engine.take_out();
        if !out.is_empty() && stream.write_all(&out).is_err() {
            closed = true;
        }
        if limit == 0 {
            drop(shared.pause(shared.lock()));
            continue;
        }
        let len = limit.min(chunk.len());
        match stream.read(&mut chunk[..len]) {
            Ok(0) => closed = true,
            Ok(n) => {
                total += n;
                engine.receive(&chunk[..n], &shared.lock());
            }
            Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(_) => closed = true,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pty

/// A rate limit: at most `per_second`. While busy (bytes kept coming) it catches up on time the
/// thread was not scheduled, up to a quarter of a second, as a real line would have delivered them
/// meanwhile; idle, only 10 ms worth (at least one byte) can go at once.
#[derive(Debug)]
struct Rate {
    per_second: Option<f64>,
    credit: f64,
    last: Instant,
}

impl Rate {
    fn new(per_second: Option<u32>) -> Rate {
        Rate { per_second: per_second.map(|rate| f64::from(rate.max(1))), credit: 0.0, last: Instant::now() }
    }

    fn available(&mut self, busy: bool) -> usize {
        let Some(rate) = self.per_second else { return usize::MAX };
        let now = Instant::now();
        let most = if busy { rate / 4.0 } else { rate / 100.0 }.max(1.0);
        self.credit = (self.credit + rate * now.duration_since(self.last).as_secs_f64()).min(most);
        self.last = now;
        self.credit.max(0.0) as usize
    }

    fn take(&mut self, n: usize) {
        if self.per_second.is_some() {
            self.credit -= n as f64;
        }
    }
}

fn serve_pty(mut port: serialport::TTYPort, shared: &Shared, options: PtyOptions) {
    let mut engine = Engine::new(options.buffer.max(1), true);
    let mut line = Rate::new(options.baud.map(|baud| baud / 10));
    let mut mechanism = Rate::new(options.print_rate);
    let high = options.buffer / 2;
    let low = options.buffer / 4;
    let mut stopped_sender = false;
    let mut last_xoff = Instant::now();
    let mut total = 0usize;
    let mut chunk = vec![0u8; 4096];
    // Whether the last read got all it asked for: more is (probably) on the line.
    let mut line_busy = false;
    loop {
        let limit = {
            let mut state = shared.lock();
            if state.stop {
                return;
            }
            let mechanism_busy = engine.used() > 0 && !state.ran_out;
            let printed = engine.print(mechanism.available(mechanism_busy), &mut state);
            mechanism.take(printed);
            if printed > 0 {
                shared.changed.notify_all();
            }
            engine.report(&state);
            if options.xon_xoff {
                if !stopped_sender && engine.used() >= high {
                    engine.out.push(XOFF);
                    stopped_sender = true;
                    last_xoff = Instant::now();
                    state.flow_stops += 1;
                } else if stopped_sender && engine.used() <= low {
                    engine.out.push(XON);
                    stopped_sender = false;
                }
            }
            match state.behaviour {
                Behaviour::NeverReads => 0,
                Behaviour::ClosesAfter(n) if total >= n => {
                    drop(state);
                    shared.kill_socat();
                    drop(port);
                    idle_until_stopped(shared);
                    return;
                }
                Behaviour::ClosesAfter(n) => line.available(line_busy).min(engine.room()).min(n - total),
                _ if options.xon_xoff => line.available(line_busy),
                _ => line.available(line_busy).min(engine.room()),
            }
        };
        let out = engine.take_out();
        if !out.is_empty() {
            let _ = port.write_all(&out);
        }
        if limit == 0 {
            drop(shared.pause(shared.lock()));
            continue;
        }
        let len = limit.min(chunk.len());
        line_busy = false;
        match port.read(&mut chunk[..len]) {
            Ok(n) if n > 0 => {
                line_busy = n == len;
                line.take(n);
                total += n;
                let mut state = shared.lock();
                if options.xon_xoff {
                    state.overruns += (engine.used() + n).saturating_sub(engine.capacity).min(n);
                    if stopped_sender && last_xoff.elapsed() >= XOFF_REPEAT {
                        // Still too full and the sender goes on: say it again.
                        engine.out.push(XOFF);
                        last_xoff = Instant::now();
                    }
                }
                engine.receive(&chunk[..n], &state);
            }
            Ok(_) => thread::sleep(TICK),
            Err(error) if matches!(error.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {}
            Err(_) => thread::sleep(TICK),
        }
    }
}

fn idle_until_stopped(shared: &Shared) {
    let mut state = shared.lock();
    while !state.stop {
        state = shared.pause(state);
    }
}

/// A fresh folder for the pty links.
fn new_folder() -> io::Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let folder = std::env::temp_dir().join(format!("counter-agent-fake-escpos-{}-{n}", std::process::id()));
        match std::fs::create_dir(&folder) {
            Ok(()) => return Ok(folder),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
}

/// Starts `socat` making the pair `folder/printer` (ours) and `folder/host` (the transport's), and
/// waits for both links.
fn start_socat(folder: &Path) -> io::Result<(Child, PathBuf, PathBuf)> {
    let printer_end = folder.join("printer");
    let host_end = folder.join("host");
    let mut socat = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", printer_end.display()))
        .arg(format!("pty,raw,echo=0,link={}", host_end.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            if error.kind() == io::ErrorKind::NotFound {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "socat is not installed: the fake serial printer needs it to make a pseudo-terminal \
                     pair (Debian package `socat`: apt-get install socat)",
                )
            } else {
                error
            }
        })?;
    let until = Instant::now() + Duration::from_secs(5);
    while !(printer_end.exists() && host_end.exists()) {
        let exited = socat.try_wait()?;
        if exited.is_some() || Instant::now() > until {
            let _ = socat.kill();
            let _ = socat.wait();
            let mut message = String::new();
            if let Some(mut stderr) = socat.stderr.take() {
                let _ = stderr.read_to_string(&mut message);
            }
            return Err(io::Error::other(format!("socat did not make the pty pair: {}", message.trim())));
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok((socat, printer_end, host_end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` one after the other; checks the job bytes and events.
    fn check(chunks: &[&[u8]], job: &[u8], events: &[(usize, Event)]) {
        let mut parser = Parser::default();
        let mut all = Parsed::default();
        for chunk in chunks {
            let parsed = parser.push(chunk);
            let offset = all.job.len();
            all.events.extend(parsed.events.into_iter().map(|(at, event)| (offset + at, event)));
            all.job.extend(parsed.job);
        }
        assert_eq!(all, Parsed { job: job.to_vec(), events: events.to_vec() }, "{chunks:?}");
    }

    #[test]
    fn commands_are_told_from_data() {
        // Plain text and a feed whose parameter is GS: no event.
        check(&[b"ab\x1bJ\x1dcd"], b"ab\x1bJ\x1dcd", &[]);
        // Init and the barrier, in order.
        check(&[b"\x1b@x\x1dr\x01"], b"\x1b@x\x1dr\x01", &[(0, Event::Init), (6, Event::Transmit(1))]);
        // A status request is not a job byte, even split across reads.
        check(&[b"ab\x10", b"\x04", b"\x02cd"], b"abcd", &[(2, Event::StatusRequest(2))]);
        // DLE before anything else is data.
        check(&[b"\x10\x1b@"], b"\x10\x1b@", &[(1, Event::Init)]);
        // ASB on.
        check(&[b"\x1da\xff"], b"\x1da\xff", &[(3, Event::AutomaticStatus(0xff))]);
        // A cut with its feed.
        check(&[b"\x1dVB\x10\x1b@"], b"\x1dVB\x10\x1b@", &[(4, Event::Init)]);
    }

    #[test]
    fn image_data_is_never_read_as_commands() {
        // GS v 0, 2 bytes × 3 rows of pixels that look like DLE EOT, ESC @ and GS r.
        let pixels = b"\x10\x04\x01\x1b@\x1d";
        let mut image = b"\x1dv0\x00\x02\x00\x03\x00".to_vec();
        image.extend_from_slice(pixels);
        image.extend_from_slice(b"\x1dr\x01");
        check(&[&image], &image, &[(17, Event::Transmit(1))]);
        // The same split byte by byte.
        let bytes: Vec<&[u8]> = image.chunks(1).collect();
        check(&bytes, &image, &[(17, Event::Transmit(1))]);
        // GS ( k store with a long length, then ESC @.
        let mut qr = vec![GS, b'(', b'k', 0x04, 0x01];
        qr.extend(std::iter::repeat_n(DLE, 0x104));
        qr.extend_from_slice(b"\x1b@");
        check(&[&qr], &qr, &[(qr.len() - 2, Event::Init)]);
        // GS ( L likewise.
        let graphics = [GS, b'(', b'L', 0x02, 0x00, ESC, b'@', b'z'];
        check(&[&graphics], &graphics, &[]);
    }

    #[test]
    fn status_bytes_have_the_fixed_bits() {
        for condition in [Condition::Ready, Condition::NearEnd, Condition::PaperOut, Condition::CoverOpen] {
            for n in 1..=4 {
                assert_eq!(condition.real_time_status(n) & 0x93, 0x12, "{condition:?} {n}");
            }
            let packet = condition.automatic_status();
            assert_eq!(packet[0] & 0x93, 0x10, "{condition:?}");
            assert!(packet[1..].iter().all(|b| b & 0x90 == 0), "{condition:?}");
            // Never mistaken for flow control.
            assert!(!packet.contains(&XON) && !packet.contains(&XOFF));
        }
    }

    #[test]
    fn the_mechanism_stops_after_n_bytes_and_resumes_without_loss() {
        let mut state = State::new(Behaviour::RunsOutAfter(5));
        let mut engine = Engine::new(64, false);
        engine.receive(b"0123456789\x1dr\x01", &state);
        assert_eq!(engine.print(usize::MAX, &mut state), 5);
        assert!(state.ran_out);
        assert_eq!(engine.take_out(), b"", "no barrier answer while out of paper");
        state.behaviour = Behaviour::Ready;
        state.ran_out = false;
        assert_eq!(engine.print(usize::MAX, &mut state), 8);
        assert_eq!(state.jobs, vec![b"0123456789\x1dr\x01".to_vec()]);
        assert_eq!(engine.take_out(), vec![0x00], "the barrier is answered once printed");
    }
}
