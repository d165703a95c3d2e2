//! Reading `station.toml`: each table's keys, the checks on their values, and the resolution into
//! a [`Station`].

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use counter_agent_driver_api::{Connection, DeviceKind};
use toml::Spanned;

use super::ids::invalid_id_hint;
use super::reader::{closest, list, Fields, Sink};
use super::timezone::{check_zone, ZoneNames};
use super::{
    default_data_dir, is_valid_id, normalize_origin, DeviceConfig, Diagnostic, Diagnostics, Overrides, QueueStore,
    Severity, Station, DEFAULT_LISTEN, DEFAULT_TIMEZONE,
};
use crate::print::render::Office;
use crate::profile::{self, ProfileSet};

const TOP_KEYS: &[&str] = &["station", "server", "storage", "scan", "print", "office", "profiles", "device"];
const STATION_KEYS: &[&str] = &["name", "counter", "timezone"];
const SERVER_KEYS: &[&str] = &["listen", "allowed_origins"];
const STORAGE_KEYS: &[&str] = &["data_dir", "queue"];
const PROFILES_KEYS: &[&str] = &["dirs"];
const SCAN_KEYS: &[&str] = &["retention"];
const PRINT_KEYS: &[&str] = &["max_pdf_pages"];
const OFFICE_KEYS: &[&str] = &["parent_agency", "agency", "unit", "address", "phone", "place", "footer_lines"];
/// Shortest and longest `[scan] retention` accepted.
const MIN_RETENTION: std::time::Duration = std::time::Duration::from_secs(60);
const MAX_RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
const DEVICE_KEYS: &[&str] = &["id", "profile", "connection", "name"];

/// Shown as the file of diagnostics about command-line flags.
const COMMAND_LINE: &str = "<command line>";

pub(super) fn load(
    file_name: &str,
    text: &str,
    overrides: &Overrides,
    supported_schemes: &[&str],
) -> Result<(Station, Diagnostics), Diagnostics> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let base_dir = Path::new(file_name).parent().unwrap_or(Path::new(""));
    let sink = Sink::new(file_name, text);
    let Some(document) = sink.parse() else {
        return Err(Diagnostics(sink.finish()));
    };
    let root = Fields::new(&sink, &document, 0..0, "", TOP_KEYS);

    let identity = read_identity(&root);
    let (listen, allowed_origins) = read_server(&root);
    let (data_dir, queue) = read_storage(&root, base_dir);
    let scan_retention = read_scan(&root);
    let max_pdf_pages = read_print(&root);
    let office = read_office(&root);
    let (profiles, profile_diagnostics) = read_profiles(&root, base_dir);
    let devices = read_devices(&root, &profiles, supported_schemes);

    let mut diagnostics = Diagnostics(sink.finish());
    diagnostics.extend(profile_diagnostics);
    if let Some(listen) = overrides.listen.filter(|listen| !listen.ip().is_loopback()) {
        let message = format!("--listen address {listen} must be loopback");
        let diagnostic = Diagnostic::file_level(Severity::Error, COMMAND_LINE, message).with_hint(LOOPBACK_HINT);
        diagnostics.push(diagnostic);
    }
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    // Without errors every required value was read: a missing one is always reported.
    let Some((name, counter, timezone)) = identity else {
        return Err(diagnostics);
    };
    let office = office.unwrap_or_else(|| super::default_office(&name));
    let station = Station {
        source: Some(PathBuf::from(file_name)),
        name,
        counter,
        timezone,
        listen: overrides.listen.unwrap_or(listen),
        allowed_origins,
        data_dir: overrides.data_dir.clone().unwrap_or(data_dir),
        queue,
        scan_retention,
        max_pdf_pages,
        office,
        devices,
        profiles,
    };
    Ok((station, diagnostics))
}

const LOOPBACK_HINT: &str = "the agent serves only this PC's browser: use 127.0.0.1:7420 (or [::1]:7420)";

