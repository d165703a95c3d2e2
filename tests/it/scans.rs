//! Scanning through the API with the simulated scanner: pages arrive processed (class, flags,
//! thumbnails), the clerk reorders, rotates and deletes pages, the PDF fits a size limit or says how
//! small it got, bad edits change nothing, pages leave the disk on delete and after the retention
//! time, and `counter-agent scan` writes a PDF on its own.

use std::process::Command;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{error_code, events_until, folder_names, TestAgent};

/// The simulated ADF batch: a form with a red seal, a text page, a blank page, a skewed form.
const ADF: &str = r#"{"device": "scanner", "source": "adf", "dpi": 150}"#;

fn adf() -> Value {
    serde_json::from_str(ADF).expect("json")
}

async fn scan_json(agent: &TestAgent, token: &str, id: &str) -> Value {
    agent.get(&format!("/v1/scans/{id}"), token).send().await.expect("send").json().await.expect("json")
}

/// Starts the ADF batch and waits until it is completed.
async fn completed_scan(agent: &TestAgent, token: &str) -> (String, Value) {
    let id = agent.start_scan(token, &adf()).await;
    let done = agent.wait_for(&format!("/v1/scans/{id}"), token, |s| s["state"] != "scanning").await;
    assert_eq!(done["state"], "completed", "{done}");
    (id, done)
}

fn page_ids(scan: &Value) -> Vec<String> {
    scan["pages"].as_array().expect("pages").iter().map(|p| p["id"].as_str().expect("id").to_string()).collect()
}

/// `pdfinfo` of a PDF (poppler, an independent reader): its "Key: value" lines.
fn pdfinfo(pdf: &[u8], extra: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let output = Command::new("pdfinfo").args(extra).arg(&path).output().expect("pdfinfo runs");
    assert!(output.status.success(), "pdfinfo refused the PDF: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn pdf_pages(pdf: &[u8]) -> u32 {
    let info = pdfinfo(pdf, &[]);
    let line = info.lines().find(|l| l.starts_with("Pages:")).expect("Pages line");
    line["Pages:".len()..].trim().parse().expect("page count")
}

/// Files in the scan's folder, sorted.
fn scan_files(agent: &TestAgent, id: &str) -> Vec<String> {
    folder_names(&agent.data_dir.path().join("scans").join(id))
}

async fn bytes_of(response: reqwest::Response) -> (u16, String, Vec<u8>) {
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().expect("ascii").to_string()).unwrap_or_default();
    (status, content_type, response.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn pages_arrive_classified_with_thumbnails_and_the_pdf_has_them_all() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let mut socket = agent.open_stream(&token).await;
    let id = agent.start_scan(&token, &adf()).await;
    let events = events_until(&mut socket, |e| e["type"] == "scan.state" && e["data"]["state"] == "completed").await;
    let pages: Vec<&Value> = events.iter().filter(|e| e["type"] == "scan.page").map(|e| &e["data"]).collect();
    let indexes: Vec<u64> = pages.iter().filter_map(|p| p["index"].as_u64()).collect();
    assert_eq!(indexes, [1, 2, 3, 4], "pages announced one by one, in order");
    for page in &pages {
        assert_eq!(page["scan_id"], id.as_str());
        let index = page["index"].as_u64().expect("index");
        assert_eq!(page["thumbnail_url"], format!("/v1/scans/{id}/pages/{index}/thumbnail"));
        assert!(["g4", "jpeg-gray", "jpeg-color"].contains(&page["encoding"].as_str().expect("encoding")), "{page}");
        assert!(page["n_bytes"].as_u64().expect("bytes") > 0);
    }
    // The text page is 1-bit G4, the blank page is flagged (not dropped), the seal page is colour,
    // the skewed page was straightened.
    assert_eq!((pages[0]["class"].as_str(), pages[0]["encoding"].as_str()), (Some("color"), Some("jpeg-color")));
    assert_eq!((pages[1]["class"].as_str(), pages[1]["encoding"].as_str()), (Some("text"), Some("g4")));
    assert_eq!((pages[2]["class"].as_str(), pages[2]["blank"].as_bool()), (Some("blank"), Some(true)));
    assert_eq!(pages[3]["skew_corrected"], true, "{}", pages[3]);
    // Events carry no page content.
    assert!(events.iter().all(|e| e.to_string().len() < 1024));

    let scan = scan_json(&agent, &token, &id).await;
    let listed = scan["pages"].as_array().expect("pages");
    assert_eq!(listed.len(), 4);
    for (page, event) in listed.iter().zip(&pages) {
        for key in ["index", "class", "blank", "cropped", "encoding", "skew_corrected", "thumbnail_url"] {
            assert_eq!(page[key], event[key], "{key} of page {}", page["index"]);
        }
        assert_eq!(page["id"], event["page_id"]);
        assert_eq!(page["bytes"], event["n_bytes"]);
        assert_eq!(page["rotation"], 0);
    }
    let ids = page_ids(&scan);
    assert_eq!(ids.iter().collect::<std::collections::BTreeSet<_>>().len(), 4, "page ids are distinct: {ids:?}");
    // Each page is on disk as stored (G4 or JPEG), nothing half-written.
    let files = scan_files(&agent, &id);
    assert_eq!(files.len(), 4, "{files:?}");
    assert!(files.iter().all(|f| f.ends_with(".g4") || f.ends_with(".jpg")), "{files:?}");

    // A thumbnail is a small JPEG; a page downloads as JPEG (default) or PNG at full size.
    let (status, content_type, thumb) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/pages/2/thumbnail"), &token).send().await.expect("send")).await;
    assert_eq!((status, content_type.as_str()), (200, "image/jpeg"));
    let thumb = image::load_from_memory(&thumb).expect("thumbnail decodes");
    assert!(thumb.width().max(thumb.height()) <= 256 && thumb.height() > thumb.width(), "{thumb:?}");
    let (width, height) =
        (listed[1]["width"].as_u64().expect("w") as u32, listed[1]["height"].as_u64().expect("h") as u32);
    let (status, content_type, png) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/pages/2?format=png"), &token).send().await.expect("send")).await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    let png = image::load_from_memory_with_format(&png, image::ImageFormat::Png).expect("png decodes");
    assert_eq!((png.width(), png.height()), (width, height));
    let (status, content_type, jpeg) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/pages/1"), &token).send().await.expect("send")).await;
    assert_eq!((status, content_type.as_str()), (200, "image/jpeg"));
    image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).expect("jpeg decodes");

    let (status, content_type, pdf) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("send")).await;
    assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
    assert_eq!(pdf_pages(&pdf), 4);
    agent.stop().await;
}

