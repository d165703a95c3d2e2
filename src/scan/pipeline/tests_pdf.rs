//! The assembled PDF read back by an independent reader: poppler's `pdfinfo`, `pdfimages` and `pdftoppm`
//! (Debian `poppler-utils`; a missing program fails the test).

use std::path::{Path, PathBuf};
use std::process::Command;

use counter_agent_driver_api::{ColorMode, ScanSource};

use super::tests::{gray_page, noise, rgb_page, sim_pages};
use super::*;

fn run(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (Debian poppler-utils): {e}"));
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn write_pdf(dir: &Path, pdf: &[u8]) -> PathBuf {
    let path = dir.join("doc.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    path
}

/// One row of `pdfimages -list`.
#[derive(Debug)]
struct ImageRow {
    width: u32,
    height: u32,
    color: String,
    bpc: u32,
    enc: String,
    x_ppi: u32,
}

fn image_list(dir: &Path) -> Vec<ImageRow> {
    let listing = run("pdfimages", &["-list", "doc.pdf"], dir);
    listing
        .lines()
        .skip(2)
        .map(|line| {
            // page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
            let f: Vec<&str> = line.split_whitespace().collect();
            let n = |i: usize| f[i].parse::<u32>().unwrap_or_else(|_| panic!("column {i} of {line}"));
            ImageRow { width: n(3), height: n(4), color: f[5].into(), bpc: n(7), enc: f[8].into(), x_ppi: n(12) }
        })
        .collect()
}

/// The value of `pdfinfo`'s "Page    n what:" line, e.g. `page_field(info, 1, "size")` = "595.2 x 841.92 pts (A4)".
fn page_field(info: &str, n: u32, what: &str) -> String {
    let key = format!("Page {n:>4} {what}:");
    let line = info.lines().find(|l| l.starts_with(&key)).unwrap_or_else(|| panic!("no {key} in {info}"));
    line[key.len()..].trim().to_string()
}

fn meta() -> DocumentMeta {
    DocumentMeta { title: "Hồ sơ đăng ký khai sinh".into(), created_utc_seconds: 1_764_763_200 }
    // 2025-12-03 12:00 UTC
}

fn page<'a>(image: &'a EncodedImage, rotation: Rotation) -> DocumentPage<'a> {
    DocumentPage { image, rotation, sha256: image.sha256() }
}

/// A text page (G4) with a black block at a known place, a colour JPEG and a gray JPEG, at 150 dpi.
fn three_pages() -> (EncodedImage, EncodedImage, EncodedImage) {
    let text = gray_page(1240, 1754, 150, |x, y| {
        if (100..400).contains(&x) && (200..300).contains(&y) || (y % 40 < 4 && (150..1100).contains(&x)) {
            10
        } else {
            245
        }
    });
    let bw = PageOptions { color: ColorMode::Bw, deskew: false, ..PageOptions::default() };
    let text = process_page(&text, &bw).expect("text").image;
    let colour = rgb_page(600, 400, 150, |x, y| [(x % 256) as u8, (y % 256) as u8, noise(x, y)]);
    let colour = process_page(&colour, &PageOptions { color: ColorMode::Color, ..PageOptions::default() })
        .expect("colour")
        .image;
    let gray = gray_page(400, 600, 150, |x, y| ((x + y) % 200) as u8 + noise(x, y) % 30);
    let gray =
        process_page(&gray, &PageOptions { color: ColorMode::Gray, ..PageOptions::default() }).expect("gray").image;
    assert_eq!(
        (text.encoding, colour.encoding, gray.encoding),
        (Encoding::G4, Encoding::JpegColor, Encoding::JpegGray)
    );
    (text, colour, gray)
}

