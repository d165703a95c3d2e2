//! The API's error type: a stable snake_case code, a message, a hint, and the HTTP status.
//! Every code is listed in [`ErrorCode`], which the OpenAPI document publishes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Every error code the API returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    HostNotAllowed,
    OriginNotAllowed,
    OriginRequired,
    UnsupportedMediaType,
    BodyTooLarge,
    InvalidJson,
    InvalidRequest,
    InvalidBase64,
    InvalidDocument,
    Unauthorized,
    InsufficientScope,
    UnknownScope,
    RateLimited,
    PairingLocked,
    PairingFailed,
    TicketInvalid,
    NotFound,
    UnknownDevice,
    WrongDeviceKind,
    UnsupportedFormat,
    DeviceBusy,
    DeviceUnavailable,
    ScanNotPaused,
    ScanInProgress,
    NoPages,
    PageNotFound,
    InvalidPageOrder,
    InvalidRotation,
    DocumentTooLarge,
    IdempotencyConflict,
    UnknownTemplate,
    InvalidTemplateData,
    JobNotCancellable,
    MethodNotAllowed,
    StorageFull,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 36] = [
        ErrorCode::HostNotAllowed,
        ErrorCode::OriginNotAllowed,
        ErrorCode::OriginRequired,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::BodyTooLarge,
        ErrorCode::InvalidJson,
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidBase64,
        ErrorCode::InvalidDocument,
        ErrorCode::Unauthorized,
        ErrorCode::InsufficientScope,
        ErrorCode::UnknownScope,
        ErrorCode::RateLimited,
        ErrorCode::PairingLocked,
        ErrorCode::PairingFailed,
        ErrorCode::TicketInvalid,
        ErrorCode::NotFound,
        ErrorCode::UnknownDevice,
        ErrorCode::WrongDeviceKind,
        ErrorCode::UnsupportedFormat,
        ErrorCode::DeviceBusy,
        ErrorCode::DeviceUnavailable,
        ErrorCode::ScanNotPaused,
        ErrorCode::ScanInProgress,
        ErrorCode::NoPages,
        ErrorCode::PageNotFound,
        ErrorCode::InvalidPageOrder,
        ErrorCode::InvalidRotation,
        ErrorCode::DocumentTooLarge,
        ErrorCode::IdempotencyConflict,
        ErrorCode::UnknownTemplate,
        ErrorCode::InvalidTemplateData,
        ErrorCode::JobNotCancellable,
        ErrorCode::MethodNotAllowed,
        ErrorCode::StorageFull,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        // Same names as the serde ones (a test checks they agree).
        match self {
            ErrorCode::HostNotAllowed => "host_not_allowed",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::OriginRequired => "origin_required",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidBase64 => "invalid_base64",
            ErrorCode::InvalidDocument => "invalid_document",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::UnknownScope => "unknown_scope",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PairingLocked => "pairing_locked",
            ErrorCode::PairingFailed => "pairing_failed",
            ErrorCode::TicketInvalid => "ticket_invalid",
            ErrorCode::NotFound => "not_found",
            ErrorCode::UnknownDevice => "unknown_device",
            ErrorCode::WrongDeviceKind => "wrong_device_kind",
            ErrorCode::UnsupportedFormat => "unsupported_format",
            ErrorCode::DeviceBusy => "device_busy",
            ErrorCode::DeviceUnavailable => "device_unavailable",
            ErrorCode::ScanNotPaused => "scan_not_paused",
            ErrorCode::ScanInProgress => "scan_in_progress",
            ErrorCode::NoPages => "no_pages",
            ErrorCode::PageNotFound => "page_not_found",
            ErrorCode::InvalidPageOrder => "invalid_page_order",
            ErrorCode::InvalidRotation => "invalid_rotation",
            ErrorCode::DocumentTooLarge => "document_too_large",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::UnknownTemplate => "unknown_template",
            ErrorCode::InvalidTemplateData => "invalid_template_data",
            ErrorCode::JobNotCancellable => "job_not_cancellable",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::StorageFull => "storage_full",
            ErrorCode::Internal => "internal",
        }
    }
}

/// `{"error": {"code", "message", "hint"}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub hint: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), hint: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = Some(hint.into());
        self
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    pub fn storage_full() -> ApiError {
        ApiError::new(StatusCode::INSUFFICIENT_STORAGE, ErrorCode::StorageFull, "the counter PC's disk is full")
            .hint("a technician frees disk space on the counter PC; nothing was kept from this request")
    }

    pub fn internal(error: &dyn std::error::Error) -> ApiError {
        tracing::error!(message = "Internal error.", %error, source = ?error.source());
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal error")
            .hint("see the agent's log on the counter PC")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code;
        let body = ErrorBody { error: ErrorDetail { code, message: self.message, hint: self.hint } };
        let mut response = (self.status, Json(body)).into_response();
        // The security middleware reads the code for the audit log.
        response.extensions_mut().insert(code);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_match_their_serde_names() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).expect("serialises"), serde_json::json!(code.as_str()));
        }
    }
}
