//! Frame normalisation, table-driven: each case is parameters + bytes in, a page or an error out.

use super::*;

fn params(format: i32, depth: i32, ppl: i32, bpl: i32, lines: i32, last: bool) -> FrameParams {
    FrameParams { format, last_frame: last, bytes_per_line: bpl, pixels_per_line: ppl, lines, depth }
}

fn one(params: FrameParams, data: &[u8]) -> Result<RawPage, FrameError> {
    let mut assembler = PageAssembler::new(300, PageSide::Front);
    assembler.add_frame(&params, data.to_vec()).map(|page| page.expect("a last frame makes a page"))
}

struct Case {
    name: &'static str,
    params: FrameParams,
    data: Vec<u8>,
    /// width, height, format, stride, data
    want: Result<(u32, u32, PixelFormat, usize, Vec<u8>), FrameError>,
}

fn ne16(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

#[test]
fn single_frames_normalise_as_specified() {
    let cases = vec![
        Case {
            name: "8-bit gray, no padding: unchanged",
            params: params(FRAME_GRAY, 8, 3, 3, 2, true),
            data: vec![1, 2, 3, 4, 5, 6],
            want: Ok((3, 2, PixelFormat::Gray8, 3, vec![1, 2, 3, 4, 5, 6])),
        },
        Case {
            name: "8-bit gray with ppl-loss padding: padding dropped",
            params: params(FRAME_GRAY, 8, 2, 4, 2, true),
            data: vec![1, 2, 0xEE, 0xEE, 3, 4, 0xEE, 0xEE],
            want: Ok((2, 2, PixelFormat::Gray8, 2, vec![1, 2, 3, 4])),
        },
        Case {
            name: "1-bit lineart keeps 1 = black, MSB first; padding bytes dropped",
            params: params(FRAME_GRAY, 1, 10, 3, 2, true),
            data: vec![0b1000_0000, 0b0100_0000, 0xFF, 0xFF, 0b1100_0000, 0xFF],
            want: Ok((10, 2, PixelFormat::Bw1, 2, vec![0b1000_0000, 0b0100_0000, 0xFF, 0b1100_0000])),
        },
        Case {
            name: "16-bit gray in host order becomes its high byte",
            params: params(FRAME_GRAY, 16, 2, 4, 1, true),
            data: ne16(&[0x12FF, 0xAB00]),
            want: Ok((2, 1, PixelFormat::Gray8, 2, vec![0x12, 0xAB])),
        },
        Case {
            name: "16-bit RGB with padding",
            params: params(FRAME_RGB, 16, 1, 8, 2, true),
            data: [ne16(&[0x0100, 0x0200, 0x0300]), vec![9, 9], ne16(&[0xFF00, 0x8000, 0x0000]), vec![9, 9]].concat(),
            want: Ok((1, 2, PixelFormat::Rgb8, 3, vec![1, 2, 3, 0xFF, 0x80, 0])),
        },
        Case {
            name: "hand scanner (lines = -1): height from the bytes",
            params: params(FRAME_GRAY, 8, 2, 2, -1, true),
            data: vec![1, 2, 3, 4, 5, 6],
            want: Ok((2, 3, PixelFormat::Gray8, 2, vec![1, 2, 3, 4, 5, 6])),
        },
        Case {
            name: "hand scanner ending mid-line",
            params: params(FRAME_GRAY, 8, 2, 2, -1, true),
            data: vec![1, 2, 3],
            want: Err(FrameError::Length { got: 3, expected: 4 }),
        },
        Case {
            name: "hand scanner with no line",
            params: params(FRAME_GRAY, 8, 2, 2, -1, true),
            data: vec![],
            want: Err(FrameError::Empty),
        },
        Case {
            name: "short frame",
            params: params(FRAME_GRAY, 8, 2, 2, 3, true),
            data: vec![1, 2, 3, 4],
            want: Err(FrameError::Length { got: 4, expected: 6 }),
        },
        Case {
            name: "more bytes than announced",
            params: params(FRAME_GRAY, 8, 2, 2, 1, true),
            data: vec![1, 2, 3],
            want: Err(FrameError::Length { got: 3, expected: 2 }),
        },
        Case {
            name: "a line shorter than its pixels",
            params: params(FRAME_RGB, 8, 4, 11, 1, true),
            data: vec![0; 11],
            want: Err(FrameError::BadParameters("4 pixels of 8 bits need 12 bytes, not 11".into())),
        },
        Case {
            name: "negative lines other than -1",
            params: params(FRAME_GRAY, 8, 1, 1, -7, true),
            data: vec![0],
            want: Err(FrameError::BadParameters("-7 lines".into())),
        },
        Case {
            name: "zero width",
            params: params(FRAME_GRAY, 8, 0, 1, 1, true),
            data: vec![0],
            want: Err(FrameError::BadParameters("0 pixels and 1 bytes per line".into())),
        },
        Case {
            name: "unknown depth",
            params: params(FRAME_GRAY, 12, 1, 2, 1, true),
            data: vec![0, 0],
            want: Err(FrameError::Unsupported("12-bit samples".into())),
        },
        Case {
            name: "unknown frame type (open integer, e.g. SANE_FRAME_JPEG 0x0B)",
            params: params(0x0B, 8, 1, 1, 1, true),
            data: vec![0],
            want: Err(FrameError::Unsupported("SANE frame type 11".into())),
        },
        Case {
            name: "1-bit colour",
            params: params(FRAME_RGB, 1, 8, 3, 1, true),
            data: vec![0; 3],
            want: Err(FrameError::Unsupported("1-bit colour; choose the Lineart or Gray mode".into())),
        },
    ];
    for case in cases {
        let got =
            one(case.params, &case.data).map(|page| (page.width, page.height, page.format, page.stride, page.data));
        assert_eq!(got, case.want, "{}", case.name);
    }
}

#[test]
fn three_pass_frames_merge_in_every_order() {
    let plane = |format: i32, base: u8| {
        (params(format, 8, 2, 3, 2, false), vec![base, base + 1, 0xEE, base + 2, base + 3, 0xEE])
    };
    let red = plane(FRAME_RED, 10);
    let green = plane(FRAME_GREEN, 20);
    let blue = plane(FRAME_BLUE, 30);
    let want = vec![10, 20, 30, 11, 21, 31, 12, 22, 32, 13, 23, 33];
    let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for order in orders {
        let frames = [&red, &green, &blue];
        let mut assembler = PageAssembler::new(150, PageSide::Back);
        let mut page = None;
        for (i, slot) in order.iter().enumerate() {
            let (mut p, data) = frames[*slot].clone();
            p.last_frame = i == 2;
            page = assembler.add_frame(&p, data).expect("frames fit");
            assert_eq!(page.is_some(), i == 2, "{order:?}: a page only after the last frame");
        }
        let page = page.expect("a page");
        assert_eq!((page.width, page.height, page.format, page.stride), (2, 2, PixelFormat::Rgb8, 6), "{order:?}");
        assert_eq!((page.dpi, page.side), (150, PageSide::Back));
        assert_eq!(page.data, want, "{order:?}");
    }
}

#[test]
fn broken_three_pass_sequences_are_errors() {
    let p = |format: i32, lines: i32, last: bool| params(format, 8, 1, 1, lines, last);
    let mut twice = PageAssembler::new(1, PageSide::Front);
    twice.add_frame(&p(FRAME_RED, 1, false), vec![1]).expect("red");
    assert!(matches!(twice.add_frame(&p(FRAME_RED, 1, false), vec![1]), Err(FrameError::ThreePass(_))));

    let mut missing = PageAssembler::new(1, PageSide::Front);
    missing.add_frame(&p(FRAME_RED, 1, false), vec![1]).expect("red");
    assert!(matches!(missing.add_frame(&p(FRAME_BLUE, 1, true), vec![1]), Err(FrameError::ThreePass(_))));

    let mut sizes = PageAssembler::new(1, PageSide::Front);
    sizes.add_frame(&p(FRAME_RED, 1, false), vec![1]).expect("red");
    sizes.add_frame(&p(FRAME_GREEN, 2, false), vec![1, 2]).expect("green");
    let error = sizes.add_frame(&p(FRAME_BLUE, 1, true), vec![1]).expect_err("sizes differ");
    assert_eq!(
        error.to_string(),
        "three-pass colour frames do not fit together: sizes differ: red 1×1, green 1×2, blue 1×1"
    );

    // 16-bit three-pass (scanimage aborts on it) merges like 8-bit.
    let mut deep = PageAssembler::new(1, PageSide::Front);
    for (format, value, last) in
        [(FRAME_BLUE, 0x3000u16, false), (FRAME_RED, 0x1000, false), (FRAME_GREEN, 0x2000, true)]
    {
        let page = deep.add_frame(&params(format, 16, 1, 2, 1, last), ne16(&[value])).expect("fits");
        if last {
            assert_eq!(page.expect("page").data, [0x10, 0x20, 0x30]);
        }
    }
}

#[test]
fn expected_bytes_only_when_the_height_is_known() {
    assert_eq!(params(FRAME_GRAY, 8, 10, 12, 5, true).expected_bytes(), Some(60));
    assert_eq!(params(FRAME_GRAY, 8, 10, 12, -1, true).expected_bytes(), None);
    assert_eq!(params(FRAME_GRAY, 8, 10, -12, 5, true).expected_bytes(), None);
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(
        FrameError::Length { got: 4, expected: 6 }.to_string(),
        "short frame: 4 of 6 bytes arrived — the page is incomplete"
    );
    assert_eq!(FrameError::Empty.to_string(), "the scanner ended the page before one complete line");
}