#[tokio::test]
async fn a_jam_names_the_failed_page_and_continue_appends_after_edits() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let mut socket = agent.open_stream(&token).await;
    agent.sim.jam_at_page("scanner", 3);
    let id = agent.start_scan(&token, &adf()).await;
    let events = events_until(&mut socket, |e| e["type"] == "scan.state" && e["data"]["state"] == "paused").await;
    let paused = &events.last().expect("event")["data"];
    assert_eq!(
        (paused["reason"].as_str(), paused["failed_page"].as_u64(), paused["n_pages"].as_u64()),
        (Some("jammed"), Some(3), Some(2)),
        "{paused}"
    );
    let scan = scan_json(&agent, &token, &id).await;
    assert_eq!((scan["state"].as_str(), scan["failed_page"].as_u64()), (Some("paused"), Some(3)));
    let before = page_ids(&scan);

    // While paused, the clerk swaps the two pages and turns the first.
    let reordered = agent.post(&format!("/v1/scans/{id}/pages/order"), &token, &json!({"order": [2, 1]})).send().await;
    assert_eq!(reordered.expect("send").status(), 200);
    let rotated = agent.post(&format!("/v1/scans/{id}/pages/1/rotate"), &token, &json!({"degrees": 180})).send().await;
    let rotated: Value = rotated.expect("send").json().await.expect("json");
    assert_eq!((rotated["index"].as_u64(), rotated["rotation"].as_u64()), (Some(1), Some(180)));
    assert_eq!(rotated["id"], before[1].as_str());
    let edits = events_until(&mut socket, |e| e["type"] == "scan.pages" && e["data"]["change"] == "rotate").await;
    assert!(edits.iter().any(|e| e["type"] == "scan.pages" && e["data"]["change"] == "reorder"));

    let resumed = agent.request(Method::POST, &format!("/v1/scans/{id}/continue")).bearer_auth(&token).json(&json!({}));
    assert_eq!(resumed.send().await.expect("send").status(), 202);
    let events = events_until(&mut socket, |e| e["type"] == "scan.state" && e["data"]["state"] == "completed").await;
    let new_indexes: Vec<u64> =
        events.iter().filter(|e| e["type"] == "scan.page").filter_map(|e| e["data"]["index"].as_u64()).collect();
    assert_eq!(new_indexes, [3, 4], "pages after continue are appended");
    assert!(events.last().expect("event")["data"]["failed_page"].is_null());
    let scan = scan_json(&agent, &token, &id).await;
    let ids = page_ids(&scan);
    assert_eq!(ids[..2], [before[1].clone(), before[0].clone()], "the edit survived the continue");
    assert_eq!(scan["pages"][0]["rotation"], 180);
    assert!(scan["failed_page"].is_null());
    // Continuing a finished batch is refused.
    let again = agent.request(Method::POST, &format!("/v1/scans/{id}/continue")).bearer_auth(&token).json(&json!({}));
    assert_eq!(error_code(again.send().await.expect("send")).await, (409, "scan_not_paused".into()));
    agent.stop().await;
}