#[test]
fn pdf_is_read_back_by_poppler_with_sizes_rotation_and_page_hashes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (text, colour, gray) = three_pages();
    let pages = [page(&text, Rotation::None), page(&colour, Rotation::Cw90), page(&gray, Rotation::Cw270)];
    write_pdf(dir.path(), &assemble(&pages, &meta()));
    let custom = run("pdfinfo", &["-custom", "-isodates", "doc.pdf"], dir.path());
    let info = run("pdfinfo", &["-isodates", "-f", "1", "-l", "3", "doc.pdf"], dir.path()) + &custom;
    assert!(info.contains("Pages:           3"), "{info}");
    assert!(info.contains("Title:           Hồ sơ đăng ký khai sinh"), "{info}");
    assert!(info.contains("Producer:        counter-agent"), "{info}");
    assert!(
        info.contains("CreationDate:    2025-12-03T12:00:00Z") || info.contains("2025-12-03T12:00:00+00"),
        "{info}"
    );
    // Page size from dpi: 1240 × 1754 px at 150 dpi is A4 (595.2 × 841.92 pt); 600 px at 150 dpi = 288 pt.
    assert_eq!(page_field(&info, 1, "size"), "595.2 x 841.92 pts (A4)");
    assert_eq!(page_field(&info, 2, "size"), "288 x 192 pts");
    assert_eq!(page_field(&info, 3, "size"), "192 x 288 pts");
    let rotations: Vec<String> = (1..=3).map(|n| page_field(&info, n, "rot")).collect();
    assert_eq!(rotations, ["0", "90", "270"]);
    for (i, image) in [&text, &colour, &gray].iter().enumerate() {
        let line = format!("{PAGE_SHA256_KEY_PREFIX}{}:", i + 1);
        let value = info.lines().find(|l| l.starts_with(&line)).unwrap_or_else(|| panic!("{line} in {info}"));
        assert_eq!(value[line.len()..].trim(), hex(&image.sha256()));
    }
    let list = image_list(dir.path());
    assert_eq!(list.len(), 3);
    let row = |i: usize| (list[i].width, list[i].height, list[i].color.as_str(), list[i].bpc, list[i].enc.as_str());
    assert_eq!(row(0), (1240, 1754, "gray", 1, "ccitt"));
    assert_eq!(row(1), (600, 400, "rgb", 8, "jpeg"));
    assert_eq!(row(2), (400, 600, "gray", 8, "jpeg"));
    assert_eq!(list[0].x_ppi, 150);
}

#[test]
fn jpeg_bytes_are_embedded_untouched_and_g4_decodes_pixel_exact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (text, colour, gray) = three_pages();
    let pages = [page(&text, Rotation::None), page(&colour, Rotation::None), page(&gray, Rotation::None)];
    write_pdf(dir.path(), &assemble(&pages, &meta()));
    run("pdfimages", &["-j", "doc.pdf", "img"], dir.path());
    assert_eq!(std::fs::read(dir.path().join("img-001.jpg")).expect("colour jpeg"), colour.bytes, "colour JPEG as-is");
    assert_eq!(std::fs::read(dir.path().join("img-002.jpg")).expect("gray jpeg"), gray.bytes, "gray JPEG as-is");
    // Poppler's own CCITT decoder: PNG of the G4 page equals our bits, black where we put black.
    run("pdfimages", &["-png", "-f", "1", "-l", "1", "doc.pdf", "g4"], dir.path());
    let decoded = image::open(dir.path().join("g4-000.png")).expect("png").to_luma8();
    let ours = g4::decode(&text).expect("decode");
    assert_eq!(decoded.dimensions(), ours.dimensions());
    let differing = decoded.pixels().zip(ours.pixels()).filter(|(a, b)| (a[0] < 128) != (b[0] < 128)).count();
    assert_eq!(differing, 0, "poppler's decode of the G4 page differs in {differing} pixels");
    assert!(decoded.get_pixel(250, 250)[0] < 128, "the block is black");
}

#[test]
fn g4_page_renders_black_on_white() {
    // Render-back: BlackIs1 left false keeps the polarity (setting it inverts the page).
    let dir = tempfile::tempdir().expect("temp dir");
    let (text, _, _) = three_pages();
    write_pdf(dir.path(), &assemble(&[page(&text, Rotation::None)], &meta()));
    run("pdftoppm", &["-r", "150", "-gray", "-png", "doc.pdf", "render"], dir.path());
    let rendered = image::open(dir.path().join("render-1.png")).expect("png").to_luma8();
    assert_eq!(rendered.dimensions(), (1240, 1754));
    assert!(rendered.get_pixel(250, 250)[0] < 64, "block rendered black");
    assert!(rendered.get_pixel(1200, 1700)[0] > 192, "paper rendered white");
    let white = rendered.pixels().filter(|p| p[0] > 192).count() as f64 / (1240.0 * 1754.0);
    assert!(white > 0.8, "mostly white: {white}");
}

