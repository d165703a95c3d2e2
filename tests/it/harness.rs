//! A real agent in-process on `127.0.0.1:0`, with helpers to call it like a browser page would.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use counter_agent::agent::{Agent, AgentOptions};
use counter_agent::auth::{Scopes, Tokens};
use counter_agent::config::{self, Station};
use counter_agent_driver_sim::SimControl;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// The web app's origin every test station allows.
pub const APP_ORIGIN: &str = "https://motcua.example.gov.vn";

pub struct TestAgent {
    pub addr: SocketAddr,
    pub data_dir: tempfile::TempDir,
    pub sim: SimControl,
    pub tokens: Tokens,
    pub self_origin: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The demo station (scanner, a4, receipt, ticket on simulators) allowing [`APP_ORIGIN`].
pub fn test_station(data_dir: &std::path::Path) -> Station {
    let mut station = config::demo_station(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir.to_path_buf());
    station.allowed_origins = vec![APP_ORIGIN.to_string()];
    station
}

pub fn fast_options() -> AgentOptions {
    AgentOptions { poll_interval: Duration::from_millis(50), ..AgentOptions::default() }
}

impl TestAgent {
    pub async fn start() -> TestAgent {
        TestAgent::start_with(|_, _| {}).await
    }

    /// Starts with a changed station or options.
    pub async fn start_with(change: impl FnOnce(&mut Station, &mut AgentOptions)) -> TestAgent {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut station = test_station(data_dir.path());
        let mut options = fast_options();
        change(&mut station, &mut options);
        TestAgent::start_station(station, options, data_dir).await
    }

    pub async fn start_station(station: Station, options: AgentOptions, data_dir: tempfile::TempDir) -> TestAgent {
        let agent = Agent::bind(station, options).await.expect("agent starts");
        let addr = agent.local_addr();
        let sim = agent.sim_control();
        let tokens = agent.tokens();
        let self_origin = agent.self_origin();
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(agent.serve(async {
            let _ = stop.await;
        }));
        TestAgent { addr, data_dir, sim, tokens, self_origin, shutdown: Some(shutdown), task: Some(task) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A token for [`APP_ORIGIN`] with the given scopes.
    pub fn token(&self, scopes: &[&str]) -> String {
        let scopes = Scopes::parse(scopes.iter().copied()).expect("known scopes");
        self.tokens.create(APP_ORIGIN, scopes, "test").expect("token").secret
    }

    /// A token with every non-admin scope.
    pub fn clerk_token(&self) -> String {
        self.token(&["scan", "print", "queue-issue", "queue-call"])
    }

    pub fn client() -> reqwest::Client {
        reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client")
    }

    /// GET as the web app would send it.
    pub fn get(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        TestAgent::client().get(self.url(path)).header("Origin", APP_ORIGIN).bearer_auth(token)
    }

    /// POST JSON as the web app would send it.
    pub fn post(&self, path: &str, token: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
        TestAgent::client().post(self.url(path)).header("Origin", APP_ORIGIN).bearer_auth(token).json(body)
    }

    /// Starts a scan (it must be accepted) and returns its id.
    pub async fn start_scan(&self, token: &str, body: &serde_json::Value) -> String {
        let response = self.post("/v1/scans", token, body).send().await.expect("send");
        assert_eq!(response.status(), 202, "scan not started");
        let scan: serde_json::Value = response.json().await.expect("json");
        scan["id"].as_str().expect("id").to_string()
    }

    pub fn delete(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        TestAgent::client().delete(self.url(path)).header("Origin", APP_ORIGIN).bearer_auth(token)
    }

    /// Sends raw bytes and returns the whole raw response (the request should say `Connection: close`).
    pub async fn raw(&self, request: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
        String::from_utf8_lossy(&response).into_owned()
    }

    /// Polls a JSON resource until `done` holds (at most 20 s).
    pub async fn wait_for(
        &self,
        path: &str,
        token: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let value: serde_json::Value =
                self.get(path, token).send().await.expect("send").json().await.expect("json");
            if done(&value) {
                return value;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting on {path}: {value}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) {
        self.stop_keeping_data().await;
    }

    /// Stops the agent the way Ctrl+C does and hands back its data directory for inspection.
    pub async fn stop_keeping_data(mut self) -> tempfile::TempDir {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let served = tokio::time::timeout(Duration::from_secs(10), task).await;
            assert!(served.is_ok(), "the agent did not stop within 10 s");
        }
        let empty = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, empty)
    }
}

/// The error code of an error response body.
pub async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (status, body["error"]["code"].as_str().unwrap_or("<no code>").to_string())
}

/// A small valid one-page PDF.
pub fn tiny_pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec()
}

