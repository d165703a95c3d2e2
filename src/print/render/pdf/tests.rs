//! Real PDFs, written here with `pdf-writer` (and one with the project's A4 receipt renderer), checked
//! the way a print job would use them.

use std::time::{Duration, Instant};

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use sha2::{Digest, Sha256};

use super::*;
use crate::print::render::a4::dossier_receipt_pdf;
use crate::print::render::data::{DocumentCopy, DossierReceipt, Office, ReceivedDocument};

/// A4 in points.
const A4: (f32, f32) = (595.276, 841.89);
/// The usual 80 mm receipt printer: 72 mm printable, 576 dots.
const DOTS_80MM: u32 = 576;

fn pt(mm: f32) -> f32 {
    mm * 72.0 / 25.4
}

/// One page to write: its size in points, its content stream, and optional `/Rotate`, `/UserUnit`.
struct PageSpec {
    size: (f32, f32),
    content: Vec<u8>,
    rotate: Option<i32>,
    user_unit: Option<f32>,
}

fn page(size: (f32, f32), content: Vec<u8>) -> PageSpec {
    PageSpec { size, content, rotate: None, user_unit: None }
}

fn blank(size: (f32, f32)) -> PageSpec {
    page(size, Vec::new())
}

/// Every page can use the font `/F1` (Helvetica, not embedded: one of the standard 14), the image
/// `/Im1` (16 × 16 pixels of grey at luma 102, 40 %) and `/Im2`, which claims to be 100 000 × 100 000
/// pixels (10 gigapixels, and 16 bytes of data).
const FONT: Name<'static> = Name(b"F1");
const IMAGE: Name<'static> = Name(b"Im1");
const HUGE_IMAGE: Name<'static> = Name(b"Im2");
const IMAGE_LUMA: u8 = 102;

/// Writes `pages`; `extra` may add objects (ids from 1000 up are free) and returns trailer entries.
fn write_with(pages: &[PageSpec], extra: impl FnOnce(&mut Pdf) -> String) -> Vec<u8> {
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let font_id = Ref::new(3);
    let image_id = Ref::new(4);
    let huge_image_id = Ref::new(5);
    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    let page_ids: Vec<Ref> = (0..pages.len()).map(|i| Ref::new(10 + 2 * i as i32)).collect();
    pdf.pages(tree_id).kids(page_ids.iter().copied()).count(pages.len() as i32);
    pdf.type1_font(font_id).base_font(Name(b"Helvetica"));
    let pixels = [IMAGE_LUMA; 16 * 16];
    let mut image = pdf.image_xobject(image_id, &pixels);
    image.width(16).height(16).bits_per_component(8);
    image.color_space().device_gray();
    image.finish();
    let mut huge = pdf.image_xobject(huge_image_id, &pixels[..16]);
    huge.width(100_000).height(100_000).bits_per_component(8);
    huge.color_space().device_gray();
    huge.finish();
    for (spec, page_id) in pages.iter().zip(&page_ids) {
        let content_id = Ref::new(page_id.get() + 1);
        let mut writer = pdf.page(*page_id);
        writer.media_box(Rect::new(0.0, 0.0, spec.size.0, spec.size.1)).parent(tree_id).contents(content_id);
        if let Some(degrees) = spec.rotate {
            writer.rotate(degrees);
        }
        if let Some(unit) = spec.user_unit {
            writer.user_unit(unit);
        }
        let mut resources = writer.resources();
        resources.fonts().pair(FONT, font_id);
        resources.x_objects().pair(IMAGE, image_id).pair(HUGE_IMAGE, huge_image_id);
        resources.finish();
        writer.finish();
        pdf.stream(content_id, &spec.content);
    }
    let trailer_entries = extra(&mut pdf);
    let bytes = pdf.finish();
    if trailer_entries.is_empty() {
        return bytes;
    }
    let marker = b"trailer\n<<";
    let at =
        bytes.windows(marker.len()).rposition(|w| w == marker).expect("pdf-writer writes a trailer") + marker.len();
    [&bytes[..at], format!("\n  {trailer_entries}").as_bytes(), &bytes[at..]].concat()
}

