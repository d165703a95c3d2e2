//! Per-page pipeline and PDF assembly figures (issue 3: classify + deskew + encode of an A4 300 dpi page
//! ≤ 150 ms on one core).
//!
//! Run: `cargo bench --bench pipeline`
//!
//! Pages come from the simulated scanner (the demo document: a text-only guide page; the Vietnamese form
//! with a red seal and a blue signature, fed in turned 1.5° so deskew works too). Besides the criterion
//! timings it prints the encoded sizes: the text page as G4 against the same page as gray JPEG q85.

use std::hint::black_box;
use std::time::{Duration, Instant};

use counter_agent::scan::pipeline::{
    assemble, fit, process_page, DocumentMeta, DocumentPage, PageOptions, ProcessedPage, Rotation,
};
use counter_agent_driver_api::{
    ColorMode, DeviceSettings, DriverFactory, OpenSpec, RawPage, ScanRequest, ScanSource, ScannerSettings,
};
use counter_agent_driver_sim::SimFactory;
use criterion::{criterion_group, criterion_main, Criterion};

/// The first `count` pages of the simulated ADF at 300 dpi, colour: form, guide, blank, skewed form.
fn sim_pages(count: usize) -> Vec<RawPage> {
    let dir = std::env::temp_dir().join(format!("counter-agent-bench-{}", std::process::id()));
    let factory = SimFactory::new(dir.join("printers"));
    let settings = ScannerSettings {
        max_dpi: 600,
        default_dpi: 300,
        sources: vec![ScanSource::Adf],
        duplex_back_rotate_180: false,
        sane: Default::default(),
    };
    let spec = OpenSpec {
        id: "scanner".into(),
        connection: "sim:scanner".parse().expect("sim connection"),
        settings: DeviceSettings::Scanner(settings),
    };
    let mut device = factory.open(&spec).expect("sim scanner");
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&ScanRequest { source: ScanSource::Adf, color: ColorMode::Color, dpi: 300 }).expect("start");
    let mut pages = Vec::new();
    while pages.len() < count {
        match scanner.next_page().expect("page") {
            Some(page) => pages.push(page),
            None => break,
        }
    }
    scanner.end_batch();
    let _ = std::fs::remove_dir_all(&dir);
    pages
}

fn bench(c: &mut Criterion) {
    let pages = sim_pages(4);
    let (text, skewed_colour) = (&pages[1], &pages[3]);
    let options = PageOptions::default();

    let text_page = process_page(text, &options).expect("text page");
    let gray_jpeg = process_page(text, &PageOptions { color: ColorMode::Gray, ..options.clone() }).expect("gray");
    let colour_page = process_page(skewed_colour, &options).expect("colour page");
    println!(
        "text page: {} as {} = {} KB; the same page as gray JPEG q85 = {} KB",
        text_page.class.as_str(),
        text_page.image.encoding.as_str(),
        text_page.image.bytes.len() / 1024,
        gray_jpeg.image.bytes.len() / 1024
    );
    println!(
        "skewed form: {} as {} = {} KB, skew corrected {:.2}°",
        colour_page.class.as_str(),
        colour_page.image.encoding.as_str(),
        colour_page.image.bytes.len() / 1024,
        colour_page.skew_degrees
    );

    let mut group = c.benchmark_group("process_page A4 300 dpi");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    group.bench_function("text page (G4)", |b| b.iter(|| process_page(black_box(text), &options)));
    group.bench_function("colour page, straight (JPEG q85)", |b| {
        b.iter(|| process_page(black_box(&pages[0]), &options))
    });
    group.bench_function("colour page, skewed 1.5° (deskew + JPEG q85)", |b| {
        b.iter(|| process_page(black_box(skewed_colour), &options))
    });
    group.finish();

    let processed: Vec<ProcessedPage> = pages.iter().map(|page| process_page(page, &options).expect("page")).collect();
    let ten: Vec<DocumentPage<'_>> = (0..10)
        .map(|i| {
            let page = &processed[i % processed.len()];
            DocumentPage { image: &page.image, rotation: Rotation::None, sha256: page.sha256 }
        })
        .collect();
    let meta = DocumentMeta { title: "Hồ sơ".into(), created_utc_seconds: 1_764_000_000 };
    println!("10-page PDF: {} KB", assemble(&ten, &meta).len() / 1024);
    c.bench_function("assemble 10 pages", |b| b.iter(|| assemble(black_box(&ten), &meta)));

    // fit is seconds, not milliseconds: timed once. Half the size, then a quarter.
    let full = assemble(&ten, &meta).len();
    for divisor in [2, 4] {
        let started = Instant::now();
        let fitted = fit(&ten, &meta, full / divisor);
        let elapsed = started.elapsed();
        match fitted {
            Ok(pdf) => println!(
                "fit 10 pages from {} KB to ≤ {} KB: {} KB in {:.2} s",
                full / 1024,
                full / divisor / 1024,
                pdf.len() / 1024,
                elapsed.as_secs_f64()
            ),
            Err(error) => println!("fit 10 pages to 1/{divisor}: {error} ({:.2} s)", elapsed.as_secs_f64()),
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
