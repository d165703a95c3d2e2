//! Plain data shared by drivers and the daemon.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The family a configured device belongs to; decides which operations it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Scanner,
    Printer,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Scanner => "scanner",
            DeviceKind::Printer => "printer",
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Coarse live state of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceState {
    Ready,
    Busy,
    Offline,
    Error,
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Ready => "ready",
            DeviceState::Busy => "busy",
            DeviceState::Offline => "offline",
            DeviceState::Error => "error",
        }
    }
}

/// Why a device is not simply ready. Stable snake_case codes go on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusReason {
    NotFound,
    Offline,
    PaperOut,
    PaperNearEnd,
    CoverOpen,
    Jammed,
    FeederEmpty,
    CutterError,
    IoError,
    ProtocolError,
    /// A hot-folder file that is not a readable image; it was moved to the folder's `rejected/`.
    UnreadableFile,
    /// The device takes jobs but does not answer status requests: paper and cover are unknown.
    StatusUnknown,
}

impl StatusReason {
    pub const ALL: [StatusReason; 12] = [
        StatusReason::NotFound,
        StatusReason::Offline,
        StatusReason::PaperOut,
        StatusReason::PaperNearEnd,
        StatusReason::CoverOpen,
        StatusReason::Jammed,
        StatusReason::FeederEmpty,
        StatusReason::CutterError,
        StatusReason::IoError,
        StatusReason::ProtocolError,
        StatusReason::UnreadableFile,
        StatusReason::StatusUnknown,
    ];

    pub fn code(self) -> &'static str {
        match self {
            StatusReason::NotFound => "not_found",
            StatusReason::Offline => "offline",
            StatusReason::PaperOut => "paper_out",
            StatusReason::PaperNearEnd => "paper_near_end",
            StatusReason::CoverOpen => "cover_open",
            StatusReason::Jammed => "jammed",
            StatusReason::FeederEmpty => "feeder_empty",
            StatusReason::CutterError => "cutter_error",
            StatusReason::IoError => "io_error",
            StatusReason::ProtocolError => "protocol_error",
            StatusReason::UnreadableFile => "unreadable_file",
            StatusReason::StatusUnknown => "status_unknown",
        }
    }

    pub fn from_code(code: &str) -> Option<StatusReason> {
        StatusReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether the device can still work with this condition (a warning, not a stop).
    pub fn is_warning(self) -> bool {
        matches!(self, StatusReason::PaperNearEnd | StatusReason::StatusUnknown)
    }

    /// Vietnamese text for clerks and technicians.
    pub fn message_vi(self) -> &'static str {
        match self {
            StatusReason::NotFound => "Không tìm thấy thiết bị — kiểm tra cáp và nguồn điện",
            StatusReason::Offline => "Thiết bị đang ngoại tuyến",
            StatusReason::PaperOut => "Hết giấy — hãy nạp thêm giấy",
            StatusReason::PaperNearEnd => "Giấy sắp hết",
            StatusReason::CoverOpen => "Nắp thiết bị đang mở — hãy đóng nắp",
            StatusReason::Jammed => "Kẹt giấy — gỡ giấy kẹt rồi tiếp tục",
            StatusReason::FeederEmpty => "Khay nạp giấy trống — đặt tài liệu vào khay",
            StatusReason::CutterError => "Lỗi dao cắt giấy",
            StatusReason::IoError => "Lỗi truyền dữ liệu với thiết bị",
            StatusReason::ProtocolError => "Thiết bị trả lời không đúng giao thức",
            StatusReason::StatusUnknown => "Máy in không trả lời khi hỏi trạng thái — chưa biết còn giấy hay không",
            StatusReason::UnreadableFile => {
                "Có tệp trong thư mục quét không đọc được — tệp đã được chuyển vào thư mục rejected; bấm Tiếp tục để lấy các tệp sau"
            }
        }
    }
}

impl fmt::Display for StatusReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Live status: a state and, unless plainly ready, a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceStatus {
    pub state: DeviceState,
    pub reason: Option<StatusReason>,
}

impl DeviceStatus {
    pub const READY: DeviceStatus = DeviceStatus { state: DeviceState::Ready, reason: None };
    pub const BUSY: DeviceStatus = DeviceStatus { state: DeviceState::Busy, reason: None };

    pub fn offline(reason: StatusReason) -> DeviceStatus {
        DeviceStatus { state: DeviceState::Offline, reason: Some(reason) }
    }

    pub fn error(reason: StatusReason) -> DeviceStatus {
        DeviceStatus { state: DeviceState::Error, reason: Some(reason) }
    }

    /// Ready with a warning such as paper near end.
    pub fn ready_with(reason: StatusReason) -> DeviceStatus {
        DeviceStatus { state: DeviceState::Ready, reason: Some(reason) }
    }
}

/// Where the paper comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanSource {
    Flatbed,
    Adf,
    AdfDuplex,
}

impl ScanSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanSource::Flatbed => "flatbed",
            ScanSource::Adf => "adf",
            ScanSource::AdfDuplex => "adf-duplex",
        }
    }
}

/// Colour mode requested. `Auto` scans in colour and lets the pipeline decide per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColorMode {
    Auto,
    Color,
    Gray,
    Bw,
}

impl ColorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ColorMode::Auto => "auto",
            ColorMode::Color => "color",
            ColorMode::Gray => "gray",
            ColorMode::Bw => "bw",
        }
    }
}

/// A shared flag a long operation checks between steps.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the clerk asked the scanner for.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub source: ScanSource,
    pub color: ColorMode,
    pub dpi: u32,
}

