//! Scanning through the HTTP API from SANE's `test` backend (`sane:test:0`), with each batch in a
//! real `counter-agent scan-worker` child process. The worker reads the project-local
//! `drivers/sane/tests/sane-config` (A4 geometry) and, for fault injection, the test-only script
//! named by `COUNTER_AGENT_SANE_SCRIPT`. Needs the Debian packages libsane1 and sane-utils.

use std::path::PathBuf;
use std::time::Duration;

use counter_agent::agent::AgentOptions;
use counter_agent_driver_api::Connection;
use counter_agent_driver_sane::WorkerCommand;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{test_station, TestAgent};

/// Starts an agent whose `scanner` is `sane:test:0`, with `script` as the worker's fault script.
async fn sane_agent(script: &str) -> (TestAgent, tempfile::TempDir) {
    sane_agent_with(script, |_| {}).await
}

/// [`sane_agent`] with changed options (the browser tests turn on `demo` so the agent's own page
/// may call it).
pub(crate) async fn sane_agent_with(
    script: &str,
    change: impl FnOnce(&mut AgentOptions),
) -> (TestAgent, tempfile::TempDir) {
    let scripts = tempfile::tempdir().expect("temp dir");
    let script_path = scripts.path().join("script.txt");
    std::fs::write(&script_path, script).expect("write script");
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("drivers/sane/tests/sane-config");
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut station = test_station(data_dir.path());
    let scanner = station.devices.iter_mut().find(|d| d.id == "scanner").expect("the demo station has a scanner");
    assert_eq!(scanner.profile_id, "sane-generic");
    scanner.connection = Connection::Sane { device: "test:0".into() };
    let options = AgentOptions {
        poll_interval: Duration::from_millis(50),
        scan_worker: Some(
            WorkerCommand::new(env!("CARGO_BIN_EXE_counter-agent"), ["scan-worker"])
                .env("SANE_CONFIG_DIR", config)
                .env("COUNTER_AGENT_SANE_SCRIPT", script_path),
        ),
        ..AgentOptions::default()
    };
    let mut options = options;
    change(&mut options);
    (TestAgent::start_station(station, options, data_dir).await, scripts)
}

async fn scan_json(agent: &TestAgent, token: &str, id: &str) -> Value {
    agent.get(&format!("/v1/scans/{id}"), token).send().await.expect("send").json().await.expect("json")
}

