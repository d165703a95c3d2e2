//! `tcp://host:9100` printers: one connection per job or status query, every step under a deadline,
//! closed cleanly (an unclean close can lock some printers for ~30 s — FIELD-NOTES).
//!
//! A printer out of paper goes offline and stops reading: the job's write then times out and the
//! caller learns why from a status query (`DLE EOT`), which the printer answers even while offline.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::encoder::status_request;
use crate::status::{Replies, Reply, Status};

/// Deadlines of one exchange with a printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub connect: Duration,
    /// A write that makes no progress for this long fails (the printer stopped reading).
    pub write: Duration,
    /// Longest wait for each status answer.
    pub status: Duration,
}

impl Default for Deadlines {
    fn default() -> Deadlines {
        Deadlines {
            connect: Duration::from_secs(3),
            write: Duration::from_secs(10),
            status: Duration::from_millis(500),
        }
    }
}

/// Bytes written per `write` call, so a stalled printer is noticed within the write deadline.
const CHUNK: usize = 4096;
/// How long a job's connection waits for the printer to close its side after ours.
const CLOSE_WAIT: Duration = Duration::from_millis(300);

#[derive(Debug, thiserror::Error)]
pub enum TcpError {
    #[error("`{address}` is not a host:port the system can resolve: {source}")]
    Resolve { address: String, source: io::Error },
    #[error(
        "cannot connect to the printer at {address}: {source} — check that it is on, its cable, and its IP address"
    )]
    Connect { address: String, source: io::Error },
    #[error(
        "the printer at {address} stopped reading after {sent} of {total} bytes (paper out, cover open or offline?)"
    )]
    Stalled { address: String, sent: usize, total: usize },
    #[error("the connection to the printer at {address} broke after {sent} of {total} bytes: {source}")]
    Broken { address: String, sent: usize, total: usize, source: io::Error },
}

/// Sends one job and closes the connection cleanly. Any status the printer sent back on its own
/// (Automatic Status Back) is returned. A printer that stops reading fails the job as
/// [`TcpError::Stalled`] after the write deadline; [`send_watched`] can wait instead.
pub fn send(address: &str, bytes: &[u8], deadlines: Deadlines) -> Result<Option<Status>, TcpError> {
    let mut on_stall = |event| match event {
        StallEvent::Stalled { stalled_for, .. } => stalled_for < deadlines.write,
        StallEvent::Resumed => true,
    };
    send_watched(address, bytes, deadlines, false, &mut on_stall).map(|sent| sent.status)
}

/// What [`send_watched`] tells its caller while a job is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallEvent {
    /// The printer has read nothing (or not confirmed the job) for `stalled_for`, told every
    /// [`STALL_POLL`]. `status` is what it last said on its own (Automatic Status Back), if anything.
    Stalled { sent: usize, status: Option<Status>, stalled_for: Duration },
    /// It reads (or answered) again after a stall.
    Resumed,
}

/// The outcome of [`send_watched`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Status the printer sent on its own during the job.
    pub status: Option<Status>,
    /// The job ended with `GS r 1` and the printer answered it: everything before it is on paper.
    pub confirmed: bool,
}

/// How often a stalled job is looked at (and its watcher told).
pub const STALL_POLL: Duration = Duration::from_secs(1);

/// How long the printer may take to answer the `GS r 1` barrier when it says nothing else; a model
/// that ignores the command costs this much once per job, and the job still counts as sent.
const BARRIER_WAIT: Duration = Duration::from_secs(5);

