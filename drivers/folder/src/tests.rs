//! Tests with real files in temporary folders, written by real encoders (see `test_files`).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use counter_agent_driver_api::{
    CancelToken, ColorMode, Device, DeviceSettings, DeviceState, DriverError, DriverFactory, OpenSpec, PageWatch,
    PixelFormat, PrinterSettings, RawPage, ScanProgress, ScanRequest, ScanSource, ScannerSettings, StatusReason,
};
use tiff::encoder::Rational;
use tiff::tags::ResolutionUnit;

use crate::decode::{jpeg_dpi, FileError, PageSource};
use crate::inbox::is_ignored;
use crate::test_files::*;
use crate::{FolderFactory, Timing};

const FAST: Timing = Timing {
    poll: Duration::from_millis(20),
    settle: Duration::from_millis(150),
    idle: Duration::from_millis(500),
    wait: Duration::from_millis(500),
    rejected_keep: Duration::from_secs(24 * 3600),
};

fn scanner_settings() -> DeviceSettings {
    DeviceSettings::Scanner(ScannerSettings {
        max_dpi: 600,
        default_dpi: 300,
        sources: vec![ScanSource::Flatbed, ScanSource::Adf],
        duplex_back_rotate_180: false,
        sane: Default::default(),
    })
}

fn spec(connection: &str) -> OpenSpec {
    OpenSpec {
        id: "inbox".into(),
        connection: connection.parse().expect("connection parses"),
        settings: scanner_settings(),
    }
}

fn folder_spec(dir: &Path) -> OpenSpec {
    spec(&format!("folder:{}", dir.display()))
}

fn open(dir: &Path) -> Box<dyn Device> {
    FolderFactory::with_timing(FAST).open(&folder_spec(dir)).expect("folder opens")
}

fn request(source: ScanSource) -> ScanRequest {
    ScanRequest { source, color: ColorMode::Auto, dpi: 300 }
}

/// Writes a file and dates it `age` ago, so listing order is known.
fn drop_file(dir: &Path, name: &str, bytes: &[u8], age_seconds: u64) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("test file written");
    let modified = SystemTime::now() - Duration::from_secs(age_seconds);
    fs::File::options().write(true).open(&path).and_then(|file| file.set_modified(modified)).expect("mtime set");
    path
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries.map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn page(result: Result<Option<RawPage>, DriverError>) -> RawPage {
    match result {
        Ok(Some(page)) => page,
        other => panic!("expected a page, got {other:?}"),
    }
}

fn fault(result: Result<Option<RawPage>, DriverError>) -> StatusReason {
    match result {
        Err(DriverError::Fault { reason }) => reason,
        other => panic!("expected a fault, got {other:?}"),
    }
}

fn only_page(bytes: Vec<u8>) -> RawPage {
    let mut source = PageSource::open(bytes).expect("file opens");
    let page = source.next_page().expect("page decodes").expect("one page");
    assert!(source.is_exhausted());
    assert!(source.next_page().expect("no error after the end").is_none());
    page
}

fn max_difference(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
}

// ---- decoding -----------------------------------------------------------------------------

#[test]
fn jpeg_gray_and_colour_with_and_without_density() {
    let gray = only_page(jpeg(64, 48, false, Some(200)));
    assert_eq!((gray.width, gray.height, gray.dpi, gray.format, gray.stride), (64, 48, 200, PixelFormat::Gray8, 64));
    assert!(max_difference(&gray.data, &gray_pixels(64, 48, 0)) <= 16, "gray JPEG pixels far from the source");

    let colour = only_page(jpeg(40, 24, true, None));
    assert_eq!(
        (colour.width, colour.height, colour.dpi, colour.format, colour.stride),
        (40, 24, 300, PixelFormat::Rgb8, 120)
    );
    assert!(max_difference(&colour.data, &rgb_pixels(40, 24, 0)) <= 40, "colour JPEG pixels far from the source");
}

#[test]
fn jfif_density_units() {
    // Dots per centimetre (unit 2): 118 dpcm is 300 dpi; aspect-only (unit 0) says nothing.
    let mut bytes = jpeg(8, 8, false, Some(300));
    let app0 = bytes.windows(5).position(|w| w == b"JFIF\0").expect("JFIF segment");
    bytes[app0 + 7] = 2;
    bytes[app0 + 8..app0 + 10].copy_from_slice(&118u16.to_be_bytes());
    assert_eq!(jpeg_dpi(&bytes), Some(300));
    bytes[app0 + 7] = 0;
    assert_eq!(jpeg_dpi(&bytes), None);
    bytes[app0 + 7] = 1;
    bytes[app0 + 8..app0 + 10].copy_from_slice(&1u16.to_be_bytes());
    assert_eq!(jpeg_dpi(&bytes), None, "an implausible density is ignored");
    assert_eq!(only_page(bytes).dpi, 300);
}

