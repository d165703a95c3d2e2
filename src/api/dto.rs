//! Wire types (JSON DTOs). Separate from domain types: handlers convert at the edge.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use counter_agent_driver_api::{ColorMode, DeviceSettings, DeviceStatus, ScanSource};

use crate::devices::DeviceHandle;
use crate::print::PrintJob;
use crate::scan::{thumbnail_url, PageView, ScanView};

pub fn iso_time(ms: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusDto {
    /// `ready`, `busy`, `offline` or `error`.
    pub state: &'static str,
    /// Why, when not plainly ready: `paper_out`, `cover_open`, `jammed`, `not_found`, …
    pub reason: Option<&'static str>,
    /// Vietnamese text for the clerk.
    pub message: Option<&'static str>,
}

impl From<DeviceStatus> for StatusDto {
    fn from(status: DeviceStatus) -> StatusDto {
        StatusDto {
            state: status.state.as_str(),
            reason: status.reason.map(|r| r.code()),
            message: status.reason.map(|r| r.message_vi()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScannerCapabilities {
    pub sources: Vec<&'static str>,
    pub max_dpi: u32,
    pub default_dpi: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrinterCapabilities {
    pub paper_width_mm: u32,
    pub printable_dots: u32,
    pub dpi: u32,
    pub cutter: bool,
    /// `pdf` and/or `escpos`.
    pub formats: Vec<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Capabilities {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scanner: Option<ScannerCapabilities>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub printer: Option<PrinterCapabilities>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceDto {
    pub id: String,
    /// `scanner` or `printer`.
    pub kind: &'static str,
    pub profile: String,
    pub display_name: String,
    /// The connection scheme (`sane`, `ipp`, `usb`, `sim`, …); the full string stays on the PC.
    pub connection_scheme: &'static str,
    pub status: StatusDto,
    pub capabilities: Capabilities,
}

impl From<&DeviceHandle> for DeviceDto {
    fn from(handle: &DeviceHandle) -> DeviceDto {
        let info = handle.info();
        let capabilities = match &info.settings {
            DeviceSettings::Scanner(s) => Capabilities {
                scanner: Some(ScannerCapabilities {
                    sources: s.sources.iter().map(|s| s.as_str()).collect(),
                    max_dpi: s.max_dpi,
                    default_dpi: s.default_dpi,
                }),
                printer: None,
            },
            DeviceSettings::Printer(p) => Capabilities {
                scanner: None,
                printer: Some(PrinterCapabilities {
                    paper_width_mm: p.paper_width_mm,
                    printable_dots: p.printable_dots,
                    dpi: p.dpi,
                    cutter: p.cutter,
                    formats: p.formats.iter().map(|f| crate::print::format_name(*f)).collect(),
                }),
            },
        };
        DeviceDto {
            id: info.id.clone(),
            kind: info.kind.as_str(),
            profile: info.profile_id.clone(),
            display_name: info.display_name.clone(),
            connection_scheme: info.connection.scheme(),
            status: handle.status().into(),
            capabilities,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<DeviceDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairingStartRequest {
    /// Shown on the agent's pairing page, e.g. the clerk's name or the app's name.
    #[serde(default)]
    pub label: Option<String>,
    /// Scopes wanted; default `scan`, `print`, `queue-call`. `admin` cannot be paired.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PairingStartResponse {
    pub pairing_id: String,
    pub code_length: usize,
    pub expires_in_s: u64,
    /// Where the clerk reads the code (on the counter PC).
    pub pair_page: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairingCompleteRequest {
    pub pairing_id: String,
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer token. Shown once; keep it in the web app's storage for this origin.
    pub token: String,
    pub token_id: String,
    pub origin: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketResponse {
    /// Single-use; pass as `?ticket=` on the WebSocket URL within `expires_in_s`.
    pub ticket: String,
    pub expires_in_s: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: String,
    pub origin: String,
    pub scopes: Vec<String>,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenDto>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceDto {
    Flatbed,
    Adf,
    AdfDuplex,
}

impl From<SourceDto> for ScanSource {
    fn from(source: SourceDto) -> ScanSource {
        match source {
            SourceDto::Flatbed => ScanSource::Flatbed,
            SourceDto::Adf => ScanSource::Adf,
            SourceDto::AdfDuplex => ScanSource::AdfDuplex,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColorDto {
    Auto,
    Color,
    Gray,
    Bw,
}

impl From<ColorDto> for ColorMode {
    fn from(color: ColorDto) -> ColorMode {
        match color {
            ColorDto::Auto => ColorMode::Auto,
            ColorDto::Color => ColorMode::Color,
            ColorDto::Gray => ColorMode::Gray,
            ColorDto::Bw => ColorMode::Bw,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequestDto {
    pub device: String,
    pub source: SourceDto,
    #[serde(default = "default_color")]
    pub color: ColorDto,
    /// Default: the profile's default dpi.
    #[serde(default)]
    pub dpi: Option<u32>,
    /// Straighten askew pages (default true).
    #[serde(default = "default_true")]
    pub deskew: bool,
    /// Flatbed only: crop the page to the ID card (CCCD) on the glass (default false).
    #[serde(default)]
    pub crop_id_card: bool,
}

fn default_true() -> bool {
    true
}

fn default_color() -> ColorDto {
    ColorDto::Auto
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageDto {
    /// 1-based position in the document (changes when pages are reordered or deleted).
    pub index: u32,
    /// Stable while the page exists.
    pub id: String,
    /// Of the stored image, before `rotation`.
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    /// `text`, `color`, `gray` or `blank`.
    pub class: &'static str,
    /// Nothing on the page (flagged, never dropped).
    pub blank: bool,
    /// The page was straightened.
    pub skew_corrected: bool,
    /// Degrees straightened (0 when none).
    pub skew_degrees: f32,
    /// Cropped to the ID card.
    pub cropped: bool,
    /// `g4` (1-bit CCITT G4), `jpeg-gray` or `jpeg-color`: how the PDF embeds it.
    pub encoding: &'static str,
    /// Clockwise degrees the clerk turned the page: 0, 90, 180 or 270.
    pub rotation: u16,
    /// Size of the stored image.
    pub bytes: u64,
    /// SHA-256 (hex) of the stored image, as the PDF's `PageSHA256-n` records it; a JPEG page
    /// without rotation downloads with exactly these bytes.
    pub sha256: String,
    /// The page as JPEG (`?format=png` for PNG).
    pub url: String,
    pub thumbnail_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanDto {
    pub id: String,
    pub device: String,
    pub source: &'static str,
    pub color: &'static str,
    pub dpi: u32,
    /// `scanning`, `paused` (fault; `continue` resumes), `completed`, `failed`, `cancelled`.
    pub state: &'static str,
    pub reason: Option<String>,
    /// When a driver error paused or failed the batch: its text (English, for a technician, e.g.
    /// which sources the scanner offers); cleared by `continue`.
    pub detail: Option<String>,
    /// 1-based index of the page a pause or failure happened at.
    pub failed_page: Option<u32>,
    pub pages: Vec<PageDto>,
    pub document_url: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanList {
    pub scans: Vec<ScanDto>,
}

impl PageDto {
    pub fn new(scan_id: &str, page: &PageView) -> PageDto {
        PageDto {
            index: page.index,
            id: page.id.clone(),
            width: page.width,
            height: page.height,
            dpi: page.dpi,
            class: page.class.as_str(),
            blank: page.blank,
            skew_corrected: page.skew_degrees != 0.0,
            skew_degrees: page.skew_degrees,
            cropped: page.cropped,
            encoding: page.encoding.as_str(),
            rotation: page.rotation.degrees(),
            bytes: page.n_bytes,
            sha256: crate::scan::pipeline::hex(&page.sha256),
            url: format!("/v1/scans/{scan_id}/pages/{}", page.index),
            thumbnail_url: thumbnail_url(scan_id, page.index),
        }
    }
}

impl From<ScanView> for ScanDto {
    fn from(view: ScanView) -> ScanDto {
        ScanDto {
            pages: view.pages.iter().map(|p| PageDto::new(&view.id, p)).collect(),
            failed_page: view.failed_page,
            document_url: format!("/v1/scans/{}/document", view.id),
            device: view.device,
            source: view.source.as_str(),
            color: view.color.as_str(),
            dpi: view.dpi,
            state: view.state.as_str(),
            reason: view.reason,
            detail: view.detail,
            created_at: iso_time(view.created_ms),
            updated_at: iso_time(view.updated_ms),
            id: view.id,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuery {
    /// Upper bound for the PDF's size: pages are re-encoded at lower dpi/quality (text stays
    /// legible) until it fits; 413 `document_too_large` (with the smallest size reached) when it cannot.
    #[serde(default)]
    pub max_bytes: Option<usize>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// `jpeg` (default) or `png`.
    #[serde(default)]
    pub format: Option<String>,
}

/// A new page order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageOrderDto {
    /// Every current page index (1-based) once, in the wanted order, e.g. `[3, 1, 2]`.
    pub order: Vec<u32>,
}

/// A quarter turn for a page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateDto {
    /// Clockwise: 90, 180 or 270 (added to the page's current rotation).
    pub degrees: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrintRequestDto {
    pub device: String,
    /// Same key from the same origin → the same job, never a second print.
    pub idempotency_key: String,
    /// Base64 PDF (for page printers).
    #[serde(default)]
    pub pdf: Option<String>,
    /// Base64 ESC/POS bytes (for thermal printers).
    #[serde(default)]
    pub escpos: Option<String>,
    /// A PDF for a thermal printer wider than its paper (A4 on 80 mm) is scaled down to the
    /// paper's width instead of refused.
    #[serde(default)]
    pub fit_to_width: bool,
    /// A template rendered by the agent: `dossier-receipt` (A4 PDF or 80 mm thermal) or
    /// `queue-ticket` (thermal), with its fields in `data`.
    #[serde(default)]
    pub template: Option<String>,
    /// The template's fields. `queue-ticket`: `number` (e.g. "A1023"), `service`, `issued_at`
    /// (local "YYYY-MM-DDTHH:MM"), `waiting_ahead`, optional `counters` (["1", "3"]),
    /// `follow_url` (https, printed as a QR code), `priority`. `dossier-receipt`: `dossier_code`
    /// ("000.00.31.H26-261204-0001"), optional `copy_label`, `applicant_name`,
    /// `applicant_address`, optional `applicant_phone` and `applicant_email`, `procedure`,
    /// `documents` (1–50 of `{name, copy: original|copy|certified_copy, count}`), optional `sets`
    /// (default 1), `processing_time`, `received_at`, `appointment_at` (a date or date and time,
    /// not before `received_at`), `collect_at`, `receiver_name`, `lookup_url` (https, QR code).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Option<serde_json::Value>,
}

/// A document or template to draw, not to print.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequestDto {
    pub device: String,
    /// Accepted and ignored, so a print request's body can be previewed as it is.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub fit_to_width: bool,
    #[serde(default)]
    pub pdf: Option<String>,
    #[serde(default)]
    pub escpos: Option<String>,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Option<serde_json::Value>,
}

/// Demo stations only: a fault to inject on a simulated device, or none to clear it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimFaultDto {
    /// `paper_out`, `cover_open`, `paper_near_end`, `jammed`, `offline` (unplugged) or null.
    pub fault: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPrintQuery {
    pub device: String,
    pub idempotency_key: String,
    #[serde(default)]
    pub fit_to_width: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrintDto {
    pub id: String,
    pub device: String,
    /// `queued`, `printing`, `waiting` (printer cannot print now; resumes by itself), `printed`,
    /// `failed`, `cancelled`.
    pub state: &'static str,
    pub reason: Option<String>,
    pub format: &'static str,
    pub bytes: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<PrintJob> for PrintDto {
    fn from(job: PrintJob) -> PrintDto {
        PrintDto {
            id: job.id,
            device: job.device,
            state: job.state.as_str(),
            reason: job.reason,
            format: crate::print::format_name(job.format),
            bytes: job.n_bytes,
            created_at: iso_time(job.created_ms),
            updated_at: iso_time(job.updated_ms),
        }
    }
}

/// One message on the event stream.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// Increasing; reconnect with `?since=<last seq>` to get what you missed.
    pub seq: i64,
    pub at: String,
    /// `device.status`, `scan.state`, `scan.page`, `scan.progress`, `scan.pages`, `print.state`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}