/// A jam pauses with the driver's own words in `detail` (view and event); `continue` clears them.
#[tokio::test]
async fn a_pause_carries_the_driver_detail_and_continue_clears_it() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let mut socket = agent.open_stream(&token).await;
    agent.sim.jam_at_page("scanner", 2);
    let id = agent.start_scan(&token, &adf()).await;
    let events = events_until(&mut socket, |e| e["type"] == "scan.state" && e["data"]["state"] == "paused").await;
    let paused = &events.last().expect("event")["data"];
    let detail = paused["detail"].as_str().expect("a detail on the paused event").to_string();
    assert!(!detail.trim().is_empty(), "{paused}");
    assert_eq!(paused["reason"], "jammed");
    let scan = scan_json(&agent, &token, &id).await;
    assert_eq!((scan["state"].as_str(), scan["detail"].as_str()), (Some("paused"), Some(detail.as_str())), "{scan}");

    let resumed = agent.request(Method::POST, &format!("/v1/scans/{id}/continue")).bearer_auth(&token).json(&json!({}));
    let resumed: Value = resumed.send().await.expect("send").json().await.expect("json");
    assert!(resumed["detail"].is_null(), "{resumed}");
    let events = events_until(&mut socket, |e| e["type"] == "scan.state" && e["data"]["state"] == "completed").await;
    let states: Vec<&Value> = events.iter().filter(|e| e["type"] == "scan.state").map(|e| &e["data"]).collect();
    assert!(states.iter().all(|s| s["detail"].is_null()), "{states:?}");
    let scan = scan_json(&agent, &token, &id).await;
    assert!(scan["detail"].is_null() && scan["reason"].is_null(), "{scan}");
    agent.stop().await;
}

/// While the batch is scanning the PDF would be partial: 409 `scan_in_progress`. Paused and
/// completed scans give the pages kept so far.
#[tokio::test]
async fn the_document_is_refused_while_scanning_and_served_when_paused_or_completed() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let mut socket = agent.open_stream(&token).await;
    agent.sim.jam_at_page("scanner", 3);
    // 300 dpi: each page takes long enough that the batch is still scanning when asked.
    let body = json!({"device": "scanner", "source": "adf", "dpi": 300});
    let id = agent.start_scan(&token, &body).await;
    let response = agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("send");
    assert_eq!(error_code(response).await, (409, "scan_in_progress".into()));

    events_until(&mut socket, |e| e["type"] == "scan.state" && e["data"]["state"] == "paused").await;
    let (status, content_type, pdf) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("send")).await;
    assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
    assert_eq!(pdf_pages(&pdf), 2, "the pages before the jam");

    let resumed = agent.request(Method::POST, &format!("/v1/scans/{id}/continue")).bearer_auth(&token).json(&json!({}));
    assert_eq!(resumed.send().await.expect("send").status(), 202);
    let response = agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("send");
    let (status, body) = (response.status().as_u16(), response.text().await.expect("body"));
    assert_eq!(status, 409, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["error"]["code"], "scan_in_progress");
    assert!(body["error"]["hint"].as_str().is_some_and(|h| h.contains("wait")), "{body}");

    events_until(&mut socket, |e| e["type"] == "scan.state" && e["data"]["state"] == "completed").await;
    let (status, _, pdf) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("send")).await;
    assert_eq!(status, 200);
    assert_eq!(pdf_pages(&pdf), 4);
    agent.stop().await;
}