// ---------------------------------------------------------------------------------------------
// Helpers for the attack, bad-input, event and start-up suites (added; nothing above changed).
// ---------------------------------------------------------------------------------------------

/// A WebSocket to the agent's event stream.
pub type EventSocket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Every place a request could leave a trace: tokens, scan folders, spooled and printed documents,
/// pairing requests waiting for a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideEffects {
    pub n_tokens: usize,
    pub scan_folders: Vec<String>,
    pub spool_files: Vec<String>,
    pub n_printed: usize,
    pub pending_pairings: Vec<String>,
}

/// Names of the entries of a folder, sorted (empty when it does not exist).
pub fn folder_names(path: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(path) {
        Ok(entries) => entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// A response read off a raw TCP connection.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn parse(text: &str) -> RawResponse {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut lines = head.split("\r\n");
        let status = lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        RawResponse { status, headers, body: body.to_string() }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The `error.code` of a JSON error body.
    pub fn code(&self) -> String {
        let body: serde_json::Value = serde_json::from_str(&self.body).unwrap_or_default();
        body["error"]["code"].as_str().unwrap_or("<no code>").to_string()
    }
}

impl TestAgent {
    /// `127.0.0.1:PORT`: the Host header browsers send to the agent.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// A request with the web app's Origin and no token.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        TestAgent::client().request(method, self.url(path)).header("Origin", APP_ORIGIN)
    }

    /// Sends a raw request and parses the response.
    pub async fn raw_parsed(&self, request: &str) -> RawResponse {
        RawResponse::parse(&self.raw(request).await)
    }

    /// The audit log's lines, parsed.
    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.data_dir.path().join("audit.log")).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).expect("audit lines are JSON")).collect()
    }

    /// The raw audit log text.
    pub fn audit_text(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("audit.log")).unwrap_or_default()
    }

    /// Waits (at most 10 s) until an audit line satisfies `wanted`; returns every line so far.
    /// Lines are written in order, so every record made before the wanted one is in the result.
    pub async fn audit_until(&self, wanted: impl Fn(&serde_json::Value) -> bool) -> Vec<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.audit_lines();
            if lines.iter().any(&wanted) {
                return lines;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "audit line never written; log so far:\n{}",
                self.audit_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Codes shown on the agent's own pairing page (what a clerk would read).
    pub async fn pairing_codes(&self) -> Vec<String> {
        let page =
            TestAgent::client().get(self.url("/pair")).send().await.expect("pair page").text().await.expect("text");
        page.split("data-code=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_string).collect()
    }

    pub async fn side_effects(&self) -> SideEffects {
        let dir = self.data_dir.path();
        SideEffects {
            n_tokens: self.tokens.list().expect("token list").len(),
            scan_folders: folder_names(&dir.join("scans")),
            spool_files: folder_names(&dir.join("spool")),
            n_printed: ["a4", "receipt", "ticket"].iter().map(|d| self.sim.printed(d).len()).sum(),
            pending_pairings: self.pairing_codes().await,
        }
    }

    /// A single-use WebSocket ticket for `token`.
    pub async fn ticket(&self, token: &str) -> String {
        self.ticket_from(APP_ORIGIN, token).await
    }

    /// A WebSocket ticket asked for by `origin` with its token.
    pub async fn ticket_from(&self, origin: &str, token: &str) -> String {
        let response = TestAgent::client()
            .post(self.url("/v1/events/ticket"))
            .header("Origin", origin)
            .bearer_auth(token)
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("ticket");
        assert_eq!(response.status(), 200, "ticket request refused");
        let body: serde_json::Value = response.json().await.expect("json");
        body["ticket"].as_str().expect("ticket field").to_string()
    }

    /// The web app's event stream, past its `hello`.
    pub async fn open_stream(&self, token: &str) -> EventSocket {
        let ticket = self.ticket(token).await;
        let mut socket = self.open_events(Some(APP_ORIGIN), &format!("ticket={ticket}")).await.expect("connects");
        assert_eq!(next_event(&mut socket).await["type"], "hello");
        socket
    }

    /// Opens `GET /v1/events?{query}` with the given Origin. A refused upgrade gives the HTTP
    /// status and the error code of the body.
    pub async fn open_events(&self, origin: Option<&str>, query: &str) -> Result<EventSocket, (u16, String)> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::Error;
        let mut request = format!("ws://{}/v1/events?{query}", self.addr).into_client_request().expect("ws request");
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", origin.parse().expect("origin header"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, response)) => {
                assert_eq!(response.status(), 101);
                Ok(socket)
            }
            Err(Error::Http(response)) => {
                let body: serde_json::Value =
                    response.body().as_deref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
                Err((response.status().as_u16(), body["error"]["code"].as_str().unwrap_or("<no code>").to_string()))
            }
            Err(other) => panic!("WebSocket connect failed below HTTP: {other}"),
        }
    }

    /// Stops the agent and starts a new one on the same data directory (same station, new port).
    pub async fn restart(mut self) -> TestAgent {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        let station = test_station(self.data_dir.path());
        TestAgent::start_station(station, fast_options(), self.data_dir).await
    }
}