/// A big-endian EXIF APP1 segment: `XResolution` = `numerator`/1 in `unit` (2 inch, 3 cm).
fn exif_segment(numerator: u32, unit: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&2u16.to_be_bytes());
    // XResolution, RATIONAL, 1 value at offset 8 + 2 + 24 + 4 = 38.
    tiff.extend_from_slice(&[0x01, 0x1A, 0, 5, 0, 0, 0, 1, 0, 0, 0, 38]);
    // ResolutionUnit, SHORT, 1 value held in the entry.
    tiff.extend_from_slice(&[0x01, 0x28, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&unit.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    tiff.extend_from_slice(&numerator.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&(2 + 6 + tiff.len() as u16).to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    segment
}

#[test]
fn exif_resolution_when_jfif_says_nothing() {
    let plain = jpeg(16, 16, false, None);
    for (numerator, unit, expected) in [(400, 2, Some(400)), (118, 3, Some(300)), (300, 1, None)] {
        let mut bytes = plain[..2].to_vec();
        bytes.extend_from_slice(&exif_segment(numerator, unit));
        bytes.extend_from_slice(&plain[2..]);
        assert_eq!(jpeg_dpi(&bytes), expected, "XResolution {numerator}, unit {unit}");
        assert_eq!(only_page(bytes).dpi, expected.unwrap_or(300));
    }
    // JFIF wins when it gives a density.
    let with_jfif = jpeg(16, 16, false, Some(200));
    let mut bytes = with_jfif[..2].to_vec();
    bytes.extend_from_slice(&exif_segment(400, 2));
    bytes.extend_from_slice(&with_jfif[2..]);
    assert_eq!(jpeg_dpi(&bytes), Some(200));
}

#[test]
fn png_pixels_exact_with_phys_dpi() {
    let gray =
        only_page(png(30, 20, png::ColorType::Grayscale, png::BitDepth::Eight, &gray_pixels(30, 20, 3), Some(600)));
    assert_eq!((gray.format, gray.dpi, gray.stride), (PixelFormat::Gray8, 600, 30));
    assert_eq!(gray.data, gray_pixels(30, 20, 3));

    let colour = only_page(png(7, 5, png::ColorType::Rgb, png::BitDepth::Eight, &rgb_pixels(7, 5, 1), None));
    assert_eq!((colour.format, colour.dpi, colour.stride), (PixelFormat::Rgb8, 300, 21));
    assert_eq!(colour.data, rgb_pixels(7, 5, 1));

    // Half-transparent black over white paper is mid gray.
    let alpha = only_page(png(2, 1, png::ColorType::GrayscaleAlpha, png::BitDepth::Eight, &[0, 128, 0, 0], None));
    assert_eq!(alpha.data, vec![127, 255]);
}

#[test]
fn one_bit_png_is_bw1_with_1_black() {
    let (width, height) = (21, 6);
    let bw1 = bw1_pixels(width, height, 0);
    // PNG gray 1-bit: 1 is white.
    let png_bits: Vec<u8> = bw1.iter().map(|byte| !byte).collect();
    let page = only_page(png(width, height, png::ColorType::Grayscale, png::BitDepth::One, &png_bits, Some(300)));
    assert_eq!((page.format, page.stride), (PixelFormat::Bw1, 3));
    assert_eq!(page.data, bw1);
}

#[test]
fn multi_page_tiff_gives_every_page_with_its_dpi() {
    let pages = [
        TiffPage {
            width: 33,
            height: 17,
            color: false,
            seed: 0,
            dpi: Rational { n: 300, d: 1 },
            unit: ResolutionUnit::Inch,
        },
        TiffPage {
            width: 20,
            height: 9,
            color: true,
            seed: 1,
            dpi: Rational { n: 400, d: 2 },
            unit: ResolutionUnit::Inch,
        },
        TiffPage {
            width: 16,
            height: 16,
            color: false,
            seed: 2,
            dpi: Rational { n: 11811, d: 100 },
            unit: ResolutionUnit::Centimeter,
        },
    ];
    let mut source = PageSource::open(tiff_pages(&pages)).expect("TIFF opens");
    assert_eq!(source.n_pages(), 3);
    let first = source.next_page().expect("decodes").expect("page 1");
    assert_eq!((first.width, first.height, first.dpi, first.format), (33, 17, 300, PixelFormat::Gray8));
    assert_eq!(first.data, gray_pixels(33, 17, 0));
    let second = source.next_page().expect("decodes").expect("page 2");
    assert_eq!((second.width, second.height, second.dpi, second.format), (20, 9, 200, PixelFormat::Rgb8));
    assert_eq!(second.data, rgb_pixels(20, 9, 1));
    assert!(!source.is_exhausted());
    let third = source.next_page().expect("decodes").expect("page 3");
    assert_eq!((third.dpi, third.data.clone()), (300, gray_pixels(16, 16, 2)));
    assert!(source.is_exhausted());
    assert!(source.next_page().expect("end").is_none());
}

#[test]
fn jpeg_compressed_ycbcr_tiff_becomes_rgb() {
    let page = only_page(jpeg_tiff(40, 24));
    assert_eq!((page.width, page.height, page.dpi, page.format), (40, 24, 300, PixelFormat::Rgb8));
    assert!(max_difference(&page.data, &rgb_pixels(40, 24, 0)) <= 40, "YCbCr TIFF pixels far from the source");
}

#[test]
fn g4_tiff_pages_are_bw1_pixel_exact_and_thumbnails_are_skipped() {
    // Widths not a multiple of 8; a thumbnail directory between the pages, as some printers write.
    let pages = vec![
        BilevelPage { width: 203, height: 40, bw1: bw1_pixels(203, 40, 0), dpi: 200, thumbnail: false },
        BilevelPage { width: 13, height: 5, bw1: bw1_pixels(13, 5, 2), dpi: 72, thumbnail: true },
        BilevelPage { width: 100, height: 31, bw1: bw1_pixels(100, 31, 1), dpi: 300, thumbnail: false },
    ];
    let mut source = PageSource::open(bilevel_tiff(&pages, Bilevel::G4)).expect("G4 TIFF opens");
    assert_eq!(source.n_pages(), 2);
    for expected in [&pages[0], &pages[2]] {
        let page = source.next_page().expect("G4 decodes").expect("a page");
        assert_eq!((page.width, page.height, page.dpi), (expected.width, expected.height, expected.dpi));
        assert_eq!((page.format, page.stride), (PixelFormat::Bw1, expected.width.div_ceil(8) as usize));
        assert_eq!(page.data, expected.bw1, "G4 page differs from what was encoded");
    }
    assert!(source.is_exhausted());
}

#[test]
fn uncompressed_one_bit_tiff_either_photometric_is_bw1_with_1_black() {
    for black_is_zero in [false, true] {
        let page = BilevelPage { width: 19, height: 7, bw1: bw1_pixels(19, 7, 1), dpi: 300, thumbnail: false };
        let raw = only_page(bilevel_tiff(std::slice::from_ref(&page), Bilevel::Raw { black_is_zero }));
        assert_eq!(raw.format, PixelFormat::Bw1);
        assert_eq!(raw.data, page.bw1, "black_is_zero = {black_is_zero}");
    }
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let check = |bytes: Vec<u8>, expected: &str| match PageSource::open(bytes) {
        Ok(source) => panic!("{expected}: opened as {source:?}"),
        Err(error) => assert!(error.to_string().contains(expected), "expected `{expected}` in `{error}`"),
    };
    check(b"Danh sach ho so\n".to_vec(), "not a JPEG, PNG or TIFF");
    check(b"%PDF-1.7\n".to_vec(), "PDF");
    check(Vec::new(), "not a JPEG, PNG or TIFF");
    let whole = jpeg(64, 64, true, Some(300));
    check(whole[..whole.len() * 2 / 3].to_vec(), "truncated");
    let png_bytes = png(30, 20, png::ColorType::Grayscale, png::BitDepth::Eight, &gray_pixels(30, 20, 0), None);
    assert!(PageSource::open(png_bytes[..png_bytes.len() - 30].to_vec()).is_err(), "truncated PNG opens");
    let tiff = tiff_pages(&[TiffPage {
        width: 8,
        height: 8,
        color: false,
        seed: 0,
        dpi: Rational { n: 300, d: 1 },
        unit: ResolutionUnit::Inch,
    }]);
    assert!(PageSource::open(tiff[..12].to_vec()).is_err(), "TIFF cut in its header opens");

    // A decompression bomb: the header claims 10 001 × 10 001 pixels (tiny data). Refused before decoding.
    let bomb = BilevelPage { width: 10_001, height: 10_001, bw1: Vec::new(), dpi: 300, thumbnail: false };
    check(bilevel_tiff(&[bomb], Bilevel::Raw { black_is_zero: false }), "10001×10001 pixels");
    let wide = BilevelPage { width: 20_001, height: 1, bw1: vec![0; 2501], dpi: 300, thumbnail: false };
    check(bilevel_tiff(&[wide], Bilevel::Raw { black_is_zero: false }), "more than 20000 per side");

    // An unsupported compression (old-style JPEG, 6) fails at the page, with the crate's reason.
    let mut odd = bilevel_tiff(
        &[BilevelPage { width: 8, height: 8, bw1: vec![0; 8], dpi: 300, thumbnail: false }],
        Bilevel::Raw { black_is_zero: false },
    );
    patch_tag(&mut odd, 0, 259, 6);
    let error = PageSource::open(odd).and_then(|mut source| source.next_page()).expect_err("old JPEG refused");
    assert!(matches!(error, FileError::Tiff(_)), "{error:?}");
}

#[test]
fn ignored_names() {
    for name in [".hidden.jpg", "~$scan.jpg", "scan.jpg.part", "SCAN.TMP", "Thumbs.db", "desktop.ini", "a.crdownload"] {
        assert!(is_ignored(name), "{name} should be ignored");
    }
    for name in ["scan.jpg", "SCAN0001.TIF", "notes.txt", "part.jpg", "tmp"] {
        assert!(!is_ignored(name), "{name} should be a candidate");
    }
}

// ---- configuration and status -------------------------------------------------------------

#[test]
fn check_reports_relative_paths_bad_options_and_printer_profiles() {
    let factory = FolderFactory::new();
    assert_eq!(factory.check(&spec("folder:/srv/scan-inbox?settle=500ms&idle=30s&wait=5m")), Vec::<String>::new());
    assert_eq!(
        factory.check(&spec("folder:scans")),
        vec!["`folder:scans` is not an absolute path — write the whole path, e.g. folder:/srv/scan-inbox"]
    );
    assert_eq!(
        factory.check(&spec("folder:/srv/in?idle=soon&speed=2&settle=2h")),
        vec![
            "`idle=soon` is not a duration — write a number with a unit, e.g. idle=2s or idle=500ms",
            "unknown folder option `speed=2` — the options are settle, idle, wait and keep, e.g. folder:/srv/scan-inbox?idle=20s",
            "`settle=2h` is out of range — settle must be from 50ms to 1m",
        ]
    );
    let mut printer = spec("folder:/srv/in");
    printer.settings = DeviceSettings::Printer(PrinterSettings {
        paper_width_mm: 210,
        printable_dots: 0,
        dpi: 300,
        cutter: false,
        formats: Vec::new(),
        escpos: Default::default(),
    });
    assert_eq!(factory.check(&printer).len(), 1);
    assert!(factory.check(&printer)[0].contains("use a scanner profile"));
    // `open` refuses what `check` reports, without touching the file system.
    assert!(matches!(factory.open(&spec("folder:scans")), Err(DriverError::Unsupported { .. })));
    // A Windows extended path keeps its `?`; options follow the last `?` only.
    assert_eq!(crate::spec::split_options(r"\\?\C:\scans"), (r"\\?\C:\scans", None));
    assert_eq!(crate::spec::split_options("/srv/in?idle=3s"), ("/srv/in", Some("idle=3s")));
}

#[test]
fn options_set_the_timing() {
    let folder = crate::spec::read(&spec("folder:/srv/in?settle=300ms&idle=20s"), Timing::default()).expect("valid");
    assert_eq!(folder.path, PathBuf::from("/srv/in"));
    assert_eq!(
        folder.timing,
        Timing { settle: Duration::from_millis(300), idle: Duration::from_secs(20), ..Timing::default() }
    );
}

#[test]
fn status_ready_then_not_found_when_the_folder_goes() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("inbox");
    let missing = FolderFactory::new().open(&folder_spec(&dir));
    match missing {
        Err(DriverError::NotFound { detail }) => assert!(detail.contains("does not exist"), "{detail}"),
        Err(other) => panic!("expected NotFound, got {other:?}"),
        Ok(_) => panic!("a missing folder opened"),
    }
    fs::create_dir(&dir).expect("folder made");
    let mut device = open(&dir);
    assert_eq!(device.status().expect("status").state, DeviceState::Ready);
    assert_eq!(names(&dir), Vec::<String>::new(), "the write probe is left behind");
    fs::remove_dir(&dir).expect("folder removed");
    assert!(matches!(device.status(), Err(DriverError::NotFound { .. })));
    fs::write(&dir, b"a file, not a folder").expect("file written");
    match device.status() {
        Err(DriverError::NotFound { detail }) => assert!(detail.contains("is not a folder"), "{detail}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

// ---- batches ------------------------------------------------------------------------------

#[test]
fn batch_takes_files_by_modification_time_and_deletes_them_after_hand_over() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tiff = tiff_pages(&[
        TiffPage {
            width: 30,
            height: 3,
            color: false,
            seed: 0,
            dpi: Rational { n: 300, d: 1 },
            unit: ResolutionUnit::Inch,
        },
        TiffPage {
            width: 31,
            height: 3,
            color: true,
            seed: 0,
            dpi: Rational { n: 300, d: 1 },
            unit: ResolutionUnit::Inch,
        },
    ]);
    // Names in the opposite order of their dates: the date decides.
    drop_file(dir.path(), "z.jpg", &jpeg(10, 3, false, Some(200)), 30);
    drop_file(
        dir.path(),
        "m.png",
        &png(20, 3, png::ColorType::Grayscale, png::BitDepth::Eight, &gray_pixels(20, 3, 0), Some(600)),
        20,
    );
    drop_file(dir.path(), "a.tif", &tiff, 10);
    let mut device = open(dir.path());
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");

    let first = page(scanner.next_page());
    assert_eq!((first.width, first.dpi), (10, 200));
    assert!(dir.path().join("z.jpg").exists(), "deleted before its page was handed over");
    let second = page(scanner.next_page());
    assert_eq!((second.width, second.dpi), (20, 600));
    assert!(!dir.path().join("z.jpg").exists(), "a handed-over file lingers");
    let third = page(scanner.next_page());
    assert_eq!(third.width, 30);
    assert!(!dir.path().join("m.png").exists());
    let fourth = page(scanner.next_page());
    assert_eq!((fourth.width, fourth.format), (31, PixelFormat::Rgb8));
    assert!(dir.path().join("a.tif").exists());
    let started = Instant::now();
    assert!(scanner.next_page().expect("a clean end").is_none());
    assert!(started.elapsed() >= FAST.idle, "ended before the folder was quiet for `idle`");
    scanner.end_batch();
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

#[test]
fn end_batch_deletes_a_file_whose_last_page_was_taken() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop_file(dir.path(), "one.jpg", &jpeg(8, 8, false, None), 5);
    let mut device = open(dir.path());
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    page(scanner.next_page());
    scanner.end_batch();
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

#[test]
fn a_file_handed_over_in_part_stays_whole_for_the_next_batch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pages: Vec<TiffPage> = (0..3)
        .map(|seed| TiffPage {
            width: 16,
            height: 4,
            color: false,
            seed,
            dpi: Rational { n: 300, d: 1 },
            unit: ResolutionUnit::Inch,
        })
        .collect();
    drop_file(dir.path(), "three.tif", &tiff_pages(&pages), 5);
    let mut device = open(dir.path());
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    page(scanner.next_page());
    scanner.end_batch();
    assert_eq!(names(dir.path()), vec!["three.tif"]);

    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts again");
    let seeds: Vec<Vec<u8>> = (0..3).map(|_| page(scanner.next_page()).data).collect();
    assert_eq!(seeds, (0..3).map(|seed| gray_pixels(16, 4, seed)).collect::<Vec<_>>());
    assert!(scanner.next_page().expect("end").is_none());
    scanner.end_batch();
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

#[test]
fn a_file_written_slowly_is_taken_only_once_complete() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = png(64, 64, png::ColorType::Rgb, png::BitDepth::Eight, &rgb_pixels(64, 64, 0), Some(300));
    let path = dir.path().join("slow.png");
    let writer = {
        let (path, bytes) = (path.clone(), bytes.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut file = fs::File::create(&path).expect("file created");
            // Pauses shorter than `settle`, for longer than `settle` in all.
            for chunk in bytes.chunks(bytes.len() / 12 + 1) {
                file.write_all(chunk).expect("chunk written");
                file.flush().expect("flushed");
                std::thread::sleep(Duration::from_millis(60));
            }
        })
    };
    // Pauses well under `settle`, so a busy test machine does not make the writer look finished.
    let timing = Timing { settle: Duration::from_millis(400), ..FAST };
    let mut device = FolderFactory::with_timing(timing).open(&folder_spec(dir.path())).expect("opens");
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    let progress = Arc::new(Mutex::new(Vec::new()));
    let cancel = CancelToken::new();
    let seen = Arc::clone(&progress);
    let mut report = move |p: ScanProgress| seen.lock().expect("lock").push(p);
    let page = page(scanner.next_page_watched(&mut PageWatch { cancel: &cancel, progress: &mut report }));
    writer.join().expect("writer finished");
    assert_eq!(page.data, rgb_pixels(64, 64, 0), "a half-written file was taken");
    assert!(!dir.path().join("rejected").exists());
    let progress = progress.lock().expect("lock");
    assert!(progress.iter().any(|p| p.expected_bytes.is_none() && p.bytes > 0), "no progress while the file grew");
    assert_eq!(progress.last().map(|p| p.bytes), Some(bytes.len() as u64));
}

#[test]
fn unreadable_files_go_to_rejected_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let truncated = jpeg(32, 32, true, Some(300));
    drop_file(dir.path(), "notes.txt", b"not an image", 40);
    drop_file(dir.path(), "good.jpg", &jpeg(11, 11, false, None), 30);
    drop_file(dir.path(), "cut.jpg", &truncated[..truncated.len() / 2], 20);
    drop_file(
        dir.path(),
        "later.png",
        &png(12, 12, png::ColorType::Grayscale, png::BitDepth::Eight, &gray_pixels(12, 12, 0), None),
        10,
    );
    let mut device = open(dir.path());
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");

    assert_eq!(fault(scanner.next_page()), StatusReason::UnreadableFile);
    assert_eq!(page(scanner.next_page()).width, 11);
    assert_eq!(fault(scanner.next_page()), StatusReason::UnreadableFile);
    assert_eq!(page(scanner.next_page()).width, 12);
    assert!(scanner.next_page().expect("a clean end").is_none());
    scanner.end_batch();

    let rejected = dir.path().join("rejected");
    assert_eq!(names(dir.path()), vec!["rejected"]);
    assert_eq!(names(&rejected), vec!["cut.jpg", "cut.jpg.reason.txt", "notes.txt", "notes.txt.reason.txt"]);
    assert_eq!(fs::read(rejected.join("cut.jpg")).expect("kept"), &truncated[..truncated.len() / 2]);
    let note = fs::read_to_string(rejected.join("notes.txt.reason.txt")).expect("note");
    assert!(note.contains("not a JPEG, PNG or TIFF image"), "{note}");
    assert!(fs::read_to_string(rejected.join("cut.jpg.reason.txt")).expect("note").contains("truncated"));

    // Another file by the same name does not overwrite the first.
    drop_file(dir.path(), "notes.txt", b"again", 1);
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    assert_eq!(fault(scanner.next_page()), StatusReason::UnreadableFile);
    scanner.end_batch();
    assert!(names(&rejected).contains(&"notes (2).txt".to_string()));
    assert_eq!(fs::read(rejected.join("notes.txt")).expect("first kept"), b"not an image");
}

#[test]
fn a_tiff_failing_half_way_keeps_the_pages_before_and_the_whole_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pages: Vec<BilevelPage> = (0..2)
        .map(|seed| BilevelPage { width: 16, height: 4, bw1: bw1_pixels(16, 4, seed), dpi: 300, thumbnail: false })
        .collect();
    let mut bytes = bilevel_tiff(&pages, Bilevel::Raw { black_is_zero: false });
    patch_tag(&mut bytes, 1, 273, 0x00FF_FFFF); // page 2's data lies past the end of the file
    drop_file(dir.path(), "broken.tif", &bytes, 5);
    let mut device = open(dir.path());
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    assert_eq!(page(scanner.next_page()).data, pages[0].bw1);
    assert_eq!(fault(scanner.next_page()), StatusReason::UnreadableFile);
    assert!(scanner.next_page().expect("a clean end").is_none());
    scanner.end_batch();
    assert_eq!(fs::read(dir.path().join("rejected/broken.tif")).expect("whole file kept"), bytes);
}

