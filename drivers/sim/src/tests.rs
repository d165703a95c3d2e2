//! The factory and the printers through the public driver API, as the daemon uses them.

use super::*;
use counter_agent_driver_api::{
    ColorMode, DeviceStatus, DocumentFormat, PrintDocument, PrinterSettings, ScanRequest, ScanSource, ScannerSettings,
    StatusReason,
};

fn scanner_settings() -> DeviceSettings {
    DeviceSettings::Scanner(ScannerSettings {
        max_dpi: 600,
        default_dpi: 50,
        sources: vec![ScanSource::Flatbed, ScanSource::Adf, ScanSource::AdfDuplex],
        duplex_back_rotate_180: false,
        sane: Default::default(),
    })
}

fn receipt_settings(paper_width_mm: u32, printable_dots: u32) -> DeviceSettings {
    DeviceSettings::Printer(PrinterSettings {
        paper_width_mm,
        printable_dots,
        dpi: 203,
        cutter: true,
        formats: vec![DocumentFormat::EscPos],
        escpos: Default::default(),
    })
}

fn printer_settings() -> DeviceSettings {
    receipt_settings(80, 576)
}

fn a4_settings() -> DeviceSettings {
    DeviceSettings::Printer(PrinterSettings {
        paper_width_mm: 210,
        printable_dots: 0,
        dpi: 300,
        cutter: false,
        formats: vec![DocumentFormat::Pdf],
        escpos: Default::default(),
    })
}

/// The settings of a profile that suits the simulator `connection` names.
fn settings_for(connection: &str) -> DeviceSettings {
    let kind = connection.strip_prefix("sim:").unwrap_or(connection);
    match kind.split('?').next().unwrap_or(kind) {
        "scanner" => scanner_settings(),
        "printer-a4" => a4_settings(),
        "printer-58mm" => receipt_settings(58, 384),
        _ => printer_settings(),
    }
}

fn spec(id: &str, connection: &str, settings: DeviceSettings) -> OpenSpec {
    OpenSpec { id: id.into(), connection: connection.parse().expect("valid connection string"), settings }
}

fn open(factory: &SimFactory, id: &str, connection: &str) -> Result<Box<dyn Device>, DriverError> {
    factory.open(&spec(id, connection, settings_for(connection)))
}

fn document(format: DocumentFormat, bytes: &[u8]) -> PrintDocument {
    PrintDocument { format, bytes: bytes.to_vec(), job_name: "test".into() }
}

const PDF: &[u8] = b"%PDF-1.7\n% not validated here\n%%EOF\n";
const RECEIPT: &[u8] = b"\x1b@\x1ba\x01\x1dE\x01SO THU TU\n\x1d!\x33042\n\x1d!\x00\x1bd\x03\x1dVA\x03";

fn print(device: &mut Box<dyn Device>, format: DocumentFormat, bytes: &[u8]) -> Result<(), DriverError> {
    device.as_printer().expect("a printer").print(&document(format, bytes))
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SimFactory>();
    check::<SimControl>();
}

#[test]
fn discover_lists_one_openable_entry_per_kind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().to_path_buf());
    assert_eq!((factory.name(), factory.schemes()), ("sim", &["sim"][..]));
    let found = factory.discover();
    let connections: Vec<&str> = found.iter().map(|d| d.connection.as_str()).collect();
    assert_eq!(connections, ["sim:scanner", "sim:printer-a4", "sim:printer-80mm", "sim:printer-58mm"]);
    for (i, entry) in found.iter().enumerate() {
        let device = open(&factory, &format!("d{i}"), &entry.connection).expect("opens");
        assert_eq!(Some(device.kind()), entry.kind);
        assert!(!entry.description.is_empty());
    }
}

/// `check` reports every problem of a spec as `what is wrong — what to write instead`, and `open`
/// refuses exactly those specs, with the first problem.
fn check(id: &str, connection: &str, settings: DeviceSettings, expected: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().to_path_buf());
    let spec = spec(id, connection, settings);
    let problems = factory.check(&spec);
    assert_eq!(problems, expected, "check of {connection}");
    for problem in &problems {
        assert_eq!(problem.matches(" — ").count(), 1, "one problem, one hint: {problem}");
    }
    match (factory.open(&spec), expected.first()) {
        (Ok(_), None) => {}
        (Err(DriverError::Unsupported { what }), Some(first)) => assert_eq!(what, *first, "open of {connection}"),
        (Err(other), _) => panic!("{connection}: open failed with {other:?}, check said {problems:?}"),
        (Ok(_), Some(_)) => panic!("{connection}: opened although check found {problems:?}"),
    }
}