fn write(pages: &[PageSpec]) -> Vec<u8> {
    write_with(pages, |_| String::new())
}

/// The end of a content stream piece: pieces are concatenated, and `f` followed by `q` would read
/// as the operator `fq`.
fn finish(content: Content) -> Vec<u8> {
    let mut bytes = content.finish();
    bytes.push(b'\n');
    bytes
}

/// A filled rectangle in grey (0 black, 1 white).
fn rect(x: f32, y: f32, width: f32, height: f32, gray: f32) -> Vec<u8> {
    let mut content = Content::new();
    content.set_fill_gray(gray).rect(x, y, width, height).fill_nonzero();
    finish(content)
}

/// The image `/Im1` stretched over a rectangle.
fn image(x: f32, y: f32, width: f32, height: f32) -> Vec<u8> {
    placed(IMAGE, x, y, width, height)
}

fn placed(image: Name, x: f32, y: f32, width: f32, height: f32) -> Vec<u8> {
    let mut content = Content::new();
    content.save_state().transform([width, 0.0, 0.0, height, x, y]).x_object(image).restore_state();
    finish(content)
}

/// `text` in Helvetica `size` points, baseline at (x, y).
fn text(x: f32, y: f32, size: f32, text: &str) -> Vec<u8> {
    let mut content = Content::new();
    content.begin_text().set_font(FONT, size).next_line(x, y).show(Str(text.as_bytes())).end_text();
    finish(content)
}

/// The left half of an A4 page black.
fn left_half_black() -> Vec<u8> {
    write(&[page(A4, rect(0.0, 0.0, A4.0 / 2.0, A4.1, 0.0))])
}

/// `/Encrypt` with the standard security handler, revision 5 (AES-256 passwords, SHA-256 only), and
/// the identity crypt filter, so the content stays plain: a document whose user password is
/// `user_password` (empty: it opens without one, like a document that only restricts editing).
fn encrypt_r5(pdf: &mut Pdf, user_password: &[u8]) -> String {
    let validation_salt = [1_u8; 8];
    let key_salt = [2_u8; 8];
    let hash = Sha256::digest([user_password, &validation_salt[..]].concat());
    let u = [&hash[..], &validation_salt[..], &key_salt[..]].concat();
    let id = Ref::new(1000);
    pdf.indirect(id)
        .dict()
        .pair(Name(b"Filter"), Name(b"Standard"))
        .pair(Name(b"V"), 5)
        .pair(Name(b"R"), 5)
        .pair(Name(b"Length"), 256)
        .pair(Name(b"O"), Str(&[0x4F; 48]))
        .pair(Name(b"U"), Str(&u))
        .pair(Name(b"OE"), Str(&[0x45; 32]))
        .pair(Name(b"UE"), Str(&[0x55; 32]))
        .pair(Name(b"Perms"), Str(&[0x50; 16]))
        .pair(Name(b"P"), -4)
        .pair(Name(b"StmF"), Name(b"Identity"))
        .pair(Name(b"StrF"), Name(b"Identity"));
    "/Encrypt 1000 0 R".into()
}

/// `/Encrypt` with RC4 (revision 3) whose password checks match no password hayro would try.
fn encrypt_rc4(pdf: &mut Pdf) -> String {
    let id = Ref::new(1000);
    pdf.indirect(id)
        .dict()
        .pair(Name(b"Filter"), Name(b"Standard"))
        .pair(Name(b"V"), 2)
        .pair(Name(b"R"), 3)
        .pair(Name(b"Length"), 128)
        .pair(Name(b"O"), Str(&[0x41; 32]))
        .pair(Name(b"U"), Str(&[0x42; 32]))
        .pair(Name(b"P"), -3904);
    "/Encrypt 1000 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>]".into()
}

// --- inspect -------------------------------------------------------------------------------------