/// `[station]`: name, counter, timezone.
fn read_identity(root: &Fields<'_>) -> Option<(String, u32, String)> {
    let sink = root.sink();
    let Some(station) = root.table("station", "[station]", STATION_KEYS) else {
        if root.get("station").is_none() {
            let hint = "add [station] with name = \"UBND phường … — Quầy 1\" and counter = 1".to_string();
            sink.error(root.span(), "missing table [station]".into(), Some(hint));
        }
        return None;
    };
    let name = station.required_string("name", "name = \"UBND phường … — Quầy 1\"");
    if let Some(name) = name.as_ref().filter(|name| name.get_ref().trim().is_empty()) {
        sink.error(
            name.span(),
            "station name is empty".into(),
            Some("write the office and counter, e.g. \"UBND phường Long Biên — Quầy 3\"".into()),
        );
    }
    let counter = station.required_number("counter", 1, u32::MAX, "counter = 1 (the counter's number in the office)");
    let timezone = match station.string("timezone") {
        Some(zone) => match check_zone(zone.get_ref(), &ZoneNames::system()) {
            Some((Severity::Error, message, hint)) => {
                sink.error(zone.span(), message, Some(hint));
                None
            }
            Some((severity, message, hint)) => {
                sink.report(severity, zone.span(), message, Some(hint));
                Some(zone.into_inner().to_string())
            }
            None => Some(zone.into_inner().to_string()),
        },
        None => Some(DEFAULT_TIMEZONE.to_string()),
    };
    Some((name?.into_inner().trim().to_string(), counter?.into_inner(), timezone?))
}

const NO_ORIGINS: &str = "no web app can use this agent until its origin is listed";

/// `[server]`: listen (loopback only) and allowed origins (normalised, duplicates warned).
fn read_server(root: &Fields<'_>) -> (SocketAddr, Vec<String>) {
    let Some(server) = root.table("server", "[server]", SERVER_KEYS) else {
        if root.get("server").is_none() {
            let hint = "add [server] with allowed_origins = [\"https://…\"], your web app's exact origin";
            root.sink().warning(root.span(), NO_ORIGINS.into(), Some(hint.into()));
        }
        return (DEFAULT_LISTEN, Vec::new());
    };
    let sink = server.sink();
    let listen = server.string("listen").and_then(|listen| parse_listen(sink, &listen)).unwrap_or(DEFAULT_LISTEN);
    if server.get("allowed_origins").is_none() || server.is_empty_array("allowed_origins") {
        let span = server.get("allowed_origins").map_or(server.span(), |origins| origins.span());
        let hint = "list your web app's exact origin, e.g. allowed_origins = [\"https://motcua.example.gov.vn\"]";
        sink.warning(span, NO_ORIGINS.into(), Some(hint.into()));
    }
    let mut origins: Vec<(String, Range<usize>)> = Vec::new();
    for origin in server.strings("allowed_origins").unwrap_or_default() {
        let normalized = match normalize_origin(origin.get_ref()) {
            Ok(normalized) => normalized,
            Err(error) => {
                sink.error(origin.span(), error.to_string(), Some(error.hint()));
                continue;
            }
        };
        if let Some((_, first)) = origins.iter().find(|(earlier, _)| *earlier == normalized) {
            let message = format!("origin `{normalized}` is listed twice");
            let hint = format!("remove one; the first is on line {}", sink.line(first));
            sink.warning(origin.span(), message, Some(hint));
            continue;
        }
        origins.push((normalized, origin.span()));
    }
    (listen, origins.into_iter().map(|(origin, _)| origin).collect())
}

