//! A4 printing through the agent to a real IPP printer (`ippeveprinter`): the portal's PDF arrives
//! byte for byte, the dossier receipt template prints as PDF, paper out keeps the job waiting until
//! paper is loaded, and a printer that does not take PDF fails the job with a clear reason.

use counter_agent::config::DeviceConfig;
use counter_agent_driver_api::Connection;
use counter_agent_driver_ipp::peer::{pdf, Hook, Peer};
use serde_json::{json, Value};

use crate::harness::TestAgent;

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The demo station plus `office-a4`: the IPP Everywhere A4 profile on `peer`.
async fn start_with_ipp_printer(peer: &Peer) -> TestAgent {
    let port = peer.port;
    TestAgent::start_with(move |station, _| {
        let profile = station.profiles.get("ipp-everywhere-a4").expect("built-in profile");
        station.devices.push(DeviceConfig {
            id: "office-a4".into(),
            profile_id: profile.id.clone(),
            kind: profile.kind,
            connection: Connection::Ipp { secure: false, host: "localhost".into(), port, path: "/ipp/print".into() },
            connection_at: None,
            settings: profile.settings.clone(),
            display_name: profile.display_name(),
        });
    })
    .await
}

async fn submit(agent: &TestAgent, token: &str, body: &Value) -> String {
    let response = agent.post("/v1/prints", token, body).send().await.expect("send");
    assert_eq!(response.status(), 202, "accepted");
    response.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn the_portals_pdf_and_the_dossier_receipt_print_over_ipp_and_paper_out_waits_for_paper() {
    let peer = Peer::start();
    let agent = start_with_ipp_printer(&peer).await;
    let token = agent.clerk_token();
    agent.wait_for("/v1/devices/office-a4", &token, |d| d["status"]["state"] == "ready").await;

    // The portal's PDF, byte for byte.
    let portal = pdf(120_000, 7);
    let id =
        submit(&agent, &token, &json!({"device": "office-a4", "idempotency_key": "portal", "pdf": b64(&portal)})).await;
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    assert_eq!(peer.spooled().last().map(|(_, bytes)| bytes), Some(&portal));

    // The legal receipt form rendered by the agent arrives as a PDF.
    let body = json!({"device": "office-a4", "idempotency_key": "receipt", "template": "dossier-receipt",
        "data": crate::thermal::dossier_receipt_data()});
    let id = submit(&agent, &token, &body).await;
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    let (_, receipt) = peer.spooled().last().cloned().expect("spooled");
    assert!(receipt.starts_with(b"%PDF-"), "a PDF reached the printer");

    // Paper runs out on the next job: it waits, and prints once paper is loaded.
    peer.set_hook(Hook::PaperOut);
    let again = pdf(30_000, 8);
    let id =
        submit(&agent, &token, &json!({"device": "office-a4", "idempotency_key": "paper", "pdf": b64(&again)})).await;
    let waiting = agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "waiting").await;
    assert_eq!(waiting["reason"], "paper_out");
    agent.wait_for("/v1/devices/office-a4", &token, |d| d["status"]["reason"] == "paper_out").await;
    peer.set_hook(Hook::Done);
    peer.load_paper();
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    assert_eq!(peer.spooled().last().map(|(_, bytes)| bytes), Some(&again));
    // The printer keeps the aborted attempt's document too; its hook says which job printed.
    let log = peer.hook_log();
    let printed_copies =
        peer.spooled().iter().filter(|(job, bytes)| *bytes == again && log.contains(&format!("done {job}\n"))).count();
    assert_eq!(printed_copies, 1, "the aborted attempt printed nothing; the retry printed once: {log}");
    agent.stop().await;
}

#[tokio::test]
async fn a_printer_that_does_not_take_pdf_fails_the_job_with_a_clear_reason_and_prints_nothing() {
    let peer = Peer::with_formats("image/pwg-raster");
    let agent = start_with_ipp_printer(&peer).await;
    let token = agent.clerk_token();
    let body = json!({"device": "office-a4", "idempotency_key": "raster-only", "pdf": b64(&pdf(10_000, 9))});
    let id = submit(&agent, &token, &body).await;
    let failed = agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "failed").await;
    assert_eq!(failed["reason"], "unsupported");
    assert!(peer.spool_files().is_empty(), "nothing was sent");
    agent.stop().await;
}
