//! PDF assembly with `pdf-writer`: every image embedded untouched.
//!
//! * JPEG pages: `DCTDecode`, `DeviceRGB` or `DeviceGray`, 8 bits.
//! * G4 pages: `CCITTFaxDecode` with `DecodeParms << /K -1 /Columns w /Rows h >>`, `DeviceGray`, 1 bit.
//!   `BlackIs1` stays false (the default): black runs are encoded as black.
//! * Page size: the image size at its dpi (1 px = 72 / dpi pt); the clerk's rotation is `/Rotate`.
//! * Document information: `Title`, `Producer`, `CreationDate` (UTC), and for page *n* a text key
//!   `PageSHA256-n` with the lower-case hex SHA-256 of that page's embedded image bytes (`pdfinfo
//!   -custom` shows them).

use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, TextStr};

use super::{hex, DocumentMeta, DocumentPage, Encoding};

/// Document information key prefix of the per-page SHA-256 (`PageSHA256-1`, …, one-based).
pub const PAGE_SHA256_KEY_PREFIX: &str = "PageSHA256-";

/// The producer written to the document information.
const PRODUCER: &str = concat!("counter-agent ", env!("CARGO_PKG_VERSION"));

pub(crate) fn assemble(pages: &[DocumentPage<'_>], meta: &DocumentMeta) -> Vec<u8> {
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
    {
        let mut info = pdf.document_info(info_id);
        info.title(TextStr(&meta.title)).producer(TextStr(PRODUCER)).creation_date(utc_date(meta.created_utc_seconds));
        for (i, page) in pages.iter().enumerate() {
            let key = format!("{PAGE_SHA256_KEY_PREFIX}{}", i + 1);
            info.pair(Name(key.as_bytes()), TextStr(&hex(&page.sha256)));
        }
    }
    let image_name = Name(b"Im0");
    for (page, (page_id, image_id, content_id)) in pages.iter().zip(&ids) {
        let image = page.image;
        let dpi = image.dpi.max(1) as f32;
        let (w_pt, h_pt) = (image.width as f32 * 72.0 / dpi, image.height as f32 * 72.0 / dpi);
        let mut pdf_page = pdf.page(*page_id);
        pdf_page.media_box(Rect::new(0.0, 0.0, w_pt, h_pt)).parent(tree_id).contents(*content_id);
        if page.rotation.degrees() != 0 {
            pdf_page.rotate(i32::from(page.rotation.degrees()));
        }
        pdf_page.resources().x_objects().pair(image_name, *image_id);
        pdf_page.finish();
        let mut xobject = pdf.image_xobject(*image_id, &image.bytes);
        xobject.width(image.width as i32).height(image.height as i32);
        match image.encoding {
            Encoding::G4 => {
                xobject.filter(Filter::CcittFaxDecode);
                xobject.decode_parms().k(-1).columns(image.width as i32).rows(image.height as i32);
                xobject.color_space().device_gray();
                xobject.bits_per_component(1);
            }
            Encoding::JpegGray => {
                xobject.filter(Filter::DctDecode);
                xobject.color_space().device_gray();
                xobject.bits_per_component(8);
            }
            Encoding::JpegColor => {
                xobject.filter(Filter::DctDecode);
                xobject.color_space().device_rgb();
                xobject.bits_per_component(8);
            }
        }
        xobject.finish();
        let mut content = Content::new();
        content.save_state().transform([w_pt, 0.0, 0.0, h_pt, 0.0, 0.0]).x_object(image_name).restore_state();
        pdf.stream(*content_id, &content.finish());
    }
    pdf.finish()
}

/// Unix seconds → a PDF date in UTC (proleptic Gregorian, years clamped to 0..=9999).
fn utc_date(seconds: i64) -> Date {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Date::new(year.clamp(0, 9999) as u16)
        .month(month)
        .day(day)
        .hour((secs / 3600) as u8)
        .minute((secs / 60 % 60) as u8)
        .second((secs % 60) as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
pub(crate) fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
