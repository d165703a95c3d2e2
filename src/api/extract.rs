//! Extractors: the authenticated token, and JSON bodies whose rejections use our error format.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::{ApiError, ErrorCode};
use super::security::{AuditSlot, RequestOrigin};
use super::AppState;
use crate::auth::{AuthError, Scope, TokenInfo};

/// A request authenticated by a bearer token that belongs to the request's origin.
#[derive(Debug, Clone)]
pub struct Authed {
    pub token: TokenInfo,
    pub origin: String,
}

impl Authed {
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        self.token.require(scope).map_err(|_| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::InsufficientScope,
                format!("this token lacks the `{scope}` scope"),
            )
            .hint("pair again asking for that scope, or have a technician create a token with it")
        })
    }
}

pub fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
        .hint("pair the web app with this agent again")
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Authed, ApiError> {
        let origin = parts.extensions.get::<RequestOrigin>().map(|o| o.0.clone()).ok_or_else(|| {
            ApiError::new(StatusCode::FORBIDDEN, ErrorCode::OriginRequired, "requests must carry an allowed Origin")
        })?;
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| unauthorized("missing bearer token"))?;
        let token = app.inner.tokens.verify(secret, &origin).map_err(|error| match error {
            AuthError::WrongOrigin => unauthorized("this token belongs to another origin"),
            AuthError::Store(e) => ApiError::internal(&e),
            _ => unauthorized("unknown or revoked token"),
        })?;
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.id.clone());
        }
        Ok(Authed { token, origin })
    }
}

/// The request's accepted origin (for unauthenticated routes such as pairing).
pub struct Origin(pub String);

impl FromRequestParts<AppState> for Origin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Origin, ApiError> {
        parts.extensions.get::<RequestOrigin>().map(|o| Origin(o.0.clone())).ok_or_else(|| {
            ApiError::new(StatusCode::FORBIDDEN, ErrorCode::OriginRequired, "requests must carry an allowed Origin")
        })
    }
}

/// `axum::Json` with rejections in the API's error format.
pub struct ApiJson<T>(pub T);

/// Keeps serde's message short (it can quote input).
fn short(text: String) -> String {
    if text.chars().count() > 200 {
        text.chars().take(200).collect::<String>() + "…"
    } else {
        text
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<ApiJson<T>, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::JsonDataError(e) => {
                    ApiError::bad_request(ErrorCode::InvalidRequest, short(e.body_text()))
                        .hint("check field names and types against /v1/openapi.json")
                }
                JsonRejection::JsonSyntaxError(e) => {
                    ApiError::bad_request(ErrorCode::InvalidJson, short(e.body_text()))
                }
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ErrorCode::UnsupportedMediaType,
                    "send the body as application/json",
                ),
                JsonRejection::BytesRejection(e) => {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        body_too_large()
                    } else {
                        ApiError::bad_request(ErrorCode::InvalidRequest, "cannot read the request body")
                    }
                }
                other => ApiError::bad_request(ErrorCode::InvalidRequest, short(other.body_text())),
            }),
        }
    }
}

pub fn body_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge, "the request body is too large")
        .hint("documents are limited to 32 MiB; other requests to 64 KiB")
}