fn check(bytes: &[u8], max_pages: u32, expected: Result<(u32, (f32, f32)), PdfProblem>) {
    let got = inspect(bytes, max_pages);
    match (&got, &expected) {
        (Ok(info), Ok((pages, (width, height)))) => {
            assert_eq!(info.pages, *pages, "{info:?}");
            assert!((info.largest_page_mm.0 - width).abs() < 0.5, "{info:?}, expected width {width}");
            assert!((info.largest_page_mm.1 - height).abs() < 0.5, "{info:?}, expected height {height}");
        }
        _ => {
            assert_eq!(got.map(|info| (info.pages, info.largest_page_mm)).map_err(whole_mm), expected.map_err(whole_mm))
        }
    }
}

/// Page sizes rounded to whole millimetres, for comparing.
fn whole_mm(problem: PdfProblem) -> PdfProblem {
    match problem {
        PdfProblem::PageTooLarge { page, width_mm, height_mm } => {
            PdfProblem::PageTooLarge { page, width_mm: width_mm.round(), height_mm: height_mm.round() }
        }
        other => other,
    }
}

#[test]
fn good_documents_report_their_pages_and_largest_page_in_mm() {
    check(&write(&[blank(A4)]), 10, Ok((1, (210.0, 297.0))));
    let a5_landscape = (pt(210.0), pt(148.0));
    let receipt = (pt(80.0), pt(200.0));
    check(&write(&[blank(receipt), blank(A4), blank(a5_landscape)]), 10, Ok((3, (210.0, 297.0))));
    // Exactly the limit passes.
    check(&write(&[blank(A4), blank(A4), blank(A4)]), 3, Ok((3, (210.0, 297.0))));
}

#[test]
fn sizes_are_as_displayed() {
    let mut rotated = blank(A4);
    rotated.rotate = Some(90);
    check(&write(&[rotated]), 1, Ok((1, (297.0, 210.0))));
    // /UserUnit 2: each unit is 2/72 inch.
    let mut doubled = blank((pt(100.0), pt(50.0)));
    doubled.user_unit = Some(2.0);
    check(&write(&[doubled]), 1, Ok((1, (200.0, 100.0))));
}

#[test]
fn what_is_not_a_pdf_is_refused() {
    check(b"", 10, Err(PdfProblem::NotPdf));
    check(b"<!DOCTYPE html><html>%PDF-1.7 %%EOF</html>", 10, Err(PdfProblem::NotPdf));
    check(b"\x89PNG\r\n\x1a\n", 10, Err(PdfProblem::NotPdf));
    check(b"JVBERi0xLjcK", 10, Err(PdfProblem::NotPdf)); // base64 of "%PDF-1.7\n", not decoded.
}

#[test]
fn a_pdf_cut_short_is_truncated() {
    let good = write(&[blank(A4), page(A4, text(72.0, 700.0, 12.0, "Trang hai")), blank(A4)]);
    check(&good[..good.len() / 2], 10, Err(PdfProblem::Truncated));
    check(&good[..good.len() - 7], 10, Err(PdfProblem::Truncated));
    check(b"%PDF-1.7\n", 10, Err(PdfProblem::Truncated));
}

#[test]
fn a_broken_cross_reference_table_is_rebuilt() {
    let good = write(&[blank(A4), blank(A4)]);
    let at = good.windows(9).rposition(|w| w == b"startxref").expect("a startxref");
    let mut broken = good[..at].to_vec();
    broken.extend_from_slice(b"startxref\n9\n%%EOF\n");
    check(&broken, 10, Ok((2, (210.0, 297.0))));
}

#[test]
fn garbage_after_a_header_is_unreadable() {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let mut state = 0x2545_4F46_u32;
    bytes.extend((0..4096).map(|_| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8
    }));
    bytes.extend_from_slice(b"\n%%EOF\n");
    check(&bytes, 10, Err(PdfProblem::Unreadable));
    check(b"%PDF-1.4\nthis is not a PDF body\n%%EOF\n", 10, Err(PdfProblem::Unreadable));
}

