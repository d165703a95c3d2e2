//! Scans through the real scan-worker child process and libsane's `test` backend, configured by
//! the project-local `tests/sane-config` folder (A4 geometry). Fault injection uses the worker's
//! test-only script (`COUNTER_AGENT_SANE_SCRIPT`, see `src/script.rs`); `scanimage` from
//! sane-utils is the pixel oracle where it is correct (see FIELD-NOTES).
//!
//! These tests need the Debian packages libsane1 and sane-utils.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use counter_agent_driver_api::{
    CancelToken, ColorMode, Connection, Device, DeviceSettings, DriverError, DriverFactory, OpenSpec, PageSide,
    PageWatch, PixelFormat, RawPage, ScanProgress, ScanRequest, ScanSource, ScannerSettings, StatusReason,
};
use counter_agent_driver_sane::{SaneFactory, WorkerCommand};

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sane-config")
}

/// A worker command for the test backend with `script` as its fault-injection script.
fn command(script: &str, dir: &Path) -> WorkerCommand {
    let path = dir.join("script.txt");
    std::fs::write(&path, script).expect("write the script");
    WorkerCommand::new(env!("CARGO_BIN_EXE_sane-scan-worker"), Vec::<String>::new())
        .env("SANE_CONFIG_DIR", config_dir())
        .env("COUNTER_AGENT_SANE_SCRIPT", path)
}

fn settings() -> ScannerSettings {
    ScannerSettings {
        max_dpi: 4800,
        default_dpi: 300,
        sources: vec![ScanSource::Flatbed, ScanSource::Adf, ScanSource::AdfDuplex],
        duplex_back_rotate_180: false,
        sane: Box::default(),
    }
}

fn spec() -> OpenSpec {
    OpenSpec {
        id: "scanner".into(),
        connection: Connection::Sane { device: "test:0".into() },
        settings: DeviceSettings::Scanner(settings()),
    }
}

struct Rig {
    dir: tempfile::TempDir,
    device: Box<dyn Device>,
}

fn rig(script: &str) -> Rig {
    rig_with(script, |factory| factory)
}

fn rig_with(script: &str, change: impl FnOnce(SaneFactory) -> SaneFactory) -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = change(SaneFactory::new(command(script, dir.path())));
    let device = factory.open(&spec()).unwrap_or_else(|error| panic!("open test:0: {error}"));
    Rig { dir, device }
}

fn request(source: ScanSource, color: ColorMode, dpi: u32) -> ScanRequest {
    ScanRequest { source, color, dpi }
}

/// Every page until the batch ends or pauses, with the progress seen.
fn pull(device: &mut Box<dyn Device>) -> (Vec<RawPage>, Result<(), DriverError>, Vec<ScanProgress>) {
    let scanner = device.as_scanner().expect("a scanner");
    let cancel = CancelToken::new();
    let mut progress = Vec::new();
    let mut pages = Vec::new();
    loop {
        let mut report = |p: ScanProgress| progress.push(p);
        let mut watch = PageWatch { cancel: &cancel, progress: &mut report };
        match scanner.next_page_watched(&mut watch) {
            Ok(Some(page)) => pages.push(page),
            Ok(None) => return (pages, Ok(()), progress),
            Err(error) => return (pages, Err(error), progress),
        }
    }
}

fn start(device: &mut Box<dyn Device>, request: &ScanRequest) -> Result<(), DriverError> {
    device.as_scanner().expect("a scanner").start_batch(request)
}

/// `scanimage` output for the same settings as raw PNM.
fn scanimage(args: &[&str]) -> (u32, u32, Vec<u8>) {
    let output = Command::new("scanimage")
        .args(["-d", "test:0", "--format=pnm"])
        .args(args)
        .env("SANE_CONFIG_DIR", config_dir())
        .output()
        .expect("scanimage runs (install sane-utils)");
    assert!(output.status.success(), "scanimage failed: {}", String::from_utf8_lossy(&output.stderr));
    parse_pnm(&output.stdout)
}

