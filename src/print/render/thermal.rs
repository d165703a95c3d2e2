//! Templates on a thermal (ESC/POS) printer: every line of Vietnamese drawn as raster with the
//! bundled font (never a code page), the QR code native where the profile says the printer draws
//! it, otherwise as dots; a cut only on models with a cutter. Pure: data in, bytes out.

use counter_agent_driver_escpos::encoder::EncodeError;
use counter_agent_driver_escpos::text::{Align, Face, TextStyle};
use counter_agent_driver_escpos::{Cut, Encoder, EncoderOptions, QrEcc};

use super::data::{DocumentCopy, DossierReceipt, Office, QueueTicket};

/// What a template needs to know about the thermal printer (from its profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThermalPrinter {
    pub width_dots: u32,
    pub cutter: bool,
    pub native_qr: bool,
    pub chinese_mode_off: bool,
    /// `GS L` honoured: raster bands sent from their first to their last inked column.
    pub trim_raster: bool,
}

impl ThermalPrinter {
    pub fn of(settings: &counter_agent_driver_api::PrinterSettings) -> ThermalPrinter {
        ThermalPrinter {
            width_dots: settings.printable_dots,
            cutter: settings.cutter,
            native_qr: settings.escpos.native_qr,
            chinese_mode_off: settings.escpos.chinese_mode_off,
            trim_raster: settings.escpos.trim_raster,
        }
    }
}

/// Pages drawn elsewhere (a PDF's) one after the other, with one cut at the end.
pub fn raster_pages(
    pages: &[counter_agent_driver_escpos::Bitmap],
    printer: ThermalPrinter,
) -> Result<Vec<u8>, EncodeError> {
    let mut out = Ticket::new(printer);
    for page in pages {
        out.encoder.raster(page)?;
    }
    Ok(out.finish())
}

/// Body text size in dots: about 3 mm at 203 dpi, read without glasses by most people.
const BODY: f32 = 26.0;
const SMALL: f32 = 22.0;

struct Ticket {
    encoder: Encoder,
    printer: ThermalPrinter,
}

impl Ticket {
    fn new(printer: ThermalPrinter) -> Ticket {
        let mut options = EncoderOptions::new(printer.width_dots);
        options.cancel_chinese_mode = printer.chinese_mode_off;
        options.cutter = printer.cutter;
        options.trim_bands = printer.trim_raster;
        Ticket { encoder: Encoder::new(options), printer }
    }

    fn line(&mut self, text: &str, face: Face, size: f32, align: Align) -> Result<&mut Ticket, EncodeError> {
        if !text.trim().is_empty() {
            self.encoder.text(text, TextStyle::new(face, size, align))?;
        }
        Ok(self)
    }

    fn centre(&mut self, text: &str, face: Face, size: f32) -> Result<&mut Ticket, EncodeError> {
        self.line(text, face, size, Align::Center)
    }

    fn left(&mut self, text: &str) -> Result<&mut Ticket, EncodeError> {
        self.line(text, Face::Regular, BODY, Align::Left)
    }

    fn feed(&mut self, dots: u32) -> &mut Ticket {
        self.encoder.feed(dots);
        self
    }

    /// A QR code about a third of the paper wide, with its caption.
    fn qr(&mut self, data: &str, caption: &str) -> Result<&mut Ticket, EncodeError> {
        let module = if self.printer.width_dots >= 512 { 6 } else { 4 };
        if self.printer.native_qr {
            self.encoder.qr(data.as_bytes(), module, QrEcc::Medium)?;
        } else {
            self.encoder.qr_raster(data.as_bytes(), module, QrEcc::Medium, Align::Center)?;
        }
        self.centre(caption, Face::Regular, SMALL)
    }

    fn office(&mut self, office: &Office) -> Result<&mut Ticket, EncodeError> {
        self.centre(&office.agency.to_uppercase(), Face::Bold, BODY)?;
        self.centre(&office.unit, Face::Regular, SMALL)?;
        Ok(self.feed(12))
    }

    fn footer(&mut self, office: &Office) -> Result<&mut Ticket, EncodeError> {
        if !office.footer_lines.is_empty() {
            self.feed(12);
            self.centre(&office.footer_lines.join("\n"), Face::Regular, SMALL)?;
        }
        Ok(self)
    }

    fn finish(mut self) -> Vec<u8> {
        if self.printer.cutter {
            self.encoder.cut(Cut::Partial);
        } else {
            // Tear bar: feed the last line past it (about 15 mm).
            self.encoder.feed(120);
        }
        self.encoder.finish()
    }
}

/// A queue ticket: the number large, the service, people waiting ahead, counters, time, QR.
pub fn queue_ticket(office: &Office, ticket: &QueueTicket, printer: ThermalPrinter) -> Result<Vec<u8>, EncodeError> {
    let mut out = Ticket::new(printer);
    out.office(office)?;
    out.centre("SỐ THỨ TỰ CỦA QUÝ VỊ", Face::Regular, BODY)?;
    // The number is as large as the paper allows, on one line: a long one is made smaller.
    let mut number_size = (printer.width_dots as f32 * 0.24).clamp(72.0, 160.0);
    let fits = |size: f32| {
        counter_agent_driver_escpos::text::measure(&ticket.number, TextStyle::new(Face::Bold, size, Align::Center))
            <= printer.width_dots as f32
    };
    while number_size > 24.0 && !fits(number_size) {
        number_size -= 8.0;
    }
    out.centre(&ticket.number, Face::Bold, number_size)?;
    out.centre(&ticket.service, Face::Bold, 30.0)?;
    if let Some(priority) = &ticket.priority {
        out.centre(&format!("Ưu tiên: {priority}"), Face::Bold, BODY)?;
    }
    out.feed(8);
    let counters = match ticket.counters.as_slice() {
        [] => String::new(),
        [one] => format!("Quầy phục vụ: số {one}"),
        many => format!("Quầy phục vụ: {}", many.join(", ")),
    };
    let lines = [
        format!("Số người đang chờ trước quý vị: {}", ticket.waiting_ahead),
        counters,
        format!("Lấy số lúc {}", time_and_date(&ticket.issued_at)),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).filter(|line| !line.is_empty()).collect();
    out.centre(&lines.join("\n"), Face::Regular, BODY)?;
    if let Some(url) = &ticket.follow_url {
        out.feed(12);
        out.qr(url, "Quét mã để theo dõi lượt của quý vị")?;
    }
    out.footer(office)?;
    Ok(out.finish())
}

