//! Device profiles: what one model of printer or scanner can do, and its quirks.
//!
//! A profile is a TOML file `profiles/<kind>/<vendor>-<model>.toml` whose file stem is its id.
//! The shipped ones are embedded in the binary ([`load_builtin`]); technicians add folders of
//! their own ([`load_dir`]). Loading parses, validates with named checks and resolves into
//! [`Profile`], reporting every problem as a [`Diagnostic`](crate::config::Diagnostic).
//!
//! This module reads profile files only; it knows nothing of stations or of devices at runtime.
//!
//! # Schema
//!
//! Top level: `id` (must equal the file stem), `kind` (`"printer"` or `"scanner"`), `vendor`,
//! `model` (shown together as the device's display name, so Vietnamese where it is not a brand),
//! `notes` (optional text for technicians, Vietnamese), then exactly one of the tables below,
//! matching `kind`. Unknown keys are errors.
//!
//! `[printer]`
//! * `paper_width_mm` — paper roll or sheet width.
//! * `printable_dots` — print width in dots; required (> 0, a multiple of 8) for `escpos`, 0 or
//!   absent for page printers. Must fit `paper_width_mm` at `dpi`.
//! * `dpi` — dots per inch of the print head, or the raster resolution for page printers.
//! * `cutter` — whether `GS V` may be sent.
//! * `formats` — `["escpos"]` and/or `["pdf"]`.
//! * `vietnamese_code_pages` — ESC/POS code tables verified to print Vietnamese, in order of
//!   preference: `{ name = "TCVN-3", esc_t = 30, esc_t_upper = 31 }` (`name` one of `TCVN-3`,
//!   `WPC1258`, `VISCII`; `esc_t_upper` is the TCVN-3 capitals table). Empty: raster text.
//! * `native_qr` — the printer draws QR codes itself (`GS ( k`, model 2).
//! * `status` — `"dle-eot"` (polled), `"asb"` (Automatic Status Back) or `"none"`; required for
//!   `escpos`.
//! * `chinese_mode_off` — send `FS .` after `ESC @` (clones that start in Chinese mode).
//! * `trim_raster` — the printer honours `GS L` (left margin) for raster images, so each band is
//!   sent only where it has ink.
//! * `ipp_everywhere` — a driverless IPP printer that takes PDF.
//!
//! `[scanner]`
//! * `max_dpi`, `default_dpi` — resolution limits (`default_dpi ≤ max_dpi`).
//! * `sources` — any of `"flatbed"`, `"adf"`, `"adf-duplex"`.
//! * `duplex_back_rotate_180` — turn back sides of duplex scans upright.
//! * `[scanner.options]` — SANE option names: `source`, `mode`, `resolution` (default to SANE's
//!   well-known names).
//! * `[scanner.source_values]` — `flatbed`, `adf`, `adf-duplex`: the backend's value names for
//!   each source, tried in order; required for every listed source.
//! * `[scanner.mode_values]` — `color`, `gray`, `lineart`: value names of the mode option
//!   (default to SANE's `Color`, `Gray`, `Lineart`).

mod builtin;
mod printer;
mod scanner;
mod schema;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use counter_agent_driver_api::{DeviceKind, DeviceSettings, PrinterSettings, ScanSource, ScannerSettings};

use crate::config::{Diagnostic, Diagnostics, Severity};

pub use builtin::BUILTIN_PROFILES;

/// One validated profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub id: String,
    pub kind: DeviceKind,
    pub vendor: String,
    pub model: String,
    pub notes: Option<String>,
    /// What a driver receives when it opens a device with this profile.
    pub settings: DeviceSettings,
    /// Printer details beyond [`PrinterSettings`]; `Some` exactly for printers.
    pub printer: Option<PrinterDetails>,
    /// Scanner details beyond [`ScannerSettings`]; `Some` exactly for scanners.
    pub scanner: Option<ScannerDetails>,
    /// The file shown in diagnostics: a path, or `<built-in>/NAME.toml`.
    pub source: String,
}