#[test]
fn kinds_and_options() {
    check("s", "sim:scanner?pages=2&jam_at=3", scanner_settings(), &[]);
    check("r", "sim:printer-80mm?paper=near-end", printer_settings(), &[]);
    check(
        "x",
        "sim:fax",
        printer_settings(),
        &["`sim:fax` is not a simulator — write connection = \"sim:printer-80mm\" for this profile (the simulators \
           are sim:scanner, sim:printer-a4, sim:printer-80mm or sim:printer-58mm)"],
    );
    check(
        "s",
        "sim:scanner?speed=9&pages=0&jam_at=zzz",
        scanner_settings(),
        &[
            "sim:scanner has no option `speed` — remove it; sim:scanner takes pages=N and jam_at=N",
            "`pages=0` is not a number of sheets — write pages=N with N from 1 to 500",
            "`jam_at=zzz` is not a page number — write jam_at=N with N from 1 to 1000",
        ],
    );
    check(
        "s",
        "sim:scanner?pages=lots&pages=2",
        scanner_settings(),
        &[
            "`pages=lots` is not a number of sheets — write pages=N with N from 1 to 500",
            "option `pages` is given twice in sim:scanner — keep one",
        ],
    );
    check(
        "a4",
        "sim:printer-a4?paper=maybe&pages=3",
        a4_settings(),
        &[
            "`paper=maybe` is not a paper state — write paper=out, paper=near-end or paper=ok",
            "sim:printer-a4 has no option `pages` — remove it; sim:printer-a4 takes paper=out|near-end|ok",
        ],
    );
    check(
        "x",
        "tcp://127.0.0.1:9100",
        printer_settings(),
        &["`tcp:` connections are not simulated — the simulator driver opens sim: connections only, e.g. \
           sim:printer-80mm"],
    );
    check(
        "../escape",
        "sim:printer-a4",
        a4_settings(),
        &["device id `../escape` cannot name a simulator's output folder — use letters, digits, `-`, `_` and `.`, \
           not starting with `.`"],
    );
}

#[test]
fn the_profile_must_suit_the_kind() {
    check(
        "s",
        "sim:scanner",
        printer_settings(),
        &["sim:scanner is a scanner but the profile is for a printer — write connection = \"sim:printer-80mm\""],
    );
    check(
        "a4",
        "sim:printer-a4",
        scanner_settings(),
        &["sim:printer-a4 is a printer but the profile is for a scanner — write connection = \"sim:scanner\""],
    );
    check(
        "r",
        "sim:printer-80mm",
        a4_settings(),
        &["sim:printer-80mm takes ESC/POS only but the profile sends PDF — write connection = \"sim:printer-a4\""],
    );
    check(
        "a4",
        "sim:printer-a4",
        receipt_settings(58, 384),
        &["sim:printer-a4 takes PDF only but the profile sends ESC/POS — write connection = \"sim:printer-58mm\""],
    );
    check(
        "t",
        "sim:printer-58mm",
        printer_settings(),
        &["sim:printer-58mm prints 384 dots wide but the profile needs 576 — write connection = \"sim:printer-80mm\""],
    );
    // A narrower receipt fits on wider paper.
    check("r", "sim:printer-80mm", receipt_settings(58, 384), &[]);
    check("r", "sim:printer-80mm", receipt_settings(80, 512), &[]);
    // No simulator takes both formats, or receipts wider than 576 dots.
    let both = DeviceSettings::Printer(PrinterSettings {
        paper_width_mm: 80,
        printable_dots: 576,
        dpi: 203,
        cutter: true,
        formats: vec![DocumentFormat::EscPos, DocumentFormat::Pdf],
        escpos: Default::default(),
    });
    check(
        "r",
        "sim:printer-80mm",
        both,
        &["sim:printer-80mm takes ESC/POS only but the profile sends PDF — pick a profile a simulator can serve: \
           formats = [\"pdf\"] for sim:printer-a4, or formats = [\"escpos\"] with printable_dots up to 576 for \
           sim:printer-80mm"],
    );
    check(
        "r",
        "sim:printer-80mm?paper=wet",
        receipt_settings(112, 832),
        &[
            "`paper=wet` is not a paper state — write paper=out, paper=near-end or paper=ok",
            "sim:printer-80mm prints 576 dots wide but the profile needs 832 — pick a profile a simulator can \
             serve: formats = [\"pdf\"] for sim:printer-a4, or formats = [\"escpos\"] with printable_dots up to \
             576 for sim:printer-80mm",
        ],
    );
}

