//! Data-driven checks of the ESC/POS preview: one `check(bytes, expected)` helper and many small
//! cases, plus exact raster decoding and a garbage-input run that must never panic.

use std::ops::RangeInclusive;

use super::paper::CUT_GAP;
use super::*;

const WIDTH: u32 = 576;

/// The facts a case pins down; `None` means "not checked".
#[derive(Debug, Default)]
struct Expected {
    height: Option<u32>,
    /// `Some(None)`: no ink at all. `Some(Some((x, y)))`: the ink's bounding box spans these.
    ink: Option<Option<(RangeInclusive<u32>, RangeInclusive<u32>)>>,
    n_cuts: usize,
    n_replaced: usize,
    n_qr_codes: usize,
    code_table: u8,
}

/// Bounding box of black dots: ((left, right), (top, bottom)), inclusive.
fn ink_bounds(image: &GrayImage) -> Option<((u32, u32), (u32, u32))> {
    let mut bounds: Option<((u32, u32), (u32, u32))> = None;
    for (x, y, pixel) in image.enumerate_pixels() {
        if pixel.0[0] == 0 {
            let ((l, r), (t, b)) = bounds.unwrap_or(((x, x), (y, y)));
            bounds = Some(((l.min(x), r.max(x)), (t.min(y), b.max(y))));
        }
    }
    bounds
}

fn check(name: &str, bytes: &[u8], expected: Expected) {
    let preview = render_preview(bytes, WIDTH).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(preview.image.width(), WIDTH, "{name}");
    assert!(preview.image.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255), "{name}: dots are black or white");
    if let Some(height) = expected.height {
        assert_eq!(preview.image.height(), height, "{name}: height");
    }
    match (&expected.ink, ink_bounds(&preview.image)) {
        (None, _) | (Some(None), None) => {}
        (Some(None), Some(found)) => panic!("{name}: expected no ink, found {found:?}"),
        (Some(Some(_)), None) => panic!("{name}: expected ink, found none"),
        (Some(Some((xs, ys))), Some(((left, right), (top, bottom)))) => {
            assert!(xs.contains(&left) && xs.contains(&right), "{name}: ink x {left}..={right} not within {xs:?}");
            assert!(ys.contains(&top) && ys.contains(&bottom), "{name}: ink y {top}..={bottom} not within {ys:?}");
        }
    }
    let counts = (preview.n_cuts, preview.n_replaced, preview.n_qr_codes, preview.code_table);
    let wanted = (expected.n_cuts, expected.n_replaced, expected.n_qr_codes, expected.code_table);
    assert_eq!(counts, wanted, "{name}: (cuts, replaced, qr codes, code table)");
}

fn ink(xs: RangeInclusive<u32>, ys: RangeInclusive<u32>) -> Option<Option<(RangeInclusive<u32>, RangeInclusive<u32>)>> {
    Some(Some((xs, ys)))
}

fn check_err(name: &str, bytes: &[u8], expected: PreviewError) {
    match render_preview(bytes, WIDTH) {
        Err(error) => assert_eq!(error, expected, "{name}"),
        Ok(_) => panic!("{name}: expected {expected:?}, it rendered"),
    }
}

#[test]
fn text_layout_and_modes() {
    check("empty", b"", Expected { height: Some(1), ink: Some(None), ..Expected::default() });
    check("one letter", b"A\n", Expected { height: Some(30), ink: ink(0..=11, 0..=23), ..Expected::default() });
    check("CR is ignored", b"A\r\n", Expected { height: Some(30), ink: ink(0..=11, 0..=23), ..Expected::default() });
    check(
        "text without LF still shows",
        b"A",
        Expected { height: Some(24), ink: ink(0..=11, 0..=23), ..Expected::default() },
    );
    check("centred", b"\x1ba\x01AB\n", Expected { ink: ink(276..=299, 0..=23), ..Expected::default() });
    check("centred, ASCII digit form", b"\x1ba1AB\n", Expected { ink: ink(276..=299, 0..=23), ..Expected::default() });
    check("right", b"\x1ba\x02AB\n", Expected { ink: ink(552..=575, 0..=23), ..Expected::default() });
    check(
        "justification out of range is ignored",
        b"\x1ba\x07A\n",
        Expected { ink: ink(0..=11, 0..=23), ..Expected::default() },
    );
    check(
        "double size",
        b"\x1d!\x11A\n",
        Expected { height: Some(48), ink: ink(0..=23, 0..=47), ..Expected::default() },
    );
    check("×8 size", b"\x1d!\x77A\n", Expected { height: Some(192), ink: ink(0..=95, 0..=191), ..Expected::default() });
    check(
        "ESC ! double height and width",
        b"\x1b!\x30A\n",
        Expected { height: Some(48), ink: ink(0..=23, 0..=47), ..Expected::default() },
    );
    check(
        "mixed sizes share a baseline",
        b"a\x1d!\x11A\n",
        Expected { height: Some(48), ink: ink(0..=35, 0..=47), ..Expected::default() },
    );
    check("underline spans the cell", b"\x1b-\x01 \n", Expected { ink: ink(0..=11, 23..=23), ..Expected::default() });
    check("tab to column 8", b"\tA\n", Expected { ink: ink(96..=107, 0..=23), ..Expected::default() });
    check(
        "49 letters wrap onto a second line",
        &[&[b'W'; 49][..], b"\n"].concat(),
        Expected { height: Some(60), ink: ink(0..=575, 0..=53), ..Expected::default() },
    );
    check(
        "ESC @ drops pending text",
        b"ABC\x1b@\n",
        Expected { height: Some(30), ink: Some(None), ..Expected::default() },
    );
}

