//! Profile tests: every shipped profile, then one `check(input, expected diagnostics)` helper and
//! many small cases.

use std::path::Path;

use counter_agent_driver_api::{DeviceKind, DocumentFormat, ScanSource};

use super::*;

/// A valid ESC/POS printer profile named `test-80.toml`; cases edit it.
const PRINTER: &str = r#"id = "test-80"
kind = "printer"
vendor = "Test"
model = "80"

[printer]
paper_width_mm = 80
printable_dots = 576
dpi = 203
cutter = true
formats = ["escpos"]
status = "dle-eot"
"#;

/// A valid scanner profile named `test-scan.toml`; cases edit it.
const SCANNER: &str = r#"id = "test-scan"
kind = "scanner"
vendor = "Test"
model = "Scan"

[scanner]
max_dpi = 600
default_dpi = 300
sources = ["flatbed", "adf"]

[scanner.source_values]
flatbed = "Flatbed"
adf = ["ADF", "ADF Front"]
"#;

fn load_one(source: &str, text: &str) -> (ProfileSet, Vec<String>) {
    let mut set = ProfileSet::new();
    let diagnostics = load_str(&mut set, source, text);
    let lines = diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        set.get(Path::new(source).file_stem().and_then(|s| s.to_str()).unwrap_or("")).is_some(),
        !diagnostics.has_errors()
    );
    (set, lines)
}

/// Loads `text` as `source` and compares every diagnostic, as displayed.
fn check(source: &str, text: &str, expected: &[&str]) {
    let (_, actual) = load_one(source, text);
    assert_eq!(actual, expected, "profile:\n{text}");
}

/// [`check`] on [`PRINTER`] with `from` replaced by `to`.
fn check_printer(from: &str, to: &str, expected: &[&str]) {
    assert!(PRINTER.contains(from), "{from}");
    check("test-80.toml", &PRINTER.replacen(from, to, 1), expected);
}

/// [`check`] on [`SCANNER`] with `from` replaced by `to`.
fn check_scanner(from: &str, to: &str, expected: &[&str]) {
    assert!(SCANNER.contains(from), "{from}");
    check("test-scan.toml", &SCANNER.replacen(from, to, 1), expected);
}

#[test]
fn every_shipped_profile_loads_without_diagnostics() {
    let (set, diagnostics) = load_builtin();
    assert!(diagnostics.is_empty(), "{diagnostics}");
    assert_eq!(set.len(), BUILTIN_PROFILES.len());
    for profile in set.iter() {
        assert!(profile.source.starts_with("<built-in>/"), "{}", profile.source);
        assert_eq!(profile.settings.kind(), profile.kind, "{}", profile.id);
        assert_eq!(profile.printer.is_some(), profile.kind == DeviceKind::Printer, "{}", profile.id);
        assert_eq!(profile.scanner.is_some(), profile.kind == DeviceKind::Scanner, "{}", profile.id);
        assert!(profile.notes.as_deref().is_some_and(|notes| !notes.is_empty()), "{} has notes", profile.id);
    }
    for (path, _) in BUILTIN_PROFILES {
        let (kind, _) = path.split_once('/').expect("kind folder");
        let id = path.rsplit('/').next().and_then(|name| name.strip_suffix(".toml")).expect("a .toml file");
        assert_eq!(set.get(id).map(|profile| profile.kind.as_str()), Some(kind), "{path}");
    }
}

