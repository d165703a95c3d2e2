//! A4 PDF rendering: the dossier receipt "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" (Circular
//! 01/2018/TT-VPCP form), laid out like the official form: the two-column national header, the dossier
//! code, the numbered items with the table of documents, a QR code for looking the dossier up, the two
//! signature blocks and the office's address at the foot.
//!
//! Pure: data in, PDF bytes out. Text is set in the bundled DejaVu Sans, embedded as subsets with a
//! `ToUnicode` map (see [`font`]); long text wraps inside its column and a long receipt flows onto more
//! pages (the table's header repeats, pages are numbered) rather than overprinting.

pub(in crate::print::render) mod font;
mod layout;
#[cfg(test)]
mod tests;
mod writer;

use qrcode::{Color, EcLevel, QrCode};
use unicode_normalization::UnicodeNormalization;

use super::data::{DocumentCopy, DossierReceipt, LocalDateTime, Office};
use font::{text_width, Weight};
use layout::{bold, line_height, regular, wrap, Align, Block, Flow, Line, Op, Span, MM};

/// Sizes in points.
const HEADER_SIZE: f32 = 11.0;
const TITLE_SIZE: f32 = 14.0;
const BODY_SIZE: f32 = 11.5;
const TABLE_SIZE: f32 = 10.0;
const SMALL_SIZE: f32 = 9.0;
const FOOT_SIZE: f32 = 8.5;

const QR_CAPTION: &str = "Quét mã để tra cứu hồ sơ";

/// Space between the numbered items.
const ITEM_GAP: f32 = 2.5;

/// The QR code's side, and its smallest module (0.5 mm reads well from a laser print).
const QR_SIDE: f32 = 26.0 * MM;
const QR_MIN_MODULE: f32 = 0.5 * MM;

const NATIONAL_TITLE: &str = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM";

/// Space kept for a signature.
const SIGNATURE_SPACE: f32 = 62.0;

/// The receipt as a PDF (one A4 page for a usual dossier, more when the text needs them).
pub fn dossier_receipt_pdf(office: &Office, receipt: &DossierReceipt) -> Vec<u8> {
    let flow = lay_out(office, receipt);
    let title = format!("Giấy tiếp nhận hồ sơ và hẹn trả kết quả {}", nfc(&receipt.dossier_code));
    writer::write(&flow.pages, &title)
}

/// The receipt's pages, drawn.
fn lay_out(office: &Office, receipt: &DossierReceipt) -> Flow {
    let mut flow = Flow::new(30.0 * MM, 20.0 * MM, 18.0 * MM, 18.0 * MM);
    header(&mut flow, office, receipt);
    body(&mut flow, office, receipt);
    signatures(&mut flow, receipt);
    foot(&mut flow, office);
    number_pages(&mut flow, receipt);
    flow
}

/// Text as printed: NFC (the font has one glyph per precomposed Vietnamese letter; decomposed marks
/// would not be positioned).
fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// Upper case in Vietnamese (Rust's mapping handles every Vietnamese letter), then NFC.
fn upper(text: &str) -> String {
    nfc(&nfc(text).to_uppercase())
}

fn header(flow: &mut Flow, office: &Office, receipt: &DossierReceipt) {
    let width = flow.width();
    // The right column is as wide as the national title needs; the left one takes the rest.
    let right_width = (text_width(Weight::Bold, NATIONAL_TITLE, HEADER_SIZE) + 12.0).clamp(width * 0.5, width * 0.6);
    let left_width = width - right_width;

    let mut left = Block::default();
    left.text(&[regular(upper(&office.parent_agency))], HEADER_SIZE, left_width);
    left.text(&[bold(upper(&office.agency))], HEADER_SIZE, left_width);
    left.text(&[bold(upper(&office.unit))], HEADER_SIZE, left_width);
    left.rule_under(0.4);

    let mut right = Block::default();
    right.text(&[bold(NATIONAL_TITLE)], HEADER_SIZE, right_width);
    right.text(&[bold("Độc lập - Tự do - Hạnh phúc")], HEADER_SIZE + 0.5, right_width);
    right.rule_under(1.0);
    right.gap(8.0);
    let place_date = match LocalDateTime::parse(&receipt.received_at) {
        Some(at) => format!("{}, ngày {:02} tháng {:02} năm {}", nfc(&office.place), at.day, at.month, at.year),
        None => format!("{}, {}", nfc(&office.place), receipt.received_at),
    };
    right.text(&[regular(place_date)], BODY_SIZE - 0.5, right_width);

    let top = flow.y;
    left.draw(flow, top, flow.left, left_width);
    right.draw(flow, top, flow.left + left_width, right_width);
    flow.y = top - left.height().max(right.height()) - 8.0;

    // The dossier code on the left, the copy label on the right of the same line when both fit.
    let code_line = wrap(&[regular("Mã hồ sơ: "), bold(nfc(&receipt.dossier_code))], BODY_SIZE, width);
    let label_line = receipt
        .copy_label
        .as_deref()
        .map(|label| wrap(&[regular(format!("({})", nfc(label)))], SMALL_SIZE + 0.5, width));
    let code_width = code_line.first().map_or(0.0, |line| line.width);
    match label_line {
        Some(label) if code_line.len() == 1 && label.len() == 1 && code_width + label[0].width + 12.0 < width => {
            let top = flow.y;
            flow.draw_line(&code_line[0], BODY_SIZE, top, flow.left, width, Align::Left);
            flow.draw_line(&label[0], SMALL_SIZE + 0.5, top - 1.0, flow.left, width, Align::Right);
            flow.gap(line_height(BODY_SIZE));
        }
        label => {
            draw_lines(flow, &code_line, BODY_SIZE, Align::Left);
            if let Some(label) = label {
                draw_lines(flow, &label, SMALL_SIZE + 0.5, Align::Right);
            }
        }
    }
    flow.gap(10.0);
    flow.paragraph(&[bold("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")], TITLE_SIZE, Align::Center);
    flow.gap(8.0);
}