#[test]
fn feeds_and_line_spacing() {
    check("ESC d 5", b"\x1bd\x05", Expected { height: Some(150), ink: Some(None), ..Expected::default() });
    check("text then ESC d 2", b"A\x1bd\x02", Expected { height: Some(84), ..Expected::default() });
    check("ESC J 40", b"\x1bJ\x28", Expected { height: Some(40), ..Expected::default() });
    check("ESC 3 20 then two LF", b"\x1b3\x14\n\n", Expected { height: Some(40), ..Expected::default() });
    check("ESC 2 restores 30", b"\x1b3\x14\x1b2\n", Expected { height: Some(30), ..Expected::default() });
    check("form feed acts as LF", b"A\x0c", Expected { height: Some(30), ..Expected::default() });
}

#[test]
fn cuts_codes_and_replacement_boxes() {
    let cut = Expected { height: Some(CUT_GAP), n_cuts: 1, ink: ink(0..=575, 8..=9), ..Expected::default() };
    check("GS V 0", b"\x1dV\x00", cut);
    check("GS V 49 (ASCII)", b"\x1dV1", Expected { n_cuts: 1, ..Expected::default() });
    check(
        "GS V 66 feeds first",
        b"\x1dVB\x64",
        Expected { height: Some(100 + CUT_GAP), n_cuts: 1, ..Expected::default() },
    );
    check("ESC i and ESC m", b"\x1bi\x1bm", Expected { n_cuts: 2, ..Expected::default() });
    check("ESC t is remembered", b"\x1bt\x1e", Expected { code_table: 30, ..Expected::default() });
    check("ESC @ resets the code table", b"\x1bt\x1e\x1b@", Expected { code_table: 0, ..Expected::default() });
    check(
        "bytes outside ASCII print boxes",
        b"\x1bt\x34\xe1\xff\x7f\n",
        Expected { n_replaced: 3, code_table: 52, ink: ink(2..=33, 4..=19), ..Expected::default() },
    );
}

#[test]
fn qr_codes_print_a_placeholder_of_the_right_size() {
    // Store "hello" (pL = 3 + 5) then print: version 1, 21 modules × 3 dots.
    let store: &[u8] = b"\x1d(k\x08\x001P0hello";
    let print: &[u8] = b"\x1d(k\x03\x001Q0";
    let size_6: &[u8] = b"\x1d(k\x03\x001C\x06";
    let both = [store, print].concat();
    check(
        "QR default module",
        &both,
        Expected { height: Some(63), n_qr_codes: 1, ink: ink(0..=62, 0..=62), ..Expected::default() },
    );
    check(
        "QR module 6, centred",
        &[b"\x1ba\x01", size_6, store, print].concat(),
        Expected { height: Some(126), n_qr_codes: 1, ink: ink(225..=350, 0..=125), ..Expected::default() },
    );
    check(
        "QR print without data prints nothing",
        print,
        Expected { height: Some(1), ink: Some(None), ..Expected::default() },
    );
    check("PDF417 is accepted, not drawn", b"\x1d(k\x03\x000Q0", Expected { ink: Some(None), ..Expected::default() });
    check("model selection", b"\x1d(k\x04\x001A2\x00", Expected { ink: Some(None), ..Expected::default() });

    let preview = render_preview(&both, WIDTH).expect("renders");
    let dark_in_centre =
        (25..38).flat_map(|y| (20..43).map(move |x| (x, y))).any(|(x, y)| preview.image.get_pixel(x, y).0[0] == 0);
    assert!(dark_in_centre, "the placeholder is labelled");
}