/// How pixels are laid out in a [`RawPage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// 8 bits per pixel, 0 = black.
    Gray8,
    /// 3 bytes per pixel, R G B.
    Rgb8,
    /// 1 bit per pixel, 8 pixels per byte, most significant bit first, **1 = black** (as SANE).
    Bw1,
}

/// Which side of the sheet a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageSide {
    Front,
    Back,
}

/// One scanned page exactly as the device produced it, rows `stride` bytes apart.
#[derive(Clone)]
pub struct RawPage {
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    pub format: PixelFormat,
    pub stride: usize,
    pub side: PageSide,
    pub data: Vec<u8>,
}

impl fmt::Debug for RawPage {
    // Never print pixel data: it is citizen data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawPage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("dpi", &self.dpi)
            .field("format", &self.format)
            .field("stride", &self.stride)
            .field("side", &self.side)
            .field("n_bytes", &self.data.len())
            .finish()
    }
}

/// A document format a printer may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentFormat {
    Pdf,
    EscPos,
}

impl DocumentFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "application/pdf",
            DocumentFormat::EscPos => "application/vnd.escpos",
        }
    }
}

/// A document ready for the printer.
#[derive(Clone)]
pub struct PrintDocument {
    pub format: DocumentFormat,
    pub bytes: Vec<u8>,
    /// A short name for the job, shown in printer queues. Never citizen data.
    pub job_name: String,
}

impl fmt::Debug for PrintDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrintDocument")
            .field("format", &self.format)
            .field("n_bytes", &self.bytes.len())
            .field("job_name", &self.job_name)
            .finish()
    }
}

/// Typed scanner settings from a validated profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ScannerSettings {
    pub max_dpi: u32,
    pub default_dpi: u32,
    pub sources: Vec<ScanSource>,
    /// Rotate duplex back sides by 180° (some Epson/Canon models deliver them upside down).
    pub duplex_back_rotate_180: bool,
    /// How this model's SANE backend names its options and their values (SANE drivers only).
    /// Boxed: it is large and most devices are not SANE scanners.
    pub sane: Box<SaneOptionMap>,
}

/// How one SANE backend names the options the agent sets, and their values. Each value list is
/// tried in order (case-insensitive); when none matches, the driver falls back to name patterns
/// (ADF/Feeder/Duplex, Color/Colour, Gray/Grey, Lineart/Binary) as NAPS2 does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaneOptionMap {
    /// Option names: usually `source`, `mode`, `resolution` (SANE's well-known names).
    pub source: String,
    pub mode: String,
    pub resolution: String,
    pub flatbed_values: Vec<String>,
    pub adf_values: Vec<String>,
    pub adf_duplex_values: Vec<String>,
    pub color_values: Vec<String>,
    pub gray_values: Vec<String>,
    pub lineart_values: Vec<String>,
    /// Backend-specific options set when a scan starts, before source/mode/resolution:
    /// `(option name, value as text)`, e.g. `("swdeskew", "yes")`.
    pub extra: Vec<(String, String)>,
}

impl Default for SaneOptionMap {
    /// SANE's well-known option and value names (`saneopts.h`).
    fn default() -> SaneOptionMap {
        let names = |names: &[&str]| names.iter().map(|name| name.to_string()).collect();
        SaneOptionMap {
            source: "source".into(),
            mode: "mode".into(),
            resolution: "resolution".into(),
            flatbed_values: names(&["Flatbed"]),
            adf_values: names(&["ADF", "ADF Front", "Automatic Document Feeder"]),
            adf_duplex_values: names(&["ADF Duplex", "Duplex"]),
            color_values: names(&["Color"]),
            gray_values: names(&["Gray"]),
            lineart_values: names(&["Lineart"]),
            extra: Vec::new(),
        }
    }
}

/// Typed printer settings from a validated profile.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterSettings {
    pub paper_width_mm: u32,
    /// Printable width in dots for raster printers; 0 for page printers.
    pub printable_dots: u32,
    pub dpi: u32,
    pub cutter: bool,
    pub formats: Vec<DocumentFormat>,
    /// ESC/POS facts from the profile (ignored by page printers).
    pub escpos: EscposSettings,
}

/// What an ESC/POS printer's profile declares about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EscposSettings {
    /// Draws QR codes itself (`GS ( k`, model 2); otherwise they are sent as raster.
    pub native_qr: bool,
    pub status: EscposStatus,
    /// Send `FS .` after `ESC @` (clones that start in Chinese double-byte mode).
    pub chinese_mode_off: bool,
    /// The printer honours `GS L` (left margin) for `GS v 0` images: raster lines are sent only
    /// where they have ink (about half the bytes of a ticket).
    pub trim_raster: bool,
}

/// How an ESC/POS printer reports paper out, cover open and the like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EscposStatus {
    /// Polled real-time status, `DLE EOT n`.
    DleEot,
    /// Automatic Status Back, `GS a n` (the printer also answers `DLE EOT`).
    Asb,
    /// The printer is not asked; only write errors are seen.
    #[default]
    None,
}

/// Settings handed to a driver when a device is opened.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceSettings {
    Scanner(ScannerSettings),
    Printer(PrinterSettings),
}

impl DeviceSettings {
    pub fn kind(&self) -> DeviceKind {
        match self {
            DeviceSettings::Scanner(_) => DeviceKind::Scanner,
            DeviceSettings::Printer(_) => DeviceKind::Printer,
        }
    }
}
