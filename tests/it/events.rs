//! The WebSocket event stream (DESIGN §6): the upgrade is refused before `101` unless it comes
//! from an allowed Origin with a fresh single-use ticket of a live token; client messages are
//! limited; a reconnect with `?since=` gets what it missed.

use std::time::Duration;

use counter_agent_driver_api::StatusReason;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{events_until, next_event, TestAgent, APP_ORIGIN};

const OTHER_APP: &str = "https://hcc.example.gov.vn";

#[tokio::test]
async fn upgrade_is_refused_before_101_without_origin_and_a_fresh_ticket() {
    let agent = TestAgent::start_with(|station, _| station.allowed_origins.push(OTHER_APP.to_string())).await;
    let token = agent.clerk_token();
    let other_token = agent
        .tokens
        .create(OTHER_APP, counter_agent::auth::Scopes::parse(["scan"]).expect("scope"), "o")
        .expect("token");

    let used = agent.ticket(&token).await;
    let first = agent.open_events(Some(APP_ORIGIN), &format!("ticket={used}")).await.expect("a fresh ticket connects");
    drop(first);
    let foreign_attempt = agent.ticket(&token).await;
    let for_other_origin = agent.ticket(&token).await;
    let of_other_token = agent.ticket_from(OTHER_APP, &other_token.secret).await;
    let revoked = agent.clerk_token();
    let revoked_ticket = agent.ticket(&revoked).await;
    let revoked_id = agent.tokens.verify(&revoked, APP_ORIGIN).expect("valid").id;
    assert!(agent.tokens.revoke(&revoked_id).expect("revoke"));

    // (case, origin, query, status, code)
    let cases: Vec<(&str, Option<&str>, String, u16, &str)> = vec![
        (
            "foreign origin",
            Some("https://evil.example"),
            format!("ticket={foreign_attempt}"),
            403,
            "origin_not_allowed",
        ),
        (
            "look-alike origin",
            Some("https://motcua.example.gov.vn.evil.com"),
            "ticket=x".into(),
            403,
            "origin_not_allowed",
        ),
        ("null origin", Some("null"), "ticket=x".into(), 403, "origin_not_allowed"),
        ("missing origin", None, "ticket=x".into(), 403, "origin_required"),
        ("no ticket", Some(APP_ORIGIN), String::new(), 401, "ticket_invalid"),
        ("empty ticket", Some(APP_ORIGIN), "ticket=".into(), 401, "ticket_invalid"),
        ("made-up ticket", Some(APP_ORIGIN), "ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(), 401, "ticket_invalid"),
        ("bearer token as ticket", Some(APP_ORIGIN), format!("ticket={token}"), 401, "ticket_invalid"),
        ("reused ticket", Some(APP_ORIGIN), format!("ticket={used}"), 401, "ticket_invalid"),
        (
            "ticket from another allowed origin",
            Some(OTHER_APP),
            format!("ticket={for_other_origin}"),
            401,
            "ticket_invalid",
        ),
        ("that ticket is burnt", Some(APP_ORIGIN), format!("ticket={for_other_origin}"), 401, "ticket_invalid"),
        ("other token's ticket here", Some(APP_ORIGIN), format!("ticket={}", of_other_token), 401, "ticket_invalid"),
        ("ticket of a revoked token", Some(APP_ORIGIN), format!("ticket={revoked_ticket}"), 401, "unauthorized"),
        ("unknown parameter", Some(APP_ORIGIN), "ticket=x&token=y".into(), 400, "invalid_request"),
    ];
    for (case, origin, query, status, code) in cases {
        let refused = agent.open_events(origin, &query).await.err();
        assert_eq!(refused, Some((status, code.to_string())), "{case}");
    }
    let lines = agent.audit_until(|l| l["reason"] == "ticket_invalid").await;
    assert!(lines.iter().any(|l| l["path"] == "/v1/events" && l["reason"] == "origin_not_allowed"));
    let log = agent.audit_text();
    assert!(!log.contains(&used) && !log.contains(&token), "the audit log holds a ticket or token");

    // A valid ticket connects and the stream opens with hello.
    let ticket = agent.ticket(&token).await;
    let mut socket = agent.open_events(Some(APP_ORIGIN), &format!("ticket={ticket}")).await.expect("connects");
    let hello = next_event(&mut socket).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    assert!(hello["seq"].is_i64(), "{hello}");
    agent.stop().await;
}

#[tokio::test]
async fn a_client_message_over_4_kib_closes_the_socket() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let mut socket = agent.open_stream(&token).await;

    // A small message is fine: the stream goes on.
    socket.send(Message::Text("x".repeat(1024).into())).await.expect("send small");
    agent.sim.set_fault("receipt", Some(StatusReason::PaperNearEnd));
    // The stream is still alive after the small message: the fault arrives.
    events_until(&mut socket, |e| {
        e["type"] == "device.status" && e["data"]["device"] == "receipt" && e["data"]["reason"] == "paper_near_end"
    })
    .await;

    socket.send(Message::Text("x".repeat(5 * 1024).into())).await.expect("send large");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(remaining, socket.next()).await {
            Err(_) => panic!("the socket stayed open after a 5 KiB message"),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Ok(_))) => {}
        }
    }
    agent.stop().await;
}