#[test]
fn empty_folder_is_feeder_empty_and_ignored_files_stay() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in [".scan.jpg", "scan.jpg.part", "~$scan.jpg", "Thumbs.db"] {
        drop_file(dir.path(), name, &jpeg(8, 8, false, None), 5);
    }
    fs::create_dir(dir.path().join("old")).expect("subfolder");
    let mut device = open(dir.path());
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    let started = Instant::now();
    assert_eq!(fault(scanner.next_page()), StatusReason::FeederEmpty);
    assert!(started.elapsed() >= FAST.wait);
    scanner.end_batch();
    assert_eq!(names(dir.path()), vec![".scan.jpg", "Thumbs.db", "old", "scan.jpg.part", "~$scan.jpg"]);
}

#[test]
fn cancel_while_waiting_returns_promptly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let timing = Timing { wait: Duration::from_secs(30), ..FAST };
    let mut device = FolderFactory::with_timing(timing).open(&folder_spec(dir.path())).expect("opens");
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            cancel.cancel();
        })
    };
    let started = Instant::now();
    let mut ignore = |_: ScanProgress| {};
    let result = scanner.next_page_watched(&mut PageWatch { cancel: &cancel, progress: &mut ignore });
    let elapsed = started.elapsed();
    canceller.join().expect("canceller");
    assert!(matches!(result, Err(DriverError::Cancelled)), "{result:?}");
    assert!(elapsed < Duration::from_millis(600), "cancel took {elapsed:?}");
    scanner.end_batch();
}

