//! Tests over the whole pipeline, on pages from the simulated scanner (the same drawing the demo uses:
//! a Vietnamese form with a red seal and a blue signature, a text-only guide, a blank sheet with dust,
//! the form fed in turned 1.5°) and on synthetic pages for the edge cases.

use counter_agent_driver_api::{
    ColorMode, DeviceSettings, DriverFactory, OpenSpec, PageSide, PixelFormat, RawPage, ScanRequest, ScanSource,
    ScannerSettings,
};
use counter_agent_driver_sim::SimFactory;

use super::*;

/// Scans `count` pages from the simulated ADF: Form, Guide, Blank, SkewedForm, Form, …
pub(super) fn sim_pages(source: ScanSource, color: ColorMode, dpi: u32, count: usize) -> Vec<RawPage> {
    let dir = tempfile::tempdir().expect("temp dir");
    let factory = SimFactory::new(dir.path().join("printers"));
    let settings = ScannerSettings {
        max_dpi: 600,
        default_dpi: 300,
        sources: vec![ScanSource::Flatbed, ScanSource::Adf, ScanSource::AdfDuplex],
        duplex_back_rotate_180: false,
        sane: Default::default(),
    };
    let spec = OpenSpec {
        id: "scanner".into(),
        connection: "sim:scanner".parse().expect("connection"),
        settings: DeviceSettings::Scanner(settings),
    };
    let mut device = factory.open(&spec).expect("open sim scanner");
    let scanner = device.as_scanner().expect("a scanner");
    scanner.start_batch(&ScanRequest { source, color, dpi }).expect("start");
    let mut pages = Vec::new();
    while pages.len() < count {
        match scanner.next_page().expect("page") {
            Some(page) => pages.push(page),
            None => break,
        }
    }
    scanner.end_batch();
    pages
}

pub(super) fn raw(format: PixelFormat, width: u32, height: u32, dpi: u32, data: Vec<u8>) -> RawPage {
    let stride = match format {
        PixelFormat::Gray8 => width as usize,
        PixelFormat::Rgb8 => width as usize * 3,
        PixelFormat::Bw1 => (width as usize).div_ceil(8),
    };
    RawPage { width, height, dpi, format, stride, side: PageSide::Front, data }
}

/// A gray page drawn by `pixel(x, y)`.
pub(super) fn gray_page(width: u32, height: u32, dpi: u32, pixel: impl Fn(u32, u32) -> u8) -> RawPage {
    let data = (0..height).flat_map(|y| (0..width).map(move |x| (x, y))).map(|(x, y)| pixel(x, y)).collect();
    raw(PixelFormat::Gray8, width, height, dpi, data)
}

