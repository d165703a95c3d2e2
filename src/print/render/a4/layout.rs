//! A small flow layout for A4 forms: text wrapped inside its column with the font's advances, rules,
//! filled rectangles, and a cursor that moves to a new page instead of overprinting the bottom margin.
//! Coordinates are PDF points from the page's bottom-left corner.

use super::font::{text_width, Weight};

/// A4 in points.
pub(super) const PAGE_WIDTH: f32 = 595.28;
pub(super) const PAGE_HEIGHT: f32 = 841.89;

/// One millimetre in points.
pub(super) const MM: f32 = 72.0 / 25.4;

/// Line height as a multiple of the font size.
const LEADING: f32 = 1.36;

/// What a page shows, in drawing order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Op {
    /// Text whose baseline starts at (`x`, `y`).
    Text { x: f32, y: f32, size: f32, weight: Weight, text: String },
    /// A stroked straight line.
    Line { x1: f32, y1: f32, x2: f32, y2: f32, width: f32 },
    /// A filled black rectangle with its bottom-left corner at (`x`, `y`).
    Fill { x: f32, y: f32, width: f32, height: f32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Center,
    Right,
}

/// A run of text in one weight.
#[derive(Debug, Clone)]
pub(super) struct Span {
    pub(super) text: String,
    pub(super) weight: Weight,
}

pub(super) fn regular(text: impl Into<String>) -> Span {
    Span { text: text.into(), weight: Weight::Regular }
}

pub(super) fn bold(text: impl Into<String>) -> Span {
    Span { text: text.into(), weight: Weight::Bold }
}

/// One wrapped line: pieces of text in their weights (spaces included) and its total width.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Line {
    pub(super) pieces: Vec<(Weight, String)>,
    pub(super) width: f32,
}

impl Line {
    fn push(&mut self, weight: Weight, text: &str, size: f32) {
        self.width += text_width(weight, text, size);
        match self.pieces.last_mut() {
            Some((last, piece)) if *last == weight => piece.push_str(text),
            _ => self.pieces.push((weight, text.to_owned())),
        }
    }
}

/// A word: the pieces between two spaces (a word may change weight in its middle).
type Word = Vec<(Weight, String)>;

