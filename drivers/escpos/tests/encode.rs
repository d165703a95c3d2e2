//! The encoder's bytes drawn back into pixels by the simulator's ESC/POS interpreter, and status
//! replies parsed from byte streams as printers send them.

use counter_agent_driver_escpos::encoder::{EncodeError, QR_MAX_BYTES};
use counter_agent_driver_escpos::status::{Paper, Replies, Reply, Status};
use counter_agent_driver_escpos::{Bitmap, Cut, Encoder, EncoderOptions, QrEcc};
use counter_agent_driver_sim::escpos_preview::render_preview;

/// A deterministic pattern with white runs of every length (so bands and feeds both happen).
fn pattern(width: u32, height: u32) -> Bitmap {
    let mut bitmap = Bitmap::new(width, height);
    let mut state = 0x2545_f491_u32;
    for y in 0..height {
        // Every 7th band of rows stays white for a while.
        if (y / 9) % 7 == 3 {
            continue;
        }
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            bitmap.set(x, y, state.is_multiple_of(3));
        }
    }
    bitmap
}

/// Draws `bytes` on paper `width` dots wide and compares the top-left `bitmap`-sized area dot by dot.
fn assert_prints(bytes: &[u8], paper_width: u32, bitmap: &Bitmap) {
    let preview = render_preview(bytes, paper_width).expect("the interpreter accepts our bytes");
    let image = &preview.image;
    assert!(image.height() >= bitmap.height(), "{} rows drawn for {}", image.height(), bitmap.height());
    for y in 0..bitmap.height() {
        for x in 0..bitmap.width() {
            let black = image.get_pixel(x, y).0[0] < 128;
            assert_eq!(black, bitmap.get(x, y), "dot ({x}, {y}) of a {}-dot image", bitmap.width());
        }
    }
}

#[test]
fn raster_of_odd_widths_prints_exactly() {
    for width in [1, 7, 8, 9, 220, 384, 577] {
        let bitmap = pattern(width, 300);
        let mut encoder = Encoder::new(EncoderOptions::new(584));
        encoder.raster(&bitmap).expect("fits");
        assert_prints(&encoder.finish(), 584, &bitmap);
    }
}

#[test]
fn every_band_carries_exactly_width_bytes_times_rows() {
    let bitmap = pattern(577, 1000);
    let mut options = EncoderOptions::new(584);
    options.band_rows = 50;
    let mut encoder = Encoder::new(options);
    encoder.raster(&bitmap).expect("fits");
    let bytes = encoder.finish();
    // Walk the stream: ESC @, then only bands and feeds.
    assert_eq!(&bytes[..2], b"\x1b@");
    let (mut at, mut bands, mut rows_total) = (2, 0, 0u32);
    while at < bytes.len() {
        match &bytes[at..at + 2] {
            b"\x1dv" => {
                let h = &bytes[at..at + 8];
                assert_eq!(&h[2..4], b"0\0");
                let row_bytes = usize::from(h[4]) + 256 * usize::from(h[5]);
                let rows = usize::from(h[6]) + 256 * usize::from(h[7]);
                assert_eq!(row_bytes, 73, "577 dots are 73 bytes");
                assert!((1..=50).contains(&rows), "band of {rows} rows");
                at += 8 + row_bytes * rows;
                rows_total += rows as u32;
                bands += 1;
            }
            b"\x1bJ" => {
                rows_total += u32::from(bytes[at + 2]);
                at += 3;
            }
            other => panic!("unexpected {other:02x?} at byte {at}"),
        }
    }
    assert_eq!(at, bytes.len(), "the last band ends exactly at the end");
    assert_eq!(rows_total, 1000, "bands and feeds add up to the image height");
    assert!(bands >= 1000 / 50 - 5, "{bands} bands");
}

#[test]
fn white_rows_cost_feeds_not_bytes() {
    // A ticket-like image: a 48-row number, 400 white rows, a 24-row line.
    let mut bitmap = Bitmap::new(576, 472);
    for y in (0..48).chain(448..472) {
        for x in 100..400 {
            bitmap.set(x, y, true);
        }
    }
    let mut encoder = Encoder::new(EncoderOptions::new(576));
    encoder.raster(&bitmap).expect("fits");
    let bytes = encoder.finish();
    let raster_bytes = 72 * (48 + 24);
    assert!(bytes.len() < raster_bytes + 40, "{} bytes for {raster_bytes} bytes of black rows", bytes.len());
    assert_prints(&bytes, 576, &bitmap);
}

