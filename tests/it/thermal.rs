//! Thermal printing through the agent to a fake ESC/POS printer on TCP that speaks real status
//! bytes: templates rendered by the agent, raw pass-through, paper out before and during a job,
//! order of many jobs, and the bad requests a thermal printer gets.

use std::time::Duration;

use counter_agent::config::DeviceConfig;
use counter_agent_driver_api::Connection;
use counter_agent_driver_sim::escpos_preview::render_preview;
use counter_agent_driver_sim::fake_escpos::{Behaviour, FakeEscpos};
use serde_json::{json, Value};

use crate::harness::{error_code, tiny_pdf, TestAgent};

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The demo station plus `counter-printer`: the generic 80 mm profile (DLE EOT status, raster
/// QR, cutter) on `tcp://` to `fake`.
async fn start_with_tcp_printer(fake: &FakeEscpos) -> TestAgent {
    let address = fake.address().to_string();
    TestAgent::start_with(move |station, _| {
        let profile = station.profiles.get("escpos-generic-80mm").expect("built-in profile");
        let (host, port) = address.rsplit_once(':').expect("host:port");
        station.devices.push(DeviceConfig {
            id: "counter-printer".into(),
            profile_id: profile.id.clone(),
            kind: profile.kind,
            connection: Connection::Tcp { host: host.into(), port: port.parse().expect("port") },
            connection_at: None,
            settings: profile.settings.clone(),
            display_name: profile.display_name(),
        });
    })
    .await
}

pub fn queue_ticket_data() -> Value {
    json!({
        "number": "A1023",
        "service": "Hộ tịch — Đăng ký khai sinh",
        "issued_at": "2026-12-04T08:15",
        "waiting_ahead": 7,
        "counters": ["1", "3"],
        "follow_url": "https://motcua.example.gov.vn/hang-doi/A1023",
        "priority": "Người cao tuổi"
    })
}

pub fn dossier_receipt_data() -> Value {
    json!({
        "dossier_code": "000.00.31.H26-261204-0001",
        "copy_label": "Liên 1: Giao người nộp hồ sơ",
        "applicant_name": "Nguyễn Thị Hằng",
        "applicant_address": "Số 5 ngõ 12 Đào Tấn, phường Kim Mã, quận Ba Đình, Hà Nội",
        "applicant_phone": "0912 345 678",
        "applicant_email": "hang.nguyen@example.vn",
        "procedure": "Đăng ký khai sinh",
        "documents": [
            {"name": "Giấy chứng sinh", "copy": "original", "count": 1},
            {"name": "Căn cước công dân của người đi đăng ký", "copy": "certified_copy", "count": 1}
        ],
        "sets": 1,
        "processing_time": "01 ngày làm việc",
        "received_at": "2026-12-04T08:15",
        "appointment_at": "2026-12-07T14:00",
        "collect_at": "Quầy số 3, Bộ phận tiếp nhận và trả kết quả",
        "receiver_name": "Trần Văn Bình",
        "lookup_url": "https://dichvucong.example.gov.vn/tra-cuu?ma=000.00.31.H26-261204-0001"
    })
}

fn decode_qr(image: &image::GrayImage) -> Vec<String> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(image.width() as usize, image.height() as usize, |x, y| {
            image.get_pixel(x as u32, y as u32).0[0]
        });
    prepared.detect_grids().iter().filter_map(|grid| grid.decode().ok().map(|(_, text)| text)).collect()
}

async fn submit(agent: &TestAgent, token: &str, body: &Value) -> String {
    let response = agent.post("/v1/prints", token, body).send().await.expect("send");
    assert_eq!(response.status(), 202, "accepted");
    response.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string()
}

/// The job bytes the fake printer took, without the status requests the driver sent before it.
fn job_bytes(fake: &FakeEscpos) -> Vec<Vec<u8>> {
    fake.jobs().into_iter().filter(|job| job.starts_with(&[0x1B, b'@'])).collect()
}

#[tokio::test]
async fn a_queue_ticket_template_prints_on_a_tcp_printer_as_raster_with_a_qr_that_decodes() {
    let fake = FakeEscpos::start_tcp(Behaviour::Ready).expect("fake printer");
    let agent = start_with_tcp_printer(&fake).await;
    let token = agent.clerk_token();
    let body = json!({"device": "counter-printer", "idempotency_key": "ticket-1", "template": "queue-ticket",
        "data": queue_ticket_data()});
    let id = submit(&agent, &token, &body).await;
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;

    let jobs = job_bytes(&fake);
    assert_eq!(jobs.len(), 1, "printed once");
    // Clone profile: FS . right after ESC @; the GS r barrier closes the job.
    assert!(jobs[0].starts_with(&[0x1B, b'@', 0x1C, b'.']));
    assert!(jobs[0].ends_with(&[0x1D, b'r', 1]));
    let preview = render_preview(&jobs[0], 576).expect("our bytes interpret");
    assert_eq!(preview.n_cuts, 1);
    assert_eq!(preview.n_replaced, 0, "every letter went as raster, none as code-page bytes");
    assert_eq!(decode_qr(&preview.image), ["https://motcua.example.gov.vn/hang-doi/A1023"]);

    // The same key again: the same job, nothing printed again.
    let again = agent.post("/v1/prints", &token, &body).send().await.expect("send");
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.expect("json")["id"], id.as_str());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(job_bytes(&fake).len(), 1);
    agent.stop().await;
}

