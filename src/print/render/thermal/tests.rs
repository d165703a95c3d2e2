use counter_agent_driver_sim::escpos_preview::render_preview;

use super::*;
use crate::print::render::data::ReceivedDocument;

fn office() -> Office {
    Office {
        parent_agency: "UBND Quận Ba Đình".into(),
        agency: "UBND Phường Kim Mã".into(),
        unit: "Bộ phận tiếp nhận và trả kết quả".into(),
        address: "Số 2 Vạn Bảo, phường Kim Mã".into(),
        phone: Some("024 3846 1234".into()),
        place: "Hà Nội".into(),
        footer_lines: vec!["Đường dây nóng: 1022".into()],
    }
}

fn ticket() -> QueueTicket {
    QueueTicket {
        number: "A1023".into(),
        service: "Hộ tịch".into(),
        issued_at: "2026-12-04T08:15".into(),
        waiting_ahead: 7,
        counters: vec!["1".into(), "3".into()],
        follow_url: Some("https://motcua.example.gov.vn/hang-doi/A1023".into()),
        priority: Some("Người cao tuổi".into()),
    }
}

fn receipt(documents: usize) -> DossierReceipt {
    DossierReceipt {
        dossier_code: "000.00.31.H26-261204-0001".into(),
        copy_label: Some("Liên 1: Giao người nộp hồ sơ".into()),
        applicant_name: "Nguyễn Thị Hằng".into(),
        applicant_address: "Số 5 ngõ 12 Đào Tấn, phường Kim Mã".into(),
        applicant_phone: Some("0912 345 678".into()),
        applicant_email: None,
        procedure: "Đăng ký khai sinh".into(),
        documents: (0..documents)
            .map(|i| ReceivedDocument {
                name: format!("Giấy tờ số {}", i + 1),
                copy: DocumentCopy::CertifiedCopy,
                count: 1,
            })
            .collect(),
        sets: 1,
        processing_time: "01 ngày làm việc".into(),
        received_at: "2026-12-04T08:15".into(),
        appointment_at: "2026-12-07T14:00".into(),
        collect_at: "Quầy số 3".into(),
        receiver_name: "Trần Văn Bình".into(),
        lookup_url: "https://dichvucong.example.gov.vn/tra-cuu?ma=000.00.31.H26-261204-0001".into(),
    }
}

fn printer(width_dots: u32, cutter: bool, native_qr: bool) -> ThermalPrinter {
    ThermalPrinter { width_dots, cutter, native_qr, chinese_mode_off: !native_qr, trim_raster: native_qr }
}

fn decode_qr(image: &image::GrayImage) -> Vec<String> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(image.width() as usize, image.height() as usize, |x, y| {
            image.get_pixel(x as u32, y as u32).0[0]
        });
    prepared.detect_grids().iter().filter_map(|grid| grid.decode().ok().map(|(_, text)| text)).collect()
}

#[test]
fn queue_ticket_prints_as_raster_with_a_qr_that_decodes_and_one_cut() {
    for width in [384, 512, 576] {
        let bytes = queue_ticket(&office(), &ticket(), printer(width, true, false)).expect("fits");
        let preview = render_preview(&bytes, width).expect("our own bytes interpret");
        assert_eq!(preview.n_cuts, 1, "{width} dots");
        assert_eq!(preview.n_replaced, 0, "no text bytes: every letter is raster ({width} dots)");
        assert_eq!(decode_qr(&preview.image), ["https://motcua.example.gov.vn/hang-doi/A1023"], "{width} dots");
        // Clone profiles get FS . right after ESC @.
        assert!(bytes.starts_with(&[0x1B, b'@', 0x1C, b'.']));
    }
}

#[test]
fn printers_without_a_cutter_get_no_cut_and_native_qr_where_the_profile_says() {
    let bytes = queue_ticket(&office(), &ticket(), printer(384, false, true)).expect("fits");
    let preview = render_preview(&bytes, 384).expect("interprets");
    assert_eq!(preview.n_cuts, 0);
    assert_eq!(preview.n_qr_codes, 1, "GS ( k print function sent");
    assert!(bytes.starts_with(&[0x1B, b'@']) && !bytes.starts_with(&[0x1B, b'@', 0x1C, b'.']));
    // No QR at all when the ticket has no link.
    let without = QueueTicket { follow_url: None, ..ticket() };
    let bytes = queue_ticket(&office(), &without, printer(576, true, false)).expect("fits");
    assert!(decode_qr(&render_preview(&bytes, 576).expect("interprets").image).is_empty());
}

#[test]
fn dossier_receipt_on_80mm_carries_the_lookup_qr_and_grows_with_its_documents() {
    let short = dossier_receipt(&office(), &receipt(1), printer(576, true, false)).expect("fits");
    let long = dossier_receipt(&office(), &receipt(20), printer(576, true, false)).expect("fits");
    let short_preview = render_preview(&short, 576).expect("interprets");
    let long_preview = render_preview(&long, 576).expect("interprets");
    assert_eq!(decode_qr(&short_preview.image), [receipt(1).lookup_url]);
    assert_eq!(short_preview.n_replaced, 0);
    // Nineteen more document lines, each at least one text line high.
    assert!(long_preview.image.height() >= short_preview.image.height() + 19 * 26);
}

#[test]
fn dates_read_the_vietnamese_way() {
    assert_eq!(time_and_date("2026-12-04T08:15"), "08:15 thứ Sáu, 04/12/2026");
    assert_eq!(time_and_date("2024-02-29"), "thứ Năm, 29/02/2024");
    assert_eq!(time_and_date("2027-01-03T00:00"), "00:00 Chủ nhật, 03/01/2027");
    assert_eq!(long_time("2026-12-07T14:00"), "14 giờ 00 phút, ngày 07/12/2026");
    assert_eq!(long_time("2026-12-07"), "ngày 07/12/2026");
    assert_eq!(weekday(1970, 1, 1), "thứ Năm");
    assert_eq!(weekday(2000, 3, 1), "thứ Tư");
}

#[test]
fn a_long_ticket_number_shrinks_to_stay_on_one_line() {
    let long = QueueTicket { number: "A-12345678".into(), follow_url: None, ..ticket() };
    let short = QueueTicket { follow_url: None, ..ticket() };
    let height = |ticket: &QueueTicket| {
        let bytes = queue_ticket(&office(), ticket, printer(384, false, false)).expect("fits");
        render_preview(&bytes, 384).expect("interprets").image.height()
    };
    // A second line of the number would add about 90 rows at 384 dots; a smaller single line is
    // not taller than the short number's line.
    assert!(height(&long) <= height(&short), "{} vs {}", height(&long), height(&short));
}
