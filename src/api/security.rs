//! The security middleware in front of every route (DESIGN §6):
//!
//! 1. exact `Host` allow-list (defeats DNS rebinding);
//! 2. exact `Origin` allow-list — a missing Origin is refused on the API except for `/v1/health`
//!    and same-origin fetches from the agent's own pages (`Sec-Fetch-Site: same-origin`, a header a
//!    web page cannot forge), and only when the agent's own origin is allowed;
//! 3. CORS preflight answered only for allowed origins (never `*`), with
//!    `Access-Control-Allow-Private-Network: true` when asked;
//! 4. rate limits per origin;
//! 5. writes must carry `application/json` (or `application/pdf` where a route takes raw PDF), so
//!    every cross-site write needs a preflight;
//! 6. `nosniff`, `no-store` and friends on every response;
//! 7. one audit record per API decision.
//!
//! The bearer token itself is checked by the `Authed` extractor in the handlers.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorCode};
use super::ratelimit::Class;
use super::AppState;
use crate::auth::{AuditRecord, Decision};
use crate::store::now_ms;

/// The origin a request is acting for, once the middleware has accepted it.
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub String);

/// Filled by the token extractor so the audit record can name the token (never its secret).
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(pub Arc<Mutex<Option<String>>>);

const SEC_FETCH_SITE: header::HeaderName = header::HeaderName::from_static("sec-fetch-site");
const SEC_FETCH_MODE: header::HeaderName = header::HeaderName::from_static("sec-fetch-mode");

pub const ALLOWED_HEADERS: &str = "authorization, content-type";
/// The JS client: the one page-side file other (allowed) origins may fetch with CORS.
pub const PUBLIC_SCRIPT: &str = "/web/counter-agent.js";
pub const ALLOWED_METHODS: &str = "GET, POST, DELETE";

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Routes that accept a raw `application/pdf` body.
fn accepts_pdf(path: &str) -> bool {
    path == "/v1/prints"
}

fn content_type_ok(headers: &HeaderMap, path: &str) -> bool {
    let Some(value) = header_str(headers, header::CONTENT_TYPE) else { return false };
    let Ok(mime) = value.parse::<mime::Mime>() else { return false };
    let charset_ok = mime.get_param(mime::CHARSET).is_none_or(|c| c == mime::UTF_8);
    match (mime.type_(), mime.subtype()) {
        (mime::APPLICATION, mime::JSON) => charset_ok && mime.suffix().is_none(),
        (mime::APPLICATION, mime::PDF) => accepts_pdf(path),
        _ => false,
    }
}

fn apply_common_headers(headers: &mut HeaderMap) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-site"));
}

fn apply_cors(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after"));
    }
}

