//! Start-up refusals (`Agent::bind`): a listen address off loopback, a port already taken, a data
//! directory the agent cannot use, a damaged database — each a clear error, never a half-started
//! agent. And what must survive a restart does.

use std::net::SocketAddr;

use counter_agent::agent::{Agent, StartError};
use counter_agent::store::StoreError;

use crate::harness::{fast_options, test_station, TestAgent, APP_ORIGIN};

/// Starts an agent that must fail, and returns the error.
async fn start_error(
    change: impl FnOnce(&mut counter_agent::config::Station),
    data_dir: &std::path::Path,
) -> StartError {
    let mut station = test_station(data_dir);
    change(&mut station);
    Agent::bind(station, fast_options()).await.err().expect("the agent must refuse to start")
}

#[tokio::test]
async fn a_listen_address_off_loopback_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    for listen in ["0.0.0.0:0", "[::]:0", "192.0.2.10:7420"] {
        let addr: SocketAddr = listen.parse().expect("address");
        let error = start_error(|s| s.listen = addr, dir.path()).await;
        assert!(matches!(error, StartError::NotLoopback(a) if a == addr), "{listen}: {error:?}");
        assert!(error.to_string().contains("loopback"), "{error}");
    }
    assert!(!dir.path().join("agent.sqlite3").exists(), "storage was opened before the address check");
}

#[tokio::test]
async fn a_port_already_taken_says_another_agent_may_be_running() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = taken.local_addr().expect("addr");
    let error = start_error(|s| s.listen = addr, dir.path()).await;
    assert!(matches!(&error, StartError::Bind { addr: a, .. } if *a == addr), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("another counter-agent") && message.contains(&addr.port().to_string()), "{message}");
    // The port's owner is untouched.
    assert_eq!(taken.local_addr().expect("still bound"), addr);
}

#[tokio::test]
async fn a_data_dir_that_is_a_file_or_unwritable_is_a_clear_store_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("data-is-a-file");
    std::fs::write(&file, b"not a directory").expect("write");
    // The file itself: said plainly, not as the operating system's "File exists".
    let error = start_error(|_| {}, &file).await;
    assert!(matches!(error, StartError::Store(StoreError::NotADirectory { .. })), "{error:?}");
    assert!(error.to_string().contains("is not a directory"), "{error}");
    // A path below a file cannot be created.
    let below = file.join("below-a-file");
    let error = start_error(|_| {}, &below).await;
    assert!(matches!(error, StartError::Store(StoreError::CreateDir { .. })), "{below:?}: {error:?}");
    let message = error.to_string();
    assert!(message.contains("data directory") && message.contains("permissions"), "{message}");
    assert_eq!(std::fs::read(&file).expect("file kept"), b"not a directory");

    // Unwritable: the write probe's name is taken by a folder, which fails even for root.
    let blocked = dir.path().join("blocked");
    std::fs::create_dir_all(blocked.join(".write-test")).expect("mkdir");
    let error = start_error(|_| {}, &blocked).await;
    assert!(matches!(error, StartError::Store(StoreError::NotWritable { .. })), "{error:?}");
    assert!(error.to_string().contains("not writable"), "{error}");
}

#[tokio::test]
async fn a_corrupt_database_is_a_clear_error_and_is_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let garbage = vec![0x55u8; 16 * 1024];
    std::fs::write(dir.path().join("agent.sqlite3"), &garbage).expect("write");
    let error = start_error(|_| {}, dir.path()).await;
    assert!(matches!(error, StartError::Store(StoreError::Open { .. })), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("agent.sqlite3") && message.contains("move it aside"), "{message}");
    assert_eq!(std::fs::read(dir.path().join("agent.sqlite3")).expect("kept"), garbage, "the damaged file was changed");
}

#[tokio::test]
async fn tokens_and_jobs_survive_a_restart_and_revocations_stick() {
    let agent = TestAgent::start().await;
    let kept = agent.clerk_token();
    let revoked = agent.clerk_token();
    let revoked_id = agent.tokens.verify(&revoked, APP_ORIGIN).expect("valid").id;
    assert!(agent.tokens.revoke(&revoked_id).expect("revoke"));
    let body = serde_json::json!({"device": "a4", "idempotency_key": "before-restart", "pdf": crate::harness::b64(&crate::harness::tiny_pdf())});
    let job: serde_json::Value =
        agent.post("/v1/prints", &kept, &body).send().await.expect("send").json().await.expect("json");
    let job_id = job["id"].as_str().expect("id").to_string();
    agent.wait_for(&format!("/v1/prints/{job_id}"), &kept, |j| j["state"] == "printed").await;

    let agent = agent.restart().await;
    assert!(agent.tokens.verify(&kept, APP_ORIGIN).is_ok(), "the token was lost");
    assert!(agent.tokens.verify(&revoked, APP_ORIGIN).is_err(), "a revoked token came back");
    assert_eq!(agent.get("/v1/devices", &kept).send().await.expect("send").status(), 200);
    let revoked_call = agent.get("/v1/devices", &revoked).send().await.expect("send");
    assert_eq!(crate::harness::error_code(revoked_call).await, (401, "unauthorized".into()));
    let job = agent.get(&format!("/v1/prints/{job_id}"), &kept).send().await.expect("send");
    assert_eq!(job.status(), 200);
    assert_eq!(job.json::<serde_json::Value>().await.expect("json")["state"], "printed");
    // The same idempotency key after the restart is the same job, not a second print.
    let again = agent.post("/v1/prints", &kept, &body).send().await.expect("send");
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<serde_json::Value>().await.expect("json")["id"], job_id.as_str());
    assert!(agent.sim.printed("a4").is_empty(), "printed again after the restart");
    agent.stop().await;
}

#[tokio::test]
async fn scanned_pages_are_deleted_when_the_agent_stops() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let id = agent.start_scan(&token, &serde_json::json!({"device": "scanner", "source": "flatbed", "dpi": 75})).await;
    agent.wait_for(&format!("/v1/scans/{id}"), &token, |s| s["state"] == "completed").await;
    let scans = agent.data_dir.path().join("scans");
    let pages = std::fs::read_dir(scans.join(&id)).expect("the session folder").count();
    assert!(pages >= 1, "the page is on disk while the agent runs");

    let data_dir = agent.stop_keeping_data().await;
    assert!(!data_dir.path().join("scans").exists(), "scanned pages outlived the agent");
    assert!(data_dir.path().join("agent.sqlite3").exists(), "the rest of the data directory stays");
}