fn draw_lines(flow: &mut Flow, lines: &[Line], size: f32, align: Align) {
    for line in lines {
        flow.ensure(line_height(size));
        let (top, left, width) = (flow.y, flow.left, flow.width());
        flow.draw_line(line, size, top, left, width, align);
        flow.gap(line_height(size));
    }
}

fn body(flow: &mut Flow, office: &Office, receipt: &DossierReceipt) {
    flow.paragraph(&[regular(format!("{} tiếp nhận hồ sơ của:", nfc(&office.unit)))], BODY_SIZE, Align::Left);
    flow.paragraph(&[regular("Ông/Bà: "), bold(nfc(&receipt.applicant_name))], BODY_SIZE, Align::Left);
    flow.paragraph(&[regular("Địa chỉ: "), regular(nfc(&receipt.applicant_address))], BODY_SIZE, Align::Left);
    let mut contact: Vec<Span> = Vec::new();
    if let Some(phone) = &receipt.applicant_phone {
        contact.extend([regular("Số điện thoại: "), regular(nfc(phone))]);
    }
    if let Some(email) = &receipt.applicant_email {
        if !contact.is_empty() {
            contact.push(regular("; "));
        }
        contact.extend([regular("Email: "), regular(nfc(email))]);
    }
    if !contact.is_empty() {
        flow.paragraph(&contact, BODY_SIZE, Align::Left);
    }
    flow.paragraph(&[regular("Nội dung yêu cầu giải quyết: "), bold(nfc(&receipt.procedure))], BODY_SIZE, Align::Left);
    flow.gap(ITEM_GAP);
    flow.paragraph(&[regular("1. Thành phần hồ sơ nộp gồm:")], BODY_SIZE, Align::Left);
    flow.gap(3.0);
    documents_table(flow, receipt);
    flow.gap(6.0);
    let items: [Vec<Span>; 5] = [
        vec![regular("2. Số lượng hồ sơ: "), bold(format!("{:02} bộ", receipt.sets))],
        vec![regular("3. Thời gian giải quyết hồ sơ theo quy định: "), bold(nfc(&receipt.processing_time))],
        vec![regular("4. Thời gian nhận hồ sơ: "), regular(when(&receipt.received_at))],
        vec![regular("5. Thời gian trả kết quả giải quyết hồ sơ: "), bold(when(&receipt.appointment_at))],
        vec![regular("6. Nhận kết quả tại: "), regular(nfc(&receipt.collect_at))],
    ];
    for item in items {
        flow.paragraph(&item, BODY_SIZE, Align::Left);
        flow.gap(ITEM_GAP);
    }
}

/// "08 giờ 15 phút, ngày 04/12/2026", or "ngày 11/12/2026" for a date alone.
fn when(text: &str) -> String {
    match LocalDateTime::parse(text) {
        Some(LocalDateTime { year, month, day, time: Some((hour, minute)) }) => {
            format!("{hour:02} giờ {minute:02} phút, ngày {day:02}/{month:02}/{year}")
        }
        Some(LocalDateTime { year, month, day, time: None }) => format!("ngày {day:02}/{month:02}/{year}"),
        None => nfc(text),
    }
}

fn copy_name(copy: DocumentCopy) -> &'static str {
    match copy {
        DocumentCopy::Original => "Bản chính",
        DocumentCopy::Copy => "Bản sao",
        DocumentCopy::CertifiedCopy => "Bản sao có chứng thực",
    }
}

