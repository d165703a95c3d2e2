//! Reading one profile file: parse, then named checks, then the resolved [`Profile`].

use std::ops::Range;

use counter_agent_driver_api::{DeviceKind, DeviceSettings, DocumentFormat, PrinterSettings, ScanSource, ScannerSettings};
use toml::de::DeValue;
use toml::Spanned;

use super::{
    CodePage, PrinterDetails, Profile, ProfileSet, SaneOptionNames, ScannerDetails, StatusProtocol, VietnameseEncoding,
};
use crate::config::reader::{Fields, Sink};
use crate::config::{is_valid_id, Diagnostics};

const TOP_KEYS: &[&str] = &["id", "kind", "vendor", "model", "notes", "printer", "scanner"];
const PRINTER_KEYS: &[&str] = &[
    "paper_width_mm",
    "printable_dots",
    "dpi",
    "cutter",
    "formats",
    "vietnamese_code_pages",
    "native_qr",
    "status",
    "chinese_mode_off",
    "ipp_everywhere",
];
const CODE_PAGE_KEYS: &[&str] = &["name", "esc_t", "esc_t_upper"];
const SCANNER_KEYS: &[&str] =
    &["max_dpi", "default_dpi", "sources", "duplex_back_rotate_180", "options", "source_values", "mode_values"];
const OPTION_KEYS: &[&str] = &["source", "mode", "resolution"];
const SOURCE_KEYS: &[&str] = &["flatbed", "adf", "adf-duplex"];
const MODE_KEYS: &[&str] = &["color", "gray", "lineart"];

const KINDS: &[(&str, DeviceKind)] = &[("printer", DeviceKind::Printer), ("scanner", DeviceKind::Scanner)];
const FORMATS: &[(&str, DocumentFormat)] = &[("escpos", DocumentFormat::EscPos), ("pdf", DocumentFormat::Pdf)];
const SOURCES: &[(&str, ScanSource)] =
    &[("flatbed", ScanSource::Flatbed), ("adf", ScanSource::Adf), ("adf-duplex", ScanSource::AdfDuplex)];

/// Parses `text`, adds the profile to `set` when it has no errors, and returns what was found.
pub(super) fn load(set: &mut ProfileSet, source: &str, stem: &str, text: &str) -> Diagnostics {
    let sink = Sink::new(source, text);
    let mut id = stem.to_string();
    if let Some(document) = sink.parse() {
        let root = Fields::new(&sink, &document, 0..0, "", TOP_KEYS);
        let profile = read_profile(&root, set, source, stem);
        if let Some(written) = root.get("id").and_then(|id| id.get_ref().as_str()) {
            id = written.to_string();
        }
        match profile {
            Some(profile) if !sink.has_errors() => {
                set.profiles.insert(profile.id.clone(), profile);
                return Diagnostics(sink.finish());
            }
            None if !sink.has_errors() => {
                // Every path that gives up reports why; this keeps a slip from passing silently.
                let message = "profile could not be resolved (an agent bug: please report it)".to_string();
                sink.error(0..0, message, None);
            }
            _ => {}
        }
    }
    if !set.profiles.contains_key(&id) {
        set.broken.entry(id).or_insert_with(|| source.to_string());
    }
    Diagnostics(sink.finish())
}

fn read_profile(root: &Fields<'_>, set: &ProfileSet, source: &str, stem: &str) -> Option<Profile> {
    let sink = root.sink();
    let id = root.required_string("id", &format!("id = \"{stem}\""));
    if let Some(id) = &id {
        check_id(sink, id, stem, set);
    }
    let kind = root.required_string("kind", "kind = \"printer\" or kind = \"scanner\"");
    let kind = kind.and_then(|kind| sink.choice(&kind, "kind", KINDS));
    let vendor = non_empty(sink, root.required_string("vendor", "vendor = \"Epson\""), "vendor");
    let model = non_empty(sink, root.required_string("model", "model = \"TM-T88VI\""), "model");
    let notes = root.string("notes").map(|notes| notes.into_inner().to_string());

    // The table of the other kind is refused as a whole; its contents are not checked.
    let read_printer_table = kind.is_none_or(|kind| kind == DeviceKind::Printer);
    let read_scanner_table = kind.is_none_or(|kind| kind == DeviceKind::Scanner);
    let printer = if read_printer_table {
        root.table("printer", "[printer]", PRINTER_KEYS).map(|table| read_printer(&table))
    } else {
        None
    };
    let scanner = if read_scanner_table {
        root.table("scanner", "[scanner]", SCANNER_KEYS).map(|table| read_scanner(&table))
    } else {
        None
    };
    let (settings, printer, scanner) = match kind? {
        DeviceKind::Printer => {
            refuse_other_table(root, "printer", "scanner");
            let Some(printer) = printer else {
                missing_table(root, "printer");
                return None;
            };
            let (settings, details) = printer?;
            (DeviceSettings::Printer(settings), Some(details), None)
        }
        DeviceKind::Scanner => {
            refuse_other_table(root, "scanner", "printer");
            let Some(scanner) = scanner else {
                missing_table(root, "scanner");
                return None;
            };
            let (settings, details) = scanner?;
            (DeviceSettings::Scanner(settings), None, Some(details))
        }
    };
    Some(Profile {
        id: id?.into_inner().to_string(),
        kind: settings.kind(),
        vendor: vendor?,
        model: model?,
        notes,
        settings,
        printer,
        scanner,
        source: source.to_string(),
    })
}