fn parse_listen(sink: &Sink<'_>, listen: &Spanned<&str>) -> Option<SocketAddr> {
    let Ok(address) = listen.get_ref().trim().parse::<SocketAddr>() else {
        let message = format!("`{}` is not an IP address and port", listen.get_ref());
        let hint = "write an IP literal, e.g. listen = \"127.0.0.1:7420\"; browsers reach the agent by IP".to_string();
        sink.error(listen.span(), message, Some(hint));
        return None;
    };
    if !address.ip().is_loopback() {
        sink.error(listen.span(), "listen address must be loopback".into(), Some(LOOPBACK_HINT.into()));
        return None;
    }
    if address.port() == 0 {
        let message = "port 0 picks a different port at each start".to_string();
        let hint = "web pages look for the agent at a fixed port: use 7420".to_string();
        sink.warning(listen.span(), message, Some(hint));
    }
    Some(address)
}

/// `[storage]`: data directory and queue store.
fn read_storage(root: &Fields<'_>, base_dir: &Path) -> (PathBuf, QueueStore) {
    let Some(storage) = root.table("storage", "[storage]", STORAGE_KEYS) else {
        return (default_data_dir(), QueueStore::Sqlite);
    };
    let sink = storage.sink();
    let data_dir = match storage.string("data_dir") {
        Some(dir) if dir.get_ref().trim().is_empty() => {
            let hint =
                format!("write a folder, e.g. data_dir = \"{}\", or remove the key", default_data_dir().display());
            sink.error(dir.span(), "data_dir is empty".into(), Some(hint));
            default_data_dir()
        }
        Some(dir) => base_dir.join(dir.get_ref()),
        None => default_data_dir(),
    };
    let queue = storage.string("queue").and_then(|queue| parse_queue(sink, &queue)).unwrap_or(QueueStore::Sqlite);
    (data_dir, queue)
}

/// `[scan]`: how long scanned pages are kept without activity (`retention = "1h"`).
fn read_scan(root: &Fields<'_>) -> Option<std::time::Duration> {
    let scan = root.table("scan", "[scan]", SCAN_KEYS)?;
    let sink = scan.sink();
    let retention = scan.string("retention")?;
    let hint = "write a duration such as \"30m\", \"1h\" or \"8h\" (default 1h)".to_string();
    match humantime::parse_duration(retention.get_ref().trim()) {
        Ok(duration) if (MIN_RETENTION..=MAX_RETENTION).contains(&duration) => Some(duration),
        Ok(_) => {
            let message = format!("retention `{}` must be between 1m and 7days", retention.get_ref());
            sink.error(retention.span(), message, Some(hint));
            None
        }
        Err(error) => {
            let message = format!("retention `{}` is not a duration: {error}", retention.get_ref());
            sink.error(retention.span(), message, Some(hint));
            None
        }
    }
}

/// `[print]`: `max_pdf_pages` (default [`super::DEFAULT_MAX_PDF_PAGES`]).
fn read_print(root: &Fields<'_>) -> u32 {
    let Some(print) = root.table("print", "[print]", PRINT_KEYS) else { return super::DEFAULT_MAX_PDF_PAGES };
    print.number("max_pdf_pages", 1, 5000).map_or(super::DEFAULT_MAX_PDF_PAGES, Spanned::into_inner)
}

/// `[office]`: the agency printed on receipts and tickets. Without it, the station name heads them.
fn read_office(root: &Fields<'_>) -> Option<Office> {
    let office = root.table("office", "[office]", OFFICE_KEYS)?;
    let text = |key: &str| office.string(key).map(|value| value.get_ref().trim().to_string());
    let agency = office.required_string("agency", "agency = \"UBND phường Kim Mã\"")?.get_ref().trim().to_string();
    Some(Office {
        parent_agency: text("parent_agency").unwrap_or_default(),
        agency,
        unit: text("unit").unwrap_or_else(|| super::DEFAULT_UNIT.to_string()),
        address: text("address").unwrap_or_default(),
        phone: text("phone").filter(|phone| !phone.is_empty()),
        place: text("place").unwrap_or_default(),
        footer_lines: office
            .strings("footer_lines")
            .unwrap_or_default()
            .into_iter()
            .map(|line| line.get_ref().trim().to_string())
            .collect(),
    })
}