/// Sends one job on one connection, keeping the connection while the printer stops reading: when
/// paper runs out mid-job an Epson stops reading and goes on where it stopped once paper is loaded,
/// so resending the job would print its first part twice. `on_stall` hears of a stall every
/// [`STALL_POLL`] and of every resumption; it returns false to give up ([`TcpError::Stalled`]).
///
/// With `barrier`, `bytes` must end with `GS r 1` ([`crate::Encoder::barrier`]): the job is
/// confirmed when its answer arrives, since the printer answers it only after printing what came
/// before.
pub fn send_watched(
    address: &str,
    bytes: &[u8],
    deadlines: Deadlines,
    barrier: bool,
    on_stall: &mut dyn FnMut(StallEvent) -> bool,
) -> Result<Sent, TcpError> {
    let mut stream = connect(address, deadlines)?;
    let total = bytes.len();
    let broken = |sent, source: io::Error| TcpError::Broken { address: address.to_string(), sent, total, source };
    let stalled_error = |sent| TcpError::Stalled { address: address.to_string(), sent, total };
    let poll = STALL_POLL.min(deadlines.write);
    stream.set_write_timeout(Some(poll)).map_err(|error| broken(0, error))?;
    let mut listener = Listener::default();
    let mut sent = 0;
    let mut stalled = false;
    let mut stalled_for = Duration::ZERO;
    while sent < total {
        let end = (sent + CHUNK).min(total);
        match stream.write(&bytes[sent..end]) {
            Ok(0) => return Err(broken(sent, io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                sent += n;
                stalled_for = Duration::ZERO;
                if stalled {
                    stalled = false;
                    if !on_stall(StallEvent::Resumed) {
                        return Err(stalled_error(sent));
                    }
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                listener.listen(&mut stream, Duration::from_millis(1));
                stalled = true;
                stalled_for += poll;
                if !on_stall(StallEvent::Stalled { sent, status: listener.status, stalled_for }) {
                    return Err(stalled_error(sent));
                }
            }
            Err(error) => return Err(broken(sent, error)),
        }
    }
    let mut confirmed = false;
    if barrier {
        // Waiting for `GS r 1`'s answer. A printer that has stopped (paper out) with our bytes in
        // its buffer says nothing; one that does not know `GS r` says nothing either. After a
        // while `DLE EOT 2` tells them apart: answered "fine" → printed (unconfirmed); answered
        // "stopped" or not at all (stuck behind unread data) → held, asked again later.
        let mut waited = Duration::ZERO;
        let mut asked: Option<Duration> = None;
        loop {
            let heard = listener.listen(&mut stream, poll);
            if listener.closed {
                return Err(broken(sent, io::ErrorKind::UnexpectedEof.into()));
            }
            if listener.barrier_answered {
                confirmed = true;
                if stalled {
                    on_stall(StallEvent::Resumed);
                }
                break;
            }
            if let Some(byte) = listener.offline_cause.take() {
                let mut cause = Status::default();
                cause.apply_dle_eot(2, byte);
                if !stalled && !cause.stops_printing() && !listener.status.is_some_and(|s| s.stops_printing()) {
                    // Fine and idle, yet no `GS r` answer: this model ignores `GS r`.
                    break;
                }
                listener.status = Some(cause);
                asked = None;
            }
            waited += poll;
            if asked.is_none_or(|at| waited >= at + BARRIER_WAIT) && waited >= BARRIER_WAIT {
                if stream.write_all(&status_request(2)).is_err() {
                    return Err(broken(sent, io::ErrorKind::BrokenPipe.into()));
                }
                asked = Some(waited);
            }
            let stopped = listener.status.is_some_and(|status| status.stops_printing());
            let unanswered = asked.is_some_and(|at| waited >= at + 2 * poll);
            if stopped || unanswered {
                // The printer says why it has not printed everything, or says nothing at all.
                stalled = true;
                let status = listener.status.filter(|status| status.stops_printing());
                if !on_stall(StallEvent::Stalled { sent, status, stalled_for: waited }) {
                    return Err(stalled_error(sent));
                }
            } else if stalled && heard {
                stalled = false;
                waited = Duration::ZERO;
                if !on_stall(StallEvent::Resumed) {
                    return Err(stalled_error(sent));
                }
            }
        }
    }
    // Our side done; read whatever the printer says until it closes or a short wait passes.
    let _ = stream.shutdown(Shutdown::Write);
    listener.listen(&mut stream, CLOSE_WAIT);
    Ok(Sent { status: listener.status, confirmed })
}

/// Reads what a printer sends back during a job: ASB packets and the barrier's answer.
#[derive(Default)]
struct Listener {
    replies: Replies,
    status: Option<Status>,
    barrier_answered: bool,
    /// The answer to a `DLE EOT 2` sent while waiting for the barrier.
    offline_cause: Option<u8>,
    closed: bool,
}

impl Listener {
    /// Reads for up to `wait` (returning sooner once something arrived); true when anything did.
    fn listen(&mut self, stream: &mut TcpStream, wait: Duration) -> bool {
        let mut buffer = [0u8; 64];
        let until = Instant::now() + wait;
        let mut heard = false;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || self.closed || stream.set_read_timeout(Some(left)).is_err() {
                return heard;
            }
            match stream.read(&mut buffer) {
                Ok(0) => self.closed = true,
                Err(_) => return heard,
                Ok(n) => {
                    heard = true;
                    for reply in self.replies.push(&buffer[..n]) {
                        match reply {
                            Reply::Automatic(packet) => {
                                self.status.get_or_insert_with(Status::default).apply_automatic(packet)
                            }
                            Reply::RealTime(byte) => self.offline_cause = Some(byte),
                            Reply::PaperSensor(byte) => {
                                self.status.get_or_insert_with(Status::default).apply_paper_sensor(byte);
                                self.barrier_answered = true;
                            }
                            _ => {}
                        }
                    }
                    // Got something: let the caller look at it before waiting on.
                    return heard;
                }
            }
        }
    }
}

/// Asks `DLE EOT` 1, 2 and 4 (online, cover and paper end, paper sensor). `None` when the printer
/// does not answer within the deadline: its state is unknown, never assumed fine.
pub fn query_status(address: &str, deadlines: Deadlines) -> Result<Option<Status>, TcpError> {
    let mut stream = connect(address, deadlines)?;
    let broken = |source| TcpError::Broken { address: address.to_string(), sent: 0, total: 3, source };
    stream.set_write_timeout(Some(deadlines.write)).map_err(broken)?;
    let mut status = Status::default();
    let mut replies = Replies::new();
    let mut buffer = [0u8; 64];
    for n in [1u8, 2, 4] {
        if stream.write_all(&status_request(n)).is_err() {
            return Ok(None);
        }
        let until = Instant::now() + deadlines.status;
        let mut answered = false;
        while !answered {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                return Ok(None);
            }
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return Ok(None),
                Ok(got) => {
                    for reply in replies.push(&buffer[..got]) {
                        match reply {
                            Reply::RealTime(byte) if !answered => answered = status.apply_dle_eot(n, byte),
                            Reply::Automatic(packet) => status.apply_automatic(packet),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    Ok(Some(status))
}

/// Connects and closes cleanly: proves a printer that answers no status is there.
pub fn query_connect(address: &str, deadlines: Deadlines) -> Result<(), TcpError> {
    let stream = connect(address, deadlines)?;
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

fn connect(address: &str, deadlines: Deadlines) -> Result<TcpStream, TcpError> {
    let addresses: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|source| TcpError::Resolve { address: address.to_string(), source })?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for candidate in addresses {
        match TcpStream::connect_timeout(&candidate, deadlines.connect) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(error) => last = error,
        }
    }
    Err(TcpError::Connect { address: address.to_string(), source: last })
}
