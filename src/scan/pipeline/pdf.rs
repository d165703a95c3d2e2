//! PDF assembly: JPEG pages embedded untouched (`DCTDecode`), each page sized from its dpi.

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, TextStr};

use super::encode::{EncodedPage, PageColor};

/// Builds a PDF with one image per page, in order. An empty list gives an error upstream; here it
/// yields a valid PDF with no pages.
pub fn assemble(pages: &[EncodedPage], title: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let info_id = Ref::new(3);
    let mut next = 4;
    let mut alloc = || {
        let id = Ref::new(next);
        next += 1;
        id
    };
    let ids: Vec<(Ref, Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc(), alloc())).collect();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id).kids(ids.iter().map(|(page, _, _)| *page)).count(pages.len() as i32);
    pdf.document_info(info_id).title(TextStr(title)).producer(TextStr("counter-agent"));
    for (page, (page_id, image_id, content_id)) in pages.iter().zip(&ids) {
        let dpi = page.dpi.max(1) as f32;
        let (w_pt, h_pt) = (page.width as f32 * 72.0 / dpi, page.height as f32 * 72.0 / dpi);
        let image_name = Name(b"Im0");
        let mut pdf_page = pdf.page(*page_id);
        pdf_page.media_box(Rect::new(0.0, 0.0, w_pt, h_pt)).parent(tree_id).contents(*content_id);
        pdf_page.resources().x_objects().pair(image_name, *image_id);
        pdf_page.finish();
        let mut image = pdf.image_xobject(*image_id, &page.jpeg);
        image.filter(Filter::DctDecode);
        image.width(page.width as i32).height(page.height as i32).bits_per_component(8);
        match page.color {
            PageColor::Color => image.color_space().device_rgb(),
            PageColor::Gray => image.color_space().device_gray(),
        };
        image.finish();
        let mut content = Content::new();
        content.save_state().transform([w_pt, 0.0, 0.0, h_pt, 0.0, 0.0]).x_object(image_name).restore_state();
        pdf.stream(*content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_bytes_are_embedded_untouched_and_pages_sized_from_dpi() {
        let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9];
        let page = EncodedPage { jpeg: jpeg.clone(), width: 1240, height: 1754, dpi: 150, color: PageColor::Gray };
        let pdf = assemble(&[page.clone(), page], "Hồ sơ");
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(text.matches("/DCTDecode").count(), 2);
        assert!(pdf.windows(jpeg.len()).any(|w| w == jpeg.as_slice()), "JPEG bytes embedded as-is");
        // 1240 px at 150 dpi = 595.2 pt (A4 width).
        assert!(text.contains("595.2"), "A4 width in points");
        assert!(text.contains("/Count 2"));
    }
}