/// The 80 mm variant of "Giấy tiếp nhận hồ sơ và hẹn trả kết quả".
pub fn dossier_receipt(
    office: &Office,
    receipt: &DossierReceipt,
    printer: ThermalPrinter,
) -> Result<Vec<u8>, EncodeError> {
    let mut out = Ticket::new(printer);
    out.centre(&office.parent_agency.to_uppercase(), Face::Regular, SMALL)?;
    out.office(office)?;
    out.centre("GIẤY TIẾP NHẬN HỒ SƠ\nVÀ HẸN TRẢ KẾT QUẢ", Face::Bold, 30.0)?;
    if let Some(label) = &receipt.copy_label {
        out.centre(label, Face::Regular, SMALL)?;
    }
    out.feed(8);
    out.centre(&format!("Mã hồ sơ: {}", receipt.dossier_code), Face::Bold, BODY)?;
    out.feed(8);
    out.left(&format!("Người nộp: {}", receipt.applicant_name))?;
    out.left(&format!("Địa chỉ: {}", receipt.applicant_address))?;
    if let Some(phone) = &receipt.applicant_phone {
        out.left(&format!("Điện thoại: {phone}"))?;
    }
    if let Some(email) = &receipt.applicant_email {
        out.left(&format!("Email: {email}"))?;
    }
    out.left(&format!("Thủ tục: {}", receipt.procedure))?;
    out.feed(8);
    out.line("Giấy tờ đã nhận:", Face::Bold, BODY, Align::Left)?;
    for (i, document) in receipt.documents.iter().enumerate() {
        out.left(&format!("{}. {} — {}: {:02}", i + 1, document.name, copy_name(document.copy), document.count))?;
    }
    out.feed(8);
    let times = [
        format!("Số lượng hồ sơ: {:02} bộ", receipt.sets),
        format!("Thời hạn giải quyết: {}", receipt.processing_time),
        format!("Nhận hồ sơ: {}", long_time(&receipt.received_at)),
        format!("Hẹn trả kết quả: {}", long_time(&receipt.appointment_at)),
        format!("Nhận kết quả tại: {}", receipt.collect_at),
        format!("Người tiếp nhận: {}", receipt.receiver_name),
    ];
    out.left(&times.join("\n"))?;
    out.feed(12);
    out.qr(&receipt.lookup_url, "Quét mã để tra cứu hồ sơ")?;
    let address = match &office.phone {
        Some(phone) => format!("{}\nĐiện thoại: {phone}", office.address),
        None => office.address.clone(),
    };
    out.feed(8);
    out.centre(&address, Face::Regular, SMALL)?;
    out.footer(office)?;
    Ok(out.finish())
}

pub fn copy_name(copy: DocumentCopy) -> &'static str {
    match copy {
        DocumentCopy::Original => "Bản chính",
        DocumentCopy::Copy => "Bản sao",
        DocumentCopy::CertifiedCopy => "Bản sao có chứng thực",
    }
}

/// `2026-12-04T08:15` → `08:15 thứ Sáu, 04/12/2026` (date only: `thứ Sáu, 04/12/2026`).
/// The data was validated, so a malformed value is printed as it came.
fn time_and_date(value: &str) -> String {
    match split(value) {
        Some((y, m, d, Some((hh, mm)))) => format!("{hh:02}:{mm:02} {}, {d:02}/{m:02}/{y}", weekday(y, m, d)),
        Some((y, m, d, None)) => format!("{}, {d:02}/{m:02}/{y}", weekday(y, m, d)),
        None => value.to_string(),
    }
}

/// `2026-12-04T08:15` → `08 giờ 15 phút, ngày 04/12/2026`, as the legal form writes it.
fn long_time(value: &str) -> String {
    match split(value) {
        Some((y, m, d, Some((hh, mm)))) => format!("{hh:02} giờ {mm:02} phút, ngày {d:02}/{m:02}/{y}"),
        Some((y, m, d, None)) => format!("ngày {d:02}/{m:02}/{y}"),
        None => value.to_string(),
    }
}

type Parts = (i32, u32, u32, Option<(u32, u32)>);

fn split(value: &str) -> Option<Parts> {
    let (date, time) = match value.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (value, None),
    };
    let mut parts = date.splitn(3, '-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    let time = match time {
        Some(time) => {
            let (hh, mm) = time.split_once(':')?;
            Some((hh.parse().ok()?, mm.get(..2).unwrap_or(mm).parse().ok()?))
        }
        None => None,
    };
    Some((y, m, d, time))
}

/// Vietnamese day of the week of a Gregorian date.
fn weekday(y: i32, m: u32, d: u32) -> &'static str {
    // Days since 1970-01-01 (Howard Hinnant's days_from_civil); that day was a Thursday.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    const NAMES: [&str; 7] = ["thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật", "thứ Hai", "thứ Ba", "thứ Tư"];
    NAMES[days.rem_euclid(7) as usize]
}

#[cfg(test)]
mod tests;
