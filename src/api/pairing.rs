//! `POST /v1/pairing/start`, `POST /v1/pairing/complete`, and the agent's own `/pair` page that
//! shows the codes.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

use super::dto::{PairingCompleteRequest, PairingStartRequest, PairingStartResponse, TokenResponse};
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::extract::{ApiJson, Origin};
use super::AppState;
use crate::auth::{PairingError, Scope, Scopes};

const DEFAULT_SCOPES: [Scope; 3] = [Scope::Scan, Scope::Print, Scope::QueueCall];

fn pairing_error(error: PairingError) -> ApiError {
    match error {
        PairingError::LockedOut { retry_after } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::PairingLocked,
            format!("too many wrong codes; pairing is locked for {} more seconds", retry_after.as_secs().max(1)),
        )
        .hint("wait, then start pairing again and type the code shown on the counter PC"),
        PairingError::WrongCode { remaining } => ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::PairingFailed,
            format!("wrong or expired code; {remaining} attempts left before a 5-minute lockout"),
        )
        .hint("read the code on the agent's pairing page on this PC"),
        PairingError::AlreadyCompleted => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::PairingFailed, "this pairing request was already completed")
                .hint("the token was returned by the first call; if it was lost, start pairing again")
        }
    }
}

/// Asks for a token; the agent shows a one-time code on its own pairing page.
#[utoipa::path(post, path = "/v1/pairing/start", request_body = PairingStartRequest,
    responses((status = 200, body = PairingStartResponse), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn start(
    State(app): State<AppState>,
    Origin(origin): Origin,
    ApiJson(request): ApiJson<PairingStartRequest>,
) -> Result<Json<PairingStartResponse>, ApiError> {
    let scopes = match &request.scopes {
        None => Scopes::new(DEFAULT_SCOPES.to_vec()),
        Some(names) => Scopes::parse(names.iter().map(String::as_str))
            .map_err(|e| ApiError::bad_request(ErrorCode::UnknownScope, e.to_string()))?,
    };
    if scopes.contains(Scope::Admin) {
        return Err(ApiError::bad_request(ErrorCode::InvalidRequest, "the admin scope cannot be paired")
            .hint("a technician creates admin tokens with `counter-agent token create`"));
    }
    if scopes.is_empty() {
        return Err(ApiError::bad_request(ErrorCode::InvalidRequest, "ask for at least one scope"));
    }
    let label = crate::auth::clean_label(&request.label.unwrap_or_default());
    let started = app.inner.pairings.start(&origin, &label, scopes).map_err(pairing_error)?;
    Ok(Json(PairingStartResponse {
        pairing_id: started.id,
        code_length: started.code_length,
        expires_in_s: started.expires_in.as_secs(),
        pair_page: format!("{}/pair", app.inner.self_origin),
    }))
}

/// Exchanges the code for a token bound to the calling origin.
#[utoipa::path(post, path = "/v1/pairing/complete", request_body = PairingCompleteRequest,
    responses((status = 200, body = TokenResponse), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn complete(
    State(app): State<AppState>,
    Origin(origin): Origin,
    ApiJson(request): ApiJson<PairingCompleteRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let (label, scopes) =
        app.inner.pairings.complete(&origin, &request.pairing_id, &request.code).map_err(pairing_error)?;
    let label = if label.is_empty() { "paired web app".to_string() } else { label };
    let new = app.inner.tokens.create(&origin, scopes, &label).map_err(|e| ApiError::internal(&e))?;
    tracing::info!(message = "Paired a web app.", origin = %origin, token = %new.info.id);
    Ok(Json(TokenResponse {
        token: new.secret,
        token_id: new.info.id,
        origin: new.info.origin,
        scopes: new.info.scopes.names(),
    }))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The pairing page: shown only on the counter PC (Host allow-list), never in a frame.
pub async fn page(State(app): State<AppState>) -> Response {
    let pending = app.inner.pairings.pending();
    let mut rows = String::new();
    for (n, p) in pending.iter().enumerate() {
        let code: String = p
            .code
            .chars()
            .collect::<Vec<_>>()
            .chunks(3)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ");
        rows.push_str(&format!(
            "<li class=\"request\">{}<div class=\"origin\">{}</div><div class=\"label\">{}</div><div class=\"scopes\">Quyền: {}</div><div class=\"code\" data-code=\"{}\">{}</div><div class=\"expires\">Hết hạn sau {} giây</div></li>",
            // Several requests from one app: the clerk wants the code just asked for.
            if n == 0 && pending.len() > 1 { "<div class=\"newest\">Yêu cầu mới nhất</div>" } else { "" },
            escape(&p.origin),
            escape(&p.label),
            escape(&p.scopes.iter().map(|s| s.label_vi()).collect::<Vec<_>>().join(", ")),
            escape(&p.code),
            escape(&code),
            p.expires_in.as_secs()
        ));
    }
    let body = if pending.is_empty() {
        "<p class=\"empty\">Chưa có yêu cầu ghép nối nào. Trang này tự làm mới.</p>".to_string()
    } else {
        format!("<ul>{rows}</ul>")
    };
    let html = super::pages::PAIR_TEMPLATE
        .replace("{{REQUESTS}}", &body)
        .replace("{{STATION}}", &escape(&app.inner.station_name));
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'",
        ),
    );
    headers.insert(header::REFRESH, HeaderValue::from_static("3"));
    response
}
