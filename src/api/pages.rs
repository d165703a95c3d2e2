//! The agent's own pages and the JS client, embedded in the binary.

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Redirect, Response};

pub const PAIR_TEMPLATE: &str = include_str!("../../web/pair.html");
const DEMO_HTML: &str = include_str!("../../web/demo.html");
const CLIENT_JS: &str = include_str!("../../web/counter-agent.js");

fn no_frames(mut response: Response, csp: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    response
}

pub async fn index() -> Redirect {
    Redirect::to("/demo")
}

pub async fn demo() -> Response {
    no_frames(
        Html(DEMO_HTML).into_response(),
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    )
}

pub async fn client_js() -> Response {
    let mut response = CLIENT_JS.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    response
}
