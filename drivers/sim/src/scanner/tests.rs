//! Batches, sides, faults and pixel formats of the simulated scanner. Pages are drawn at the
//! lowest resolution to keep debug-build tests fast.

use super::*;
use counter_agent_driver_api::DeviceState;

const ID: &str = "scanner";

fn settings(max_dpi: u32) -> ScannerSettings {
    ScannerSettings {
        max_dpi,
        default_dpi: 75,
        sources: vec![ScanSource::Flatbed, ScanSource::Adf, ScanSource::AdfDuplex],
        duplex_back_rotate_180: false,
        sane: Default::default(),
    }
}

fn scanner_with(control: &SimControl, n_sheets: u32) -> SimScanner {
    SimScanner::new(ID.into(), control.clone(), settings(600), n_sheets)
}

fn request(source: ScanSource, color: ColorMode) -> ScanRequest {
    ScanRequest { source, color, dpi: MIN_DPI }
}

fn fault_of(result: Result<Option<RawPage>, DriverError>) -> Option<StatusReason> {
    match result {
        Err(DriverError::Fault { reason }) => Some(reason),
        _ => None,
    }
}

/// Share of pixels that are near white (gray pages).
fn near_white_share(page: &RawPage) -> f32 {
    let n = page.data.iter().filter(|&&v| v >= 230).count();
    n as f32 / page.data.len().max(1) as f32
}

/// Scans pages until the end of the batch, failing the test on any error.
fn drain(scanner: &mut SimScanner) -> Vec<RawPage> {
    let mut pages = Vec::new();
    while let Some(page) = scanner.next_page().expect("page") {
        pages.push(page);
    }
    pages
}

#[test]
fn adf_delivers_the_demo_document_then_none() {
    let control = SimControl::new();
    let mut scanner = scanner_with(&control, 4);
    scanner.start_batch(&request(ScanSource::Adf, ColorMode::Gray)).expect("starts");
    let pages = drain(&mut scanner);
    assert_eq!(pages.len(), 4);
    assert!(pages.iter().all(|p| p.side == PageSide::Front && p.dpi == MIN_DPI));
    let whiteness: Vec<f32> = pages.iter().map(near_white_share).collect();
    assert!(whiteness[2] > 0.99, "page 3 is the blank one: {whiteness:?}");
    assert!(whiteness[0] < 0.97 && whiteness[1] < 0.97 && whiteness[3] < 0.97, "{whiteness:?}");
    assert!(scanner.next_page().expect("still fine").is_none(), "stays empty");
}

#[test]
fn flatbed_gives_one_form_page() {
    let control = SimControl::new();
    let mut scanner = scanner_with(&control, 4);
    scanner.start_batch(&request(ScanSource::Flatbed, ColorMode::Color)).expect("starts");
    let pages = drain(&mut scanner);
    assert_eq!(pages.len(), 1);
    let page = &pages[0];
    assert_eq!((page.format, page.stride), (PixelFormat::Rgb8, page.width as usize * 3));
    assert_eq!(page.data.len(), page.stride * page.height as usize);
    let has_red = page.data.chunks_exact(3).any(|p| p[0] > 150 && p[1] < 110 && p[2] < 110);
    assert!(has_red, "the form carries the red seal");
}

#[test]
fn duplex_gives_front_and_blank_back_for_each_sheet() {
    let control = SimControl::new();
    let mut scanner = scanner_with(&control, 3);
    scanner.start_batch(&request(ScanSource::AdfDuplex, ColorMode::Gray)).expect("starts");
    let pages = drain(&mut scanner);
    let sides: Vec<PageSide> = pages.iter().map(|p| p.side).collect();
    use PageSide::{Back, Front};
    assert_eq!(sides, vec![Front, Back, Front, Back, Front, Back]);
    for back in pages.iter().filter(|p| p.side == Back) {
        assert!(near_white_share(back) > 0.99);
    }
}

