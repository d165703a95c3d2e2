//! Times the hot folder on A4 pages at 300 dpi: drops a gray JPEG, a colour PNG and a 1-bit G4
//! TIFF into a temporary folder, runs one batch and prints how long each page took
//! from the `next_page` call to the page in hand (reading and decoding; the first page also
//! waits the 20 ms settle interval).
//!
//! `cargo run --release -p counter-agent-driver-folder --example folder_timing`

use std::time::{Duration, Instant};

use counter_agent_driver_api::{
    ColorMode, Connection, DeviceSettings, DriverFactory, OpenSpec, ScanRequest, ScanSource, ScannerSettings,
};
use counter_agent_driver_folder::{FolderFactory, Timing};

const WIDTH: u32 = 2480;
const HEIGHT: u32 = 3508;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("folder-timing-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let gray =
        image::GrayImage::from_fn(WIDTH, HEIGHT, |x, y| image::Luma([if y % 50 < 14 && x % 9 < 6 { 20 } else { 240 }]));
    gray.save(dir.join("1-text.jpg"))?;
    let colour = image::RgbImage::from_fn(WIDTH, HEIGHT, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 200]));
    colour.save(dir.join("2-colour.png"))?;
    let mut encoder = fax::encoder::Encoder::new(fax::VecWriter::new());
    for y in 0..HEIGHT {
        let pels =
            (0..WIDTH).map(move |x| if y % 50 < 14 && x % 9 < 6 { fax::Color::Black } else { fax::Color::White });
        encoder.encode_line(pels, WIDTH).map_err(|_| "G4 encode")?;
    }
    let g4 = encoder.finish().map_err(|_| "G4 end")?.finish();
    std::fs::write(dir.join("3-bw.tif"), fax::tiff::wrap(&g4, WIDTH, HEIGHT))?;

    let timing = Timing {
        poll: Duration::from_millis(5),
        settle: Duration::from_millis(20),
        idle: Duration::from_millis(100),
        ..Timing::default()
    };
    let spec = OpenSpec {
        id: "timing".into(),
        connection: Connection::Folder { path: dir.display().to_string() },
        settings: DeviceSettings::Scanner(ScannerSettings {
            max_dpi: 600,
            default_dpi: 300,
            sources: vec![ScanSource::Adf],
            duplex_back_rotate_180: false,
            sane: Default::default(),
        }),
    };
    let mut device = FolderFactory::with_timing(timing).open(&spec)?;
    let scanner = device.as_scanner().ok_or("not a scanner")?;
    scanner.start_batch(&ScanRequest { source: ScanSource::Adf, color: ColorMode::Auto, dpi: 300 })?;
    // The first call waits `settle` (20 ms) before its file counts as complete.
    loop {
        let started = Instant::now();
        match scanner.next_page()? {
            Some(page) => println!("{:?} {}×{}: {:?}", page.format, page.width, page.height, started.elapsed()),
            None => break,
        }
    }
    scanner.end_batch();
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