#[tokio::test]
async fn reconnecting_with_since_replays_missed_events() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let ticket = agent.ticket(&token).await;
    let mut socket = agent.open_events(Some(APP_ORIGIN), &format!("ticket={ticket}")).await.expect("connects");
    let hello = next_event(&mut socket).await;
    let mut last = hello["seq"].as_i64().expect("seq");
    // Live: a fault arrives while connected.
    agent.sim.set_fault("a4", Some(StatusReason::PaperOut));
    let live = events_until(&mut socket, |e| {
        e["type"] == "device.status" && e["data"]["device"] == "a4" && e["data"]["reason"] == "paper_out"
    })
    .await;
    let paper_out = live.last().expect("event");
    assert_eq!(
        (paper_out["data"]["state"].as_str(), paper_out["data"]["reason"].as_str()),
        (Some("error"), Some("paper_out"))
    );
    last = last.max(paper_out["seq"].as_i64().expect("seq"));
    socket.close(None).await.expect("close");

    // Missed while away: the paper is refilled and the receipt printer's cover opens.
    agent.sim.set_fault("a4", None);
    agent.sim.set_fault("receipt", Some(StatusReason::CoverOpen));
    let devices_show = |body: &serde_json::Value| {
        let state = |id: &str| {
            body["devices"].as_array().and_then(|d| d.iter().find(|d| d["id"] == id)).map(|d| d["status"].clone())
        };
        state("a4").is_some_and(|s| s["state"] == "ready")
            && state("receipt").is_some_and(|s| s["reason"] == "cover_open")
    };
    agent.wait_for("/v1/devices", &token, devices_show).await;

    let ticket = agent.ticket(&token).await;
    let mut socket =
        agent.open_events(Some(APP_ORIGIN), &format!("ticket={ticket}&since={last}")).await.expect("reconnects");
    assert_eq!(next_event(&mut socket).await["type"], "hello");
    // Both missed changes come back (in journal order, whichever happened first).
    let is_refill = |e: &serde_json::Value| {
        e["type"] == "device.status" && e["data"]["device"] == "a4" && e["data"]["state"] == "ready"
    };
    let is_cover = |e: &serde_json::Value| e["data"]["device"] == "receipt" && e["data"]["reason"] == "cover_open";
    let mut replayed = Vec::new();
    while !(replayed.iter().any(is_refill) && replayed.iter().any(is_cover)) {
        replayed.push(next_event(&mut socket).await);
    }
    assert!(
        replayed.iter().all(|e| e["seq"].as_i64().expect("seq") > last),
        "replayed something already seen: {replayed:?}"
    );
    let seqs: Vec<i64> = replayed.iter().map(|e| e["seq"].as_i64().expect("seq")).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "out of order: {seqs:?}");
    agent.stop().await;
}

#[tokio::test]
async fn another_origin_never_sees_this_ones_scan_and_print_events() {
    let agent = TestAgent::start_with(|station, _| station.allowed_origins.push(OTHER_APP.to_string())).await;
    let token = agent.clerk_token();
    let other = agent
        .tokens
        .create(OTHER_APP, counter_agent::auth::Scopes::parse(["scan"]).expect("scope"), "o")
        .expect("token");
    let other_ticket = agent.ticket_from(OTHER_APP, &other.secret).await;
    let query = format!("ticket={}&since=0", other_ticket);
    let mut theirs = agent.open_events(Some(OTHER_APP), &query).await.expect("connects");
    let ticket = agent.ticket(&token).await;
    let mut mine = agent.open_events(Some(APP_ORIGIN), &format!("ticket={ticket}")).await.expect("connects");

    let started = agent
        .post("/v1/scans", &token, &serde_json::json!({"device": "scanner", "source": "adf", "dpi": 100}))
        .send()
        .await
        .expect("send");
    assert_eq!(started.status(), 202);
    let body = serde_json::json!({"device": "a4", "idempotency_key": "mine", "pdf": crate::harness::b64(&crate::harness::tiny_pdf())});
    assert_eq!(agent.post("/v1/prints", &token, &body).send().await.expect("send").status(), 202);
    let printed = |e: &serde_json::Value| e["type"] == "print.state" && e["data"]["state"] == "printed";
    let scanned = |e: &serde_json::Value| e["type"] == "scan.state" && e["data"]["state"] == "completed";
    let mut seen = Vec::new();
    while !(seen.iter().any(printed) && seen.iter().any(scanned)) {
        seen.push(next_event(&mut mine).await);
    }
    assert!(seen.iter().any(|e| e["type"] == "scan.page"), "this origin gets its own events: {seen:?}");

    // A device event for everyone marks the end: everything before it was already sent.
    agent.sim.set_fault("ticket", Some(StatusReason::PaperNearEnd));
    let other_seen = events_until(&mut theirs, |e| {
        e["type"] == "device.status" && e["data"]["device"] == "ticket" && e["data"]["reason"] == "paper_near_end"
    })
    .await;
    let leaked: Vec<_> = other_seen.iter().filter(|e| e["type"] != "hello" && e["type"] != "device.status").collect();
    assert!(leaked.is_empty(), "another origin saw: {leaked:?}");
    agent.stop().await;
}
