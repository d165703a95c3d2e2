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
    let ticket = agent.ticket(&token).await;
    let mut socket = agent.open_events(Some(APP_ORIGIN), &format!("ticket={ticket}")).await.expect("connects");
    assert_eq!(next_event(&mut socket).await["type"], "hello");
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