/// Check: the id is well formed, equals the file stem and is not taken by another file.
fn check_id(sink: &Sink<'_>, id: &Spanned<&str>, stem: &str, set: &ProfileSet) {
    let value = *id.get_ref();
    if !is_valid_id(value) {
        let message = format!("profile id `{value}` must be lowercase letters, digits, `-` and `_`");
        sink.error(id.span(), message, Some("e.g. id = \"epson-tm-t88vi\", in a file named the same".into()));
    } else if value != stem {
        let message = format!("profile id `{value}` does not match the file name `{stem}.toml`");
        let hint = format!("rename the file to `{value}.toml` or write id = \"{stem}\"");
        sink.error(id.span(), message, Some(hint));
    }
    let earlier = set.get(value).map(|profile| profile.source.as_str()).or_else(|| set.broken_source(value));
    if let Some(earlier) = earlier {
        let message = format!("profile `{value}` is defined twice: in {earlier} and in {}", sink.file());
        let hint = "copy a profile under a new file name and id to change it, and use that id in station.toml";
        sink.error(id.span(), message, Some(hint.into()));
    }
}

fn non_empty(sink: &Sink<'_>, value: Option<Spanned<&str>>, key: &str) -> Option<String> {
    let value = value?;
    if value.get_ref().trim().is_empty() {
        sink.error(value.span(), format!("`{key}` is empty"), Some(format!("write the {key} as on the device's label")));
        return None;
    }
    Some(value.into_inner().trim().to_string())
}

fn refuse_other_table(root: &Fields<'_>, kind: &str, other: &str) {
    if let Some(span) = root.key_span(other) {
        let message = format!("a {kind} profile cannot have a [{other}] table");
        let hint = format!("remove [{other}], or set kind = \"{other}\" and remove [{kind}]");
        root.sink().error(span, message, Some(hint));
    }
}

fn missing_table(root: &Fields<'_>, kind: &str) {
    let message = format!("a {kind} profile needs a [{kind}] table");
    let hint = format!("add [{kind}] with its keys; see the shipped profiles in profiles/{kind}/");
    root.sink().error(root.span(), message, Some(hint));
}

fn read_printer(table: &Fields<'_>) -> Option<(PrinterSettings, PrinterDetails)> {
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
    let status = table.string("status");
    let status_choices: Vec<(&str, StatusProtocol)> = StatusProtocol::ALL.iter().map(|s| (s.as_str(), *s)).collect();
    let status = status.and_then(|status| Some(Spanned::new(status.span(), sink.choice(&status, "status protocol", &status_choices)?)));
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
    };
    let details = PrinterDetails {
        vietnamese_code_pages: if escpos { code_pages?.into_iter().map(Spanned::into_inner).collect() } else { Vec::new() },
        native_qr: escpos && flag(native_qr),
        status: match status {
            Some(status) if escpos => status.into_inner(),
            _ => StatusProtocol::None,
        },
        chinese_mode_off: escpos && flag(chinese_mode_off),
        ipp_everywhere: flag(ipp_everywhere),
    };
    Some((settings, details))
}