/// A JPEG page without rotation downloads exactly as stored: its SHA-256 is the page's `sha256`
/// and the PDF's `PageSHA256-n`. A turned page is rendered (other bytes), PNG too.
#[tokio::test]
async fn a_jpeg_page_downloads_with_the_bytes_the_pdf_embeds() {
    use sha2::{Digest, Sha256};
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let (id, scan) = completed_scan(&agent, &token).await;
    let (_, _, pdf) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("send")).await;
    let info = pdfinfo(&pdf, &["-custom"]);
    let mut jpeg_pages = Vec::new();
    for page in scan["pages"].as_array().expect("pages") {
        let index = page["index"].as_u64().expect("index");
        let sha256 = page["sha256"].as_str().expect("sha256");
        assert_eq!(sha256.len(), 64, "{page}");
        let key = format!("PageSHA256-{index}:");
        let recorded = info.lines().find_map(|l| l.strip_prefix(key.as_str())).map(str::trim);
        assert_eq!(recorded, Some(sha256), "page {index} in:\n{info}");
        if page["encoding"].as_str().is_some_and(|e| e.starts_with("jpeg")) {
            jpeg_pages.push((index, sha256.to_string()));
        }
    }
    assert!(!jpeg_pages.is_empty(), "the simulated batch has JPEG pages: {scan}");
    for (index, sha256) in &jpeg_pages {
        for query in ["", "?format=jpeg"] {
            let url = format!("/v1/scans/{id}/pages/{index}{query}");
            let (status, content_type, bytes) = bytes_of(agent.get(&url, &token).send().await.expect("send")).await;
            assert_eq!((status, content_type.as_str()), (200, "image/jpeg"));
            let got: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(&got, sha256, "page {index}{query} served as stored");
        }
    }
    let (index, sha256) = &jpeg_pages[0];
    let rotated = agent.post(&format!("/v1/scans/{id}/pages/{index}/rotate"), &token, &json!({"degrees": 90}));
    assert_eq!(rotated.send().await.expect("send").status(), 200);
    let (status, _, bytes) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/pages/{index}"), &token).send().await.expect("send")).await;
    assert_eq!(status, 200);
    let got: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_ne!(&got, sha256, "a turned page is rendered with its rotation");
    let image = image::load_from_memory(&bytes).expect("jpeg");
    let page = &scan["pages"][(*index - 1) as usize];
    assert_eq!(
        (u64::from(image.width()), u64::from(image.height())),
        (page["height"].as_u64().expect("h"), page["width"].as_u64().expect("w"))
    );
    agent.stop().await;
}

#[tokio::test]
async fn pages_are_reordered_rotated_and_deleted_and_the_pdf_follows() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let (id, scan) = completed_scan(&agent, &token).await;
    let ids = page_ids(&scan);
    let files = scan_files(&agent, &id);

    let response = agent.post(&format!("/v1/scans/{id}/pages/order"), &token, &json!({"order": [4, 1, 2, 3]}));
    let reordered: Value = response.send().await.expect("send").json().await.expect("json");
    assert_eq!(page_ids(&reordered), [ids[3].clone(), ids[0].clone(), ids[1].clone(), ids[2].clone()]);
    let indexes: Vec<u64> =
        reordered["pages"].as_array().expect("p").iter().filter_map(|p| p["index"].as_u64()).collect();
    assert_eq!(indexes, [1, 2, 3, 4]);

    // Two quarter turns add up; the image is not re-encoded (same stored file, same size).
    for (degrees, total) in [(90, 90), (180, 270)] {
        let response = agent.post(&format!("/v1/scans/{id}/pages/2/rotate"), &token, &json!({"degrees": degrees}));
        let page: Value = response.send().await.expect("send").json().await.expect("json");
        assert_eq!((page["id"].as_str(), page["rotation"].as_u64()), (Some(ids[0].as_str()), Some(total)));
    }
    assert_eq!(scan_files(&agent, &id), files, "rotation keeps the stored files");
    let page = &scan_json(&agent, &token, &id).await["pages"][1];
    assert_eq!(page["bytes"], scan["pages"][0]["bytes"]);
    // Views apply it: the portrait page is now landscape.
    let (width, height) = (page["width"].as_u64().expect("w") as u32, page["height"].as_u64().expect("h") as u32);
    let (_, _, png) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/pages/2?format=png"), &token).send().await.expect("send")).await;
    let png = image::load_from_memory(&png).expect("png");
    assert_eq!((png.width(), png.height()), (height, width));
    let (_, _, thumb) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/pages/2/thumbnail"), &token).send().await.expect("send")).await;
    let thumb = image::load_from_memory(&thumb).expect("thumb");
    assert!(thumb.width() > thumb.height(), "the thumbnail shows the rotation");

    // Deleting page 3 (the second original page) removes its file at once.
    let deleted = agent.delete(&format!("/v1/scans/{id}/pages/3"), &token).send().await.expect("send");
    assert_eq!(deleted.status(), 200);
    let after: Value = deleted.json().await.expect("json");
    assert_eq!(page_ids(&after), [ids[3].clone(), ids[0].clone(), ids[2].clone()]);
    let remaining = scan_files(&agent, &id);
    assert_eq!(remaining.len(), 3, "{remaining:?}");
    assert!(!remaining.contains(&files[1]), "the deleted page's file is gone: {remaining:?}");

    let (status, _, pdf) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("send")).await;
    assert_eq!(status, 200);
    assert_eq!(pdf_pages(&pdf), 3);
    let info = pdfinfo(&pdf, &["-f", "1", "-l", "3"]);
    let rotations: Vec<&str> = info
        .lines()
        .filter(|l| l.starts_with("Page") && l.contains("rot:"))
        .filter_map(|l| l.split("rot:").nth(1).map(str::trim))
        .collect();
    assert_eq!(rotations, ["0", "270", "0"], "{info}");
    agent.stop().await;
}

