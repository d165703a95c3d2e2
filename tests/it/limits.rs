//! Limits and paths (DESIGN §3 invariant 5, §6): rate limits per origin, body limits, and no
//! request value ever being used as a file path.

use std::time::Duration;

use counter_agent::api::ratelimit::Rate;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{b64, error_code, padded_pdf, tiny_pdf, RawResponse, TestAgent, APP_ORIGIN};

#[tokio::test]
async fn a_flood_from_a_foreign_origin_does_not_starve_the_web_app() {
    // Small budgets, so a flood counted against the web app would exhaust it many times over.
    let agent = TestAgent::start_with(|_, options| {
        options.read_rate = Rate { per_second: 5.0, burst: 30.0 };
        options.write_rate = Rate { per_second: 2.0, burst: 10.0 };
    })
    .await;
    let token = agent.clerk_token();
    let before = agent.side_effects().await;
    let started = tokio::time::Instant::now();

    let mut flood = Vec::new();
    for worker in 0..4 {
        let (url_devices, url_scans) = (agent.url("/v1/devices"), agent.url("/v1/scans"));
        flood.push(tokio::spawn(async move {
            let client = TestAgent::client();
            let mut refused = 0;
            for _ in 0..500 {
                let request = if worker % 2 == 0 {
                    client.get(&url_devices).header("Origin", "https://evil.example")
                } else {
                    client
                        .post(&url_scans)
                        .header("Origin", "null")
                        .json(&json!({"device": "scanner", "source": "adf"}))
                };
                let (status, code) = error_code(request.send().await.expect("send")).await;
                if status == 403 && code == "origin_not_allowed" {
                    refused += 1;
                }
            }
            refused
        }));
    }
    // Meanwhile the web app goes on working, well within its own budget.
    for _ in 0..10 {
        assert_eq!(agent.get("/v1/devices", &token).send().await.expect("send").status(), 200, "the app was starved");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut refused = 0;
    for worker in flood {
        refused += worker.await.expect("flood worker");
    }
    assert_eq!(refused, 2000, "every flood request is refused as foreign");
    let ticket = agent.post("/v1/events/ticket", &token, &json!({})).send().await.expect("send");
    assert_eq!(ticket.status(), 200, "the app's write budget was spent by the flood");
    assert_eq!(agent.side_effects().await, before, "the flood started something");

    // Denials are audited, but at a bounded rate: a flood cannot fill the disk.
    let elapsed = started.elapsed().as_secs_f64();
    let sentinel = agent.get("/v1/devices/flood-sentinel", &token).send().await.expect("send");
    assert_eq!(sentinel.status(), 404);
    let lines = agent.audit_until(|l| l["path"] == "/v1/devices/flood-sentinel").await;
    let flood_lines = lines.iter().filter(|l| l["origin"] == "https://evil.example" || l["origin"] == "null").count();
    let bound = 2.0 * (100.0 + 20.0 * (elapsed + 1.0));
    assert!(
        flood_lines > 0 && (flood_lines as f64) <= bound,
        "{flood_lines} audit lines for the flood (bound {bound})"
    );
    agent.stop().await;
}

#[tokio::test]
async fn a_write_flood_from_the_web_app_is_rate_limited_after_its_burst() {
    let agent = TestAgent::start_with(|_, options| options.write_rate = Rate { per_second: 0.01, burst: 5.0 }).await;
    let token = agent.clerk_token();
    for n in 0..5 {
        let ticket = agent.post("/v1/events/ticket", &token, &json!({})).send().await.expect("send");
        assert_eq!(ticket.status(), 200, "write {n} is within the burst");
    }
    let before = agent.side_effects().await;
    let limited =
        agent.post("/v1/scans", &token, &json!({"device": "scanner", "source": "adf"})).send().await.expect("send");
    assert_eq!(limited.headers().get("retry-after").map(|v| v.as_bytes()), Some(&b"1"[..]));
    // The app may read the refusal (so it can back off).
    assert_eq!(limited.headers()["access-control-allow-origin"], APP_ORIGIN);
    assert_eq!(error_code(limited).await, (429, "rate_limited".into()));
    let body = json!({"device": "a4", "idempotency_key": "limited", "pdf": b64(&tiny_pdf())});
    assert_eq!(
        error_code(agent.post("/v1/prints", &token, &body).send().await.expect("send")).await,
        (429, "rate_limited".into())
    );
    assert_eq!(agent.side_effects().await, before, "a rate-limited write did something");
    // Reads have their own budget.
    assert_eq!(agent.get("/v1/devices", &token).send().await.expect("send").status(), 200);
    agent.audit_until(|l| l["reason"] == "rate_limited" && l["path"] == "/v1/prints").await;
    agent.stop().await;
}

#[tokio::test]
async fn bodies_over_the_limits_are_refused_and_a_big_document_is_not() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let before = agent.side_effects().await;
    let padding = "x".repeat(65 * 1024);
    let cases = [
        ("/v1/scans", json!({"device": "scanner", "source": "adf", "pad": padding})),
        ("/v1/pairing/start", json!({"label": padding})),
        ("/v1/pairing/complete", json!({"pairing_id": padding, "code": "000000"})),
    ];
    for (path, body) in &cases {
        let response = agent.post(path, &token, body).send().await.expect("send");
        assert_eq!(error_code(response).await, (413, "body_too_large".into()), "{path}");
    }
    assert_eq!(agent.side_effects().await, before, "an oversized body did something");

    // A 1 MiB document (1.3 MiB of JSON) is fine on /v1/prints.
    let document = padded_pdf(1024 * 1024);
    let body = json!({"device": "a4", "idempotency_key": "big", "pdf": b64(&document)});
    let submitted = agent.post("/v1/prints", &token, &body).send().await.expect("send");
    assert_eq!(submitted.status(), 202);
    let id = submitted.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    assert_eq!(std::fs::read(&agent.sim.printed("a4")[0].path).expect("kept"), document);
    agent.wait_for_empty_spool().await;
    let before = agent.side_effects().await;

    // Just over the print limit (48 MiB), raw and as JSON.
    let over = counter_agent::api::MAX_PRINT_BODY + 1;
    let raw_pdf = {
        let mut bytes = padded_pdf(over);
        bytes.truncate(over);
        bytes
    };
    let response =
        send_streamed(&agent, &token, "/v1/prints?device=a4&idempotency_key=huge", "application/pdf", raw_pdf).await;
    assert_eq!((response.status, response.code().as_str()), (413, "body_too_large"), "raw PDF over the limit");
    let mut json_body =
        format!(r#"{{"device":"a4","idempotency_key":"huge-json","pdf":"{}"#, "A".repeat(over)).into_bytes();
    json_body.extend_from_slice(b"\"}");
    let response = send_streamed(&agent, &token, "/v1/prints", "application/json", json_body).await;
    assert_eq!((response.status, response.code().as_str()), (413, "body_too_large"), "JSON over the limit");
    assert_eq!(agent.side_effects().await, before, "an oversized document was kept");
    agent.stop().await;
}

/// POSTs a large body over a raw connection, reading the answer while still writing (the agent
/// may answer 413 before taking the whole body).
async fn send_streamed(agent: &TestAgent, token: &str, path: &str, content_type: &str, body: Vec<u8>) -> RawResponse {
    let stream = tokio::net::TcpStream::connect(agent.addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {APP_ORIGIN}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        agent.host(),
        body.len()
    );
    // The write half is handed back, not dropped: dropping it would half-close the connection,
    // and a server may take that for the client going away before it answers.
    let writing = tokio::spawn(async move {
        // The agent may close the connection once it has refused: a failed write is expected.
        if writer.write_all(head.as_bytes()).await.is_ok() {
            let _ = writer.write_all(&body).await;
        }
        writer
    });
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "no answer within 20 s");
    drop(writing.await);
    RawResponse::parse(&String::from_utf8_lossy(&response))
}

