//! The HTTP + WebSocket API: routes, wire DTOs, the security middleware, OpenAPI.
//!
//! Only this module speaks HTTP and JSON. It turns requests into calls on the services
//! (`scan`, `print`, `auth`, `devices`) and their results into DTOs and error codes.

pub mod devices;
pub mod dto;
pub mod error;
pub mod events;
pub mod extract;
pub mod openapi;
pub mod pages;
pub mod pairing;
pub mod prints;
pub mod ratelimit;
pub mod scans;
pub mod security;
pub mod tokens;

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Audit, Pairings, Tickets, Tokens};
use crate::devices::Devices;
use crate::events::EventBus;
use crate::print::PrintService;
use crate::scan::ScanService;
use error::{ApiError, ErrorCode};
use ratelimit::RateLimiter;

/// Body limit for every route but print submission.
pub const MAX_BODY: usize = 64 * 1024;
/// Body limit for print submission: a 32 MiB document, base64-encoded in JSON.
pub const MAX_PRINT_BODY: usize = 48 * 1024 * 1024;

/// Shared state of the API: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<AppInner>,
}

pub struct AppInner {
    pub station_name: String,
    pub allowed_origins: HashSet<String>,
    pub allowed_hosts: HashSet<String>,
    /// `http://127.0.0.1:PORT`.
    pub self_origin: String,
    /// Whether the agent's own pages may call the API (demo mode, or listed in allowed_origins).
    pub self_origin_allowed: bool,
    /// The agent's own origins (`http://<bound address>`, `http://localhost:PORT`): its pages
    /// may load their own files whatever `self_origin_allowed` says.
    pub own_origins: HashSet<String>,
    pub tokens: Tokens,
    pub pairings: Pairings,
    pub tickets: Tickets,
    pub audit: Audit,
    pub devices: Devices,
    pub events: EventBus,
    pub scans: ScanService,
    pub prints: PrintService,
    pub limiter: RateLimiter,
    pub deny_audit_limiter: RateLimiter,
    pub max_print_body: usize,
    /// The simulators' fault injection, on the demo station only.
    pub demo_sim: Option<counter_agent_driver_sim::SimControl>,
}

impl AppState {
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.inner.allowed_origins.contains(origin)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the agent answers.
    pub status: &'static str,
}

pub mod health {
    use super::*;

    /// Liveness. No token needed; reveals nothing else.
    #[utoipa::path(get, path = "/v1/health", responses((status = 200, body = Health)))]
    pub async fn health() -> Json<Health> {
        Json(Health { status: "ok" })
    }
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi::document())
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route").hint("see /v1/openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed, "method not allowed on this route")
}

pub fn router(app: AppState) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/demo", get(pages::demo))
        .route("/pair", get(pairing::page))
        .route("/web/{file}", get(pages::web_file))
        .route("/v1/health", get(health::health))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/v1/devices", get(devices::list))
        .route("/v1/devices/{id}", get(devices::get))
        .route("/v1/events", get(events::stream))
        .route("/v1/events/ticket", post(events::ticket))
        .route("/v1/pairing/start", post(pairing::start))
        .route("/v1/pairing/complete", post(pairing::complete))
        .route("/v1/scans", post(scans::start).get(scans::list))
        .route("/v1/scans/{id}", get(scans::get).delete(scans::delete))
        .route("/v1/scans/{id}/continue", post(scans::resume))
        .route("/v1/scans/{id}/pages/order", post(scans::reorder))
        .route("/v1/scans/{id}/pages/{n}", get(scans::page).delete(scans::delete_page))
        .route("/v1/scans/{id}/pages/{n}/thumbnail", get(scans::thumbnail))
        .route("/v1/scans/{id}/pages/{n}/rotate", post(scans::rotate))
        .route("/v1/scans/{id}/document", get(scans::document))
        .route("/v1/prints", post(prints::submit).layer(DefaultBodyLimit::max(MAX_PRINT_BODY)))
        .route("/v1/prints/preview", post(prints::preview).layer(DefaultBodyLimit::max(MAX_PRINT_BODY)))
        .route("/v1/prints/{id}", get(prints::get).delete(prints::cancel))
        .route("/v1/demo/devices/{id}/fault", post(prints::demo_fault))
        .route("/v1/tokens", get(tokens::list))
        .route("/v1/tokens/self", axum::routing::delete(tokens::revoke_self))
        .route("/v1/tokens/{id}", axum::routing::delete(tokens::revoke))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(app.clone(), security::guard))
        .with_state(app)
}
