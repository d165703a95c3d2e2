//! A real IPP printer for the tests: CUPS's `ippeveprinter` (Debian `cups-ipp-utils`) on a free
//! loopback port, with a private D-Bus system bus (it will not start without one on Debian 12,
//! see FIELD-NOTES) whose address is given to that process only.
//!
//! Jobs go through a hook script (`-c`) that does what the test asks through a `mode` file in the
//! peer's folder: finish at once, finish slowly, fail with paper out or a jam (`STATE:` lines on
//! stderr, as CUPS backends report), or run out of paper mid-job and wait for `paper-loaded`.
//! `-k` keeps every job's document in `spool/`, so a test can compare bytes; `-K keys/` is where it
//! makes the self-signed certificate it presents to `ipps://` clients on the same port. Loading
//! paper is the printer's own web form (`/media`), which clears `media-empty` as a clerk filling
//! the tray does.
//!
//! A missing `ippeveprinter` or `dbus-daemon` fails the test with the package to install: these
//! tests never skip.
//!
//! Built only with the `test-peer` feature (this crate's and the daemon's tests turn it on).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use counter_agent_driver_api::{
    Connection, DeviceSettings, DocumentFormat, EscposSettings, OpenSpec, PrintDocument, PrinterSettings,
};

/// What the hook does with the next jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Finishes at once.
    Done,
    /// Takes 300 ms.
    Slow,
    /// `STATE: +media-empty-error`, exit 1: the job is aborted, the tray reads empty.
    PaperOut,
    /// `STATE: +media-jam-error`, exit 1.
    Jam,
    /// `STATE: +media-empty-error`, then waits (up to 60 s) for `paper-loaded` in the peer's
    /// folder, clears the state and finishes: paper runs out mid-job and is reloaded.
    PaperOutMidJob,
}

impl Hook {
    fn word(self) -> &'static str {
        match self {
            Hook::Done => "done",
            Hook::Slow => "slow",
            Hook::PaperOut => "paper-out",
            Hook::Jam => "jam",
            Hook::PaperOutMidJob => "paper-out-mid-job",
        }
    }
}

const HOOK: &str = r#"#!/bin/sh
# ippeveprinter print command for the tests; $1 is the spooled document.
dir=$(dirname "$0")
mode=$(cat "$dir/mode" 2>/dev/null)
echo "start $IPP_JOB_ID name=$IPP_JOB_NAME format=$CONTENT_TYPE file=$(basename "$1")" >> "$dir/hook.log"
case "$mode" in
  slow) sleep 0.3 ;;
  paper-out) echo "STATE: +media-empty-error" >&2; echo "fail $IPP_JOB_ID" >> "$dir/hook.log"; exit 1 ;;
  jam) echo "STATE: +media-jam-error" >&2; echo "fail $IPP_JOB_ID" >> "$dir/hook.log"; exit 1 ;;
  paper-out-mid-job)
    echo "STATE: +media-empty-error" >&2
    n=0
    while [ ! -e "$dir/paper-loaded" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n + 1)); done
    echo "STATE: -media-empty-error" >&2 ;;
esac
echo "done $IPP_JOB_ID" >> "$dir/hook.log"
exit 0
"#;

/// A D-Bus system bus that lets anyone do anything, on a socket in the peer's folder.
const DBUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"#;

/// A running `ippeveprinter` and its bus; both are killed on drop.
pub struct Peer {
    pub dir: tempfile::TempDir,
    pub port: u16,
    printer: Child,
    dbus: Child,
}

