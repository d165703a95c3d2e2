//! Bugs found by the attack suite, each kept as a test.

use counter_agent_driver_api::StatusReason;
use reqwest::Method;
use serde_json::json;

use crate::harness::{b64, error_code, events_until, next_event, tiny_pdf, TestAgent, APP_ORIGIN};

/// The allowed web app must not be able to read the one-time code and pair itself without the clerk.
#[tokio::test]
async fn the_pair_page_is_not_readable_cross_origin_even_by_the_allowed_app() {
    let agent = TestAgent::start().await;
    let started = agent
        .request(Method::POST, "/v1/pairing/start")
        .json(&json!({"scopes": ["scan", "print"]}))
        .send()
        .await
        .expect("send");
    assert_eq!(started.status(), 200);
    let page = TestAgent::client().get(agent.url("/pair")).header("Origin", APP_ORIGIN).send().await.expect("send");
    assert!(
        page.headers().get("access-control-allow-origin").is_none(),
        "the web app can read the one-time code and pair itself"
    );
    let preflight = agent
        .request(Method::OPTIONS, "/pair")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .expect("send");
    assert!(preflight.headers().get("access-control-allow-origin").is_none(), "preflight granted on /pair");
    // A fetch from any other site (even without CORS) is refused outright, so not even a timing or
    // size side channel is left.
    let cross_site = TestAgent::client()
        .get(agent.url("/pair"))
        .header("Sec-Fetch-Site", "cross-site")
        .header("Sec-Fetch-Mode", "no-cors")
        .send()
        .await
        .expect("send");
    assert_eq!(cross_site.status(), 403);
    agent.stop().await;
}

/// A client that remembers a sequence number from before the database was reset must still get
/// events (with a gap notice), not silence.
#[tokio::test]
async fn a_since_ahead_of_the_journal_does_not_silence_the_stream() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let ticket = agent.ticket(&token).await;
    let mut socket =
        agent.open_events(Some(APP_ORIGIN), &format!("ticket={ticket}&since=100000")).await.expect("connects");
    assert_eq!(next_event(&mut socket).await["type"], "hello");
    assert_eq!(next_event(&mut socket).await["type"], "gap");
    agent.sim.set_fault("a4", Some(StatusReason::PaperOut));
    events_until(&mut socket, |e| e["data"]["device"] == "a4" && e["data"]["reason"] == "paper_out").await;
    agent.stop().await;
}

#[tokio::test]
async fn a_bad_idempotency_key_is_an_invalid_request_not_an_invalid_document() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    for key in [String::new(), "   ".into(), "k".repeat(201)] {
        let body = json!({"device": "a4", "idempotency_key": key, "pdf": b64(&tiny_pdf())});
        let response = agent.post("/v1/prints", &token, &body).send().await.expect("send");
        assert_eq!(error_code(response).await, (400, "invalid_request".into()), "key {key:?}");
    }
    agent.stop().await;
}

/// Revoking a token closes the event streams it opened.
#[tokio::test]
async fn revoking_a_token_closes_its_open_event_stream() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let mut socket = agent.open_stream(&token).await;
    let id = agent.tokens.verify(&token, APP_ORIGIN).expect("valid").id;
    assert!(agent.tokens.revoke(&id).expect("revoke"));
    // The next event would be delivered to a live token; a revoked one gets the socket closed.
    agent.sim.set_fault("a4", Some(StatusReason::PaperOut));
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        use futures_util::StreamExt;
        loop {
            match socket.next().await {
                None | Some(Err(_)) => return true,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return true,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                    assert!(!text.contains("paper_out"), "an event reached a revoked token: {text}");
                }
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true), "the stream stayed open after revocation");
    agent.stop().await;
}