/// Parses a binary P4/P5/P6 file: width, height and the raster.
fn parse_pnm(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut fields = Vec::new();
    let mut i = 0;
    let wanted = if bytes.starts_with(b"P4") { 3 } else { 4 };
    while fields.len() < wanted {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes[i] == b'#' {
            while bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    let width = fields[1].parse().expect("width");
    let height = fields[2].parse().expect("height");
    (width, height, bytes[i + 1..].to_vec())
}

fn assert_pages_a4(pages: &[RawPage], dpi: u32, format: PixelFormat) {
    let width = (210.0 / 25.4 * f64::from(dpi)) as u32;
    for page in pages {
        assert_eq!(page.format, format);
        assert_eq!(page.dpi, dpi);
        assert!(page.width.abs_diff(width) <= 1, "width {} for {dpi} dpi", page.width);
        assert!(page.height.abs_diff((297.0 / 25.4 * f64::from(dpi)) as u32) <= 1, "height {}", page.height);
    }
}

#[test]
fn adf_colour_300_dpi_gives_exactly_ten_a4_pages_then_a_clean_end() {
    let mut rig = rig("");
    start(&mut rig.device, &request(ScanSource::Adf, ColorMode::Color, 300)).expect("start");
    let (pages, end, progress) = pull(&mut rig.device);
    end.expect("a clean end");
    assert_eq!(pages.len(), 10);
    assert_pages_a4(&pages, 300, PixelFormat::Rgb8);
    assert!(pages.iter().all(|page| page.side == PageSide::Front));
    assert!(!progress.is_empty(), "progress was reported");
    rig.device.as_scanner().expect("scanner").end_batch();
}

fn end(device: &mut Box<dyn Device>) {
    device.as_scanner().expect("a scanner").end_batch();
}

/// A gray, 50 dpi ADF batch (fast) with `script`; returns the pages before the first stop.
fn adf_gray(rig: &mut Rig) -> (Vec<RawPage>, Result<(), DriverError>) {
    start(&mut rig.device, &request(ScanSource::Adf, ColorMode::Gray, 50)).expect("start");
    let (pages, end, _) = pull(&mut rig.device);
    (pages, end)
}

fn fault(result: Result<(), DriverError>) -> StatusReason {
    match result {
        Err(DriverError::Fault { reason }) => reason,
        other => panic!("expected a device fault, got {other:?}"),
    }
}

#[test]
fn io_error_before_page_3_keeps_pages_1_and_2_and_continue_finishes_the_batch() {
    let mut rig = rig("page 3 set read-return-value=SANE_STATUS_IO_ERROR\ncontinue set read-return-value=Default\n");
    let (pages, result) = adf_gray(&mut rig);
    assert_eq!(pages.len(), 2, "pages 1–2 arrived before the error");
    assert_eq!(fault(result), StatusReason::IoError);
    // The test backend counts the failed sheet as fed: 10 − 3 sheets remain.
    let (more, result) = pull_more(&mut rig);
    result.expect("continue ends cleanly");
    assert_eq!(more.len(), 7);
    end(&mut rig.device);
}

fn pull_more(rig: &mut Rig) -> (Vec<RawPage>, Result<(), DriverError>) {
    let (pages, end, _) = pull(&mut rig.device);
    (pages, end)
}

#[test]
fn no_docs_from_sane_read_after_page_4_is_a_clean_four_page_end() {
    let mut rig = rig("page 5 set read-return-value=SANE_STATUS_NO_DOCS\n");
    let (pages, result) = adf_gray(&mut rig);
    result.expect("NO_DOCS after pages is a normal end");
    assert_eq!(pages.len(), 4);
    end(&mut rig.device);
}

#[test]
fn a_jam_at_page_4_pauses_and_continue_scans_on() {
    let mut rig = rig("page 4 set read-return-value=SANE_STATUS_JAMMED\ncontinue set read-return-value=Default\n");
    let (pages, result) = adf_gray(&mut rig);
    assert_eq!(pages.len(), 3);
    assert_eq!(fault(result), StatusReason::Jammed);
    let (more, result) = pull_more(&mut rig);
    result.expect("the batch ends after continue");
    assert_eq!(more.len(), 6);
    end(&mut rig.device);
}

#[test]
fn an_open_cover_pauses_and_the_batch_can_be_ended_then_scanned_again() {
    let mut rig = rig("page 2 set read-return-value=SANE_STATUS_COVER_OPEN\n");
    let (pages, result) = adf_gray(&mut rig);
    assert_eq!(pages.len(), 1);
    assert_eq!(fault(result), StatusReason::CoverOpen);
    let ended = Instant::now();
    end(&mut rig.device);
    assert!(ended.elapsed() < Duration::from_secs(3), "end_batch blocked {:?}", ended.elapsed());
    // A new batch is a new worker: the script fires again, so it jams the same way.
    let (pages, result) = adf_gray(&mut rig);
    assert_eq!((pages.len(), fault(result)), (1, StatusReason::CoverOpen));
    end(&mut rig.device);
}

#[test]
fn an_empty_feeder_is_feeder_empty_not_an_empty_document() {
    let mut rig = rig("page 1 set read-return-value=SANE_STATUS_NO_DOCS\n");
    let (pages, result) = adf_gray(&mut rig);
    assert!(pages.is_empty());
    assert_eq!(fault(result), StatusReason::FeederEmpty);
    end(&mut rig.device);
}

/// One flatbed page with `script` at open; the pixels as one unpadded raster.
fn flatbed(script: &str, color: ColorMode, dpi: u32) -> RawPage {
    let mut rig = rig(script);
    start(&mut rig.device, &request(ScanSource::Flatbed, color, dpi)).expect("start");
    let (mut pages, result, _) = pull(&mut rig.device);
    result.expect("one flatbed page");
    assert_eq!(pages.len(), 1);
    end(&mut rig.device);
    let page = pages.remove(0);
    let row = match page.format {
        PixelFormat::Gray8 => page.width as usize,
        PixelFormat::Rgb8 => page.width as usize * 3,
        PixelFormat::Bw1 => (page.width as usize).div_ceil(8),
    };
    assert_eq!(page.stride, row, "pages arrive unpadded");
    assert_eq!(page.data.len(), row * page.height as usize);
    page
}

#[test]
fn a_hand_scanner_page_takes_its_height_from_the_data_and_matches_scanimage() {
    let page = flatbed("open set hand-scanner=yes\nopen set test-picture=Grid\n", ColorMode::Gray, 50);
    let (width, height, pixels) =
        scanimage(&["--hand-scanner=yes", "--test-picture=Grid", "--mode=Gray", "--resolution=50"]);
    assert_eq!((page.width, page.height), (width, height));
    assert!(page.height > 0);
    assert_eq!(page.data, pixels);
}

#[test]
fn sixteen_bit_gray_and_colour_become_the_high_byte_in_host_order() {
    for (mode, color, channels) in [("Gray", ColorMode::Gray, 1), ("Color", ColorMode::Color, 3)] {
        let script = "open set depth=16\nopen set test-picture=Color pattern\n";
        let page = flatbed(script, color, 50);
        let inverted = flatbed(&format!("{script}open set invert-endianess=yes\n"), color, 50);
        let args = ["--depth=16", "--test-picture=Color pattern", &format!("--mode={mode}"), "--resolution=50"];
        let (width, height, samples) = scanimage(&args);
        assert_eq!((page.width, page.height), (width, height), "{mode}");
        assert_eq!(samples.len(), width as usize * height as usize * channels * 2);
        // PNM stores 16-bit samples big endian: high byte first.
        let high: Vec<u8> = samples.chunks_exact(2).map(|s| s[0]).collect();
        let low: Vec<u8> = samples.chunks_exact(2).map(|s| s[1]).collect();
        assert_eq!(page.data, high, "{mode}: host-order samples reduced to their high byte");
        // With invert-endianess the backend swaps the bytes; read in host order, the high byte
        // we keep is the sample's low byte — proof that no guessing of byte order happens.
        assert_eq!(inverted.data, low, "{mode} with invert-endianess");
        assert_ne!(high, low, "{mode}: the pattern must tell the bytes apart");
    }
}

#[test]
fn three_pass_colour_in_all_six_orders_equals_single_pass_colour() {
    let single = flatbed("open set test-picture=Color pattern\n", ColorMode::Color, 50);
    let (width, height, pixels) = scanimage(&["--test-picture=Color pattern", "--mode=Color", "--resolution=50"]);
    assert_eq!((single.width, single.height), (width, height));
    assert_eq!(single.data, pixels, "single pass equals scanimage");
    for order in ["RGB", "RBG", "GBR", "GRB", "BRG", "BGR"] {
        let script = format!(
            "open set test-picture=Color pattern\npage 1 set three-pass=yes\npage 1 set three-pass-order={order}\n"
        );
        let page = flatbed(&script, ColorMode::Color, 50);
        assert_eq!(page.format, PixelFormat::Rgb8, "{order}");
        assert_eq!((page.width, page.height), (width, height), "{order}");
        assert!(page.data == single.data, "three-pass {order} differs from single-pass colour");
    }
}

#[test]
fn lineart_depth_1_is_pixel_exact_against_scanimage() {
    let page = flatbed("open set depth=1\nopen set test-picture=Grid\n", ColorMode::Bw, 75);
    assert_eq!(page.format, PixelFormat::Bw1);
    let (width, height, bits) = scanimage(&["--depth=1", "--test-picture=Grid", "--mode=Gray", "--resolution=75"]);
    assert_eq!((page.width, page.height), (width, height));
    // P4 is MSB first with 1 = black, rows padded to whole bytes: exactly our Bw1.
    assert_eq!(page.data, bits);
    assert!(page.data.iter().any(|b| *b != 0) && page.data.iter().any(|b| *b != 0xFF), "a grid has both");
}

#[test]
fn ppl_loss_padding_is_dropped_from_every_line() {
    let plain = flatbed("open set test-picture=Grid\n", ColorMode::Gray, 50);
    let lossy = flatbed("open set test-picture=Grid\nopen set ppl-loss=7\n", ColorMode::Gray, 50);
    assert_eq!(lossy.width + 7, plain.width, "7 pixels lost per line");
    assert_eq!(lossy.height, plain.height);
    let width = lossy.width as usize;
    for (row, (ours, full)) in
        lossy.data.chunks_exact(width).zip(plain.data.chunks_exact(plain.width as usize)).enumerate()
    {
        assert_eq!(ours, &full[..width], "row {row}");
    }
}

#[test]
fn short_reads_under_read_limit_give_the_same_pixels() {
    let limited = flatbed(
        "open set test-picture=Color pattern\nopen set read-limit=yes\nopen set read-limit-size=997\n",
        ColorMode::Color,
        50,
    );
    let (_, _, pixels) = scanimage(&["--test-picture=Color pattern", "--mode=Color", "--resolution=50"]);
    assert_eq!(limited.data, pixels);
}

#[test]
fn a_slow_scanner_reports_progress_within_the_page() {
    // The test backend pauses after each 64 KiB it writes to its pipe: 150 dpi gray A4 takes ~3 s.
    let script = "open set read-delay=yes\nopen set read-delay-duration=100000\n";
    let mut rig = rig(script);
    start(&mut rig.device, &request(ScanSource::Flatbed, ColorMode::Gray, 150)).expect("start");
    let (pages, result, progress) = pull(&mut rig.device);
    result.expect("one page");
    assert_eq!(pages.len(), 1);
    let total = pages[0].data.len() as u64;
    assert!(progress.len() >= 10, "{} progress reports", progress.len());
    assert!(progress.windows(2).all(|w| w[0].bytes <= w[1].bytes), "progress grows");
    assert!(progress.iter().all(|p| p.expected_bytes == Some(total) && p.bytes <= total), "{progress:?}");
    end(&mut rig.device);
}

/// The pids of this process's live children started with this test's script folder (tests run
/// in parallel, each with its own folder).
fn children(dir: &Path) -> Vec<u32> {
    let name = dir.to_string_lossy().into_owned();
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the command name in parentheses: state, ppid, …
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest.to_owned()) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let alive = fields.first() != Some(&"Z");
        if alive && fields.get(1) == Some(&me.to_string().as_str()) && String::from_utf8_lossy(&environ).contains(&name)
        {
            found.push(pid);
        }
    }
    found
}