/// Check: at least one format, each once.
fn check_formats(table: &Fields<'_>, formats: &[Spanned<DocumentFormat>]) {
    let sink = table.sink();
    if formats.is_empty() {
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
fn check_code_page(entry: &Fields<'_>, encoding: VietnameseEncoding, name: &Spanned<&str>, upper: Option<&Spanned<u32>>) {
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

fn read_scanner(table: &Fields<'_>) -> Option<(ScannerSettings, ScannerDetails)> {
    let sink = table.sink();
    let max_dpi = table.required_number("max_dpi", 1, 19_200, "max_dpi = 600");
    let default_dpi = table.required_number("default_dpi", 1, 19_200, "default_dpi = 300");
    let sources = table.required_strings("sources", "sources = [\"flatbed\", \"adf\"]");
    let sources: Option<Vec<Spanned<ScanSource>>> = sources.map(|sources| {
        sources
            .iter()
            .filter_map(|source| Some(Spanned::new(source.span(), sink.choice(source, "source", SOURCES)?)))
            .collect()
    });
    let rotate = table.boolean("duplex_back_rotate_180");
    let options = read_options(table);

    if let (Some(max), Some(default)) = (&max_dpi, &default_dpi) {
        if default.get_ref() > max.get_ref() {
            let message = format!("default_dpi = {} is above max_dpi = {}", default.get_ref(), max.get_ref());
            let hint = format!("lower default_dpi to {} or less; 300 dpi suits text pages", max.get_ref());
            sink.error(default.span(), message, Some(hint));
        }
    }
    let sources = sources?;
    check_sources(table, &sources, options.as_ref());
    if let Some(flag) = rotate.as_ref().filter(|flag| *flag.get_ref()) {
        if !sources.iter().any(|source| *source.get_ref() == ScanSource::AdfDuplex) {
            let message = "duplex_back_rotate_180 is set but sources has no \"adf-duplex\"".to_string();
            sink.warning(flag.span(), message, Some("add \"adf-duplex\" to sources or remove the key".into()));
        }
    }

    let settings = ScannerSettings {
        max_dpi: max_dpi?.into_inner(),
        default_dpi: default_dpi?.into_inner(),
        sources: sources.into_iter().map(Spanned::into_inner).collect(),
        duplex_back_rotate_180: rotate.is_some_and(Spanned::into_inner),
    };
    Some((settings, ScannerDetails { options: options? }))
}

/// Check: at least one source, each once, each with a SANE value name to select it.
fn check_sources(table: &Fields<'_>, sources: &[Spanned<ScanSource>], options: Option<&SaneOptionNames>) {
    let sink = table.sink();
    if sources.is_empty() {
        let span = table.get("sources").map_or(table.span(), |value| value.span());
        let hint = "list where paper can go: \"flatbed\", \"adf\", \"adf-duplex\"";
        sink.error(span, "`sources` is empty".into(), Some(hint.into()));
    }
    for (i, source) in sources.iter().enumerate() {
        let source_name = source.get_ref().as_str();
        if sources[..i].iter().any(|earlier| earlier.get_ref() == source.get_ref()) {
            sink.warning(source.span(), format!("source `{source_name}` listed twice"), Some("remove one".into()));
            continue;
        }
        if options.is_some_and(|options| options.source_values(*source.get_ref()).is_empty()) {
            let message = format!("source `{source_name}` has no SANE value name");
            let hint = format!(
                "add {source_name} = [\"…\"] to [scanner.source_values] with the backend's name for it \
                 (see `scanimage --help -d DEVICE`)"
            );
            sink.error(source.span(), message, Some(hint));
        }
    }
}

fn read_options(table: &Fields<'_>) -> Option<SaneOptionNames> {
    let options = table.table("options", "[scanner.options]", OPTION_KEYS);
    let option_name = |key: &str| -> Option<String> {
        let Some(options) = &options else { return Some(key.to_string()) };
        match options.string(key) {
            Some(name) if name.get_ref().trim().is_empty() => {
                let hint = format!("write the SANE option name, usually {key} = \"{key}\"");
                options.sink().error(name.span(), format!("option name `{key}` is empty"), Some(hint));
                None
            }
            Some(name) => Some(name.into_inner().to_string()),
            None if options.get(key).is_some() => None,
            None => Some(key.to_string()),
        }
    };
    let (source, mode, resolution) = (option_name("source"), option_name("mode"), option_name("resolution"));

    let sources = table.table("source_values", "[scanner.source_values]", SOURCE_KEYS);
    let modes = table.table("mode_values", "[scanner.mode_values]", MODE_KEYS);
    let values = |fields: &Option<Fields<'_>>, key: &str, default: &[&str]| -> Option<Vec<String>> {
        match fields {
            Some(fields) if fields.get(key).is_some() => value_names(fields, key),
            _ => Some(default.iter().map(|name| name.to_string()).collect()),
        }
    };
    Some(SaneOptionNames {
        flatbed_values: values(&sources, "flatbed", &[])?,
        adf_values: values(&sources, "adf", &[])?,
        adf_duplex_values: values(&sources, "adf-duplex", &[])?,
        color_values: values(&modes, "color", &["Color"])?,
        gray_values: values(&modes, "gray", &["Gray"])?,
        lineart_values: values(&modes, "lineart", &["Lineart"])?,
        source: source?,
        mode: mode?,
        resolution: resolution?,
    })
}

/// A value name or a list of them (tried in order); empty names are refused.
fn value_names(fields: &Fields<'_>, key: &str) -> Option<Vec<String>> {
    let sink = fields.sink();
    let value = fields.get(key)?;
    let names = match value.get_ref() {
        DeValue::String(_) => vec![fields.string(key)?],
        _ => fields.strings(key)?,
    };
    let mut good = Vec::new();
    for name in names {
        if name.get_ref().trim().is_empty() {
            let hint = "write the value as the backend lists it, e.g. \"ADF\"".to_string();
            sink.error(name.span(), format!("empty value name in `{key}`"), Some(hint));
        } else {
            good.push(name.into_inner().to_string());
        }
    }
    Some(good)
}