#[test]
fn documents_that_need_a_password_are_encrypted() {
    let content = || vec![page(A4, rect(0.0, 0.0, 100.0, 100.0, 0.0))];
    check(&write_with(&content(), encrypt_rc4), 10, Err(PdfProblem::Encrypted));
    check(&write_with(&content(), |pdf| encrypt_r5(pdf, b"mat-khau")), 10, Err(PdfProblem::Encrypted));
    assert_eq!(PdfProblem::Encrypted.to_string(), "the PDF is password-protected, so it cannot be opened to print");
}

#[test]
fn documents_that_open_without_a_password_are_readable() {
    let bytes = write_with(&[page(A4, rect(0.0, 0.0, A4.0 / 2.0, A4.1, 0.0))], |pdf| encrypt_r5(pdf, b""));
    assert!(bytes.windows(8).any(|w| w == b"/Encrypt"));
    check(&bytes, 10, Ok((1, (210.0, 297.0))));
    let bitmaps = rasterise_for_thermal(&bytes, DOTS_80MM, 10).expect("renders");
    let (left, right) = black_by_half(&bitmaps[0]);
    assert!(left > 0.99 && right < 0.01, "left {left}, right {right}");
}

#[test]
fn a_document_without_pages_is_refused() {
    check(&write(&[]), 10, Err(PdfProblem::NoPages));
}

#[test]
fn too_many_pages_are_refused_quickly() {
    let pages: Vec<PageSpec> = (0..500).map(|i| page(A4, text(72.0, 700.0, 12.0, &format!("Trang {i}")))).collect();
    let bytes = write(&pages);
    let started = Instant::now();
    let got = inspect(&bytes, 200);
    let elapsed = started.elapsed();
    assert_eq!(got, Err(PdfProblem::TooManyPages { pages: 500, max: 200 }));
    println!("inspect, 500 pages ({} KiB), max 200: {elapsed:?}", bytes.len() / 1024);
    check(&bytes, 500, Ok((500, (210.0, 297.0))));
    assert_eq!(
        rasterise_for_thermal(&bytes, DOTS_80MM, 200).map(|pages| pages.len()),
        Err(PdfProblem::TooManyPages { pages: 500, max: 200 })
    );
}

#[test]
fn enormous_pages_are_refused() {
    let huge = (pt(5000.0), pt(5000.0));
    check(
        &write(&[blank(A4), blank(huge)]),
        10,
        Err(PdfProblem::PageTooLarge { page: 2, width_mm: 5000.0, height_mm: 5000.0 }),
    );
    check(
        &write(&[blank((pt(1300.0), pt(1300.0)))]),
        10,
        Err(PdfProblem::PageTooLarge { page: 1, width_mm: 1300.0, height_mm: 1300.0 }),
    );
    check(
        &write(&[blank((pt(80.0), pt(3100.0)))]),
        10,
        Err(PdfProblem::PageTooLarge { page: 1, width_mm: 80.0, height_mm: 3100.0 }),
    );
    // A page over 5 m through /UserUnit.
    let mut stretched = blank((pt(1000.0), pt(1000.0)));
    stretched.user_unit = Some(10.0);
    check(&write(&[stretched]), 10, Err(PdfProblem::PageTooLarge { page: 1, width_mm: 10_000.0, height_mm: 10_000.0 }));
    // A0 either way round, and a receipt 2.9 m long, are printable.
    check(&write(&[blank((pt(841.0), pt(1189.0)))]), 10, Ok((1, (841.0, 1189.0))));
    check(&write(&[blank((pt(1189.0), pt(841.0)))]), 10, Ok((1, (1189.0, 841.0))));
    check(&write(&[blank((pt(80.0), pt(2900.0)))]), 10, Ok((1, (80.0, 2900.0))));
}

