//! Vietnamese text drawn into dots: every letter, stacked marks, NFC, wrapping, and the bytes a
//! printer gets drawn back by the simulator's interpreter.

use counter_agent_driver_escpos::text::{self, Align, Face, TextStyle};
use counter_agent_driver_escpos::{Bitmap, Encoder, EncoderOptions};
use counter_agent_driver_sim::escpos_preview::render_preview;

/// The 67 lowercase letters Vietnamese adds to ASCII: ă â đ ê ô ơ ư and the 12 vowels with each of
/// the 5 tone marks.
const LOWER: &str = "ăâđêôơư\
    áàảãạ ắằẳẵặ ấầẩẫậ éèẻẽẹ ếềểễệ íìỉĩị óòỏõọ ốồổỗộ ớờởỡợ úùủũụ ứừửữự ýỳỷỹỵ";

fn letters() -> Vec<char> {
    let lower: Vec<char> = LOWER.chars().filter(|c| !c.is_whitespace()).collect();
    let upper: Vec<char> = lower.iter().flat_map(|c| c.to_uppercase()).collect();
    lower.into_iter().chain(upper).collect()
}

fn ink(bitmap: &Bitmap) -> usize {
    (0..bitmap.height()).map(|y| bitmap.row(y).iter().map(|b| b.count_ones() as usize).sum::<usize>()).sum()
}

const STYLE: TextStyle = TextStyle { face: Face::Regular, size: 32.0, align: Align::Left };

#[test]
fn all_134_letters_have_glyphs_and_their_marks_are_drawn() {
    let letters = letters();
    assert_eq!(letters.len(), 134);
    let all: String = letters.iter().collect();
    assert_eq!(text::missing_glyphs(&all), Vec::<char>::new());
    let mut seen = std::collections::HashSet::new();
    for letter in letters {
        let base: String = unicode_base(letter).to_string();
        let with_marks = text::render(&letter.to_string(), STYLE, 64);
        let plain = text::render(&base, STYLE, 64);
        assert!(ink(&with_marks) > ink(&plain), "{letter}: marks add ink over {base}");
        assert!(seen.insert(format!("{with_marks:?}")), "{letter} is drawn like another letter");
    }
}

/// The ASCII letter a Vietnamese letter is built on.
fn unicode_base(letter: char) -> char {
    let table = [
        ("aăâáàảãạắằẳẵặấầẩẫậ", 'a'),
        ("dđ", 'd'),
        ("eêéèẻẽẹếềểễệ", 'e'),
        ("iíìỉĩị", 'i'),
        ("oôơóòỏõọốồổỗộớờởỡợ", 'o'),
        ("uưúùủũụứừửữự", 'u'),
        ("yýỳỷỹỵ", 'y'),
    ];
    let lower = letter.to_lowercase().next().unwrap_or(letter);
    let base = table.iter().find(|(set, _)| set.contains(lower)).map_or(lower, |(_, base)| *base);
    if letter.is_uppercase() {
        base.to_ascii_uppercase()
    } else {
        base
    }
}

/// First and last rows with ink.
fn ink_rows(bitmap: &Bitmap) -> (u32, u32) {
    let rows: Vec<u32> = (0..bitmap.height()).filter(|&y| !bitmap.row_is_white(y)).collect();
    (rows[0], rows[rows.len() - 1])
}

#[test]
fn stacked_marks_on_capitals_are_drawn_whole() {
    // Two marks above (circumflex + tone) and one below: all inside the line box, apart from the
    // letter, and the line box is the same for every line so lines do not collide.
    for size in [24.0, 32.0, 48.0, 120.0] {
        let style = TextStyle { size, ..STYLE };
        for (word, base, above, below) in
            [("Ệ", "E", true, true), ("Ẫ", "A", true, false), ("Ặ", "A", true, true), ("Ỗ", "O", true, false)]
        {
            let plain = text::render(base, style, 200);
            let (plain_top, plain_bottom) = ink_rows(&plain);
            let stacked = text::render(word, style, 200);
            assert_eq!(stacked.height(), plain.height(), "{word} at {size}: same line box");
            let (top, bottom) = ink_rows(&stacked);
            assert_eq!(top < plain_top, above, "{word} at {size}: marks above the capital");
            assert_eq!(bottom > plain_bottom, below, "{word} at {size}: dot below the baseline");
            // The highest mark keeps at least one white row over it: nothing is cut at the box edge.
            assert!(top > 0, "{word} at {size}: ink touches the top edge");
            assert!(bottom < stacked.height() - 1, "{word} at {size}: ink touches the bottom edge");
        }
    }
}

#[test]
fn decomposed_input_prints_like_precomposed() {
    let nfc = "Hẹn trả kết quả — tối, Việt";
    let nfd = "He\u{323}n tra\u{309} ke\u{302}\u{301}t qua\u{309} — to\u{302}\u{301}i, Vie\u{323}\u{302}t";
    assert_ne!(nfc, nfd);
    assert_eq!(text::render(nfc, STYLE, 576), text::render(nfd, STYLE, 576));
}

#[test]
fn long_text_wraps_within_the_width_and_centres() {
    let style = TextStyle::new(Face::Bold, 28.0, Align::Center);
    let text = "Giấy tiếp nhận hồ sơ và hẹn trả kết quả — Bộ phận tiếp nhận và trả kết quả phường";
    let one_line = text::render("Giấy", style, 384).height();
    let bitmap = text::render(text, style, 384);
    assert_eq!(bitmap.width(), 384);
    assert!(bitmap.height() >= 3 * one_line, "wrapped into several lines: {} rows", bitmap.height());
    // Centred: the ink of every line keeps a margin on both sides.
    let columns: Vec<bool> = (0..384).map(|x| (0..bitmap.height()).any(|y| bitmap.get(x, y))).collect();
    assert!(columns.iter().position(|&c| c).is_some_and(|left| left > 0));
    // A word wider than the line is broken rather than lost or overflowing.
    let long = text::render("Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", STYLE, 120);
    assert!(long.height() > one_line * 3);
}

#[test]
fn text_reaches_the_printer_as_exact_dots() {
    let options = EncoderOptions::new(576);
    let mut encoder = Encoder::new(options);
    let style = TextStyle::new(Face::Bold, 48.0, Align::Center);
    encoder.text("Hẹn trả kết quả", style).expect("fits");
    let bytes = encoder.finish();
    let expected = text::render("Hẹn trả kết quả", style, 576);
    let preview = render_preview(&bytes, 576).expect("drawn");
    for y in 0..expected.height() {
        for x in 0..576 {
            assert_eq!(preview.image.get_pixel(x, y).0[0] < 128, expected.get(x, y), "dot ({x}, {y})");
        }
    }
    assert_eq!(preview.n_replaced, 0, "no byte printed as a character");
}
