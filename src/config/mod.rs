//! The station file (`station.toml`, one per counter PC): parse → validate → resolve.
//!
//! [`load_station`] reads the file, checks every key, loads the device profiles it needs
//! ([`crate::profile`]) and resolves everything into a [`Station`]. It never stops at the first
//! problem: every error and warning of the station file and its profile folders comes back at
//! once as [`Diagnostics`], each `file:line:col: error: message — hint`.
//!
//! This module owns reading configuration; it must not open devices or sockets, and it knows no
//! driver. What a driver can tell about a device without opening it (a simulator kind, its options,
//! whether the profile suits it) comes back through [`check_devices`], which the caller hands the
//! drivers' checks; what a connection string points at is found out when the device is opened.
//!
//! Relative paths in the file (`data_dir`, `[profiles] dirs`) are taken from the station file's
//! folder, not from the working directory of whoever started the agent.

mod device_check;
mod diagnostic;
mod ids;
mod origin;
pub(crate) mod reader;
mod station;
#[cfg(test)]
mod tests;
mod timezone;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use counter_agent_driver_api::{Connection, DeviceKind, DeviceSettings};

use crate::profile::{self, ProfileSet};

pub use device_check::check_devices;
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use origin::{normalize_origin, OriginError};

/// The listen address when the file has none.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 7420);

/// PDFs with more pages are refused unless `[print] max_pdf_pages` says otherwise.
pub const DEFAULT_MAX_PDF_PAGES: u32 = 500;

/// The unit printed under the agency when `[office]` names none.
pub const DEFAULT_UNIT: &str = "Bộ phận tiếp nhận và trả kết quả";

/// The office of a station file without `[office]`: its station name heads receipts.
pub fn default_office(station_name: &str) -> crate::print::render::Office {
    let agency = station_name.split(" — ").next().unwrap_or(station_name).trim().to_string();
    crate::print::render::Office {
        parent_agency: String::new(),
        agency,
        unit: DEFAULT_UNIT.to_string(),
        address: String::new(),
        phone: None,
        place: String::new(),
        footer_lines: Vec::new(),
    }
}

/// The office's time zone when the file has none; queue day keys use it.
pub const DEFAULT_TIMEZONE: &str = "Asia/Ho_Chi_Minh";

/// A resolved, validated station.
#[derive(Debug, Clone)]
pub struct Station {
    /// The station file, `None` for the demo station.
    pub source: Option<PathBuf>,
    pub name: String,
    pub counter: u32,
    pub timezone: String,
    /// Always a loopback address.
    pub listen: SocketAddr,
    /// Exact origins as browsers send them (see [`normalize_origin`]), without duplicates.
    pub allowed_origins: Vec<String>,
    pub data_dir: PathBuf,
    pub queue: QueueStore,
    /// `[scan] retention`: scans are deleted after this long without activity (`None`: the
    /// agent's default, 1 hour).
    pub scan_retention: Option<std::time::Duration>,
    /// `[print] max_pdf_pages`: longer PDFs are refused.
    pub max_pdf_pages: u32,
    /// `[office]`: the agency printed on receipts and tickets.
    pub office: crate::print::render::Office,
    pub devices: Vec<DeviceConfig>,
    /// Every profile loaded: built-in ones, then those of `[profiles] dirs`.
    pub profiles: ProfileSet,
}

/// Where queue tickets are numbered.
#[derive(Clone, PartialEq, Eq)]
pub enum QueueStore {
    /// The embedded SQLite database in the data directory (this counter only).
    Sqlite,
    /// One PostgreSQL queue shared by all counters of the office.
    Postgres { url: String },
}

/// Hides a password in the URL: `Debug` output ends up in logs.
impl fmt::Debug for QueueStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueStore::Sqlite => f.write_str("Sqlite"),
            QueueStore::Postgres { url } => {
                f.debug_struct("Postgres").field("url", &station::redact_password(url)).finish()
            }
        }
    }
}

/// One configured device, bound to its profile and connection.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceConfig {
    pub id: String,
    pub profile_id: String,
    /// The profile's kind.
    pub kind: DeviceKind,
    pub connection: Connection,
    /// Where the `connection` value is in the station file: 1-based line and character column, as
    /// diagnostics show them. `None` for devices not read from a file (the demo station).
    pub connection_at: Option<(u32, u32)>,
    /// The profile's settings, handed to the driver.
    pub settings: DeviceSettings,
    /// The `name` key of the device if given, else the profile's "vendor model".
    pub display_name: String,
}

