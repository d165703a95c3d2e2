//! A raw 45 KB ESC/POS job from the API call to its last byte at a TCP printer (issue 4 targets:
//! median ≤ 3 ms, p95 ≤ 10 ms, the first job after start-up ≤ 10 ms), and the agent's resident
//! memory over 500 consecutive jobs (growth ≤ 5 MB).
//!
//! The printer is a TCP sink on loopback that answers `DLE EOT` (ready) and the `GS r 1` barrier
//! like a real one and notes when the job's last byte arrives. The agent is the release binary
//! with the generic 80 mm profile (status asked before each job, barrier after it), driven over
//! plain HTTP/1.1 keep-alive.
//!
//! Run: `cargo build --release && cargo bench --bench print_flow`
//! (`AGENT_BIN` overrides the binary; `JOBS` the number of jobs, default 500).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ORIGIN: &str = "http://127.0.0.1:7499";
const JOB_BYTES: usize = 45_000;

fn binary() -> PathBuf {
    std::env::var_os("AGENT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/counter-agent"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

struct AgentProcess(Child);

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The printer: answers `DLE EOT n` with "ready", `GS r 1` with "paper present", and sends the
/// time each job's last byte (`total` bytes after the connection opened) arrived.
fn start_printer(job_total: usize) -> (u16, mpsc::Receiver<Instant>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind printer");
    let port = listener.local_addr().expect("addr").port();
    let (done, arrivals) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_nodelay(true);
            let mut received = 0usize;
            let mut tail = [0u8; 2];
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let n = match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let now = Instant::now();
                // Real-time requests and the barrier are answered as they arrive.
                for &byte in &buffer[..n] {
                    match (tail, byte) {
                        ([0x10, 0x04], _) => {
                            let _ = stream.write_all(&[0x12]);
                        }
                        ([0x1D, b'r'], 1) => {
                            let _ = stream.write_all(&[0x00]);
                        }
                        _ => {}
                    }
                    tail = [tail[1], byte];
                }
                let before = received;
                received += n;
                if before < job_total && received >= job_total {
                    let _ = done.send(now);
                }
            }
        }
    });
    (port, arrivals)
}

fn write_station(dir: &Path, port: u16, printer_port: u16) -> PathBuf {
    let path = dir.join("station.toml");
    let text = format!(
        "[station]\nname = \"Bench\"\ncounter = 1\n[server]\nlisten = \"127.0.0.1:{port}\"\nallowed_origins = [\"{ORIGIN}\"]\n\
         [storage]\ndata_dir = \"{}\"\n[[device]]\nid = \"receipt\"\nprofile = \"escpos-generic-80mm\"\nconnection = \"tcp://127.0.0.1:{printer_port}\"\n",
        dir.join("data").display()
    );
    std::fs::write(&path, text).expect("write station file");
    path
}

fn create_token(station: &Path) -> String {
    let output = Command::new(binary())
        .args(["token", "create", "--config"])
        .arg(station)
        .args(["--origin", ORIGIN, "--scopes", "print"])
        .output()
        .expect("token create (cargo build --release first)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf8").trim().to_string()
}

fn start(station: &Path, port: u16) -> AgentProcess {
    let child = Command::new(binary())
        .args(["serve", "--config"])
        .arg(station)
        .env("COUNTER_AGENT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the release binary");
    let begin = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(begin.elapsed() < Duration::from_secs(10), "agent did not start");
        std::thread::sleep(Duration::from_millis(1));
    }
    AgentProcess(child)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// One keep-alive connection; returns the response's status code.
fn post(connection: &mut BufReader<TcpStream>, port: u16, token: &str, body: &str) -> u16 {
    let request = format!(
        "POST /v1/prints HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {ORIGIN}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    connection.get_mut().write_all(request.as_bytes()).expect("send");
    let mut line = String::new();
    connection.read_line(&mut line).expect("status line");
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status code");
    let mut length = 0usize;
    loop {
        line.clear();
        connection.read_line(&mut line).expect("header");
        if line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().expect("length");
        }
    }
    let mut rest = vec![0u8; length];
    connection.read_exact(&mut rest).expect("body");
    status
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    use base64::Engine;
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let jobs: usize = std::env::var("JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    // A raster-heavy receipt's worth of bytes, with no byte pair a printer would take as a
    // real-time request.
    let mut job = vec![0x1B, b'@'];
    while job.len() < JOB_BYTES {
        job.extend_from_slice(b"Hen tra ket qua: 07/12/2026 14:00 - Quay so 3\n");
    }
    job.truncate(JOB_BYTES);
    let escpos = base64::engine::general_purpose::STANDARD.encode(&job);
    let (printer_port, arrivals) = start_printer(JOB_BYTES + 3);
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let station = write_station(dir.path(), port, printer_port);
    let token = create_token(&station);
    let agent = start(&station, port);
    let mut connection = BufReader::new(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    connection.get_ref().set_nodelay(true).expect("nodelay");

    let mut latencies = Vec::with_capacity(jobs);
    let mut first = Duration::ZERO;
    let mut rss_after_50 = 0;
    for i in 0..jobs {
        let body = format!(r#"{{"device":"receipt","idempotency_key":"bench-{i}","escpos":"{escpos}"}}"#);
        let sent = Instant::now();
        assert_eq!(post(&mut connection, port, &token, &body), 202);
        let arrived = arrivals.recv_timeout(Duration::from_secs(10)).expect("the job reached the printer");
        let latency = arrived.saturating_duration_since(sent);
        if i == 0 {
            first = latency;
        } else {
            latencies.push(latency);
        }
        if i + 1 == 50 {
            rss_after_50 = rss_kib(agent.0.id());
        }
        // One job every 55 ms: under the agent's write limit of 20 requests a second per web app
        // (a counter prints far fewer), and the queue is idle when the next one comes.
        std::thread::sleep(Duration::from_millis(55));
    }
    let rss_end = rss_kib(agent.0.id());
    latencies.sort();
    println!(
        "raw {JOB_BYTES}-byte ESC/POS job, API call → last byte at a TCP printer ({jobs} jobs, one after another)"
    );
    println!("  first job after start-up: {}", ms(first));
    println!(
        "  median {}, p95 {}, p99 {}, max {}",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().expect("jobs"))
    );
    println!(
        "  resident memory: {} KiB after 50 jobs, {} KiB after {jobs} ({:+} KiB)",
        rss_after_50,
        rss_end,
        rss_end as i64 - rss_after_50 as i64
    );
}
