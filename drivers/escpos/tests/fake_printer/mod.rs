//! A fake ESC/POS printer on TCP for the tests: it keeps every byte a job sends, answers `DLE EOT`
//! with the bytes a real printer sends for its state (fixed bits included), skips `GS v 0` image
//! data so pixels are never read as commands, and can misbehave the ways printers do.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Ready,
    PaperOut,
    PaperNearEnd,
    CoverOpen,
    /// Reads everything, never answers a status request.
    Silent,
    /// Accepts the connection and never reads (a printer that went offline mid-job).
    NeverReads,
    /// Closes the connection after this many bytes.
    ClosesAfter(usize),
}

pub struct FakePrinter {
    pub address: String,
    /// Bytes received, one entry per connection.
    pub jobs: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl FakePrinter {
    pub fn start(behaviour: Behaviour) -> FakePrinter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let jobs = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&jobs);
        thread::spawn(move || {
            // One client at a time, like a real port-9100 printer.
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let received = serve(stream, behaviour);
                kept.lock().expect("jobs").push(received);
            }
        });
        FakePrinter { address, jobs }
    }

    pub fn jobs(&self) -> Vec<Vec<u8>> {
        self.jobs.lock().expect("jobs").clone()
    }
}

/// The answer to `DLE EOT n` in `behaviour`.
fn answer(behaviour: Behaviour, n: u8) -> u8 {
    let fixed = 0x12;
    match (behaviour, n) {
        (Behaviour::PaperOut, 1) | (Behaviour::CoverOpen, 1) => fixed | 0x08, // offline
        (Behaviour::PaperOut, 2) => fixed | 0x20,
        (Behaviour::CoverOpen, 2) => fixed | 0x04,
        (Behaviour::PaperOut, 4) => fixed | 0x60,
        (Behaviour::PaperNearEnd, 4) => fixed | 0x0C,
        _ => fixed,
    }
}

fn serve(mut stream: TcpStream, behaviour: Behaviour) -> Vec<u8> {
    let mut received = Vec::new();
    if behaviour == Behaviour::NeverReads {
        thread::sleep(Duration::from_secs(5));
        return received;
    }
    let mut buffer = [0u8; 8192];
    let mut skip = 0usize; // image bytes still to come
    let mut scanned = 0usize; // bytes of `received` already interpreted
    loop {
        let n = match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        received.extend_from_slice(&buffer[..n]);
        if let Behaviour::ClosesAfter(limit) = behaviour {
            if received.len() >= limit {
                received.truncate(limit);
                return received;
            }
        }
        while scanned < received.len() {
            if skip > 0 {
                let take = skip.min(received.len() - scanned);
                skip -= take;
                scanned += take;
                continue;
            }
            let rest = &received[scanned..];
            if rest.starts_with(b"\x1dv0") {
                if rest.len() < 8 {
                    break;
                }
                let width = usize::from(rest[4]) + 256 * usize::from(rest[5]);
                let rows = usize::from(rest[6]) + 256 * usize::from(rest[7]);
                skip = width * rows;
                scanned += 8;
            } else if rest.starts_with(&[0x10, 0x04]) {
                if rest.len() < 3 {
                    break;
                }
                if behaviour != Behaviour::Silent {
                    let _ = stream.write_all(&[answer(behaviour, rest[2])]);
                }
                scanned += 3;
            } else if rest.len() < 3 && (rest[0] == 0x1d || rest[0] == 0x10) {
                break; // a command split across reads
            } else {
                scanned += 1;
            }
        }
    }
    received
}