/// `name` on the PATH or in the sbin folders (not on a normal user's PATH), or a failure that says
/// which package to install.
pub fn program(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let folders = std::env::split_paths(&path).chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from));
    for folder in folders {
        let candidate = folder.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{name}` is not installed; these tests need a real IPP printer — install the Debian package {package} (apt-get install -y {package})");
}

/// A loopback port nothing listens on (just now).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Waits up to `limit` for `done`.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

impl Peer {
    /// A printer that accepts PDF.
    pub fn start() -> Peer {
        Peer::with_formats("application/pdf")
    }

    /// A printer whose `document-format-supported` is `formats` (`-f`, comma-separated).
    pub fn with_formats(formats: &str) -> Peer {
        let ippeveprinter = program("ippeveprinter", "cups-ipp-utils");
        let dbus_daemon = program("dbus-daemon", "dbus-daemon");
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("bus");
        let config = dir.path().join("dbus.conf");
        std::fs::write(&config, DBUS_CONFIG.replace("SOCKET", &socket.display().to_string())).expect("dbus config");
        let mut dbus = Command::new(dbus_daemon)
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        if !wait_for(Duration::from_secs(10), || socket.exists()) {
            let _ = dbus.kill();
            let _ = dbus.wait();
            panic!("dbus-daemon made no socket at {} within 10 s", socket.display());
        }
        let hook = dir.path().join("hook.sh");
        std::fs::write(&hook, HOOK).expect("write the hook");
        make_executable(&hook);
        std::fs::create_dir(dir.path().join("spool")).expect("spool folder");
        // Where it makes its self-signed TLS certificate (`ipps://` on the same port).
        std::fs::create_dir(dir.path().join("keys")).expect("keys folder");
        std::fs::write(dir.path().join("hook.log"), "").expect("hook log");
        // The port is free when chosen; another process may take it before ippeveprinter binds it.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log_path = dir.path().join(format!("ippeveprinter-{port}.log"));
            let log = std::fs::File::create(&log_path).expect("printer log");
            let mut printer = Command::new(&ippeveprinter)
                .args(["-r", "off", "-n", "localhost", "-p", &port.to_string(), "-k", "-K"])
                .arg(dir.path().join("keys"))
                .arg("-c")
                .arg(&hook)
                .args(["-f", formats, "-d"])
                .arg(dir.path().join("spool"))
                .arg("Counter Agent Test")
                .env("DBUS_SYSTEM_BUS_ADDRESS", format!("unix:path={}", socket.display()))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .spawn()
                .expect("start ippeveprinter");
            let mut exited = false;
            let answering = wait_for(Duration::from_secs(15), || {
                exited = matches!(printer.try_wait(), Ok(Some(_)));
                exited || TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            if answering && !exited {
                return Peer { dir, port, printer, dbus };
            }
            let _ = printer.kill();
            let _ = printer.wait();
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        let _ = dbus.kill();
        let _ = dbus.wait();
        panic!("ippeveprinter did not start; its last output:\n{last_log}");
    }

    /// `ipp://localhost:PORT/ipp/print`.
    pub fn url(&self) -> String {
        format!("ipp://localhost:{}/ipp/print", self.port)
    }

    pub fn spec(&self) -> OpenSpec {
        spec(&self.url())
    }

    /// What the next jobs' hook does.
    pub fn set_hook(&self, hook: Hook) {
        std::fs::write(self.dir.path().join("mode"), hook.word()).expect("write the hook mode");
    }

    /// Lets a [`Hook::PaperOutMidJob`] job go on.
    pub fn reload_paper_mid_job(&self) {
        std::fs::write(self.dir.path().join("paper-loaded"), "").expect("write paper-loaded");
    }

    /// Fills the main tray through the printer's web form, as a clerk loading paper: clears
    /// `media-empty`.
    pub fn load_paper(&self) {
        let query = "size1=iso_a4_210x297mm&type1=stationery&level1=250&size3=&type3=&level3=-2";
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the printer's web form");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
        write!(stream, "GET /media?{query} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n", self.port)
            .expect("send the form");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "the media form answered: {}", answer.lines().next().unwrap_or(""));
    }

    /// The hook's log: `start ID name=… format=… file=…`, `done ID`, `fail ID` lines.
    pub fn hook_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("hook.log")).expect("read the hook log")
    }

    /// The documents the printer kept, by job id.
    pub fn spooled(&self) -> Vec<(u32, Vec<u8>)> {
        let mut found: Vec<(u32, Vec<u8>)> = std::fs::read_dir(self.dir.path().join("spool"))
            .expect("list the spool")
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "pdf"))
            .map(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
                let id =
                    name.split('-').next().and_then(|id| id.parse().ok()).expect("spool names start with the job id");
                (id, std::fs::read(&path).expect("read a spooled document"))
            })
            .collect();
        found.sort_by_key(|(id, _)| *id);
        found
    }

    /// Every file in the spool folder.
    pub fn spool_files(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("spool"))
            .expect("list the spool")
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().to_string())
            .collect()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.printer.kill();
        let _ = self.printer.wait();
        let _ = self.dbus.kill();
        let _ = self.dbus.wait();
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod the hook");
}

/// An A4 PDF profile's device at `url`.
pub fn spec(url: &str) -> OpenSpec {
    OpenSpec {
        id: "a4".into(),
        connection: url.parse::<Connection>().unwrap_or_else(|error| panic!("{url}: {error}")),
        settings: DeviceSettings::Printer(PrinterSettings {
            paper_width_mm: 210,
            printable_dots: 0,
            dpi: 300,
            cutter: false,
            formats: vec![DocumentFormat::Pdf],
            escpos: EscposSettings::default(),
        }),
    }
}

/// A one-page A4 PDF of about `n_bytes` (its content stream padded with a comment), different
/// for each `seed`.
pub fn pdf(n_bytes: usize, seed: u8) -> Vec<u8> {
    let mut content = format!("BT /F1 24 Tf 72 720 Td (Bien nhan {seed}) Tj ET\n%");
    let mut x = seed as u32 | 1;
    while content.len() < n_bytes {
        // Printable filler from a little LCG, so documents differ byte for byte.
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        content.push(char::from(b'A' + (x >> 16) as u8 % 26));
    }
    content.push('\n');
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// A PDF print document.
pub fn document(bytes: Vec<u8>, job_name: &str) -> PrintDocument {
    PrintDocument { format: DocumentFormat::Pdf, bytes, job_name: job_name.into() }
}