/// Reads the next text message of an event stream as JSON (at most 10 s; pings are skipped).
pub async fn next_event(socket: &mut EventSocket) -> serde_json::Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an event within 10 s")
            .expect("stream still open")
            .expect("valid frame");
        if let Message::Text(text) = message {
            let value: serde_json::Value = serde_json::from_str(&text).expect("events are JSON");
            if value["type"] != "ping" {
                return value;
            }
        }
    }
}

/// Reads events until one satisfies `wanted`; returns all read, the wanted one last.
pub async fn events_until(
    socket: &mut EventSocket,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    let mut seen = Vec::new();
    loop {
        let event = next_event(socket).await;
        let done = wanted(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// A valid PDF padded with a comment to at least `n_bytes`.
pub fn padded_pdf(n_bytes: usize) -> Vec<u8> {
    let pdf = tiny_pdf();
    let split = pdf.windows(7).position(|w| w == b"trailer").expect("tiny_pdf has a trailer");
    let mut out = pdf[..split].to_vec();
    let padding = n_bytes.saturating_sub(pdf.len()).max(1);
    out.push(b'%');
    out.extend(std::iter::repeat_n(b'x', padding));
    out.push(b'\n');
    out.extend_from_slice(&pdf[split..]);
    out
}

/// Base64 (standard alphabet), as the web app sends documents.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl TestAgent {
    /// Waits (at most 10 s) until the spool folder is empty: a printed job's document is removed
    /// just after its state turns `printed`.
    pub async fn wait_for_empty_spool(&self) {
        let spool = self.data_dir.path().join("spool");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !folder_names(&spool).is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "spool never emptied: {:?}", folder_names(&spool));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A well-formed PDF (with its cross-reference table) of `n_pages` pages of `width_pt` ×
/// `height_pt`, each with a black bar across its top; `encrypted` adds an RC4 `/Encrypt`
/// dictionary whose password checks no password matches, as a password-protected file has.
pub fn pdf_of(n_pages: usize, width_pt: f32, height_pt: f32, encrypted: bool) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    let mut object = |out: &mut Vec<u8>, body: String| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", offsets.len()).as_bytes());
    };
    let kids: Vec<String> = (0..n_pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    object(&mut out, "<< /Type /Catalog /Pages 2 0 R >>".into());
    object(&mut out, format!("<< /Type /Pages /Kids [{}] /Count {n_pages} >>", kids.join(" ")));
    let bar = format!("0 g 0 {} {width_pt} 20 re f", height_pt - 40.0);
    object(&mut out, format!("<< /Length {} >>\nstream\n{bar}\nendstream", bar.len()));
    for i in 0..n_pages {
        object(
            &mut out,
            format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width_pt} {height_pt}] /Contents 3 0 R >>"),
        );
        object(&mut out, format!("<< /Producer (page {i}) >>"));
    }
    let mut trailer_extra = String::new();
    if encrypted {
        object(&mut out, "<< /Filter /Standard /V 2 /R 3 /Length 128 /O <4141414141414141414141414141414141414141414141414141414141414141> /U <4242424242424242424242424242424242424242424242424242424242424242> /P -3904 >>".into());
        trailer_extra = format!(
            " /Encrypt {} 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>]",
            offsets.len()
        );
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes());
    for offset in &offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R{trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n", offsets.len() + 1)
            .as_bytes(),
    );
    out
}
