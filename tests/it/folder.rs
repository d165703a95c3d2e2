//! The hot-folder scanner end to end: images dropped into a folder become a scan's pages, through
//! the same pipeline and API as a SANE scanner.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use counter_agent::config::DeviceConfig;
use counter_agent_driver_api::Connection;
use image::codecs::jpeg::{JpegEncoder, PixelDensity};
use image::ExtendedColorType;
use serde_json::json;

use crate::harness::TestAgent;

/// A station with the demo devices plus `inbox`, a hot folder with short timings.
async fn start_with_folder(folder: &Path) -> TestAgent {
    let path = format!("{}?settle=200ms&idle=1s&wait=5s", folder.display());
    TestAgent::start_with(|station, _| {
        let profile = station.profiles.get("hot-folder").expect("hot-folder profile is built in");
        let device = DeviceConfig {
            id: "inbox".into(),
            profile_id: profile.id.clone(),
            kind: profile.kind,
            connection: Connection::Folder { path },
            connection_at: None,
            settings: profile.settings.clone(),
            display_name: profile.display_name(),
        };
        station.devices.push(device);
    })
    .await
}

/// A gray A4-proportioned JPEG at 150 dpi with dark "text" bars.
fn text_jpeg() -> Vec<u8> {
    let (width, height) = (620u32, 877u32);
    let pixels: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| if y % 40 < 12 && (60..560).contains(&x) { 30 } else { 245 }))
        .collect();
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    encoder.set_pixel_density(PixelDensity::dpi(150));
    encoder.encode(&pixels, width, height, ExtendedColorType::L8).expect("JPEG encodes");
    out
}

/// A colour PNG with a red "seal".
fn seal_png() -> Vec<u8> {
    let (width, height) = (400u32, 300u32);
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as i64 - 200, y as i64 - 150);
        if dx * dx + dy * dy < 80 * 80 {
            image::Rgb([200, 30, 40])
        } else {
            image::Rgb([250, 250, 248])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("PNG encodes");
    out.into_inner()
}

/// A 1-bit CCITT G4 TIFF as office printers write it (200 dpi, `WhiteIsZero`).
fn g4_tiff() -> Vec<u8> {
    let (width, height) = (500u32, 700u32);
    let mut encoder = fax::encoder::Encoder::new(fax::VecWriter::new());
    for y in 0..height {
        let pels = (0..width).map(move |x| {
            if y % 30 < 8 && (40..460).contains(&x) && (x / 7) % 5 != 0 {
                fax::Color::Black
            } else {
                fax::Color::White
            }
        });
        encoder.encode_line(pels, width).expect("G4 line");
    }
    let data = encoder.finish().expect("G4 end").finish();
    fax::tiff::wrap(&data, width, height)
}

/// Drops a file as a printer would: written under a temporary name, then renamed in.
fn drop_in(folder: &Path, name: &str, bytes: &[u8]) {
    let part = folder.join(format!("{name}.part"));
    std::fs::write(&part, bytes).expect("file written");
    std::fs::rename(&part, folder.join(name)).expect("file renamed in");
}

