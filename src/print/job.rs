//! The print service: submission, lookup, cancellation.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use counter_agent_driver_api::{CancelToken, DeviceKind, DeviceSettings, DocumentFormat, PrinterSettings};
use image::ImageEncoder;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use super::render::{self, Office, TemplateData, TemplateError};
use crate::auth::random_id;
use crate::devices::Devices;
use crate::events::{EventBody, EventBus};
use crate::store::{now_ms, NewPrintJob, PrintJobRow, Store, StoreError};

/// The largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Printing,
    Waiting,
    Printed,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Printing,
        JobState::Waiting,
        JobState::Printed,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Printing => "printing",
            JobState::Waiting => "waiting",
            JobState::Printed => "printed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrintJob {
    pub id: String,
    pub device: String,
    pub state: JobState,
    pub reason: Option<String>,
    pub format: DocumentFormat,
    pub n_bytes: u64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("no device `{0}` is configured")]
    UnknownDevice(String),
    #[error("device `{id}` is a {kind}, not a printer")]
    NotAPrinter { id: String, kind: DeviceKind },
    #[error("printer `{device}` does not accept {format} documents (it accepts: {accepted})")]
    UnsupportedFormat { device: String, format: &'static str, accepted: String },
    #[error("{0}")]
    InvalidDocument(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("idempotency key `{0}` was already used for a different document or printer")]
    IdempotencyConflict(String),
    #[error("no print job `{0}`")]
    NotFound(String),
    #[error("print job is {0} and can no longer be cancelled")]
    NotCancellable(&'static str),
    #[error("storage error")]
    Store(#[from] StoreError),
    #[error("cannot write the document to the spool folder")]
    Io(#[from] std::io::Error),
    #[error("the PC's disk is full")]
    StorageFull,
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Pdf(#[from] render::pdf::PdfProblem),
    #[error("the PDF's pages are {width_mm:.0} mm wide; this printer's paper is {paper_mm} mm wide")]
    PdfTooWide { width_mm: f32, paper_mm: u32 },
    #[error("template `{template}` cannot be printed on `{device}` ({why})")]
    TemplateNotForPrinter { template: String, device: String, why: &'static str },
}

/// A template to render and print.
#[derive(Debug, Clone)]
pub struct SubmitTemplate {
    pub device: String,
    pub idempotency_key: String,
    pub template: String,
    pub data: serde_json::Value,
}

/// Width of a PDF preview in pixels (A4 at about 96 dpi).
const PDF_PREVIEW_WIDTH: u32 = 794;

/// A preview to draw.
#[derive(Debug, Clone)]
pub struct PreviewRequest {
    pub device: String,
    pub document: PreviewDocument,
    /// As for printing: an A4 PDF on a thermal printer is drawn scaled to its width.
    pub fit_to_width: bool,
}

#[derive(Debug, Clone)]
pub enum PreviewDocument {
    Bytes(DocumentFormat, Vec<u8>),
    Template { template: String, data: serde_json::Value },
}

/// What the print service needs from the station file.
#[derive(Debug, Clone)]
pub struct PrintConfig {
    pub office: Office,
    pub max_pdf_pages: u32,
}

/// What a client submits.
#[derive(Debug, Clone)]
pub struct SubmitPrint {
    pub device: String,
    pub idempotency_key: String,
    pub format: DocumentFormat,
    pub bytes: Vec<u8>,
    /// A PDF wider than a thermal printer's paper is scaled down to it (A4 on 80 mm) instead of
    /// refused.
    pub fit_to_width: bool,
}

/// At most this many PDF pages go to a thermal printer in one job (each is a strip of paper).
pub const MAX_THERMAL_PDF_PAGES: u32 = 20;
/// At most this many dot rows of a PDF in one thermal job (5 m at 203 dpi).
pub const MAX_THERMAL_JOB_ROWS: u64 = 40_000;
/// A PDF up to this much wider than the paper prints at the paper's width without asking.
const THERMAL_WIDTH_SLACK_MM: f32 = 10.0;

pub fn format_name(format: DocumentFormat) -> &'static str {
    match format {
        DocumentFormat::Pdf => "pdf",
        DocumentFormat::EscPos => "escpos",
    }
}

fn format_from_code(code: &str) -> DocumentFormat {
    if code == "escpos" {
        DocumentFormat::EscPos
    } else {
        DocumentFormat::Pdf
    }
}

pub(crate) fn job_from_row(row: &PrintJobRow) -> PrintJob {
    let state = match JobState::parse(&row.state) {
        // Held half-printed by a stopped printer (see the worker): waiting, for the reason given.
        Some(JobState::Printing) if row.reason.is_some() => JobState::Waiting,
        Some(state) => state,
        None => JobState::Failed,
    };
    PrintJob {
        id: row.id.clone(),
        device: row.device.clone(),
        state,
        reason: row.reason.clone(),
        format: format_from_code(&row.format),
        n_bytes: row.n_bytes.max(0) as u64,
        created_ms: row.created_ms,
        updated_ms: row.updated_ms,
    }
}

/// Cheap-clone print service.
#[derive(Clone)]
pub struct PrintService {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) devices: Devices,
    pub(crate) events: EventBus,
    pub(crate) spool: PathBuf,
    pub(crate) config: PrintConfig,
    /// Wakes a printer's worker when a job is queued for it.
    pub(crate) wake: HashMap<String, Arc<Notify>>,
    /// Jobs being printed now, to give up one the printer holds half-printed when it is cancelled.
    pub(crate) printing: std::sync::Mutex<HashMap<String, CancelToken>>,
}

impl PrintService {
    /// Recovers jobs left by a previous run and starts one worker per printer.
    pub fn start(
        store: Store,
        devices: Devices,
        events: EventBus,
        spool: PathBuf,
        config: PrintConfig,
    ) -> Result<PrintService, PrintError> {
        std::fs::create_dir_all(&spool)?;
        let wake = devices
            .iter()
            .filter(|d| d.info().kind == DeviceKind::Printer)
            .map(|d| (d.info().id.clone(), Arc::new(Notify::new())))
            .collect();
        let service = PrintService {
            inner: Arc::new(Inner { store, devices, events, spool, config, wake, printing: Default::default() }),
        };
        service.recover()?;
        for device in service.inner.wake.keys() {
            tokio::spawn(super::worker::run(service.clone(), device.clone()));
        }
        Ok(service)
    }

    /// A job that was printing when the agent stopped may or may not be on paper: mark it failed
    /// (`interrupted`) instead of risking a second copy.
    fn recover(&self) -> Result<(), PrintError> {
        // Spool files without a job that still needs them (a crash between writing the file and
        // inserting the row, or a disk that filled up) are deleted.
        let mut needed = std::collections::HashSet::new();
        for device in self.inner.wake.keys() {
            for row in self.inner.store.print_jobs_in(device, &["queued", "waiting", "printing"])? {
                needed.insert(format!("{}.job", row.id));
            }
        }
        for entry in std::fs::read_dir(&self.inner.spool)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !needed.contains(&name) {
                if let Err(error) = std::fs::remove_file(entry.path()) {
                    tracing::warn!(message = "Cannot delete an orphaned spool file.", file = %name, %error);
                }
            }
        }
        for device in self.inner.wake.keys() {
            for row in self.inner.store.print_jobs_in(device, &["printing"])? {
                if self.inner.store.transition_print_job(
                    &row.id,
                    &["printing"],
                    "failed",
                    Some("interrupted"),
                    now_ms(),
                )? {
                    let _ = std::fs::remove_file(self.spool_path(&row.id));
                    tracing::warn!(message = "Print job was interrupted by a restart; not printing it again.", job = %row.id);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn spool_path(&self, id: &str) -> PathBuf {
        self.inner.spool.join(format!("{id}.job"))
    }

    /// Validates, persists and queues a job. The same idempotency key from the same origin returns
    /// the existing job (`created == false`) and prints nothing new.
    pub fn submit(&self, origin: &str, request: SubmitPrint) -> Result<(PrintJob, bool), PrintError> {
        let handle =
            self.inner.devices.get(&request.device).ok_or_else(|| PrintError::UnknownDevice(request.device.clone()))?;
        let DeviceSettings::Printer(settings) = &handle.info().settings else {
            return Err(PrintError::NotAPrinter { id: request.device.clone(), kind: handle.info().kind });
        };
        if request.bytes.is_empty() {
            return Err(PrintError::InvalidDocument("the document is empty".into()));
        }
        if request.bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(PrintError::InvalidDocument(format!("the document is over {MAX_DOCUMENT_BYTES} bytes")));
        }
        let thermal_pdf = request.format == DocumentFormat::Pdf
            && !settings.formats.contains(&DocumentFormat::Pdf)
            && settings.formats.contains(&DocumentFormat::EscPos);
        if !settings.formats.contains(&request.format) && !thermal_pdf {
            let accepted: Vec<&str> = settings.formats.iter().map(|f| format_name(*f)).collect();
            return Err(PrintError::UnsupportedFormat {
                device: request.device.clone(),
                format: format_name(request.format),
                accepted: accepted.join(", "),
            });
        }
        if request.format == DocumentFormat::Pdf {
            render::pdf::inspect(&request.bytes, self.inner.config.max_pdf_pages)?;
        }
        // Idempotency compares what the client sent, whatever it is turned into.
        let sha256: String = Sha256::digest(&request.bytes).iter().map(|b| format!("{b:02x}")).collect();
        let key = request.idempotency_key.trim();
        if key.is_empty() || key.chars().count() > 200 {
            return Err(PrintError::InvalidRequest("idempotency_key must be 1 to 200 characters".into()));
        }
        if thermal_pdf {
            // A replay finds its job before the document is drawn again (that costs seconds).
            if let Some(row) = self.inner.store.print_job_by_key(origin, key)? {
                if row.sha256 != sha256 || row.device != request.device {
                    return Err(PrintError::IdempotencyConflict(key.to_string()));
                }
                return Ok((job_from_row(&row), false));
            }
        }
        let (format, bytes) = if thermal_pdf {
            (DocumentFormat::EscPos, self.pdf_for_thermal(&request, settings)?)
        } else {
            (request.format, request.bytes)
        };
        let id = random_id(8);
        // Spool first and sync: once the row exists, the bytes are on disk.
        let path = self.spool_path(&id);
        if let Err(error) = write_synced(&path, &bytes) {
            // Never leave a partial document behind.
            let _ = std::fs::remove_file(&path);
            return Err(if error.kind() == std::io::ErrorKind::StorageFull {
                PrintError::StorageFull
            } else {
                error.into()
            });
        }
        let inserted = self.inner.store.insert_print_job(&NewPrintJob {
            id: &id,
            device: &request.device,
            origin,
            idempotency_key: key,
            format: format_name(format),
            n_bytes: bytes.len() as i64,
            sha256: &sha256,
            at_ms: now_ms(),
        });
        let (row, created) = match inserted {
            Ok(result) => result,
            Err(error) => {
                let _ = std::fs::remove_file(&path);
                return Err(error.into());
            }
        };
        if !created {
            let _ = std::fs::remove_file(&path);
            if row.sha256 != sha256 || row.device != request.device {
                return Err(PrintError::IdempotencyConflict(key.to_string()));
            }
            return Ok((job_from_row(&row), false));
        }
        let job = job_from_row(&row);
        self.publish(origin, &job);
        if let Some(wake) = self.inner.wake.get(&job.device) {
            wake.notify_one();
        }
        Ok((job, true))
    }

    /// A PDF for a thermal printer: pages sized for its paper (or any size with `fit_to_width`)
    /// drawn at its printable width and sent as raster.
    fn pdf_for_thermal(&self, request: &SubmitPrint, settings: &PrinterSettings) -> Result<Vec<u8>, PrintError> {
        let max_pages = self.inner.config.max_pdf_pages.min(MAX_THERMAL_PDF_PAGES);
        let info = match render::pdf::inspect(&request.bytes, max_pages) {
            Err(render::pdf::PdfProblem::TooManyPages { pages, .. }) if max_pages == MAX_THERMAL_PDF_PAGES => {
                return Err(PrintError::InvalidDocument(format!(
                    "the PDF has {pages} pages; at most {MAX_THERMAL_PDF_PAGES} pages of a PDF go to a receipt printer in one job"
                )));
            }
            other => other?,
        };
        let (width_mm, _) = info.largest_page_mm;
        if width_mm > settings.paper_width_mm as f32 + THERMAL_WIDTH_SLACK_MM && !request.fit_to_width {
            return Err(PrintError::PdfTooWide { width_mm, paper_mm: settings.paper_width_mm });
        }
        let pages = render::pdf::rasterise_for_thermal(&request.bytes, settings.printable_dots, max_pages)?;
        let rows: u64 = pages.iter().map(|page| u64::from(page.height())).sum();
        if rows > MAX_THERMAL_JOB_ROWS {
            let metres = rows as f32 / settings.dpi.max(1) as f32 * 0.0254;
            return Err(PrintError::InvalidDocument(format!(
                "the PDF would print {metres:.1} m of receipt paper; at most {:.1} m go in one job",
                MAX_THERMAL_JOB_ROWS as f32 / settings.dpi.max(1) as f32 * 0.0254
            )));
        }
        let printer = render::thermal::ThermalPrinter::of(settings);
        render::thermal::raster_pages(&pages, printer).map_err(|error| PrintError::InvalidDocument(error.to_string()))
    }

    /// Renders a template for the printer's kind (A4 PDF or ESC/POS for its width) and submits
    /// the result like any document: the same data renders the same bytes, so a replayed
    /// idempotency key finds its job.
    pub fn submit_template(&self, origin: &str, request: SubmitTemplate) -> Result<(PrintJob, bool), PrintError> {
        let (format, bytes) = self.render_template(&request.device, &request.template, &request.data)?;
        self.submit(
            origin,
            SubmitPrint {
                device: request.device,
                idempotency_key: request.idempotency_key,
                format,
                bytes,
                fit_to_width: false,
            },
        )
    }

    fn printer_settings(&self, device: &str) -> Result<PrinterSettings, PrintError> {
        let handle = self.inner.devices.get(device).ok_or_else(|| PrintError::UnknownDevice(device.to_string()))?;
        match &handle.info().settings {
            DeviceSettings::Printer(settings) => Ok(settings.clone()),
            DeviceSettings::Scanner(_) => {
                Err(PrintError::NotAPrinter { id: device.to_string(), kind: handle.info().kind })
            }
        }
    }

    fn render_template(
        &self,
        device: &str,
        template: &str,
        data: &serde_json::Value,
    ) -> Result<(DocumentFormat, Vec<u8>), PrintError> {
        let settings = self.printer_settings(device)?;
        let data = render::data::parse(template, data)?;
        let office = &self.inner.config.office;
        let not_for =
            |why| PrintError::TemplateNotForPrinter { template: template.to_string(), device: device.to_string(), why };
        if settings.formats.contains(&DocumentFormat::EscPos) {
            let printer = render::thermal::ThermalPrinter::of(&settings);
            let bytes = match &data {
                TemplateData::QueueTicket(ticket) => render::thermal::queue_ticket(office, ticket, printer),
                TemplateData::DossierReceipt(receipt) => render::thermal::dossier_receipt(office, receipt, printer),
            };
            Ok((DocumentFormat::EscPos, bytes.map_err(|_| not_for("the printer's paper is too narrow"))?))
        } else {
            match &data {
                TemplateData::DossierReceipt(receipt) => {
                    Ok((DocumentFormat::Pdf, render::a4::dossier_receipt_pdf(office, receipt)))
                }
                TemplateData::QueueTicket(_) => Err(not_for("queue tickets print on thermal printers")),
            }
        }
    }

    /// What a document or template would look like on `device`, as a PNG: ESC/POS bytes drawn by
    /// our own interpreter at the printer's width, a PDF's first page rendered. Nothing is queued.
    pub fn preview(&self, request: PreviewRequest) -> Result<Vec<u8>, PrintError> {
        let settings = self.printer_settings(&request.device)?;
        let (format, bytes) = match request.document {
            PreviewDocument::Bytes(format, bytes) => (format, bytes),
            PreviewDocument::Template { template, data } => self.render_template(&request.device, &template, &data)?,
        };
        let thermal_pdf = format == DocumentFormat::Pdf
            && !settings.formats.contains(&DocumentFormat::Pdf)
            && settings.formats.contains(&DocumentFormat::EscPos);
        if !settings.formats.contains(&format) && !thermal_pdf {
            let accepted: Vec<&str> = settings.formats.iter().map(|f| format_name(*f)).collect();
            return Err(PrintError::UnsupportedFormat {
                device: request.device,
                format: format_name(format),
                accepted: accepted.join(", "),
            });
        }
        let (format, bytes) = if thermal_pdf {
            // Drawn the way it would print: the PDF as raster at the paper's width.
            let submit = SubmitPrint {
                device: request.device.clone(),
                idempotency_key: String::new(),
                format,
                bytes,
                fit_to_width: request.fit_to_width,
            };
            (DocumentFormat::EscPos, self.pdf_for_thermal(&submit, &settings)?)
        } else {
            (format, bytes)
        };
        let image = match format {
            DocumentFormat::EscPos => {
                let preview = counter_agent_driver_sim::escpos_preview::render_preview(&bytes, settings.printable_dots)
                    .map_err(|error| {
                        PrintError::InvalidDocument(format!("the ESC/POS bytes cannot be drawn: {error}"))
                    })?;
                preview.image
            }
            DocumentFormat::Pdf => {
                // Checked as a print would be, then only the first page drawn.
                render::pdf::inspect(&bytes, self.inner.config.max_pdf_pages)?;
                let pages =
                    render::pdf::rasterise_first(&bytes, PDF_PREVIEW_WIDTH, self.inner.config.max_pdf_pages, 1)?;
                let first = pages.into_iter().next().ok_or(render::pdf::PdfProblem::NoPages)?;
                let luma: Vec<u8> = (0..first.height())
                    .flat_map(|y| (0..first.width()).map(move |x| (x, y)))
                    .map(|(x, y)| if first.get(x, y) { 0 } else { 255 })
                    .collect();
                image::GrayImage::from_raw(first.width(), first.height(), luma)
                    .ok_or_else(|| PrintError::InvalidDocument("the PDF page cannot be drawn".into()))?
            }
        };
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(image.as_raw(), image.width(), image.height(), image::ExtendedColorType::L8)
            .map_err(|error| PrintError::InvalidDocument(format!("cannot encode the preview: {error}")))?;
        Ok(png)
    }

    pub fn get(&self, origin: &str, id: &str) -> Result<PrintJob, PrintError> {
        match self.inner.store.print_job(id)? {
            Some(row) if row.origin == origin => Ok(job_from_row(&row)),
            _ => Err(PrintError::NotFound(id.to_string())),
        }
    }

    /// Cancels a job that has not started printing.
    pub fn cancel(&self, origin: &str, id: &str) -> Result<PrintJob, PrintError> {
        let job = self.get(origin, id)?;
        let moved = self.inner.store.transition_print_job(id, &["queued", "waiting"], "cancelled", None, now_ms())?;
        if !moved {
            let current = self.get(origin, id)?;
            if current.state == JobState::Cancelled {
                return Ok(current);
            }
            // Held half-printed by a stopped printer: the worker gives it up and records it.
            if current.state == JobState::Waiting {
                if let Some(token) = self.lock_printing().get(id) {
                    token.cancel();
                    return Ok(current);
                }
            }
            return Err(PrintError::NotCancellable(current.state.as_str()));
        }
        let _ = std::fs::remove_file(self.spool_path(id));
        let job = PrintJob { state: JobState::Cancelled, reason: None, ..job };
        self.publish(origin, &job);
        if let Some(wake) = self.inner.wake.get(&job.device) {
            wake.notify_one();
        }
        self.get(origin, id)
    }

    fn lock_printing(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancelToken>> {
        self.inner.printing.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A cancel token for the job the worker starts printing.
    pub(crate) fn track(&self, id: &str) -> CancelToken {
        let token = CancelToken::new();
        self.lock_printing().insert(id.to_string(), token.clone());
        token
    }

    pub(crate) fn untrack(&self, id: &str) {
        self.lock_printing().remove(id);
    }

    pub(crate) fn publish(&self, origin: &str, job: &PrintJob) {
        self.inner.events.publish(
            Some(origin),
            EventBody::PrintState {
                print_id: job.id.clone(),
                device: job.device.clone(),
                state: job.state.as_str().to_string(),
                reason: job.reason.clone(),
            },
        );
    }
}

fn write_synced(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