#[test]
fn flatbed_takes_one_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop_file(dir.path(), "first.jpg", &jpeg(9, 9, false, None), 20);
    drop_file(dir.path(), "second.jpg", &jpeg(10, 10, false, None), 10);
    let mut device = open(dir.path());
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Flatbed)).expect("batch starts");
    assert_eq!(page(scanner.next_page()).width, 9);
    let started = Instant::now();
    assert!(scanner.next_page().expect("end").is_none());
    assert!(started.elapsed() < FAST.idle, "the flatbed waited for more files");
    scanner.end_batch();
    assert_eq!(names(dir.path()), vec!["second.jpg"]);
}

#[test]
fn files_arriving_during_the_batch_are_taken() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop_file(dir.path(), "1.jpg", &jpeg(9, 9, false, None), 20);
    let timing = Timing { idle: Duration::from_secs(3), ..FAST };
    let mut device = FolderFactory::with_timing(timing).open(&folder_spec(dir.path())).expect("opens");
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    assert_eq!(page(scanner.next_page()).width, 9);
    let late = {
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300)); // well under `idle`
            fs::write(dir.join("2.png"), png(5, 5, png::ColorType::Grayscale, png::BitDepth::Eight, &[7; 25], None))
                .expect("late file");
        })
    };
    assert_eq!(page(scanner.next_page()).data, vec![7; 25]);
    late.join().expect("late writer");
    assert!(scanner.next_page().expect("end").is_none());
    scanner.end_batch();
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

