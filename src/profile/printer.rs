//! The `[printer]` table of a profile and its checks.

use std::ops::Range;

use counter_agent_driver_api::{DocumentFormat, EscposSettings, EscposStatus, PrinterSettings};
use toml::Spanned;

use super::{CodePage, PrinterDetails, StatusProtocol, VietnameseEncoding};
use crate::config::reader::Fields;

pub(super) const PRINTER_KEYS: &[&str] = &[
    "paper_width_mm",
    "printable_dots",
    "dpi",
    "cutter",
    "formats",
    "vietnamese_code_pages",
    "native_qr",
    "status",
    "chinese_mode_off",
    "trim_raster",
    "ipp_everywhere",
];
const CODE_PAGE_KEYS: &[&str] = &["name", "esc_t", "esc_t_upper"];
const FORMATS: &[(&str, DocumentFormat)] = &[("escpos", DocumentFormat::EscPos), ("pdf", DocumentFormat::Pdf)];

pub(super) fn read_printer(table: &Fields<'_>) -> Option<(PrinterSettings, PrinterDetails)> {
    let sink = table.sink();
    let paper_width_mm = table.required_number("paper_width_mm", 1, 1000, "paper_width_mm = 80");
    let printable_dots = table.number("printable_dots", 0, 20_000);
    let dpi = table.required_number("dpi", 1, 4800, "dpi = 203");
    let cutter = table.required_boolean("cutter", "cutter = true or cutter = false");
    let formats = table.required_strings("formats", "formats = [\"escpos\"] or formats = [\"pdf\"]");
    let formats: Option<Vec<Spanned<DocumentFormat>>> = formats.map(|formats| {
        formats
            .iter()
            .filter_map(|format| {
                let parsed = sink.choice(format, "format", FORMATS)?;
                Some(Spanned::new(format.span(), parsed))
            })
            .collect()
    });
    let code_pages = read_code_pages(table);
    let native_qr = table.boolean("native_qr");
    let trim_raster = table.boolean("trim_raster");
    let status = table.string("status");
    let status_choices: Vec<(&str, StatusProtocol)> = StatusProtocol::ALL.iter().map(|s| (s.as_str(), *s)).collect();
    let status = status.and_then(|status| {
        Some(Spanned::new(status.span(), sink.choice(&status, "status protocol", &status_choices)?))
    });
    let chinese_mode_off = table.boolean("chinese_mode_off");
    let ipp_everywhere = table.boolean("ipp_everywhere");

    let formats = formats?;
    check_formats(table, &formats);
    let has = |wanted: DocumentFormat| formats.iter().any(|format| *format.get_ref() == wanted);
    let escpos = has(DocumentFormat::EscPos);
    if escpos {
        check_escpos_width(table, paper_width_mm.as_ref(), printable_dots.as_ref(), dpi.as_ref());
        if table.get("status").is_none() {
            table.missing("status", "status = \"dle-eot\", \"asb\" or \"none\" (how the printer reports paper out)");
        }
    } else if !formats.is_empty() {
        check_escpos_only_keys(table, &printable_dots, &code_pages, &native_qr, &status, &chinese_mode_off);
    }
    if let Some(flag) = &ipp_everywhere {
        if *flag.get_ref() && !has(DocumentFormat::Pdf) {
            let hint = "IPP Everywhere printers accept PDF: add \"pdf\" to formats";
            sink.error(flag.span(), "ipp_everywhere = true but formats has no \"pdf\"".into(), Some(hint.into()));
        }
    }

    let flag = |value: Option<Spanned<bool>>| value.is_some_and(Spanned::into_inner);
    let settings = PrinterSettings {
        paper_width_mm: paper_width_mm?.into_inner(),
        printable_dots: if escpos { printable_dots.map_or(0, Spanned::into_inner) } else { 0 },
        dpi: dpi?.into_inner(),
        cutter: cutter?.into_inner(),
        formats: formats.into_iter().map(Spanned::into_inner).collect(),
        escpos: Default::default(),
    };
    let details = PrinterDetails {
        vietnamese_code_pages: if escpos {
            code_pages?.into_iter().map(Spanned::into_inner).collect()
        } else {
            Vec::new()
        },
        native_qr: escpos && flag(native_qr),
        status: match status {
            Some(status) if escpos => status.into_inner(),
            _ => StatusProtocol::None,
        },
        chinese_mode_off: escpos && flag(chinese_mode_off),
        ipp_everywhere: flag(ipp_everywhere),
    };
    let escpos = EscposSettings {
        native_qr: details.native_qr,
        status: match details.status {
            StatusProtocol::DleEot => EscposStatus::DleEot,
            StatusProtocol::Asb => EscposStatus::Asb,
            StatusProtocol::None => EscposStatus::None,
        },
        chinese_mode_off: details.chinese_mode_off,
        trim_raster: escpos && flag(trim_raster),
    };
    Some((PrinterSettings { escpos, ..settings }, details))
}

