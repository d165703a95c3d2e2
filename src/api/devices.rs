//! `GET /v1/devices`, `GET /v1/devices/{id}`.

use axum::extract::{Path, State};
use axum::Json;

use super::dto::{DeviceDto, DeviceList};
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::extract::Authed;
use super::AppState;

/// Configured devices with capabilities and live status.
#[utoipa::path(get, path = "/v1/devices", security(("bearer" = [])),
    responses((status = 200, body = DeviceList), (status = 401, body = ErrorBody)))]
pub async fn list(State(app): State<AppState>, _auth: Authed) -> Json<DeviceList> {
    Json(DeviceList { devices: app.inner.devices.iter().map(DeviceDto::from).collect() })
}

/// One device.
#[utoipa::path(get, path = "/v1/devices/{id}", security(("bearer" = [])),
    params(("id" = String, Path, description = "device id from the station file")),
    responses((status = 200, body = DeviceDto), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<AppState>,
    _auth: Authed,
    Path(id): Path<String>,
) -> Result<Json<DeviceDto>, ApiError> {
    let handle = app.inner.devices.get(&id).ok_or_else(|| unknown_device(&id))?;
    Ok(Json(DeviceDto::from(handle)))
}

pub fn unknown_device(id: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        ErrorCode::UnknownDevice,
        format!("no device `{id}` is configured"),
    )
    .hint("GET /v1/devices lists the configured device ids")
}
