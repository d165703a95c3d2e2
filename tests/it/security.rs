//! The attack suite of DESIGN §6, HTTP side (Host, Origin, content types, preflight, response
//! headers). Every case sends the attack and asserts the refusal *and* that nothing happened: no
//! token, no scan, nothing spooled or printed, no pairing request waiting, an audit line with the
//! reason and never a secret.

use reqwest::Method;
use serde_json::json;

use crate::harness::{error_code, tiny_pdf, TestAgent, APP_ORIGIN};

/// A good scan request, so a refusal is about the attack and not the body.
fn scan_body() -> serde_json::Value {
    json!({"device": "scanner", "source": "adf", "dpi": 100})
}

/// Asserts that `response` carries no CORS grant at all.
fn assert_no_cors(headers: &reqwest::header::HeaderMap, case: &str) {
    assert!(headers.get("access-control-allow-origin").is_none(), "{case}: ACAO on a refusal: {headers:?}");
    assert!(headers.get("access-control-allow-private-network").is_none(), "{case}: ACAPN on a refusal");
}

#[tokio::test]
async fn host_allow_list_is_exact_on_api_routes_and_the_pair_page() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    // A pending pairing, so the pair page has a code to leak.
    let started =
        agent.request(Method::POST, "/v1/pairing/start").json(&json!({"label": "quầy 3"})).send().await.expect("start");
    assert_eq!(started.status(), 200);
    let code = agent.pairing_codes().await.pop().expect("a code on the pair page");
    let before = agent.side_effects().await;

    let port = agent.addr.port();
    let other_port = if port == 65535 { 1024 } else { port + 1 };
    let refused_hosts = [
        Some("evil.example".to_string()),
        Some("127.0.0.1".to_string()),
        Some(format!("127.0.0.1:{other_port}")),
        Some(format!("localhost.evil.com:{port}")),
        Some(format!("127.0.0.1.evil.com:{port}")),
        Some(format!("evil.example:{port}")),
        Some(format!("127.0.0.1:{port}@evil.example")),
        None,
    ];
    let requests = [
        ("GET", "/v1/health", ""),
        ("GET", "/v1/devices", ""),
        ("POST", "/v1/scans", r#"{"device":"scanner","source":"adf","dpi":100}"#),
        ("POST", "/v1/pairing/start", r#"{"label":"rebinding"}"#),
        ("GET", "/pair", ""),
    ];
    for host in &refused_hosts {
        for (method, path, body) in requests {
            let (version, host_line) = match host {
                Some(host) => ("HTTP/1.1", format!("Host: {host}\r\n")),
                // HTTP/1.0 may omit Host; hyper accepts it, the guard must not.
                None => ("HTTP/1.0", String::new()),
            };
            let request = format!(
                "{method} {path} {version}\r\n{host_line}Origin: {APP_ORIGIN}\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let response = agent.raw_parsed(&request).await;
            let case = format!("{method} {path} with Host {host:?}");
            assert_eq!((response.status, response.code().as_str()), (403, "host_not_allowed"), "{case}: {response:?}");
            assert!(response.header("access-control-allow-origin").is_none(), "{case}: ACAO on a refusal");
            assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{case}");
            assert!(!response.body.contains(&code), "{case}: the pairing code leaked");
        }
    }
    assert_eq!(agent.side_effects().await, before, "a refused Host changed something");

    // The allowed names (the bound address and `localhost`) pass, and the pair page shows the code to them.
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let response =
            agent.raw_parsed(&format!("GET /pair HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")).await;
        assert_eq!(response.status, 200, "{host}");
        assert!(response.body.contains(&code), "{host}: the clerk must see the code");
        let health =
            agent.raw_parsed(&format!("GET /v1/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")).await;
        assert_eq!(health.status, 200, "{host}");
    }

    let lines = agent.audit_until(|l| l["reason"] == "host_not_allowed" && l["path"] == "/v1/scans").await;
    assert!(lines
        .iter()
        .any(|l| l["decision"] == "deny" && l["reason"] == "host_not_allowed" && l["path"] == "/v1/devices"));
    assert!(!agent.audit_text().contains(&token), "the audit log holds a token secret");
    agent.stop().await;
}

/// Origins a browser could send that must not match `https://motcua.example.gov.vn`.
const LOOK_ALIKES: &[&str] = &[
    "https://motcua.example.gov.vn.evil.com",
    "http://motcua.example.gov.vn",
    "https://motcua.example.gov.vn:8443",
    "https://motcua.example.gov.vn:443",
    "https://evil.motcua.example.gov.vn",
    "https://xmotcua.example.gov.vn",
    "https://motcua.example.gov.v",
    "https://motcua.example.gov",
    "null",
    "HTTPS://MOTCUA.EXAMPLE.GOV.VN",
    "https://Motcua.example.gov.vn",
    "https://motcua.example.gov.vn/",
    "https://motcua.example.gov.vn/app",
    "https://motcua.example.gov.vn https://evil.example",
    "",
];

#[tokio::test]
async fn origin_allow_list_is_exact_on_http() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let before = agent.side_effects().await;

    let mut cases: Vec<(Option<&str>, u16, &str)> =
        LOOK_ALIKES.iter().map(|o| (Some(*o), 403, "origin_not_allowed")).collect();
    cases.push((None, 403, "origin_required"));
    for (origin, status, code) in cases {
        let send = |method: Method, path: &str| {
            let mut request = TestAgent::client().request(method.clone(), agent.url(path)).bearer_auth(&token);
            if let Some(origin) = origin {
                request = request.header("Origin", origin);
            }
            if method == Method::POST {
                request = request.json(&scan_body());
            }
            request
        };
        for (method, path) in [
            (Method::GET, "/v1/devices"),
            (Method::POST, "/v1/scans"),
            (Method::POST, "/v1/events/ticket"),
            (Method::GET, "/v1/tokens"),
        ] {
            let case = format!("{method} {path} with Origin {origin:?}");
            let response = send(method, path).send().await.expect("send");
            assert_no_cors(response.headers(), &case);
            assert_eq!(error_code(response).await, (status, code.to_string()), "{case}");
        }
        // Health works with no Origin (liveness probes) but never for a foreign page.
        let health = send(Method::GET, "/v1/health").send().await.expect("send");
        let case = format!("health with Origin {origin:?}");
        assert_no_cors(health.headers(), &case);
        match origin {
            None => assert_eq!(health.status(), 200, "{case}"),
            Some(_) => assert_eq!(error_code(health).await, (403, "origin_not_allowed".into()), "{case}"),
        }
    }
    assert_eq!(agent.side_effects().await, before, "a refused Origin changed something");

    // The exact origin passes, and is echoed exactly (never `*`).
    let ok = agent.get("/v1/devices", &token).send().await.expect("send");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["access-control-allow-origin"], APP_ORIGIN);

    let lines = agent.audit_until(|l| l["reason"] == "origin_required").await;
    assert!(lines
        .iter()
        .any(|l| l["decision"] == "deny" && l["reason"] == "origin_not_allowed" && l["origin"] == "null"));
    assert!(!agent.audit_text().contains(&token), "the audit log holds a token secret");
    agent.stop().await;
}