#[test]
fn next_page_outside_a_batch_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut device = open(dir.path());
    let scanner = device.as_scanner().expect("a scanner");
    assert!(matches!(scanner.next_page(), Err(DriverError::Unsupported { .. })));
}

/// Every file in `seeds`, with bytes flipped, cut or overwritten in many ways: each opens or is
/// refused, and every page decodes or is refused — no panic, no hang, no huge allocation.
#[test]
fn mangled_files_are_refused_or_decoded_never_crash() {
    let seeds = [
        jpeg(40, 30, true, Some(300)),
        png(20, 10, png::ColorType::Rgb, png::BitDepth::Eight, &rgb_pixels(20, 10, 0), Some(300)),
        tiff_pages(&[
            TiffPage {
                width: 16,
                height: 8,
                color: false,
                seed: 0,
                dpi: Rational { n: 300, d: 1 },
                unit: ResolutionUnit::Inch,
            },
            TiffPage {
                width: 8,
                height: 8,
                color: true,
                seed: 1,
                dpi: Rational { n: 300, d: 1 },
                unit: ResolutionUnit::Inch,
            },
        ]),
        bilevel_tiff(
            &[BilevelPage { width: 50, height: 20, bw1: bw1_pixels(50, 20, 0), dpi: 200, thumbnail: false }],
            Bilevel::G4,
        ),
        jpeg_tiff(16, 16),
    ];
    let mut state = 0x2545_f491_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    let (mut opened, mut refused) = (0, 0);
    for seed in &seeds {
        for round in 0..300 {
            let mut bytes = seed.clone();
            match round % 3 {
                0 => bytes.truncate(next() % bytes.len()),
                1 => {
                    for _ in 0..1 + next() % 4 {
                        let at = next() % bytes.len();
                        bytes[at] ^= 1 << (next() % 8);
                    }
                }
                _ => {
                    let at = next() % bytes.len();
                    bytes[at] = [0x00, 0xFF, 0x7F, 0x80][next() % 4];
                }
            }
            match PageSource::open(bytes) {
                Ok(mut source) => {
                    opened += 1;
                    while let Ok(Some(page)) = source.next_page() {
                        assert!(page.data.len() >= page.stride * page.height as usize, "{page:?}");
                    }
                }
                Err(_) => refused += 1,
            }
        }
    }
    // Both outcomes happen: the mangling is neither always fatal nor always harmless.
    assert!(opened > 50 && refused > 50, "opened {opened}, refused {refused}");
}