/// What is asked, how, with which body, and the status and code expected.
type BadCase = (&'static str, Method, String, Option<Value>, u16, &'static str);

/// Every bad edit gets a clear code and changes nothing: pages, order, rotation and files intact.
#[tokio::test]
async fn bad_page_edits_are_refused_and_change_nothing() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let (id, before) = completed_scan(&agent, &token).await;
    let files = scan_files(&agent, &id);
    let scans = |rest: &str| format!("/v1/scans/{id}{rest}");
    let cases: Vec<BadCase> = vec![
        (
            "order too short",
            Method::POST,
            scans("/pages/order"),
            Some(json!({"order": [1, 2, 3]})),
            400,
            "invalid_page_order",
        ),
        (
            "order too long",
            Method::POST,
            scans("/pages/order"),
            Some(json!({"order": [1, 2, 3, 4, 5]})),
            400,
            "invalid_page_order",
        ),
        (
            "order with a repeat",
            Method::POST,
            scans("/pages/order"),
            Some(json!({"order": [1, 1, 2, 3]})),
            400,
            "invalid_page_order",
        ),
        (
            "order with 0",
            Method::POST,
            scans("/pages/order"),
            Some(json!({"order": [0, 1, 2, 3]})),
            400,
            "invalid_page_order",
        ),
        (
            "order out of range",
            Method::POST,
            scans("/pages/order"),
            Some(json!({"order": [5, 1, 2, 3]})),
            400,
            "invalid_page_order",
        ),
        ("empty order", Method::POST, scans("/pages/order"), Some(json!({"order": []})), 400, "invalid_page_order"),
        (
            "order not numbers",
            Method::POST,
            scans("/pages/order"),
            Some(json!({"order": ["a"]})),
            400,
            "invalid_request",
        ),
        (
            "order negative",
            Method::POST,
            scans("/pages/order"),
            Some(json!({"order": [-1, 1, 2, 3]})),
            400,
            "invalid_request",
        ),
        ("order missing", Method::POST, scans("/pages/order"), Some(json!({})), 400, "invalid_request"),
        ("rotate 45", Method::POST, scans("/pages/1/rotate"), Some(json!({"degrees": 45})), 400, "invalid_rotation"),
        ("rotate 0", Method::POST, scans("/pages/1/rotate"), Some(json!({"degrees": 0})), 400, "invalid_rotation"),
        ("rotate 360", Method::POST, scans("/pages/1/rotate"), Some(json!({"degrees": 360})), 400, "invalid_rotation"),
        ("rotate -90", Method::POST, scans("/pages/1/rotate"), Some(json!({"degrees": -90})), 400, "invalid_rotation"),
        ("rotate text", Method::POST, scans("/pages/1/rotate"), Some(json!({"degrees": "90"})), 400, "invalid_request"),
        ("rotate page 9", Method::POST, scans("/pages/9/rotate"), Some(json!({"degrees": 90})), 404, "page_not_found"),
        ("rotate page 0", Method::POST, scans("/pages/0/rotate"), Some(json!({"degrees": 90})), 404, "page_not_found"),
        ("rotate page x", Method::POST, scans("/pages/x/rotate"), Some(json!({"degrees": 90})), 400, "invalid_request"),
        ("delete page 5", Method::DELETE, scans("/pages/5"), None, 404, "page_not_found"),
        ("delete page 0", Method::DELETE, scans("/pages/0"), None, 404, "page_not_found"),
        ("delete page -1", Method::DELETE, scans("/pages/-1"), None, 400, "invalid_request"),
        ("page as gif", Method::GET, scans("/pages/1?format=gif"), None, 400, "unsupported_format"),
        ("page as empty format", Method::GET, scans("/pages/1?format="), None, 400, "unsupported_format"),
        ("page with an unknown option", Method::GET, scans("/pages/1?size=big"), None, 400, "invalid_request"),
        ("page 5", Method::GET, scans("/pages/5"), None, 404, "page_not_found"),
        ("read the order route", Method::GET, scans("/pages/order"), None, 405, "method_not_allowed"),
        ("rotate with GET", Method::GET, scans("/pages/1/rotate"), None, 405, "method_not_allowed"),
        ("thumbnail of page 5", Method::GET, scans("/pages/5/thumbnail"), None, 404, "page_not_found"),
        (
            "order of an unknown scan",
            Method::POST,
            "/v1/scans/0123456789abcdef/pages/order".into(),
            Some(json!({"order": [1]})),
            404,
            "not_found",
        ),
        (
            "rotate in an unknown scan",
            Method::POST,
            "/v1/scans/0123456789abcdef/pages/1/rotate".into(),
            Some(json!({"degrees": 90})),
            404,
            "not_found",
        ),
        (
            "delete in an unknown scan",
            Method::DELETE,
            "/v1/scans/0123456789abcdef/pages/1".into(),
            None,
            404,
            "not_found",
        ),
        (
            "thumbnail of an unknown scan",
            Method::GET,
            "/v1/scans/0123456789abcdef/pages/1/thumbnail".into(),
            None,
            404,
            "not_found",
        ),
        ("document far too small", Method::GET, scans("/document?max_bytes=1000"), None, 413, "document_too_large"),
        ("document with max_bytes -1", Method::GET, scans("/document?max_bytes=-1"), None, 400, "invalid_request"),
    ];
    for (what, method, path, body, status, code) in cases {
        let mut request = agent.request(method, &path).bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send");
        let (got_status, body): (u16, Value) = (response.status().as_u16(), response.json().await.unwrap_or_default());
        assert_eq!((got_status, body["error"]["code"].as_str().unwrap_or("")), (status, code), "{what}: {body}");
        if code == "document_too_large" {
            // The message says how small the document could get.
            let message = body["error"]["message"].as_str().expect("message");
            let smallest: usize = message
                .split("smallest reached is ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no smallest size in “{message}”"));
            assert!(smallest > 1000, "{message}");
            assert!(body["error"]["hint"].as_str().expect("hint").contains(&smallest.to_string()));
        }
    }
    let after = scan_json(&agent, &token, &id).await;
    assert_eq!(after["pages"], before["pages"], "pages unchanged");
    assert_eq!(scan_files(&agent, &id), files, "files unchanged");
    agent.stop().await;
}

