//! Bad input: every malformed or impossible request gets its error code, and leaves nothing lost or
//! half-written — earlier good data (a printed job, a finished scan's pages) is intact and the next
//! good request works.

use counter_agent_driver_api::{DeviceSettings, ScanSource};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{b64, error_code, pdf_of, tiny_pdf, TestAgent};

/// Finishes a 4-page ADF scan and returns its id and its first page's bytes.
async fn finished_scan(agent: &TestAgent, token: &str) -> (String, Vec<u8>) {
    let started = agent
        .post("/v1/scans", token, &json!({"device": "scanner", "source": "adf", "dpi": 100}))
        .send()
        .await
        .expect("send");
    assert_eq!(started.status(), 202);
    let id = started.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    agent.wait_for(&format!("/v1/scans/{id}"), token, |s| s["state"] == "completed").await;
    let page =
        agent.get(&format!("/v1/scans/{id}/pages/1"), token).send().await.expect("page").bytes().await.expect("bytes");
    (id, page.to_vec())
}

/// Prints a small PDF on `a4` and waits until it is on paper; returns the job id.
async fn printed_job(agent: &TestAgent, token: &str, key: &str) -> String {
    let body = json!({"device": "a4", "idempotency_key": key, "pdf": b64(&tiny_pdf())});
    let submitted = agent.post("/v1/prints", token, &body).send().await.expect("send");
    assert_eq!(submitted.status(), 202);
    let id = submitted.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    agent.wait_for(&format!("/v1/prints/{id}"), token, |j| j["state"] == "printed").await;
    agent.wait_for_empty_spool().await;
    id
}

/// Sends `body` as JSON text (it may be malformed on purpose).
async fn post_text(agent: &TestAgent, path: &str, token: &str, body: &str) -> (u16, String) {
    let response = agent
        .request(Method::POST, path)
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    error_code(response).await
}

