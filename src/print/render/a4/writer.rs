//! Writes laid-out A4 pages as a PDF with `pdf-writer`: one deflated content stream per page, the
//! fonts embedded once as subsets shared by every page.

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::font::{self, UsedChars, Weight};
use super::layout::{Op, PAGE_HEIGHT, PAGE_WIDTH};

/// The producer written to the document information.
const PRODUCER: &str = concat!("counter-agent ", env!("CARGO_PKG_VERSION"));

const REGULAR_NAME: Name<'static> = Name(b"F1");
const BOLD_NAME: Name<'static> = Name(b"F2");

/// The whole PDF for `pages`, titled `title`, language Vietnamese.
pub(super) fn write(pages: &[Vec<Op>], title: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let info_id = Ref::new(3);
    let mut next = 4;
    let mut alloc = move || {
        let id = Ref::new(next);
        next += 1;
        id
    };

    // Content first: encoding the text decides which characters each font subset holds.
    let mut regular = UsedChars::default();
    let mut bold = UsedChars::default();
    let contents: Vec<Vec<u8>> = pages.iter().map(|ops| content(ops, &mut regular, &mut bold)).collect();

    let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();
    pdf.catalog(catalog_id).pages(tree_id).lang(TextStr("vi"));
    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    pdf.document_info(info_id).title(TextStr(title)).producer(TextStr(PRODUCER));

    let regular_id = (!regular.is_empty()).then(|| font::embed(&mut pdf, &mut alloc, Weight::Regular, &regular));
    let bold_id = (!bold.is_empty()).then(|| font::embed(&mut pdf, &mut alloc, Weight::Bold, &bold));

    for ((page_id, content_id), content) in page_ids.iter().zip(&contents) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT)).parent(tree_id).contents(*content_id);
        {
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            if let Some(id) = regular_id {
                fonts.pair(REGULAR_NAME, id);
            }
            if let Some(id) = bold_id {
                fonts.pair(BOLD_NAME, id);
            }
        }
        page.finish();
        pdf.stream(*content_id, &font::deflate(content)).filter(Filter::FlateDecode);
    }
    pdf.finish()
}

/// One page's content stream: rules, then filled rectangles in one path, then the text.
fn content(ops: &[Op], regular: &mut UsedChars, bold: &mut UsedChars) -> Vec<u8> {
    let mut content = Content::new();
    let mut line_width = None;
    for op in ops {
        if let Op::Line { x1, y1, x2, y2, width } = *op {
            if line_width != Some(width) {
                content.set_line_width(width);
                line_width = Some(width);
            }
            content.move_to(x1, y1).line_to(x2, y2).stroke();
        }
    }
    let mut any_fill = false;
    for op in ops {
        if let Op::Fill { x, y, width, height } = *op {
            content.rect(x, y, width, height);
            any_fill = true;
        }
    }
    if any_fill {
        content.fill_nonzero();
    }
    let mut in_text = false;
    let mut current_font = None;
    for op in ops {
        if let Op::Text { x, y, size, weight, text } = op {
            if !in_text {
                content.begin_text();
                in_text = true;
            }
            if current_font != Some((*weight, size.to_bits())) {
                content.set_font(if *weight == Weight::Bold { BOLD_NAME } else { REGULAR_NAME }, *size);
                current_font = Some((*weight, size.to_bits()));
            }
            let used = if *weight == Weight::Bold { &mut *bold } else { &mut *regular };
            content.set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, *y]);
            content.show(Str(&used.encode(text)));
        }
    }
    if in_text {
        content.end_text();
    }
    content.finish()
}
