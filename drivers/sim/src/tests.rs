//! The factory and the printers through the public driver API, as the daemon uses them.

use super::*;
use counter_agent_driver_api::{
    ColorMode, DeviceStatus, DocumentFormat, PrintDocument, PrinterSettings, ScanRequest, ScanSource, ScannerSettings,
};

fn scanner_settings() -> DeviceSettings {
    DeviceSettings::Scanner(ScannerSettings {
        max_dpi: 600,
        default_dpi: 50,
        sources: vec![ScanSource::Flatbed, ScanSource::Adf, ScanSource::AdfDuplex],
        duplex_back_rotate_180: false,
    })
}

fn printer_settings() -> DeviceSettings {
    DeviceSettings::Printer(PrinterSettings {
        paper_width_mm: 80,
        printable_dots: 576,
        dpi: 203,
        cutter: true,
        formats: vec![DocumentFormat::EscPos],
    })
}

fn spec(id: &str, connection: &str, settings: DeviceSettings) -> OpenSpec {
    OpenSpec { id: id.into(), connection: connection.parse().expect("valid connection string"), settings }
}

fn open(factory: &SimFactory, id: &str, connection: &str) -> Result<Box<dyn Device>, DriverError> {
    let settings = if connection.starts_with("sim:scanner") { scanner_settings() } else { printer_settings() };
    factory.open(&spec(id, connection, settings))
}

fn unsupported_message(result: Result<Box<dyn Device>, DriverError>) -> String {
    match result {
        Err(DriverError::Unsupported { what }) => what,
        Err(other) => panic!("expected Unsupported, got {other:?}"),
        Ok(_) => panic!("expected Unsupported, the device opened"),
    }
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
        let settings = if entry.kind == Some(DeviceKind::Scanner) { scanner_settings() } else { printer_settings() };
        let device = factory.open(&spec(&format!("d{i}"), &entry.connection, settings)).expect("opens");
        assert_eq!(Some(device.kind()), entry.kind);
        assert!(!entry.description.is_empty());
    }
}

#[test]
fn bad_connections_are_unsupported_with_a_useful_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().to_path_buf());
    let message = unsupported_message(open(&factory, "x", "sim:fax"));
    assert!(message.contains("fax") && message.contains("printer-58mm"), "{message}");
    let message = unsupported_message(open(&factory, "x", "sim:scanner?speed=9"));
    assert!(message.contains("speed") && message.contains("pages=N"), "{message}");
    let message = unsupported_message(open(&factory, "x", "sim:scanner?pages=0"));
    assert!(message.contains("pages=0"), "{message}");
    let message = unsupported_message(open(&factory, "x", "sim:scanner?pages=lots"));
    assert!(message.contains("1 to"), "{message}");
    let message = unsupported_message(open(&factory, "x", "sim:printer-a4?paper=wet"));
    assert!(message.contains("paper=out"), "{message}");
    let message = unsupported_message(open(&factory, "x", "sim:printer-a4?pages=3"));
    assert!(message.contains("pages") && message.contains("paper="), "{message}");
    let message = unsupported_message(open(&factory, "x", "tcp://127.0.0.1:9100"));
    assert!(message.contains("sim:"), "{message}");
    let message = unsupported_message(open(&factory, "../escape", "sim:printer-a4"));
    assert!(message.contains("../escape"), "{message}");
}

#[test]
fn settings_must_match_the_kind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().to_path_buf());
    let message = unsupported_message(factory.open(&spec("s", "sim:scanner", printer_settings())));
    assert!(message.contains("printer profile") && message.contains("scanner"), "{message}");
    let message = unsupported_message(factory.open(&spec("p", "sim:printer-80mm", scanner_settings())));
    assert!(message.contains("scanner profile"), "{message}");
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
