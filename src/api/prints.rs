//! Print routes: submit (JSON with base64, or a raw PDF body), state, cancel.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use base64::Engine;
use counter_agent_driver_api::{DocumentFormat, StatusReason};

use super::devices::unknown_device;
use super::dto::{PreviewRequestDto, PrintDto, PrintRequestDto, RawPrintQuery, SimFaultDto};
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::extract::{body_too_large, ApiJson, Authed};
use super::AppState;
use crate::auth::Scope;
use crate::print::render::pdf::PdfProblem;
use crate::print::render::TemplateError;
use crate::print::{PreviewDocument, PreviewRequest, PrintError, SubmitPrint, SubmitTemplate};

fn print_error(error: PrintError) -> ApiError {
    match error {
        PrintError::UnknownDevice(id) => unknown_device(&id),
        PrintError::NotAPrinter { .. } => ApiError::bad_request(ErrorCode::WrongDeviceKind, error.to_string())
            .hint("print on a device whose kind is printer (GET /v1/devices)"),
        PrintError::UnsupportedFormat { .. } => ApiError::bad_request(ErrorCode::UnsupportedFormat, error.to_string()),
        PrintError::InvalidDocument(message) => ApiError::bad_request(ErrorCode::InvalidDocument, message),
        PrintError::InvalidRequest(message) => ApiError::bad_request(ErrorCode::InvalidRequest, message),
        PrintError::Template(TemplateError::UnknownTemplate(_)) => {
            ApiError::bad_request(ErrorCode::UnknownTemplate, error.to_string())
                .hint("templates are dossier-receipt and queue-ticket")
        }
        PrintError::Template(TemplateError::Invalid(_)) => {
            ApiError::bad_request(ErrorCode::InvalidTemplateData, error.to_string())
        }
        PrintError::Pdf(problem) => {
            let code = match problem {
                PdfProblem::TooManyPages { .. }
                | PdfProblem::PageTooLarge { .. }
                | PdfProblem::ImageTooLarge { .. } => ErrorCode::DocumentTooLarge,
                _ => ErrorCode::InvalidDocument,
            };
            ApiError::bad_request(code, problem.to_string()).hint(problem.hint())
        }
        PrintError::PdfTooWide { .. } => ApiError::bad_request(ErrorCode::UnsupportedFormat, error.to_string())
            .hint("send a PDF sized for the receipt paper, or set fit_to_width to scale it down"),
        PrintError::TemplateNotForPrinter { .. } => {
            ApiError::bad_request(ErrorCode::UnsupportedFormat, error.to_string())
                .hint("print dossier-receipt on an A4 or a thermal printer, queue-ticket on a thermal printer")
        }
        PrintError::IdempotencyConflict(_) => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::IdempotencyConflict, error.to_string())
                .hint("use a new idempotency_key for a new document")
        }
        PrintError::NotFound(_) => ApiError::not_found(error.to_string()),
        PrintError::NotCancellable(_) => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::JobNotCancellable, error.to_string())
        }
        PrintError::StorageFull => ApiError::storage_full(),
        PrintError::Store(error) => ApiError::internal(&error),
        PrintError::Io(error) => ApiError::internal(&error),
    }
}

fn decode_base64(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| ApiError::bad_request(ErrorCode::InvalidBase64, format!("`{field}` is not valid base64")))
}

fn respond(
    result: Result<(crate::print::PrintJob, bool), PrintError>,
) -> Result<(StatusCode, Json<PrintDto>), ApiError> {
    let (job, created) = result.map_err(print_error)?;
    Ok((if created { StatusCode::ACCEPTED } else { StatusCode::OK }, Json(job.into())))
}

