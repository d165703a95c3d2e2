//! Device faults seen through the API: a jam pauses a batch that `continue` finishes, and a printer
//! unplugged and plugged back prints its waiting job by itself, without restarting the agent.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{b64, events_until, tiny_pdf, TestAgent};

#[tokio::test]
async fn a_jam_pauses_the_batch_and_continue_finishes_it() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let mut socket = agent.open_stream(&token).await;

    agent.sim.jam_at_page("scanner", 3);
    let started = agent
        .post("/v1/scans", &token, &json!({"device": "scanner", "source": "adf", "dpi": 100}))
        .send()
        .await
        .expect("send");
    assert_eq!(started.status(), 202);
    let id = started.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    let is_state = |state: &'static str| {
        let id = id.clone();
        move |e: &Value| e["type"] == "scan.state" && e["data"]["scan_id"] == id.as_str() && e["data"]["state"] == state
    };

    let until_paused = events_until(&mut socket, is_state("paused")).await;
    let paused_event = until_paused.last().expect("event");
    assert_eq!(
        (paused_event["data"]["reason"].as_str(), paused_event["data"]["n_pages"].as_u64()),
        (Some("jammed"), Some(2))
    );
    let pages: Vec<u64> =
        until_paused.iter().filter(|e| e["type"] == "scan.page").filter_map(|e| e["data"]["index"].as_u64()).collect();
    assert_eq!(pages, [1, 2]);
    let paused =
        agent.get(&format!("/v1/scans/{id}"), &token).send().await.expect("send").json::<Value>().await.expect("json");
    assert_eq!((paused["state"].as_str(), paused["reason"].as_str()), (Some("paused"), Some("jammed")));
    assert_eq!(paused["pages"].as_array().map(Vec::len), Some(2));

    let resumed = agent
        .request(Method::POST, &format!("/v1/scans/{id}/continue"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(resumed.status(), 202);
    let until_done = events_until(&mut socket, is_state("completed")).await;
    let pages: Vec<u64> =
        until_done.iter().filter(|e| e["type"] == "scan.page").filter_map(|e| e["data"]["index"].as_u64()).collect();
    assert_eq!(pages, [3, 4]);
    assert!(until_done.iter().any(is_state("scanning")), "no scanning state after continue: {until_done:?}");
    assert_eq!(until_done.last().expect("event")["data"]["n_pages"], 4);
    // Events carry indexes and sizes, never page content.
    assert!(until_done.iter().all(|e| e.to_string().len() < 1024));

    let done =
        agent.get(&format!("/v1/scans/{id}"), &token).send().await.expect("send").json::<Value>().await.expect("json");
    assert_eq!(done["state"], "completed");
    let indexes: Vec<u64> =
        done["pages"].as_array().expect("pages").iter().filter_map(|p| p["index"].as_u64()).collect();
    assert_eq!(indexes, [1, 2, 3, 4]);
    let document =
        agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("doc").bytes().await.expect("bytes");
    assert!(document.starts_with(b"%PDF-"));
    agent.stop().await;
}

/// Polls `GET /v1/devices/{id}` until its status satisfies `wanted` (at most 10 s).
async fn wait_for_device(agent: &TestAgent, token: &str, id: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let device: Value =
            agent.get(&format!("/v1/devices/{id}"), token).send().await.expect("send").json().await.expect("json");
        if wanted(&device["status"]) {
            return device;
        }
        assert!(tokio::time::Instant::now() < deadline, "device {id} never reached the wanted status: {device}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn an_unplugged_printer_keeps_the_job_waiting_and_prints_it_when_back() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    wait_for_device(&agent, &token, "a4", |s| s["state"] == "ready").await;

    agent.sim.set_present("a4", false);
    let gone = wait_for_device(&agent, &token, "a4", |s| s["state"] == "offline").await;
    assert_eq!(gone["status"]["reason"], "not_found");
    let list: Value = agent.get("/v1/devices", &token).send().await.expect("send").json().await.expect("json");
    let listed =
        list["devices"].as_array().expect("devices").iter().find(|d| d["id"] == "a4").expect("a4 listed").clone();
    assert_eq!(listed["status"]["state"], "offline");

    let body = json!({"device": "a4", "idempotency_key": "while-unplugged", "pdf": b64(&tiny_pdf())});
    let submitted = agent.post("/v1/prints", &token, &body).send().await.expect("send");
    assert_eq!(submitted.status(), 202, "a job is accepted while the printer is away");
    let id = submitted.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    let waiting = agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "waiting").await;
    assert_eq!(waiting["reason"], "not_found");
    assert!(agent.sim.printed("a4").is_empty());
    assert_eq!(
        crate::harness::folder_names(&agent.data_dir.path().join("spool")).len(),
        1,
        "the waiting job's document is spooled"
    );

    agent.sim.set_present("a4", true);
    wait_for_device(&agent, &token, "a4", |s| s["state"] == "ready").await;
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    let printed = agent.sim.printed("a4");
    assert_eq!(printed.len(), 1, "printed exactly once");
    assert_eq!(std::fs::read(&printed[0].path).expect("kept"), tiny_pdf());
    // The document leaves the spool once printed.
    agent.wait_for_empty_spool().await;
    agent.stop().await;
}

/// A page reloaded mid-batch finds its paused scan again; the scanner shows busy while a batch is
/// open, the busy error names the scan, and a batch left paused is closed after its idle time so
/// the scanner is free again — with its pages kept.
#[tokio::test]
async fn a_forgotten_paused_scan_is_findable_and_frees_the_scanner_by_itself() {
    let agent =
        TestAgent::start_with(|_, options| options.scan_paused_idle = std::time::Duration::from_millis(1500)).await;
    let token = agent.clerk_token();
    agent.sim.jam_at_page("scanner", 2);
    let id = agent.start_scan(&token, &json!({"device": "scanner", "source": "adf", "dpi": 75})).await;
    agent.wait_for(&format!("/v1/scans/{id}"), &token, |s| s["state"] == "paused").await;
    // The jam was reported once and cleared; the batch is still open, so the scanner is busy.
    agent.wait_for("/v1/devices/scanner", &token, |d| d["status"]["state"] == "busy").await;
    let list: serde_json::Value =
        agent.get("/v1/scans", &token).send().await.expect("send").json().await.expect("json");
    assert_eq!(list["scans"][0]["id"], id.as_str(), "{list}");
    assert_eq!(list["scans"][0]["state"], "paused");
    let busy = agent
        .post("/v1/scans", &token, &json!({"device": "scanner", "source": "adf", "dpi": 75}))
        .send()
        .await
        .expect("send");
    let body: serde_json::Value = busy.json().await.expect("json");
    assert_eq!(body["error"]["code"], "device_busy");
    assert!(body["error"]["message"].as_str().expect("message").contains(&id), "{body}");
    // Nobody touches it: the batch is closed as abandoned, the pages stay, the scanner is free.
    let ended = agent.wait_for(&format!("/v1/scans/{id}"), &token, |s| s["state"] != "paused").await;
    assert_eq!((ended["state"].as_str(), ended["reason"].as_str()), (Some("failed"), Some("abandoned")), "{ended}");
    assert_eq!(ended["pages"].as_array().expect("pages").len(), 1);
    assert_eq!(agent.get(&format!("/v1/scans/{id}/pages/1"), &token).send().await.expect("send").status(), 200);
    agent.wait_for("/v1/devices/scanner", &token, |d| d["status"]["state"] == "ready").await;
    let next = agent
        .post("/v1/scans", &token, &json!({"device": "scanner", "source": "flatbed", "dpi": 75}))
        .send()
        .await
        .expect("send");
    assert_eq!(next.status(), 202);
    // Another origin's token does not see this origin's scans.
    agent.stop().await;
}

/// Spool files that no job needs (a crash between writing and recording) are deleted at start-up.
#[tokio::test]
async fn orphaned_spool_files_are_deleted_at_start_up() {
    let agent = TestAgent::start().await;
    let spool = agent.data_dir.path().join("spool");
    std::fs::write(spool.join("deadbeef.job"), b"%PDF-1.4 half written").expect("write orphan");
    let agent = agent.restart().await;
    assert!(!spool.join("deadbeef.job").exists(), "the orphan is gone");
    agent.stop().await;
}