fn parse_queue(sink: &Sink<'_>, queue: &Spanned<&str>) -> Option<QueueStore> {
    let text = queue.get_ref().trim();
    if text.eq_ignore_ascii_case("sqlite") {
        return Some(QueueStore::Sqlite);
    }
    let rest = text.strip_prefix("postgres://").or_else(|| text.strip_prefix("postgresql://"));
    let Some(rest) = rest.filter(|rest| !rest.is_empty()) else {
        let message = format!("queue `{text}` is neither `sqlite` nor a postgres:// URL");
        let hint =
            "write queue = \"sqlite\" (this counter only) or queue = \"postgres://agent@10.0.0.5/queue\" (shared)";
        sink.error(queue.span(), message, Some(hint.into()));
        return None;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.rsplit_once('@').is_some_and(|(user_info, _)| user_info.contains(':')) {
        let message = "the queue URL holds a password that anyone who can read this file can see".to_string();
        let hint = "leave it out and give it in the agent user's ~/.pgpass (or PGPASSWORD)".to_string();
        sink.warning(queue.span(), message, Some(hint));
    }
    // Kept as written, so the file need not change when the shared queue arrives.
    let message =
        "the shared PostgreSQL queue is not available in this build yet; the agent uses the embedded store".to_string();
    let hint = "each counter numbers its own tickets until then; write queue = \"sqlite\" to say so".to_string();
    sink.warning(queue.span(), message, Some(hint));
    Some(QueueStore::Postgres { url: text.to_string() })
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub(super) fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The built-in profiles, then each folder of `[profiles] dirs`.
fn read_profiles(root: &Fields<'_>, base_dir: &Path) -> (ProfileSet, Diagnostics) {
    let (mut set, mut diagnostics) = profile::load_builtin();
    let Some(profiles) = root.table("profiles", "[profiles]", PROFILES_KEYS) else {
        return (set, diagnostics);
    };
    let sink = profiles.sink();
    for dir in profiles.strings("dirs").unwrap_or_default() {
        let path = base_dir.join(dir.get_ref());
        if dir.get_ref().trim().is_empty() {
            sink.error(
                dir.span(),
                "profile folder is empty".into(),
                Some("write a folder path or remove the entry".into()),
            );
        } else if !path.is_dir() {
            let message = format!("profile folder `{}` does not exist", path.display());
            let hint = "create it or fix the path; a relative path starts at the station file's folder".to_string();
            sink.error(dir.span(), message, Some(hint));
        } else {
            diagnostics.extend(profile::load_dir(&mut set, &path));
        }
    }
    (set, diagnostics)
}

/// Each `[[device]]`: its id, profile and connection, checked against each other.
fn read_devices(root: &Fields<'_>, profiles: &ProfileSet, supported_schemes: &[&str]) -> Vec<DeviceConfig> {
    let sink = root.sink();
    let entries = root.tables("device", "[[device]]", DEVICE_KEYS);
    if root.get("device").is_none() {
        let hint = "add [[device]] tables with id, profile and connection".to_string();
        sink.warning(
            root.span(),
            "no [[device]] entries: the agent will offer no scanner or printer".into(),
            Some(hint),
        );
    }
    let mut ids: Vec<Spanned<&str>> = Vec::new();
    let mut connections: Vec<(Connection, String, Range<usize>)> = Vec::new();
    let mut devices = Vec::new();
    for entry in entries {
        let id = entry.required_string("id", "id = \"receipt\"");
        let id = id.filter(|id| check_device_id(sink, id, &ids));
        let profile = entry.required_string("profile", "profile = \"escpos-generic-80mm\"");
        let profile = profile.and_then(|profile| find_profile(sink, &profile, profiles));
        let connection = entry.required_string("connection", "connection = \"usb:04b8:0202\"");
        let connection = connection.and_then(|text| parse_connection(sink, &text, supported_schemes));
        let display_name = match entry.string("name") {
            Some(name) if name.get_ref().trim().is_empty() => {
                sink.error(name.span(), "device name is empty".into(), Some("write a name or remove the key".into()));
                None
            }
            other => other.map(|name| name.get_ref().trim().to_string()),
        };
        if let (Some((connection, span)), Some(profile)) = (&connection, profile) {
            check_connection_kind(sink, connection, span, profile);
        }
        if let (Some((connection, span)), Some(id)) = (&connection, &id) {
            check_shared_connection(sink, connection, span, &connections);
            connections.push((connection.clone(), id.get_ref().to_string(), span.clone()));
        }
        if let Some(id) = &id {
            ids.push(id.clone());
        }
        if let (Some(id), Some(profile), Some((connection, span))) = (id, profile, connection) {
            devices.push(DeviceConfig {
                id: id.get_ref().to_string(),
                profile_id: profile.id.clone(),
                kind: profile.kind,
                connection,
                connection_at: Some(sink.position(&span)),
                settings: profile.settings.clone(),
                display_name: display_name.unwrap_or_else(|| profile.display_name()),
            });
        }
    }
    devices
}

/// Check: a device id is well formed and not used by an earlier device.
fn check_device_id(sink: &Sink<'_>, id: &Spanned<&str>, earlier: &[Spanned<&str>]) -> bool {
    let value = *id.get_ref();
    if !is_valid_id(value) {
        let message = format!("device id `{value}` must be lowercase letters, digits, `-` and `_`");
        sink.error(id.span(), message, Some(invalid_id_hint(value)));
        return false;
    }
    if let Some(first) = earlier.iter().find(|first| first.get_ref() == id.get_ref()) {
        let message = format!("device id `{value}` is used twice");
        let hint = format!("the first is on line {}; give each device its own id", sink.line(&first.span()));
        sink.error(id.span(), message, Some(hint));
        return false;
    }
    true
}

fn find_profile<'p>(sink: &Sink<'_>, id: &Spanned<&str>, profiles: &'p ProfileSet) -> Option<&'p profile::Profile> {
    let value = *id.get_ref();
    if let Some(profile) = profiles.get(value) {
        return Some(profile);
    }
    if let Some(source) = profiles.broken_source(value) {
        let message = format!("profile `{value}` did not load");
        sink.error(id.span(), message, Some(format!("fix the errors reported in {source}")));
        return None;
    }
    let hint = match closest(value, profiles.ids()) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => {
            let known: Vec<&str> = profiles.ids().collect();
            format!("known profiles are {}; add folders of your own with [profiles] dirs", list(&known))
        }
    };
    sink.error(id.span(), format!("unknown profile `{value}`"), Some(hint));
    None
}

fn parse_connection(sink: &Sink<'_>, text: &Spanned<&str>, supported: &[&str]) -> Option<(Connection, Range<usize>)> {
    let connection = match Connection::parse_all(text.get_ref()) {
        Ok(connection) => connection,
        Err(errors) => {
            for error in errors {
                sink.error(text.span(), error.to_string(), Some(error.hint().to_string()));
            }
            return None;
        }
    };
    let scheme = connection.scheme();
    if !supported.contains(&scheme) {
        let message = format!("connection scheme `{scheme}` is not supported yet by this build");
        let schemes: Vec<String> = supported.iter().map(|scheme| format!("{scheme}:")).collect();
        let hint = if schemes.is_empty() {
            "this build has no device drivers".to_string()
        } else {
            format!("this build has drivers for: {}", schemes.join(", "))
        };
        // Still returned: the other checks on the connection have something to say too.
        sink.error(text.span(), message, Some(hint));
    }
    Some((connection, text.span()))
}

/// The kind of device a scheme can reach; `None` for schemes that reach both (`usb:`, `sim:`).
fn scheme_kind(connection: &Connection) -> Option<DeviceKind> {
    match connection {
        Connection::Sane { .. } | Connection::Folder { .. } => Some(DeviceKind::Scanner),
        Connection::Ipp { .. } | Connection::Tcp { .. } | Connection::Serial { .. } | Connection::File { .. } => {
            Some(DeviceKind::Printer)
        }
        Connection::Usb { .. } | Connection::Sim { .. } => None,
    }
}

/// Check: a scanner profile is not bound to a printer connection, nor the reverse.
fn check_connection_kind(sink: &Sink<'_>, connection: &Connection, span: &Range<usize>, profile: &profile::Profile) {
    match scheme_kind(connection) {
        Some(kind) if kind != profile.kind => {
            let message = format!(
                "profile `{}` is a {} but `{}:` connects a {kind}",
                profile.id,
                profile.kind,
                connection.scheme()
            );
            let hint = match profile.kind {
                DeviceKind::Scanner => "scanners connect with sane:, folder: or usb:",
                DeviceKind::Printer => "printers connect with ipp://, ipps://, tcp://, serial:, usb: or file:",
            };
            sink.error(span.clone(), message, Some(hint.into()));
        }
        _ => {}
    }
}

/// Check: two devices do not drive the same device, simulators included: each device is owned by
/// one actor, and two actors on one device is exactly what must not happen.
fn check_shared_connection(
    sink: &Sink<'_>,
    connection: &Connection,
    span: &Range<usize>,
    earlier: &[(Connection, String, Range<usize>)],
) {
    let Some((first, first_id, first_span)) = earlier.iter().find(|(other, _, _)| same_device(other, connection))
    else {
        return;
    };
    let line = sink.line(first_span);
    let message = format!("device `{first_id}` already uses connection `{first}`");
    let hint = match (first, connection) {
        (Connection::Usb { serial: first_serial, .. }, Connection::Usb { serial, .. })
            if first_serial.is_none() || serial.is_none() =>
        {
            format!(
                "without a serial number usb:VID:PID opens the first such device it finds; give both their serial \
                 numbers, usb:VID:PID:SERIAL (see `counter-agent devices`; the first is on line {line})"
            )
        }
        _ => format!(
            "one device, one [[device]]: point this entry at another device or remove it (the first is on line {line})"
        ),
    };
    sink.error(span.clone(), message, Some(hint));
}

/// Whether two connections reach the same device. Line settings (`baud`, `flow`) and `ipp` versus
/// `ipps` do not make another device; a USB connection without a serial number may open any
/// device of its vendor and product.
/// A `folder:` connection's folder, without the driver's `?settle=…&idle=…` options and a
/// trailing slash.
fn folder_path(connection: &str) -> &str {
    let path = connection.split_once('?').map_or(connection, |(path, _)| path);
    path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path)
}