/// Queues a print job. JSON with exactly one of `pdf`/`escpos` (base64) or `template` + `data`
/// (rendered by the agent for the printer), or a raw `application/pdf` body with
/// `?device=&idempotency_key=[&fit_to_width=true]`. A PDF for a thermal printer prints as raster.
#[utoipa::path(post, path = "/v1/prints", security(("bearer" = [])), request_body = PrintRequestDto,
    params(("device" = Option<String>, Query, description = "raw PDF bodies only"),
           ("idempotency_key" = Option<String>, Query, description = "raw PDF bodies only"),
           ("fit_to_width" = Option<bool>, Query, description = "raw PDF bodies only: scale a PDF wider than a thermal printer's paper")),
    responses((status = 202, body = PrintDto), (status = 200, description = "same idempotency key: the existing job", body = PrintDto),
              (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn submit(
    State(app): State<AppState>,
    auth: Authed,
    headers: HeaderMap,
    query: Result<Query<RawPrintQuery>, axum::extract::rejection::QueryRejection>,
    request: axum::extract::Request,
) -> Result<(StatusCode, Json<PrintDto>), ApiError> {
    auth.require(Scope::Print)?;
    let is_pdf = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::APPLICATION && m.subtype() == mime::PDF);
    if is_pdf {
        let Query(query) = query.map_err(|rejection| {
            ApiError::bad_request(
                ErrorCode::InvalidRequest,
                format!("the query string is not right: {}", rejection.body_text()),
            )
            .hint("a raw PDF body takes ?device=…&idempotency_key=…[&fit_to_width=true]")
        })?;
        let bytes =
            axum::body::to_bytes(request.into_body(), app.inner.max_print_body).await.map_err(|_| body_too_large())?;
        let request = SubmitPrint {
            device: query.device,
            idempotency_key: query.idempotency_key,
            format: DocumentFormat::Pdf,
            bytes: Bytes::into(bytes),
            fit_to_width: query.fit_to_width,
        };
        return respond(off_the_server(&app, &auth, move |prints, origin| prints.submit(origin, request)).await?);
    }
    let ApiJson(body) =
        <ApiJson<PrintRequestDto> as axum::extract::FromRequest<AppState>>::from_request(request, &app).await?;
    let device_exists = app.inner.devices.get(&body.device).is_some();
    if !device_exists {
        return Err(unknown_device(&body.device));
    }
    let (format, bytes) = match (body.pdf, body.escpos, body.template) {
        (Some(pdf), None, None) => (DocumentFormat::Pdf, decode_base64("pdf", &pdf)?),
        (None, Some(escpos), None) => (DocumentFormat::EscPos, decode_base64("escpos", &escpos)?),
        (None, None, Some(template)) => {
            let Some(data) = body.data else {
                return Err(ApiError::bad_request(ErrorCode::InvalidTemplateData, "`data` is missing")
                    .hint("send the template's fields as a JSON object in `data`"));
            };
            let request = SubmitTemplate { device: body.device, idempotency_key: body.idempotency_key, template, data };
            return respond(
                off_the_server(&app, &auth, move |prints, origin| prints.submit_template(origin, request)).await?,
            );
        }
        _ => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRequest,
                "send exactly one of `pdf`, `escpos` or `template`",
            ));
        }
    };
    if body.data.is_some() {
        return Err(ApiError::bad_request(ErrorCode::InvalidRequest, "`data` goes with `template` only"));
    }
    let request = SubmitPrint {
        device: body.device,
        idempotency_key: body.idempotency_key,
        format,
        bytes,
        fit_to_width: body.fit_to_width,
    };
    respond(off_the_server(&app, &auth, move |prints, origin| prints.submit(origin, request)).await?)
}

/// Runs a submission on the blocking pool: it checks and may draw a PDF (seconds for a heavy one)
/// and syncs the spool file, none of which may hold up the threads that serve every other request.
async fn off_the_server<T: Send + 'static>(
    app: &AppState,
    auth: &Authed,
    work: impl FnOnce(&crate::print::PrintService, &str) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let prints = app.inner.prints.clone();
    let origin = auth.origin.clone();
    tokio::task::spawn_blocking(move || work(&prints, &origin)).await.map_err(|error| ApiError::internal(&error))
}