#[tokio::test]
async fn the_document_fits_a_size_limit_with_every_page() {
    let agent = TestAgent::start().await;
    let token = agent.clerk_token();
    let (id, _) = completed_scan(&agent, &token).await;
    let (_, _, full) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("send")).await;
    let limit = full.len() * 6 / 10;
    let (status, _, fitted) =
        bytes_of(agent.get(&format!("/v1/scans/{id}/document?max_bytes={limit}"), &token).send().await.expect("send"))
            .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&fitted));
    assert!(fitted.len() <= limit, "{} > {limit}", fitted.len());
    assert_eq!(pdf_pages(&fitted), 4);
    // A limit above the full size gives the full document.
    let (status, _, same) = bytes_of(
        agent.get(&format!("/v1/scans/{id}/document?max_bytes={}", full.len() + 1), &token).send().await.expect("send"),
    )
    .await;
    assert_eq!((status, same.len()), (200, full.len()));
    agent.stop().await;
}

#[tokio::test]
async fn pages_leave_the_disk_when_the_scan_is_deleted_or_its_retention_passes() {
    let agent = TestAgent::start_with(|station, _| station.scan_retention = Some(Duration::from_millis(1500))).await;
    let token = agent.clerk_token();
    let (deleted, _) = completed_scan(&agent, &token).await;
    let folder = agent.data_dir.path().join("scans").join(&deleted);
    assert_eq!(folder_names(&folder).len(), 4);
    let response = agent.delete(&format!("/v1/scans/{deleted}"), &token).send().await.expect("send");
    assert_eq!(response.status(), 204);
    assert!(!folder.exists(), "pages deleted with the scan");

    let (kept, _) = completed_scan(&agent, &token).await;
    let folder = agent.data_dir.path().join("scans").join(&kept);
    assert_eq!(folder_names(&folder).len(), 4, "kept until the retention time");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while folder.exists() {
        assert!(tokio::time::Instant::now() < deadline, "pages still on disk after the retention time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(folder_names(&agent.data_dir.path().join("scans")).is_empty());
    let gone = agent.get(&format!("/v1/scans/{kept}"), &token).send().await.expect("send");
    assert_eq!(error_code(gone).await, (404, "not_found".into()));
    agent.stop().await;
}

#[test]
fn the_station_file_sets_scan_retention_and_refuses_bad_values() {
    let load = |retention: &str| {
        let text = format!("[station]\nname = \"Quầy 1\"\ncounter = 1\n\n[scan]\nretention = {retention}\n");
        counter_agent::config::load_station_str("station.toml", &text, &Default::default(), &["sim"])
    };
    let (station, _) = load("\"30m\"").expect("valid");
    assert_eq!(station.scan_retention, Some(Duration::from_secs(30 * 60)));
    let (station, _) = counter_agent::config::load_station_str(
        "station.toml",
        "[station]\nname = \"Q\"\ncounter = 1\n",
        &Default::default(),
        &["sim"],
    )
    .expect("valid");
    assert_eq!(station.scan_retention, None, "default: the agent's 1 hour");
    for (value, text) in [("\"soon\"", "not a duration"), ("\"5s\"", "between"), ("\"30days\"", "between"), ("60", "")]
    {
        let problems = load(value).err().unwrap_or_else(|| panic!("{value} must be refused"));
        let shown: Vec<String> = problems.0.iter().map(|d| d.to_string()).collect();
        assert!(
            shown.iter().any(|d| d.starts_with("station.toml:6:13: error:") && d.contains(text)),
            "{value}: {shown:?}"
        );
    }
}

fn agent_binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_counter-agent"))
}

fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.env("COUNTER_AGENT_LOG", "warn").stdin(std::process::Stdio::null()).output().expect("run");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_scan_command_writes_a_pdf_from_the_simulated_scanner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("hồ sơ.pdf");
    // Pages left by a run that was killed (its process is gone) are deleted by the next run.
    let pid_max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max").expect("pid_max").trim().parse().expect("n");
    let stale = dir.path().join("data").join(format!("scan-cli-{}", pid_max + 1));
    std::fs::create_dir_all(&stale).expect("stale folder");
    std::fs::write(stale.join("page-0001.jpg"), b"left behind").expect("stale page");
    let (ok, stdout, stderr) = run(agent_binary()
        .args(["scan", "--demo", "--device", "scanner", "--source", "adf", "--dpi", "100", "--out"])
        .arg(&out)
        .arg("--data-dir")
        .arg(dir.path().join("data")));
    assert!(ok, "scan failed:\n{stdout}\n{stderr}");
    let pdf = std::fs::read(&out).expect("the PDF is written");
    assert_eq!(pdf_pages(&pdf), 4);
    // Plain progress lines when stderr is not a terminal, one per page.
    for index in 1..=4 {
        assert!(stderr.contains(&format!("page {index} scanned")), "{stderr}");
    }
    // Nothing left behind: no temporary file beside the PDF, no pages in the data directory.
    assert_eq!(folder_names(dir.path()), ["data", "hồ sơ.pdf"]);
    let leftovers: Vec<String> =
        folder_names(&dir.path().join("data")).into_iter().filter(|n| n.starts_with("scan-cli")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!stale.exists(), "the killed run's pages are gone");

    // A size limit is honoured.
    let limit = pdf.len() * 6 / 10;
    let small = dir.path().join("small.pdf");
    let (ok, _, stderr) = run(agent_binary()
        .args(["scan", "--demo", "--device", "scanner", "--source", "adf", "--dpi", "100"])
        .arg(format!("--max-bytes={limit}"))
        .arg("--out")
        .arg(&small)
        .arg("--data-dir")
        .arg(dir.path().join("data")));
    assert!(ok, "{stderr}");
    let small = std::fs::read(&small).expect("written");
    assert!(small.len() <= limit);
    assert_eq!(pdf_pages(&small), 4);
}