#[test]
fn a4_printer_keeps_pdfs_as_is_and_refuses_escpos() {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().to_path_buf());
    let mut a4 = open(&factory, "a4", "sim:printer-a4").expect("opens");
    assert_eq!(a4.status().expect("status"), DeviceStatus::READY);
    print(&mut a4, DocumentFormat::Pdf, PDF).expect("prints");
    print(&mut a4, DocumentFormat::Pdf, b"not even a PDF").expect("validation is the daemon's job");
    let result = print(&mut a4, DocumentFormat::EscPos, RECEIPT);
    assert!(matches!(result, Err(DriverError::Unsupported { .. })), "{result:?}");

    let printed = factory.control().printed("a4");
    assert_eq!(printed.len(), 2);
    assert_eq!(printed[0].path, dir.path().join("a4").join("0001.pdf"));
    assert_eq!(printed[1].path, dir.path().join("a4").join("0002.pdf"));
    assert_eq!(
        (printed[0].format, printed[0].n_bytes, printed[0].preview.clone()),
        (DocumentFormat::Pdf, PDF.len(), None)
    );
    assert_eq!(std::fs::read(&printed[0].path).expect("kept"), PDF);
}

#[test]
fn receipt_printers_keep_escpos_with_a_preview_of_their_width() {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().to_path_buf());
    for (id, kind, width) in [("r80", "sim:printer-80mm", 576), ("r58", "sim:printer-58mm", 384)] {
        let mut printer = open(&factory, id, kind).expect("opens");
        let result = print(&mut printer, DocumentFormat::Pdf, PDF);
        assert!(matches!(result, Err(DriverError::Unsupported { .. })), "{result:?}");
        print(&mut printer, DocumentFormat::EscPos, RECEIPT).expect("prints");
        let printed = factory.control().printed(id);
        assert_eq!(printed.len(), 1, "the refused PDF left no record");
        let record = &printed[0];
        assert_eq!(record.path, dir.path().join(id).join("0001.escpos"));
        assert_eq!(std::fs::read(&record.path).expect("kept"), RECEIPT);
        let preview_path = record.preview.clone().expect("a preview");
        assert_eq!(preview_path, dir.path().join(id).join("0001.png"));
        let preview = image::open(&preview_path).expect("a PNG").to_luma8();
        assert_eq!(preview.width(), width);
        assert!(preview.pixels().any(|p| p.0[0] == 0), "something printed");
        assert_eq!(record.preview_error, None);
    }
    let names: Vec<String> = std::fs::read_dir(dir.path().join("r80"))
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".part")), "no temporary files left: {names:?}");
}

#[test]
fn malformed_escpos_is_kept_without_preview() {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().to_path_buf());
    let mut printer = open(&factory, "r", "sim:printer-80mm").expect("opens");
    // A raster image announcing 2 × 2 bytes and carrying 1.
    print(&mut printer, DocumentFormat::EscPos, b"\x1dv0\x00\x02\x00\x02\x00\xff").expect("a printer accepts bytes");
    let record = factory.control().printed("r").pop().expect("recorded");
    assert_eq!(record.preview, None);
    let error = record.preview_error.expect("an explanation");
    assert!(error.contains("GS v 0"), "{error}");
    assert!(record.path.exists());
}