/// Check: at least one format, each once.
fn check_formats(table: &Fields<'_>, formats: &[Spanned<DocumentFormat>]) {
    let sink = table.sink();
    if table.is_empty_array("formats") {
        let span = table.get("formats").map_or(table.span(), |value| value.span());
        let hint = "list what the printer accepts: [\"escpos\"] for receipt printers, [\"pdf\"] for A4 printers";
        sink.error(span, "`formats` is empty".into(), Some(hint.into()));
    }
    for (i, format) in formats.iter().enumerate() {
        if formats[..i].iter().any(|earlier| earlier.get_ref() == format.get_ref()) {
            sink.warning(format.span(), "format listed twice".into(), Some("remove the repeated entry".into()));
        }
    }
}

/// Check: an ESC/POS printer has a print width in whole bytes that fits its paper at its dpi.
fn check_escpos_width(
    table: &Fields<'_>,
    paper_width_mm: Option<&Spanned<u32>>,
    printable_dots: Option<&Spanned<u32>>,
    dpi: Option<&Spanned<u32>>,
) {
    let sink = table.sink();
    let dots = match printable_dots {
        Some(dots) if *dots.get_ref() > 0 => dots,
        _ => {
            let span = printable_dots.map_or(table.span(), Spanned::span);
            let message = "an escpos printer needs printable_dots > 0".to_string();
            let hint = "write the manual's print width in dots, e.g. 576 (72 mm at 203 dpi) or 384 (48 mm at 203 dpi)";
            sink.error(span, message, Some(hint.into()));
            return;
        }
    };
    let n_dots = *dots.get_ref();
    if n_dots % 8 != 0 {
        let message = format!("printable_dots = {n_dots} is not a multiple of 8");
        let hint = format!("raster rows are sent in whole bytes: use {}", n_dots / 8 * 8);
        sink.error(dots.span(), message, Some(hint));
    }
    if let (Some(paper), Some(dpi)) = (paper_width_mm, dpi) {
        let (paper, dpi) = (u64::from(*paper.get_ref()), u64::from(*dpi.get_ref()));
        // dots / dpi inches = dots × 25.4 / dpi mm, compared exactly and shown rounded.
        let dots_x_254 = u64::from(n_dots) * 254;
        if dots_x_254 > paper * dpi * 10 {
            let width_tenths_mm = (dots_x_254 + dpi / 2) / dpi;
            let message = format!(
                "printable_dots = {n_dots} is {}.{} mm at {dpi} dpi, wider than the {paper} mm paper",
                width_tenths_mm / 10,
                width_tenths_mm % 10
            );
            let hint = "check the manual's print width: 80 mm paper prints 72 mm (576 dots at 203 dpi, 512 at 180 dpi)";
            sink.error(dots.span(), message, Some(hint.into()));
        }
    }
}

