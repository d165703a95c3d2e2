//! Scan routes: start, state, continue, discard, page images, the assembled PDF.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::devices::unknown_device;
use super::dto::{DocumentQuery, ScanDto, ScanList, ScanRequestDto};
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::extract::{ApiJson, Authed};
use super::AppState;
use crate::auth::Scope;
use crate::devices::DeviceError;
use crate::scan::{ScanError, StartScan};

fn scan_error(error: ScanError) -> ApiError {
    match error {
        ScanError::UnknownDevice(id) => unknown_device(&id),
        ScanError::NotAScanner { .. } => ApiError::bad_request(ErrorCode::WrongDeviceKind, error.to_string())
            .hint("scan with a device whose kind is scanner (GET /v1/devices)"),
        ScanError::InvalidRequest(message) => ApiError::bad_request(ErrorCode::InvalidRequest, message),
        ScanError::NotFound(_) => ApiError::not_found(error.to_string()).hint("the scan was deleted or has expired"),
        ScanError::PageNotFound(_) => ApiError::not_found(error.to_string()),
        ScanError::NotPaused { .. } => ApiError::new(StatusCode::CONFLICT, ErrorCode::ScanNotPaused, error.to_string()),
        ScanError::Busy { scan_id: Some(_), .. } => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::DeviceBusy, error.to_string())
                .hint("continue or delete that scan first (GET /v1/scans lists yours)")
        }
        ScanError::Busy { scan_id: None, .. } => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::DeviceBusy, error.to_string())
                .hint("another web app is scanning on this scanner; wait until it is done")
        }
        ScanError::StorageFull => ApiError::storage_full(),
        ScanError::Io(error) if error.kind() == std::io::ErrorKind::StorageFull => ApiError::storage_full(),
        ScanError::NoPages => ApiError::new(StatusCode::CONFLICT, ErrorCode::NoPages, error.to_string()),
        ScanError::TooLarge { size, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::DocumentTooLarge,
            format!("the document is {size} bytes, over the {limit}-byte limit"),
        )
        .hint("scan again at a lower dpi or in gray"),
        ScanError::Device(DeviceError::Busy { .. }) => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::DeviceBusy, "the scanner is busy")
        }
        ScanError::Device(error) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::DeviceUnavailable, error.to_string())
                .hint("check the scanner (GET /v1/devices shows its status)")
        }
        ScanError::Io(error) => ApiError::internal(&error),
    }
}

/// Starts a scan session (202; pages arrive on the event stream).
#[utoipa::path(post, path = "/v1/scans", security(("bearer" = [])), request_body = ScanRequestDto,
    responses((status = 202, body = ScanDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn start(
    State(app): State<AppState>,
    auth: Authed,
    ApiJson(request): ApiJson<ScanRequestDto>,
) -> Result<(StatusCode, Json<ScanDto>), ApiError> {
    auth.require(Scope::Scan)?;
    let view = app
        .inner
        .scans
        .start(
            &auth.origin,
            StartScan {
                device: request.device,
                source: request.source.into(),
                color: request.color.into(),
                dpi: request.dpi,
            },
        )
        .map_err(scan_error)?;
    Ok((StatusCode::ACCEPTED, Json(view.into())))
}

/// The calling origin's scan sessions, newest first.
#[utoipa::path(get, path = "/v1/scans", security(("bearer" = [])),
    responses((status = 200, body = ScanList), (status = 401, body = ErrorBody)))]
pub async fn list(State(app): State<AppState>, auth: Authed) -> Result<Json<ScanList>, ApiError> {
    auth.require(Scope::Scan)?;
    Ok(Json(ScanList { scans: app.inner.scans.list(&auth.origin).into_iter().map(ScanDto::from).collect() }))
}

/// A scan session's state and pages.
#[utoipa::path(get, path = "/v1/scans/{id}", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ScanDto), (status = 404, body = ErrorBody)))]
pub async fn get(State(app): State<AppState>, auth: Authed, Path(id): Path<String>) -> Result<Json<ScanDto>, ApiError> {
    auth.require(Scope::Scan)?;
    Ok(Json(app.inner.scans.get(&auth.origin, &id).map_err(scan_error)?.into()))
}

/// Continues a paused batch after the fault (jam, cover) was cleared.
#[utoipa::path(post, path = "/v1/scans/{id}/continue", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 202, body = ScanDto), (status = 409, body = ErrorBody)))]
pub async fn resume(
    State(app): State<AppState>,
    auth: Authed,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ScanDto>), ApiError> {
    auth.require(Scope::Scan)?;
    let view = app.inner.scans.resume(&auth.origin, &id).map_err(scan_error)?;
    Ok((StatusCode::ACCEPTED, Json(view.into())))
}

/// Cancels and deletes the scan with every page.
#[utoipa::path(delete, path = "/v1/scans/{id}", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(State(app): State<AppState>, auth: Authed, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    auth.require(Scope::Scan)?;
    app.inner.scans.delete(&auth.origin, &id).map_err(scan_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// One page as JPEG (1-based index).
#[utoipa::path(get, path = "/v1/scans/{id}/pages/{n}", security(("bearer" = [])),
    params(("id" = String, Path), ("n" = u32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn page(
    State(app): State<AppState>,
    auth: Authed,
    Path((id, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    auth.require(Scope::Scan)?;
    let n: u32 = n
        .parse()
        .map_err(|_| ApiError::bad_request(ErrorCode::InvalidRequest, "page number must be a positive integer"))?;
    let bytes = app.inner.scans.page(&auth.origin, &id, n).await.map_err(scan_error)?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    Ok(response)
}

/// The assembled PDF.
#[utoipa::path(get, path = "/v1/scans/{id}/document", security(("bearer" = [])),
    params(("id" = String, Path), ("max_bytes" = Option<usize>, Query)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn document(
    State(app): State<AppState>,
    auth: Authed,
    Path(id): Path<String>,
    query: Result<Query<DocumentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    auth.require(Scope::Scan)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(ErrorCode::InvalidRequest, e.body_text()))?;
    let pdf = app.inner.scans.document(&auth.origin, &id, query.max_bytes).await.map_err(scan_error)?;
    let mut response = pdf.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    Ok(response)
}
