//! Headless Chromium and a minimal DevTools-protocol client: launch, attach to the page, navigate,
//! evaluate JavaScript, type text, take screenshots. Only what the browser tests need.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Debian's launcher; `CHROMIUM` overrides it.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running headless Chromium with a fresh profile. Killed on drop, also when a test fails.
pub struct Chromium {
    child: Child,
    port: u16,
    log: PathBuf,
    /// Dropped after the process is gone.
    _dir: tempfile::TempDir,
}

impl Chromium {
    pub async fn launch() -> Chromium {
        let binary = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
        assert!(
            binary.exists(),
            "Chromium is not installed at {}: the browser tests drive Debian's headless Chromium. \
             Install it with `apt-get install chromium` (the CI test script does), or point CHROMIUM at the binary.",
            binary.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let profile = dir.path().join("profile");
        let log = dir.path().join("chromium.log");
        let log_file = std::fs::File::create(&log).expect("chromium log");
        let child = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-crash-reporter",
                "--window-size=1280,900",
                "--lang=vi-VN",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut chromium = Chromium { child, port: 0, log, _dir: dir };
        chromium.port = chromium.wait_for_port(&profile).await;
        chromium
    }

    /// Reads the port from `<profile>/DevToolsActivePort` (first line), once Chromium wrote it.
    async fn wait_for_port(&mut self, profile: &Path) -> u16 {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read_to_string(profile.join("DevToolsActivePort")) {
                if let Some(port) = text.lines().next().and_then(|l| l.trim().parse::<u16>().ok()) {
                    if text.lines().count() >= 2 {
                        return port;
                    }
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("Chromium exited at start-up ({status}); its log:\n{}", self.log_tail());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Chromium did not open its DevTools port; its log:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Attaches to the initial `about:blank` tab.
    pub async fn page(&self) -> Page {
        let targets: Vec<Value> = reqwest::get(format!("http://127.0.0.1:{}/json/list", self.port))
            .await
            .expect("DevTools /json/list")
            .json()
            .await
            .expect("target list");
        let url = targets
            .iter()
            .find(|t| t["type"] == "page" && t["url"] == "about:blank")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .unwrap_or_else(|| panic!("no about:blank page target in {targets:?}"))
            .to_string();
        Page::connect(&url).await
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // The launcher execs the browser, so this is the browser process; its helpers exit with it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;
type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;

/// One page target, over its own DevTools WebSocket.
pub struct Page {
    sink: tokio::sync::Mutex<Sink>,
    pending: Pending,
    next_id: AtomicU64,
    /// Console messages and uncaught exceptions, for failure reports.
    console: Arc<Mutex<Vec<String>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Page {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn console_line(event: &Value) -> Option<String> {
    let params = &event["params"];
    match event["method"].as_str()? {
        "Runtime.consoleAPICalled" => {
            let args: Vec<String> = params["args"]
                .as_array()?
                .iter()
                .map(|a| a["value"].as_str().map_or_else(|| a["description"].to_string(), str::to_string))
                .collect();
            Some(format!("console.{}: {}", params["type"].as_str().unwrap_or("log"), args.join(" ")))
        }
        "Runtime.exceptionThrown" => {
            let details = &params["exceptionDetails"];
            Some(format!("uncaught: {} {}", details["text"], details["exception"]["description"]))
        }
        "Log.entryAdded" => {
            Some(format!("{}: {} {}", params["entry"]["level"], params["entry"]["text"], params["entry"]["url"]))
        }
        _ => None,
    }
}

impl Page {
    async fn connect(url: &str) -> Page {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("connect to the page's DevTools socket");
        let (sink, mut stream) = socket.split();
        let pending: Pending = Arc::default();
        let console: Arc<Mutex<Vec<String>>> = Arc::default();
        let reader = tokio::spawn({
            let pending = pending.clone();
            let console = console.clone();
            async move {
                while let Some(Ok(message)) = stream.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                        continue;
                    };
                    if let Some(id) = value["id"].as_u64() {
                        if let Some(reply) = pending.lock().expect("pending lock").remove(&id) {
                            let _ = reply.send(value);
                        }
                    } else if let Some(line) = console_line(&value) {
                        console.lock().expect("console lock").push(line);
                    }
                }
            }
        });
        let page = Page { sink: tokio::sync::Mutex::new(sink), pending, next_id: AtomicU64::new(1), console, reader };
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            page.call(domain, json!({})).await;
        }
        page
    }

    /// Sends a command and returns its `result`; panics on a protocol error.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.pending.lock().expect("pending lock").insert(id, reply);
        let request = json!({ "id": id, "method": method, "params": params }).to_string();
        self.sink.lock().await.send(Message::text(request)).await.expect("send to DevTools");
        let response = tokio::time::timeout(CALL_TIMEOUT, answer)
            .await
            .unwrap_or_else(|_| panic!("DevTools did not answer {method} within {CALL_TIMEOUT:?}"))
            .expect("DevTools connection closed");
        if let Some(error) = response.get("error") {
            panic!("DevTools {method} failed: {error}");
        }
        response["result"].clone()
    }

    /// What the page logged so far.
    pub fn console(&self) -> String {
        self.console.lock().expect("console lock").join("\n")
    }

    /// Opens `url` and waits until the document and its scripts have loaded.
    pub async fn navigate(&self, url: &str) {
        let result = self.call("Page.navigate", json!({ "url": url })).await;
        if let Some(error) = result["errorText"].as_str() {
            panic!("navigating to {url} failed: {error}");
        }
        let expected = serde_json::to_string(url).expect("string");
        self.wait_for(
            &format!("{url} to load"),
            &format!("location.href === {expected} && document.readyState === 'complete'"),
            Duration::from_secs(15),
        )
        .await;
    }

    /// Evaluates an expression (awaiting a promise) and returns its JSON value; panics when it throws.
    pub async fn eval(&self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true, "userGesture": true }),
            )
            .await;
        if let Some(details) = result.get("exceptionDetails") {
            panic!(
                "page script threw: {} {}\nscript: {expression}\npage console:\n{}",
                details["text"],
                details["exception"]["description"],
                self.console()
            );
        }
        result["result"]["value"].clone()
    }

    /// Polls `expression` until it is truthy and returns that value.
    pub async fn wait_for(&self, what: &str, expression: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let value = self.eval(expression).await;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            if tokio::time::Instant::now() >= deadline {
                let shot = self.screenshot_to("failure").await;
                panic!(
                    "timed out after {timeout:?} waiting for {what}; last value {value}\nscreenshot: {}\npage console:\n{}",
                    shot.display(),
                    self.console()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `source` in every document this page loads, before the page's own scripts.
    pub async fn add_init_script(&self, source: &str) {
        self.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": source })).await;
    }

    /// Types text into the focused element, as a keyboard would.
    pub async fn type_text(&self, text: &str) {
        self.call("Input.insertText", json!({ "text": text })).await;
    }

    /// A PNG of the whole page.
    pub async fn screenshot(&self) -> Vec<u8> {
        let size = self.eval("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]").await;
        let clip = json!({
            "x": 0, "y": 0,
            "width": size[0].as_f64().unwrap_or(1280.0),
            "height": size[1].as_f64().unwrap_or(900.0),
            "scale": 1,
        });
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true, "clip": clip }))
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64 PNG")
    }

    /// Saves a screenshot as `<target tmp>/browser/<name>.png` and returns the path.
    pub async fn screenshot_to(&self, name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.screenshot().await).expect("write screenshot");
        path
    }
}
