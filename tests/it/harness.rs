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
    pub async fn wait_for(&self, path: &str, token: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let value: serde_json::Value = self.get(path, token).send().await.expect("send").json().await.expect("json");
            if done(&value) {
                return value;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting on {path}: {value}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
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
