//! Scan routes: start, state, continue, discard, page images and thumbnails, page edits (order,
//! rotation, delete), the assembled PDF.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::devices::unknown_device;
use super::dto::{DocumentQuery, PageDto, PageOrderDto, PageQuery, RotateDto, ScanDto, ScanList, ScanRequestDto};
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::extract::{ApiJson, Authed};
use super::AppState;
use crate::auth::Scope;
use crate::devices::DeviceError;
use crate::scan::pipeline::ViewFormat;
use crate::scan::{ScanError, StartScan};

fn scan_error(error: ScanError) -> ApiError {
    match error {
        ScanError::UnknownDevice(id) => unknown_device(&id),
        ScanError::NotAScanner { .. } => ApiError::bad_request(ErrorCode::WrongDeviceKind, error.to_string())
            .hint("scan with a device whose kind is scanner (GET /v1/devices)"),
        ScanError::InvalidRequest(message) => ApiError::bad_request(ErrorCode::InvalidRequest, message),
        ScanError::NotFound(_) => ApiError::not_found(error.to_string()).hint("the scan was deleted or has expired"),
        ScanError::PageNotFound { count, .. } => {
            ApiError::new(StatusCode::NOT_FOUND, ErrorCode::PageNotFound, error.to_string())
                .hint(format!("pages are numbered 1 to {count}; GET /v1/scans/{{id}} lists them"))
        }
        ScanError::InvalidOrder(_) => ApiError::bad_request(ErrorCode::InvalidPageOrder, error.to_string())
            .hint("GET /v1/scans/{id} for the current pages; nothing was changed"),
        ScanError::InvalidRotation(_) => ApiError::bad_request(ErrorCode::InvalidRotation, error.to_string()),
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
        ScanError::InProgress(_) => ApiError::new(StatusCode::CONFLICT, ErrorCode::ScanInProgress, error.to_string())
            .hint("wait for the scan to finish or pause (the `scan.state` event says when); then get the document, continue or delete it"),
        ScanError::TooLarge { smallest, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::DocumentTooLarge,
            format!("cannot fit the document in {limit} bytes: the smallest reached is {smallest} bytes"),
        )
        .hint(format!("allow at least {smallest} bytes, or delete pages and try again")),
        ScanError::Render(ref source) => {
            tracing::error!(message = "Cannot render a stored page.", error = %source);
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, error.to_string())
                .hint("see the agent's log on the counter PC")
        }
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
                deskew: request.deskew,
                crop_id_card: request.crop_id_card,
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

fn page_number(n: &str) -> Result<u32, ApiError> {
    n.parse().map_err(|_| ApiError::bad_request(ErrorCode::InvalidRequest, "page number must be a positive integer"))
}

fn image_response(bytes: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = bytes.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// One page (1-based index) with its rotation applied, as JPEG (default) or PNG. A JPEG-stored page
/// without rotation comes back byte for byte as stored (its SHA-256 is the page's `sha256`).
#[utoipa::path(get, path = "/v1/scans/{id}/pages/{n}", security(("bearer" = [])),
    params(("id" = String, Path), ("n" = u32, Path), ("format" = Option<String>, Query, description = "`jpeg` (default) or `png`")),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 200, content_type = "image/png", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn page(
    State(app): State<AppState>,
    auth: Authed,
    Path((id, n)): Path<(String, String)>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    auth.require(Scope::Scan)?;
    let n = page_number(&n)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(ErrorCode::InvalidRequest, e.body_text()))?;
    let format = match query.format.as_deref() {
        None | Some("jpeg") | Some("jpg") => ViewFormat::Jpeg,
        Some("png") => ViewFormat::Png,
        Some(other) => {
            let shown: String = other.chars().take(20).collect();
            return Err(ApiError::bad_request(
                ErrorCode::UnsupportedFormat,
                format!("no page format `{shown}`: use jpeg or png"),
            ));
        }
    };
    let bytes = app.inner.scans.page(&auth.origin, &id, n, format).await.map_err(scan_error)?;
    Ok(image_response(bytes, format.content_type()))
}

/// A small JPEG of one page (longer side 256 px), with its rotation applied.
#[utoipa::path(get, path = "/v1/scans/{id}/pages/{n}/thumbnail", security(("bearer" = [])),
    params(("id" = String, Path), ("n" = u32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn thumbnail(
    State(app): State<AppState>,
    auth: Authed,
    Path((id, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    auth.require(Scope::Scan)?;
    let n = page_number(&n)?;
    let bytes = app.inner.scans.thumbnail(&auth.origin, &id, n).await.map_err(scan_error)?;
    Ok(image_response(bytes.as_ref().clone(), "image/jpeg"))
}

/// Deletes one page and its file; later pages move up one index.
#[utoipa::path(delete, path = "/v1/scans/{id}/pages/{n}", security(("bearer" = [])),
    params(("id" = String, Path), ("n" = u32, Path)),
    responses((status = 200, body = ScanDto), (status = 404, body = ErrorBody)))]
pub async fn delete_page(
    State(app): State<AppState>,
    auth: Authed,
    Path((id, n)): Path<(String, String)>,
) -> Result<Json<ScanDto>, ApiError> {
    auth.require(Scope::Scan)?;
    let n = page_number(&n)?;
    Ok(Json(app.inner.scans.delete_page(&auth.origin, &id, n).await.map_err(scan_error)?.into()))
}

/// Turns one page clockwise by 90, 180 or 270 degrees (no re-encoding: views and the PDF apply it).
#[utoipa::path(post, path = "/v1/scans/{id}/pages/{n}/rotate", security(("bearer" = [])),
    params(("id" = String, Path), ("n" = u32, Path)), request_body = RotateDto,
    responses((status = 200, body = PageDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate(
    State(app): State<AppState>,
    auth: Authed,
    Path((id, n)): Path<(String, String)>,
    ApiJson(request): ApiJson<RotateDto>,
) -> Result<Json<PageDto>, ApiError> {
    auth.require(Scope::Scan)?;
    let n = page_number(&n)?;
    let page = app.inner.scans.rotate(&auth.origin, &id, n, request.degrees).map_err(scan_error)?;
    Ok(Json(PageDto::new(&id, &page)))
}

/// Puts the pages in a new order (every current index once); pages scanned later are appended.
#[utoipa::path(post, path = "/v1/scans/{id}/pages/order", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = PageOrderDto,
    responses((status = 200, body = ScanDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reorder(
    State(app): State<AppState>,
    auth: Authed,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<PageOrderDto>,
) -> Result<Json<ScanDto>, ApiError> {
    auth.require(Scope::Scan)?;
    Ok(Json(app.inner.scans.reorder(&auth.origin, &id, &request.order).map_err(scan_error)?.into()))
}

/// The assembled PDF (built one at a time; re-encoded smaller when `max_bytes` asks for it). Refused
/// with 409 `scan_in_progress` while the batch is scanning; paused, completed and failed scans give
/// the pages kept so far.
#[utoipa::path(get, path = "/v1/scans/{id}/document", security(("bearer" = [])),
    params(("id" = String, Path), ("max_bytes" = Option<usize>, Query, description = "fit the PDF under this many bytes")),
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