impl Profile {
    /// "vendor model", the name shown to clerks and technicians.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.vendor, self.model)
    }

    pub fn printer_settings(&self) -> Option<&PrinterSettings> {
        match &self.settings {
            DeviceSettings::Printer(settings) => Some(settings),
            DeviceSettings::Scanner(_) => None,
        }
    }

    pub fn scanner_settings(&self) -> Option<&ScannerSettings> {
        match &self.settings {
            DeviceSettings::Scanner(settings) => Some(settings),
            DeviceSettings::Printer(_) => None,
        }
    }
}

/// How an ESC/POS printer reports paper out, cover open and the like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusProtocol {
    /// Polled real-time status, `DLE EOT n`.
    DleEot,
    /// Automatic Status Back, `GS a n`: the printer sends 4 bytes on every change.
    Asb,
    /// The printer is not asked; only write errors are seen.
    None,
}

impl StatusProtocol {
    pub const ALL: [StatusProtocol; 3] = [StatusProtocol::DleEot, StatusProtocol::Asb, StatusProtocol::None];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusProtocol::DleEot => "dle-eot",
            StatusProtocol::Asb => "asb",
            StatusProtocol::None => "none",
        }
    }
}

/// A character encoding an ESC/POS code table can hold Vietnamese in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VietnameseEncoding {
    /// TCVN 5712 VN3: lowercase letters in one table, capitals in a second one.
    Tcvn3,
    /// Windows-1258: tone marks are combining characters the printer must overlay.
    Wpc1258,
    /// VISCII: six capitals sit on control codes.
    Viscii,
}

impl VietnameseEncoding {
    pub const ALL: [VietnameseEncoding; 3] =
        [VietnameseEncoding::Tcvn3, VietnameseEncoding::Wpc1258, VietnameseEncoding::Viscii];

    pub fn as_str(self) -> &'static str {
        match self {
            VietnameseEncoding::Tcvn3 => "TCVN-3",
            VietnameseEncoding::Wpc1258 => "WPC1258",
            VietnameseEncoding::Viscii => "VISCII",
        }
    }
}

/// One code table verified to print Vietnamese.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodePage {
    pub encoding: VietnameseEncoding,
    /// `n` of `ESC t n` selecting the table.
    pub esc_t: u8,
    /// `n` of the table with the capitals, for encodings split in two (TCVN-3).
    pub esc_t_upper: Option<u8>,
}

/// Printer details the driver API's [`PrinterSettings`] does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterDetails {
    /// Empty: print text as raster images with the bundled font.
    pub vietnamese_code_pages: Vec<CodePage>,
    pub native_qr: bool,
    pub status: StatusProtocol,
    pub chinese_mode_off: bool,
    pub ipp_everywhere: bool,
}

/// Scanner details the driver API's [`ScannerSettings`] does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerDetails {
    pub options: SaneOptionNames,
}

/// How one SANE backend names the options the agent sets. Each value list is tried in order;
/// the first the device offers wins. An empty list means "not offered".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaneOptionNames {
    pub source: String,
    pub mode: String,
    pub resolution: String,
    pub flatbed_values: Vec<String>,
    pub adf_values: Vec<String>,
    pub adf_duplex_values: Vec<String>,
    pub color_values: Vec<String>,
    pub gray_values: Vec<String>,
    pub lineart_values: Vec<String>,
}

impl SaneOptionNames {
    pub fn source_values(&self, source: ScanSource) -> &[String] {
        match source {
            ScanSource::Flatbed => &self.flatbed_values,
            ScanSource::Adf => &self.adf_values,
            ScanSource::AdfDuplex => &self.adf_duplex_values,
        }
    }
}

/// Every loaded profile, by id, plus the ids of files that failed to load.
#[derive(Debug, Clone, Default)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Profile>,
    /// Profile id → file, for files with errors: a station naming one is told where to look.
    broken: BTreeMap<String, String>,
}