#[test]
fn sim_batch_assembles_and_reads_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let processed: Vec<ProcessedPage> = sim_pages(ScanSource::Adf, ColorMode::Auto, 150, 4)
        .iter()
        .map(|p| process_page(p, &PageOptions::default()).expect("process"))
        .collect();
    let pages: Vec<DocumentPage<'_>> = processed
        .iter()
        .map(|p| DocumentPage { image: &p.image, rotation: Rotation::None, sha256: p.sha256 })
        .collect();
    write_pdf(dir.path(), &assemble(&pages, &meta()));
    let encodings: Vec<String> = image_list(dir.path()).into_iter().map(|row| row.enc).collect();
    assert_eq!(encodings, ["jpeg", "ccitt", "ccitt", "jpeg"]);
    let info = run("pdfinfo", &["-f", "1", "-l", "1", "doc.pdf"], dir.path());
    assert!(info.contains("Pages:           4"), "{info}");
    assert_eq!(page_field(&info, 1, "size"), "595.2 x 841.92 pts (A4)");
}

// ---- fit ------------------------------------------------------------------------------------------

#[test]
fn fit_brings_a_document_under_the_limit_keeping_text_at_the_floor() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 200 dpi: the colour form (JPEG) and the text guide (G4).
    let processed: Vec<ProcessedPage> = sim_pages(ScanSource::Adf, ColorMode::Auto, 200, 2)
        .iter()
        .map(|p| process_page(p, &PageOptions::default()).expect("process"))
        .collect();
    assert_eq!(processed[0].image.encoding, Encoding::JpegColor);
    assert_eq!(processed[1].image.encoding, Encoding::G4);
    let pages: Vec<DocumentPage<'_>> = processed
        .iter()
        .map(|p| DocumentPage { image: &p.image, rotation: Rotation::Cw90, sha256: p.sha256 })
        .collect();
    let full = assemble(&pages, &meta());
    assert_eq!(fit(&pages, &meta(), full.len()).expect("fits as it is"), full, "under the limit: untouched");
    let limit = full.len() / 4;
    let fitted = fit(&pages, &meta(), limit).expect("fits");
    assert!(fitted.len() <= limit, "{} > {limit}", fitted.len());
    assert!(fitted.len() > limit / 2, "no more loss than needed: {} for a limit of {limit}", fitted.len());
    write_pdf(dir.path(), &fitted);
    let info = run("pdfinfo", &["-f", "1", "-l", "2", "doc.pdf"], dir.path())
        + &run("pdfinfo", &["-custom", "doc.pdf"], dir.path());
    assert!(info.contains("Pages:           2"), "{info}");
    for n in 1..=2 {
        // Page size unchanged (A4, within the half pixel a resampled side can round to), rotation kept.
        let size = page_field(&info, n, "size");
        let pts: Vec<f32> = size.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        assert!((pts[0] - 595.2).abs() < 0.5 && (pts[1] - 841.92).abs() < 0.5, "page {n}: {size}");
        assert_eq!(page_field(&info, n, "rot"), "90");
    }
    for row in image_list(dir.path()) {
        let floor = if row.enc == "ccitt" { TEXT_FLOOR_DPI } else { COLOR_FLOOR_DPI };
        assert!(row.x_ppi >= floor, "{row:?} under the {floor} dpi floor");
    }
    // The hashes in the document are those of the re-encoded images.
    run("pdfimages", &["-j", "doc.pdf", "img"], dir.path());
    let first = std::fs::read(dir.path().join("img-000.jpg")).expect("first page jpeg");
    let key = format!("{PAGE_SHA256_KEY_PREFIX}1:");
    let line = info.lines().find(|l| l.starts_with(&key)).expect("hash key");
    assert_eq!(line[key.len()..].trim(), hex(&sha256(&first)));
}

#[test]
fn fit_reports_the_smallest_size_when_the_limit_cannot_be_met() {
    let (text, colour, gray) = three_pages();
    let pages = [page(&text, Rotation::None), page(&colour, Rotation::None), page(&gray, Rotation::None)];
    let full = assemble(&pages, &meta()).len();
    let error = fit(&pages, &meta(), 2_000).expect_err("too small");
    assert_eq!(error.limit, 2_000);
    assert!(error.smallest > 2_000 && error.smallest < full, "smallest {} of {full}", error.smallest);
    // The smallest reached is itself a reachable limit.
    let fitted = fit(&pages, &meta(), error.smallest).expect("the smallest fits");
    assert!(fitted.len() <= error.smallest);
}