pub async fn guard(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let is_api = path.starts_with("/v1/");
    let headers = request.headers();
    let origin_header = header_str(headers, header::ORIGIN).map(str::to_string);
    let audit = |decision: Decision, reason: &str, origin: Option<&str>, token_id: Option<String>| {
        if is_api {
            app.inner.audit.record(AuditRecord {
                at_ms: now_ms(),
                decision,
                reason: reason.to_string(),
                method: method.to_string(),
                path: path.clone(),
                origin: origin.map(str::to_string),
                token_id,
            });
        }
    };
    let deny = |error: ApiError, origin: Option<&str>| {
        if is_api && app.inner.deny_audit_limiter.allow(origin.unwrap_or("-"), Class::Read) {
            audit(Decision::Deny, error.code.as_str(), origin, None);
        }
        let mut response = error.into_response();
        apply_common_headers(response.headers_mut());
        response
    };

    // 1. Host: exactly one, allowed, and no other authority in an absolute-form request target.
    let single = |name: header::HeaderName| headers.get_all(name).iter().count() <= 1;
    let target_ok = request.uri().authority().is_none_or(|a| app.inner.allowed_hosts.contains(a.as_str()));
    let host_ok = single(header::HOST)
        && target_ok
        && header_str(headers, header::HOST).is_some_and(|host| app.inner.allowed_hosts.contains(host));
    if !host_ok {
        return deny(
            ApiError::new(StatusCode::FORBIDDEN, ErrorCode::HostNotAllowed, "this Host is not served")
                .hint("open the agent at http://127.0.0.1:PORT"),
            origin_header.as_deref(),
        );
    }

    // 2. Origin (exactly one).
    if !single(header::ORIGIN) {
        return deny(
            ApiError::new(StatusCode::FORBIDDEN, ErrorCode::OriginNotAllowed, "more than one Origin header"),
            origin_header.as_deref(),
        );
    }
    let same_origin_fetch = header_str(headers, SEC_FETCH_SITE) == Some("same-origin");
    let origin = match origin_header.as_deref() {
        Some(origin) => {
            // The agent's own pages load their module scripts with an Origin header; that is
            // fine for pages even when the own origin may not call the API (not demo mode).
            let own_page = !is_api && app.inner.own_origins.contains(origin);
            if !own_page && !app.origin_allowed(origin) {
                return deny(
                    ApiError::new(
                        StatusCode::FORBIDDEN,
                        ErrorCode::OriginNotAllowed,
                        format!("origin {origin} is not allowed"),
                    )
                    .hint("a technician adds the web app's exact origin to [server] allowed_origins in station.toml"),
                    Some(origin),
                );
            }
            Some(origin.to_string())
        }
        None if same_origin_fetch && app.inner.self_origin_allowed => Some(app.inner.self_origin.clone()),
        None => None,
    };
    if is_api && origin.is_none() && path != "/v1/health" {
        return deny(
            ApiError::new(StatusCode::FORBIDDEN, ErrorCode::OriginRequired, "requests must carry an allowed Origin")
                .hint("call the agent from the paired web app, or send an Origin header"),
            None,
        );
    }

    // The agent's own pages are never for other sites: no CORS on them, and a cross-site fetch
    // (anything but a top-level navigation, e.g. the web app opening /pair in a new tab) is
    // refused, so the pairing code cannot be read or probed by the page that asks for it.
    // The one exception is the JS client, which allowed web apps may import from the agent so
    // that client and agent always match; it holds no secret.
    let public_script = path == PUBLIC_SCRIPT;
    if !is_api && !public_script {
        let site = header_str(request.headers(), SEC_FETCH_SITE);
        let mode = header_str(request.headers(), SEC_FETCH_MODE);
        let cross_site = matches!(site, Some("cross-site" | "same-site"));
        if method == Method::OPTIONS || (cross_site && mode != Some("navigate")) {
            return deny(
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::OriginNotAllowed,
                    "the agent's pages are not for other sites",
                ),
                origin.as_deref(),
            );
        }
    }

    // 3. Preflight (API only; pages were handled above).
    if method == Method::OPTIONS {
        let Some(origin) = origin else {
            return deny(
                ApiError::new(StatusCode::FORBIDDEN, ErrorCode::OriginRequired, "preflight without Origin"),
                None,
            );
        };
        let mut response = StatusCode::NO_CONTENT.into_response();
        let out = response.headers_mut();
        apply_cors(out, &origin);
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOWED_METHODS));
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
        out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        if request.headers().get("access-control-request-private-network").is_some_and(|v| v == "true") {
            out.insert("access-control-allow-private-network", HeaderValue::from_static("true"));
        }
        apply_common_headers(out);
        return response;
    }

    // 4. Rate limit.
    let class = if matches!(method, Method::GET | Method::HEAD) { Class::Read } else { Class::Write };
    if is_api && !app.inner.limiter.allow(origin.as_deref().unwrap_or("-"), class) {
        let mut response = deny(
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, "too many requests")
                .hint("slow down and retry in a second"),
            origin.as_deref(),
        );
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        if let Some(origin) = &origin {
            apply_cors(response.headers_mut(), origin);
        }
        return response;
    }

    // 5. Content type on writes.
    if is_api
        && matches!(method, Method::POST | Method::PUT | Method::PATCH)
        && !content_type_ok(request.headers(), &path)
    {
        let mut response = deny(
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "send the body as application/json",
            )
            .hint(if accepts_pdf(&path) {
                "or as application/pdf"
            } else {
                "form and text/plain bodies are refused"
            }),
            origin.as_deref(),
        );
        if let Some(origin) = &origin {
            apply_cors(response.headers_mut(), origin);
        }
        return response;
    }

    let slot = AuditSlot::default();
    request.extensions_mut().insert(slot.clone());
    if let Some(origin) = &origin {
        request.extensions_mut().insert(RequestOrigin(origin.clone()));
    }
    let mut response = next.run(request).await;
    let out = response.headers_mut();
    apply_common_headers(out);
    if let (true, Some(origin)) = (is_api || public_script, &origin) {
        apply_cors(out, origin);
    }
    let token_id = slot.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    match response.extensions().get::<ErrorCode>() {
        Some(code) => {
            if app.inner.deny_audit_limiter.allow(origin.as_deref().unwrap_or("-"), Class::Read) {
                audit(Decision::Deny, code.as_str(), origin.as_deref(), token_id)
            }
        }
        None => audit(Decision::Allow, "ok", origin.as_deref(), token_id),
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(content_type: Option<&str>, path: &str, expected: bool) {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).expect("header"));
        }
        assert_eq!(content_type_ok(&headers, path), expected, "{content_type:?} on {path}");
    }

    #[test]
    fn content_types_are_parsed_not_substring_matched() {
        check(Some("application/json"), "/v1/scans", true);
        check(Some("application/json; charset=utf-8"), "/v1/scans", true);
        check(Some("Application/JSON"), "/v1/scans", true);
        check(Some("application/json; charset=latin1"), "/v1/scans", false);
        check(Some("text/plain"), "/v1/scans", false);
        check(Some("text/plain; x=application/json"), "/v1/scans", false);
        check(Some("application/x-www-form-urlencoded"), "/v1/scans", false);
        check(Some("multipart/form-data; boundary=x"), "/v1/scans", false);
        check(Some("application/jsonx"), "/v1/scans", false);
        check(Some("application/ld+json"), "/v1/scans", false);
        check(None, "/v1/scans", false);
        check(Some("application/pdf"), "/v1/prints", true);
        check(Some("application/pdf"), "/v1/scans", false);
    }
}
