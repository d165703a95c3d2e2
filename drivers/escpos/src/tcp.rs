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
/// (Automatic Status Back) is returned.
pub fn send(address: &str, bytes: &[u8], deadlines: Deadlines) -> Result<Option<Status>, TcpError> {
    let mut stream = connect(address, deadlines)?;
    let broken = |sent, source: io::Error| {
        if matches!(source.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
            TcpError::Stalled { address: address.to_string(), sent, total: bytes.len() }
        } else {
            TcpError::Broken { address: address.to_string(), sent, total: bytes.len(), source }
        }
    };
    stream.set_write_timeout(Some(deadlines.write)).map_err(|error| broken(0, error))?;
    let mut sent = 0;
    for chunk in bytes.chunks(CHUNK) {
        stream.write_all(chunk).map_err(|error| broken(sent, error))?;
        sent += chunk.len();
    }
    stream.flush().map_err(|error| broken(sent, error))?;
    // Our side done; read whatever the printer says until it closes or a short wait passes.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(CLOSE_WAIT));
    let mut replies = Replies::new();
    let mut status = None;
    let mut buffer = [0u8; 64];
    let started = Instant::now();
    while started.elapsed() < CLOSE_WAIT {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                for reply in replies.push(&buffer[..n]) {
                    if let Reply::Automatic(packet) = reply {
                        status.get_or_insert_with(Status::default).apply_automatic(packet);
                    }
                }
            }
        }
    }
    Ok(status)
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