#[tokio::test]
async fn writes_must_be_json_so_cross_site_forms_need_a_preflight() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let before = agent.side_effects().await;
    let json_text = scan_body().to_string();
    let cases: &[(&str, Option<&str>)] = &[
        ("/v1/scans", Some("text/plain")),
        ("/v1/scans", Some("text/plain; charset=utf-8")),
        ("/v1/scans", Some("application/x-www-form-urlencoded")),
        ("/v1/scans", Some("multipart/form-data; boundary=x")),
        ("/v1/scans", None),
        ("/v1/scans", Some("application/json; charset=latin1")),
        ("/v1/scans", Some("application/jsonx")),
        ("/v1/scans", Some("text/json")),
        ("/v1/scans", Some("application/pdf")),
        ("/v1/pairing/start", Some("text/plain")),
        ("/v1/pairing/complete", Some("application/x-www-form-urlencoded")),
        ("/v1/events/ticket", Some("text/plain")),
        ("/v1/prints", Some("text/plain")),
        ("/v1/prints", None),
    ];
    for (path, content_type) in cases {
        let mut request = agent.request(Method::POST, path).bearer_auth(&token).body(json_text.clone());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", *content_type);
        }
        let response = request.send().await.expect("send");
        let case = format!("POST {path} as {content_type:?}");
        assert_eq!(error_code(response).await, (415, "unsupported_media_type".into()), "{case}");
    }
    assert_eq!(agent.side_effects().await, before, "a non-JSON write changed something");
    agent.audit_until(|l| l["reason"] == "unsupported_media_type" && l["path"] == "/v1/prints").await;

    // A raw PDF body is the one exception, on /v1/prints only, and needs its two query parameters.
    let raw = |query: &str| {
        agent
            .request(Method::POST, &format!("/v1/prints{query}"))
            .bearer_auth(&token)
            .header("Content-Type", "application/pdf")
            .body(tiny_pdf())
    };
    assert_eq!(error_code(raw("").send().await.expect("send")).await, (400, "invalid_request".into()));
    assert_eq!(agent.side_effects().await, before);
    let printed = raw("?device=a4&idempotency_key=raw-1").send().await.expect("send");
    assert_eq!(printed.status(), 202);
    let job: serde_json::Value = printed.json().await.expect("json");
    agent
        .wait_for(&format!("/v1/prints/{}", job["id"].as_str().expect("id")), &token, |j| j["state"] == "printed")
        .await;
    assert_eq!(std::fs::read(&agent.sim.printed("a4")[0].path).expect("kept"), tiny_pdf());
    agent.stop().await;
}