#[test]
fn the_scan_command_fails_clearly_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let station = dir.path().join("station.toml");
    std::fs::write(
        &station,
        format!(
            "[station]\nname = \"Quầy 1\"\ncounter = 1\n\n[storage]\ndata_dir = \"{}\"\n\n[[device]]\nid = \"scanner\"\nprofile = \"sane-generic\"\nconnection = \"sim:scanner?jam_at=2\"\n",
            dir.path().join("data").display()
        ),
    )
    .expect("write station");
    let out = dir.path().join("out.pdf");
    let scan = |extra: &[&str]| {
        let mut command = agent_binary();
        command.arg("scan").arg("--config").arg(&station).args(extra).arg("--out").arg(&out);
        run(&mut command)
    };
    // A jam without a terminal to ask on: a clear failure naming the page, no file.
    let (ok, _, stderr) = scan(&["--device", "scanner", "--source", "adf", "--dpi", "100"]);
    assert!(!ok);
    assert!(stderr.contains("page 2") && stderr.contains("jammed"), "{stderr}");
    assert!(!out.exists());
    for (args, text) in [
        (&["--device", "printer", "--source", "adf"][..], "no device `printer`"),
        (&["--device", "scanner", "--source", "adf", "--dpi", "20"][..], "dpi must be between"),
        (&["--device", "scanner", "--source", "sideways"][..], "sideways"),
        (&["--device", "scanner", "--source", "flatbed", "--max-bytes", "500"][..], "smallest"),
    ] {
        let (ok, _, stderr) = scan(args);
        assert!(!ok, "{args:?} must fail");
        assert!(stderr.contains(text), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote a file");
    }
    assert!(folder_names(dir.path()).iter().all(|n| n != "out.pdf" && !n.contains(".part")));
}

