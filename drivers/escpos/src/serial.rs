//! `serial:` printers (`serial:/dev/ttyUSB0?baud=9600&flow=rtscts`): one job or one status query per
//! opening of the port, every step under a deadline.
//!
//! * The line is 8N1 (8 data bits, no parity, 1 stop bit), what nearly every receipt printer ships
//!   with; the connection string has no parity or stop-bit option yet.
//! * Flow control: `rtscts` is done by the UART (CRTSCTS); `xonxoff` by the kernel's tty layer
//!   (IXON): an XOFF from the printer stops our output until its XON. The tests prove the latter on
//!   a real pseudo-terminal pair, where the tty layer honours it just as on a UART (a pty has no
//!   RTS/CTS lines: there `rtscts` is accepted and has no effect).
//! * Data goes in bands of at most [`BAND`] bytes, each written only when the port takes it; the
//!   port is non-blocking, so a printer that holds us off (XOFF, CTS low) for the write deadline
//!   fails the job as `Stalled` with the byte count instead of blocking the caller for good.
//! * Except with RTS/CTS, bands are paced at the line rate (`baud / 10` bytes a second for 8N1), so
//!   about one band at most waits in the OS and in a USB adapter: an XOFF stops the tty layer but
//!   not the bytes a USB-serial adapter already holds, which must fit the headroom the printer keeps
//!   after its XOFF. Pacing cannot save a printer that prints slower than the line and has no flow
//!   control: nothing can but flow control.
//!
//! A printer out of paper stops taking data only if flow control tells us so; without it the bytes
//! are lost and only a status query (`DLE EOT`) tells why.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};

use counter_agent_driver_api::{Connection, SerialFlow};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use serialport::{ClearBuffer, DataBits, FlowControl, Parity, SerialPort, StopBits, TTYPort};

use crate::encoder::status_request;
use crate::status::{Replies, Reply, Status};
use crate::tcp::Deadlines;

/// Most bytes handed to the port at once.
pub const BAND: usize = 256;
/// How long a job waits for replies (Automatic Status Back) after its last byte left.
const REPLY_WAIT: Duration = Duration::from_millis(100);
/// How often a blocked write or drain looks again.
const POLL: Duration = Duration::from_millis(2);

/// Where and how a serial printer is wired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialLink {
    /// The device path, e.g. `/dev/ttyUSB0`.
    pub port: String,
    pub baud: u32,
    pub flow: SerialFlow,
}

impl SerialLink {
    pub fn new(port: impl Into<String>, baud: u32, flow: SerialFlow) -> SerialLink {
        SerialLink { port: port.into(), baud, flow }
    }

    /// The link of a `serial:` connection; `None` for other schemes.
    pub fn from_connection(connection: &Connection) -> Option<SerialLink> {
        match connection {
            Connection::Serial { port, baud, flow } => Some(SerialLink::new(port.clone(), *baud, *flow)),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SerialError {
    #[error(
        "there is no serial port `{port}` — check that the printer's cable or USB-serial adapter is plugged in \
         and the port name (ls /dev/ttyUSB* /dev/ttyACM* /dev/ttyS*)"
    )]
    NotFound { port: String, source: serialport::Error },
    #[error(
        "permission denied on the serial port `{port}` — add the agent's user to the `dialout` group \
         (sudo usermod -aG dialout <user>), then log in again or restart the agent"
    )]
    PermissionDenied { port: String, source: serialport::Error },
    #[error("the serial port `{port}` is in use by another program — close that program, then try again")]
    Busy { port: String, source: serialport::Error },
    #[error("cannot open the serial port `{port}` at {baud} baud, 8N1, flow control {flow}: {source}")]
    Open { port: String, baud: u32, flow: &'static str, source: serialport::Error },
    #[error(
        "the printer on {port} stopped taking data after {sent} of {total} bytes (paper out, cover open or \
         offline? or flow control set differently on the printer)"
    )]
    /// `sent`: the bytes that left the port; what it still held is dropped.
    Stalled { port: String, sent: usize, total: usize },
    #[error(
        "the serial line to the printer on {port} failed after {sent} of {total} bytes: {source} — check the cable"
    )]
    Broken { port: String, sent: usize, total: usize, source: io::Error },
}