#[tokio::test]
async fn raw_escpos_passes_through_untouched_and_twenty_jobs_come_out_in_order() {
    let fake = FakeEscpos::start_tcp(Behaviour::Ready).expect("fake printer");
    let agent = start_with_tcp_printer(&fake).await;
    let token = agent.clerk_token();
    // Bytes that would be mangled by any text re-encoding: a TCVN-3 byte, NUL, 0xFF, a cut.
    let raw = |i: u8| vec![0x1B, b'@', b'J', b'o', b'b', b' ', b'0' + i / 10, b'0' + i % 10, 0x00, 0xB8, 0xFF, 0x0A];
    let mut ids = Vec::new();
    for i in 0..20u8 {
        let body = json!({"device": "counter-printer", "idempotency_key": format!("raw-{i}"), "escpos": b64(&raw(i))});
        ids.push(submit(&agent, &token, &body).await);
    }
    for id in &ids {
        agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    }
    let jobs = job_bytes(&fake);
    assert_eq!(jobs.len(), 20);
    for (i, job) in jobs.iter().enumerate() {
        let mut expected = raw(i as u8);
        expected.extend_from_slice(&[0x1D, b'r', 1]);
        assert_eq!(job, &expected, "job {i} byte for byte, in submission order");
    }
    agent.stop().await;
}

#[tokio::test]
async fn paper_out_before_a_job_keeps_it_waiting_until_paper_is_loaded_then_it_prints_once() {
    let fake = FakeEscpos::start_tcp(Behaviour::PaperOut).expect("fake printer");
    let agent = start_with_tcp_printer(&fake).await;
    let token = agent.clerk_token();
    let device = agent.wait_for("/v1/devices/counter-printer", &token, |d| d["status"]["reason"] == "paper_out").await;
    assert_eq!(device["status"]["state"], "error");
    let body = json!({"device": "counter-printer", "idempotency_key": "receipt-1", "template": "dossier-receipt",
        "data": dossier_receipt_data()});
    let id = submit(&agent, &token, &body).await;
    let waiting = agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "waiting").await;
    assert_eq!(waiting["reason"], "paper_out");
    assert!(job_bytes(&fake).is_empty(), "nothing sent to a printer without paper");

    fake.set_behaviour(Behaviour::Ready);
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    let jobs = job_bytes(&fake);
    assert_eq!(jobs.len(), 1, "printed exactly once");
    let preview = render_preview(&jobs[0], 576).expect("interprets");
    assert_eq!(decode_qr(&preview.image), [dossier_receipt_data()["lookup_url"].as_str().expect("url")]);
    agent.stop().await;
}

#[tokio::test]
async fn paper_out_mid_job_holds_the_job_as_waiting_and_it_finishes_without_a_byte_twice() {
    let fake = FakeEscpos::start_tcp(Behaviour::RunsOutAfter(3_000)).expect("fake printer");
    let agent = start_with_tcp_printer(&fake).await;
    let token = agent.clerk_token();
    // A job far larger than the socket buffers, so the printer's stop is felt by the writer.
    let mut raw = vec![0x1B, b'@'];
    for row in 0..4_000u32 {
        raw.extend_from_slice(format!("Dòng {row:04} — Hẹn trả kết quả\n").as_bytes());
    }
    let body = json!({"device": "counter-printer", "idempotency_key": "long", "escpos": b64(&raw)});
    let id = submit(&agent, &token, &body).await;
    let held = agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "waiting").await;
    assert_eq!(held["reason"], "offline", "the printer said nothing; it stopped reading");
    assert!(fake.ran_out());
    // Cancelling is not offered for a half-printed job? It is: but here the clerk loads paper.
    fake.set_behaviour(Behaviour::Ready);
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    let jobs = job_bytes(&fake);
    assert_eq!(jobs.len(), 1, "one connection: the job was never resent");
    let mut expected = raw.clone();
    expected.extend_from_slice(&[0x1D, b'r', 1]);
    assert_eq!(jobs[0].len(), expected.len(), "every byte once");
    assert!(jobs[0] == expected);
    agent.stop().await;
}