#[tokio::test]
async fn no_request_value_is_used_as_a_path() {
    // Many writes in a row: a budget large enough that every answer is about the path.
    let agent =
        TestAgent::start_with(|_, options| options.write_rate = Rate { per_second: 100.0, burst: 1000.0 }).await;
    let token = agent.clerk_token();
    let started = agent
        .post("/v1/scans", &token, &json!({"device": "scanner", "source": "flatbed", "dpi": 100}))
        .send()
        .await
        .expect("send");
    let scan = started.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    agent.wait_for(&format!("/v1/scans/{scan}"), &token, |s| s["state"] == "completed").await;
    let files_before = crate::harness::folder_names(agent.data_dir.path());
    let before = agent.side_effects().await;

    let traversals = [
        "..%2F..%2Fagent.sqlite3",
        "%2e%2e%2f%2e%2e%2fagent.sqlite3",
        "..%5C..%5Cagent.sqlite3",
        "%2Fetc%2Fpasswd",
        "http%3A%2F%2Fevil.example%2Fx.pdf",
        "file%3A%2F%2F%2Fetc%2Fpasswd",
        "%00",
    ];
    let mut cases: Vec<(Method, String, u16, &str)> = Vec::new();
    for bad in traversals {
        cases.push((Method::GET, format!("/v1/scans/{bad}"), 404, "not_found"));
        cases.push((Method::GET, format!("/v1/scans/{bad}/document"), 404, "not_found"));
        cases.push((Method::GET, format!("/v1/scans/{bad}/pages/1"), 404, "not_found"));
        cases.push((Method::GET, format!("/v1/scans/{scan}/pages/{bad}"), 400, "invalid_request"));
        cases.push((Method::DELETE, format!("/v1/scans/{bad}"), 404, "not_found"));
        cases.push((Method::GET, format!("/v1/prints/{bad}"), 404, "not_found"));
        cases.push((Method::DELETE, format!("/v1/prints/{bad}"), 404, "not_found"));
        cases.push((Method::GET, format!("/v1/devices/{bad}"), 404, "unknown_device"));
        cases.push((Method::POST, format!("/v1/prints?device={bad}&idempotency_key=k"), 404, "unknown_device"));
    }
    for (method, path, status, code) in &cases {
        let mut request = agent.request(method.clone(), path).bearer_auth(&token);
        if *method == Method::POST {
            request = request.header("Content-Type", "application/pdf").body(tiny_pdf());
        }
        let response = request.send().await.expect("send");
        let case = format!("{method} {path}");
        assert_eq!(error_code(response).await, (*status, code.to_string()), "{case}");
    }
    for device in
        ["../a4", "/dev/usb/lp0", "ipp://evil.example/printers/x", "file:/etc/passwd", "sim:printer-a4", "A4", "a4/"]
    {
        let body = json!({"device": device, "idempotency_key": "k", "pdf": b64(&tiny_pdf())});
        let response = agent.post("/v1/prints", &token, &body).send().await.expect("send");
        assert_eq!(error_code(response).await, (404, "unknown_device".into()), "print on {device}");
        let body = json!({"device": device, "source": "flatbed"});
        let response = agent.post("/v1/scans", &token, &body).send().await.expect("send");
        assert_eq!(error_code(response).await, (404, "unknown_device".into()), "scan on {device}");
    }
    // Unencoded dot segments (a client library would normalise them away, a raw client does not).
    for path in [
        "/v1/scans/../../agent.sqlite3",
        "/v1/scans/../../../etc/passwd",
        "/web/../agent.sqlite3",
        "/web/..%2Fagent.sqlite3",
    ] {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {APP_ORIGIN}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
            agent.host()
        );
        let response = agent.raw_parsed(&request).await;
        assert_eq!((response.status, response.code().as_str()), (404, "not_found"), "{path}");
        assert!(!response.body.contains("SQLite format") && !response.body.contains("root:"), "{path} served a file");
    }
    assert_eq!(agent.side_effects().await, before, "a path attack changed something");
    assert_eq!(
        crate::harness::folder_names(agent.data_dir.path()),
        files_before,
        "files appeared or vanished in the data dir"
    );
    let kept = agent.get(&format!("/v1/scans/{scan}/pages/1"), &token).send().await.expect("send");
    assert_eq!(kept.headers()["content-type"], "image/jpeg");
    agent.stop().await;
}