/// Command-line flags; each one that is set wins over the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

/// Reads, parses, validates and resolves a station file. `Ok` carries the warnings; `Err`
/// carries every diagnostic, at least one of them an error.
///
/// `supported_schemes` are the connection schemes this build has drivers for (e.g. `["sim"]`);
/// devices using others are errors.
pub fn load_station(
    path: &Path,
    overrides: &Overrides,
    supported_schemes: &[&str],
) -> Result<(Station, Diagnostics), Diagnostics> {
    let shown = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            let diagnostic = Diagnostic::file_level(Severity::Error, &shown, "station file is not UTF-8 text")
                .with_hint("save it as UTF-8 (in Notepad: Save as → Encoding → UTF-8)");
            Diagnostics(vec![diagnostic])
        })?,
        Err(error) => {
            let hint = match error.kind() {
                std::io::ErrorKind::NotFound => {
                    "check the path; the file must exist and be readable by the agent's user"
                }
                _ => "check the file's permissions",
            };
            let message = format!("cannot read station file: {error}");
            return Err(Diagnostics(vec![Diagnostic::file_level(Severity::Error, shown, message).with_hint(hint)]));
        }
    };
    load_station_str(&shown, &text, overrides, supported_schemes)
}

/// [`load_station`] on text already read; `file_name` is shown in diagnostics and its folder
/// anchors relative paths.
pub fn load_station_str(
    file_name: &str,
    text: &str,
    overrides: &Overrides,
    supported_schemes: &[&str],
) -> Result<(Station, Diagnostics), Diagnostics> {
    station::load(file_name, text, overrides, supported_schemes)
}

/// The built-in demo station: every device on a simulator, no allowed origins.
pub fn demo_station(listen: SocketAddr, data_dir: PathBuf) -> Station {
    let (profiles, _) = profile::load_builtin();
    let device = |id: &str, profile_id: &str, sim_kind: &str| {
        let profile = profiles.get(profile_id).expect("the generic built-in profiles always load (tested)");
        DeviceConfig {
            id: id.to_string(),
            profile_id: profile_id.to_string(),
            kind: profile.kind,
            connection: Connection::Sim { kind: sim_kind.to_string(), options: Vec::new() },
            connection_at: None,
            settings: profile.settings.clone(),
            display_name: profile.display_name(),
        }
    };
    let devices = vec![
        device("scanner", "sane-generic", "scanner"),
        device("a4", "ipp-everywhere-a4", "printer-a4"),
        device("receipt", "escpos-generic-80mm", "printer-80mm"),
        device("ticket", "escpos-generic-58mm", "printer-58mm"),
    ];
    Station {
        source: None,
        name: "Quầy demo".to_string(),
        counter: 1,
        timezone: DEFAULT_TIMEZONE.to_string(),
        listen,
        allowed_origins: Vec::new(),
        data_dir,
        queue: QueueStore::Sqlite,
        scan_retention: None,
        max_pdf_pages: DEFAULT_MAX_PDF_PAGES,
        office: crate::print::render::Office {
            parent_agency: "UBND Quận Ba Đình".to_string(),
            agency: "UBND Phường Kim Mã".to_string(),
            unit: DEFAULT_UNIT.to_string(),
            address: "Số 2 Vạn Bảo, phường Kim Mã, quận Ba Đình, Hà Nội".to_string(),
            phone: Some("024 3846 1234".to_string()),
            place: "Hà Nội".to_string(),
            footer_lines: vec!["Bản demo — dữ liệu mô phỏng".to_string()],
        },
        devices,
        profiles,
    }
}

/// The data directory when the file has none: `/var/lib/counter-agent` on Linux,
/// `%ProgramData%\counter-agent` on Windows.
pub fn default_data_dir() -> PathBuf {
    if cfg!(windows) {
        let program_data =
            std::env::var_os("ProgramData").map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from);
        program_data.join("counter-agent")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/counter-agent")
    } else {
        PathBuf::from("/var/lib/counter-agent")
    }
}

/// Device and profile ids: `[a-z0-9][a-z0-9_-]*`.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