#[tokio::test]
async fn bad_thermal_requests_are_refused_with_clear_codes_and_queue_nothing() {
    let fake = FakeEscpos::start_tcp(Behaviour::Ready).expect("fake printer");
    let agent = start_with_tcp_printer(&fake).await;
    let token = agent.clerk_token();
    let mut missing = queue_ticket_data();
    missing.as_object_mut().expect("object").remove("number");
    missing["waiting_ahead"] = json!("bảy");
    let cases = [
        (
            json!({"device": "counter-printer", "idempotency_key": "a", "pdf": b64(&tiny_pdf())}),
            400,
            "unsupported_format",
        ),
        (
            json!({"device": "counter-printer", "idempotency_key": "b", "template": "hoa-don", "data": {}}),
            400,
            "unknown_template",
        ),
        (
            json!({"device": "counter-printer", "idempotency_key": "c", "template": "queue-ticket", "data": missing}),
            400,
            "invalid_template_data",
        ),
        (
            json!({"device": "counter-printer", "idempotency_key": "d", "template": "queue-ticket"}),
            400,
            "invalid_template_data",
        ),
        (
            json!({"device": "a4", "idempotency_key": "e", "template": "queue-ticket", "data": queue_ticket_data()}),
            400,
            "unsupported_format",
        ),
        (
            json!({"device": "scanner", "idempotency_key": "f", "template": "queue-ticket", "data": queue_ticket_data()}),
            400,
            "wrong_device_kind",
        ),
        (json!({"device": "counter-printer", "idempotency_key": "g", "escpos": "not base64!"}), 400, "invalid_base64"),
    ];
    for (body, status, code) in cases {
        let response = agent.post("/v1/prints", &token, &body).send().await.expect("send");
        assert_eq!(error_code(response).await, (status, code.to_string()), "{body}");
    }
    // The missing and the wrongly typed field are both named.
    let body = json!({"device": "counter-printer", "idempotency_key": "c", "template": "queue-ticket", "data": {
        "service": "Hộ tịch", "issued_at": "2026-12-04T08:15", "waiting_ahead": "bảy", "counters": []}});
    let response = agent.post("/v1/prints", &token, &body).send().await.expect("send");
    let message = response.json::<Value>().await.expect("json")["error"]["message"].as_str().unwrap_or("").to_string();
    assert!(message.contains("`number`") && message.contains("`waiting_ahead`"), "{message}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(job_bytes(&fake).is_empty(), "nothing reached the printer");
    assert!(crate::harness::folder_names(&agent.data_dir.path().join("spool")).is_empty(), "nothing spooled");
    agent.stop().await;
}

#[tokio::test]
async fn a_receipt_pdf_sized_for_80mm_prints_as_raster_and_a4_only_when_asked_to_fit() {
    let fake = FakeEscpos::start_tcp(Behaviour::Ready).expect("fake printer");
    let agent = start_with_tcp_printer(&fake).await;
    let token = agent.clerk_token();
    // 80 × 150 mm, a black bar across its top.
    let receipt = crate::harness::pdf_of(1, 226.8, 425.2, false);
    let body = json!({"device": "counter-printer", "idempotency_key": "pdf-80", "pdf": b64(&receipt)});
    let id = submit(&agent, &token, &body).await;
    let job = agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    assert_eq!(job["format"], "escpos", "the PDF went to the printer as raster");
    let jobs = job_bytes(&fake);
    assert_eq!(jobs.len(), 1);
    let preview = render_preview(&jobs[0], 576).expect("interprets");
    // 150 mm at 576 dots for 80 mm → about 1080 rows, the bar black across the whole width.
    assert!((1000..1200).contains(&preview.image.height()), "{} rows", preview.image.height());
    let bar_row = (0..preview.image.height()).find(|&y| preview.image.get_pixel(288, y).0[0] == 0).expect("bar");
    assert!((0..576).all(|x| preview.image.get_pixel(x, bar_row + 2).0[0] == 0), "the bar spans the paper");

    // A4 is refused unless the client asks to scale it down; then it prints at the paper's width.
    let a4 = b64(&crate::harness::pdf_of(1, 595.0, 842.0, false));
    let refused = agent
        .post("/v1/prints", &token, &json!({"device": "counter-printer", "idempotency_key": "a4", "pdf": a4}))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(refused).await, (400, "unsupported_format".to_string()));
    let body = json!({"device": "counter-printer", "idempotency_key": "a4-fit", "pdf": a4, "fit_to_width": true});
    let id = submit(&agent, &token, &body).await;
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    let jobs = job_bytes(&fake);
    assert_eq!(jobs.len(), 2);
    let preview = render_preview(&jobs[1], 576).expect("interprets");
    assert!(
        (800..900).contains(&preview.image.height()),
        "A4 at 576 dots (815 rows + the feed before the cut): {} rows",
        preview.image.height()
    );
    // Replaying the key finds the job without drawing the PDF again; nothing new is printed.
    let again = agent.post("/v1/prints", &token, &body).send().await.expect("send");
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.expect("json")["id"], id.as_str());
    // The print request's body previews as it would print: the A4 page at the paper's width.
    let preview = agent.post("/v1/prints/preview", &token, &body).send().await.expect("send");
    assert_eq!(preview.status(), 200);
    let png = image::load_from_memory(&preview.bytes().await.expect("body")).expect("a PNG").to_luma8();
    assert_eq!(png.width(), 576);
    assert!((800..900).contains(&png.height()), "{} rows", png.height());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(job_bytes(&fake).len(), 2, "a replay and a preview print nothing");
    agent.stop().await;
}

