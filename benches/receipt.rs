//! A4 dossier receipt figures (targets: ≤ 30 ms and ≤ 80 KB per receipt).
//!
//! Run: `cargo bench --bench receipt`
//!
//! Renders the usual one-page receipt (four documents) and the longest one the data allows (50
//! documents, two pages), from template data parsed as the API receives it; prints the PDF sizes
//! besides criterion's timings.

use std::hint::black_box;

use counter_agent::print::render::a4::dossier_receipt_pdf;
use counter_agent::print::render::data::parse;
use counter_agent::print::render::{DossierReceipt, Office, TemplateData};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

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

fn receipt_data(documents: Vec<Value>) -> Value {
    json!({
        "dossier_code": "000.00.31.H26-261204-0001",
        "copy_label": "Liên 1: Giao người nộp hồ sơ",
        "applicant_name": "Nguyễn Thị Hằng",
        "applicant_address": "Số 12 ngõ 5 phố Kim Mã, Phường Kim Mã, Quận Ba Đình, Hà Nội",
        "applicant_phone": "0912 345 678",
        "applicant_email": "hang.nguyen@example.vn",
        "procedure": "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        "documents": documents,
        "processing_time": "10 ngày làm việc",
        "received_at": "2026-12-04T08:15",
        "appointment_at": "2026-12-18T14:00",
        "collect_at": "Quầy số 3, Bộ phận tiếp nhận và trả kết quả UBND phường Kim Mã",
        "receiver_name": "Trần Văn Minh",
        "lookup_url": "https://dichvucong.example.gov.vn/tra-cuu?ma=000.00.31.H26-261204-0001",
    })
}

fn usual_data() -> Value {
    receipt_data(vec![
        json!({"name": "Đơn đăng ký biến động đất đai, tài sản gắn liền với đất (Mẫu số 11/ĐK)", "copy": "original", "count": 1}),
        json!({"name": "Giấy chứng nhận quyền sử dụng đất", "copy": "original", "count": 1}),
        json!({"name": "Hợp đồng chuyển nhượng quyền sử dụng đất", "copy": "certified_copy", "count": 2}),
        json!({"name": "Căn cước công dân của bên nhận chuyển nhượng", "copy": "copy", "count": 1}),
    ])
}

fn fifty_data() -> Value {
    receipt_data(
        (1..=50)
            .map(|i| json!({"name": format!("Giấy tờ kèm theo hồ sơ đất đai số {i}"), "copy": "copy", "count": 1}))
            .collect(),
    )
}

fn receipt(data: &Value) -> DossierReceipt {
    match parse("dossier-receipt", data) {
        Ok(TemplateData::DossierReceipt(receipt)) => receipt,
        other => panic!("bench data must parse: {other:?}"),
    }
}

fn bench(c: &mut Criterion) {
    let office = office();
    let (usual_json, fifty_json) = (usual_data(), fifty_data());
    let (usual, fifty) = (receipt(&usual_json), receipt(&fifty_json));
    println!(
        "dossier receipt PDF: usual {:.1} KB, 50 documents {:.1} KB",
        dossier_receipt_pdf(&office, &usual).len() as f64 / 1024.0,
        dossier_receipt_pdf(&office, &fifty).len() as f64 / 1024.0
    );
    c.bench_function("parse dossier-receipt data", |b| b.iter(|| parse("dossier-receipt", black_box(&usual_json))));
    c.bench_function("dossier receipt PDF, usual (1 page)", |b| {
        b.iter(|| dossier_receipt_pdf(&office, black_box(&usual)))
    });
    c.bench_function("dossier receipt PDF, 50 documents (2 pages)", |b| {
        b.iter(|| dossier_receipt_pdf(&office, black_box(&fifty)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