#[test]
fn the_embedded_list_matches_the_profiles_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut on_disk = Vec::new();
    for kind in std::fs::read_dir(&root).expect("profiles folder") {
        let kind = kind.expect("entry").path();
        for file in std::fs::read_dir(&kind).expect("kind folder") {
            let file = file.expect("entry").path();
            let relative = file.strip_prefix(&root).expect("under profiles/");
            on_disk.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    on_disk.sort();
    let embedded: Vec<&str> = BUILTIN_PROFILES.iter().map(|(path, _)| *path).collect();
    assert_eq!(on_disk, embedded, "add new profiles to src/profile/builtin.rs");
    // The folder itself loads the same way technicians' folders do.
    let mut set = ProfileSet::new();
    let diagnostics = load_dir(&mut set, &root);
    assert!(diagnostics.is_empty(), "{diagnostics}");
    assert_eq!(set.len(), BUILTIN_PROFILES.len());
}

#[test]
fn generic_profiles_exist_with_their_documented_values() {
    let (set, _) = load_builtin();
    let printer = |id: &str| {
        let profile = set.get(id).unwrap_or_else(|| panic!("{id} exists"));
        let settings = profile.printer_settings().expect("a printer").clone();
        let details = profile.printer.clone().expect("printer details");
        (
            settings.paper_width_mm,
            settings.printable_dots,
            settings.dpi,
            settings.cutter,
            settings.formats,
            details.status,
        )
    };
    use DocumentFormat::{EscPos, Pdf};
    use StatusProtocol::{Asb, DleEot, None as NoStatus};
    assert_eq!(printer("escpos-generic-80mm"), (80, 576, 203, true, vec![EscPos], DleEot));
    assert_eq!(printer("escpos-generic-58mm"), (58, 384, 203, false, vec![EscPos], DleEot));
    assert_eq!(printer("ipp-everywhere-a4"), (210, 0, 300, false, vec![Pdf], NoStatus));
    assert_eq!(printer("epson-tm-t88vi"), (80, 512, 180, true, vec![EscPos], Asb));
    assert_eq!(printer("epson-tm-t82iii"), (80, 576, 203, true, vec![EscPos], Asb));
    assert_eq!(printer("xprinter-xp-80c"), (80, 576, 203, true, vec![EscPos], DleEot));
    assert_eq!(printer("xprinter-xp-58iih"), (58, 384, 203, false, vec![EscPos], DleEot));
    for id in ["escpos-generic-80mm", "escpos-generic-58mm"] {
        let details = set.get(id).and_then(|p| p.printer.clone()).expect("printer details");
        assert!(details.vietnamese_code_pages.is_empty(), "{id} prints Vietnamese as raster text");
    }
    assert!(set.get("ipp-everywhere-a4").and_then(|p| p.printer.as_ref()).is_some_and(|d| d.ipp_everywhere));

    let scanner = set.get("sane-generic").expect("sane-generic exists");
    let settings = scanner.scanner_settings().expect("a scanner");
    assert_eq!((settings.max_dpi, settings.default_dpi), (600, 300));
    assert_eq!(settings.sources, [ScanSource::Flatbed, ScanSource::Adf, ScanSource::AdfDuplex]);
    let options = &scanner.scanner.as_ref().expect("scanner details").options;
    assert_eq!(
        (options.source.as_str(), options.mode.as_str(), options.resolution.as_str()),
        ("source", "mode", "resolution")
    );
    assert_eq!(options.source_values(ScanSource::Flatbed), ["Flatbed"]);
    assert_eq!(options.color_values, ["Color"]);
    assert_eq!(scanner.display_name(), "Máy quét SANE (chung)");
}

#[test]
fn minimal_profiles_resolve_with_defaults() {
    let (set, diagnostics) = load_one("test-80.toml", PRINTER);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let profile = set.get("test-80").expect("loaded");
    assert_eq!(profile.display_name(), "Test 80");
    assert_eq!(profile.notes, None);
    let details = profile.printer.as_ref().expect("printer details");
    assert_eq!(
        (details.vietnamese_code_pages.len(), details.native_qr, details.chinese_mode_off, details.ipp_everywhere),
        (0, false, false, false)
    );

    let (set, diagnostics) = load_one("test-scan.toml", SCANNER);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let options = &set.get("test-scan").and_then(|p| p.scanner.as_ref()).expect("scanner details").options;
    assert_eq!(options.source_values(ScanSource::Adf), ["ADF", "ADF Front"]);
    assert!(options.source_values(ScanSource::AdfDuplex).is_empty());
    assert_eq!(
        (options.gray_values.as_slice(), options.lineart_values.as_slice()),
        (&["Gray".to_string()][..], &["Lineart".to_string()][..])
    );
    assert_eq!(options.mode, "mode");
}

#[test]
fn top_level_keys() {
    check_printer(
        "vendor = \"Test\"",
        "vendr = \"Test\"",
        &[
            "test-80.toml:1:1: error: missing key `vendor` — add vendor = \"Epson\"",
            "test-80.toml:3:1: error: unknown key `vendr` — did you mean `vendor`?",
        ],
    );
    check_printer(
        "kind = \"printer\"",
        "kind = \"printr\"",
        &["test-80.toml:2:8: error: unknown kind `printr` — did you mean `printer`?"],
    );
    check_printer(
        "id = \"test-80\"",
        "id = \"test-81\"",
        &["test-80.toml:1:6: error: profile id `test-81` does not match the file name `test-80.toml` — rename the file to `test-81.toml` or write id = \"test-80\""],
    );
    check(
        "Test-80.toml",
        &PRINTER.replace("id = \"test-80\"", "id = \"Test-80\""),
        &["Test-80.toml:1:6: error: profile id `Test-80` must be lowercase letters, digits, `-` and `_` — e.g. id = \"epson-tm-t88vi\", in a file named the same"],
    );
    check_printer(
        "model = \"80\"",
        "model = \" \"",
        &["test-80.toml:4:9: error: `model` is empty — write the model as on the device's label"],
    );
    check_printer(
        "kind = \"printer\"",
        "kind = \"scanner\"",
        &[
            "test-80.toml:1:1: error: a scanner profile needs a [scanner] table — add [scanner] with its keys; see the shipped profiles in profiles/scanner/",
            "test-80.toml:6:2: error: a scanner profile cannot have a [printer] table — remove [printer], or set kind = \"printer\" and remove [scanner]",
        ],
    );
}

#[test]
fn a_printer_profile_cannot_have_a_scanner_table() {
    check(
        "test-80.toml",
        &format!("{PRINTER}[scanner]\nmax_dpi = 600\n"),
        &[
            "test-80.toml:13:2: error: a printer profile cannot have a [scanner] table — remove [scanner], or set kind = \"scanner\" and remove [printer]",
        ],
    );
}

#[test]
fn a_typo_in_a_printer_key() {
    check_printer(
        "paper_width_mm = 80",
        "paper_widht_mm = 80",
        &[
            "test-80.toml:6:1: error: missing key `paper_width_mm` in [printer] — add paper_width_mm = 80",
            "test-80.toml:7:1: error: unknown key `paper_widht_mm` in [printer] — did you mean `paper_width_mm`?",
        ],
    );
    check_printer(
        "cutter = true",
        "cuter = \"yes\"",
        &[
            "test-80.toml:6:1: error: missing key `cutter` in [printer] — add cutter = true or cutter = false",
            "test-80.toml:10:1: error: unknown key `cuter` in [printer] — did you mean `cutter`?",
        ],
    );
    check_printer(
        "cutter = true",
        "cutter = \"true\"",
        &["test-80.toml:10:10: error: `cutter` must be a boolean, found a string — remove the quotes: cutter = true"],
    );
}

#[test]
fn printer_width_checks() {
    check_printer(
        "printable_dots = 576",
        "printable_dots = 640",
        &["test-80.toml:8:18: error: printable_dots = 640 is 80.1 mm at 203 dpi, wider than the 80 mm paper — check the manual's print width: 80 mm paper prints 72 mm (576 dots at 203 dpi, 512 at 180 dpi)"],
    );
    check_printer(
        "printable_dots = 576",
        "printable_dots = 576\nmax = 1",
        &["test-80.toml:9:1: error: unknown key `max` in [printer] — [printer] accepts `paper_width_mm`, `printable_dots`, `dpi`, `cutter`, `formats`, `vietnamese_code_pages`, `native_qr`, `status`, `chinese_mode_off`, `trim_raster` or `ipp_everywhere`"],
    );
    check_printer(
        "printable_dots = 576",
        "printable_dots = 700",
        &[
            "test-80.toml:8:18: error: printable_dots = 700 is not a multiple of 8 — raster rows are sent in whole bytes: use 696",
            "test-80.toml:8:18: error: printable_dots = 700 is 87.6 mm at 203 dpi, wider than the 80 mm paper — check the manual's print width: 80 mm paper prints 72 mm (576 dots at 203 dpi, 512 at 180 dpi)",
        ],
    );
    check_printer(
        "printable_dots = 576",
        "printable_dots = 0",
        &["test-80.toml:8:18: error: an escpos printer needs printable_dots > 0 — write the manual's print width in dots, e.g. 576 (72 mm at 203 dpi) or 384 (48 mm at 203 dpi)"],
    );
    check_printer(
        "printable_dots = 576\n",
        "",
        &["test-80.toml:6:1: error: an escpos printer needs printable_dots > 0 — write the manual's print width in dots, e.g. 576 (72 mm at 203 dpi) or 384 (48 mm at 203 dpi)"],
    );
    check_printer(
        "dpi = 203",
        "dpi = 180",
        &["test-80.toml:8:18: error: printable_dots = 576 is 81.3 mm at 180 dpi, wider than the 80 mm paper — check the manual's print width: 80 mm paper prints 72 mm (576 dots at 203 dpi, 512 at 180 dpi)"],
    );
    check_printer("dpi = 203", "dpi = -1", &["test-80.toml:9:7: error: `dpi` must be between 1 and 4800"]);
}

#[test]
fn printer_format_and_escpos_checks() {
    check_printer(
        "formats = [\"escpos\"]",
        "formats = []",
        &["test-80.toml:11:11: error: `formats` is empty — list what the printer accepts: [\"escpos\"] for receipt printers, [\"pdf\"] for A4 printers"],
    );
    check_printer(
        "formats = [\"escpos\"]",
        "formats = [\"escpos\", \"PDF\", \"escpos\"]",
        &[
            "test-80.toml:11:22: error: unknown format `PDF` — did you mean `pdf`?",
            "test-80.toml:11:29: warning: format listed twice — remove the repeated entry",
        ],
    );
    // A refused item is reported once, not again as an empty list.
    check_printer(
        "formats = [\"escpos\"]",
        "formats = [\"ESC/POS\"]",
        &["test-80.toml:11:12: error: unknown format `ESC/POS` — did you mean `escpos`?"],
    );
    check_printer(
        "status = \"dle-eot\"\n",
        "",
        &["test-80.toml:6:1: error: missing key `status` in [printer] — add status = \"dle-eot\", \"asb\" or \"none\" (how the printer reports paper out)"],
    );
    check_printer(
        "status = \"dle-eot\"",
        "status = \"dle_eot\"",
        &["test-80.toml:12:10: error: unknown status protocol `dle_eot` — did you mean `dle-eot`?"],
    );
    check_printer(
        "status = \"dle-eot\"",
        "status = \"dle-eot\"\nipp_everywhere = true",
        &["test-80.toml:13:18: error: ipp_everywhere = true but formats has no \"pdf\" — IPP Everywhere printers accept PDF: add \"pdf\" to formats"],
    );
}

#[test]
fn escpos_keys_on_a_page_printer_are_warned_and_ignored() {
    let (set, diagnostics) = load_one(
        "test-80.toml",
        &PRINTER.replace("formats = [\"escpos\"]", "formats = [\"pdf\"]\nnative_qr = true\nchinese_mode_off = false"),
    );
    assert_eq!(
        diagnostics,
        [
            "test-80.toml:8:18: warning: `printable_dots` applies to escpos printers only and is ignored — remove it, or add \"escpos\" to formats if the printer takes ESC/POS",
            "test-80.toml:12:13: warning: `native_qr` applies to escpos printers only and is ignored — remove it, or add \"escpos\" to formats if the printer takes ESC/POS",
            "test-80.toml:14:10: warning: `status` applies to escpos printers only and is ignored — remove it, or add \"escpos\" to formats if the printer takes ESC/POS",
        ]
    );
    let profile = set.get("test-80").expect("warnings only");
    let details = profile.printer.as_ref().expect("printer details");
    assert_eq!((details.native_qr, details.status), (false, StatusProtocol::None));
    assert_eq!(profile.printer_settings().map(|s| s.printable_dots), Some(0));
}

#[test]
fn code_pages() {
    let with_pages = |pages: &str| {
        PRINTER.replace("status = \"dle-eot\"", &format!("status = \"dle-eot\"\nvietnamese_code_pages = [{pages}]"))
    };
    let (set, diagnostics) =
        load_one("test-80.toml", &with_pages("{ name = \"TCVN-3\", esc_t = 30, esc_t_upper = 31 }"));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let pages = &set.get("test-80").and_then(|p| p.printer.as_ref()).expect("details").vietnamese_code_pages;
    assert_eq!(pages, &[CodePage { encoding: VietnameseEncoding::Tcvn3, esc_t: 30, esc_t_upper: Some(31) }]);

    // ESC/POS manuals write table numbers in hex as often as in decimal.
    let (set, diagnostics) = load_one(
        "test-80.toml",
        &with_pages("{ name = \"TCVN-3\", esc_t = 0x1E, esc_t_upper = 0x1F }, { name = \"WPC1258\", esc_t = 52 }"),
    );
    assert_eq!(diagnostics.len(), 1, "the WPC1258 warning: {diagnostics:?}");
    let pages = &set.get("test-80").and_then(|p| p.printer.as_ref()).expect("details").vietnamese_code_pages;
    assert_eq!(
        pages,
        &[
            CodePage { encoding: VietnameseEncoding::Tcvn3, esc_t: 30, esc_t_upper: Some(31) },
            CodePage { encoding: VietnameseEncoding::Wpc1258, esc_t: 52, esc_t_upper: None },
        ]
    );

    let check_pages = |pages: &str, expected: &[&str]| check("test-80.toml", &with_pages(pages), expected);
    check_pages(
        "{ name = \"TCVN-3\", esc_t = 30 }",
        &["test-80.toml:13:26: error: TCVN-3 needs `esc_t_upper`: its capitals live in a second table — add esc_t_upper = 31 (Epson: ESC t 30 lowercase, 31 uppercase)"],
    );
    check_pages(
        "{ name = \"WPC1258\", esc_t = 52 }",
        &["test-80.toml:13:35: warning: WPC1258 prints tone marks as separate characters on most printers — keep it only if a test print of all 134 Vietnamese letters looks right"],
    );
    check_pages(
        "{ name = \"VISCII\", esc_t = 5, esc_t_upper = 6 }",
        &["test-80.toml:13:70: error: `esc_t_upper` applies to TCVN-3 only, not VISCII — remove it"],
    );
    check_pages(
        "{ name = \"tcvn3\", esc_t = 300, page = 1 }",
        &[
            "test-80.toml:13:35: error: unknown Vietnamese code page `tcvn3` — did you mean `TCVN-3`?",
            "test-80.toml:13:52: error: `esc_t` must be between 0 and 255",
            "test-80.toml:13:57: error: unknown key `page` in a vietnamese_code_pages entry — did you mean `name`?",
        ],
    );
    check_pages(
        "\"TCVN-3\"",
        &["test-80.toml:13:26: error: each item of `vietnamese_code_pages` must be a table, found a string — write { key = value, … }"],
    );
}

#[test]
fn scanner_checks() {
    check_scanner(
        "default_dpi = 300",
        "default_dpi = 1200",
        &["test-scan.toml:8:15: error: default_dpi = 1200 is above max_dpi = 600 — lower default_dpi to 600 or less; 300 dpi suits text pages"],
    );
    check_scanner(
        "sources = [\"flatbed\", \"adf\"]",
        "sources = [\"flatbed\", \"adf\", \"adf-duplex\", \"ADF\"]\nduplex_back_rotate_180 = true",
        &[
            "test-scan.toml:9:30: error: source `adf-duplex` has no SANE value name — add adf-duplex = [\"…\"] to [scanner.source_values] with the backend's name for it (see `scanimage --help -d DEVICE`)",
            "test-scan.toml:9:44: error: unknown source `ADF` — did you mean `adf`?",
        ],
    );
    check_scanner(
        "sources = [\"flatbed\", \"adf\"]",
        "sources = [\"flatbed\", \"flatbed\"]\nduplex_back_rotate_180 = true",
        &[
            "test-scan.toml:9:23: warning: source `flatbed` listed twice — remove one",
            "test-scan.toml:10:26: warning: duplex_back_rotate_180 is set but sources has no \"adf-duplex\" — add \"adf-duplex\" to sources or remove the key",
        ],
    );
    check_scanner(
        "sources = [\"flatbed\", \"adf\"]",
        "sources = []",
        &["test-scan.toml:9:11: error: `sources` is empty — list where paper can go: \"flatbed\", \"adf\", \"adf-duplex\""],
    );
    check_scanner(
        "[scanner.source_values]",
        "[scanner.options]\nsource = \"\"\nresolutoin = \"resolution\"\n\n[scanner.mode_values]\ncolor = [\"Color\", \"\"]\n\n[scanner.source_values]",
        &[
            "test-scan.toml:12:10: error: option name `source` is empty — write the SANE option name, usually source = \"source\"",
            "test-scan.toml:13:1: error: unknown key `resolutoin` in [scanner.options] — did you mean `resolution`?",
            "test-scan.toml:16:19: error: empty value name in `color` — write the value as the backend lists it, e.g. \"ADF\"",
        ],
    );
    check_scanner(
        "adf = [\"ADF\", \"ADF Front\"]",
        "adf = []",
        &["test-scan.toml:9:23: error: source `adf` has no SANE value name — add adf = [\"…\"] to [scanner.source_values] with the backend's name for it (see `scanimage --help -d DEVICE`)"],
    );
}

#[test]
fn syntax_errors_give_the_parser_position() {
    check_printer(
        "formats = [\"escpos\"]",
        "formats = [\"escpos\"",
        &["test-80.toml:12:1: error: invalid TOML: missing comma between array elements, expected `,` — separate the items of an array with `,` and close it with `]`"],
    );
    check_printer(
        "vendor = \"Test\"",
        "vendor = Test",
        &["test-80.toml:3:10: error: invalid TOML: invalid boolean, expected `true` — write true or false, or put text in double quotes"],
    );
    // Independent errors on different lines are all reported.
    check(
        "test-80.toml",
        &PRINTER.replace("vendor = \"Test\"", "vendor = Test").replace("dpi = 203", "dpi = 203 dpi"),
        &[
            "test-80.toml:3:10: error: invalid TOML: invalid boolean, expected `true` — write true or false, or put text in double quotes",
            "test-80.toml:9:7: error: invalid TOML: string values must be quoted, expected literal string — put text values in double quotes, e.g. name = \"Quầy 1\"",
        ],
    );
}

#[test]
fn a_profile_defined_twice_names_both_files() {
    let mut set = ProfileSet::new();
    assert!(load_str(&mut set, "a/printer/test-80.toml", PRINTER).is_empty());
    let second = load_str(&mut set, "b/test-80.toml", PRINTER);
    assert_eq!(
        second.to_string(),
        "b/test-80.toml:1:6: error: profile `test-80` is defined twice: in a/printer/test-80.toml and in b/test-80.toml — copy a profile under a new file name and id to change it, and use that id in station.toml"
    );
    assert_eq!(set.get("test-80").map(|p| p.source.as_str()), Some("a/printer/test-80.toml"));
}

#[test]
fn profile_folders_on_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scanner_dir = dir.path().join("scanner");
    std::fs::create_dir(&scanner_dir).expect("mkdir");
    std::fs::write(scanner_dir.join("test-80.toml"), PRINTER).expect("write");
    std::fs::write(dir.path().join("test-scan.toml"), SCANNER).expect("write");
    std::fs::write(dir.path().join("latin1.toml"), b"vendor = \"\xe9\"\n").expect("write");
    std::fs::write(dir.path().join("README.txt"), "not a profile").expect("write");

    let mut set = ProfileSet::new();
    let diagnostics = load_dir(&mut set, dir.path());
    let latin1 = dir.path().join("latin1.toml");
    let misplaced = scanner_dir.join("test-80.toml");
    assert_eq!(
        diagnostics.to_string(),
        format!(
            "{}: error: profile is not UTF-8 text — save the file as UTF-8\n\
             {}: warning: profile `test-80` is a printer but sits in the `scanner` folder — move it to the `printer` folder",
            latin1.display(),
            misplaced.display()
        )
    );
    let ids: Vec<&str> = set.ids().collect();
    assert_eq!(ids, ["test-80", "test-scan"]);

    let missing = dir.path().join("missing");
    let diagnostics = load_dir(&mut set, &missing);
    let shown = diagnostics.to_string();
    assert!(shown.starts_with(&format!("{}: error: cannot read profile folder: ", missing.display())), "{shown}");
    assert!(shown.ends_with(" — check the path in [profiles] dirs and the folder's permissions"), "{shown}");
}