#[test]
fn more_sheets_cycle_through_the_page_kinds() {
    assert_eq!(SimScanner::page_plan(ScanSource::Adf, 5), (PageArt::Form, PageSide::Front));
    assert_eq!(SimScanner::page_plan(ScanSource::Adf, 6), (PageArt::Guide, PageSide::Front));
    assert_eq!(SimScanner::page_plan(ScanSource::Adf, 8), (PageArt::SkewedForm, PageSide::Front));
    assert_eq!(SimScanner::page_plan(ScanSource::AdfDuplex, 7), (PageArt::SkewedForm, PageSide::Front));
    assert_eq!(SimScanner::page_plan(ScanSource::AdfDuplex, 8), (PageArt::BackSide, PageSide::Back));
    assert_eq!(SimScanner::page_plan(ScanSource::Flatbed, 1), (PageArt::Form, PageSide::Front));
}

#[test]
fn jam_at_page_three_fails_once_then_rescans_page_three() {
    let control = SimControl::new();
    let mut scanner = scanner_with(&control, 4);
    control.jam_at_page(ID, 3);
    scanner.start_batch(&request(ScanSource::Adf, ColorMode::Gray)).expect("starts");
    let first = scanner.next_page().expect("page 1").expect("some");
    let second = scanner.next_page().expect("page 2").expect("some");
    assert!(near_white_share(&first) < 0.97 && near_white_share(&second) < 0.97);
    assert_eq!(fault_of(scanner.next_page()), Some(StatusReason::Jammed));
    let third = scanner.next_page().expect("page 3 after the jam").expect("some");
    assert!(near_white_share(&third) > 0.99, "page 3 (the blank page) was rescanned, not lost");
    assert!(scanner.next_page().expect("page 4").is_some());
    assert!(scanner.next_page().expect("end").is_none());

    // The jam was cleared by reporting it: the next batch runs through.
    scanner.start_batch(&request(ScanSource::Adf, ColorMode::Gray)).expect("starts");
    assert_eq!(drain(&mut scanner).len(), 4);
}

#[test]
fn injected_jam_keeps_the_batch_open_until_cleared() {
    let control = SimControl::new();
    let mut scanner = scanner_with(&control, 4);
    scanner.start_batch(&request(ScanSource::Adf, ColorMode::Bw)).expect("starts");
    assert!(scanner.next_page().expect("page 1").is_some());
    control.set_fault(ID, Some(StatusReason::Jammed));
    assert_eq!(scanner.status().expect("status"), DeviceStatus::error(StatusReason::Jammed));
    assert_eq!(fault_of(scanner.next_page()), Some(StatusReason::Jammed));
    assert_eq!(fault_of(scanner.next_page()), Some(StatusReason::Jammed), "until cleared");
    control.set_fault(ID, Some(StatusReason::CoverOpen));
    assert_eq!(fault_of(scanner.next_page()), Some(StatusReason::CoverOpen));
    control.set_fault(ID, None);
    assert_eq!(drain(&mut scanner).len(), 3, "pages 2 to 4 follow");
}

#[test]
fn faults_at_start() {
    let control = SimControl::new();
    let mut scanner = scanner_with(&control, 4);
    control.set_fault(ID, Some(StatusReason::FeederEmpty));
    for source in [ScanSource::Adf, ScanSource::AdfDuplex] {
        let result = scanner.start_batch(&request(source, ColorMode::Gray));
        assert!(matches!(result, Err(DriverError::Fault { reason: StatusReason::FeederEmpty })), "{source:?}");
    }
    scanner.start_batch(&request(ScanSource::Flatbed, ColorMode::Gray)).expect("the glass needs no feeder");
    assert_eq!(drain(&mut scanner).len(), 1);

    control.set_fault(ID, Some(StatusReason::CoverOpen));
    let result = scanner.start_batch(&request(ScanSource::Adf, ColorMode::Gray));
    assert!(matches!(result, Err(DriverError::Fault { reason: StatusReason::CoverOpen })));
}

#[test]
fn feeder_running_empty_mid_batch_ends_it() {
    let control = SimControl::new();
    let mut scanner = scanner_with(&control, 4);
    scanner.start_batch(&request(ScanSource::Adf, ColorMode::Gray)).expect("starts");
    assert!(scanner.next_page().expect("page 1").is_some());
    control.set_fault(ID, Some(StatusReason::FeederEmpty));
    assert!(scanner.next_page().expect("end of batch").is_none());
}