#[test]
fn messages_say_what_is_wrong_and_hints_what_to_do() {
    let problem = PdfProblem::PageTooLarge { page: 2, width_mm: 5000.0, height_mm: 5000.0 };
    assert_eq!(
        problem.to_string(),
        "page 2 of the PDF is 5000 × 5000 mm, too large to print (at most 1200 mm on the short side and 3000 mm on \
         the long side; on a receipt printer at most 20000 dots long)"
    );
    let problem = PdfProblem::ImageTooLarge { page: 1, width: 100_000, height: 100_000 };
    assert_eq!(
        problem.to_string(),
        "page 1 of the PDF holds an image of 100000 × 100000 pixels, too large to print (at most 64000000 pixels)"
    );
    let problem = PdfProblem::TooManyPages { pages: 500, max: 200 };
    assert_eq!(problem.to_string(), "the PDF has 500 pages; at most 200 pages are printed in one job");
    assert!(problem.hint().contains("max_pdf_pages"));
    assert!(PdfProblem::Truncated.hint().contains("cut short"));
}

// --- rasterise_for_thermal -----------------------------------------------------------------------

/// Share of black dots in the left and right halves.
fn black_by_half(bitmap: &Bitmap) -> (f64, f64) {
    let half = bitmap.width() / 2;
    let count = |xs: std::ops::Range<u32>| {
        let n = (0..bitmap.height())
            .flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| bitmap.get(x, y))
            .count();
        n as f64 / (f64::from(xs.end - xs.start) * f64::from(bitmap.height()))
    };
    (count(0..half), count(half..bitmap.width()))
}

/// The bounding box (x0, y0, x1, y1) of the black dots, none if all white.
fn black_box(bitmap: &Bitmap) -> Option<(u32, u32, u32, u32)> {
    let mut found: Option<(u32, u32, u32, u32)> = None;
    for y in 0..bitmap.height() {
        for x in 0..bitmap.width() {
            if bitmap.get(x, y) {
                found = Some(match found {
                    None => (x, y, x, y),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                });
            }
        }
    }
    found
}

#[test]
fn the_left_half_black_prints_the_left_half_black() {
    let bitmaps = rasterise_for_thermal(&left_half_black(), DOTS_80MM, 10).expect("renders");
    assert_eq!(bitmaps.len(), 1);
    assert_eq!(bitmaps[0].width(), DOTS_80MM);
    let (left, right) = black_by_half(&bitmaps[0]);
    assert!(left > 0.99, "left half {left}");
    assert!(right < 0.01, "right half {right}");
}

#[test]
fn pages_keep_their_aspect_ratio() {
    // A4 at 576 dots: 576 × 297 / 210 = 814.6 rows.
    let a4 = rasterise_for_thermal(&left_half_black(), DOTS_80MM, 10).expect("renders");
    assert!((814..=815).contains(&a4[0].height()), "{}", a4[0].height());
    // An 80 × 200 mm receipt: 1440 rows.
    let receipt = write(&[page((pt(80.0), pt(200.0)), rect(0.0, 0.0, pt(40.0), pt(200.0), 0.0))]);
    let bitmaps = rasterise_for_thermal(&receipt, DOTS_80MM, 10).expect("renders");
    assert!((f64::from(bitmaps[0].height()) - 1440.0).abs() <= 14.4, "{}", bitmaps[0].height());
    let (left, right) = black_by_half(&bitmaps[0]);
    assert!(left > 0.99 && right < 0.01, "left {left}, right {right}");
    // A 58 mm printer (384 dots).
    let bitmaps = rasterise_for_thermal(&receipt, 384, 10).expect("renders");
    assert_eq!((bitmaps[0].width(), bitmaps[0].height()), (384, 960));
    // A landscape page (/Rotate 90) fills the width with its long side: 576 × 210 / 297 = 407 rows.
    let mut rotated = blank(A4);
    rotated.rotate = Some(90);
    let bitmaps = rasterise_for_thermal(&write(&[rotated]), DOTS_80MM, 10).expect("renders");
    assert_eq!((bitmaps[0].width(), bitmaps[0].height()), (DOTS_80MM, 407));
    assert!(black_box(&bitmaps[0]).is_none());
}