fn same_device(a: &Connection, b: &Connection) -> bool {
    match (a, b) {
        (Connection::Serial { port: a, .. }, Connection::Serial { port: b, .. }) => a == b,
        (
            Connection::Ipp { host: a_host, port: a_port, path: a_path, .. },
            Connection::Ipp { host: b_host, port: b_port, path: b_path, .. },
        ) => a_host.eq_ignore_ascii_case(b_host) && a_port == b_port && a_path == b_path,
        (Connection::Tcp { host: a_host, port: a_port }, Connection::Tcp { host: b_host, port: b_port }) => {
            a_host.eq_ignore_ascii_case(b_host) && a_port == b_port
        }
        (
            Connection::Usb { vendor_id: a_vendor, product_id: a_product, serial: a_serial },
            Connection::Usb { vendor_id: b_vendor, product_id: b_product, serial: b_serial },
        ) => {
            a_vendor == b_vendor
                && a_product == b_product
                && (a_serial.is_none() || b_serial.is_none() || a_serial == b_serial)
        }
        // `folder:/srv/scan?idle=20s` and `folder:/srv/scan` are the same folder: two devices
        // emptying one folder would steal each other's pages.
        (Connection::Folder { path: a }, Connection::Folder { path: b }) => folder_path(a) == folder_path(b),
        _ => a == b,
    }
}
