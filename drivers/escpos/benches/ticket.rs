//! A Vietnamese queue ticket for an 80 mm printer (576 dots), from text to ESC/POS bytes: header,
//! large number, service, people waiting, time, counters, QR (raster, as on printers without native
//! QR), cut. Compare with `benches/ticket_peer.py` (python-escpos + Pillow drawing the same ticket).
//!
//! Run: `cargo bench -p counter-agent-driver-escpos --bench ticket`

use std::hint::black_box;

use counter_agent_driver_escpos::text::{Align, Face, TextStyle};
use counter_agent_driver_escpos::{Cut, Encoder, EncoderOptions, QrEcc};
use criterion::{criterion_group, criterion_main, Criterion};

fn ticket(number: &str) -> Vec<u8> {
    ticket_with(number, false)
}

/// `trim`: the printer honours `GS L` (profile `trim_raster`, Epson TM): bands cost their inked width.
fn ticket_with(number: &str, trim: bool) -> Vec<u8> {
    let mut options = EncoderOptions::new(576);
    options.cancel_chinese_mode = true;
    options.trim_bands = trim;
    let mut encoder = Encoder::new(options);
    let centre = |face, size| TextStyle::new(face, size, Align::Center);
    let steps = |encoder: &mut Encoder| -> Result<(), counter_agent_driver_escpos::encoder::EncodeError> {
        encoder.text("UBND PHƯỜNG LONG BIÊN\nBộ phận tiếp nhận và trả kết quả", centre(Face::Bold, 26.0))?;
        encoder.feed(12);
        encoder.text(number, centre(Face::Bold, 140.0))?;
        encoder.text("Hộ tịch — Đăng ký khai sinh", centre(Face::Bold, 30.0))?;
        encoder.text(
            "Số người đang chờ trước quý vị: 7\nQuầy phục vụ: 1, 3\n08:15 thứ Sáu, 04/12/2026",
            centre(Face::Regular, 26.0),
        )?;
        encoder.qr_raster(b"https://motcua.example.gov.vn/hang-doi/A1023", 6, QrEcc::Medium, Align::Center)?;
        encoder.text("Quét mã để theo dõi lượt của quý vị", centre(Face::Regular, 22.0))?;
        encoder.cut(Cut::Partial);
        Ok(())
    };
    steps(&mut encoder).expect("the ticket fits 576 dots");
    encoder.finish()
}

fn bench(c: &mut Criterion) {
    // The first ticket draws every glyph; later ones take them from the cache.
    let started = std::time::Instant::now();
    let bytes = ticket("A1023");
    println!("queue ticket: {} bytes; the first one (no glyph cached) in {:?}", bytes.len(), started.elapsed());
    println!("queue ticket with trimmed bands (GS L): {} bytes", ticket_with("A1023", true).len());
    c.bench_function("queue ticket, 576 dots, raster text + raster QR + cut", |b| {
        b.iter(|| ticket(black_box("A1023")))
    });
    c.bench_function("queue ticket, 576 dots, trimmed bands (GS L)", |b| {
        b.iter(|| ticket_with(black_box("A1023"), true))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