#[test]
fn a_stopped_worker_is_killed_at_the_stall_timeout_and_the_next_scan_works() {
    let dir = tempfile::tempdir().expect("temp dir");
    let slow = "open set read-delay=yes\nopen set read-delay-duration=200000\n";
    let factory = SaneFactory::new(command(slow, dir.path())).with_timeouts(
        Duration::from_secs(2),
        Duration::from_secs(20),
        Duration::from_secs(1),
    );
    let mut device = factory.open(&spec()).expect("open");
    start(&mut device, &request(ScanSource::Flatbed, ColorMode::Gray, 150)).expect("start");
    let workers = children(dir.path());
    assert_eq!(workers.len(), 1, "one worker per session: {workers:?}");
    let stopped = Command::new("kill").args(["-STOP", &workers[0].to_string()]).status().expect("kill -STOP");
    assert!(stopped.success());
    let began = Instant::now();
    let (_, result, _) = pull(&mut device);
    let waited = began.elapsed();
    match result {
        Err(DriverError::Io(error)) => {
            assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
            assert!(error.to_string().contains("scan worker was stopped"), "{error}");
        }
        other => panic!("expected a stall timeout, got {other:?}"),
    }
    assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(6), "stall detected after {waited:?}");
    assert!(children(dir.path()).is_empty(), "the stopped worker was killed and reaped");
    end(&mut device);

    // The next scan, from a fresh worker, works.
    std::fs::write(dir.path().join("script.txt"), "").expect("clear the script");
    start(&mut device, &request(ScanSource::Adf, ColorMode::Gray, 50)).expect("start again");
    let (pages, result, _) = pull(&mut device);
    result.expect("clean end");
    assert_eq!(pages.len(), 10);
    end(&mut device);
}

