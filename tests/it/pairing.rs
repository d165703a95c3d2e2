//! Pairing attacks (DESIGN §6): scopes a web app may not ask for, guessing the one-time code, and
//! the agent's own page that shows the codes.

use reqwest::Method;
use serde_json::json;

use crate::harness::{error_code, TestAgent, APP_ORIGIN};

async fn start_pairing(agent: &TestAgent, body: &serde_json::Value) -> reqwest::Response {
    agent.request(Method::POST, "/v1/pairing/start").json(body).send().await.expect("send")
}

async fn complete_pairing(agent: &TestAgent, pairing_id: &str, code: &str) -> reqwest::Response {
    let body = json!({"pairing_id": pairing_id, "code": code});
    agent.request(Method::POST, "/v1/pairing/complete").json(&body).send().await.expect("send")
}

#[tokio::test]
async fn pairing_with_the_code_shown_on_the_pair_page_gives_an_origin_bound_token_once() {
    let agent = TestAgent::start().await;
    let started = start_pairing(&agent, &json!({"label": "<b>Quầy 3</b>", "scopes": ["scan", "print"]})).await;
    assert_eq!(started.status(), 200);
    let started: serde_json::Value = started.json().await.expect("json");
    let id = started["pairing_id"].as_str().expect("id").to_string();
    let page = TestAgent::client().get(agent.url("/pair")).send().await.expect("page").text().await.expect("text");
    assert!(page.contains("&lt;b&gt;Quầy 3&lt;/b&gt;") && !page.contains("<b>Quầy 3"), "label not escaped");
    assert!(page.contains(APP_ORIGIN), "the page names the origin asking");
    let codes = agent.pairing_codes().await;
    assert_eq!(codes.len(), 1);

    let done = complete_pairing(&agent, &id, &codes[0]).await;
    assert_eq!(done.status(), 200);
    let done: serde_json::Value = done.json().await.expect("json");
    assert_eq!(done["origin"], APP_ORIGIN);
    assert_eq!(done["scopes"], json!(["scan", "print"]));
    let secret = done["token"].as_str().expect("token").to_string();
    assert!(agent.pairing_codes().await.is_empty(), "a used code stays on the page");
    assert_eq!(agent.get("/v1/devices", &secret).send().await.expect("send").status(), 200);
    // The code is single-use: a retry is told the request was completed (409), and gets no token.
    let again = complete_pairing(&agent, &id, &codes[0]).await;
    assert_eq!(error_code(again).await, (409, "pairing_failed".into()));
    assert_eq!(agent.tokens.list().expect("list").len(), 1);
    agent.audit_until(|l| l["reason"] == "pairing_failed").await;
    assert!(!agent.audit_text().contains(&secret), "the audit log holds the new token");
    agent.stop().await;
}

#[tokio::test]
async fn pairing_refuses_scopes_it_cannot_grant() {
    let agent = TestAgent::start().await;
    let before = agent.side_effects().await;
    let cases = [
        (json!({"scopes": ["scan", "root"]}), 400, "unknown_scope"),
        (json!({"scopes": ["Scan"]}), 400, "unknown_scope"),
        (json!({"scopes": ["admin"]}), 400, "invalid_request"),
        (json!({"scopes": ["scan", "admin"]}), 400, "invalid_request"),
        (json!({"scopes": []}), 400, "invalid_request"),
        (json!({"scopes": "scan"}), 400, "invalid_request"),
        (json!({"label": "x", "origin": "https://evil.example"}), 400, "invalid_request"),
    ];
    for (body, status, code) in cases {
        assert_eq!(error_code(start_pairing(&agent, &body).await).await, (status, code.to_string()), "{body}");
    }
    assert_eq!(agent.side_effects().await, before, "a refused pairing left a request or a token");
    agent.audit_until(|l| l["reason"] == "unknown_scope").await;
    agent.stop().await;
}

#[tokio::test]
async fn five_wrong_codes_lock_pairing_even_for_the_right_code() {
    let agent = TestAgent::start().await;
    let started = start_pairing(&agent, &json!({"label": "x"})).await;
    let started: serde_json::Value = started.json().await.expect("json");
    let id = started["pairing_id"].as_str().expect("id").to_string();
    let right = agent.pairing_codes().await.pop().expect("code");
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for attempt in 1..5 {
        let response = complete_pairing(&agent, &id, wrong).await;
        assert_eq!(error_code(response).await, (403, "pairing_failed".into()), "attempt {attempt}");
    }
    let fifth = complete_pairing(&agent, &id, wrong).await;
    assert_eq!(error_code(fifth).await, (429, "pairing_locked".into()));

    let right_now = complete_pairing(&agent, &id, &right).await;
    assert_eq!(error_code(right_now).await, (429, "pairing_locked".into()), "the right code after the lockout");
    let restart = start_pairing(&agent, &json!({"label": "again"})).await;
    assert_eq!(error_code(restart).await, (429, "pairing_locked".into()), "a new request during the lockout");
    let after = agent.side_effects().await;
    assert_eq!(after.n_tokens, 0, "a token was created");
    assert!(after.pending_pairings.is_empty(), "the locked request still shows a code");
    let lines = agent.audit_until(|l| l["reason"] == "pairing_locked" && l["path"] == "/v1/pairing/start").await;
    assert_eq!(lines.iter().filter(|l| l["reason"] == "pairing_failed").count(), 4);
    agent.stop().await;
}

#[tokio::test]
async fn the_pair_page_cannot_be_framed_or_read_through_another_host() {
    let agent = TestAgent::start().await;
    start_pairing(&agent, &json!({"label": "x"})).await;
    let code = agent.pairing_codes().await.pop().expect("code");

    let page = TestAgent::client().get(agent.url("/pair")).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let csp = page.headers()["content-security-policy"].to_str().expect("ascii").to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    // DNS rebinding: the attacker's name resolving to 127.0.0.1 is refused before the page renders.
    for host in ["evil.example", "rebind.evil.example:80", &format!("evil.example:{}", agent.addr.port())] {
        let response =
            agent.raw_parsed(&format!("GET /pair HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")).await;
        assert_eq!((response.status, response.code().as_str()), (403, "host_not_allowed"), "{host}");
        assert!(!response.body.contains(&code), "{host}: code leaked");
    }
    // A foreign page fetching it is refused too, with no CORS grant.
    let foreign = TestAgent::client()
        .get(agent.url("/pair"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .expect("send");
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
    let (status, _) = error_code(foreign).await;
    assert_eq!(status, 403);
    agent.stop().await;
}

#[tokio::test]
async fn the_pair_page_speaks_vietnamese_and_marks_the_newest_request() {
    let agent = TestAgent::start().await;
    for label in ["lần 1", "lần 2"] {
        let started = agent
            .request(Method::POST, "/v1/pairing/start")
            .json(&json!({"label": label, "scopes": ["scan", "print"]}))
            .send()
            .await
            .expect("send");
        assert_eq!(started.status(), 200);
    }
    let page = TestAgent::client().get(agent.url("/pair")).send().await.expect("send").text().await.expect("text");
    assert!(page.contains("Quyền: quét tài liệu, in"), "scopes in Vietnamese: {page}");
    assert!(!page.contains("scan print"), "no raw scope names");
    let newest = page.find("Yêu cầu mới nhất").expect("newest marked");
    assert!(newest < page.find("lần 1").expect("older shown"), "the newest comes first");
    assert!(page.find("lần 2").expect("newest shown") > newest);
    agent.stop().await;
}