#[test]
fn every_page_gets_its_bitmap() {
    let bytes = write(&[blank(A4), page((pt(80.0), pt(100.0)), rect(0.0, 0.0, 10.0, 10.0, 0.0)), blank(A4)]);
    let bitmaps = rasterise_for_thermal(&bytes, DOTS_80MM, 10).expect("renders");
    let sizes: Vec<(u32, u32)> = bitmaps.iter().map(|b| (b.width(), b.height())).collect();
    assert_eq!(sizes, [(576, 815), (576, 720), (576, 815)]);
    assert!(black_box(&bitmaps[0]).is_none() && black_box(&bitmaps[2]).is_none());
    // 10 pt square at the bottom left: 10 × 576 / 226.77 ≈ 25 dots.
    let (x0, y0, x1, y1) = black_box(&bitmaps[1]).expect("the square");
    assert!(x0 == 0 && (24..=26).contains(&(x1 + 1)) && (694..=696).contains(&y0) && y1 == 719, "{x0} {y0} {x1} {y1}");
}

#[test]
fn text_prints_where_it_is() {
    // "HELLO" in 24 pt Helvetica: 78.7 pt wide, capitals 17.2 pt tall, baseline 100 pt below the top.
    let bytes = write(&[page(A4, text(72.0, A4.1 - 100.0, 24.0, "HELLO"))]);
    let bitmaps = rasterise_for_thermal(&bytes, DOTS_80MM, 10).expect("renders");
    let scale = 576.0 / A4.0;
    let (x0, y0, x1, y1) = black_box(&bitmaps[0]).expect("the text printed");
    let near = |dots: u32, points: f32| (dots as f32 - points * scale).abs() <= 3.0;
    assert!(near(x0, 72.0 + 1.9) && near(x1, 72.0 + 78.7 - 1.9), "x {x0}..{x1}");
    assert!(near(y0, 100.0 - 17.2) && near(y1, 100.0), "y {y0}..{y1}");
    let black = (y0..=y1).flat_map(|y| (x0..=x1).map(move |x| (x, y))).filter(|&(x, y)| bitmaps[0].get(x, y)).count();
    let area = ((x1 - x0 + 1) * (y1 - y0 + 1)) as usize;
    // Strokes, not a blob and not a ghost.
    assert!(black * 100 > area * 15 && black * 100 < area * 60, "{black} of {area}");
}

#[test]
fn grey_images_are_dithered_and_grey_fills_are_thresholded() {
    // Left half: a vector fill at 40 % grey (luma 102); right half: an image of the same grey.
    let mut content = rect(0.0, 0.0, A4.0 / 2.0, A4.1, f32::from(IMAGE_LUMA) / 255.0);
    content.extend(image(A4.0 / 2.0, 0.0, A4.0 / 2.0, A4.1));
    let bitmaps = rasterise_for_thermal(&write(&[page(A4, content)]), DOTS_80MM, 10).expect("renders");
    let (left, right) = black_by_half(&bitmaps[0]);
    assert!(left > 0.99, "the fill prints solid: {left}");
    // 102 / 255 = 40 % white: 60 % of the dots black.
    assert!((0.55..0.65).contains(&right), "the image prints as its grey: {right}");
}

#[test]
fn pages_too_long_for_receipt_paper_are_refused_before_drawing() {
    // 80 × 2900 mm is a page inspect accepts; at 576 dots it would take 20 880 rows.
    let bytes = write(&[blank(A4), blank((pt(80.0), pt(2900.0)))]);
    assert!(inspect(&bytes, 10).is_ok());
    match rasterise_for_thermal(&bytes, DOTS_80MM, 10) {
        Err(PdfProblem::PageTooLarge { page: 2, width_mm, height_mm }) => {
            assert!((width_mm - 80.0).abs() < 0.1 && (height_mm - 2900.0).abs() < 0.1, "{width_mm} × {height_mm}");
        }
        other => panic!("expected PageTooLarge, got {:?}", other.map(|pages| pages.len())),
    }
    // At 384 dots the same page is 13 920 rows: printable.
    let bitmaps = rasterise_for_thermal(&bytes, 384, 10).expect("renders");
    assert_eq!(bitmaps[1].height(), 13_920);
}