#[tokio::test]
async fn bad_scan_requests_start_nothing_and_keep_the_finished_scan() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let (kept_id, kept_page) = finished_scan(&agent, &token).await;
    let before = agent.side_effects().await;

    let cases: &[(&str, u16, &str)] = &[
        (r#"{"device": "scanner", "source": "adf""#, 400, "invalid_json"),
        (r#"{"device": "scanner", "source": 'adf'}"#, 400, "invalid_json"),
        ("", 400, "invalid_json"),
        (r#"{"device": 5, "source": "adf"}"#, 400, "invalid_request"),
        (r#"{"device": "scanner", "source": "adf", "dpi": "300"}"#, 400, "invalid_request"),
        (r#"{"device": "scanner", "source": "adf", "dpi": -1}"#, 400, "invalid_request"),
        (r#"{"device": "scanner", "source": "adf", "dpi": 1.5}"#, 400, "invalid_request"),
        (r#"{"device": "scanner", "source": "ADF"}"#, 400, "invalid_request"),
        (r#"{"device": "scanner", "source": "adf", "color": "rainbow"}"#, 400, "invalid_request"),
        (r#"{"device": "scanner"}"#, 400, "invalid_request"),
        (r#"[]"#, 400, "invalid_request"),
        (r#"{"device": "scanner", "source": "adf", "path": "/tmp/x"}"#, 400, "invalid_request"),
        (r#"{"device": "scanner", "source": "adf", "dpi": 10}"#, 400, "invalid_request"),
        (r#"{"device": "scanner", "source": "adf", "dpi": 74}"#, 400, "invalid_request"),
        (r#"{"device": "scanner", "source": "adf", "dpi": 601}"#, 400, "invalid_request"),
        (r#"{"device": "scanner", "source": "adf", "dpi": 4294967295}"#, 400, "invalid_request"),
        (r#"{"device": "nope", "source": "adf"}"#, 404, "unknown_device"),
        (r#"{"device": "", "source": "adf"}"#, 404, "unknown_device"),
        (r#"{"device": "a4", "source": "adf"}"#, 400, "wrong_device_kind"),
        (r#"{"device": "receipt", "source": "flatbed"}"#, 400, "wrong_device_kind"),
    ];
    for (body, status, code) in cases {
        assert_eq!(post_text(&agent, "/v1/scans", &token, body).await, (*status, code.to_string()), "{body}");
        assert_eq!(agent.side_effects().await, before, "{body} left something behind");
    }
    agent.audit_until(|l| l["reason"] == "wrong_device_kind").await;

    // The finished scan is intact, and a good scan still works.
    let kept = agent
        .get(&format!("/v1/scans/{kept_id}"), &token)
        .send()
        .await
        .expect("send")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!((kept["state"].as_str(), kept["pages"].as_array().map(Vec::len)), (Some("completed"), Some(4)));
    let page = agent
        .get(&format!("/v1/scans/{kept_id}/pages/1"), &token)
        .send()
        .await
        .expect("page")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(page.to_vec(), kept_page);
    let edge = agent
        .post("/v1/scans", &token, &json!({"device": "scanner", "source": "flatbed", "dpi": 75}))
        .send()
        .await
        .expect("send");
    assert_eq!(edge.status(), 202, "the lowest dpi is in range");
    agent.stop().await;
}

#[tokio::test]
async fn a_source_the_scanner_lacks_is_refused() {
    let agent = TestAgent::start_with(|station, _| {
        let scanner = station.devices.iter_mut().find(|d| d.id == "scanner").expect("scanner");
        if let DeviceSettings::Scanner(settings) = &mut scanner.settings {
            settings.sources = vec![ScanSource::Flatbed];
        }
    })
    .await;
    let token = agent.clerk_token();
    let before = agent.side_effects().await;
    for source in ["adf", "adf-duplex"] {
        let body = json!({"device": "scanner", "source": source});
        let response = agent.post("/v1/scans", &token, &body).send().await.expect("send");
        assert_eq!(error_code(response).await, (400, "invalid_request".into()), "{source}");
    }
    assert_eq!(agent.side_effects().await, before);
    let flatbed = agent
        .post("/v1/scans", &token, &json!({"device": "scanner", "source": "flatbed", "dpi": 100}))
        .send()
        .await
        .expect("send");
    assert_eq!(flatbed.status(), 202);
    agent.stop().await;
}

#[tokio::test]
async fn bad_print_requests_queue_nothing_and_keep_the_printed_job() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let kept = printed_job(&agent, &token, "kept").await;
    let kept_file = std::fs::read(&agent.sim.printed("a4")[0].path).expect("kept");
    let before = agent.side_effects().await;

    let pdf = b64(&tiny_pdf());
    let truncated = b64(&tiny_pdf()[..60]);
    let escpos = b64(b"\x1b@hello\n\x1dV\x00");
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"device": "a4", "idempotency_key": "k1", "pdf": "%%% not base64 %%%"}), 400, "invalid_base64"),
        (json!({"device": "a4", "idempotency_key": "k2", "pdf": "QUJD="}), 400, "invalid_base64"),
        (
            json!({"device": "a4", "idempotency_key": "k3", "pdf": b64(b"<html>not a pdf</html>")}),
            400,
            "invalid_document",
        ),
        (json!({"device": "a4", "idempotency_key": "k4", "pdf": truncated}), 400, "invalid_document"),
        (json!({"device": "a4", "idempotency_key": "k5", "pdf": ""}), 400, "invalid_document"),
        (json!({"device": "a4", "idempotency_key": "k6", "escpos": escpos}), 400, "unsupported_format"),
        (json!({"device": "receipt", "idempotency_key": "k7", "pdf": pdf}), 400, "unsupported_format"),
        (json!({"device": "scanner", "idempotency_key": "k8", "pdf": pdf}), 400, "wrong_device_kind"),
        (json!({"device": "nope", "idempotency_key": "k9", "pdf": pdf}), 404, "unknown_device"),
        (json!({"device": "a4", "idempotency_key": "k10"}), 400, "invalid_request"),
        (json!({"device": "a4", "idempotency_key": "k11", "pdf": pdf, "escpos": escpos}), 400, "invalid_request"),
        (json!({"device": "a4", "idempotency_key": "k12", "template": "receipt"}), 400, "invalid_template_data"),
        (json!({"device": "a4", "idempotency_key": "k14", "template": "receipt", "data": {}}), 400, "unknown_template"),
        (
            json!({"device": "a4", "idempotency_key": "k15", "pdf": b64(&pdf_of(1, 595.0, 842.0, true))}),
            400,
            "invalid_document",
        ),
        // 501 pages with the station's limit of 500; a 5 × 5 m page.
        (
            json!({"device": "a4", "idempotency_key": "k16", "pdf": b64(&pdf_of(501, 595.0, 842.0, false))}),
            400,
            "document_too_large",
        ),
        (
            json!({"device": "a4", "idempotency_key": "k17", "pdf": b64(&pdf_of(1, 14_000.0, 14_000.0, false))}),
            400,
            "document_too_large",
        ),
        // A4 on a thermal printer without fit_to_width.
        (
            json!({"device": "receipt", "idempotency_key": "k18", "pdf": b64(&pdf_of(1, 595.0, 842.0, false))}),
            400,
            "unsupported_format",
        ),
        (json!({"device": "a4", "pdf": pdf}), 400, "invalid_request"),
        (json!({"device": "a4", "idempotency_key": 7, "pdf": pdf}), 400, "invalid_request"),
        (json!({"device": "a4", "idempotency_key": "k13", "pdf": pdf, "copies": 2}), 400, "invalid_request"),
        // The kept job's key with another document: a conflict, never a second print.
        (
            json!({"device": "a4", "idempotency_key": "kept", "pdf": b64(&crate::harness::padded_pdf(2000))}),
            409,
            "idempotency_conflict",
        ),
    ];
    for (body, status, code) in &cases {
        let response = agent.post("/v1/prints", &token, body).send().await.expect("send");
        let case = body.to_string();
        let case = &case[..case.len().min(160)];
        assert_eq!(error_code(response).await, (*status, code.to_string()), "{case}");
        assert_eq!(agent.side_effects().await, before, "{case} left something behind");
    }
    assert_eq!(post_text(&agent, "/v1/prints", &token, r#"{"device": "a4", "#).await, (400, "invalid_json".into()));
    // Raw PDF bodies are validated the same way.
    let raw = |query: &str, bytes: Vec<u8>| {
        agent
            .request(Method::POST, &format!("/v1/prints?{query}"))
            .bearer_auth(&token)
            .header("Content-Type", "application/pdf")
            .body(bytes)
    };
    let raw_cases = [
        ("device=a4&idempotency_key=r1", b"GIF89a".to_vec(), 400, "invalid_document"),
        ("device=receipt&idempotency_key=r2", tiny_pdf(), 400, "unsupported_format"),
        ("device=nope&idempotency_key=r3", tiny_pdf(), 404, "unknown_device"),
        ("device=a4", tiny_pdf(), 400, "invalid_request"),
        ("device=a4&idempotency_key=r4&path=/tmp/x", tiny_pdf(), 400, "invalid_request"),
    ];
    for (query, bytes, status, code) in raw_cases {
        assert_eq!(
            error_code(raw(query, bytes).send().await.expect("send")).await,
            (status, code.to_string()),
            "{query}"
        );
    }
    assert_eq!(agent.side_effects().await, before);

    // The printed job is intact and a good job still prints.
    let job = agent
        .get(&format!("/v1/prints/{kept}"), &token)
        .send()
        .await
        .expect("send")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(job["state"], "printed");
    assert_eq!(std::fs::read(&agent.sim.printed("a4")[0].path).expect("kept"), kept_file);
    let escpos_ok = json!({"device": "receipt", "idempotency_key": "good", "escpos": escpos});
    let good = agent.post("/v1/prints", &token, &escpos_ok).send().await.expect("send");
    assert_eq!(good.status(), 202);
    let id = good.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    assert_eq!(agent.sim.printed("a4").len(), 1);
    assert_eq!(agent.sim.printed("receipt").len(), 1);
    agent.stop().await;
}

#[tokio::test]
async fn impossible_scan_and_print_operations_are_refused_without_damage() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let (done_id, done_page) = finished_scan(&agent, &token).await;
    let job = printed_job(&agent, &token, "printed").await;

    // A batch that jams on its first sheet: paused, no pages, the scanner held.
    agent.sim.jam_at_page("scanner", 1);
    let paused = agent
        .post("/v1/scans", &token, &json!({"device": "scanner", "source": "adf", "dpi": 100}))
        .send()
        .await
        .expect("send");
    let paused_id = paused.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    let paused = agent.wait_for(&format!("/v1/scans/{paused_id}"), &token, |s| s["state"] == "paused").await;
    assert_eq!(paused["pages"].as_array().map(Vec::len), Some(0));
    let before = agent.side_effects().await;

    let scans = |id: &str, rest: &str| format!("/v1/scans/{id}{rest}");
    // (case, method, path, status, code)
    let cases: Vec<(&str, Method, String, u16, &str)> = vec![
        ("continue a completed scan", Method::POST, scans(&done_id, "/continue"), 409, "scan_not_paused"),
        ("continue an unknown scan", Method::POST, scans("0123456789abcdef", "/continue"), 404, "not_found"),
        ("second scan on a busy scanner", Method::POST, "/v1/scans".into(), 409, "device_busy"),
        ("page 0", Method::GET, scans(&done_id, "/pages/0"), 404, "page_not_found"),
        ("page 99", Method::GET, scans(&done_id, "/pages/99"), 404, "page_not_found"),
        ("page abc", Method::GET, scans(&done_id, "/pages/abc"), 400, "invalid_request"),
        ("page -1", Method::GET, scans(&done_id, "/pages/-1"), 400, "invalid_request"),
        ("page 1.5", Method::GET, scans(&done_id, "/pages/1.5"), 400, "invalid_request"),
        ("page of a huge number", Method::GET, scans(&done_id, "/pages/99999999999999999999"), 400, "invalid_request"),
        ("page 1 of an empty scan", Method::GET, scans(&paused_id, "/pages/1"), 404, "page_not_found"),
        ("document of an empty scan", Method::GET, scans(&paused_id, "/document"), 409, "no_pages"),
        ("document over max_bytes", Method::GET, scans(&done_id, "/document?max_bytes=100"), 413, "document_too_large"),
        (
            "document with a bad max_bytes",
            Method::GET,
            scans(&done_id, "/document?max_bytes=lots"),
            400,
            "invalid_request",
        ),
        ("document with an unknown option", Method::GET, scans(&done_id, "/document?fit=a4"), 400, "invalid_request"),
        ("cancel a printed job", Method::DELETE, format!("/v1/prints/{job}"), 409, "job_not_cancellable"),
        ("cancel an unknown job", Method::DELETE, "/v1/prints/0123456789abcdef".into(), 404, "not_found"),
        ("delete an unknown scan", Method::DELETE, scans("0123456789abcdef", ""), 404, "not_found"),
    ];
    for (case, method, path, status, code) in cases {
        let mut request = agent.request(method.clone(), &path).bearer_auth(&token);
        if method == Method::POST {
            request = request.json(&json!({"device": "scanner", "source": "adf", "dpi": 100}));
        }
        assert_eq!(error_code(request.send().await.expect("send")).await, (status, code.to_string()), "{case}");
        assert_eq!(agent.side_effects().await, before, "{case} changed something");
    }

    // Nothing was lost: the printed job, the finished scan and the paused one are as they were.
    let job_now = agent
        .get(&format!("/v1/prints/{job}"), &token)
        .send()
        .await
        .expect("send")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(job_now["state"], "printed");
    assert_eq!(agent.sim.printed("a4").len(), 1);
    let page =
        agent.get(&scans(&done_id, "/pages/1"), &token).send().await.expect("page").bytes().await.expect("bytes");
    assert_eq!(page.to_vec(), done_page);
    let document =
        agent.get(&scans(&done_id, "/document"), &token).send().await.expect("doc").bytes().await.expect("bytes");
    assert!(document.starts_with(b"%PDF-"));
    // The paused batch still continues to the end.
    let resumed = agent
        .request(Method::POST, &scans(&paused_id, "/continue"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(resumed.status(), 202);
    let finished = agent.wait_for(&scans(&paused_id, ""), &token, |s| s["state"] == "completed").await;
    assert_eq!(finished["pages"].as_array().map(Vec::len), Some(4));
    agent.stop().await;
}