// ---- review fixes: symbolic links, rejected/ expiry, size messages ------------------------

#[cfg(unix)]
#[test]
fn a_symlink_to_a_file_outside_the_folder_is_never_read_nor_touched() {
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let precious_bytes = jpeg(40, 40, true, Some(300));
    let precious = drop_file(elsewhere.path(), "precious.jpg", &precious_bytes, 60);
    let precious_stamp = fs::metadata(&precious).expect("target").modified().expect("mtime");
    std::os::unix::fs::symlink(&precious, dir.path().join("a-link.jpg")).expect("link made");
    // A link to a folder outside is not listed either.
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("a-folder-link")).expect("link made");
    drop_file(dir.path(), "real.jpg", &jpeg(13, 13, false, None), 30);

    let mut device = open(dir.path());
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    assert_eq!(page(scanner.next_page()).width, 13, "only the real file is a page");
    assert!(scanner.next_page().expect("a clean end").is_none(), "the link gave a page");
    scanner.end_batch();

    assert_eq!(names(dir.path()), vec!["a-folder-link", "a-link.jpg"], "links stay where they are");
    assert!(fs::symlink_metadata(dir.path().join("a-link.jpg")).expect("link").file_type().is_symlink());
    assert_eq!(fs::read(&precious).expect("target still there"), precious_bytes);
    assert_eq!(fs::metadata(&precious).expect("target").modified().expect("mtime"), precious_stamp);
    assert_eq!(names(elsewhere.path()), vec!["precious.jpg"]);
    assert!(!dir.path().join("rejected").exists(), "nothing was rejected");
}

#[cfg(unix)]
#[test]
fn a_file_replaced_by_a_symlink_after_listing_is_not_read() {
    use crate::inbox::Inbox;
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let precious = drop_file(elsewhere.path(), "precious.jpg", &jpeg(40, 40, true, None), 60);
    drop_file(dir.path(), "scan.jpg", &jpeg(13, 13, false, None), 30);
    let inbox = Inbox::new(dir.path().to_path_buf());
    let listed = inbox.list().expect("listed");
    assert_eq!(listed.len(), 1);
    fs::remove_file(&listed[0].path).expect("removed");
    std::os::unix::fs::symlink(&precious, &listed[0].path).expect("link made");
    // The stamp check the scanner makes around every read sees no regular file any more.
    assert_eq!(inbox.stamp(&listed[0].path), None);
    assert!(inbox.list().expect("listed").is_empty());
}