#[test]
fn images_too_large_to_decode_are_refused_before_drawing() {
    let bytes = write(&[blank(A4), page(A4, placed(HUGE_IMAGE, 100.0, 100.0, 50.0, 50.0))]);
    // inspect decodes no image; the A4 printer gets the document as it is.
    check(&bytes, 10, Ok((2, (210.0, 297.0))));
    assert_eq!(
        rasterise_for_thermal(&bytes, DOTS_80MM, 10).map(|pages| pages.len()),
        Err(PdfProblem::ImageTooLarge { page: 2, width: 100_000, height: 100_000 })
    );
}

#[test]
fn rasterising_refuses_what_inspect_refuses() {
    let good = left_half_black();
    assert_eq!(rasterise_for_thermal(b"hello", DOTS_80MM, 10), Err(PdfProblem::NotPdf));
    assert_eq!(rasterise_for_thermal(&good[..good.len() / 2], DOTS_80MM, 10), Err(PdfProblem::Truncated));
    assert_eq!(rasterise_for_thermal(&write(&[]), DOTS_80MM, 10), Err(PdfProblem::NoPages));
    let locked = write_with(&[blank(A4)], |pdf| encrypt_r5(pdf, b"mat-khau"));
    assert_eq!(rasterise_for_thermal(&locked, DOTS_80MM, 10), Err(PdfProblem::Encrypted));
    let three = write(&[blank(A4), blank(A4), blank(A4)]);
    assert_eq!(rasterise_for_thermal(&three, DOTS_80MM, 2), Err(PdfProblem::TooManyPages { pages: 3, max: 2 }));
}

// --- the project's own A4 receipt, and the times for the report -----------------------------------

fn a4_receipt() -> Vec<u8> {
    let office = Office {
        parent_agency: "UBND quận Ba Đình".into(),
        agency: "UBND phường Kim Mã".into(),
        unit: "Bộ phận tiếp nhận và trả kết quả".into(),
        address: "Số 2 phố Núi Trúc, Phường Kim Mã, Quận Ba Đình, Hà Nội".into(),
        phone: Some("024 3846 1234".into()),
        place: "Hà Nội".into(),
        footer_lines: vec!["Tra cứu hồ sơ: dichvucong.hanoi.gov.vn".into()],
    };
    let receipt = DossierReceipt {
        dossier_code: "000.00.31.H26-261204-0001".into(),
        copy_label: None,
        applicant_name: "Nguyễn Thị Hằng".into(),
        applicant_address: "Số 12 ngõ 5 phố Kim Mã, Hà Nội".into(),
        applicant_phone: None,
        applicant_email: None,
        procedure: "Đăng ký khai sinh".into(),
        documents: vec![ReceivedDocument {
            name: "Tờ khai đăng ký khai sinh".into(),
            copy: DocumentCopy::Original,
            count: 1,
        }],
        sets: 1,
        processing_time: "01 ngày làm việc".into(),
        received_at: "2026-12-04T08:15".into(),
        appointment_at: "2026-12-05T14:00".into(),
        collect_at: "Quầy số 3".into(),
        receiver_name: "Trần Văn Minh".into(),
        lookup_url: "https://dichvucong.example.gov.vn/tra-cuu?ma=000.00.31.H26-261204-0001".into(),
    };
    dossier_receipt_pdf(&office, &receipt)
}