/// Column widths of the documents table: number, name (the rest), kind of copy, count.
fn table_columns(width: f32) -> [f32; 4] {
    let fit = |weight, text| text_width(weight, text, TABLE_SIZE) + 2.0 * CELL_PAD_X + 2.0;
    let number = fit(Weight::Bold, "STT");
    let copy = fit(Weight::Regular, copy_name(DocumentCopy::CertifiedCopy));
    let count = fit(Weight::Bold, "Số lượng");
    [number, width - number - copy - count, copy, count]
}

/// A table row: each cell's wrapped lines and alignment.
struct Row {
    cells: [(Vec<Line>, Align); 4],
    size: f32,
}

const CELL_PAD_X: f32 = 4.0;
const CELL_PAD_Y: f32 = 3.0;
/// Table lines sit a little closer than body lines.
const TABLE_LEADING: f32 = 1.2;

impl Row {
    fn new(texts: [(Vec<Span>, Align); 4], size: f32, columns: &[f32; 4]) -> Row {
        let mut cells = texts.map(|(spans, align)| (spans, align, Vec::new()));
        for (cell, width) in cells.iter_mut().zip(columns) {
            cell.2 = wrap(&cell.0, size, width - 2.0 * CELL_PAD_X);
        }
        Row { cells: cells.map(|(_, align, lines)| (lines, align)), size }
    }

    fn height(&self) -> f32 {
        let n_lines = self.cells.iter().map(|(lines, _)| lines.len()).max().unwrap_or(1).max(1);
        n_lines as f32 * self.size * TABLE_LEADING + 2.0 * CELL_PAD_Y
    }

    /// Draws the row with its top at the cursor, borders included, and moves the cursor under it.
    fn draw(&self, flow: &mut Flow, columns: &[f32; 4], top_rule: bool) {
        let (top, height) = (flow.y, self.height());
        let bottom = top - height;
        let mut x = flow.left;
        for ((lines, align), width) in self.cells.iter().zip(columns) {
            let mut y = top - CELL_PAD_Y;
            for line in lines {
                flow.draw_line(line, self.size, y, x + CELL_PAD_X, width - 2.0 * CELL_PAD_X, *align);
                y -= self.size * TABLE_LEADING;
            }
            flow.push(Op::Line { x1: x, y1: top, x2: x, y2: bottom, width: 0.6 });
            x += width;
        }
        flow.push(Op::Line { x1: x, y1: top, x2: x, y2: bottom, width: 0.6 });
        if top_rule {
            flow.rule(flow.left, x, top, 0.6);
        }
        flow.rule(flow.left, x, bottom, 0.6);
        flow.y = bottom;
    }
}

/// The numbered documents; rows never split, and the header row repeats on a new page.
fn documents_table(flow: &mut Flow, receipt: &DossierReceipt) {
    let columns = table_columns(flow.width());
    let header = Row::new(
        [
            (vec![bold("STT")], Align::Center),
            (vec![bold("Tên giấy tờ")], Align::Center),
            (vec![bold("Hình thức")], Align::Center),
            (vec![bold("Số lượng")], Align::Center),
        ],
        TABLE_SIZE,
        &columns,
    );
    let rows = receipt.documents.iter().enumerate().map(|(i, document)| {
        Row::new(
            [
                (vec![regular(format!("{}", i + 1))], Align::Center),
                (vec![regular(nfc(&document.name))], Align::Left),
                (vec![regular(copy_name(document.copy))], Align::Center),
                (vec![regular(format!("{:02}", document.count))], Align::Center),
            ],
            TABLE_SIZE,
            &columns,
        )
    });
    flow.ensure(header.height() + line_height(TABLE_SIZE) * 2.0);
    header.draw(flow, &columns, true);
    for row in rows {
        if flow.ensure(row.height()) {
            header.draw(flow, &columns, true);
        }
        row.draw(flow, &columns, false);
    }
}

/// The QR code of the lookup link: dark modules as filled rectangles (one per horizontal run), its
/// caption under it, all centred in [`x`, `x + width`] from `top` down. Returns the height used.
fn draw_qr_code(flow: &mut Flow, code: &QrCode, top: f32, x: f32, width: f32) -> f32 {
    let n_modules = code.width();
    let (module, side) = qr_module_and_side(code);
    let x0 = x + (width - side) / 2.0;
    let colors = code.to_colors();
    for (row, modules) in colors.chunks(n_modules).enumerate() {
        let y = top - (row as f32 + 1.0) * module;
        let mut column = 0;
        while column < n_modules {
            if modules[column] == Color::Dark {
                let start = column;
                while column < n_modules && modules[column] == Color::Dark {
                    column += 1;
                }
                flow.fill(x0 + start as f32 * module, y, (column - start) as f32 * module, module);
            } else {
                column += 1;
            }
        }
    }
    let mut caption_top = top - side - 3.0;
    for line in wrap(&[regular(QR_CAPTION)], SMALL_SIZE, width) {
        flow.draw_line(&line, SMALL_SIZE, caption_top, x, width, Align::Center);
        caption_top -= line_height(SMALL_SIZE);
    }
    top - caption_top
}

