//! The agent's own pages and the JS client, embedded in the binary.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};

pub const PAIR_TEMPLATE: &str = include_str!("../../web/pair.html");

/// Files under `/web/`, embedded: (name, content type, bytes).
const WEB_FILES: &[(&str, &str, &str)] = &[
    ("demo.html", "text/html; charset=utf-8", include_str!("../../web/demo.html")),
    ("counter-agent.js", "text/javascript; charset=utf-8", include_str!("../../web/counter-agent.js")),
    ("demo.js", "text/javascript; charset=utf-8", include_str!("../../web/demo.js")),
    ("demo.css", "text/css; charset=utf-8", include_str!("../../web/demo.css")),
];

fn no_frames(mut response: Response, csp: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    response
}

/// `/`: the demo page when the agent's own pages may use the API (demo mode), else the pairing page.
pub async fn index(axum::extract::State(app): axum::extract::State<super::AppState>) -> Redirect {
    Redirect::to(if app.inner.self_origin_allowed { "/demo" } else { "/pair" })
}

pub async fn demo() -> Redirect {
    Redirect::to("/web/demo.html")
}

const PAGE_CSP: &str =
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";

/// `GET /web/{file}`: only the embedded files; nothing is read from disk.
pub async fn web_file(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match WEB_FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => {
            let mut response = (*body).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            if content_type.starts_with("text/html") {
                response = no_frames(response, PAGE_CSP);
            }
            response
        }
        None => super::error::ApiError::not_found("no such file").into_response(),
    }
}
