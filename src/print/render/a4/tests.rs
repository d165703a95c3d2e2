//! The receipt checked the way a reader sees it: Debian's poppler tools (`pdffonts`, `pdftotext`,
//! `pdfinfo`, `pdftoppm`) read the PDF, and the QR code is decoded from a render. A missing tool fails
//! the test with the install command; it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use unicode_normalization::UnicodeNormalization;

use super::*;
use crate::print::render::data::ReceivedDocument;

fn office() -> Office {
    Office {
        parent_agency: "UBND quận Ba Đình".into(),
        agency: "UBND phường Kim Mã".into(),
        unit: "Bộ phận tiếp nhận và trả kết quả".into(),
        address: "Số 2 phố Núi Trúc, Phường Kim Mã, Quận Ba Đình, Hà Nội".into(),
        phone: Some("024 3846 1234".into()),
        place: "Hà Nội".into(),
        footer_lines: vec!["Tra cứu hồ sơ: dichvucong.hanoi.gov.vn - Đường dây nóng: 1900 1234".into()],
    }
}

fn document(name: &str, copy: DocumentCopy, count: u32) -> ReceivedDocument {
    ReceivedDocument { name: name.into(), copy, count }
}

fn receipt() -> DossierReceipt {
    DossierReceipt {
        dossier_code: "000.00.31.H26-261204-0001".into(),
        copy_label: Some("Liên 1: Giao người nộp hồ sơ".into()),
        applicant_name: "Nguyễn Thị Hằng".into(),
        applicant_address: "Số 12 ngõ 5 phố Kim Mã, Phường Kim Mã, Quận Ba Đình, Hà Nội".into(),
        applicant_phone: Some("0912 345 678".into()),
        applicant_email: Some("hang.nguyen@example.vn".into()),
        procedure: "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất".into(),
        documents: vec![
            document(
                "Đơn đăng ký biến động đất đai, tài sản gắn liền với đất (Mẫu số 11/ĐK)",
                DocumentCopy::Original,
                1,
            ),
            document("Giấy chứng nhận quyền sử dụng đất", DocumentCopy::Original, 1),
            document("Hợp đồng chuyển nhượng quyền sử dụng đất", DocumentCopy::CertifiedCopy, 2),
            document("Căn cước công dân của bên nhận chuyển nhượng", DocumentCopy::Copy, 1),
        ],
        sets: 1,
        processing_time: "10 ngày làm việc".into(),
        received_at: "2026-12-04T08:15".into(),
        appointment_at: "2026-12-18T14:00".into(),
        collect_at: "Quầy số 3, Bộ phận tiếp nhận và trả kết quả UBND phường Kim Mã".into(),
        receiver_name: "Trần Văn Minh".into(),
        lookup_url: "https://dichvucong.example.gov.vn/tra-cuu?ma=000.00.31.H26-261204-0001".into(),
    }
}

/// A receipt whose every text is decomposed (NFD), as some keyboards and copied PDFs produce.
fn decomposed(receipt: &DossierReceipt) -> DossierReceipt {
    let nfd = |text: &str| -> String { text.nfd().collect() };
    let mut out = receipt.clone();
    out.applicant_name = nfd(&receipt.applicant_name);
    out.applicant_address = nfd(&receipt.applicant_address);
    out.procedure = nfd(&receipt.procedure);
    out.collect_at = nfd(&receipt.collect_at);
    out.receiver_name = nfd(&receipt.receiver_name);
    out.copy_label = receipt.copy_label.as_deref().map(nfd);
    for document in &mut out.documents {
        document.name = nfd(&document.name);
    }
    out
}

/// Runs a poppler tool; fails loudly (with the fix) when it is not installed.
fn poppler(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|error| {
        panic!("`{tool}` could not run ({error}): install Debian's poppler-utils (apt-get install -y poppler-utils)")
    });
    assert!(output.status.success(), "{tool} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("poppler writes UTF-8")
}

/// The PDF written to a temporary folder (kept alive by the returned guard).
fn saved(pdf: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("receipt.pdf");
    std::fs::write(&path, pdf).expect("write the PDF");
    (dir, path)
}

fn text_of(path: &Path) -> String {
    poppler("pdftotext", &["-raw", "-enc", "UTF-8", path.to_str().expect("UTF-8 path"), "-"])
}