#[test]
fn unplugged_scanner_is_not_found_everywhere() {
    let control = SimControl::new();
    let mut scanner = scanner_with(&control, 4);
    scanner.start_batch(&request(ScanSource::Adf, ColorMode::Gray)).expect("starts");
    control.set_present(ID, false);
    assert!(matches!(scanner.status(), Err(DriverError::NotFound { .. })));
    assert!(matches!(scanner.next_page(), Err(DriverError::NotFound { .. })));
    let result = scanner.start_batch(&request(ScanSource::Adf, ColorMode::Gray));
    assert!(matches!(result, Err(DriverError::NotFound { .. })));
    control.set_present(ID, true);
    assert_eq!(scanner.status().expect("back").state, DeviceState::Ready);
}

#[test]
fn pixel_formats_follow_the_colour_mode() {
    let control = SimControl::new();
    let mut scanner = scanner_with(&control, 1);
    let mut scan = |color| {
        scanner.start_batch(&request(ScanSource::Adf, color)).expect("starts");
        let page = scanner.next_page().expect("page").expect("some");
        scanner.end_batch();
        page
    };
    let gray = scan(ColorMode::Gray);
    let bw = scan(ColorMode::Bw);
    let auto = scan(ColorMode::Auto);
    assert_eq!((gray.format, gray.stride), (PixelFormat::Gray8, gray.width as usize));
    assert_eq!((auto.format, auto.stride), (PixelFormat::Rgb8, auto.width as usize * 3));
    assert_eq!((bw.format, bw.stride), (PixelFormat::Bw1, (bw.width as usize).div_ceil(8)));
    assert_eq!(bw.data.len(), bw.stride * bw.height as usize);
    // Same page, same seed: every bit is set exactly where the gray page is dark (1 = black).
    let mut n_black = 0;
    for y in 0..gray.height as usize {
        for x in 0..gray.width as usize {
            let black = bw.data[y * bw.stride + x / 8] & (0x80 >> (x % 8)) != 0;
            assert_eq!(black, gray.data[y * gray.stride + x] < 140, "pixel ({x}, {y})");
            n_black += usize::from(black);
        }
    }
    assert!(n_black > 1000, "the form has text: {n_black} black pixels");
    // Padding bits at the end of each row stay 0.
    let pad_bits = bw.stride * 8 - bw.width as usize;
    if pad_bits > 0 {
        let mask = (1u8 << pad_bits) - 1;
        assert!(bw.data.chunks_exact(bw.stride).all(|row| row[bw.stride - 1] & mask == 0));
    }
}

#[test]
fn resolution_is_limited_by_profile_and_simulator() {
    let control = SimControl::new();
    let mut scanner = SimScanner::new(ID.into(), control, settings(60), 1);
    let mut dpi_for = |dpi| {
        scanner.start_batch(&ScanRequest { source: ScanSource::Flatbed, color: ColorMode::Gray, dpi }).expect("starts");
        scanner.next_page().expect("page").expect("some").dpi
    };
    assert_eq!(dpi_for(1200), 60, "profile maximum");
    assert_eq!(dpi_for(10), MIN_DPI);
    assert_eq!(dpi_for(0), 60, "default 75 limited to the maximum 60");

    let odd_profile = ScannerSettings { max_dpi: 20, default_dpi: 0, ..settings(0) };
    let scanner = SimScanner::new(ID.into(), SimControl::new(), odd_profile, 1);
    assert_eq!(scanner.effective_dpi(300), MIN_DPI, "no panic when the profile's maximum is tiny");
    let scanner = SimScanner::new(ID.into(), SimControl::new(), settings(0), 1);
    assert_eq!(scanner.effective_dpi(5000), MAX_DPI);
}

#[test]
fn requests_outside_the_profile_are_unsupported() {
    let control = SimControl::new();
    let flatbed_only = ScannerSettings { sources: vec![ScanSource::Flatbed], ..settings(300) };
    let mut scanner = SimScanner::new(ID.into(), control, flatbed_only, 4);
    let result = scanner.start_batch(&request(ScanSource::AdfDuplex, ColorMode::Gray));
    let Err(DriverError::Unsupported { what }) = result else { panic!("expected Unsupported, got {result:?}") };
    assert!(what.contains("adf-duplex") && what.contains("flatbed"), "{what}");
    assert!(matches!(scanner.next_page(), Err(DriverError::Unsupported { .. })), "no batch open");
}