#[test]
fn numbering_continues_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let factory = SimFactory::new(dir.path().to_path_buf());
        let mut printer = open(&factory, "r", "sim:printer-58mm").expect("opens");
        print(&mut printer, DocumentFormat::EscPos, RECEIPT).expect("prints");
        print(&mut printer, DocumentFormat::EscPos, RECEIPT).expect("prints");
    }
    let factory = SimFactory::new(dir.path().to_path_buf());
    let mut printer = open(&factory, "r", "sim:printer-58mm").expect("reopens");
    print(&mut printer, DocumentFormat::EscPos, RECEIPT).expect("prints");
    let printed = factory.control().printed("r");
    assert_eq!(printed.len(), 1, "records are per process");
    assert_eq!(printed[0].path, dir.path().join("r").join("0003.escpos"));
    assert_eq!(printed[0].preview, Some(dir.path().join("r").join("0003.png")));
}

#[test]
fn paper_faults_stop_printing_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().to_path_buf());
    let control = factory.control();
    let mut printer = open(&factory, "r", "sim:printer-80mm?paper=out").expect("opens");
    assert_eq!(printer.status().expect("status"), DeviceStatus::error(StatusReason::PaperOut));
    let result = print(&mut printer, DocumentFormat::EscPos, RECEIPT);
    assert!(matches!(result, Err(DriverError::Fault { reason: StatusReason::PaperOut })), "{result:?}");
    control.set_fault("r", Some(StatusReason::CoverOpen));
    assert_eq!(printer.status().expect("status"), DeviceStatus::error(StatusReason::CoverOpen));
    let result = print(&mut printer, DocumentFormat::EscPos, RECEIPT);
    assert!(matches!(result, Err(DriverError::Fault { reason: StatusReason::CoverOpen })), "{result:?}");
    assert!(control.printed("r").is_empty());
    assert_eq!(std::fs::read_dir(dir.path().join("r")).expect("folder").count(), 0, "nothing written");

    control.set_fault("r", Some(StatusReason::PaperNearEnd));
    assert_eq!(printer.status().expect("status"), DeviceStatus::ready_with(StatusReason::PaperNearEnd));
    print(&mut printer, DocumentFormat::EscPos, RECEIPT).expect("a warning still prints");
    assert_eq!(control.printed("r")[0].path, dir.path().join("r").join("0001.escpos"));

    // `paper=out` describes the printer when first opened, not after every reopen.
    control.set_fault("r", None);
    let mut reopened = open(&factory, "r", "sim:printer-80mm?paper=out").expect("reopens");
    assert_eq!(reopened.status().expect("status"), DeviceStatus::READY);
}

#[test]
fn unplugged_devices_are_not_found_until_plugged_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().to_path_buf());
    let control = factory.control();
    let mut printer = open(&factory, "a4", "sim:printer-a4").expect("opens");
    control.set_present("a4", false);
    assert!(matches!(printer.status(), Err(DriverError::NotFound { .. })));
    assert!(matches!(print(&mut printer, DocumentFormat::Pdf, PDF), Err(DriverError::NotFound { .. })));
    assert!(matches!(open(&factory, "a4", "sim:printer-a4"), Err(DriverError::NotFound { .. })));
    assert!(open(&factory, "scan", "sim:scanner").is_ok(), "other devices are unaffected");
    control.set_present("a4", true);
    let mut printer = open(&factory, "a4", "sim:printer-a4").expect("plugged back");
    print(&mut printer, DocumentFormat::Pdf, PDF).expect("prints");
}

#[test]
fn scanner_options_set_sheets_and_a_jam() {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().to_path_buf());
    let mut device = open(&factory, "scan", "sim:scanner?pages=2&jam_at=2").expect("opens");
    let scanner = device.as_scanner().expect("a scanner");
    let request = ScanRequest { source: ScanSource::AdfDuplex, color: ColorMode::Gray, dpi: 50 };
    scanner.start_batch(&request).expect("starts");
    assert!(scanner.next_page().expect("page 1").is_some());
    let jam = scanner.next_page();
    assert!(matches!(jam, Err(DriverError::Fault { reason: StatusReason::Jammed })), "{jam:?}");
    let mut n_pages = 1;
    while scanner.next_page().expect("page").is_some() {
        n_pages += 1;
    }
    assert_eq!(n_pages, 4, "2 sheets, both sides");
    assert!(device.as_printer().is_none());
}