/// Sends one job. Any status the printer sent back on its own (Automatic Status Back) is returned.
/// `deadlines.connect` is not used: opening a port does not wait.
pub fn send(link: &SerialLink, bytes: &[u8], deadlines: Deadlines) -> Result<Option<Status>, SerialError> {
    let mut port = open(link)?;
    let total = bytes.len();
    let mut pacer = (link.flow != SerialFlow::RtsCts).then(|| Pacer::new(link.baud));
    let mut sent = 0;
    for band in bytes.chunks(BAND) {
        if let Some(pacer) = pacer.as_mut() {
            pacer.wait_for(band.len());
        }
        if let Err((done, source)) = write_band(&mut port, band, deadlines.write) {
            let sent = sent + done;
            return Err(if matches!(source.kind(), io::ErrorKind::TimedOut) {
                SerialError::Stalled { port: link.port.clone(), sent: sent.saturating_sub(abandon(&port)), total }
            } else {
                SerialError::Broken { port: link.port.clone(), sent, total, source }
            });
        }
        sent += band.len();
    }
    // A UART holds what it has not sent yet; when the printer holds us off it stays there.
    if !drained(&port, deadlines.write) {
        return Err(SerialError::Stalled {
            port: link.port.clone(),
            sent: total.saturating_sub(abandon(&port)),
            total,
        });
    }
    let mut replies = Replies::new();
    let mut status = None;
    read_replies(&mut port, &mut replies, Instant::now() + REPLY_WAIT, |reply| {
        if let Reply::Automatic(packet) = reply {
            status.get_or_insert_with(Status::default).apply_automatic(packet);
        }
        false
    });
    Ok(status)
}

/// Asks `DLE EOT` 1, 2 and 4 (online, cover and paper end, paper sensor). `None` when the printer
/// does not answer within the deadline, or holds the line so the request cannot go: its state is
/// unknown, never assumed fine.
pub fn query_status(link: &SerialLink, deadlines: Deadlines) -> Result<Option<Status>, SerialError> {
    let mut port = open(link)?;
    let mut status = Status::default();
    let mut replies = Replies::new();
    for n in [1u8, 2, 4] {
        if write_band(&mut port, &status_request(n), deadlines.status).is_err() {
            return Ok(None);
        }
        let mut answered = false;
        read_replies(&mut port, &mut replies, Instant::now() + deadlines.status, |reply| {
            match reply {
                Reply::RealTime(byte) if !answered => answered = status.apply_dle_eot(n, byte),
                Reply::Automatic(packet) => status.apply_automatic(packet),
                _ => {}
            }
            answered
        });
        if !answered {
            return Ok(None);
        }
    }
    Ok(Some(status))
}

fn open(link: &SerialLink) -> Result<TTYPort, SerialError> {
    let flow = match link.flow {
        SerialFlow::None => FlowControl::None,
        SerialFlow::RtsCts => FlowControl::Hardware,
        SerialFlow::XonXoff => FlowControl::Software,
    };
    let port = serialport::new(link.port.as_str(), link.baud)
        .data_bits(DataBits::Eight)
        .parity(Parity::None)
        .stop_bits(StopBits::One)
        .flow_control(flow)
        .timeout(POLL)
        .open_native()
        .map_err(|source| open_error(link, source))?;
    // serialport leaves the descriptor blocking, and a blocking write of a band waits for good once
    // the printer holds the line mid-band: non-blocking, the write deadline always holds.
    fcntl(port.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
        .map_err(|errno| open_error(link, serialport::Error::from(io::Error::from(errno))))?;
    // Replies left from an earlier exchange (a late answer, an ASB packet) are not ours.
    let _ = port.clear(ClearBuffer::Input);
    Ok(port)
}

/// Names the port and says what to do for the errors a technician meets.
fn open_error(link: &SerialLink, source: serialport::Error) -> SerialError {
    let port = link.port.clone();
    match source.kind() {
        serialport::ErrorKind::Io(io::ErrorKind::NotFound) => SerialError::NotFound { port, source },
        serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied) => SerialError::PermissionDenied { port, source },
        // EBUSY: another program has the port open exclusively.
        serialport::ErrorKind::NoDevice => SerialError::Busy { port, source },
        _ => SerialError::Open { port, baud: link.baud, flow: link.flow.as_str(), source },
    }
}

/// Writes `band` whole; fails with the bytes written so far when none goes for `no_progress`.
fn write_band(port: &mut TTYPort, band: &[u8], no_progress: Duration) -> Result<(), (usize, io::Error)> {
    let mut done = 0;
    let mut progress = Instant::now();
    while done < band.len() {
        let left = no_progress.saturating_sub(progress.elapsed());
        if left.is_zero() {
            return Err((done, io::ErrorKind::TimedOut.into()));
        }
        // The wait for the port to take bytes (poll) ends with the deadline.
        if let Err(error) = port.set_timeout(left) {
            return Err((done, error.into()));
        }
        match port.write(&band[done..]) {
            Ok(n) if n > 0 => {
                done += n;
                progress = Instant::now();
            }
            Ok(_) => thread::sleep(POLL),
            Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {
                thread::sleep(POLL);
            }
            Err(error) => return Err((done, error)),
        }
    }
    Ok(())
}