#[tokio::test]
async fn the_openapi_document_lists_the_page_routes_and_their_codes() {
    let agent = TestAgent::start().await;
    let response = TestAgent::client()
        .get(agent.url("/v1/openapi.json"))
        .header("Origin", crate::harness::APP_ORIGIN)
        .send()
        .await
        .expect("send");
    let document: Value = response.json().await.expect("json");
    let paths = &document["paths"];
    for (route, method) in [
        ("/v1/scans/{id}/pages/order", "post"),
        ("/v1/scans/{id}/pages/{n}", "get"),
        ("/v1/scans/{id}/pages/{n}", "delete"),
        ("/v1/scans/{id}/pages/{n}/rotate", "post"),
        ("/v1/scans/{id}/pages/{n}/thumbnail", "get"),
        ("/v1/scans/{id}/document", "get"),
    ] {
        assert!(paths[route][method].is_object(), "{method} {route} missing from the OpenAPI document");
    }
    let codes = &document["components"]["schemas"]["ErrorCode"]["enum"];
    for code in [
        "page_not_found",
        "invalid_page_order",
        "invalid_rotation",
        "document_too_large",
        "unsupported_format",
        "scan_in_progress",
    ] {
        assert!(codes.as_array().expect("codes").contains(&json!(code)), "{code}");
    }
    agent.stop().await;
}

/// On a terminal, a jam asks the technician to clear it and press Enter, then the batch goes on
/// into the same PDF. (`script` from util-linux gives the command a pseudo-terminal.)
#[test]
fn the_scan_command_on_a_terminal_waits_for_enter_after_a_jam() {
    use std::io::{BufRead, Write};
    let dir = tempfile::tempdir().expect("temp dir");
    let station = dir.path().join("station.toml");
    std::fs::write(
        &station,
        "[station]\nname = \"Quầy 1\"\ncounter = 1\n\n[storage]\ndata_dir = \"data\"\n\n[[device]]\nid = \"scanner\"\nprofile = \"sane-generic\"\nconnection = \"sim:scanner?jam_at=2\"\n",
    )
    .expect("write station");
    let out = dir.path().join("out.pdf");
    let command = format!(
        "'{}' scan --config '{}' --device scanner --source adf --dpi 100 --out '{}'",
        env!("CARGO_BIN_EXE_counter-agent"),
        station.display(),
        out.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("COUNTER_AGENT_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        let asked = line.contains("press Enter to continue, Ctrl-C to stop");
        seen.push(line);
        if asked {
            break;
        }
    }
    assert!(seen.iter().any(|l| l.contains("paused at page 2: jammed")), "{seen:?}");
    assert!(!out.exists(), "nothing written while paused");
    stdin.write_all(b"\n").expect("press Enter");
    stdin.flush().expect("flush");
    seen.extend(lines.map_while(Result::ok));
    assert!(child.wait().expect("exit").success(), "{seen:?}");
    assert!(seen.iter().any(|l| l.contains("wrote ") && l.contains("4 pages")), "{seen:?}");
    assert_eq!(pdf_pages(&std::fs::read(&out).expect("the PDF")), 4);
}
