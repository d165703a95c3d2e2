use serde_json::{json, Value};
use unicode_normalization::UnicodeNormalization;

use super::*;

fn good_receipt() -> Value {
    json!({
        "dossier_code": "000.00.31.H26-261204-0001",
        "copy_label": "Liên 1: Giao người nộp hồ sơ",
        "applicant_name": "Nguyễn Thị Hằng",
        "applicant_address": "Số 12 ngõ 5 Kim Mã, Phường Kim Mã, Hà Nội",
        "applicant_phone": "0912 345 678",
        "applicant_email": "hang.nguyen@example.vn",
        "procedure": "Đăng ký biến động quyền sử dụng đất",
        "documents": [
            {"name": "Giấy chứng nhận quyền sử dụng đất", "copy": "original", "count": 1},
            {"name": "Căn cước công dân", "copy": "certified_copy", "count": 2},
        ],
        "sets": 1,
        "processing_time": "10 ngày làm việc",
        "received_at": "2026-12-04T08:15",
        "appointment_at": "2026-12-18T14:00",
        "collect_at": "Quầy số 3, Bộ phận tiếp nhận và trả kết quả",
        "receiver_name": "Trần Văn Minh",
        "lookup_url": "https://dichvucong.example.gov.vn/tra-cuu?ma=000.00.31.H26-261204-0001",
    })
}

fn good_ticket() -> Value {
    json!({
        "number": "A1023",
        "service": "Hộ tịch",
        "issued_at": "2026-12-04T07:45",
        "waiting_ahead": 4,
        "counters": ["3", "4"],
        "follow_url": "https://motcua.example.gov.vn/hang-doi/A1023",
        "priority": "Người cao tuổi",
    })
}

fn receipt(data: &Value) -> DossierReceipt {
    match parse("dossier-receipt", data) {
        Ok(TemplateData::DossierReceipt(receipt)) => receipt,
        other => panic!("expected a receipt, got {other:?}"),
    }
}

/// `data` with `field` set to `value` (`Value::Null` removes it); `field` may be `documents[i].key`.
fn with(mut data: Value, field: &str, value: Value) -> Value {
    let target = match field.split_once('.') {
        Some((list, key)) if list.starts_with("documents[") => {
            let index: usize = list["documents[".len()..list.len() - 1].parse().expect("index");
            (&mut data["documents"][index], key)
        }
        _ => (&mut data, field),
    };
    let (object, key) = target;
    let object = object.as_object_mut().expect("an object");
    if value.is_null() {
        object.remove(key);
    } else {
        object.insert(key.to_owned(), value);
    }
    data
}

