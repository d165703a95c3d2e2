//! Tokens (DESIGN §6): a bearer token is bound to one origin and a set of scopes; missing, made-up
//! and revoked tokens are refused, and one origin never reaches another's scans or print jobs.
//! Every refusal is checked for side effects and for an audit line without the secret.

use reqwest::Method;
use serde_json::json;

use crate::harness::{b64, error_code, tiny_pdf, TestAgent, APP_ORIGIN};

/// A good scan request, so a refusal is about the token and not the body.
fn scan_body() -> serde_json::Value {
    json!({"device": "scanner", "source": "adf", "dpi": 100})
}

#[tokio::test]
async fn a_token_only_works_for_its_own_origin() {
    // Demo mode: the agent's own origin is allowed too, so the refusal below is the token's binding.
    let agent = TestAgent::start_with(|_, options| options.demo = true).await;
    let app_token = agent.clerk_token();
    let self_token = agent
        .tokens
        .create(&agent.self_origin, counter_agent::auth::Scopes::parse(["scan"]).expect("scope"), "demo")
        .expect("token");
    let before = agent.side_effects().await;

    let call = |origin: &str, token: &str| {
        TestAgent::client().post(agent.url("/v1/scans")).header("Origin", origin).bearer_auth(token).json(&scan_body())
    };
    let cases = [
        ("app token from a foreign origin", "https://evil.example", app_token.as_str(), 403, "origin_not_allowed"),
        ("app token from the agent's own origin", agent.self_origin.as_str(), app_token.as_str(), 401, "unauthorized"),
        ("agent token from the app's origin", APP_ORIGIN, self_token.secret.as_str(), 401, "unauthorized"),
    ];
    for (case, origin, token, status, code) in cases {
        assert_eq!(
            error_code(call(origin, token).send().await.expect("send")).await,
            (status, code.to_string()),
            "{case}"
        );
    }
    assert_eq!(agent.side_effects().await, before);
    let lines = agent.audit_until(|l| l["reason"] == "unauthorized" && l["origin"] == APP_ORIGIN).await;
    assert!(lines.iter().any(|l| l["reason"] == "unauthorized" && l["origin"] == agent.self_origin.as_str()));
    let log = agent.audit_text();
    assert!(!log.contains(&app_token) && !log.contains(&self_token.secret), "the audit log holds a token secret");

    // Each token still works from its own origin.
    let ok = call(APP_ORIGIN, &app_token).send().await.expect("send");
    assert_eq!(ok.status(), 202);
    agent.stop().await;
}

#[tokio::test]
async fn bearer_tokens_and_scopes_are_enforced() {
    let agent = TestAgent::start().await;
    let scan_only = agent
        .tokens
        .create(APP_ORIGIN, counter_agent::auth::Scopes::parse(["scan"]).expect("scope"), "s")
        .expect("token");
    let print_only = agent.token(&["print"]);
    let clerk = agent
        .tokens
        .create(APP_ORIGIN, counter_agent::auth::Scopes::parse(["scan", "print"]).expect("scopes"), "c")
        .expect("token");
    let admin = agent.token(&["admin"]);
    let revoked = agent
        .tokens
        .create(APP_ORIGIN, counter_agent::auth::Scopes::parse(["scan", "print"]).expect("scopes"), "r")
        .expect("token");
    assert!(agent.tokens.revoke(&revoked.info.id).expect("revoke"));
    let revoked_by_api = agent.clerk_token();
    let revoked_by_api_id = agent.tokens.verify(&revoked_by_api, APP_ORIGIN).expect("valid").id;
    let gone = agent.delete(&format!("/v1/tokens/{revoked_by_api_id}"), &admin).send().await.expect("send");
    assert_eq!(gone.status(), 204);
    let before = agent.side_effects().await;

    let print_body = json!({"device": "a4", "idempotency_key": "scope-test", "pdf": b64(&tiny_pdf())});
    let bearer = |secret: &str| Some(format!("Bearer {secret}"));
    let revoke_clerk = format!("DELETE /v1/tokens/{}", clerk.info.id);
    // (case, Authorization header, request, status, code); POSTs to /v1/prints carry a good
    // print body, other POSTs a good scan body.
    let cases: Vec<(&str, Option<String>, &str, u16, &str)> = vec![
        ("no Authorization", None, "POST /v1/scans", 401, "unauthorized"),
        ("empty bearer", Some("Bearer ".into()), "GET /v1/devices", 401, "unauthorized"),
        ("garbage bearer", bearer("cat_garbage"), "POST /v1/prints", 401, "unauthorized"),
        ("basic auth", Some(format!("Basic {}", clerk.secret)), "GET /v1/devices", 401, "unauthorized"),
        ("secret without scheme", Some(clerk.secret.clone()), "GET /v1/devices", 401, "unauthorized"),
        ("revoked token", bearer(&revoked.secret), "POST /v1/prints", 401, "unauthorized"),
        ("revoked by the API", bearer(&revoked_by_api), "POST /v1/scans", 401, "unauthorized"),
        ("scan-only prints", bearer(&scan_only.secret), "POST /v1/prints", 403, "insufficient_scope"),
        ("print-only scans", bearer(&print_only), "POST /v1/scans", 403, "insufficient_scope"),
        ("clerk lists tokens", bearer(&clerk.secret), "GET /v1/tokens", 403, "insufficient_scope"),
        ("clerk revokes a token", bearer(&clerk.secret), &revoke_clerk, 403, "insufficient_scope"),
        ("unpair without a token", None, "DELETE /v1/tokens/self", 401, "unauthorized"),
        ("unpair a made-up token", bearer("cat_garbage"), "DELETE /v1/tokens/self", 401, "unauthorized"),
    ];
    let scan = scan_body();
    for (case, authorization, request, status, code) in cases {
        let (method, path) = request.split_once(' ').expect("METHOD /path");
        let method: Method = method.parse().expect("method");
        let mut request = agent.request(method.clone(), path);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        if method == Method::POST {
            request = request.json(if path == "/v1/prints" { &print_body } else { &scan });
        }
        let response = request.send().await.expect("send");
        assert_eq!(error_code(response).await, (status, code.to_string()), "{case}");
    }
    assert_eq!(agent.side_effects().await, before, "a refused token changed something");

    // The clerk's token was not revoked by the clerk, and works.
    assert_eq!(agent.get("/v1/devices", &clerk.secret).send().await.expect("send").status(), 200);
    // The admin sees every token, the revoked ones marked, and never a secret.
    let list = agent.get("/v1/tokens", &admin).send().await.expect("send");
    assert_eq!(list.status(), 200);
    let list = list.text().await.expect("text");
    assert!(!list.contains("cat_"), "token list shows a secret: {list}");
    let list: serde_json::Value = serde_json::from_str(&list).expect("json");
    let revoked_at = |id: &str| {
        list["tokens"].as_array().expect("tokens").iter().find(|t| t["id"] == id).expect("listed")["revoked_at"].clone()
    };
    assert!(revoked_at(&revoked.info.id).is_string() && revoked_at(&revoked_by_api_id).is_string());
    assert!(revoked_at(&clerk.info.id).is_null());
    let unknown = agent.delete("/v1/tokens/no-such-token", &admin).send().await.expect("send");
    assert_eq!(error_code(unknown).await, (404, "not_found".into()));

    let lines = agent.audit_until(|l| l["reason"] == "insufficient_scope" && l["path"] == "/v1/prints").await;
    let scope_denial =
        lines.iter().find(|l| l["reason"] == "insufficient_scope" && l["path"] == "/v1/prints").expect("line");
    assert_eq!(scope_denial["token_id"], scan_only.info.id.as_str(), "the denial names the token (by id)");
    assert!(lines.iter().any(|l| l["reason"] == "unauthorized" && l["path"] == "/v1/devices"));
    let log = agent.audit_text();
    for secret in [&scan_only.secret, &print_only, &clerk.secret, &admin, &revoked.secret, &revoked_by_api] {
        assert!(!log.contains(secret.as_str()), "the audit log holds a token secret");
    }
    assert!(!log.contains("cat_"), "the audit log holds something token-shaped");
    agent.stop().await;
}