#[tokio::test]
async fn a_ticket_on_a_serial_printer_waits_through_paper_out_and_prints_once_paper_is_loaded() {
    use counter_agent_driver_api::SerialFlow;
    use counter_agent_driver_sim::fake_escpos::PtyOptions;
    let options = PtyOptions { baud: Some(115_200), xon_xoff: true, buffer: 4096, print_rate: None };
    let fake = FakeEscpos::start_pty(Behaviour::PaperOut, options).expect("fake serial printer (needs socat)");
    let port = fake.address().to_string();
    let agent = TestAgent::start_with(move |station, _| {
        let profile = station.profiles.get("escpos-generic-58mm").expect("built-in profile");
        station.devices.push(DeviceConfig {
            id: "kiosk-printer".into(),
            profile_id: profile.id.clone(),
            kind: profile.kind,
            connection: Connection::Serial { port, baud: 115_200, flow: SerialFlow::XonXoff },
            connection_at: None,
            settings: profile.settings.clone(),
            display_name: profile.display_name(),
        });
    })
    .await;
    let token = agent.clerk_token();
    agent.wait_for("/v1/devices/kiosk-printer", &token, |d| d["status"]["reason"] == "paper_out").await;
    let body = json!({"device": "kiosk-printer", "idempotency_key": "serial-ticket", "template": "queue-ticket",
        "data": queue_ticket_data()});
    let id = submit(&agent, &token, &body).await;
    let waiting = agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "waiting").await;
    assert_eq!(waiting["reason"], "paper_out");
    assert!(job_bytes(&fake).is_empty(), "nothing sent while out of paper");

    fake.set_behaviour(Behaviour::Ready);
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "printed").await;
    let jobs = job_bytes(&fake);
    assert_eq!(jobs.len(), 1, "printed once");
    let preview = render_preview(&jobs[0], 384).expect("our bytes interpret");
    assert_eq!(preview.n_cuts, 0, "the 58 mm profile has no cutter");
    assert_eq!(decode_qr(&preview.image), ["https://motcua.example.gov.vn/hang-doi/A1023"]);
    agent.stop().await;
}

#[tokio::test]
async fn a_job_held_half_printed_can_be_cancelled_and_is_never_sent_again() {
    let fake = FakeEscpos::start_tcp(Behaviour::RunsOutAfter(3_000)).expect("fake printer");
    let agent = start_with_tcp_printer(&fake).await;
    let token = agent.clerk_token();
    let mut raw = vec![0x1B, b'@'];
    for row in 0..4_000u32 {
        raw.extend_from_slice(format!("Dòng {row:04} — Hẹn trả kết quả\n").as_bytes());
    }
    let body = json!({"device": "counter-printer", "idempotency_key": "held", "escpos": b64(&raw)});
    let id = submit(&agent, &token, &body).await;
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "waiting").await;
    let response = agent.delete(&format!("/v1/prints/{id}"), &token).send().await.expect("send");
    assert_eq!(response.status(), 200, "a held job may be given up");
    agent.wait_for(&format!("/v1/prints/{id}"), &token, |j| j["state"] == "cancelled").await;
    // Paper loaded afterwards: the printer prints what the network had already taken (on loopback
    // all of it), and the agent sends nothing more.
    fake.set_behaviour(Behaviour::Ready);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let jobs = job_bytes(&fake);
    assert_eq!(jobs.len(), 1, "one connection, never a second attempt");
    let taken = jobs[0].strip_suffix(&[0x1D, b'r', 1]).unwrap_or(&jobs[0]);
    assert!(raw.starts_with(taken), "the job's bytes once, in order");
    let job = agent.get(&format!("/v1/prints/{id}"), &token).send().await.expect("send");
    assert_eq!(job.json::<Value>().await.expect("json")["state"], "cancelled", "still cancelled, not resent");
    agent.stop().await;
}