#[test]
fn an_image_wider_than_the_printer_is_refused() {
    let mut encoder = Encoder::new(EncoderOptions::new(384));
    let error = encoder.raster(&Bitmap::new(385, 10)).expect_err("too wide");
    assert_eq!(error, EncodeError::TooWide { width: 385, max: 384 });
    assert_eq!(encoder.finish(), b"\x1b@", "nothing half-written");
}

#[test]
fn qr_store_length_counts_beyond_255_bytes() {
    for len in [1usize, 252, 253, 300, 2953] {
        let data: Vec<u8> = (0..len).map(|i| b'A' + (i % 26) as u8).collect();
        let mut encoder = Encoder::new(EncoderOptions::new(576));
        encoder.qr(&data, 6, QrEcc::Medium).expect("valid");
        let bytes = encoder.finish();
        let store = bytes.windows(8).position(|w| w[..3] == *b"\x1d(k" && w[5..8] == [49, 80, 48]).expect("store");
        let declared = usize::from(bytes[store + 3]) + 256 * usize::from(bytes[store + 4]);
        assert_eq!(declared, len + 3, "pL pH for {len} bytes");
        assert_eq!(&bytes[store + 8..store + 8 + len], &data[..]);
        // Model 2 selected, then size, ECC M, store, print.
        assert!(bytes.windows(9).any(|w| w == [0x1d, b'(', b'k', 4, 0, 49, 65, 50, 0]));
        assert!(bytes.windows(8).any(|w| w == [0x1d, b'(', b'k', 3, 0, 49, 69, 49]));
        assert!(bytes.ends_with(&[0x1d, b'(', b'k', 3, 0, 49, 81, 48]));
        let preview = render_preview(&bytes, 576).expect("interpreter accepts it");
        assert_eq!(preview.n_qr_codes, 1);
    }
}

#[test]
fn bad_qr_requests_are_refused() {
    let mut encoder = Encoder::new(EncoderOptions::new(576));
    assert_eq!(encoder.qr(b"", 6, QrEcc::Low).err(), Some(EncodeError::QrEmpty));
    let long = vec![b'1'; QR_MAX_BYTES + 1];
    assert_eq!(encoder.qr(&long, 6, QrEcc::Low).err(), Some(EncodeError::QrTooLong { len: 7090, max: 7089 }));
    assert_eq!(encoder.qr(b"x", 0, QrEcc::Low).err(), Some(EncodeError::QrModuleSize { size: 0 }));
    assert_eq!(encoder.qr(b"x", 17, QrEcc::Low).err(), Some(EncodeError::QrModuleSize { size: 17 }));
    assert_eq!(encoder.finish(), b"\x1b@");
}

#[test]
fn cut_only_on_models_with_a_cutter() {
    let mut with = Encoder::new(EncoderOptions::new(576));
    with.cut(Cut::Partial);
    assert_eq!(with.finish(), b"\x1b@\x1dVB\x18");
    let mut options = EncoderOptions::new(384);
    options.cutter = false;
    options.cancel_chinese_mode = true;
    let mut without = Encoder::new(options);
    without.cut(Cut::Full).drawer_kick(false).barrier();
    let bytes = without.finish();
    assert_eq!(bytes, b"\x1b@\x1c.\x1bJ\x18\x1bp\x00\x19\xfa\x1dr\x01");
    assert!(!bytes.windows(2).any(|w| w == b"\x1dV"), "no cut command without a cutter");
    let preview = render_preview(&bytes, 384).expect("drawn");
    assert_eq!(preview.n_cuts, 0);
}

#[test]
fn replies_are_told_apart_in_any_chunks() {
    // ASB packet (cover open, paper near end), a DLE EOT answer (offline), XOFF, a GS r answer.
    let stream = [0x30, 0x00, 0x03, 0x00, 0x1a, 0x13, 0x0c];
    for split in 0..=stream.len() {
        let mut replies = Replies::new();
        let mut got = replies.push(&stream[..split]);
        got.extend(replies.push(&stream[split..]));
        assert_eq!(
            got,
            vec![
                Reply::Automatic([0x30, 0x00, 0x03, 0x00]),
                Reply::RealTime(0x1a),
                Reply::Xoff,
                Reply::PaperSensor(0x0c)
            ],
            "split at {split}"
        );
    }
    // A packet broken off by a byte that cannot continue it is reported as noise, not as a packet.
    let mut replies = Replies::new();
    assert_eq!(
        replies.push(&[0x10, 0x00, 0x12]),
        vec![Reply::Unknown(0x10), Reply::Unknown(0x00), Reply::RealTime(0x12)]
    );
}