#[test]
fn known_commands_are_skipped_safely() {
    let skipped: &[(&str, &[u8])] = &[
        ("ESC M", b"\x1bM\x01"),
        ("ESC R", b"\x1bR\x00"),
        ("ESC c 5", b"\x1bc5\x00"),
        ("ESC p drawer", b"\x1bp\x00\x19\xfa"),
        ("ESC D tabs", b"\x1bD\x08\x10\x00"),
        ("ESC * 24-dot", b"\x1b*\x21\x02\x00\xff\xff\xff\xff\xff\xff"),
        ("ESC ( A", b"\x1b(A\x02\x00\x01\x02"),
        ("GS L", b"\x1dL\x00\x00"),
        ("GS k nul-terminated", b"\x1dk\x04123\x00"),
        ("GS k counted", b"\x1dkI\x03123"),
        ("GS 8 L", b"\x1d8L\x02\x00\x00\x000p"),
        ("GS ( L", b"\x1d(L\x02\x000p"),
        ("GS * downloaded image", b"\x1d*\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff"),
        ("GS a status back", b"\x1da\xff"),
        ("FS .", b"\x1c."),
        ("FS p", b"\x1cp\x01\x00"),
        ("DLE EOT", b"\x10\x04\x01"),
        ("DLE DC4 pulse", b"\x10\x14\x01\x00\x01"),
        ("NUL and BEL", b"\x00\x07"),
    ];
    for (name, bytes) in skipped {
        let input = [*bytes, b"A\n"].concat();
        check(name, &input, Expected { height: Some(30), ink: ink(0..=11, 0..=23), ..Expected::default() });
    }
}

#[test]
fn malformed_input_is_an_error() {
    check_err(
        "raster header cut short",
        b"\x1dv0\x00\x01",
        PreviewError::Truncated { offset: 0, command: "GS v 0", needed: 6, available: 3 },
    );
    check_err(
        "raster data cut short",
        b"AB\n\x1dv0\x00\x02\x00\x03\x00\xff\xff\xff",
        PreviewError::Truncated { offset: 3, command: "GS v 0", needed: 6, available: 3 },
    );
    check_err(
        "raster mode",
        b"\x1dv0\x07\x01\x00\x01\x00\xff",
        PreviewError::BadParameter { offset: 0, command: "GS v 0", value: 7 },
    );
    check_err(
        "GS v 1",
        b"\x1dv1\x00\x01\x00\x01\x00\xff",
        PreviewError::BadParameter { offset: 0, command: "GS v", value: b'1' },
    );
    check_err("unknown ESC", b"A\x1bZ", PreviewError::UnknownCommand { offset: 1, bytes: vec![0x1b, b'Z'] });
    check_err("unknown GS", b"\x1dy", PreviewError::UnknownCommand { offset: 0, bytes: vec![0x1d, b'y'] });
    check_err(
        "ESC at the end",
        b"\x1b",
        PreviewError::Truncated { offset: 0, command: "ESC", needed: 1, available: 0 },
    );
    check_err(
        "ESC * mode",
        b"\x1b*\x05\x01\x00\x00",
        PreviewError::BadParameter { offset: 0, command: "ESC *", value: 5 },
    );
    check_err("GS V mode", b"\x1dV\x09", PreviewError::BadParameter { offset: 0, command: "GS V", value: 9 });
    check_err(
        "QR store cut short",
        b"\x1d(k\x08\x001P0he",
        PreviewError::Truncated { offset: 0, command: "GS (", needed: 8, available: 5 },
    );
    check_err(
        "GS k without NUL",
        b"\x1dk\x04123",
        PreviewError::Truncated { offset: 0, command: "GS k", needed: 4, available: 3 },
    );
    let runaway = b"\x1bd\xff".repeat(5);
    check_err("runaway feeds", &runaway, PreviewError::TooLong { max_rows: MAX_ROWS });
    assert_eq!(render_preview(b"A", 10).err(), Some(PreviewError::BadWidth { width: 10 }));
    assert_eq!(render_preview(b"A", 100_000).err(), Some(PreviewError::BadWidth { width: 100_000 }));
    let message = PreviewError::UnknownCommand { offset: 7, bytes: vec![0x1b, 0x5a] }.to_string();
    assert_eq!(message, "unknown command 1B 5A at byte 7: cannot tell how long it is");
}