/// Dates an existing file `age_seconds` ago.
fn age_file(path: &Path, age_seconds: u64) {
    let modified = SystemTime::now() - Duration::from_secs(age_seconds);
    fs::File::options().write(true).open(path).and_then(|file| file.set_modified(modified)).expect("mtime set");
}

#[test]
fn rejected_files_are_deleted_after_the_keep_period() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rejected = dir.path().join("rejected");
    fs::create_dir(&rejected).expect("rejected/ made");
    let hour = 3600;
    // Rejected two hours ago: the file and its note go.
    drop_file(&rejected, "old.jpg", b"old citizen document", 2 * hour);
    drop_file(&rejected, "old.jpg.reason.txt", b"note", 2 * hour);
    // Rejected a moment ago: stays.
    drop_file(&rejected, "fresh.jpg", b"fresh citizen document", 1);
    drop_file(&rejected, "fresh.jpg.reason.txt", b"note", 1);
    // Written by the printer long ago but rejected just now (a rename keeps the old time): stays.
    drop_file(&rejected, "late.jpg", b"late", 5 * hour);
    drop_file(&rejected, "late.jpg.reason.txt", b"note", 1);
    // A note whose file was deleted by hand, and a file whose note was: both expire alone.
    drop_file(&rejected, "gone.jpg.reason.txt", b"note", 2 * hour);
    drop_file(&rejected, "bare.png", b"bare", 2 * hour);
    // A file whose clock is in the future counts as new.
    let future = drop_file(&rejected, "future.tif", b"future", 0);
    fs::File::options()
        .write(true)
        .open(&future)
        .and_then(|file| file.set_modified(SystemTime::now() + Duration::from_secs(10 * hour)))
        .expect("mtime set");
    #[cfg(unix)]
    let elsewhere = tempfile::tempdir().expect("temp dir");
    #[cfg(unix)]
    {
        let target = drop_file(elsewhere.path(), "precious.jpg", b"precious", 2 * hour);
        std::os::unix::fs::symlink(&target, rejected.join("link.jpg")).expect("link made");
    }

    let timing = Timing { rejected_keep: Duration::from_secs(hour), ..FAST };
    let mut device = FolderFactory::with_timing(timing).open(&folder_spec(dir.path())).expect("folder opens");
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    let expected: Vec<&str> = ["fresh.jpg", "fresh.jpg.reason.txt", "future.tif", "late.jpg", "late.jpg.reason.txt"]
        .into_iter()
        .chain(cfg!(unix).then_some("link.jpg"))
        .collect();
    #[cfg(unix)]
    assert_eq!(names(elsewhere.path()), vec!["precious.jpg"], "a link's target is never deleted");
    assert_eq!(names(&rejected), expected);
    assert_eq!(fs::read(rejected.join("fresh.jpg")).expect("kept"), b"fresh citizen document");
    scanner.end_batch();

    // Once the fresh file's time is up, it goes on the next batch too.
    age_file(&rejected.join("fresh.jpg"), 2 * hour);
    age_file(&rejected.join("fresh.jpg.reason.txt"), 2 * hour);
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    scanner.end_batch();
    assert!(!names(&rejected).contains(&"fresh.jpg".to_string()));
    assert!(!names(&rejected).contains(&"fresh.jpg.reason.txt".to_string()));
}

#[test]
fn a_file_rejected_now_is_kept_and_its_note_says_when_it_goes() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Written long ago by a printer with a wrong clock: the keep period counts from the rejection.
    drop_file(dir.path(), "notes.txt", b"not an image", 10 * 24 * 3600);
    let timing = Timing { rejected_keep: Duration::from_secs(3600), ..FAST };
    let mut device = FolderFactory::with_timing(timing).open(&folder_spec(dir.path())).expect("folder opens");
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    assert_eq!(fault(scanner.next_page()), StatusReason::UnreadableFile);
    scanner.end_batch();
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    scanner.end_batch();
    let rejected = dir.path().join("rejected");
    assert_eq!(names(&rejected), vec!["notes.txt", "notes.txt.reason.txt"]);
    let note = fs::read_to_string(rejected.join("notes.txt.reason.txt")).expect("note");
    assert!(note.contains("deleted automatically 1 hour after"), "{note}");
    assert!(note.contains("tự động bị xoá sau 1 giờ"), "{note}");
    // The default reads as 24 hours, not "1day".
    assert_eq!(crate::inbox::keep_in_words(Timing::default().rejected_keep), (24, "hours", "giờ"));
    assert_eq!(crate::inbox::keep_in_words(Duration::from_secs(90 * 60)), (90, "minutes", "phút"));
}

#[test]
fn the_keep_option_sets_the_rejected_retention_and_is_checked() {
    assert_eq!(Timing::default().rejected_keep, Duration::from_secs(24 * 3600));
    let folder = crate::spec::read(&spec("folder:/srv/in?keep=2h"), Timing::default()).expect("valid");
    assert_eq!(folder.timing, Timing { rejected_keep: Duration::from_secs(7200), ..Timing::default() });
    let factory = FolderFactory::new();
    assert_eq!(factory.check(&spec("folder:/srv/in?keep=7days&idle=30s")), Vec::<String>::new());
    assert_eq!(
        factory.check(&spec("folder:/srv/in?keep=10s&keep=forever&keep=31days")),
        vec![
            "`keep=10s` is out of range — keep must be from 1m to 30days",
            "`keep=forever` is not a duration — write a number with a unit, e.g. keep=2s or keep=500ms",
            "`keep=31days` is out of range — keep must be from 1m to 30days",
        ]
    );
}