#[test]
fn cancel_mid_page_stops_the_worker_within_the_grace() {
    let slow = "open set read-delay=yes\nopen set read-delay-duration=200000\n";
    let mut rig = rig(slow);
    start(&mut rig.device, &request(ScanSource::Flatbed, ColorMode::Gray, 150)).expect("start");
    let cancel = CancelToken::new();
    let began = Instant::now();
    let mut seen = 0;
    let mut report = |_: ScanProgress| {
        seen += 1;
        if seen == 2 {
            cancel.cancel();
        }
    };
    let scanner = rig.device.as_scanner().expect("scanner");
    let result = scanner.next_page_watched(&mut PageWatch { cancel: &cancel, progress: &mut report });
    assert!(matches!(result, Err(DriverError::Cancelled)), "{result:?}");
    assert!(began.elapsed() < Duration::from_secs(8), "cancel took {:?}", began.elapsed());
    scanner.end_batch();
    assert!(children(rig.dir.path()).is_empty());
}

#[test]
fn access_denied_fails_the_session_cleanly_even_if_sane_cancel_hangs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SaneFactory::new(command("page 1 set read-return-value=SANE_STATUS_ACCESS_DENIED\n", dir.path()));
    let mut device = factory.open(&spec()).expect("open");
    for _ in 0..3 {
        start(&mut device, &request(ScanSource::Adf, ColorMode::Gray, 50)).expect("start");
        let (pages, result, _) = pull(&mut device);
        assert!(pages.is_empty());
        match result {
            Err(DriverError::Unsupported { what }) => assert!(what.contains("refused access"), "{what}"),
            other => panic!("expected access denied, got {other:?}"),
        }
        let ended = Instant::now();
        end(&mut device);
        assert!(ended.elapsed() < Duration::from_secs(3), "end_batch took {:?}", ended.elapsed());
    }
    std::fs::write(dir.path().join("script.txt"), "").expect("clear the script");
    start(&mut device, &request(ScanSource::Flatbed, ColorMode::Gray, 50)).expect("start");
    let (pages, result, _) = pull(&mut device);
    result.expect("the next scan works");
    assert_eq!(pages.len(), 1);
    end(&mut device);
}