/// Requests a browser cannot send but a local attacker can: duplicate Host or Origin headers, and
/// an absolute-form request target naming another host.
#[tokio::test]
async fn ambiguous_host_and_origin_are_refused() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let host = agent.addr.to_string();
    let cases = [
        format!("GET /v1/devices HTTP/1.1\r\nHost: {host}\r\nHost: evil.example\r\nOrigin: {APP_ORIGIN}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"),
        format!("GET /v1/devices HTTP/1.1\r\nHost: {host}\r\nOrigin: {APP_ORIGIN}\r\nOrigin: https://evil.example\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"),
        format!("GET http://evil.example/v1/devices HTTP/1.1\r\nHost: {host}\r\nOrigin: {APP_ORIGIN}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"),
    ];
    for request in &cases {
        let response = agent.raw_parsed(request).await;
        assert_eq!(response.status, 403, "{request}\n{}", response.body);
        assert!(response.body.contains("_not_allowed"), "{}", response.body);
    }
    // The same request without the duplicate is fine.
    let good = format!(
        "GET /v1/devices HTTP/1.1\r\nHost: {host}\r\nOrigin: {APP_ORIGIN}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(agent.raw_parsed(&good).await.status, 200);
    agent.stop().await;
}

/// A loopback address other than 127.0.0.1 is the agent's own Host and origin.
#[tokio::test]
async fn the_agent_answers_on_the_loopback_address_it_is_bound_to() {
    let agent = TestAgent::start_with(|station, _| {
        station.listen = std::net::SocketAddr::from(([127, 0, 0, 2], 0));
    })
    .await;
    assert!(agent.self_origin.starts_with("http://127.0.0.2:"), "{}", agent.self_origin);
    let health = TestAgent::client().get(agent.url("/v1/health")).send().await.expect("send");
    assert_eq!(health.status(), 200);
    agent.stop().await;
}

/// Allowed web apps may import the JS client from the agent (CORS on that one file), while the
/// agent's other pages stay closed to them; the agent's own pages load their scripts in any mode.
#[tokio::test]
async fn the_js_client_is_importable_by_allowed_origins_only() {
    let agent = TestAgent::start().await;
    let module = |origin: &str| {
        TestAgent::client()
            .get(agent.url("/web/counter-agent.js"))
            .header("Origin", origin)
            .header("Sec-Fetch-Site", "cross-site")
            .header("Sec-Fetch-Mode", "cors")
    };
    let allowed = module(APP_ORIGIN).send().await.expect("send");
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.headers()["access-control-allow-origin"], APP_ORIGIN);
    let foreign = module("https://evil.example").send().await.expect("send");
    assert_eq!(foreign.status(), 403);
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
    let demo_js = TestAgent::client()
        .get(agent.url("/web/demo.js"))
        .header("Origin", APP_ORIGIN)
        .header("Sec-Fetch-Site", "cross-site")
        .header("Sec-Fetch-Mode", "cors")
        .send()
        .await
        .expect("send");
    assert_eq!(demo_js.status(), 403, "only the client is public");
    // Not in demo mode, the agent's own page still loads its module script (same origin).
    let own = TestAgent::client()
        .get(agent.url("/web/demo.js"))
        .header("Origin", &agent.self_origin)
        .header("Sec-Fetch-Site", "same-origin")
        .header("Sec-Fetch-Mode", "cors")
        .send()
        .await
        .expect("send");
    assert_eq!(own.status(), 200);
    // …but its API calls are refused, which the page explains.
    let api = TestAgent::client()
        .get(agent.url("/v1/devices"))
        .header("Origin", &agent.self_origin)
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(api).await, (403, "origin_not_allowed".into()));
    agent.stop().await;
}

/// A web app that retries a successful pairing call (timeout, double click) is not locked out.
#[tokio::test]
async fn retrying_a_completed_pairing_does_not_lock_the_origin_out() {
    let agent = TestAgent::start().await;
    let started: serde_json::Value = agent
        .request(Method::POST, "/v1/pairing/start")
        .json(&json!({}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let id = started["pairing_id"].as_str().expect("id").to_string();
    let code = agent.pairing_codes().await.into_iter().next().expect("a code is shown");
    let complete =
        || agent.request(Method::POST, "/v1/pairing/complete").json(&json!({"pairing_id": id, "code": code}));
    let responses = futures_util::future::join_all((0..10).map(|_| complete().send())).await;
    let statuses: Vec<u16> = responses.into_iter().map(|r| r.expect("send").status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let again = agent.request(Method::POST, "/v1/pairing/start").json(&json!({})).send().await.expect("send");
    assert_eq!(again.status(), 200, "pairing is not locked");
    agent.stop().await;
}