fn pdf_pages(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("scan.pdf");
    std::fs::write(&path, pdf).expect("PDF written");
    let output = Command::new("pdfinfo").arg(&path).output().expect("pdfinfo runs");
    assert!(output.status.success(), "pdfinfo refuses the PDF: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines().find_map(|line| line.strip_prefix("Pages:")).map(|pages| pages.trim().to_string()).unwrap_or_default()
}

fn remaining(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .expect("folder")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn three_dropped_images_become_a_three_page_pdf() {
    let folder = tempfile::tempdir().expect("folder");
    let agent = start_with_folder(folder.path()).await;
    let token = agent.clerk_token();
    drop_in(folder.path(), "SCAN0001.jpg", &text_jpeg());
    std::thread::sleep(Duration::from_millis(20));
    drop_in(folder.path(), "SCAN0002.png", &seal_png());
    std::thread::sleep(Duration::from_millis(20));
    drop_in(folder.path(), "SCAN0003.tif", &g4_tiff());

    let id = agent.start_scan(&token, &json!({"device": "inbox", "source": "adf"})).await;
    let scan = agent.wait_for(&format!("/v1/scans/{id}"), &token, |scan| scan["state"] != "scanning").await;
    assert_eq!(scan["state"], "completed", "{scan}");
    let pages = scan["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 3, "{scan}");
    let sizes: Vec<(u64, u64, u64)> = pages
        .iter()
        .map(|page| {
            (
                page["width"].as_u64().unwrap_or(0),
                page["height"].as_u64().unwrap_or(0),
                page["dpi"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    // In the order they were dropped, each with the dpi its file declares (PNG without pHYs: 300).
    assert_eq!(sizes, vec![(620, 877, 150), (400, 300, 300), (500, 700, 200)]);

    let response = agent.get(&format!("/v1/scans/{id}/document"), &token).send().await.expect("send");
    assert_eq!(response.status(), 200);
    let pdf = response.bytes().await.expect("PDF body");
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(pdf_pages(&pdf), "3");
    // Taken files are gone from the shared folder.
    assert_eq!(remaining(folder.path()), Vec::<String>::new());
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_file_pauses_the_scan_and_continue_takes_the_rest() {
    let folder = tempfile::tempdir().expect("folder");
    let agent = start_with_folder(folder.path()).await;
    let token = agent.clerk_token();
    drop_in(folder.path(), "a.jpg", &text_jpeg());
    std::thread::sleep(Duration::from_millis(20));
    drop_in(folder.path(), "b.jpg", b"this is not a JPEG");
    std::thread::sleep(Duration::from_millis(20));
    drop_in(folder.path(), "c.png", &seal_png());

    let id = agent.start_scan(&token, &json!({"device": "inbox", "source": "adf"})).await;
    let scan = agent.wait_for(&format!("/v1/scans/{id}"), &token, |scan| scan["state"] != "scanning").await;
    assert_eq!((scan["state"].as_str(), scan["reason"].as_str()), (Some("paused"), Some("unreadable_file")), "{scan}");
    assert_eq!(scan["pages"].as_array().map(Vec::len), Some(1));
    assert_eq!(remaining(&folder.path().join("rejected")), vec!["b.jpg", "b.jpg.reason.txt"]);

    let response = agent.post(&format!("/v1/scans/{id}/continue"), &token, &json!({})).send().await.expect("send");
    assert!(response.status().is_success(), "continue refused: {}", response.status());
    let scan = agent
        .wait_for(&format!("/v1/scans/{id}"), &token, |scan| {
            !matches!(scan["state"].as_str(), Some("scanning" | "paused"))
        })
        .await;
    assert_eq!(scan["state"], "completed", "{scan}");
    assert_eq!(scan["pages"].as_array().map(Vec::len), Some(2));
    assert_eq!(remaining(folder.path()), vec!["rejected"]);
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_folder_fails_with_feeder_empty() {
    let folder = tempfile::tempdir().expect("folder");
    let agent = start_with_folder(folder.path()).await;
    let token = agent.clerk_token();
    let id = agent.start_scan(&token, &json!({"device": "inbox", "source": "adf"})).await;
    let scan = agent.wait_for(&format!("/v1/scans/{id}"), &token, |scan| scan["state"] != "scanning").await;
    assert_eq!((scan["state"].as_str(), scan["reason"].as_str()), (Some("failed"), Some("feeder_empty")), "{scan}");
    agent.stop().await;
}

#[test]
fn check_refuses_a_relative_folder_and_bad_options_with_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).expect("inbox");
    let path = dir.path().join("station.toml");
    let station = format!(
        r#"[station]
name = "Quầy 3"
counter = 3

[server]
allowed_origins = ["https://motcua.example.gov.vn"]

[storage]
data_dir = "{data}"

[[device]]
id = "mfp"
profile = "hot-folder"
connection = "folder:scans?idle=soon"

[[device]]
id = "mfp2"
profile = "hot-folder"
connection = "folder:{inbox}?idle=20s"
"#,
        data = dir.path().join("data").display(),
        inbox = inbox.display(),
    );
    std::fs::write(&path, station).expect("station written");
    let output = Command::new(env!("CARGO_BIN_EXE_counter-agent"))
        .args(["check", "--config"])
        .arg(&path)
        .env("COUNTER_AGENT_LOG", "warn")
        .output()
        .expect("counter-agent runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "check must fail:\n{stderr}");
    let file = path.display();
    for text in [
        "error: device `mfp`: `folder:scans` is not an absolute path — write the whole path, e.g. folder:/srv/scan-inbox",
        "error: device `mfp`: `idle=soon` is not a duration — write a number with a unit, e.g. idle=2s or idle=500ms",
    ] {
        let line = format!("{file}:14:14: {text}");
        assert!(stderr.lines().any(|l| l == line), "no `{line}` in:\n{stderr}");
    }
    assert!(!stderr.contains("mfp2"), "the good folder device is refused:\n{stderr}");
}