#[test]
fn unsupported_dpi_source_and_device_are_clear_errors() {
    let mut rig = rig("");
    let error = start(&mut rig.device, &request(ScanSource::Adf, ColorMode::Gray, 2400)).expect_err("over 1200");
    assert!(error.to_string().contains("2400 dpi is not offered; this scanner offers 1–1200 dpi"), "{error}");
    let error = start(&mut rig.device, &request(ScanSource::AdfDuplex, ColorMode::Gray, 300)).expect_err("simplex");
    assert!(error.to_string().contains("Flatbed, Automatic Document Feeder"), "{error}");
    let error = start(&mut rig.device, &request(ScanSource::Flatbed, ColorMode::Gray, 9600)).expect_err("profile");
    assert!(error.to_string().contains("allows up to 4800 dpi"), "{error}");

    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SaneFactory::new(command("", dir.path()));
    let missing = OpenSpec { connection: Connection::Sane { device: "test:7".into() }, ..spec() };
    match factory.open(&missing) {
        Err(DriverError::NotFound { detail }) => assert!(detail.contains("test:7"), "{detail}"),
        Err(other) => panic!("expected NotFound, got {other:?}"),
        Ok(_) => panic!("test:7 does not exist"),
    }
}

#[test]
fn a_resolution_between_steps_uses_the_nearest_and_reports_it() {
    let page = flatbed("", ColorMode::Gray, 75);
    assert_eq!(page.dpi, 75);
    assert_pages_a4(&[page], 75, PixelFormat::Gray8);
}

