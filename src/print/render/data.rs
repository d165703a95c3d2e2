//! Template data: parsed from the JSON a client sends, every problem named by its field path.
//! (Contract fixed by the lead; the A4 helper fills in the parsing.)

/// The office printed in headers and footers; comes from the station file's `[office]` section,
/// never from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Office {
    /// Line 1 of the header, upper case on paper: e.g. "UBND QUẬN BA ĐÌNH".
    pub parent_agency: String,
    /// Line 2: e.g. "UBND PHƯỜNG KIM MÃ".
    pub agency: String,
    /// e.g. "Bộ phận tiếp nhận và trả kết quả".
    pub unit: String,
    pub address: String,
    pub phone: Option<String>,
    /// Province or city for the date line: "Hà Nội, ngày 04 tháng 12 năm 2026".
    pub place: String,
    /// Extra lines printed at the foot of receipts (hotline, website…).
    pub footer_lines: Vec<String>,
}

pub const TEMPLATE_NAMES: [&str; 2] = ["dossier-receipt", "queue-ticket"];

#[derive(Debug, Clone, PartialEq)]
pub enum TemplateData {
    DossierReceipt(DossierReceipt),
    QueueTicket(QueueTicket),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentCopy {
    /// "Bản chính"
    Original,
    /// "Bản sao"
    Copy,
    /// "Bản sao có chứng thực"
    CertifiedCopy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedDocument {
    pub name: String,
    pub copy: DocumentCopy,
    pub count: u32,
}

/// "Giấy tiếp nhận hồ sơ và hẹn trả kết quả".
#[derive(Debug, Clone, PartialEq)]
pub struct DossierReceipt {
    /// `V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX`, e.g. `000.00.31.H26-261204-0001`.
    pub dossier_code: String,
    /// e.g. "Liên 1: Giao người nộp hồ sơ"; none → no label.
    pub copy_label: Option<String>,
    pub applicant_name: String,
    pub applicant_address: String,
    pub applicant_phone: Option<String>,
    pub applicant_email: Option<String>,
    pub procedure: String,
    pub documents: Vec<ReceivedDocument>,
    pub sets: u32,
    /// e.g. "05 ngày làm việc".
    pub processing_time: String,
    /// Local date and time received, `YYYY-MM-DDTHH:MM`, checked.
    pub received_at: String,
    /// Local appointment date and time, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`, checked, not before received_at.
    pub appointment_at: String,
    /// Where to collect the result, e.g. "Quầy số 3, Bộ phận tiếp nhận và trả kết quả".
    pub collect_at: String,
    /// The clerk who received the dossier (signature block).
    pub receiver_name: String,
    /// The dossier lookup link carried by the QR code (https:// only).
    pub lookup_url: String,
}

/// A queue ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueTicket {
    /// e.g. "A1023" — printed large.
    pub number: String,
    /// Service name, e.g. "Hộ tịch".
    pub service: String,
    /// Local date and time issued, `YYYY-MM-DDTHH:MM`.
    pub issued_at: String,
    pub waiting_ahead: u32,
    /// Counter labels that serve it, e.g. ["3", "4"].
    pub counters: Vec<String>,
    /// Link to follow the queue from a phone (QR); none → no QR.
    pub follow_url: Option<String>,
    /// Priority group label, e.g. "Người cao tuổi"; none → not printed.
    pub priority: Option<String>,
}

/// What is wrong with template data: every problem, each naming its field path (`documents[2].count`,
/// counted from 0 as in JSON).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown template `{0}` (known: dossier-receipt, queue-ticket)")]
    UnknownTemplate(String),
    #[error("template data is invalid: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

mod check;
#[cfg(test)]
mod tests;

use serde_json::Value;

use check::{Fields, Problems};

/// Most documents a receipt lists (the A4 form flows onto a second page well before that).
pub const MAX_DOCUMENTS: usize = 50;

/// Longest URL carried by a QR code, in bytes: a phone camera still reads the code at the sizes we print.
pub const MAX_URL_BYTES: usize = 500;

/// Parses and validates the JSON data of `template` (one of [`TEMPLATE_NAMES`]).
///
/// Every problem is collected, each naming its field path (`documents[1].count`). Text is trimmed,
/// inner runs of spaces are collapsed, and it is normalised to NFC; control characters and characters
/// the bundled printer font (DejaVu Sans) cannot draw are refused, as are fields the template does not
/// have. Optional text that is `null`, absent or blank is `None`.
///
/// URLs (`lookup_url`, `follow_url`) must be `https://` with a host, printable ASCII (percent-encode the
/// rest), at most [`MAX_URL_BYTES`] bytes. There is deliberately no `http://localhost` exception: the
/// code is scanned by a citizen's phone, for which the counter PC's loopback means nothing, and the
/// tests use `https://` addresses (nothing here fetches them).
///
/// The messages echo short pieces of the offending values so the clerk sees what to fix: they are for
/// the client that sent the data, never for a log line (citizen data).
pub fn parse(template: &str, data: &Value) -> Result<TemplateData, TemplateError> {
    match template {
        "dossier-receipt" => parse_dossier_receipt(data).map(TemplateData::DossierReceipt),
        "queue-ticket" => parse_queue_ticket(data).map(TemplateData::QueueTicket),
        other => Err(TemplateError::UnknownTemplate(check::shorten(other))),
    }
}

fn parse_dossier_receipt(data: &Value) -> Result<DossierReceipt, TemplateError> {
    let mut problems = Problems::default();
    let Some(fields) = Fields::of(&mut problems, "", data) else {
        return Err(problems.into_error());
    };
    let dossier_code = fields.dossier_code(&mut problems, "dossier_code");
    let copy_label = fields.optional_text(&mut problems, "copy_label", 100);
    let applicant_name = fields.text(&mut problems, "applicant_name", 150);
    let applicant_address = fields.text(&mut problems, "applicant_address", 300);
    let applicant_phone = fields.phone(&mut problems, "applicant_phone");
    let applicant_email = fields.email(&mut problems, "applicant_email");
    let procedure = fields.text(&mut problems, "procedure", 500);
    let documents = parse_documents(&mut problems, &fields);
    let sets = fields.optional_number(&mut problems, "sets", 1..=99).unwrap_or(1);
    let processing_time = fields.text(&mut problems, "processing_time", 100);
    let received_at = fields.date_time(&mut problems, "received_at", false);
    let appointment_at = fields.date_time(&mut problems, "appointment_at", true);
    let collect_at = fields.text(&mut problems, "collect_at", 300);
    let receiver_name = fields.text(&mut problems, "receiver_name", 150);
    let lookup_url = fields.url(&mut problems, "lookup_url");
    fields.refuse_unknown(
        &mut problems,
        &[
            "dossier_code",
            "copy_label",
            "applicant_name",
            "applicant_address",
            "applicant_phone",
            "applicant_email",
            "procedure",
            "documents",
            "sets",
            "processing_time",
            "received_at",
            "appointment_at",
            "collect_at",
            "receiver_name",
            "lookup_url",
        ],
    );
    if let (Some((received, received_text)), Some((appointment, appointment_text))) = (&received_at, &appointment_at) {
        if appointment.is_before(received) {
            problems.push(format!("`appointment_at` {appointment_text} is before `received_at` {received_text}"));
        }
    }
    problems.into_result(DossierReceipt {
        dossier_code: dossier_code.unwrap_or_default(),
        copy_label,
        applicant_name: applicant_name.unwrap_or_default(),
        applicant_address: applicant_address.unwrap_or_default(),
        applicant_phone,
        applicant_email,
        procedure: procedure.unwrap_or_default(),
        documents,
        sets,
        processing_time: processing_time.unwrap_or_default(),
        received_at: received_at.map(|(_, text)| text).unwrap_or_default(),
        appointment_at: appointment_at.map(|(_, text)| text).unwrap_or_default(),
        collect_at: collect_at.unwrap_or_default(),
        receiver_name: receiver_name.unwrap_or_default(),
        lookup_url: lookup_url.unwrap_or_default(),
    })
}

fn parse_documents(problems: &mut Problems, fields: &Fields<'_>) -> Vec<ReceivedDocument> {
    let Some(entries) = fields.list(problems, "documents", 1..=MAX_DOCUMENTS) else {
        return Vec::new();
    };
    let mut documents = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("documents[{i}]");
        let Some(document) = Fields::of(problems, &path, entry) else {
            continue;
        };
        let name = document.text(problems, "name", 300);
        let copy = document.choice(
            problems,
            "copy",
            &[
                ("original", DocumentCopy::Original),
                ("copy", DocumentCopy::Copy),
                ("certified_copy", DocumentCopy::CertifiedCopy),
            ],
        );
        let count = document.number(problems, "count", 1..=999);
        document.refuse_unknown(problems, &["name", "copy", "count"]);
        if let (Some(name), Some(copy), Some(count)) = (name, copy, count) {
            documents.push(ReceivedDocument { name, copy, count });
        }
    }
    documents
}