/// A module's side and the code's side (no quiet zone: the page around it is white).
fn qr_module_and_side(code: &QrCode) -> (f32, f32) {
    let n_modules = code.width() as f32;
    let module = (QR_SIDE / n_modules).max(QR_MIN_MODULE);
    (module, module * n_modules)
}

/// The two signature blocks, with the QR code between them; kept together on one page. A link that
/// cannot be encoded (not expected: data limits keep it short) is printed as text instead.
fn signatures(flow: &mut Flow, receipt: &DossierReceipt) {
    let code = QrCode::with_error_correction_level(receipt.lookup_url.as_bytes(), EcLevel::M).ok();
    if code.is_none() {
        flow.paragraph(
            &[regular("Tra cứu hồ sơ tại: "), regular(receipt.lookup_url.as_str())],
            SMALL_SIZE,
            Align::Left,
        );
    }
    let middle = if code.is_some() { text_width(Weight::Regular, QR_CAPTION, SMALL_SIZE) + 10.0 } else { 0.0 };
    let side = (flow.width() - middle) / 2.0;
    let mut applicant = Block::default();
    applicant.text(&[bold("NGƯỜI NỘP HỒ SƠ")], HEADER_SIZE, side);
    applicant.text(&[regular("(Ký và ghi rõ họ tên)")], SMALL_SIZE + 0.5, side);
    let mut receiver = Block::default();
    receiver.text(&[bold("NGƯỜI TIẾP NHẬN HỒ SƠ")], HEADER_SIZE, side);
    receiver.text(&[regular("(Ký và ghi rõ họ tên)")], SMALL_SIZE + 0.5, side);
    receiver.gap(SIGNATURE_SPACE);
    receiver.text(&[bold(nfc(&receipt.receiver_name))], BODY_SIZE, side);
    let qr_height = code.as_ref().map_or(0.0, |code| qr_module_and_side(code).1 + 3.0 + line_height(SMALL_SIZE));
    let height = applicant.height().max(receiver.height()).max(qr_height);
    flow.gap(8.0);
    flow.ensure(height);
    let top = flow.y;
    applicant.draw(flow, top, flow.left, side);
    receiver.draw(flow, top, flow.right - side, side);
    let mut used = height;
    if let Some(code) = &code {
        let x = flow.left + side;
        used = used.max(draw_qr_code(flow, code, top, x, middle));
    }
    flow.y = top - used;
}

/// The office's address and phone and the footer lines, at the bottom of the last page above its
/// margin (on a new page when the signatures left no room).
fn foot(flow: &mut Flow, office: &Office) {
    let mut lines = Vec::new();
    let mut contact = vec![regular(format!("Địa chỉ: {}", nfc(&office.address)))];
    if let Some(phone) = &office.phone {
        contact.push(regular(format!(" - Điện thoại: {}", nfc(phone))));
    }
    lines.extend(wrap(&contact, FOOT_SIZE, flow.width()));
    for footer in &office.footer_lines {
        lines.extend(wrap(&[regular(nfc(footer))], FOOT_SIZE, flow.width()));
    }
    let height = lines.len() as f32 * line_height(FOOT_SIZE) + 5.0;
    flow.gap(10.0);
    flow.ensure(height);
    let mut y = flow.bottom + height;
    flow.rule(flow.left, flow.right, y, 0.4);
    y -= 4.0;
    for line in &lines {
        let (left, width) = (flow.left, flow.width());
        flow.draw_line(line, FOOT_SIZE, y, left, width, Align::Center);
        y -= line_height(FOOT_SIZE);
    }
    flow.y = flow.bottom;
}

/// "Mã hồ sơ … - Trang 1/2" in the bottom margin when there is more than one page.
fn number_pages(flow: &mut Flow, receipt: &DossierReceipt) {
    let n_pages = flow.pages.len();
    if n_pages < 2 {
        return;
    }
    let y = flow.bottom - 14.0;
    for (i, page) in flow.pages.iter_mut().enumerate() {
        let text = format!("Mã hồ sơ {} - Trang {}/{}", nfc(&receipt.dossier_code), i + 1, n_pages);
        let x = flow.right - text_width(Weight::Regular, &text, FOOT_SIZE);
        page.push(Op::Text { x, y, size: FOOT_SIZE, weight: Weight::Regular, text });
    }
}