/// Drops what the port still holds for a printer that stopped taking data, so that closing the port
/// does not wait for it (Linux waits up to 30 s); returns how many bytes were dropped.
fn abandon(port: &TTYPort) -> usize {
    let queued = port.bytes_to_write().map_or(0, |n| n as usize);
    let _ = port.clear(ClearBuffer::Output);
    queued
}

/// Waits until the port has sent everything; false when nothing moves for `no_progress`.
fn drained(port: &TTYPort, no_progress: Duration) -> bool {
    let queued = || port.bytes_to_write().map_or(0, |n| n as usize);
    let mut last = queued();
    let mut progress = Instant::now();
    while last > 0 {
        thread::sleep(POLL);
        let now = queued();
        if now < last {
            progress = Instant::now();
        } else if progress.elapsed() >= no_progress {
            return false;
        }
        last = now;
    }
    true
}

/// Reads replies until `until` or until `done` returns true for one.
fn read_replies(port: &mut TTYPort, replies: &mut Replies, until: Instant, mut done: impl FnMut(Reply) -> bool) {
    let mut buffer = [0u8; 64];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || port.set_timeout(left).is_err() {
            return;
        }
        match port.read(&mut buffer) {
            Ok(n) if n > 0 => {
                for reply in replies.push(&buffer[..n]) {
                    if done(reply) {
                        return;
                    }
                }
            }
            Ok(_) => thread::sleep(POLL),
            Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {
                thread::sleep(POLL);
            }
            Err(_) => return,
        }
    }
}

/// Holds bands back to the line rate, allowing one band ahead.
#[derive(Debug)]
struct Pacer {
    bytes_per_second: f64,
    credit: f64,
    last: Instant,
}

impl Pacer {
    fn new(baud: u32) -> Pacer {
        // 8N1: a start bit, 8 data bits and a stop bit per byte.
        Pacer { bytes_per_second: f64::from(baud.max(10)) / 10.0, credit: BAND as f64, last: Instant::now() }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let earned = self.bytes_per_second * now.duration_since(self.last).as_secs_f64();
        self.credit = (self.credit + earned).min(BAND as f64);
        self.last = now;
    }

    fn wait_for(&mut self, n: usize) {
        self.refill();
        let missing = n as f64 - self.credit;
        if missing > 0.0 {
            thread::sleep(Duration::from_secs_f64(missing / self.bytes_per_second));
            self.refill();
        }
        self.credit -= n as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> SerialLink {
        SerialLink::new("/dev/ttyUSB7", 9600, SerialFlow::RtsCts)
    }

    /// As root (the test machines), a real permission error cannot be provoked: check the mapping.
    #[test]
    fn a_permission_error_tells_the_technician_about_dialout() {
        let source = serialport::Error::new(serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied), "EACCES");
        let error = open_error(&link(), source);
        assert!(matches!(error, SerialError::PermissionDenied { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("`/dev/ttyUSB7`") && message.contains("dialout"), "{message}");
    }

    #[test]
    fn a_port_in_use_and_other_failures_name_the_port() {
        let busy = open_error(&link(), serialport::Error::new(serialport::ErrorKind::NoDevice, "EBUSY"));
        assert!(busy.to_string().contains("in use by another program"), "{busy}");
        let other = open_error(&link(), serialport::Error::new(serialport::ErrorKind::Unknown, "ENOTTY"));
        assert_eq!(
            other.to_string(),
            "cannot open the serial port `/dev/ttyUSB7` at 9600 baud, 8N1, flow control rtscts: ENOTTY"
        );
    }

    #[test]
    fn pacing_holds_bands_to_the_line_rate() {
        // 9600 baud: 960 bytes a second; the first band goes at once, three more take 0.8 s.
        let mut pacer = Pacer::new(9600);
        let started = Instant::now();
        for _ in 0..4 {
            pacer.wait_for(BAND);
        }
        let elapsed = started.elapsed().as_secs_f64();
        assert!((0.79..1.0).contains(&elapsed), "{elapsed}");
    }

    #[test]
    fn a_serial_connection_gives_its_link() {
        let connection: Connection = "serial:/dev/ttyS0?baud=19200&flow=xonxoff".parse().expect("parses");
        assert_eq!(
            SerialLink::from_connection(&connection),
            Some(SerialLink::new("/dev/ttyS0", 19200, SerialFlow::XonXoff))
        );
        let tcp: Connection = "tcp://127.0.0.1:9100".parse().expect("parses");
        assert_eq!(SerialLink::from_connection(&tcp), None);
    }
}