fn pages_of(path: &Path) -> usize {
    let info = poppler("pdfinfo", &[path.to_str().expect("UTF-8 path")]);
    let line = info.lines().find(|line| line.starts_with("Pages:")).expect("pdfinfo prints Pages:");
    line["Pages:".len()..].trim().parse().expect("a page count")
}

/// Whitespace (including line breaks from wrapping) collapsed to single spaces.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn fonts_are_embedded_as_tagged_subsets() {
    let (_dir, path) = saved(&dossier_receipt_pdf(&office(), &receipt()));
    let listing = poppler("pdffonts", &[path.to_str().expect("UTF-8 path")]);
    let fonts: Vec<Vec<&str>> = listing.lines().skip(2).map(|line| line.split_whitespace().collect()).collect();
    assert_eq!(fonts.len(), 2, "regular and bold:\n{listing}");
    let mut names = Vec::new();
    for columns in &fonts {
        // name, type ("CID TrueType"), encoding, emb, sub, uni, object, id
        assert_eq!(columns[1..7], ["CID", "TrueType", "Identity-H", "yes", "yes", "yes"], "{listing}");
        let (tag, name) = columns[0].split_once('+').expect("a subset tag");
        assert!(tag.len() == 6 && tag.bytes().all(|b| b.is_ascii_uppercase()), "tag {tag}");
        names.push(name);
    }
    names.sort();
    assert_eq!(names, ["DejaVuSans", "DejaVuSans-Bold"]);
}