/// Parses `data` as `template` and checks the exact problems reported.
fn check(template: &str, data: &Value, expected: &[&str]) {
    match parse(template, data) {
        Err(TemplateError::Invalid(problems)) => assert_eq!(problems, expected, "for {data}"),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

fn check_receipt_field(field: &str, value: Value, expected: &str) {
    check("dossier-receipt", &with(good_receipt(), field, value), &[expected]);
}

#[test]
fn a_good_receipt_parses_with_every_field() {
    let parsed = receipt(&good_receipt());
    assert_eq!(parsed.dossier_code, "000.00.31.H26-261204-0001");
    assert_eq!(parsed.copy_label.as_deref(), Some("Liên 1: Giao người nộp hồ sơ"));
    assert_eq!(parsed.applicant_name, "Nguyễn Thị Hằng");
    assert_eq!(parsed.applicant_phone.as_deref(), Some("0912 345 678"));
    assert_eq!(parsed.applicant_email.as_deref(), Some("hang.nguyen@example.vn"));
    assert_eq!(
        parsed.documents,
        vec![
            ReceivedDocument {
                name: "Giấy chứng nhận quyền sử dụng đất".into(),
                copy: DocumentCopy::Original,
                count: 1
            },
            ReceivedDocument { name: "Căn cước công dân".into(), copy: DocumentCopy::CertifiedCopy, count: 2 },
        ]
    );
    assert_eq!(parsed.sets, 1);
    assert_eq!(parsed.received_at, "2026-12-04T08:15");
    assert_eq!(parsed.appointment_at, "2026-12-18T14:00");
    assert_eq!(parsed.receiver_name, "Trần Văn Minh");
    assert_eq!(parsed.lookup_url, "https://dichvucong.example.gov.vn/tra-cuu?ma=000.00.31.H26-261204-0001");
}

#[test]
fn text_is_trimmed_collapsed_and_normalised_to_nfc() {
    let decomposed: String = "  Nguyễn   Thị Hằng ".nfd().collect();
    assert_ne!(decomposed.trim(), "Nguyễn Thị Hằng", "the input really is decomposed");
    let parsed = receipt(&with(good_receipt(), "applicant_name", json!(decomposed)));
    assert_eq!(parsed.applicant_name, "Nguyễn Thị Hằng");
    let document: String = "Giấy chứng nhận quyền sử dụng đất".nfd().collect();
    let parsed = receipt(&with(good_receipt(), "documents[0].name", json!(document)));
    assert_eq!(parsed.documents[0].name, "Giấy chứng nhận quyền sử dụng đất");
}

#[test]
fn optional_fields_may_be_absent_null_or_blank() {
    let mut data = good_receipt();
    for field in ["copy_label", "applicant_phone", "sets"] {
        data = with(data, field, Value::Null);
    }
    data["applicant_email"] = json!("   ");
    data["copy_label"] = Value::Null;
    let parsed = receipt(&data);
    assert_eq!((parsed.copy_label, parsed.applicant_phone, parsed.applicant_email), (None, None, None));
    assert_eq!(parsed.sets, 1, "one set unless told");
}

#[test]
fn an_appointment_may_be_a_date_alone_on_the_day_received() {
    let parsed = receipt(&with(good_receipt(), "appointment_at", json!("2026-12-04")));
    assert_eq!(parsed.appointment_at, "2026-12-04");
}

#[test]
fn unknown_templates_are_named() {
    assert_eq!(parse("receipt", &good_receipt()), Err(TemplateError::UnknownTemplate("receipt".into())));
    assert_eq!(
        parse("receipt", &good_receipt()).expect_err("unknown").to_string(),
        "unknown template `receipt` (known: dossier-receipt, queue-ticket)"
    );
}

#[test]
fn data_that_is_not_an_object_is_refused() {
    check("dossier-receipt", &json!([1, 2]), &["template data must be a JSON object, got [1,2]"]);
}

#[test]
fn missing_required_fields_are_each_named() {
    check(
        "dossier-receipt",
        &json!({}),
        &[
            "`dossier_code` is missing",
            "`applicant_name` is missing",
            "`applicant_address` is missing",
            "`procedure` is missing",
            "`documents` is missing",
            "`processing_time` is missing",
            "`received_at` is missing",
            "`appointment_at` is missing",
            "`collect_at` is missing",
            "`receiver_name` is missing",
            "`lookup_url` is missing",
        ],
    );
    check_receipt_field("applicant_name", json!(null), "`applicant_name` is missing");
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut data = with(good_receipt(), "applicant_name", json!("  "));
    data = with(data, "documents[1].count", json!("ba"));
    data = with(data, "lookup_url", json!("http://example.vn/x"));
    data = with(data, "nickname", json!("Hằng"));
    check(
        "dossier-receipt",
        &data,
        &[
            "`applicant_name` is empty",
            "`documents[1].count` must be a whole number from 1 to 999, got \"ba\"",
            "`lookup_url` must start with https://, got `http://example.vn/x`",
            "`nickname` is not a known field",
        ],
    );
}

#[test]
fn wrong_types_are_named() {
    check_receipt_field("applicant_name", json!(12), "`applicant_name` must be text, got 12");
    check_receipt_field("documents", json!("two"), "`documents` must be a list, got \"two\"");
    check_receipt_field(
        "documents[0].count",
        json!(1.5),
        "`documents[0].count` must be a whole number from 1 to 999, got 1.5",
    );
    check_receipt_field("sets", json!(-1), "`sets` must be a whole number from 1 to 99, got -1");
    check_receipt_field("lookup_url", json!(["https://x.vn"]), "`lookup_url` must be text, got [\"https://x.vn\"]");
    check(
        "dossier-receipt",
        &with(good_receipt(), "documents", json!(["Giấy tờ"])),
        &["`documents[0]` must be an object, got \"Giấy tờ\""],
    );
}

#[test]
fn document_counts_and_kinds_are_checked() {
    check_receipt_field(
        "documents[1].count",
        json!("ba"),
        "`documents[1].count` must be a whole number from 1 to 999, got \"ba\"",
    );
    check_receipt_field(
        "documents[0].count",
        json!(0),
        "`documents[0].count` must be a whole number from 1 to 999, got 0",
    );
    check_receipt_field(
        "documents[0].count",
        json!(1000),
        "`documents[0].count` must be a whole number from 1 to 999, got 1000",
    );
    check_receipt_field(
        "documents[1].copy",
        json!("ban chinh"),
        "`documents[1].copy` must be one of \"original\", \"copy\", \"certified_copy\", got \"ban chinh\"",
    );
    check_receipt_field("documents[0].name", json!(null), "`documents[0].name` is missing");
    check_receipt_field("documents[0].colour", json!("blue"), "`documents[0].colour` is not a known field");
}

#[test]
fn the_documents_list_holds_1_to_50_entries() {
    check_receipt_field("documents", json!([]), "`documents` must have 1 to 50 entries, got 0");
    let entry = json!({"name": "Tờ khai", "copy": "copy", "count": 1});
    let fifty = Value::Array(vec![entry.clone(); 50]);
    assert_eq!(receipt(&with(good_receipt(), "documents", fifty)).documents.len(), 50);
    check_receipt_field("documents", Value::Array(vec![entry; 51]), "`documents` must have 1 to 50 entries, got 51");
}

#[test]
fn dossier_codes_follow_the_circular() {
    check_receipt_field(
        "dossier_code",
        json!("ABC"),
        "`dossier_code` `ABC` is not in the form V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX (e.g. 000.00.31.H26-261204-0001)",
    );
    check_receipt_field(
        "dossier_code",
        json!("000.00.31.h26-261204-0001"),
        "`dossier_code` `000.00.31.h26-261204-0001` is not in the form V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX (e.g. 000.00.31.H26-261204-0001)",
    );
    check_receipt_field(
        "dossier_code",
        json!("000.00.31.H26-260230-0001"),
        "`dossier_code` `000.00.31.H26-260230-0001` has no real date in its YYMMDD part (260230)",
    );
    assert_eq!(
        receipt(&with(good_receipt(), "dossier_code", json!(" 000.00.31.H26-240229-9999 "))).dossier_code,
        "000.00.31.H26-240229-9999"
    );
}

#[test]
fn dates_must_be_real_calendar_dates() {
    let form = "YYYY-MM-DDTHH:MM (e.g. 2026-12-04T08:15)";
    for bad in [
        "2026-02-29T08:15",
        "2026-13-01T08:15",
        "2026-12-04T24:00",
        "2026-12-04T08:60",
        "2026-12-04",
        "04/12/2026 08:15",
        "1999-12-04T08:15",
    ] {
        check_receipt_field(
            "received_at",
            json!(bad),
            &format!("`received_at` `{bad}` is not a real date and time in the form {form}"),
        );
    }
    check_receipt_field(
        "appointment_at",
        json!("2026-11-31"),
        "`appointment_at` `2026-11-31` is not a real date and time in the form YYYY-MM-DD or YYYY-MM-DDTHH:MM (e.g. 2026-12-11 or 2026-12-11T14:00)",
    );
    let leap =
        with(with(good_receipt(), "received_at", json!("2028-02-29T08:15")), "appointment_at", json!("2028-03-01"));
    assert_eq!(receipt(&leap).received_at, "2028-02-29T08:15");
}

#[test]
fn the_appointment_is_not_before_the_receipt() {
    check_receipt_field(
        "appointment_at",
        json!("2026-12-03"),
        "`appointment_at` 2026-12-03 is before `received_at` 2026-12-04T08:15",
    );
    check_receipt_field(
        "appointment_at",
        json!("2026-12-04T08:14"),
        "`appointment_at` 2026-12-04T08:14 is before `received_at` 2026-12-04T08:15",
    );
}

#[test]
fn lookup_urls_are_https_and_short() {
    check_receipt_field(
        "lookup_url",
        json!("ftp://example.vn/a"),
        "`lookup_url` must start with https://, got `ftp://example.vn/a`",
    );
    check_receipt_field(
        "lookup_url",
        json!("http://127.0.0.1:7420/a"),
        "`lookup_url` must start with https://, got `http://127.0.0.1:7420/a`",
    );
    check_receipt_field("lookup_url", json!("https:///tra-cuu"), "`lookup_url` `https:///tra-cuu` has no host");
    check_receipt_field(
        "lookup_url",
        json!("https://a@example.vn/"),
        "`lookup_url` must not carry a user name or password",
    );
    check_receipt_field(
        "lookup_url",
        json!("https://example.vn/tra cứu"),
        "`lookup_url` must be printable ASCII without spaces (percent-encode other characters)",
    );
    let long = format!("https://example.vn/{}", "a".repeat(482));
    check_receipt_field("lookup_url", json!(long), "`lookup_url` is too long: 501 bytes, at most 500");
    let longest = format!("https://example.vn/{}", "a".repeat(481));
    assert_eq!(receipt(&with(good_receipt(), "lookup_url", json!(longest))).lookup_url.len(), 500);
}

#[test]
fn text_limits_control_characters_and_undrawable_characters() {
    check_receipt_field(
        "applicant_name",
        json!("A".repeat(151)),
        "`applicant_name` is too long: 151 characters, at most 150",
    );
    check_receipt_field("procedure", json!("đ".repeat(501)), "`procedure` is too long: 501 characters, at most 500");
    check_receipt_field(
        "applicant_address",
        json!("Số 12\nKim Mã"),
        "`applicant_address` contains a control character (U+000A)",
    );
    check_receipt_field(
        "receiver_name",
        json!("Minh\u{202E}"),
        "`receiver_name` contains a control character (U+202E)",
    );
    check_receipt_field(
        "collect_at",
        json!("Quầy 3 \u{6F22}"),
        "`collect_at` contains a character the printer font cannot draw: '\u{6F22}' (U+6F22)",
    );
    // The limit counts characters after NFC, so decomposed input is not penalised.
    let name: String = "Hằng".repeat(37).nfd().collect();
    assert!(name.chars().count() > 150);
    assert_eq!(receipt(&with(good_receipt(), "applicant_name", json!(name))).applicant_name.chars().count(), 148);
}

#[test]
fn phones_and_emails_are_checked() {
    check_receipt_field(
        "applicant_phone",
        json!("không có"),
        "`applicant_phone` `không có` is not a phone number (3 to 15 digits; spaces and + . - ( ) allowed)",
    );
    check_receipt_field("applicant_email", json!("hang@"), "`applicant_email` `hang@` is not an e-mail address");
    check_receipt_field(
        "applicant_email",
        json!("hang at example.vn"),
        "`applicant_email` `hang at example.vn` is not an e-mail address",
    );
    assert_eq!(
        receipt(&with(good_receipt(), "applicant_phone", json!("+84 (24) 3823-4567"))).applicant_phone.as_deref(),
        Some("+84 (24) 3823-4567")
    );
}

#[test]
fn unknown_fields_are_named_in_order() {
    let data = with(with(good_receipt(), "zeta", json!(1)), "alpha", json!(2));
    check("dossier-receipt", &data, &["`alpha` is not a known field", "`zeta` is not a known field"]);
}

#[test]
fn long_values_are_shortened_in_messages() {
    check_receipt_field(
        "documents[0].copy",
        json!("X".repeat(60)),
        &format!(
            "`documents[0].copy` must be one of \"original\", \"copy\", \"certified_copy\", got \"{}…",
            "X".repeat(38)
        ),
    );
}

#[test]
fn a_good_queue_ticket_parses() {
    let ticket = match parse("queue-ticket", &good_ticket()) {
        Ok(TemplateData::QueueTicket(ticket)) => ticket,
        other => panic!("expected a ticket, got {other:?}"),
    };
    assert_eq!(
        ticket,
        QueueTicket {
            number: "A1023".into(),
            service: "Hộ tịch".into(),
            issued_at: "2026-12-04T07:45".into(),
            waiting_ahead: 4,
            counters: vec!["3".into(), "4".into()],
            follow_url: Some("https://motcua.example.gov.vn/hang-doi/A1023".into()),
            priority: Some("Người cao tuổi".into()),
        }
    );
    let bare = json!({"number": "B7", "service": "Đất đai", "issued_at": "2026-12-04T07:45", "waiting_ahead": 0});
    let Ok(TemplateData::QueueTicket(bare)) = parse("queue-ticket", &bare) else { panic!("bare ticket") };
    assert_eq!((bare.counters.len(), bare.follow_url, bare.priority), (0, None, None));
}

#[test]
fn bad_queue_tickets_name_their_fields() {
    let data = json!({
        "number": "A 10",
        "service": "",
        "issued_at": "2026-12-04",
        "waiting_ahead": -2,
        "counters": ["3", 4],
        "follow_url": "http://192.168.1.5/q",
        "colour": "red",
    });
    check(
        "queue-ticket",
        &data,
        &[
            "`number` `A 10` must be ASCII letters, digits or - (e.g. A1023)",
            "`service` is empty",
            "`issued_at` `2026-12-04` is not a real date and time in the form YYYY-MM-DDTHH:MM (e.g. 2026-12-04T08:15)",
            "`waiting_ahead` must be a whole number from 0 to 9999, got -2",
            "`counters[1]` must be text, got 4",
            "`follow_url` must start with https://, got `http://192.168.1.5/q`",
            "`colour` is not a known field",
        ],
    );
}

#[test]
fn local_date_times_compare_by_day_when_a_time_is_missing() {
    let day = LocalDateTime::parse("2026-12-04").expect("date");
    let morning = LocalDateTime::parse("2026-12-04T08:15").expect("date and time");
    let next_day = LocalDateTime::parse("2026-12-05T00:00").expect("date and time");
    assert!(!day.is_before(&morning) && !morning.is_before(&day));
    assert!(morning.is_before(&next_day) && day.is_before(&next_day));
    assert_eq!(morning, LocalDateTime { year: 2026, month: 12, day: 4, time: Some((8, 15)) });
}