/// An RGB page drawn by `pixel(x, y)`.
pub(super) fn rgb_page(width: u32, height: u32, dpi: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> RawPage {
    let data = (0..height).flat_map(|y| (0..width).flat_map(move |x| [x, y])).collect::<Vec<u32>>();
    let data = data.chunks_exact(2).flat_map(|p| pixel(p[0], p[1])).collect();
    raw(PixelFormat::Rgb8, width, height, dpi, data)
}

/// Cheap deterministic noise in 0..=255.
pub(super) fn noise(x: u32, y: u32) -> u8 {
    let mut h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    (h >> 24) as u8
}

/// Text-like lines: dark bars 3 px high every 24 px, broken into "words", on paper at 240.
fn text_lines(x: u32, y: u32) -> u8 {
    let in_line = y % 24 < 3 && (60..=y / 24 * 7 % 200 + 900).contains(&x) && !(x / 37).is_multiple_of(5);
    if in_line {
        30
    } else {
        240
    }
}

fn decode_pixels(image: &EncodedImage) -> image::DynamicImage {
    render::decode(image).expect("decodes")
}

const A4_150: (u32, u32) = (1240, 1754);

// ---- classification on the simulator's pages -------------------------------------------------------

#[test]
fn sim_document_pages_are_classified_and_encoded_by_content() {
    // Form (red seal, blue signature), guide (text only), blank (dust), form fed in turned 1.5°.
    let pages = sim_pages(ScanSource::Adf, ColorMode::Auto, 150, 4);
    assert_eq!(pages.len(), 4);
    let expected = [
        (PageClass::Color, Encoding::JpegColor, false),
        (PageClass::Text, Encoding::G4, false),
        (PageClass::Blank, Encoding::G4, true),
        (PageClass::Color, Encoding::JpegColor, false),
    ];
    for (i, (page, (class, encoding, blank))) in pages.iter().zip(expected).enumerate() {
        let processed = process_page(page, &PageOptions::default()).expect("process");
        assert_eq!(processed.class, class, "page {}", i + 1);
        assert_eq!(processed.image.encoding, encoding, "page {}", i + 1);
        assert_eq!(processed.blank, blank, "page {}", i + 1);
        assert_eq!(processed.sha256, sha256(&processed.image.bytes));
        assert_eq!(
            (processed.image.width, processed.image.height, processed.image.dpi),
            (page.width, page.height, 150)
        );
    }
}

#[test]
fn classification_margins_on_sim_pages() {
    // The thresholds sit well away from what the pages measure, both ways.
    let t = Thresholds::default();
    let pages = sim_pages(ScanSource::Adf, ColorMode::Color, 150, 3);
    let analyses: Vec<classify::Analysis> =
        pages.iter().map(|p| classify::analyse(&raster::Raster::from_raw(p).expect("raster").view(), 150)).collect();
    let (form, guide, blank) = (&analyses[0], &analyses[1], &analyses[2]);
    assert!(form.color_area_mm2(&t) > 10.0 * t.color_area_mm2, "seal + signature: {}", form.color_area_mm2(&t));
    assert!(guide.color_area_mm2(&t) < 0.1 * t.color_area_mm2, "toner only: {}", guide.color_area_mm2(&t));
    assert!(blank.color_area_mm2(&t) < 0.1 * t.color_area_mm2);
    assert!(guide.ink_area_mm2(&t) > 100.0 * t.blank_ink_mm2, "text: {}", guide.ink_area_mm2(&t));
    assert!(blank.ink_area_mm2(&t) < 0.5 * t.blank_ink_mm2, "dust only: {}", blank.ink_area_mm2(&t));
    assert!(guide.midtone_fraction(&t) < 0.5 * t.photo_midtone_fraction, "{}", guide.midtone_fraction(&t));
}

#[test]
fn gray_and_lineart_scans_classify_too() {
    let gray = sim_pages(ScanSource::Adf, ColorMode::Gray, 150, 3);
    let classes: Vec<PageClass> =
        gray.iter().map(|p| process_page(p, &PageOptions::default()).expect("process").class).collect();
    // A gray scan has no colour to see: the form is text (the seal is dark enough to be kept as ink).
    assert_eq!(classes, [PageClass::Text, PageClass::Text, PageClass::Blank]);
    let bw = sim_pages(ScanSource::Adf, ColorMode::Bw, 150, 3);
    let classes: Vec<PageClass> =
        bw.iter().map(|p| process_page(p, &PageOptions::default()).expect("process").class).collect();
    assert_eq!(classes, [PageClass::Text, PageClass::Text, PageClass::Blank]);
}

#[test]
fn blue_signature_alone_makes_a_colour_page_and_faint_tint_does_not() {
    let (w, h) = A4_150;
    // A blue ink scribble ~ 60 mm × 0.6 mm strokes on warm paper: about 4 strokes → 100+ mm².
    let signature = rgb_page(w, h, 150, |x, y| {
        let stroke = (1100..1110).contains(&(y + (x / 7) % 5)) || (1130..1134).contains(&(y + x / 40));
        if (600..950).contains(&x) && stroke {
            [40, 60, 170]
        } else if text_lines(x, y) < 128 {
            [35, 35, 35]
        } else {
            [246, 245, 239]
        }
    });
    let processed = process_page(&signature, &PageOptions::default()).expect("process");
    assert_eq!(processed.class, PageClass::Color);
    // The same text on paper with a pastel tint and colour fringes on the strokes (chroma < 40).
    let tinted = rgb_page(w, h, 150, |x, y| match text_lines(x, y) {
        v if v < 128 => [60, 40, 70],
        _ => [236, 240, 250 - noise(x, y) % 8],
    });
    let processed = process_page(&tinted, &PageOptions::default()).expect("process");
    assert_eq!(processed.class, PageClass::Text);
    assert_eq!(processed.image.encoding, Encoding::G4);
}

#[test]
fn a_gray_photo_is_gray_and_a_colour_photo_is_colour() {
    let (w, h) = (800, 1000);
    let photo = gray_page(w, h, 100, |x, y| ((x / 3 + y / 5) % 160) as u8 + 50 + noise(x, y) % 16);
    let processed = process_page(&photo, &PageOptions::default()).expect("process");
    assert_eq!(processed.class, PageClass::Gray);
    assert_eq!(processed.image.encoding, Encoding::JpegGray);
    let colour = rgb_page(w, h, 100, |x, y| [(x % 256) as u8, (y % 256) as u8, 128]);
    assert_eq!(process_page(&colour, &PageOptions::default()).expect("process").class, PageClass::Color);
}

#[test]
fn forced_modes_keep_the_blank_flag() {
    let pages = sim_pages(ScanSource::Adf, ColorMode::Color, 100, 3);
    let blank = &pages[2];
    for (mode, encoding) in
        [(ColorMode::Color, Encoding::JpegColor), (ColorMode::Gray, Encoding::JpegGray), (ColorMode::Bw, Encoding::G4)]
    {
        let processed = process_page(blank, &PageOptions { color: mode, ..PageOptions::default() }).expect("process");
        assert!(processed.blank, "{mode:?}");
        assert_eq!(processed.class, PageClass::Blank);
        assert_eq!(processed.image.encoding, encoding);
    }
    // Forced colour on the text page: colour JPEG, and the class says what was stored.
    let forced =
        process_page(&pages[1], &PageOptions { color: ColorMode::Color, ..PageOptions::default() }).expect("process");
    assert_eq!((forced.class, forced.image.encoding, forced.blank), (PageClass::Color, Encoding::JpegColor, false));
    // A blank as G4 is tiny.
    let auto = process_page(blank, &PageOptions::default()).expect("process");
    assert!(auto.image.bytes.len() < 2_000, "{}", auto.image.bytes.len());
}

// ---- deskew ---------------------------------------------------------------------------------------

#[test]
fn skewed_sim_page_is_straightened_within_half_a_degree() {
    let pages = sim_pages(ScanSource::Adf, ColorMode::Color, 150, 4);
    let straight = process_page(&pages[0], &PageOptions::default()).expect("process");
    assert_eq!(straight.skew_degrees, 0.0, "the straight form is left alone");
    let skewed = process_page(&pages[3], &PageOptions::default()).expect("process");
    assert!((skewed.skew_degrees - 1.5).abs() < 0.5, "estimated {}", skewed.skew_degrees);
    // Measure the output again: what is left is under 0.5°.
    let out = raster::Raster::Rgb(decode_pixels(&skewed.image).to_rgb8());
    let residual = deskew::search(&classify::analyse(&out.view(), 150)).expect("text found");
    assert!(residual.degrees.abs() < 0.5, "residual {}", residual.degrees);
    // With deskew off nothing turns.
    let off = process_page(&pages[3], &PageOptions { deskew: false, ..PageOptions::default() }).expect("process");
    assert_eq!(off.skew_degrees, 0.0);
}

#[test]
fn deskew_estimates_synthetic_angles_both_ways_and_ignores_photos() {
    let (w, h) = (1000, 1300);
    for degrees in [-4.0f32, -2.0, 0.7, 3.0] {
        let page = gray_page(w, h, 150, text_lines);
        let turned = raster::Raster::from_raw(&page).expect("raster").rotate_small(-degrees); // clockwise = skew
        let estimate = deskew::estimate(&classify::analyse(&turned.view(), 150));
        let estimate = estimate.expect("confident");
        assert!((estimate - degrees).abs() < 0.2, "{degrees}: {estimate}");
    }
    let photo = gray_page(w, h, 150, |x, y| noise(x / 9, y / 9) / 2 + 64);
    let analysis = classify::analyse(&raster::Raster::from_raw(&photo).expect("raster").view(), 150);
    assert_eq!(deskew::estimate(&analysis), None, "no lines, no correction");
}

#[test]
fn small_rotation_moves_a_point_where_geometry_says() {
    let (w, h) = (401u32, 301u32);
    let (cx, cy) = ((w - 1) as f32 / 2.0, (h - 1) as f32 / 2.0);
    let dot = (cx as u32 + 150, cy as u32 + 40);
    let page = gray_page(w, h, 100, |x, y| if (x, y) == dot || (x, y) == (dot.0 + 1, dot.1) { 0 } else { 255 });
    for degrees in [5.0f32, -3.0] {
        let turned = raster::Raster::from_raw(&page).expect("raster").rotate_small(degrees).into_gray();
        let (mut sum, mut sx, mut sy) = (0f32, 0f32, 0f32);
        for (x, y, p) in turned.enumerate_pixels() {
            let weight = 255.0 - f32::from(p[0]);
            (sum, sx, sy) = (sum + weight, sx + weight * x as f32, sy + weight * y as f32);
        }
        let (x, y) = (sx / sum, sy / sum);
        // Counter-clockwise on screen (y down): (dx, dy) → (dx cos + dy sin, −dx sin + dy cos).
        let (dx, dy) = (dot.0 as f32 + 0.5 - cx, dot.1 as f32 - cy);
        let (s, c) = degrees.to_radians().sin_cos();
        let expected = (cx + dx * c + dy * s, cy - dx * s + dy * c);
        assert!((x - expected.0).abs() < 0.75 && (y - expected.1).abs() < 0.75, "{degrees}: {x},{y} vs {expected:?}");
        assert_eq!(turned.get_pixel(0, 0)[0], 255, "uncovered corner is white");
    }
}

// ---- G4 -------------------------------------------------------------------------------------------

#[test]
fn g4_round_trip_is_pixel_exact() {
    // Odd width, long runs, single pixels, all-black and all-white rows, noise.
    let (w, h) = (1001u32, 333u32);
    let bits = image::GrayImage::from_fn(w, h, |x, y| {
        let v = match y % 50 {
            0 => 0,
            1 => 255,
            2..=10 => noise(x, y),
            _ if x == y % w => 0,
            _ => text_lines(x, y),
        };
        image::Luma([if v < 128 { 0 } else { 255 }])
    });
    let encoded = g4::encode(&bits, 300);
    assert_eq!(g4::decode(&encoded).expect("decode"), bits);
    assert!(encoded.bytes.len() < (w * h / 8) as usize, "compresses");
}

#[test]
fn lineart_scan_is_pixel_exact_after_g4() {
    // Depth 1 (bit 1 = black) with a padded stride: bits in = bits out.
    let (w, h) = (203u32, 120u32);
    let stride = 27; // 26 bytes of pixels, one byte of padding
    let mut data = vec![0u8; stride * h as usize];
    for y in 0..h {
        for x in 0..w {
            if noise(x / 3, y / 2) < 100 {
                data[y as usize * stride + x as usize / 8] |= 0x80 >> (x % 8);
            }
        }
        data[y as usize * stride + 26] = 0xA5; // padding garbage
    }
    let page = RawPage { stride, ..raw(PixelFormat::Bw1, w, h, 300, data.clone()) };
    let processed = process_page(&page, &PageOptions { color: ColorMode::Bw, deskew: false, ..PageOptions::default() })
        .expect("ok");
    let decoded = g4::decode(&processed.image).expect("decode");
    for (x, y, p) in decoded.enumerate_pixels() {
        let black = data[y as usize * stride + x as usize / 8] & (0x80 >> (x % 8)) != 0;
        assert_eq!(p[0] == 0, black, "pixel {x},{y}");
    }
}

#[test]
fn garbage_g4_is_an_error() {
    for bytes in [vec![], vec![0u8; 40], vec![0xFF; 40], (0..200).map(|i| noise(i, 7)).collect()] {
        let image = EncodedImage { encoding: Encoding::G4, bytes, width: 64, height: 64, dpi: 300 };
        match g4::decode(&image) {
            // An empty or all-EOFB stream is a white page; anything else must be an error, never a panic.
            Ok(decoded) => assert_eq!(decoded.dimensions(), (64, 64)),
            Err(error) => assert_eq!(error.code(), "image_decode_failed"),
        }
    }
}

// ---- geometry options -----------------------------------------------------------------------------

#[test]
fn duplex_back_side_is_turned_180() {
    let page = gray_page(300, 400, 100, |x, y| if x < 60 && y < 40 { 0 } else { 250 });
    let options = PageOptions { rotate_180: true, deskew: false, color: ColorMode::Gray, ..PageOptions::default() };
    let out = decode_pixels(&process_page(&page, &options).expect("process").image).to_luma8();
    assert!(out.get_pixel(280, 380)[0] < 60, "mark now bottom right");
    assert!(out.get_pixel(20, 20)[0] > 200, "top left now paper");
}

#[test]
fn id_card_on_the_flatbed_is_cropped() {
    let dpi = 150;
    let (w, h) = A4_150;
    let mm = |v: f32| (v * dpi as f32 / 25.4) as u32;
    let (x0, y0) = (mm(30.0), mm(40.0));
    let (cw, ch) = (mm(85.6), mm(53.98));
    // A pale card (light blue-gray with text and a photo) on the white lid.
    let page = rgb_page(w, h, dpi, |x, y| {
        if (x0..x0 + cw).contains(&x) && (y0..y0 + ch).contains(&y) {
            let (cx, cy) = (x - x0, y - y0);
            if cx > mm(5.0) && cx < mm(25.0) && cy > mm(12.0) && cy < mm(40.0) {
                [120, 100, 90]
            } else if text_lines(cx + 40, cy) < 128 && cx > mm(30.0) {
                [30, 30, 40]
            } else {
                [205, 220, 230]
            }
        } else {
            [252, 252, 252]
        }
    });
    let options = PageOptions { crop_id_card: true, ..PageOptions::default() };
    let processed = process_page(&page, &options).expect("process");
    assert!(processed.cropped);
    let (got_w, got_h) = (processed.image.width, processed.image.height);
    let margin = mm(2.0);
    assert!(got_w.abs_diff(cw + 2 * margin) <= mm(2.0), "width {got_w} vs {}", cw + 2 * margin);
    assert!(got_h.abs_diff(ch + 2 * margin) <= mm(2.0), "height {got_h} vs {}", ch + 2 * margin);
    // A full document page is not a card: left as it is.
    let form = &sim_pages(ScanSource::Flatbed, ColorMode::Color, 100, 1)[0];
    let processed = process_page(form, &options).expect("process");
    assert!(!processed.cropped);
    assert_eq!((processed.image.width, processed.image.height), (form.width, form.height));
}

// ---- bad input ------------------------------------------------------------------------------------

#[test]
fn malformed_raw_pages_are_errors_not_panics() {
    let cases = [
        (raw(PixelFormat::Gray8, 10, 10, 100, vec![0; 95]), "page_short_data"),
        (RawPage { stride: 20, ..raw(PixelFormat::Rgb8, 10, 10, 100, vec![0; 1000]) }, "page_short_data"),
        (raw(PixelFormat::Bw1, 17, 4, 100, vec![0; 11]), "page_short_data"),
        (raw(PixelFormat::Gray8, 0, 10, 100, vec![]), "page_empty"),
        (raw(PixelFormat::Gray8, 10, 0, 100, vec![]), "page_empty"),
        (RawPage { stride: usize::MAX / 2, ..raw(PixelFormat::Gray8, 10, 10, 100, vec![0; 100]) }, "page_short_data"),
        (raw(PixelFormat::Gray8, 100_000, 100_000, 100, vec![0; 10]), "page_too_large"),
    ];
    for (page, code) in cases {
        let error = process_page(&page, &PageOptions::default()).expect_err("bad page");
        assert_eq!(error.code(), code, "{page:?}: {error}");
    }
    // Zero dpi is taken as 1 rather than dividing by zero.
    let page = gray_page(20, 20, 0, |_, _| 255);
    assert_eq!(process_page(&page, &PageOptions::default()).expect("ok").image.dpi, 1);
}

// ---- render ---------------------------------------------------------------------------------------

#[test]
fn render_rotates_scales_and_encodes() {
    let page = gray_page(400, 600, 100, |x, y| if x < 100 && y < 50 { 0 } else { 255 });
    let options = PageOptions { deskew: false, color: ColorMode::Bw, ..PageOptions::default() };
    let g4_page = process_page(&page, &options).expect("process").image;
    let png = render(&g4_page, Rotation::None, ViewFormat::Png, None).expect("png");
    let decoded = image::load_from_memory_with_format(&png, image::ImageFormat::Png).expect("a PNG").to_luma8();
    assert_eq!(decoded, g4::decode(&g4_page).expect("decode"), "full-size PNG is the page");
    let thumb = render(&g4_page, Rotation::Cw90, ViewFormat::Jpeg, Some(256)).expect("jpeg");
    let thumb = image::load_from_memory_with_format(&thumb, image::ImageFormat::Jpeg).expect("a JPEG").to_luma8();
    assert_eq!(thumb.dimensions(), (256, 171), "longer side 256, turned");
    assert!(thumb.get_pixel(250, 5)[0] < 80, "the mark went to the top right");
    let colour = rgb_page(64, 32, 100, |_, _| [200, 30, 30]);
    let jpeg = process_page(&colour, &PageOptions::default()).expect("process").image;
    let png = render(&jpeg, Rotation::Cw180, ViewFormat::Png, Some(1000)).expect("png");
    let back = image::load_from_memory(&png).expect("png").to_rgb8();
    assert_eq!(back.dimensions(), (64, 32), "never scaled up");
    assert!(back.get_pixel(10, 10)[0] > 150 && back.get_pixel(10, 10)[1] < 80);
    let broken = EncodedImage { bytes: b"not a jpeg".to_vec(), ..jpeg };
    assert_eq!(render(&broken, Rotation::None, ViewFormat::Png, None).expect_err("bad").code(), "image_decode_failed");
}

// ---- small types ----------------------------------------------------------------------------------

#[test]
fn rotations_compose() {
    assert_eq!(Rotation::from_degrees(-90), Some(Rotation::Cw270));
    assert_eq!(Rotation::from_degrees(450), Some(Rotation::Cw90));
    assert_eq!(Rotation::from_degrees(45), None);
    assert_eq!(Rotation::Cw90.then(Rotation::Cw270), Rotation::None);
    assert_eq!(Rotation::Cw180.then(Rotation::Cw270).degrees(), 90);
    for encoding in [Encoding::G4, Encoding::JpegGray, Encoding::JpegColor] {
        assert_eq!(Encoding::parse(encoding.as_str()), Some(encoding));
    }
}