/// Polls the scan until it leaves `scanning` (at most 60 s: debug builds process pages slowly).
async fn settled(agent: &TestAgent, token: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let scan = scan_json(agent, token, id).await;
        if scan["state"] != "scanning" {
            return scan;
        }
        assert!(tokio::time::Instant::now() < deadline, "scan still running: {scan}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn n_pages(scan: &Value) -> usize {
    scan["pages"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adf_batch_from_the_sane_test_backend_arrives_as_ten_pages() {
    let (agent, _scripts) = sane_agent("open set test-picture=Grid\n").await;
    let token = agent.clerk_token();
    let id = agent.start_scan(&token, &json!({"device": "scanner", "source": "adf", "dpi": 150})).await;
    let done = settled(&agent, &token, &id).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(n_pages(&done), 10);
    let document = agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("send");
    assert_eq!(document.status(), 200);
    let pdf = document.bytes().await.expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    agent.stop().await;
}

/// A batch that pauses on `status` before `page`, then `continue` finishes it: the pages before are
/// kept, the pause names the page, and the document ends with `total` pages.
async fn pause_and_continue(status: &str, page: u32, reason: &str, total: usize) {
    let script = format!("page {page} set read-return-value={status}\ncontinue set read-return-value=Default\n");
    let (agent, _scripts) = sane_agent(&script).await;
    let token = agent.clerk_token();
    let id = agent.start_scan(&token, &json!({"device": "scanner", "source": "adf", "dpi": 100})).await;
    let paused = settled(&agent, &token, &id).await;
    assert_eq!((paused["state"].as_str(), paused["reason"].as_str()), (Some("paused"), Some(reason)), "{paused}");
    assert_eq!(paused["failed_page"].as_u64(), Some(u64::from(page)), "the pause names the page: {paused}");
    assert_eq!(n_pages(&paused), page as usize - 1, "the pages before are kept");

    let resumed = agent
        .request(Method::POST, &format!("/v1/scans/{id}/continue"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(resumed.status(), 202);
    let done = settled(&agent, &token, &id).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(n_pages(&done), total);
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jam_pauses_the_sane_batch_and_continue_completes_it_keeping_the_pages() {
    // The test backend counts the jammed sheet as fed: 3 + 6 of its 10 sheets.
    pause_and_continue("SANE_STATUS_JAMMED", 4, "jammed", 9).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_io_error_before_page_3_keeps_pages_1_and_2_and_continue_finishes() {
    pause_and_continue("SANE_STATUS_IO_ERROR", 3, "io_error", 9).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_feeder_fails_the_scan_with_feeder_empty() {
    let (agent, _scripts) = sane_agent("page 1 set read-return-value=SANE_STATUS_NO_DOCS\n").await;
    let token = agent.clerk_token();
    let id = agent.start_scan(&token, &json!({"device": "scanner", "source": "adf", "dpi": 100})).await;
    let failed = settled(&agent, &token, &id).await;
    assert_eq!(
        (failed["state"].as_str(), failed["reason"].as_str()),
        (Some("failed"), Some("feeder_empty")),
        "{failed}"
    );
    assert_eq!(n_pages(&failed), 0);
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_fails_the_scan_and_the_next_scan_works() {
    let (agent, scripts) = sane_agent("page 1 set read-return-value=SANE_STATUS_ACCESS_DENIED\n").await;
    let token = agent.clerk_token();
    let id = agent.start_scan(&token, &json!({"device": "scanner", "source": "flatbed", "dpi": 100})).await;
    let failed = settled(&agent, &token, &id).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    std::fs::write(scripts.path().join("script.txt"), "").expect("clear the script");
    // The device is free again once the failed batch's worker is gone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let id = loop {
        let response = agent
            .post("/v1/scans", &token, &json!({"device": "scanner", "source": "flatbed", "dpi": 100}))
            .send()
            .await
            .expect("send");
        if response.status() == 202 {
            break response.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
        }
        assert!(tokio::time::Instant::now() < deadline, "scanner never free again: {}", response.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let done = settled(&agent, &token, &id).await;
    assert_eq!((done["state"].as_str(), n_pages(&done)), (Some("completed"), 1), "{done}");
    agent.stop().await;
}

/// `counter-agent check` on a station whose scanner is `sane:test:0` with a real SANE profile.
fn check_station(library: Option<&str>) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("station.toml");
    let station = format!(
        "[station]\nname = \"Quầy 2\"\ncounter = 2\n\n[storage]\ndata_dir = \"{}\"\n\n[[device]]\nid = \"scanner\"\n\
         profile = \"fujitsu-fi-7160\"\nconnection = \"sane:test:0\"\n",
        dir.path().join("data").display()
    );
    std::fs::write(&path, station).expect("write station");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_counter-agent"));
    command.arg("check").arg("--config").arg(&path).env("COUNTER_AGENT_LOG", "warn");
    if let Some(library) = library {
        command.env("COUNTER_AGENT_SANE_LIBRARY", library);
    }
    let output = command.output().expect("run counter-agent");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn check_accepts_a_sane_scanner_and_says_when_sane_is_not_installed() {
    let (ok, text) = check_station(None);
    assert!(ok, "{text}");
    assert!(text.contains("OK"), "{text}");
    let (ok, text) = check_station(Some("libsane-not-installed.so.1"));
    assert!(!ok, "{text}");
    assert!(text.contains("SANE is not installed (libsane-not-installed.so.1 not found)"), "{text}");
}