/// Draws what a document or template would print on a device, as a PNG (ESC/POS through the
/// agent's own interpreter at the printer's width; a PDF's first page). Nothing is queued.
#[utoipa::path(post, path = "/v1/prints/preview", security(("bearer" = [])), request_body = PreviewRequestDto,
    responses((status = 200, content_type = "image/png", description = "the preview"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn preview(
    State(app): State<AppState>,
    auth: Authed,
    ApiJson(body): ApiJson<PreviewRequestDto>,
) -> Result<axum::response::Response, ApiError> {
    auth.require(Scope::Print)?;
    let document = match (body.pdf, body.escpos, body.template, body.data) {
        (Some(pdf), None, None, None) => PreviewDocument::Bytes(DocumentFormat::Pdf, decode_base64("pdf", &pdf)?),
        (None, Some(escpos), None, None) => {
            PreviewDocument::Bytes(DocumentFormat::EscPos, decode_base64("escpos", &escpos)?)
        }
        (None, None, Some(template), Some(data)) => PreviewDocument::Template { template, data },
        (None, None, Some(_), None) => {
            return Err(ApiError::bad_request(ErrorCode::InvalidTemplateData, "`data` is missing"));
        }
        _ => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRequest,
                "send exactly one of `pdf`, `escpos` or `template` (with `data`)",
            ));
        }
    };
    let prints = app.inner.prints.clone();
    let request = PreviewRequest { device: body.device, document, fit_to_width: body.fit_to_width };
    // Drawing a long receipt or a PDF page takes milliseconds of CPU: off the async threads.
    let png = tokio::task::spawn_blocking(move || prints.preview(request))
        .await
        .map_err(|error| ApiError::internal(&error))?
        .map_err(print_error)?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}

/// Demo stations only: injects a fault on a simulated printer or scanner (paper out…), so the
/// demo page can show a job waiting and finishing once the fault is cleared.
#[utoipa::path(post, path = "/v1/demo/devices/{id}/fault", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = SimFaultDto,
    responses((status = 204, description = "done"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn demo_fault(
    State(app): State<AppState>,
    auth: Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SimFaultDto>,
) -> Result<StatusCode, ApiError> {
    auth.require(Scope::Print)?;
    let Some(sim) = app.inner.demo_sim.as_ref() else {
        return Err(ApiError::not_found("fault injection exists on the demo station only"));
    };
    let simulated = app
        .inner
        .devices
        .get(&id)
        .is_some_and(|handle| matches!(handle.info().connection, counter_agent_driver_api::Connection::Sim { .. }));
    if !simulated {
        return Err(unknown_device(&id));
    }
    match body.fault.as_deref() {
        None => {
            sim.set_fault(&id, None);
            sim.set_present(&id, true);
        }
        Some("offline") => sim.set_present(&id, false),
        Some(code) => match StatusReason::from_code(code) {
            Some(
                reason @ (StatusReason::PaperOut
                | StatusReason::CoverOpen
                | StatusReason::PaperNearEnd
                | StatusReason::Jammed),
            ) => sim.set_fault(&id, Some(reason)),
            _ => {
                return Err(ApiError::bad_request(ErrorCode::InvalidRequest, format!("unknown fault `{code}`"))
                    .hint("use paper_out, cover_open, paper_near_end, jammed, offline or null"));
            }
        },
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A print job's state.
#[utoipa::path(get, path = "/v1/prints/{id}", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PrintDto), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<AppState>,
    auth: Authed,
    Path(id): Path<String>,
) -> Result<Json<PrintDto>, ApiError> {
    auth.require(Scope::Print)?;
    Ok(Json(app.inner.prints.get(&auth.origin, &id).map_err(print_error)?.into()))
}

/// Cancels a job that has not started printing.
#[utoipa::path(delete, path = "/v1/prints/{id}", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PrintDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(app): State<AppState>,
    auth: Authed,
    Path(id): Path<String>,
) -> Result<Json<PrintDto>, ApiError> {
    auth.require(Scope::Print)?;
    Ok(Json(app.inner.prints.cancel(&auth.origin, &id).map_err(print_error)?.into()))
}
