//! Token administration (admin scope): list and revoke.

use axum::extract::{Path, State};
use axum::Json;

use super::dto::{iso_time, TokenDto, TokenList};
use super::error::{ApiError, ErrorBody};
use super::extract::Authed;
use super::AppState;
use crate::auth::Scope;

/// Every token (never the secrets).
#[utoipa::path(get, path = "/v1/tokens", security(("bearer" = [])),
    responses((status = 200, body = TokenList), (status = 403, body = ErrorBody)))]
pub async fn list(State(app): State<AppState>, auth: Authed) -> Result<Json<TokenList>, ApiError> {
    auth.require(Scope::Admin)?;
    let tokens = app.inner.tokens.list().map_err(|e| ApiError::internal(&e))?;
    Ok(Json(TokenList {
        tokens: tokens
            .into_iter()
            .map(|t| TokenDto {
                id: t.id,
                origin: t.origin,
                scopes: t.scopes.names(),
                label: t.label,
                created_at: iso_time(t.created_ms),
                revoked_at: t.revoked_ms.map(iso_time),
            })
            .collect(),
    }))
}

/// Revokes a token at once (its WebSocket tickets stop working too).
#[utoipa::path(delete, path = "/v1/tokens/{id}", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(app): State<AppState>,
    auth: Authed,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    auth.require(Scope::Admin)?;
    if app.inner.tokens.revoke(&id).map_err(|e| ApiError::internal(&e))? {
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no token `{id}`")))
    }
}

/// Revokes the calling token itself ("unpair" in the web app). Needs no scope.
#[utoipa::path(delete, path = "/v1/tokens/self", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn revoke_self(State(app): State<AppState>, auth: Authed) -> Result<axum::http::StatusCode, ApiError> {
    app.inner.tokens.revoke(&auth.token.id).map_err(|e| ApiError::internal(&e))?;
    tracing::info!(message = "A web app unpaired itself.", token = %auth.token.id);
    Ok(axum::http::StatusCode::NO_CONTENT)
}