#[test]
fn without_libsane_open_says_sane_is_not_installed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let command = command("", dir.path()).env("COUNTER_AGENT_SANE_LIBRARY", "libsane-not-installed.so.1");
    let factory = SaneFactory::new(command);
    let began = Instant::now();
    match factory.open(&spec()) {
        Err(DriverError::NotFound { detail }) => assert!(
            detail.starts_with("SANE is not installed (libsane-not-installed.so.1 not found) — install"),
            "{detail}"
        ),
        Err(other) => panic!("expected NotFound, got {other:?}"),
        Ok(_) => panic!("opened without libsane"),
    }
    // The failure is remembered: status polls do not start a worker each time.
    assert!(factory.open(&spec()).is_err());
    assert!(began.elapsed() < Duration::from_secs(5));
    assert!(children(dir.path()).is_empty());
}

#[test]
fn duplex_batches_mark_every_second_page_as_a_back_side() {
    // The test backend has no duplex source; a profile map that names its feeder as the duplex
    // source makes the worker treat the batch as front/back pairs.
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SaneFactory::new(command("", dir.path()));
    let mut settings = settings();
    settings.sane.adf_duplex_values = vec!["Automatic Document Feeder".into()];
    let spec = OpenSpec { settings: DeviceSettings::Scanner(settings), ..spec() };
    let mut device = factory.open(&spec).expect("open");
    start(&mut device, &request(ScanSource::AdfDuplex, ColorMode::Gray, 50)).expect("start");
    let (pages, result, _) = pull(&mut device);
    result.expect("clean end");
    let sides: Vec<PageSide> = pages.iter().map(|page| page.side).collect();
    assert_eq!(sides.len(), 10);
    for (i, side) in sides.iter().enumerate() {
        assert_eq!(*side, if i % 2 == 0 { PageSide::Front } else { PageSide::Back }, "page {}", i + 1);
    }
    end(&mut device);
}

#[test]
fn cancelling_a_hung_worker_kills_it_after_the_grace() {
    let slow = "open set read-delay=yes\nopen set read-delay-duration=200000\n";
    let mut rig = rig(slow);
    start(&mut rig.device, &request(ScanSource::Flatbed, ColorMode::Gray, 150)).expect("start");
    let workers = children(rig.dir.path());
    assert_eq!(workers.len(), 1, "{workers:?}");
    // A worker that no longer answers at all, like a backend stuck in sane_cancel.
    let stopped = Command::new("kill").args(["-STOP", &workers[0].to_string()]).status().expect("kill -STOP");
    assert!(stopped.success());
    let cancel = CancelToken::new();
    cancel.cancel();
    let began = Instant::now();
    let scanner = rig.device.as_scanner().expect("scanner");
    let mut ignore = |_: ScanProgress| {};
    let result = scanner.next_page_watched(&mut PageWatch { cancel: &cancel, progress: &mut ignore });
    let waited = began.elapsed();
    assert!(matches!(result, Err(DriverError::Cancelled)), "{result:?}");
    let grace = counter_agent_driver_sane::CANCEL_GRACE;
    assert!(waited >= grace && waited < grace + Duration::from_secs(2), "cancel took {waited:?}");
    assert!(children(rig.dir.path()).is_empty(), "the hung worker was killed");
    scanner.end_batch();
    // The same device scans again with a fresh worker.
    std::fs::write(rig.dir.path().join("script.txt"), "").expect("clear the script");
    start(&mut rig.device, &request(ScanSource::Flatbed, ColorMode::Gray, 50)).expect("start again");
    let (pages, result, _) = pull(&mut rig.device);
    result.expect("a page");
    assert_eq!(pages.len(), 1);
    end(&mut rig.device);
}