#[test]
fn text_extracts_in_nfc_even_from_decomposed_input() {
    for input in [receipt(), decomposed(&receipt())] {
        let (_dir, path) = saved(&dossier_receipt_pdf(&office(), &input));
        let text = text_of(&path);
        let nfc_text: String = text.nfc().collect();
        assert_eq!(text, nfc_text, "pdftotext returns NFC");
        let text = flat(&text);
        for expected in [
            "UBND QUẬN BA ĐÌNH",
            "UBND PHƯỜNG KIM MÃ",
            "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Hà Nội, ngày 04 tháng 12 năm 2026",
            "Mã hồ sơ: 000.00.31.H26-261204-0001",
            "(Liên 1: Giao người nộp hồ sơ)",
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            "Bộ phận tiếp nhận và trả kết quả tiếp nhận hồ sơ của:",
            "Ông/Bà: Nguyễn Thị Hằng",
            "Địa chỉ: Số 12 ngõ 5 phố Kim Mã, Phường Kim Mã, Quận Ba Đình, Hà Nội",
            "Số điện thoại: 0912 345 678",
            "Email: hang.nguyen@example.vn",
            "Nội dung yêu cầu giải quyết: Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
            "1. Thành phần hồ sơ nộp gồm:",
            "STT Tên giấy tờ Hình thức Số lượng",
            "2 Giấy chứng nhận quyền sử dụng đất Bản chính 01",
            "3 Hợp đồng chuyển nhượng quyền sử dụng đất Bản sao có chứng thực 02",
            "4 Căn cước công dân của bên nhận chuyển nhượng Bản sao 01",
            "2. Số lượng hồ sơ: 01 bộ",
            "3. Thời gian giải quyết hồ sơ theo quy định: 10 ngày làm việc",
            "4. Thời gian nhận hồ sơ: 08 giờ 15 phút, ngày 04/12/2026",
            "5. Thời gian trả kết quả giải quyết hồ sơ: 14 giờ 00 phút, ngày 18/12/2026",
            "6. Nhận kết quả tại: Quầy số 3, Bộ phận tiếp nhận và trả kết quả UBND phường Kim Mã",
            "Quét mã để tra cứu hồ sơ",
            "NGƯỜI NỘP HỒ SƠ",
            "NGƯỜI TIẾP NHẬN HỒ SƠ",
            "(Ký và ghi rõ họ tên)",
            "Trần Văn Minh",
            "Địa chỉ: Số 2 phố Núi Trúc, Phường Kim Mã, Quận Ba Đình, Hà Nội - Điện thoại: 024 3846 1234",
            "Tra cứu hồ sơ: dichvucong.hanoi.gov.vn - Đường dây nóng: 1900 1234",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }
}

#[test]
fn every_vietnamese_letter_comes_back_from_pdftotext() {
    // The 67 letters beyond ASCII: the twelve vowels with each of the five tones, the six vowels with
    // a shape mark, and đ; then their upper case.
    let vowels = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"];
    let tones = ['\u{300}', '\u{301}', '\u{309}', '\u{303}', '\u{323}'];
    let mut letters: Vec<String> = ["ă", "â", "ê", "ô", "ơ", "ư", "đ"].map(String::from).to_vec();
    for vowel in vowels {
        for tone in tones {
            letters.push(format!("{vowel}{tone}").nfc().collect());
        }
    }
    let upper: Vec<String> = letters.iter().map(|letter| letter.to_uppercase()).collect();
    letters.extend(upper);
    assert_eq!(letters.len(), 134);
    assert!(letters.iter().all(|letter| letter.chars().count() == 1), "each letter is one precomposed character");

    // Given decomposed, in both weights (the procedure is bold, document names regular): the renderer
    // composes them before looking glyphs up.
    let all = letters.join(" ");
    let mut input = receipt();
    input.procedure = all.nfd().collect();
    input.documents[0].name = all.nfd().collect();
    let (_dir, path) = saved(&dossier_receipt_pdf(&office(), &input));
    let text = flat(&text_of(&path));
    assert_eq!(text.matches(&all).count(), 2, "all 134 letters, bold and regular, in:\n{text}");
}

#[test]
fn optional_lines_are_left_out() {
    let mut input = receipt();
    (input.applicant_phone, input.applicant_email, input.copy_label) = (None, None, None);
    let (_dir, path) = saved(&dossier_receipt_pdf(&office(), &input));
    let text = flat(&text_of(&path));
    for absent in ["Số điện thoại", "Email", "Liên 1"] {
        assert!(!text.contains(absent), "{absent:?} printed in:\n{text}");
    }
    assert!(text.contains("Ông/Bà: Nguyễn Thị Hằng Địa chỉ:"), "{text}");
    input.applicant_phone = Some("0912 345 678".into());
    let (_dir, path) = saved(&dossier_receipt_pdf(&office(), &input));
    assert!(flat(&text_of(&path)).contains("Hà Nội Số điện thoại: 0912 345 678 Nội dung"));
}

#[test]
fn the_qr_code_decodes_to_the_lookup_url() {
    let input = receipt();
    let (dir, path) = saved(&dossier_receipt_pdf(&office(), &input));
    let prefix = dir.path().join("page");
    poppler(
        "pdftoppm",
        &["-r", "150", "-gray", "-png", "-singlefile", path.to_str().expect("path"), prefix.to_str().expect("path")],
    );
    let page = image::open(dir.path().join("page.png")).expect("the render").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(page);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    let (_meta, content) = grids[0].decode().expect("the QR code decodes");
    assert_eq!(content, input.lookup_url);
}

#[test]
fn a_usual_receipt_is_one_small_page() {
    let pdf = dossier_receipt_pdf(&office(), &receipt());
    assert!(pdf.len() <= 80 * 1024, "{} bytes", pdf.len());
    let (_dir, path) = saved(&pdf);
    assert_eq!(pages_of(&path), 1);
    // Same data, same bytes: nothing depends on a clock or on hashing order.
    assert_eq!(pdf, dossier_receipt_pdf(&office(), &receipt()));
}

fn fifty_documents() -> DossierReceipt {
    let mut input = receipt();
    input.documents =
        (1..=50).map(|i| document(&format!("Giấy tờ kèm theo hồ sơ đất đai số {i}"), DocumentCopy::Copy, i)).collect();
    input
}

#[test]
fn fifty_documents_flow_onto_a_second_page_with_nothing_cut() {
    let input = fifty_documents();
    let (_dir, path) = saved(&dossier_receipt_pdf(&office(), &input));
    assert_eq!(pages_of(&path), 2);
    let text = flat(&text_of(&path));
    for (i, document) in input.documents.iter().enumerate() {
        let row = format!("{} {} Bản sao {:02}", i + 1, document.name, document.count);
        assert!(text.contains(&row), "row {row:?} missing in:\n{text}");
    }
    for expected in ["6. Nhận kết quả tại:", "NGƯỜI TIẾP NHẬN HỒ SƠ", "Trần Văn Minh", "Trang 1/2", "Trang 2/2"]
    {
        assert!(text.contains(expected), "missing {expected:?}");
    }
    assert_eq!(text.matches("STT Tên giấy tờ").count(), 2, "the table header repeats on page 2");
    assert_nothing_overprints(&lay_out(&office(), &input));
}

#[test]
fn very_long_texts_wrap_inside_their_columns_and_flow_on() {
    let mut input = fifty_documents();
    input.applicant_name = "Nguyễn Thị Hằng ".repeat(9).trim().into();
    input.applicant_address = "Số 12 ngõ 5 phố Kim Mã, Phường Kim Mã, Quận Ba Đình ".repeat(5).trim().into();
    input.procedure = format!("{} {}", "Đăng ký biến động quyền sử dụng đất ".repeat(13).trim(), "x".repeat(120));
    for document in &mut input.documents {
        document.name = "Giấy chứng nhận quyền sử dụng đất ".repeat(8).trim().into();
    }
    let flow = lay_out(&office(), &input);
    assert!(flow.pages.len() >= 3, "{} pages", flow.pages.len());
    assert_nothing_overprints(&flow);
    let (_dir, path) = saved(&dossier_receipt_pdf(&office(), &input));
    assert_eq!(pages_of(&path), flow.pages.len());
    let text = flat(&text_of(&path));
    for expected in [&input.applicant_name, &input.applicant_address, &input.documents[49].name, &"x".repeat(60)] {
        assert!(text.contains(expected.as_str()), "missing {expected:?}");
    }
}

/// Every text box lies inside the page's printable area (margins; the page numbers sit in the bottom
/// margin) and no two boxes on a page overlap.
fn assert_nothing_overprints(flow: &Flow) {
    let size_box = |op: &Op| match op {
        Op::Text { x, y, size, weight, text } => {
            Some((*x, y - size * 0.24, x + text_width(*weight, text, *size), y + size * 0.76, text.clone()))
        }
        _ => None,
    };
    for (n, page) in flow.pages.iter().enumerate() {
        let boxes: Vec<_> = page.iter().filter_map(size_box).collect();
        for (x0, y0, x1, y1, text) in &boxes {
            assert!(*x0 >= flow.left - 0.01 && *x1 <= flow.right + 0.01, "page {n}: {text:?} leaves the column");
            assert!(*y1 <= flow.top + 0.01 && *y0 >= flow.bottom - 20.0, "page {n}: {text:?} leaves the page area");
        }
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                let overlap = a.0 < b.2 - 0.01 && b.0 < a.2 - 0.01 && a.1 < b.3 - 0.01 && b.1 < a.3 - 0.01;
                assert!(!overlap, "page {n}: {:?} overprints {:?}", a.4, b.4);
            }
        }
    }
}