#[test]
fn shipped_sane_scanner_profiles_reach_the_driver_as_typed_option_maps() {
    use counter_agent_driver_api::ColorMode;
    use counter_agent_driver_sane::options::{self, Constraint, OptionDescriptor, OptionValue, ValueType};
    use ScanSource::{Adf, AdfDuplex, Flatbed};
    let (set, _) = load_builtin();
    // id, sources, back sides turned, the backend's own source values, its mode values.
    type Model = (&'static str, Vec<ScanSource>, bool, &'static [&'static str], &'static [&'static str]);
    let models: [Model; 6] = [
        (
            "fujitsu-fi-7160",
            vec![Adf, AdfDuplex],
            false,
            &["ADF Front", "ADF Back", "ADF Duplex"],
            &["Lineart", "Halftone", "Gray", "Color"],
        ),
        (
            "ricoh-fi-8170",
            vec![Adf, AdfDuplex],
            false,
            &["ADF Front", "ADF Back", "ADF Duplex"],
            &["Lineart", "Halftone", "Gray", "Color"],
        ),
        (
            "canon-dr-c225",
            vec![Adf, AdfDuplex],
            true,
            &["ADF Front", "ADF Back", "ADF Duplex"],
            &["Lineart", "Halftone", "Gray", "Color"],
        ),
        ("epson-ds-530", vec![Adf, AdfDuplex], true, &["ADF Front", "ADF Duplex"], &["Lineart", "Gray", "Color"]),
        (
            "hp-scanjet-pro",
            vec![Flatbed, Adf, AdfDuplex],
            false,
            &["Flatbed", "ADF", "Duplex"],
            &["Lineart", "Gray", "Color"],
        ),
        (
            "brother-ads",
            vec![Adf, AdfDuplex],
            false,
            &["Automatic Document Feeder(left aligned)", "Automatic Document Feeder(left aligned,Duplex)"],
            &["Black & White", "True Gray", "24bit Color"],
        ),
    ];
    let strings = |name: &str, values: &[&str]| OptionDescriptor {
        index: 1,
        name: name.into(),
        title: name.into(),
        value_type: ValueType::String,
        unit: 0,
        size: 64,
        cap: options::CAP_SOFT_SELECT,
        constraint: Constraint::StringList(values.iter().map(|v| v.to_string()).collect()),
    };
    for (id, sources, rotate, source_values, mode_values) in models {
        let profile = set.get(id).unwrap_or_else(|| panic!("{id} is shipped"));
        let settings = profile.scanner_settings().expect("a scanner");
        assert_eq!(settings.sources, sources, "{id}");
        assert_eq!(settings.duplex_back_rotate_180, rotate, "{id}");
        assert_eq!((settings.max_dpi, settings.default_dpi), (600, 300), "{id}");
        let names = &profile.scanner.as_ref().expect("details").options;
        assert_eq!(settings.sane.adf_values, names.adf_values, "{id}: the driver gets the profile's names");
        assert_eq!(settings.sane.lineart_values, names.lineart_values, "{id}");
        let descriptors = [strings("source", source_values), strings("mode", mode_values)];
        for source in &settings.sources {
            let chosen = options::choose_source(&descriptors, &settings.sane, *source)
                .unwrap_or_else(|error| panic!("{id} {source:?}: {error}"));
            let OptionValue::Text(value) = &chosen[0].value else { panic!("a source name") };
            let lower = value.to_ascii_lowercase();
            match source {
                Flatbed => assert!(lower.contains("flatbed"), "{id}: {value}"),
                Adf => assert!(!lower.contains("duplex") && !lower.contains("back"), "{id}: {value}"),
                AdfDuplex => assert!(lower.contains("duplex"), "{id}: {value}"),
            }
        }
        for (color, part) in [(ColorMode::Color, "color"), (ColorMode::Gray, "gray"), (ColorMode::Bw, "")] {
            let chosen = options::choose_mode(&descriptors, &settings.sane, color).expect("a mode");
            let OptionValue::Text(value) = &chosen[0].value else { panic!("a mode name") };
            assert!(value.to_ascii_lowercase().contains(part), "{id} {color:?}: {value}");
        }
    }
}

#[test]
fn scanner_set_passes_backend_options_to_the_driver_as_text() {
    let text = format!(
        "{SCANNER}\n[scanner.set]\ndf-action = \"Stop\"\nbuffermode = true\npage-height = 355.6\nsleeptimer = 15\n"
    );
    let (set, diagnostics) = load_one("test-scan.toml", &text);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let settings = set.get("test-scan").and_then(Profile::scanner_settings).expect("a scanner");
    let extra: Vec<(&str, &str)> = settings.sane.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(extra, [("df-action", "Stop"), ("buffermode", "yes"), ("page-height", "355.6"), ("sleeptimer", "15")]);

    let (_, diagnostics) = load_one("test-scan.toml", &format!("{SCANNER}\n[scanner.set]\ngamma = [1, 2]\n"));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert!(diagnostics[0].contains("`gamma` must be a string, number or boolean, found an array"), "{diagnostics:?}");
    let (_, diagnostics) =
        load_one("test-scan.toml", &SCANNER.replace("[scanner.source_values]", "set = 5\n\n[scanner.source_values]"));
    assert!(diagnostics.iter().any(|d| d.contains("`set` must be a table")), "{diagnostics:?}");
}