#[tokio::test]
async fn another_allowed_origin_sees_nothing_of_this_ones_work() {
    const OTHER_APP: &str = "https://hcc.example.gov.vn";
    let agent = TestAgent::start_with(|station, _| station.allowed_origins.push(OTHER_APP.to_string())).await;
    let token = agent.clerk_token();
    let other = agent
        .tokens
        .create(OTHER_APP, counter_agent::auth::Scopes::parse(["scan", "print"]).expect("scopes"), "o")
        .expect("token");
    let started = agent.post("/v1/scans", &token, &scan_body()).send().await.expect("send");
    let scan = started.json::<serde_json::Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    agent.wait_for(&format!("/v1/scans/{scan}"), &token, |s| s["state"] == "completed").await;
    let body = json!({"device": "a4", "idempotency_key": "shared-key", "pdf": b64(&tiny_pdf())});
    let job = agent
        .post("/v1/prints", &token, &body)
        .send()
        .await
        .expect("send")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    let job = job["id"].as_str().expect("id").to_string();
    agent.wait_for(&format!("/v1/prints/{job}"), &token, |j| j["state"] == "printed").await;
    agent.wait_for_empty_spool().await;
    let before = agent.side_effects().await;

    let as_other = |method: Method, path: &str| {
        TestAgent::client().request(method, agent.url(path)).header("Origin", OTHER_APP).bearer_auth(&other.secret)
    };
    let cases = [
        (Method::GET, format!("/v1/scans/{scan}")),
        (Method::GET, format!("/v1/scans/{scan}/pages/1")),
        (Method::GET, format!("/v1/scans/{scan}/document")),
        (Method::POST, format!("/v1/scans/{scan}/continue")),
        (Method::DELETE, format!("/v1/scans/{scan}")),
        (Method::GET, format!("/v1/prints/{job}")),
        (Method::DELETE, format!("/v1/prints/{job}")),
    ];
    for (method, path) in cases {
        let mut request = as_other(method.clone(), &path);
        if method == Method::POST {
            request = request.json(&json!({}));
        }
        let case = format!("{method} {path}");
        assert_eq!(error_code(request.send().await.expect("send")).await, (404, "not_found".into()), "{case}");
    }
    assert_eq!(agent.side_effects().await, before, "the other origin changed this one's work");
    // The same idempotency key from the other origin is its own job, not a view of this one's.
    let theirs = as_other(Method::POST, "/v1/prints").json(&body).send().await.expect("send");
    assert_eq!(theirs.status(), 202);
    let theirs = theirs.json::<serde_json::Value>().await.expect("json");
    assert_ne!(theirs["id"], job.as_str());
    // And this origin still has everything.
    assert_eq!(agent.get(&format!("/v1/scans/{scan}/pages/1"), &token).send().await.expect("send").status(), 200);
    assert_eq!(agent.get(&format!("/v1/prints/{job}"), &token).send().await.expect("send").status(), 200);
    agent.stop().await;
}