#[test]
fn wrapping_breaks_at_spaces_and_cuts_only_words_wider_than_the_line() {
    let lines = wrap(
        &[regular("Giấy chứng nhận quyền sử dụng đất")],
        10.0,
        text_width(Weight::Regular, "Giấy chứng nhận", 10.0) + 0.1,
    );
    let texts: Vec<String> =
        lines.iter().map(|line| line.pieces.iter().map(|(_, text)| text.as_str()).collect()).collect();
    assert_eq!(texts, ["Giấy chứng nhận", "quyền sử dụng", "đất"]);
    let lines = wrap(&[regular("x".repeat(30))], 10.0, text_width(Weight::Regular, "xxxxxxxxxx", 10.0) + 0.1);
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|line| line.width <= text_width(Weight::Regular, "xxxxxxxxxx", 10.0) + 0.1));
    let mixed = wrap(&[regular("Ông/Bà: "), bold("Nguyễn Thị Hằng")], 11.0, 500.0);
    assert_eq!(
        mixed[0].pieces,
        [(Weight::Regular, "Ông/Bà: ".to_owned()), (Weight::Bold, "Nguyễn Thị Hằng".to_owned())]
    );
}

#[test]
fn a_date_alone_prints_without_a_time() {
    assert_eq!(when("2026-12-18"), "ngày 18/12/2026");
    assert_eq!(when("2026-12-04T08:05"), "08 giờ 05 phút, ngày 04/12/2026");
}