fn words(spans: &[Span]) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    let mut current: Word = Vec::new();
    for span in spans {
        for (i, part) in span.text.split(' ').enumerate() {
            if i > 0 && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if !part.is_empty() {
                current.push((span.weight, part.to_owned()));
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn word_width(word: &Word, size: f32) -> f32 {
    word.iter().map(|(weight, text)| text_width(*weight, text, size)).sum()
}

/// Wraps `spans` into lines no wider than `width` at `size` points. Lines break at spaces; a word wider
/// than the whole line is cut between characters, so nothing runs past the column.
pub(super) fn wrap(spans: &[Span], size: f32, width: f32) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut line = Line::default();
    for word in words(spans) {
        // A space between two weights is set in the weight before it.
        let space_weight = line.pieces.last().map_or(Weight::Regular, |(weight, _)| *weight);
        let space = if line.pieces.is_empty() { 0.0 } else { text_width(space_weight, " ", size) };
        let needed = word_width(&word, size);
        if !line.pieces.is_empty() && line.width + space + needed > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.pieces.is_empty() {
            line.push(space_weight, " ", size);
        }
        for (weight, text) in &word {
            for c in text.chars() {
                let mut buffer = [0u8; 4];
                let c = c.encode_utf8(&mut buffer);
                let c_width = text_width(*weight, c, size);
                if line.width + c_width > width && !line.pieces.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                line.push(*weight, c, size);
            }
        }
    }
    if !line.pieces.is_empty() {
        lines.push(line);
    }
    lines
}

/// Like [`wrap`], with the lines made as even as the same number of lines allows (a centred heading
/// reads "BỘ PHẬN TIẾP NHẬN / VÀ TRẢ KẾT QUẢ" rather than leaving one word alone on its last line).
pub(super) fn wrap_balanced(spans: &[Span], size: f32, width: f32) -> Vec<Line> {
    let greedy = wrap(spans, size, width);
    if greedy.len() < 2 {
        return greedy;
    }
    // The narrowest width that still gives as many lines, to within a tenth of a point.
    let (mut narrow, mut wide) = (width / greedy.len() as f32, width);
    while wide - narrow > 0.1 {
        let middle = (narrow + wide) / 2.0;
        if wrap(spans, size, middle).len() <= greedy.len() {
            wide = middle;
        } else {
            narrow = middle;
        }
    }
    wrap(spans, size, wide)
}

pub(super) fn line_height(size: f32) -> f32 {
    size * LEADING
}

/// The pages drawn so far and the cursor: the baseline area left on the current page runs from `y`
/// (top of the free space) down to the bottom margin.
#[derive(Debug)]
pub(super) struct Flow {
    pub(super) pages: Vec<Vec<Op>>,
    pub(super) y: f32,
    pub(super) left: f32,
    pub(super) right: f32,
    pub(super) top: f32,
    pub(super) bottom: f32,
}

impl Flow {
    /// One empty page with the given margins in points.
    pub(super) fn new(left: f32, right: f32, top: f32, bottom: f32) -> Flow {
        Flow {
            pages: vec![Vec::new()],
            y: PAGE_HEIGHT - top,
            left,
            right: PAGE_WIDTH - right,
            top: PAGE_HEIGHT - top,
            bottom,
        }
    }

    pub(super) fn width(&self) -> f32 {
        self.right - self.left
    }

    /// Space left above the bottom margin.
    pub(super) fn room(&self) -> f32 {
        self.y - self.bottom
    }

    pub(super) fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.top;
    }

    /// Starts a new page unless `height` still fits on this one. True when it started one.
    pub(super) fn ensure(&mut self, height: f32) -> bool {
        if self.room() < height && self.y < self.top {
            self.new_page();
            return true;
        }
        false
    }

    pub(super) fn gap(&mut self, height: f32) {
        self.y -= height;
    }

    pub(super) fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    /// Draws `line` with its top at `top`, aligned inside [`x`, `x + width`].
    pub(super) fn draw_line(&mut self, line: &Line, size: f32, top: f32, x: f32, width: f32, align: Align) {
        let baseline = top - size * 0.95;
        let mut pen = match align {
            Align::Left => x,
            Align::Center => x + (width - line.width) / 2.0,
            Align::Right => x + width - line.width,
        };
        for (weight, text) in &line.pieces {
            self.push(Op::Text { x: pen, y: baseline, size, weight: *weight, text: text.clone() });
            pen += text_width(*weight, text, size);
        }
    }

    /// A wrapped paragraph across the column [`x`, `x + width`], one line at a time so a long one
    /// continues on the next page.
    pub(super) fn paragraph_in(&mut self, spans: &[Span], size: f32, x: f32, width: f32, align: Align) {
        for line in wrap(spans, size, width) {
            self.ensure(line_height(size));
            self.draw_line(&line, size, self.y, x, width, align);
            self.y -= line_height(size);
        }
    }

    /// A wrapped paragraph across the full text width.
    pub(super) fn paragraph(&mut self, spans: &[Span], size: f32, align: Align) {
        self.paragraph_in(spans, size, self.left, self.width(), align);
    }

    pub(super) fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32) {
        self.push(Op::Line { x1, y1: y, x2, y2: y, width });
    }

    pub(super) fn fill(&mut self, x: f32, y: f32, width: f32, height: f32) {
        self.push(Op::Fill { x, y, width, height });
    }
}

/// Space a rule under a line takes, the rule in its middle.
const RULE_GAP: f32 = 4.0;

/// A column of centred lines, as in a form's header: its lines and their total height.
#[derive(Debug, Default)]
pub(super) struct Block {
    lines: Vec<(Line, f32)>,
    /// Rules under a line: (index of the line, rule width).
    rules: Vec<(usize, f32)>,
    gaps: Vec<(usize, f32)>,
}

impl Block {
    pub(super) fn text(&mut self, spans: &[Span], size: f32, width: f32) {
        for line in wrap_balanced(spans, size, width) {
            self.lines.push((line, size));
        }
    }

    /// A short rule under the last line, `fraction` of that line's width.
    pub(super) fn rule_under(&mut self, fraction: f32) {
        if let Some((line, _)) = self.lines.last() {
            self.rules.push((self.lines.len() - 1, line.width * fraction));
        }
    }

    /// Extra space after the last line.
    pub(super) fn gap(&mut self, height: f32) {
        if !self.lines.is_empty() {
            self.gaps.push((self.lines.len() - 1, height));
        }
    }

    pub(super) fn height(&self) -> f32 {
        self.lines.iter().map(|(_, size)| line_height(*size)).sum::<f32>()
            + self.gaps.iter().map(|(_, gap)| gap).sum::<f32>()
            + self.rules.len() as f32 * RULE_GAP
    }

    /// Draws the block centred in [`x`, `x + width`] from `top` down.
    pub(super) fn draw(&self, flow: &mut Flow, top: f32, x: f32, width: f32) {
        let mut y = top;
        for (i, (line, size)) in self.lines.iter().enumerate() {
            flow.draw_line(line, *size, y, x, width, Align::Center);
            y -= line_height(*size);
            for (_, rule_width) in self.rules.iter().filter(|(index, _)| *index == i) {
                let middle = x + width / 2.0;
                flow.rule(middle - rule_width / 2.0, middle + rule_width / 2.0, y - RULE_GAP / 2.0, 0.6);
                y -= RULE_GAP;
            }
            for (_, gap) in self.gaps.iter().filter(|(index, _)| *index == i) {
                y -= gap;
            }
        }
    }
}