impl ProfileSet {
    pub fn new() -> ProfileSet {
        ProfileSet::default()
    }

    pub fn get(&self, id: &str) -> Option<&Profile> {
        self.profiles.get(id)
    }

    /// Profiles in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// The file of a profile that was found but has errors.
    pub fn broken_source(&self, id: &str) -> Option<&str> {
        self.broken.get(id).map(String::as_str)
    }
}

/// The profiles shipped in `profiles/`, embedded at build time. The diagnostics are empty unless
/// a shipped file is broken, which a test forbids.
pub fn load_builtin() -> (ProfileSet, Diagnostics) {
    let mut set = ProfileSet::new();
    let mut diagnostics = Diagnostics::new();
    for (path, text) in BUILTIN_PROFILES {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        diagnostics.extend(load_str(&mut set, &format!("<built-in>/{file_name}"), text));
    }
    (set, diagnostics)
}

/// Loads `DIR/*.toml` and `DIR/*/*.toml` (kind folders such as `printer/`), in name order.
pub fn load_dir(set: &mut ProfileSet, dir: &Path) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    let shown = dir.display().to_string();
    let files = match profile_files(dir) {
        Ok(files) => files,
        Err(error) => {
            let message = format!("cannot read profile folder: {error}");
            let hint = "check the path in [profiles] dirs and the folder's permissions";
            diagnostics.push(Diagnostic::file_level(Severity::Error, shown, message).with_hint(hint));
            return diagnostics;
        }
    };
    for path in files {
        let shown = path.display().to_string();
        match std::fs::read(&path) {
            Err(error) => {
                let message = format!("cannot read profile: {error}");
                diagnostics.push(Diagnostic::file_level(Severity::Error, shown, message));
            }
            Ok(bytes) => match String::from_utf8(bytes) {
                Err(_) => {
                    let diagnostic = Diagnostic::file_level(Severity::Error, shown, "profile is not UTF-8 text")
                        .with_hint("save the file as UTF-8");
                    diagnostics.push(diagnostic);
                }
                Ok(text) => {
                    let folder = path.parent().and_then(Path::file_name).and_then(|name| name.to_str());
                    let found = load_str(set, &shown, &text);
                    diagnostics.extend(found);
                    if let Some(warning) = folder.and_then(|folder| folder_mismatch(set, &path, &shown, folder)) {
                        diagnostics.push(warning);
                    }
                }
            },
        }
    }
    diagnostics
}

/// Parses, validates and adds one profile; `source` is the name shown in diagnostics and its
/// file stem is the expected id.
pub fn load_str(set: &mut ProfileSet, source: &str, text: &str) -> Diagnostics {
    let stem = Path::new(source).file_stem().and_then(|stem| stem.to_str()).unwrap_or(source);
    schema::load(set, source, stem, text.strip_prefix('\u{feff}').unwrap_or(text))
}

fn profile_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path)? {
                let inner = inner?.path();
                if is_toml(&inner) {
                    files.push(inner);
                }
            }
        } else if is_toml(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn is_toml(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|extension| extension == "toml")
}

/// A profile in a `printer/` or `scanner/` folder whose kind is the other one.
fn folder_mismatch(set: &ProfileSet, path: &Path, shown: &str, folder: &str) -> Option<Diagnostic> {
    let id = path.file_stem()?.to_str()?;
    let profile = set.get(id).filter(|profile| profile.source == shown)?;
    let folder_kind = match folder {
        "printer" => DeviceKind::Printer,
        "scanner" => DeviceKind::Scanner,
        _ => return None,
    };
    (profile.kind != folder_kind).then(|| {
        let message = format!("profile `{id}` is a {} but sits in the `{folder}` folder", profile.kind);
        Diagnostic::file_level(Severity::Warning, shown, message)
            .with_hint(format!("move it to the `{}` folder", profile.kind))
    })
}