#[test]
fn status_bits_decode() {
    let mut status = Status::default();
    assert!(status.apply_dle_eot(1, 0x1a));
    assert!(status.offline);
    assert!(status.apply_dle_eot(2, 0x36));
    assert!(status.cover_open);
    assert_eq!(status.paper, Paper::End);
    assert!(status.apply_dle_eot(4, 0x1e));
    assert_eq!(status.paper, Paper::NearEnd);
    assert!(status.apply_dle_eot(3, 0x1a));
    assert!(status.cutter_error && !status.unrecoverable);
    assert!(!status.apply_dle_eot(1, 0x00), "fixed bits wrong: not an answer");
    assert!(!status.apply_dle_eot(5, 0x12), "no such request");

    let mut status = Status::default();
    status.apply_automatic([0x38, 0x20, 0x0c, 0x00]);
    assert!(status.offline && status.cover_open && status.unrecoverable);
    assert_eq!(status.paper, Paper::End);
    status.apply_paper_sensor(0x00);
    assert_eq!(status.paper, Paper::Ok);
}

/// Decodes every QR code in a preview image.
fn decode_qr(image: &image::GrayImage) -> Vec<String> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(image.width() as usize, image.height() as usize, |x, y| {
            image.get_pixel(x as u32, y as u32).0[0]
        });
    prepared.detect_grids().iter().filter_map(|grid| grid.decode().ok().map(|(_, text)| text)).collect()
}

#[test]
fn raster_qr_codes_decode_after_printing() {
    use counter_agent_driver_escpos::text::Align;
    let long: String = (0..400).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let link = "https://dichvucong.example.gov.vn/tra-cuu?ma=H01.02.03-261204-0001&tên=Nguyễn Văn Á";
    for (data, width) in [("A1023", 384), (link, 384), (long.as_str(), 576)] {
        let mut encoder = Encoder::new(EncoderOptions::new(width));
        encoder.qr_raster(data.as_bytes(), 6, QrEcc::Medium, Align::Center).expect("fits");
        let preview = render_preview(&encoder.finish(), width).expect("drawn");
        assert_eq!(decode_qr(&preview.image), vec![data.to_string()], "{} bytes on {width} dots", data.len());
    }
}

#[test]
fn a_raster_qr_too_big_for_the_paper_is_refused() {
    use counter_agent_driver_escpos::text::Align;
    let mut encoder = Encoder::new(EncoderOptions::new(120));
    let data = vec![b'x'; 1000];
    let error = encoder.qr_raster(&data, 4, QrEcc::High, Align::Left).expect_err("too wide");
    assert!(matches!(error, EncodeError::QrTooWide { width: 120, .. }), "{error}");
    assert_eq!(encoder.finish(), b"\x1b@");
}

/// With `trim_bands`, each band goes from its first to its last inked byte column behind a `GS L`
/// margin: the printed dots are exactly the same, the bytes far fewer, and the margin is back at 0
/// for whatever follows.
#[test]
fn trimmed_bands_print_the_same_dots_with_fewer_bytes() {
    use counter_agent_driver_escpos::text::{Align, Face, TextStyle};
    let ticket = |trim: bool| {
        let mut options = EncoderOptions::new(576);
        options.trim_bands = trim;
        let mut encoder = Encoder::new(options);
        let centre = |face, size| TextStyle::new(face, size, Align::Center);
        encoder.text("UBND PHƯỜNG KIM MÃ\nBộ phận tiếp nhận và trả kết quả", centre(Face::Bold, 26.0)).expect("fits");
        encoder.text("A1023", centre(Face::Bold, 140.0)).expect("fits");
        encoder.text("Hẹn trả kết quả", TextStyle::new(Face::Regular, 26.0, Align::Right)).expect("fits");
        encoder.qr_raster(b"https://motcua.example.gov.vn/q/A1023", 6, QrEcc::Medium, Align::Center).expect("fits");
        encoder.text("tối", TextStyle::new(Face::Regular, 26.0, Align::Left)).expect("fits");
        encoder.finish()
    };
    let (full, trimmed) = (ticket(false), ticket(true));
    let full_preview = render_preview(&full, 576).expect("interprets");
    let trimmed_preview = render_preview(&trimmed, 576).expect("interprets");
    assert_eq!(full_preview.image.dimensions(), trimmed_preview.image.dimensions());
    assert!(full_preview.image == trimmed_preview.image, "the same dots");
    assert!(trimmed.len() * 10 < full.len() * 6, "{} bytes trimmed vs {} full", trimmed.len(), full.len());
    let last_margin = trimmed.windows(4).rev().find(|w| w[..2] == [0x1D, b'L']).expect("GS L sent");
    assert_eq!(last_margin, [0x1D, b'L', 0, 0], "the margin is back at the paper's edge at the end");
    assert!(!full.windows(2).any(|w| w == [0x1D, b'L']), "no GS L unless the profile says so");
}