fn parse_queue_ticket(data: &Value) -> Result<QueueTicket, TemplateError> {
    let mut problems = Problems::default();
    let Some(fields) = Fields::of(&mut problems, "", data) else {
        return Err(problems.into_error());
    };
    let number = fields.ticket_number(&mut problems, "number");
    let service = fields.text(&mut problems, "service", 150);
    let issued_at = fields.date_time(&mut problems, "issued_at", false);
    let waiting_ahead = fields.number(&mut problems, "waiting_ahead", 0..=9999);
    let counters = parse_counters(&mut problems, &fields);
    let follow_url = fields.optional_url(&mut problems, "follow_url");
    let priority = fields.optional_text(&mut problems, "priority", 100);
    fields.refuse_unknown(
        &mut problems,
        &["number", "service", "issued_at", "waiting_ahead", "counters", "follow_url", "priority"],
    );
    problems.into_result(QueueTicket {
        number: number.unwrap_or_default(),
        service: service.unwrap_or_default(),
        issued_at: issued_at.map(|(_, text)| text).unwrap_or_default(),
        waiting_ahead: waiting_ahead.unwrap_or_default(),
        counters,
        follow_url,
        priority,
    })
}

/// `counters` is optional (no counters → none printed); each label is short text.
fn parse_counters(problems: &mut Problems, fields: &Fields<'_>) -> Vec<String> {
    let Some(entries) = fields.optional_list(problems, "counters", 0..=20) else {
        return Vec::new();
    };
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| check::text_value(problems, &format!("counters[{i}]"), entry, 20))
        .collect()
}

/// A local date with an optional time of day, as `received_at`, `appointment_at` and `issued_at` carry
/// them (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`). Parsed data always holds real calendar dates in 2000–2099.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    /// Hour and minute; none for a date alone.
    pub time: Option<(u8, u8)>,
}

impl LocalDateTime {
    /// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`; none unless it is a real date (2000–2099) and time.
    pub fn parse(text: &str) -> Option<LocalDateTime> {
        check::parse_local_date_time(text)
    }

    /// Whether `self` is earlier than `other`; a date alone compares by its day only.
    pub fn is_before(&self, other: &LocalDateTime) -> bool {
        let day = (self.year, self.month, self.day);
        let other_day = (other.year, other.month, other.day);
        match (self.time, other.time) {
            (Some(time), Some(other_time)) => (day, time) < (other_day, other_time),
            _ => day < other_day,
        }
    }
}
