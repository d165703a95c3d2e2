//! Times a 10-page ADF batch from SANE's `test` backend through the scan worker:
//! `cargo build --release -p counter-agent-driver-sane --bins --examples &&
//!  target/release/examples/adf_timing [dpi] [color|gray]`. Prints when each page arrived.

use std::path::PathBuf;
use std::time::Instant;

use counter_agent_driver_api::{
    CancelToken, ColorMode, Connection, DeviceSettings, DriverFactory, OpenSpec, PageWatch, ScanRequest, ScanSource,
    ScannerSettings,
};
use counter_agent_driver_sane::{SaneFactory, WorkerCommand};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dpi: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(300);
    let color = match args.next().as_deref() {
        Some("gray") => ColorMode::Gray,
        _ => ColorMode::Color,
    };
    let exe = std::env::current_exe()?;
    let bin_dir = exe.parent().and_then(|examples| examples.parent()).ok_or("no target folder")?;
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sane-config");
    let command =
        WorkerCommand::new(bin_dir.join("sane-scan-worker"), Vec::<String>::new()).env("SANE_CONFIG_DIR", config);
    let settings = ScannerSettings {
        max_dpi: 1200,
        default_dpi: 300,
        sources: vec![ScanSource::Adf],
        duplex_back_rotate_180: false,
        sane: Box::default(),
    };
    let spec = OpenSpec {
        id: "scanner".into(),
        connection: Connection::Sane { device: "test:0".into() },
        settings: DeviceSettings::Scanner(settings),
    };
    let began = Instant::now();
    let mut device = SaneFactory::new(command).open(&spec)?;
    println!("open probe: {:?}", began.elapsed());
    let scanner = device.as_scanner().ok_or("not a scanner")?;
    let began = Instant::now();
    scanner.start_batch(&ScanRequest { source: ScanSource::Adf, color, dpi })?;
    println!("start_batch: {:?}", began.elapsed());
    let cancel = CancelToken::new();
    let mut ignore = |_| {};
    let mut bytes = 0;
    let mut n = 0;
    while let Some(page) = scanner.next_page_watched(&mut PageWatch { cancel: &cancel, progress: &mut ignore })? {
        n += 1;
        bytes += page.data.len();
        println!("page {n}: {}×{} at {:?}", page.width, page.height, began.elapsed());
    }
    scanner.end_batch();
    println!("{n} pages, {} MB in {:?}", bytes / 1_000_000, began.elapsed());
    Ok(())
}