/// CRC-32 as PNG chunks use it (bitwise; test data is small).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A small real PNG whose header claims `width` × `height` (the data stays small).
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(8, 8, png::ColorType::Rgb, png::BitDepth::Eight, &rgb_pixels(8, 8, 0), None);
    // Signature (8), IHDR length (4), "IHDR" (4), width, height, …, CRC over type and data.
    assert_eq!(&bytes[12..16], b"IHDR");
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A small real JPEG whose frame header claims `width` × `height`.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg(16, 16, true, Some(300));
    let sof = bytes.windows(2).position(|pair| pair == [0xFF, 0xC0]).expect("baseline frame header");
    // FF C0, length (2), precision (1), height (2), width (2).
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[test]
fn oversized_images_are_refused_with_their_real_size() {
    let refused = |bytes: Vec<u8>| match PageSource::open(bytes) {
        Ok(source) => panic!("opened as {source:?}"),
        Err(error) => error.to_string(),
    };
    let message = refused(png_claiming(40_000, 40_000));
    assert_eq!(
        message,
        "the image is 40000×40000 pixels — more than 20000 per side or 40000000 in all is refused \
         (scan at a lower dpi)"
    );
    assert!(refused(jpeg_claiming(40_000, 40_000)).starts_with("the image is 40000×40000 pixels"));
    // Within the side cap but over the pixel cap: 7000 × 7000 = 49 million.
    assert!(refused(png_claiming(7_000, 7_000)).starts_with("the image is 7000×7000 pixels"));
    assert!(refused(jpeg_claiming(20_001, 10)).starts_with("the image is 20001×10 pixels"));
    // An A4 page at 600 dpi (4960 × 7016 = 34.8 million) is within the cap: the header passes
    // the size check and decoding proceeds (and fails here only because the data is 8 × 8).
    assert!(!refused(png_claiming(4_960, 7_016)).contains("4960×7016"));
    assert_eq!(crate::MAX_PIXELS, 40_000_000);
    // The reason a clerk's technician reads in rejected/ has the real size too.
    let dir = tempfile::tempdir().expect("temp dir");
    drop_file(dir.path(), "huge.png", &png_claiming(40_000, 40_000), 10);
    let mut device = open(dir.path());
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&request(ScanSource::Adf)).expect("batch starts");
    assert_eq!(fault(scanner.next_page()), StatusReason::UnreadableFile);
    scanner.end_batch();
    let note = fs::read_to_string(dir.path().join("rejected/huge.png.reason.txt")).expect("note");
    assert!(note.contains("Reason: the image is 40000×40000 pixels"), "{note}");
    assert!(!note.contains("0×0"), "{note}");
}

#[derive(Debug)]
struct Layer(String, Option<Box<Layer>>);

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Layer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.1.as_deref().map(|layer| layer as &(dyn std::error::Error + 'static))
    }
}

fn layers(texts: &[&str]) -> Layer {
    texts
        .iter()
        .rev()
        .fold(None, |inner: Option<Layer>, text| Some(Layer(text.to_string(), inner.map(Box::new))))
        .expect("at least one layer")
}

#[test]
fn reasons_do_not_repeat_themselves() {
    use crate::scanner::error_chain;
    assert_eq!(
        error_chain(&layers(&[
            "cannot decode the TIFF image",
            "cycle in the list of IFDs",
            "file contained a cycle in the list of IFDs",
        ])),
        "cannot decode the TIFF image: file contained a cycle in the list of IFDs"
    );
    assert_eq!(
        error_chain(&layers(&["cannot decode the PNG image", "unexpected EOF", "unexpected EOF"])),
        "cannot decode the PNG image: unexpected EOF"
    );
    assert_eq!(
        error_chain(&layers(&["format error: bad IFD offset", "bad IFD offset"])),
        "format error: bad IFD offset"
    );
    assert_eq!(error_chain(&layers(&["a", "b", "c"])), "a: b: c");
    // Real TIFF errors from the crate keep the crate's reason, said once.
    let page = TiffPage {
        width: 8,
        height: 8,
        color: false,
        seed: 0,
        dpi: Rational { n: 300, d: 1 },
        unit: ResolutionUnit::Inch,
    };
    let tiff = tiff_pages(std::slice::from_ref(&page));
    let cut = PageSource::open(tiff[..12].to_vec()).expect_err("cut TIFF refused");
    // A TIFF whose next-directory pointer points back at its first directory.
    let mut cycle = tiff_pages(&[page.clone(), page]);
    assert_eq!(&cycle[..2], b"II");
    let first = u32::from_le_bytes(cycle[4..8].try_into().expect("4 bytes")) as usize;
    let n_entries = usize::from(u16::from_le_bytes(cycle[first..first + 2].try_into().expect("2 bytes")));
    let next = u32::from_le_bytes(cycle[first + 2 + 12 * n_entries..][..4].try_into().expect("4 bytes")) as usize;
    let n_next = usize::from(u16::from_le_bytes(cycle[next..next + 2].try_into().expect("2 bytes")));
    let at = next + 2 + 12 * n_next;
    cycle[at..at + 4].copy_from_slice(&(first as u32).to_le_bytes());
    let looped = PageSource::open(cycle).expect_err("cyclic TIFF refused");
    for error in [cut, looped] {
        let text = error_chain(&error);
        let parts: Vec<&str> = text.split(": ").collect();
        for (i, part) in parts.iter().enumerate() {
            for other in &parts[i + 1..] {
                assert!(!other.contains(part) && !part.contains(other), "`{text}` repeats itself");
            }
        }
    }
}
