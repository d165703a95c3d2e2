//! Scans the simulated demo document through the public driver API, prints how long each page
//! took and saves the pages as PNG files to look at.
//!
//! ```text
//! cargo run --release -p counter-agent-driver-sim --example render_pages -- OUT_DIR [DPI] [color|gray|bw] [flatbed|adf|adf-duplex] [X,Y,W,H]
//! ```
//!
//! With `X,Y,W,H` (pixels), each page is also saved cropped to that rectangle, to look closely.

use std::path::PathBuf;
use std::time::Instant;

use counter_agent_driver_api::{
    ColorMode, DeviceSettings, DriverFactory, OpenSpec, PixelFormat, RawPage, ScanRequest, ScanSource, ScannerSettings,
};
use counter_agent_driver_sim::SimFactory;

fn to_image(page: &RawPage) -> image::DynamicImage {
    let (width, height) = (page.width, page.height);
    let rows = page.data.chunks(page.stride);
    match page.format {
        PixelFormat::Rgb8 => {
            let bytes: Vec<u8> = rows.flat_map(|row| &row[..width as usize * 3]).copied().collect();
            image::RgbImage::from_raw(width, height, bytes).map(image::DynamicImage::ImageRgb8)
        }
        PixelFormat::Gray8 => {
            let bytes: Vec<u8> = rows.flat_map(|row| &row[..width as usize]).copied().collect();
            image::GrayImage::from_raw(width, height, bytes).map(image::DynamicImage::ImageLuma8)
        }
        PixelFormat::Bw1 => {
            let bytes: Vec<u8> = rows
                .flat_map(|row| {
                    (0..width as usize).map(move |x| if row[x / 8] & (0x80 >> (x % 8)) != 0 { 0 } else { 255 })
                })
                .collect();
            image::GrayImage::from_raw(width, height, bytes).map(image::DynamicImage::ImageLuma8)
        }
    }
    .expect("invariant: the driver returns data matching width, height and stride")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: render_pages OUT_DIR [DPI] [color|gray|bw] [source]")?);
    let dpi: u32 = args.next().map_or(Ok(150), |a| a.parse())?;
    let color = match args.next().as_deref() {
        None | Some("color") => ColorMode::Color,
        Some("gray") => ColorMode::Gray,
        Some("bw") => ColorMode::Bw,
        Some(other) => return Err(format!("unknown colour mode {other}").into()),
    };
    let source = match args.next().as_deref() {
        None | Some("adf") => ScanSource::Adf,
        Some("flatbed") => ScanSource::Flatbed,
        Some("adf-duplex") => ScanSource::AdfDuplex,
        Some(other) => return Err(format!("unknown source {other}").into()),
    };
    let crop: Option<Vec<u32>> = args.next().map(|a| a.split(',').map(str::parse).collect()).transpose()?;
    std::fs::create_dir_all(&out)?;
    let factory = SimFactory::new(out.join("printers"));
    let settings = ScannerSettings {
        max_dpi: 600,
        default_dpi: 300,
        sources: vec![ScanSource::Flatbed, ScanSource::Adf, ScanSource::AdfDuplex],
        duplex_back_rotate_180: false,
        sane: Default::default(),
    };
    let spec = OpenSpec {
        id: "scanner".into(),
        connection: "sim:scanner".parse()?,
        settings: DeviceSettings::Scanner(settings),
    };
    let mut device = factory.open(&spec)?;
    let scanner = device.as_scanner().ok_or("not a scanner")?;
    scanner.start_batch(&ScanRequest { source, color, dpi })?;
    let mut index = 0;
    loop {
        let started = Instant::now();
        let Some(page) = scanner.next_page()? else {
            break;
        };
        let elapsed = started.elapsed();
        index += 1;
        println!(
            "page {index}: {}x{} {:?} {:?} at {} dpi in {:.1} ms",
            page.width,
            page.height,
            page.format,
            page.side,
            page.dpi,
            elapsed.as_secs_f64() * 1000.0
        );
        let image = to_image(&page);
        image.save(out.join(format!("page-{index}.png")))?;
        if let Some(&[x, y, w, h]) = crop.as_deref() {
            image.crop_imm(x, y, w, h).save(out.join(format!("page-{index}-crop.png")))?;
        }
    }
    scanner.end_batch();
    Ok(())
}