/// A tiny deterministic generator (LCG) for test data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u8 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u8
    }
}

#[test]
fn raster_images_decode_to_exactly_the_same_pixels() {
    let mut lcg = Lcg(42);
    let (bytes_per_row, rows) = (5usize, 37usize);
    let data: Vec<u8> = (0..bytes_per_row * rows).map(|_| lcg.next()).collect();
    for (mode, (sx, sy)) in [(0u8, (1u32, 1u32)), (1, (2, 1)), (2, (1, 2)), (51, (2, 2))] {
        let mut bytes = b"\x1b@\x1dv0".to_vec();
        bytes.extend([mode, bytes_per_row as u8, 0, rows as u8, 0]);
        bytes.extend(&data);
        let preview = render_preview(&bytes, WIDTH).expect("renders");
        assert_eq!(preview.image.height(), rows as u32 * sy, "mode {mode}");
        for y in 0..preview.image.height() {
            for x in 0..WIDTH {
                let (column, row) = ((x / sx) as usize, (y / sy) as usize);
                let inside = column < bytes_per_row * 8;
                let black = inside && data[row * bytes_per_row + column / 8] & (0x80 >> (column % 8)) != 0;
                let expected = if black { 0 } else { 255 };
                assert_eq!(preview.image.get_pixel(x, y).0[0], expected, "mode {mode}, dot ({x}, {y})");
            }
        }
    }
}

#[test]
fn raster_images_follow_justification_and_are_clipped_to_the_paper() {
    // 2 bytes (16 dots) of black, right-justified on 576 dots.
    check(
        "right-justified image",
        b"\x1ba\x02\x1dv0\x00\x02\x00\x01\x00\xff\xff",
        Expected { height: Some(1), ink: ink(560..=575, 0..=0), ..Expected::default() },
    );
    let wide = [&b"\x1dv0\x00\x50\x00\x01\x00"[..], &[0xff; 80]].concat();
    check(
        "640-dot image on 576 dots",
        &wide,
        Expected { height: Some(1), ink: ink(0..=575, 0..=0), ..Expected::default() },
    );
    check(
        "empty image",
        b"\x1dv0\x00\x00\x00\x00\x00",
        Expected { height: Some(1), ink: Some(None), ..Expected::default() },
    );
}

#[test]
fn garbage_never_panics() {
    // Plain noise, noise biased towards command bytes and small parameters, and a real receipt
    // with bytes flipped: every run ends in Ok or Err.
    let receipt: &[u8] = b"\x1b@\x1ba\x01\x1dE\x01SO\n\x1d!\x33042\n\x1d(k\x08\x001P0hello\x1d(k\x03\x001Q0\x1dv0\x00\x02\x00\x02\x00\xf0\x0f\xaa\x55\x1bd\x03\x1dVA\x03";
    let mut lcg = Lcg(7);
    let (mut n_ok, mut n_err) = (0, 0);
    for run in 0..300 {
        let length = 1 + usize::from(lcg.next()) * 16;
        let bytes: Vec<u8> = match run % 3 {
            0 => (0..length).map(|_| lcg.next()).collect(),
            1 => (0..length)
                .map(|_| match lcg.next() % 8 {
                    0 => ESC,
                    1 => GS,
                    2 => [b'!', b'v', b'(', b'V', b'a', b'd', b'k', b'0'][usize::from(lcg.next() % 8)],
                    3 => b'\n',
                    4 | 5 => lcg.next() % 4,
                    _ => lcg.next(),
                })
                .collect(),
            _ => {
                let mut mutated = receipt.to_vec();
                for _ in 0..1 + lcg.next() % 4 {
                    let at = usize::from(lcg.next()) % mutated.len();
                    mutated[at] = lcg.next();
                }
                mutated
            }
        };
        for width in [384, 576] {
            match render_preview(&bytes, width) {
                Ok(preview) => {
                    assert_eq!(preview.image.width(), width);
                    assert!(preview.image.height() >= 1 && preview.image.height() <= MAX_ROWS);
                    n_ok += 1;
                }
                Err(_) => n_err += 1,
            }
        }
    }
    assert!(n_ok > 0 && n_err > 0, "both outcomes exercised: {n_ok} ok, {n_err} errors");
}
