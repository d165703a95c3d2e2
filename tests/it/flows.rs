//! End-to-end flows on the simulators: scan → document → print.

use base64::Engine;
use serde_json::json;

use crate::harness::{error_code, tiny_pdf, TestAgent};

#[tokio::test]
async fn scan_a_batch_assemble_the_pdf_and_print_it() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let started = agent
        .post("/v1/scans", &token, &json!({"device": "scanner", "source": "adf", "dpi": 100}))
        .send()
        .await
        .expect("send");
    assert_eq!(started.status(), 202);
    let scan: serde_json::Value = started.json().await.expect("json");
    let id = scan["id"].as_str().expect("id").to_string();
    let done = agent.wait_for(&format!("/v1/scans/{id}"), &token, |s| s["state"] == "completed").await;
    assert_eq!(done["pages"].as_array().expect("pages").len(), 4, "{done}");
    let page = agent.get(&format!("/v1/scans/{id}/pages/1"), &token).send().await.expect("page");
    assert_eq!(page.headers()["content-type"], "image/jpeg");
    let pdf =
        agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("doc").bytes().await.expect("bytes");
    assert!(pdf.starts_with(b"%PDF-"));
    let printed = agent
        .post(
            "/v1/prints",
            &token,
            &json!({"device": "a4", "idempotency_key": "receipt-1", "pdf": base64::engine::general_purpose::STANDARD.encode(&pdf)}),
        )
        .send()
        .await
        .expect("print");
    assert_eq!(printed.status(), 202);
    let job: serde_json::Value = printed.json().await.expect("json");
    let job_id = job["id"].as_str().expect("id");
    agent.wait_for(&format!("/v1/prints/{job_id}"), &token, |j| j["state"] == "printed").await;
    let kept = agent.sim.printed("a4");
    assert_eq!(kept.len(), 1);
    assert_eq!(std::fs::read(&kept[0].path).expect("kept pdf"), pdf.to_vec());
    // Deleting the scan removes its pages from disk.
    assert_eq!(agent.delete(&format!("/v1/scans/{id}"), &token).send().await.expect("delete").status(), 204);
    assert!(!agent.data_dir.path().join("scans").join(&id).exists());
    let gone = agent.get(&format!("/v1/scans/{id}"), &token).send().await.expect("get");
    assert_eq!(error_code(gone).await, (404, "not_found".to_string()));
    agent.stop().await;
}

#[tokio::test]
async fn same_idempotency_key_prints_once() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let body = json!({"device": "a4", "idempotency_key": "k", "pdf": base64::engine::general_purpose::STANDARD.encode(tiny_pdf())});
    let first: serde_json::Value =
        agent.post("/v1/prints", &token, &body).send().await.expect("send").json().await.expect("json");
    let second = agent.post("/v1/prints", &token, &body).send().await.expect("send");
    assert_eq!(second.status(), 200);
    let second: serde_json::Value = second.json().await.expect("json");
    assert_eq!(first["id"], second["id"]);
    agent
        .wait_for(&format!("/v1/prints/{}", first["id"].as_str().expect("id")), &token, |j| j["state"] == "printed")
        .await;
    assert_eq!(agent.sim.printed("a4").len(), 1);
    // The same key with another document is a conflict, and nothing more is printed.
    let other = json!({"device": "a4", "idempotency_key": "k", "pdf": base64::engine::general_purpose::STANDARD.encode([tiny_pdf(), b"%%EOF".to_vec()].concat())});
    assert_eq!(
        error_code(agent.post("/v1/prints", &token, &other).send().await.expect("send")).await,
        (409, "idempotency_conflict".into())
    );
    assert_eq!(agent.sim.printed("a4").len(), 1);
    agent.stop().await;
}

#[tokio::test]
async fn the_demo_page_and_its_files_are_served_from_one_folder() {
    let agent = TestAgent::start().await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    // Without demo mode the agent's own pages cannot call the API, so `/` leads to pairing.
    let root = client.get(agent.url("/")).send().await.expect("send");
    assert_eq!(root.headers()["location"], "/pair");
    let redirect = client.get(agent.url("/demo")).send().await.expect("send");
    assert_eq!(redirect.status(), 303);
    assert_eq!(redirect.headers()["location"], "/web/demo.html");
    for (file, content_type) in [
        ("demo.html", "text/html; charset=utf-8"),
        ("demo.js", "text/javascript; charset=utf-8"),
        ("demo.css", "text/css; charset=utf-8"),
        ("counter-agent.js", "text/javascript; charset=utf-8"),
    ] {
        let response = client.get(agent.url(&format!("/web/{file}"))).send().await.expect("send");
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(response.headers()["content-type"], content_type, "{file}");
    }
    let page = client.get(agent.url("/web/demo.html")).send().await.expect("send");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers()["content-security-policy"].to_str().expect("ascii").contains("frame-ancestors 'none'"));
    // Only embedded files exist under /web/.
    for missing in ["/web/pair.html", "/web/../Cargo.toml", "/web/%2e%2e%2fCargo.toml", "/web/"] {
        let response = client.get(agent.url(missing)).send().await.expect("send");
        assert_eq!(response.status(), 404, "{missing}");
    }
    agent.stop().await;
}

#[tokio::test]
async fn scans_are_deleted_with_their_pages_when_their_time_to_live_has_passed() {
    let agent = TestAgent::start_with(|_, options| options.scan_ttl = std::time::Duration::from_millis(1500)).await;
    let token = agent.clerk_token();
    let id = agent.start_scan(&token, &json!({"device": "scanner", "source": "flatbed", "dpi": 75})).await;
    let folder = agent.data_dir.path().join("scans").join(&id);
    let done = agent.wait_for(&format!("/v1/scans/{id}"), &token, |s| s["state"] != "scanning").await;
    assert_eq!(done["state"], "completed", "{done}");
    assert!(folder.join("page-0001.jpg").exists(), "the page is kept until the TTL");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while folder.exists() {
        assert!(tokio::time::Instant::now() < deadline, "scan folder still there after its TTL");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let gone = agent.get(&format!("/v1/scans/{id}"), &token).send().await.expect("get");
    assert_eq!(error_code(gone).await, (404, "not_found".to_string()));
    agent.stop().await;
}