/// Check: keys that only mean something for ESC/POS are not set on a page printer.
fn check_escpos_only_keys(
    table: &Fields<'_>,
    printable_dots: &Option<Spanned<u32>>,
    code_pages: &Option<Vec<Spanned<CodePage>>>,
    native_qr: &Option<Spanned<bool>>,
    status: &Option<Spanned<StatusProtocol>>,
    chinese_mode_off: &Option<Spanned<bool>>,
) {
    let mut ignored: Vec<(&str, Range<usize>)> = Vec::new();
    if let Some(dots) = printable_dots.as_ref().filter(|dots| *dots.get_ref() > 0) {
        ignored.push(("printable_dots", dots.span()));
    }
    if code_pages.as_ref().is_some_and(|pages| !pages.is_empty()) {
        ignored.extend(table.get("vietnamese_code_pages").map(|value| ("vietnamese_code_pages", value.span())));
    }
    if let Some(flag) = native_qr.as_ref().filter(|flag| *flag.get_ref()) {
        ignored.push(("native_qr", flag.span()));
    }
    if let Some(status) = status.as_ref().filter(|status| *status.get_ref() != StatusProtocol::None) {
        ignored.push(("status", status.span()));
    }
    if let Some(flag) = chinese_mode_off.as_ref().filter(|flag| *flag.get_ref()) {
        ignored.push(("chinese_mode_off", flag.span()));
    }
    for (key, span) in ignored {
        let message = format!("`{key}` applies to escpos printers only and is ignored");
        let hint = "remove it, or add \"escpos\" to formats if the printer takes ESC/POS".to_string();
        table.sink().warning(span, message, Some(hint));
    }
}

/// The code page entries; empty when the key is absent (raster text).
fn read_code_pages(table: &Fields<'_>) -> Option<Vec<Spanned<CodePage>>> {
    let sink = table.sink();
    if table.get("vietnamese_code_pages").is_none() {
        return Some(Vec::new());
    }
    let entries = table.tables("vietnamese_code_pages", "a vietnamese_code_pages entry", CODE_PAGE_KEYS);
    let encodings: Vec<(&str, VietnameseEncoding)> =
        VietnameseEncoding::ALL.iter().map(|encoding| (encoding.as_str(), *encoding)).collect();
    let mut pages = Vec::new();
    for entry in entries {
        let name = entry.required_string("name", "name = \"TCVN-3\"");
        let encoding = name.as_ref().and_then(|name| sink.choice(name, "Vietnamese code page", &encodings));
        let esc_t = entry.required_number("esc_t", 0, 255, "esc_t = 30 (the n of ESC t n)");
        let esc_t_upper = entry.number("esc_t_upper", 0, 255);
        if let (Some(encoding), Some(name)) = (encoding, &name) {
            check_code_page(&entry, encoding, name, esc_t_upper.as_ref());
        }
        let to_byte = |n: Spanned<u32>| u8::try_from(n.into_inner()).ok();
        if let (Some(encoding), Some(esc_t)) = (encoding, esc_t.and_then(to_byte)) {
            let esc_t_upper = esc_t_upper.and_then(to_byte);
            pages.push(Spanned::new(entry.span(), CodePage { encoding, esc_t, esc_t_upper }));
        }
    }
    Some(pages)
}

/// Check: TCVN-3 names its capitals table; encodings printers rarely get right are flagged.
fn check_code_page(
    entry: &Fields<'_>,
    encoding: VietnameseEncoding,
    name: &Spanned<&str>,
    upper: Option<&Spanned<u32>>,
) {
    let sink = entry.sink();
    match (encoding, upper) {
        (VietnameseEncoding::Tcvn3, None) => {
            let message = "TCVN-3 needs `esc_t_upper`: its capitals live in a second table".to_string();
            let hint = "add esc_t_upper = 31 (Epson: ESC t 30 lowercase, 31 uppercase)".to_string();
            sink.error(entry.span(), message, Some(hint));
        }
        (VietnameseEncoding::Tcvn3, Some(_)) => {}
        (_, Some(upper)) => {
            let message = format!("`esc_t_upper` applies to TCVN-3 only, not {}", encoding.as_str());
            sink.error(upper.span(), message, Some("remove it".into()));
        }
        (VietnameseEncoding::Wpc1258, None) => {
            let message = "WPC1258 prints tone marks as separate characters on most printers".to_string();
            let hint = "keep it only if a test print of all 134 Vietnamese letters looks right".to_string();
            sink.warning(name.span(), message, Some(hint));
        }
        (VietnameseEncoding::Viscii, None) => {
            let message = "VISCII puts six capitals (Ẳ Ẵ Ẫ Ỵ Ỷ Ỹ) on control codes the printer obeys".to_string();
            let hint = "keep it only if a test print of all 134 Vietnamese letters looks right".to_string();
            sink.warning(name.span(), message, Some(hint));
        }
    }
}