#[tokio::test]
async fn preflight_is_answered_only_for_allowed_origins() {
    let agent = TestAgent::start().await;
    let before = agent.side_effects().await;
    let preflight = |origin: Option<&str>, private_network: Option<&str>| {
        let mut request = TestAgent::client()
            .request(Method::OPTIONS, agent.url("/v1/scans"))
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization, content-type");
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        if let Some(value) = private_network {
            request = request.header("Access-Control-Request-Private-Network", value);
        }
        request.send()
    };

    let plain = preflight(Some(APP_ORIGIN), None).await.expect("send");
    assert_eq!(plain.status(), 204);
    let headers = plain.headers();
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    let methods = headers["access-control-allow-methods"].to_str().expect("ascii").to_ascii_uppercase();
    assert!(["GET", "POST", "DELETE"].iter().all(|m| methods.contains(m)), "{methods}");
    let allowed = headers["access-control-allow-headers"].to_str().expect("ascii").to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");
    assert!(headers
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains("origin"))));
    assert!(headers.get("access-control-allow-private-network").is_none(), "PNA granted without being asked");
    assert!(headers.get("access-control-allow-credentials").is_none(), "the API uses bearer tokens, not cookies");

    let asked = preflight(Some(APP_ORIGIN), Some("true")).await.expect("send");
    assert_eq!(asked.status(), 204);
    assert_eq!(asked.headers()["access-control-allow-private-network"], "true");
    assert_eq!(asked.headers()["access-control-allow-origin"], APP_ORIGIN);
    let not_true = preflight(Some(APP_ORIGIN), Some("false")).await.expect("send");
    assert!(not_true.headers().get("access-control-allow-private-network").is_none());

    for (origin, code) in [
        (Some("https://evil.example"), "origin_not_allowed"),
        (Some("https://motcua.example.gov.vn.evil.com"), "origin_not_allowed"),
        (Some("null"), "origin_not_allowed"),
        (None, "origin_required"),
    ] {
        let response = preflight(origin, Some("true")).await.expect("send");
        let case = format!("preflight from {origin:?}");
        assert_no_cors(response.headers(), &case);
        assert_eq!(error_code(response).await, (403, code.to_string()), "{case}");
    }
    assert_eq!(agent.side_effects().await, before, "a preflight started something");
    agent.audit_until(|l| l["reason"] == "origin_not_allowed" && l["method"] == "OPTIONS").await;
    agent.stop().await;
}

#[tokio::test]
async fn every_api_response_says_nosniff_and_no_store() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let started = agent.post("/v1/scans", &token, &scan_body()).send().await.expect("send");
    let scan: serde_json::Value = started.json().await.expect("json");
    let id = scan["id"].as_str().expect("id").to_string();
    agent.wait_for(&format!("/v1/scans/{id}"), &token, |s| s["state"] == "completed").await;

    let client = TestAgent::client();
    let foreign =
        |method: Method, path: &str| client.request(method, agent.url(path)).header("Origin", "https://evil.example");
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("health", client.get(agent.url("/v1/health")), 200),
        ("openapi", agent.request(Method::GET, "/v1/openapi.json"), 200),
        ("devices", agent.get("/v1/devices", &token), 200),
        ("scan", agent.get(&format!("/v1/scans/{id}"), &token), 200),
        ("page image", agent.get(&format!("/v1/scans/{id}/pages/1"), &token), 200),
        ("document", agent.get(&format!("/v1/scans/{id}/document"), &token), 200),
        ("preflight", agent.request(Method::OPTIONS, "/v1/scans").header("Access-Control-Request-Method", "POST"), 204),
        ("foreign origin", foreign(Method::GET, "/v1/devices"), 403),
        ("foreign preflight", foreign(Method::OPTIONS, "/v1/scans"), 403),
        ("no origin", client.get(agent.url("/v1/devices")), 403),
        ("no token", agent.request(Method::GET, "/v1/devices"), 401),
        ("unknown route", agent.get("/v1/nope", &token), 404),
        ("wrong method", agent.request(Method::DELETE, "/v1/scans").bearer_auth(&token), 405),
        ("not json", agent.request(Method::POST, "/v1/scans").bearer_auth(&token).body("x"), 415),
        (
            "bad json",
            agent
                .request(Method::POST, "/v1/scans")
                .bearer_auth(&token)
                .header("Content-Type", "application/json")
                .body("{"),
            400,
        ),
        ("too large", agent.post("/v1/scans", &token, &json!({"device": "x".repeat(70 * 1024)})), 413),
        ("unknown device", agent.get("/v1/devices/nope", &token), 404),
        ("pair page", client.get(agent.url("/pair")), 200),
    ];
    for (case, request, status) in cases {
        let response = request.send().await.expect("send");
        assert_eq!(response.status(), status, "{case}");
        let headers = response.headers();
        assert_eq!(headers.get("x-content-type-options").map(|v| v.as_bytes()), Some(&b"nosniff"[..]), "{case}");
        assert_eq!(headers.get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]), "{case}");
        assert!(headers.get("access-control-allow-origin").is_none_or(|v| v != "*"), "{case}: wildcard CORS");
    }
    // A refused Host too (raw, since a client library fills Host in).
    let refused = agent.raw_parsed("GET /v1/devices HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n").await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        (refused.header("x-content-type-options"), refused.header("cache-control")),
        (Some("nosniff"), Some("no-store"))
    );
    agent.stop().await;
}