#[test]
fn the_a4_receipt_prints_on_a_receipt_printer() {
    let bytes = a4_receipt();
    check(&bytes, 10, Ok((1, (210.0, 297.0))));
    let bitmaps = rasterise_for_thermal(&bytes, DOTS_80MM, 10).expect("renders");
    assert_eq!((bitmaps[0].width(), bitmaps[0].height()), (576, 815));
    // Margins white (30 mm left, 20 mm right, 18 mm top), text and the QR code inside them.
    let (x0, y0, x1, _) = black_box(&bitmaps[0]).expect("the receipt printed");
    let dots_per_mm = 576.0 / 210.0;
    assert!(f64::from(x0) >= 29.0 * dots_per_mm && f64::from(x1) <= (210.0 - 19.0) * dots_per_mm, "x {x0}..{x1}");
    assert!(f64::from(y0) >= 17.0 * dots_per_mm, "y {y0}");
    let black =
        (0..bitmaps[0].height()).flat_map(|y| (0..576).map(move |x| (x, y))).filter(|&(x, y)| bitmaps[0].get(x, y));
    let share = black.count() as f64 / (576.0 * 815.0);
    assert!((0.01..0.25).contains(&share), "{share}");
}

/// Not a benchmark: the times quoted in the report (`--nocapture` shows them). Median of 9 runs.
#[test]
fn times_for_one_a4_page() {
    fn median(mut runs: Vec<Duration>) -> Duration {
        runs.sort();
        runs[runs.len() / 2]
    }
    for (name, bytes) in [
        ("the A4 receipt", a4_receipt()),
        ("text and a rectangle", {
            let mut content = text(72.0, 700.0, 12.0, "Giay tiep nhan ho so");
            content.extend(rect(72.0, 72.0, 200.0, 200.0, 0.0));
            write(&[page(A4, content)])
        }),
    ] {
        let inspect_time = median(
            (0..9)
                .map(|_| {
                    let started = Instant::now();
                    assert_eq!(inspect(&bytes, 10).map(|info| info.pages), Ok(1));
                    started.elapsed()
                })
                .collect(),
        );
        let raster_time = median(
            (0..9)
                .map(|_| {
                    let started = Instant::now();
                    assert_eq!(rasterise_for_thermal(&bytes, DOTS_80MM, 10).map(|pages| pages.len()), Ok(1));
                    started.elapsed()
                })
                .collect(),
        );
        println!("{name} ({} bytes): inspect {inspect_time:?}, rasterise at 576 dots {raster_time:?}", bytes.len());
    }
}

// --- compressed-data bombs -----------------------------------------------------------------------

/// A content stream of `zeros` zero bytes, Flate-compressed `times` times (`/Filter` names
/// `/FlateDecode` that many times), as object 1000 of an otherwise good A4 document.
fn with_bomb(zeros: usize, times: usize) -> Vec<u8> {
    use miniz_oxide::deflate::compress_to_vec_zlib;
    let mut data = vec![0u8; zeros];
    for _ in 0..times {
        data = compress_to_vec_zlib(&data, 9);
    }
    write_with(&[page(A4, rect(0.0, 0.0, 10.0, 10.0, 0.0))], |pdf| {
        let mut stream = pdf.stream(Ref::new(1000), &data);
        stream.insert(Name(b"Filter")).array().items(std::iter::repeat_n(Name(b"FlateDecode"), times));
        stream.finish();
        String::new()
    })
}

#[test]
fn compressed_data_that_unpacks_past_the_limits_is_refused_before_parsing() {
    // 200 MB of zeros packed twice: a file of about 20 KB.
    let bomb = with_bomb(200 << 20, 2);
    assert!(bomb.len() < 30_000, "{} bytes", bomb.len());
    assert_eq!(inspect(&bomb, 10).err(), Some(PdfProblem::UnpacksTooLarge));
    assert_eq!(rasterise_for_thermal(&bomb, 576, 10).err(), Some(PdfProblem::UnpacksTooLarge));
    // The same stream a sensible size goes through.
    let fine = with_bomb(1 << 20, 2);
    assert_eq!(inspect(&fine, 10).map(|info| info.pages), Ok(1));
}
