//! Station file tests: one `check(input, expected diagnostics)` helper and many small cases.

use std::net::SocketAddr;
use std::path::PathBuf;

use counter_agent_driver_api::{Connection, DeviceKind, DeviceSettings};

use super::*;

const SIM_ONLY: &[&str] = &["sim"];

/// A valid station with one simulated device; extra text starts on line 8.
const BASE: &str = r#"[station]
name = "Quầy 1"
counter = 1
[[device]]
id = "receipt"
profile = "escpos-generic-80mm"
connection = "sim:printer-80mm"
"#;

fn diagnostics_of(text: &str, overrides: &Overrides, schemes: &[&str]) -> Vec<String> {
    let diagnostics = match load_station_str("station.toml", text, overrides, schemes) {
        Ok((_, warnings)) => {
            assert!(!warnings.has_errors(), "Ok must carry warnings only: {warnings}");
            warnings
        }
        Err(diagnostics) => {
            assert!(diagnostics.has_errors(), "Err must carry an error: {diagnostics}");
            diagnostics
        }
    };
    diagnostics.iter().map(ToString::to_string).collect()
}

/// Loads `text` (sim devices only) and compares every diagnostic, as displayed.
fn check(text: &str, expected: &[&str]) {
    assert_eq!(diagnostics_of(text, &Overrides::default(), SIM_ONLY), expected, "station file:\n{text}");
}

/// A `[server]` that lets a web app in; added after the text under test, so line numbers stay.
const ORIGINS: &str = "[server]\nallowed_origins = [\"https://motcua.example.gov.vn\"]\n";

/// [`BASE`] with [`ORIGINS`]: no diagnostics at all.
fn good() -> String {
    format!("{BASE}{ORIGINS}")
}

/// [`check`] on [`BASE`] followed by `extra`, then [`ORIGINS`] unless `extra` has its own `[server]`.
fn check_extra(extra: &str, expected: &[&str]) {
    let origins = if extra.contains("[server]") { "" } else { ORIGINS };
    check(&format!("{BASE}{extra}{origins}"), expected);
}

/// The warning of a station without `[server]`.
const NO_SERVER: &str = "station.toml:1:1: warning: no web app can use this agent until its origin is listed — add \
                         [server] with allowed_origins = [\"https://…\"], your web app's exact origin";

fn load_ok(text: &str, overrides: &Overrides, schemes: &[&str]) -> Station {
    match load_station_str("station.toml", text, overrides, schemes) {
        Ok((station, warnings)) => {
            assert!(warnings.is_empty(), "unexpected warnings:\n{warnings}");
            station
        }
        Err(diagnostics) => panic!("station should load:\n{diagnostics}"),
    }
}

const DESIGN_EXAMPLE: &str = r#"[station]
name = "UBND phường Long Biên — Quầy 3"
counter = 3
timezone = "Asia/Ho_Chi_Minh"

[server]
listen = "127.0.0.1:7420"
allowed_origins = ["https://motcua.example.gov.vn"]

[storage]
data_dir = "/var/lib/counter-agent"
queue = "sqlite"                      # or "postgres://agent@10.0.0.5/queue"

[[device]]
id = "scanner"
profile = "sane-generic"
connection = "sane:fujitsu:fi-7160:123456"

[[device]]
id = "a4"
profile = "ipp-everywhere-a4"
connection = "ipp://localhost:631/printers/HP_LaserJet"

[[device]]
id = "receipt"
profile = "escpos-generic-80mm"
connection = "usb:04b8:0202"
"#;

#[test]
fn design_example_resolves() {
    let station = load_ok(DESIGN_EXAMPLE, &Overrides::default(), &["sim", "sane", "ipp", "usb"]);
    assert_eq!(station.source, Some(PathBuf::from("station.toml")));
    assert_eq!(station.name, "UBND phường Long Biên — Quầy 3");
    assert_eq!(station.counter, 3);
    assert_eq!(station.timezone, "Asia/Ho_Chi_Minh");
    assert_eq!(station.listen, "127.0.0.1:7420".parse::<SocketAddr>().expect("literal"));
    assert_eq!(station.allowed_origins, ["https://motcua.example.gov.vn"]);
    assert_eq!(station.data_dir, PathBuf::from("/var/lib/counter-agent"));
    assert_eq!(station.queue, QueueStore::Sqlite);
    let devices: Vec<(&str, &str, DeviceKind, String, &str)> = station
        .devices
        .iter()
        .map(|d| (d.id.as_str(), d.profile_id.as_str(), d.kind, d.connection.to_string(), d.display_name.as_str()))
        .collect();
    assert_eq!(
        devices,
        [
            (
                "scanner",
                "sane-generic",
                DeviceKind::Scanner,
                "sane:fujitsu:fi-7160:123456".into(),
                "Máy quét SANE (chung)"
            ),
            (
                "a4",
                "ipp-everywhere-a4",
                DeviceKind::Printer,
                "ipp://localhost:631/printers/HP_LaserJet".into(),
                "Máy in A4 IPP Everywhere"
            ),
            (
                "receipt",
                "escpos-generic-80mm",
                DeviceKind::Printer,
                "usb:04b8:0202".into(),
                "Máy in nhiệt ESC/POS khổ 80 mm"
            ),
        ]
    );
    let receipt = &station.devices[2];
    assert_eq!(Some(&receipt.settings), station.profiles.get("escpos-generic-80mm").map(|p| &p.settings));
    assert!(station.profiles.len() >= 4);
}

#[test]
fn design_example_with_sim_only_reports_each_unsupported_scheme() {
    let actual = diagnostics_of(DESIGN_EXAMPLE, &Overrides::default(), SIM_ONLY);
    assert_eq!(
        actual,
        [
            "station.toml:17:14: error: connection scheme `sane` is not supported yet by this build — this build has drivers for: sim:",
            "station.toml:22:14: error: connection scheme `ipp` is not supported yet by this build — this build has drivers for: sim:",
            "station.toml:27:14: error: connection scheme `usb` is not supported yet by this build — this build has drivers for: sim:",
        ]
    );
}

/// Every problem of one file comes back in one pass, in file order.
#[test]
fn reports_every_problem_at_once() {
    let text = r#"[station]
name = "UBND phường Long Biên — Quầy 3"
counter = "3"
timezone = "Asia/Ho_Chi_Minh"

[server]
listen = "0.0.0.0:7420"
listne = "127.0.0.1:7420"
allowed_origins = ["https://motcua.example.gov.vn/app", "https://motcua.example.gov.vn:443", "https://motcua.example.gov.vn"]

[[device]]
id = "scanner"
profile = "sane-generik"
connection = "sane:fujitsu:fi-7160:123456"

[[device]]
id = "scanner"
profile = "ipp-everywhere-a4"
connection = "ipp://localhost:631"

[[device]]
id = "receipt"
profile = "escpos-generic-80mm"
connection = "lpt:1"

[[device]]
id = "ticket"
profile = "thermal-58"
connection = "usb:0fe6:811e"
"#;
    let known = "`brother-ads`, `canon-dr-c225`, `epson-ds-530`, `epson-tm-t82iii`, `epson-tm-t88vi`, \
                 `escpos-generic-58mm`, `escpos-generic-80mm`, `fujitsu-fi-7160`, `hot-folder`, `hp-scanjet-pro`, \
                 `ipp-everywhere-a4`, `ricoh-fi-8170`, `sane-generic`, `xprinter-xp-58iih` or `xprinter-xp-80c`";
    let expected = [
        "station.toml:3:11: error: `counter` must be an integer, found a string — remove the quotes: counter = 3".to_string(),
        "station.toml:7:10: error: listen address must be loopback — the agent serves only this PC's browser: use 127.0.0.1:7420 (or [::1]:7420)".into(),
        "station.toml:8:1: error: unknown key `listne` in [server] — did you mean `listen`?".into(),
        "station.toml:9:20: error: origin `https://motcua.example.gov.vn/app` has a path, query or fragment; an origin is only scheme://host[:port] — write `https://motcua.example.gov.vn`".into(),
        "station.toml:9:94: warning: origin `https://motcua.example.gov.vn` is listed twice — remove one; the first is on line 9".into(),
        "station.toml:13:11: error: unknown profile `sane-generik` — did you mean `sane-generic`?".into(),
        "station.toml:17:6: error: device id `scanner` is used twice — the first is on line 12; give each device its own id".into(),
        "station.toml:19:14: error: `ipp:` needs a printer path such as /printers/NAME — e.g. ipp://localhost:631/printers/HP_LaserJet".into(),
        "station.toml:24:14: error: unknown connection scheme `lpt` — use one of sane:, folder:, ipp://, ipps://, tcp://, serial:, usb:, file:, sim:".into(),
        format!("station.toml:28:11: error: unknown profile `thermal-58` — known profiles are {known}; add folders of your own with [profiles] dirs"),
        "station.toml:29:14: error: connection scheme `usb` is not supported yet by this build — this build has drivers for: sim:, sane:, ipp:".into(),
    ];
    assert_eq!(diagnostics_of(text, &Overrides::default(), &["sim", "sane", "ipp"]), expected);
}

#[test]
fn station_table() {
    check(
        "[station]\nname = \"Quầy 1\"\n",
        &[
            "station.toml:1:1: error: missing key `counter` in [station] — add counter = 1 (the counter's number in the office)",
            NO_SERVER,
            "station.toml:1:1: warning: no [[device]] entries: the agent will offer no scanner or printer — add [[device]] tables with id, profile and connection",
        ],
    );
    check(
        "[server]\n",
        &[
            "station.toml:1:1: error: missing table [station] — add [station] with name = \"UBND phường … — Quầy 1\" and counter = 1",
            "station.toml:1:1: warning: no web app can use this agent until its origin is listed — list your web app's exact origin, e.g. allowed_origins = [\"https://motcua.example.gov.vn\"]",
            "station.toml:1:1: warning: no [[device]] entries: the agent will offer no scanner or printer — add [[device]] tables with id, profile and connection",
        ],
    );
    check(
        &format!("station = 3\n[[device]]\nid = \"a\"\nprofile = \"sane-generic\"\nconnection = \"sim:scanner\"\n{ORIGINS}"),
        &["station.toml:1:11: error: `station` must be a table, found an integer — write it as a table: [station] on its own line, then its keys"],
    );
    check(
        &format!("[station]\nname = \"  \"\ncounter = 0\ntimezone = \"GMT +7\"\n[[device]]\nid = \"a\"\nprofile = \"sane-generic\"\nconnection = \"sim:scanner\"\n{ORIGINS}"),
        &[
            "station.toml:2:8: error: station name is empty — write the office and counter, e.g. \"UBND phường Long Biên — Quầy 3\"",
            "station.toml:3:11: error: `counter` must be at least 1",
            "station.toml:4:12: error: time zone `GMT +7` is not an IANA zone name or a UTC offset — for UTC+07:00 write timezone = \"+07:00\" (in Việt Nam, \"Asia/Ho_Chi_Minh\")",
        ],
    );
    check(
        &format!("[station]\nname = 3\ncounter = 2.0\n[[device]]\nid = \"a\"\nprofile = \"sane-generic\"\nconnection = \"sim:scanner\"\n{ORIGINS}"),
        &[
            "station.toml:2:8: error: `name` must be a string, found an integer — put it in double quotes: name = \"3\"",
            "station.toml:3:11: error: `counter` must be an integer, found a float — write a whole number, without a decimal point",
        ],
    );
    check(
        &format!("[station]\nname = \"a\"\ncounter = 1\ncountr = 2\n[sever]\n[[device]]\nid = \"a\"\nprofile = \"sane-generic\"\nconnection = \"sim:scanner\"\n{ORIGINS}"),
        &[
            "station.toml:4:1: error: unknown key `countr` in [station] — did you mean `counter`?",
            "station.toml:5:2: error: unknown key `sever` — did you mean `server`?",
        ],
    );
    check(
        &format!("[station]\nname = \"a\"\ncounter = 1\n[printer]\n[[device]]\nid = \"a\"\nprofile = \"sane-generic\"\nconnection = \"sim:scanner\"\n{ORIGINS}"),
        &["station.toml:4:2: error: unknown key `printer` — did you mean `print`?"],
    );
    check_extra(
        "[tickets]\n",
        &["station.toml:8:2: error: unknown key `tickets` — the file accepts `station`, `server`, `storage`, `scan`, `print`, `office`, `profiles` or `device`"],
    );
}

#[test]
fn office_and_print_tables_reach_the_station() {
    let text = format!(
        "{BASE}{ORIGINS}[office]\nparent_agency = \"UBND quận Ba Đình\"\nagency = \" UBND phường Kim Mã \"\nphone = \"024 3846 1234\"\nfooter_lines = [\"Đường dây nóng: 1022\"]\n[print]\nmax_pdf_pages = 50\n"
    );
    let station = load_ok(&text, &Overrides::default(), SIM_ONLY);
    assert_eq!(station.office.agency, "UBND phường Kim Mã");
    assert_eq!(station.office.parent_agency, "UBND quận Ba Đình");
    assert_eq!(station.office.unit, "Bộ phận tiếp nhận và trả kết quả");
    assert_eq!(station.office.phone.as_deref(), Some("024 3846 1234"));
    assert_eq!(station.office.footer_lines, ["Đường dây nóng: 1022"]);
    assert_eq!(station.max_pdf_pages, 50);
    // Without [office] the station name (before " — ") heads receipts.
    let named = BASE.replace("Quầy 1", "UBND phường Kim Mã — Quầy 3");
    let plain = load_ok(&format!("{named}{ORIGINS}"), &Overrides::default(), SIM_ONLY);
    assert_eq!(plain.office.agency, "UBND phường Kim Mã");
    assert_eq!(plain.max_pdf_pages, 500);
    check_extra(
        "[office]\nphone = \"1\"\n",
        &["station.toml:8:1: error: missing key `agency` in [office] — add agency = \"UBND phường Kim Mã\""],
    );
    check_extra(
        "[print]\nmax_pdf_pages = 0\n",
        &["station.toml:9:17: error: `max_pdf_pages` must be between 1 and 5000"],
    );
}

#[test]
fn server_table() {
    check_extra("[server]\nlisten = \"[::1]:7420\"\nallowed_origins = [\"https://a\"]\n", &[]);
    // Without allowed_origins (or with none in it), no web app gets in.
    let no_origins = "station.toml:8:1: warning: no web app can use this agent until its origin is listed — list your \
                      web app's exact origin, e.g. allowed_origins = [\"https://motcua.example.gov.vn\"]";
    check_extra("[server]\nlisten = \"[::1]:7420\"\n", &[no_origins]);
    check_extra(
        "[server]\nallowed_origins = []\n",
        &["station.toml:9:19: warning: no web app can use this agent until its origin is listed — list your web app's exact origin, e.g. allowed_origins = [\"https://motcua.example.gov.vn\"]"],
    );
    check(BASE, &[NO_SERVER]);
    check_extra(
        "[server]\nlisten = \"localhost:7420\"\nallowed_origins = [\"https://a\"]\n",
        &["station.toml:9:10: error: `localhost:7420` is not an IP address and port — write an IP literal, e.g. listen = \"127.0.0.1:7420\"; browsers reach the agent by IP"],
    );
    check_extra(
        "[server]\nlisten = \"192.168.1.10:7420\"\nallowed_origins = [\"https://a\"]\n",
        &["station.toml:9:10: error: listen address must be loopback — the agent serves only this PC's browser: use 127.0.0.1:7420 (or [::1]:7420)"],
    );
    check_extra(
        "[server]\nlisten = \"127.0.0.1:0\"\nallowed_origins = [\"https://a\"]\n",
        &["station.toml:9:10: warning: port 0 picks a different port at each start — web pages look for the agent at a fixed port: use 7420"],
    );
    check_extra(
        "[server]\nallowed_origins = \"https://x\"\n",
        &["station.toml:9:19: error: `allowed_origins` must be an array, found a string — write allowed_origins = [ … ]"],
    );
    check_extra(
        "[server]\nallowed_origins = [\"null\", \"*\", 7, \"https://a\", \"HTTPS://A:443\"]\n",
        &[
            "station.toml:9:20: error: origin `null` is never allowed — `null` is what sandboxed frames and local files send; any page can forge it",
            "station.toml:9:28: error: origin `*` has a wildcard; only exact origins are allowed — list each web app's origin, e.g. https://motcua.example.gov.vn",
            "station.toml:9:33: error: each item of `allowed_origins` must be a string, found an integer — put it in double quotes: allowed_origins = \"7\"",
            "station.toml:9:49: warning: origin `https://a` is listed twice — remove one; the first is on line 9",
        ],
    );
}

#[test]
fn origins_are_normalised_and_deduplicated() {
    let text = format!(
        "{BASE}[server]\nallowed_origins = [\"HTTPS://MotCua.Example.gov.vn:443\", \"http://10.0.0.5:8080\", \"https://motcua.example.gov.vn\"]\n"
    );
    let (station, warnings) =
        load_station_str("station.toml", &text, &Overrides::default(), SIM_ONLY).expect("loads with a warning");
    assert_eq!(station.allowed_origins, ["https://motcua.example.gov.vn", "http://10.0.0.5:8080"]);
    assert_eq!(warnings.len(), 1);
}

#[test]
fn scan_table() {
    check_extra("[scan]\nretention = \"2h\"\n", &[]);
    let station = load_ok(&format!("{BASE}[scan]\nretention = \"45m\"\n{ORIGINS}"), &Overrides::default(), SIM_ONLY);
    assert_eq!(station.scan_retention, Some(std::time::Duration::from_secs(45 * 60)));
    check_extra(
        "[scan]\nretention = \"an hour\"\n",
        &["station.toml:9:13: error: retention `an hour` is not a duration: expected number at 0 — write a duration such as \"30m\", \"1h\" or \"8h\" (default 1h)"],
    );
    check_extra(
        "[scan]\nretention = \"10s\"\n",
        &["station.toml:9:13: error: retention `10s` must be between 1m and 7days — write a duration such as \"30m\", \"1h\" or \"8h\" (default 1h)"],
    );
    check_extra(
        "[scan]\nretension = \"1h\"\n",
        &["station.toml:9:1: error: unknown key `retension` in [scan] — did you mean `retention`?"],
    );
}

#[test]
fn storage_table() {
    check_extra("[storage]\nqueue = \"sqlite\"\n", &[]);
    let not_yet = "station.toml:9:9: warning: the shared PostgreSQL queue is not available in this build yet; the agent uses the embedded store — each counter numbers its own tickets until then; write queue = \"sqlite\" to say so";
    check_extra("[storage]\nqueue = \"postgres://agent@10.0.0.5/queue\"\n", &[not_yet]);
    check_extra("[storage]\nqueue = \"postgresql://agent@10.0.0.5:5433/queue\"\n", &[not_yet]);
    check_extra(
        "[storage]\nqueue = \"mysql://x\"\n",
        &["station.toml:9:9: error: queue `mysql://x` is neither `sqlite` nor a postgres:// URL — write queue = \"sqlite\" (this counter only) or queue = \"postgres://agent@10.0.0.5/queue\" (shared)"],
    );
    check_extra(
        "[storage]\nqueue = \"postgres://agent:s3cret@10.0.0.5/queue\"\n",
        &[
            "station.toml:9:9: warning: the queue URL holds a password that anyone who can read this file can see — leave it out and give it in the agent user's ~/.pgpass (or PGPASSWORD)",
            not_yet,
        ],
    );
    check_extra(
        "[storage]\ndata_dir = \"\"\nqueu = \"sqlite\"\n",
        &[
            "station.toml:9:12: error: data_dir is empty — write a folder, e.g. data_dir = \"/var/lib/counter-agent\", or remove the key",
            "station.toml:10:1: error: unknown key `queu` in [storage] — did you mean `queue`?",
        ],
    );
}

#[test]
fn queue_store_and_paths_resolve() {
    let text = format!("{BASE}[storage]\ndata_dir = \"data\"\nqueue = \"postgres://agent:s3cret@10.0.0.5/queue\"\n");
    let (station, warnings) =
        load_station_str("/etc/counter-agent/station.toml", &text, &Overrides::default(), SIM_ONLY).expect("loads");
    // No [server] allowed_origins, a password in the URL, and no shared queue yet.
    assert_eq!((warnings.n_errors(), warnings.n_warnings()), (0, 3), "{warnings}");
    assert_eq!(station.data_dir, PathBuf::from("/etc/counter-agent/data"));
    assert_eq!(station.queue, QueueStore::Postgres { url: "postgres://agent:s3cret@10.0.0.5/queue".into() });
    assert_eq!(format!("{:?}", station.queue), r#"Postgres { url: "postgres://agent:***@10.0.0.5/queue" }"#);

    let station = load_ok(&good(), &Overrides::default(), SIM_ONLY);
    assert_eq!(station.data_dir, default_data_dir());
    assert_eq!(station.listen, DEFAULT_LISTEN);
    assert_eq!(station.timezone, DEFAULT_TIMEZONE);
    assert_eq!(station.queue, QueueStore::Sqlite);
    assert_eq!(station.allowed_origins, ["https://motcua.example.gov.vn"]);
}

#[test]
fn devices() {
    check_extra(
        "[[device]]\nid = \"Máy in\"\nprofile = \"escpos-generic-58mm\"\nconnection = \"sim:printer-58mm\"\n",
        &["station.toml:9:6: error: device id `Máy in` must be lowercase letters, digits, `-` and `_` — ids are plain ASCII, e.g. id = \"may-in\"; put the Vietnamese name in name = \"Máy in\""],
    );
    check_extra(
        "[[device]]\nid = \"Ticket 2\"\nprofile = \"escpos-generic-58mm\"\nconnection = \"sim:printer-58mm\"\n",
        &["station.toml:9:6: error: device id `Ticket 2` must be lowercase letters, digits, `-` and `_` — e.g. id = \"ticket-2\""],
    );
    check_extra(
        "[[device]]\nid = \"scan\"\nprofile = \"sane-generic\"\nconnection = \"tcp://192.168.1.50\"\n",
        &[
            "station.toml:11:14: error: connection scheme `tcp` is not supported yet by this build — this build has drivers for: sim:",
            "station.toml:11:14: error: profile `sane-generic` is a scanner but `tcp:` connects a printer — scanners connect with sane:, folder: or usb:",
        ],
    );
    check_extra(
        "[[device]]\nid = \"ticket\"\nprofile = \"escpos-generic-58mm\"\nconnection = \"sim:printer-58mm?paper=near-end\"\n",
        &[],
    );
    check_extra(
        "[[device]]\nid = \"ticket\"\nprofile = \"escpos-generic-58mm\"\n",
        &["station.toml:8:1: error: missing key `connection` in [[device]] — add connection = \"usb:04b8:0202\""],
    );
    check_extra(
        "[device]\nid = \"x\"\n",
        &["station.toml:8:2: error: invalid TOML: duplicate key — each key and each [table] may appear only once; [[device]] repeats with double brackets"],
    );
    check(
        &format!("[station]\nname = \"a\"\ncounter = 1\n[device]\nid = \"x\"\n{ORIGINS}"),
        &["station.toml:4:1: error: `device` must be an array of tables, found a table — repeat `[[device]]` with double brackets, once per entry"],
    );
    check_extra(
        "[[device]]\nid = \"ticket\"\nprofile = \"escpos-generic-58mm\"\nconnection = \"sim:printer-58mm\"\nconection = \"x\"\nname = \"\"\n",
        &[
            "station.toml:12:1: error: unknown key `conection` in [[device]] — did you mean `connection`?",
            "station.toml:13:8: error: device name is empty — write a name or remove the key",
        ],
    );
}

#[test]
fn two_devices_cannot_share_a_physical_device() {
    let text = format!(
        "{BASE}[[device]]\nid = \"a\"\nprofile = \"escpos-generic-80mm\"\nconnection = \"tcp://10.0.0.9\"\n\
         [[device]]\nid = \"b\"\nprofile = \"escpos-generic-58mm\"\nconnection = \"tcp://10.0.0.9:9100\"\n{ORIGINS}"
    );
    let actual = diagnostics_of(&text, &Overrides::default(), &["sim", "tcp"]);
    assert_eq!(
        actual,
        ["station.toml:15:14: error: device `a` already uses connection `tcp://10.0.0.9:9100` — one device, one [[device]]: point this entry at another device or remove it (the first is on line 11)"]
    );
}

/// Two devices on one device: the second is an error at its connection, naming the first.
fn check_shared(first: &str, second: &str, expected: &[&str]) {
    let text = format!(
        "{BASE}[[device]]\nid = \"a\"\nprofile = \"escpos-generic-58mm\"\nconnection = \"{first}\"\n\
         [[device]]\nid = \"b\"\nprofile = \"escpos-generic-58mm\"\nconnection = \"{second}\"\n{ORIGINS}"
    );
    let schemes = ["sim", "tcp", "serial", "usb", "ipp", "ipps", "file", "folder"];
    let diagnostics = diagnostics_of(&text, &Overrides::default(), &schemes);
    // A folder is a scanner: the printer profile used here is refused too; only sharing matters.
    let diagnostics: Vec<String> = diagnostics.into_iter().filter(|d| !d.contains("connects a scanner")).collect();
    assert_eq!(diagnostics, expected, "{first} and {second}");
}

#[test]
fn one_device_one_entry() {
    let twice = |connection: &str| {
        format!(
            "station.toml:15:14: error: device `a` already uses connection `{connection}` — one device, one \
             [[device]]: point this entry at another device or remove it (the first is on line 11)"
        )
    };
    // Simulators too: each is driven by one actor.
    check_shared("sim:printer-58mm", "sim:printer-58mm", &[&twice("sim:printer-58mm")]);
    check_shared(
        "sim:printer-58mm",
        "sim:printer-80mm",
        &["station.toml:15:14: error: device `receipt` already uses connection `sim:printer-80mm` — one device, one [[device]]: point this entry at another device or remove it (the first is on line 7)"],
    );
    check_shared("sim:printer-58mm?paper=out", "sim:printer-58mm?paper=ok", &[]);
    // Line settings do not make another port; ipp and ipps reach the same queue.
    check_shared(
        "serial:/dev/ttyUSB0?baud=9600",
        "serial:/dev/ttyUSB0?baud=19200",
        &[&twice("serial:/dev/ttyUSB0?baud=9600&flow=none")],
    );
    check_shared("serial:/dev/ttyUSB0", "serial:/dev/ttyUSB1", &[]);
    check_shared(
        "ipp://Printer.local/ipp/print",
        "ipps://printer.local:631/ipp/print",
        &[&twice("ipp://Printer.local:631/ipp/print")],
    );
    check_shared("tcp://10.0.0.9:9100", "tcp://10.0.0.9:9101", &[]);
    // A hot folder's options (`?idle=…`) and a trailing slash do not make another folder.
    check_shared("folder:/srv/scan", "folder:/srv/scan/?idle=20s", &[&twice("folder:/srv/scan")]);
    check_shared("folder:/srv/scan-1", "folder:/srv/scan-2", &[]);
    check_shared("file:/dev/usb/lp0", "file:/dev/usb/lp0", &[&twice("file:/dev/usb/lp0")]);
    // USB: two of the same model need their serial numbers.
    check_shared("usb:0fe6:811e:A1", "usb:0fe6:811e:B2", &[]);
    check_shared("usb:0fe6:811e:A1", "usb:0fe6:811e:A1", &[&twice("usb:0fe6:811e:A1")]);
    check_shared(
        "usb:0fe6:811e",
        "usb:0fe6:811e:B2",
        &["station.toml:15:14: error: device `a` already uses connection `usb:0fe6:811e` — without a serial number usb:VID:PID opens the first such device it finds; give both their serial numbers, usb:VID:PID:SERIAL (see `counter-agent devices`; the first is on line 11)"],
    );
}

#[test]
fn device_names_and_settings_come_from_profile_unless_named() {
    let text = format!("{BASE}[[device]]\nid = \"ticket\"\nprofile = \"escpos-generic-58mm\"\nconnection = \"sim:printer-58mm\"\nname = \"Máy in phiếu\"\n{ORIGINS}");
    let station = load_ok(&text, &Overrides::default(), SIM_ONLY);
    assert_eq!(station.devices[0].display_name, "Máy in nhiệt ESC/POS khổ 80 mm");
    assert_eq!(station.devices[1].display_name, "Máy in phiếu");
    let DeviceSettings::Printer(settings) = &station.devices[1].settings else { panic!("a printer") };
    assert_eq!((settings.printable_dots, settings.dpi, settings.cutter), (384, 203, false));
    assert_eq!(station.devices[1].connection, Connection::Sim { kind: "printer-58mm".into(), options: vec![] });
}

#[test]
fn syntax_errors_give_the_parser_position() {
    check(
        "[station]\nname = \"Quầy 1\ncounter = 1\n",
        &["station.toml:2:15: error: invalid TOML: invalid basic string, expected `\"` — close the text with the same quote it starts with"],
    );
    check(
        "[station]\nname = Quầy\n",
        &["station.toml:2:8: error: invalid TOML: string values must be quoted, expected literal string — put text values in double quotes, e.g. name = \"Quầy 1\""],
    );
    check(
        "[station]\nname = \"a\"\nname = \"b\"\n",
        &["station.toml:3:1: error: invalid TOML: duplicate key — each key and each [table] may appear only once; [[device]] repeats with double brackets"],
    );
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let text = format!("\u{feff}{}", good());
    load_ok(&text, &Overrides::default(), SIM_ONLY);
}

#[test]
fn overrides_win_over_the_file() {
    let text = format!(
        "{BASE}[server]\nlisten = \"127.0.0.1:7420\"\nallowed_origins = [\"https://a\"]\n[storage]\ndata_dir = \"/srv/agent\"\n"
    );
    let listen: SocketAddr = "127.0.0.1:9999".parse().expect("literal");
    let overrides = Overrides { listen: Some(listen), data_dir: Some(PathBuf::from("/tmp/agent-data")) };
    let station = load_ok(&text, &overrides, SIM_ONLY);
    assert_eq!(station.listen, listen);
    assert_eq!(station.data_dir, PathBuf::from("/tmp/agent-data"));

    let listen_only = Overrides { listen: Some(listen), data_dir: None };
    let station = load_ok(&text, &listen_only, SIM_ONLY);
    assert_eq!((station.listen, station.data_dir), (listen, PathBuf::from("/srv/agent")));

    // The file is still checked, and a flag must obey the same rule as the file.
    let bad_file = format!("{BASE}[server]\nlisten = \"0.0.0.0:7420\"\nallowed_origins = [\"https://a\"]\n");
    let public = Overrides { listen: Some("0.0.0.0:7420".parse().expect("literal")), data_dir: None };
    assert_eq!(
        diagnostics_of(&bad_file, &public, SIM_ONLY),
        [
            "station.toml:9:10: error: listen address must be loopback — the agent serves only this PC's browser: use 127.0.0.1:7420 (or [::1]:7420)",
            "<command line>: error: --listen address 0.0.0.0:7420 must be loopback — the agent serves only this PC's browser: use 127.0.0.1:7420 (or [::1]:7420)",
        ]
    );
}

#[test]
fn station_files_on_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.toml");
    let error = load_station(&missing, &Overrides::default(), SIM_ONLY).expect_err("missing file");
    assert_eq!(error.len(), 1);
    let shown = error.to_string();
    assert!(shown.starts_with(&format!("{}: error: cannot read station file: ", missing.display())), "{shown}");
    assert!(shown.ends_with(" — check the path; the file must exist and be readable by the agent's user"), "{shown}");

    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(&latin1, b"[station]\nname = \"Qu\xe1y\"\n").expect("write");
    let error = load_station(&latin1, &Overrides::default(), SIM_ONLY).expect_err("not UTF-8");
    assert_eq!(
        error.to_string(),
        format!(
            "{}: error: station file is not UTF-8 text — save it as UTF-8 (in Notepad: Save as → Encoding → UTF-8)",
            latin1.display()
        )
    );

    let good = dir.path().join("station.toml");
    std::fs::write(&good, self::good()).expect("write");
    let (station, warnings) = load_station(&good, &Overrides::default(), SIM_ONLY).expect("loads");
    assert!(warnings.is_empty());
    assert_eq!(station.source.as_deref(), Some(good.as_path()));
}

const EXTRA_PROFILE: &str = r#"id = "custom-80"
kind = "printer"
vendor = "Xprinter"
model = "XP-Q80"

[printer]
paper_width_mm = 80
printable_dots = 576
dpi = 203
cutter = true
formats = ["escpos"]
status = "dle-eot"
"#;

#[test]
fn extra_profile_folders() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profiles = dir.path().join("my-profiles");
    std::fs::create_dir_all(profiles.join("printer")).expect("mkdir");
    std::fs::write(profiles.join("printer/custom-80.toml"), EXTRA_PROFILE).expect("write");
    // A copy of a built-in profile under the same id is refused, naming both files.
    let copy = profiles.join("printer/escpos-generic-58mm.toml");
    std::fs::write(&copy, EXTRA_PROFILE.replace("custom-80", "escpos-generic-58mm")).expect("write");
    // A profile with an error: a device naming it is told where to look.
    let broken = profiles.join("printer/broken-80.toml");
    std::fs::write(&broken, EXTRA_PROFILE.replace("custom-80", "broken-80").replace("dpi = 203", "dpi = 0"))
        .expect("write");

    let station_path = dir.path().join("station.toml");
    let text = format!(
        "{BASE}[profiles]\ndirs = [\"my-profiles\", \"nowhere\"]\n\
         [[device]]\nid = \"custom\"\nprofile = \"custom-80\"\nconnection = \"sim:printer-80mm?paper=ok\"\n\
         [[device]]\nid = \"broken\"\nprofile = \"broken-80\"\nconnection = \"sim:printer-80mm?paper=out\"\n{ORIGINS}"
    );
    std::fs::write(&station_path, &text).expect("write");
    let error = load_station(&station_path, &Overrides::default(), SIM_ONLY).expect_err("has errors");
    let station_file = station_path.display();
    let actual: Vec<String> = error.iter().map(ToString::to_string).collect();
    assert_eq!(
        actual,
        [
            format!(
                "{station_file}:9:24: error: profile folder `{}` does not exist — create it or fix the path; a relative path starts at the station file's folder",
                dir.path().join("nowhere").display()
            ),
            format!("{station_file}:16:11: error: profile `broken-80` did not load — fix the errors reported in {}", broken.display()),
            format!("{}:9:7: error: `dpi` must be between 1 and 4800", broken.display()),
            format!(
                "{}:1:6: error: profile `escpos-generic-58mm` is defined twice: in <built-in>/escpos-generic-58mm.toml and in {} — copy a profile under a new file name and id to change it, and use that id in station.toml",
                copy.display(),
                copy.display()
            ),
        ]
    );

    // Without the broken pieces, the extra profile resolves.
    std::fs::remove_file(&copy).expect("remove");
    std::fs::remove_file(&broken).expect("remove");
    let text = text.replace(", \"nowhere\"", "").replace(
        "\n[[device]]\nid = \"broken\"\nprofile = \"broken-80\"\nconnection = \"sim:printer-80mm?paper=out\"",
        "",
    );
    std::fs::write(&station_path, &text).expect("write");
    let (station, warnings) = load_station(&station_path, &Overrides::default(), SIM_ONLY).expect("loads");
    assert!(warnings.is_empty(), "{warnings}");
    let custom = station.devices.iter().find(|d| d.id == "custom").expect("custom device");
    assert_eq!(custom.display_name, "Xprinter XP-Q80");
    assert_eq!(
        station.profiles.get("custom-80").map(|p| p.source.clone()),
        Some(profiles.join("printer/custom-80.toml").display().to_string())
    );
}

#[test]
fn demo_station_uses_the_generic_profiles_on_simulators() {
    let listen: SocketAddr = "127.0.0.1:7420".parse().expect("literal");
    let station = demo_station(listen, PathBuf::from("demo-data"));
    assert_eq!((station.name.as_str(), station.counter, station.listen), ("Quầy demo", 1, listen));
    assert_eq!(station.source, None);
    assert!(station.allowed_origins.is_empty());
    let devices: Vec<(&str, &str, DeviceKind, String)> = station
        .devices
        .iter()
        .map(|d| (d.id.as_str(), d.profile_id.as_str(), d.kind, d.connection.to_string()))
        .collect();
    assert_eq!(
        devices,
        [
            ("scanner", "sane-generic", DeviceKind::Scanner, "sim:scanner".to_string()),
            ("a4", "ipp-everywhere-a4", DeviceKind::Printer, "sim:printer-a4".to_string()),
            ("receipt", "escpos-generic-80mm", DeviceKind::Printer, "sim:printer-80mm".to_string()),
            ("ticket", "escpos-generic-58mm", DeviceKind::Printer, "sim:printer-58mm".to_string()),
        ]
    );
    for device in &station.devices {
        assert_eq!(device.settings.kind(), device.kind, "{}", device.id);
    }
}

#[test]
fn ids() {
    for id in ["a", "receipt", "scanner-2", "0", "a_b-c"] {
        assert!(is_valid_id(id), "{id}");
    }
    for id in ["", "-a", "_a", "A", "máy", "a b", "a.b"] {
        assert!(!is_valid_id(id), "{id}");
    }
}

/// `[station] timezone = …` on [`BASE`]: the value is on line 4, column 12.
fn check_zone(zone: &str, expected: &[&str]) {
    let (station, devices) = BASE.split_at(BASE.find("[[device]]").expect("BASE has a device"));
    let text = format!("{station}timezone = \"{zone}\"\n{devices}");
    assert!(text.starts_with("[station]\nname = \"Quầy 1\"\ncounter = 1\ntimezone"), "{text}");
    check(&format!("{text}{ORIGINS}"), expected);
}

#[test]
fn time_zones() {
    for zone in ["Asia/Ho_Chi_Minh", "Asia/Saigon", "Asia/Bangkok", "UTC", "Etc/UTC", "+07:00", "-03:30", "Etc/GMT-0"] {
        check_zone(zone, &[]);
    }
    check_zone(
        "Mars/Olympus",
        &["station.toml:4:12: error: time zone `Mars/Olympus` is not an IANA zone name or a UTC offset — write timezone = \"Asia/Ho_Chi_Minh\" (Việt Nam), another IANA name such as \"Asia/Bangkok\", or a UTC offset such as \"+07:00\""],
    );
    check_zone(
        "Asia/Saigon_City",
        &["station.toml:4:12: error: time zone `Asia/Saigon_City` is not an IANA zone name or a UTC offset — did you mean `Asia/Saigon`? Zone names are case-sensitive"],
    );
    check_zone(
        "asia/ho_chi_minh",
        &["station.toml:4:12: error: time zone `asia/ho_chi_minh` is not an IANA zone name or a UTC offset — did you mean `Asia/Ho_Chi_Minh`? Zone names are case-sensitive"],
    );
    check_zone(
        "UTC+7",
        &["station.toml:4:12: error: time zone `UTC+7` is not an IANA zone name or a UTC offset — for UTC+07:00 write timezone = \"+07:00\" (in Việt Nam, \"Asia/Ho_Chi_Minh\")"],
    );
    check_zone(
        "Etc/GMT+7",
        &["station.toml:4:12: warning: `Etc/GMT+7` is UTC-07:00: the sign of Etc/GMT names is the opposite of what they seem — if UTC-07:00 is meant, write timezone = \"-07:00\", which reads the way it is meant"],
    );
    // A warning keeps the zone as written.
    let (station, devices) = BASE.split_at(BASE.find("[[device]]").expect("BASE has a device"));
    let text = format!("{station}timezone = \"Etc/GMT-7\"\n{devices}{ORIGINS}");
    let (station, warnings) = load_station_str("station.toml", &text, &Overrides::default(), SIM_ONLY).expect("loads");
    assert_eq!((station.timezone.as_str(), warnings.n_warnings()), ("Etc/GMT-7", 1));
}

#[test]
fn invalid_ids_get_a_clean_id_in_the_hint() {
    let check_id = |id: &str, hint: &str| {
        let extra = format!(
            "[[device]]\nid = \"{id}\"\nprofile = \"escpos-generic-58mm\"\nconnection = \"sim:printer-58mm\"\n"
        );
        let expected = format!(
            "station.toml:9:6: error: device id `{id}` must be lowercase letters, digits, `-` and `_` — {hint}"
        );
        check_extra(&extra, &[&expected]);
    };
    check_id("../etc", "e.g. id = \"etc\"");
    check_id("../../", "e.g. id = \"receipt\"");
    check_id("", "e.g. id = \"receipt\"");
    check_id("-ticket_", "e.g. id = \"ticket\"");
    check_id("Ticket.2", "e.g. id = \"ticket-2\"");
    check_id(
        "Máy in số 2",
        "ids are plain ASCII, e.g. id = \"may-in-so-2\"; put the Vietnamese name in name = \"Máy in số 2\"",
    );
    check_id("ĐẦU ĐỌC", "ids are plain ASCII, e.g. id = \"dau-doc\"; put the Vietnamese name in name = \"ĐẦU ĐỌC\"");
    // Path-like text is never offered as a name either.
    check_id("../Máy in", "e.g. id = \"may-in\"");
    check_id("Quầy 3/máy", "e.g. id = \"quay-3-may\"");
}

#[test]
fn clean_ids() {
    let check = |value: &str, expected: &str| assert_eq!(ids::clean_id(value), expected, "{value:?}");
    check("Ticket 2", "ticket-2");
    check("a__b", "a_b");
    check("a - b", "a-b");
    check("_a", "a");
    check("..", "");
    // Decomposed text: `a` followed by a combining acute accent.
    check("Ma\u{301}y", "may");
    for value in ["../etc", "Máy in", " x ", "-", "A.B/C\\D"] {
        let cleaned = ids::clean_id(value);
        assert!(cleaned.is_empty() || is_valid_id(&cleaned), "{value:?} → {cleaned:?}");
    }
}

#[test]
fn every_bad_serial_option_is_reported() {
    let extra = "[[device]]\nid = \"ticket\"\nprofile = \"escpos-generic-58mm\"\nconnection = \"serial:/dev/ttyS0?baud=fast&flow=maybe\"\n";
    let expected = [
        "station.toml:11:14: error: invalid serial option `baud=fast` — serial options are baud=<number> and flow=none|rtscts|xonxoff",
        "station.toml:11:14: error: invalid serial option `flow=maybe` — serial options are baud=<number> and flow=none|rtscts|xonxoff",
    ];
    assert_eq!(diagnostics_of(&format!("{BASE}{extra}{ORIGINS}"), &Overrides::default(), &["sim", "serial"]), expected);
}

/// Driver problems come back at each device's connection value; config knows no driver, so these
/// tests hand it a made-up check.
#[test]
fn driver_problems_are_reported_at_the_connection() {
    let text = format!(
        "{BASE}[[device]]\nid = \"scanner\"\nprofile = \"sane-generic\"\n  connection  =  \"sim:printer-a4\"\n{ORIGINS}"
    );
    let station = load_ok(&text, &Overrides::default(), SIM_ONLY);
    let at: Vec<Option<(u32, u32)>> = station.devices.iter().map(|d| d.connection_at).collect();
    assert_eq!(at, [Some((7, 14)), Some((11, 18))]);

    let diagnostics = check_devices(&station, |spec| match (spec.id.as_str(), spec.settings.kind()) {
        ("scanner", DeviceKind::Scanner) => vec![
            "sim:printer-a4 is a printer but the profile is for a scanner — write connection = \"sim:scanner\"".into(),
            "a problem without a hint".into(),
        ],
        _ => Vec::new(),
    });
    let shown: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "station.toml:11:18: error: device `scanner`: sim:printer-a4 is a printer but the profile is for a scanner — write connection = \"sim:scanner\"",
            "station.toml:11:18: error: device `scanner`: a problem without a hint",
        ]
    );
    assert!(diagnostics.has_errors());
    assert!(check_devices(&station, |_| Vec::new()).is_empty());

    // The demo station has no file: its problems are about the station as a whole.
    let demo = demo_station("127.0.0.1:7420".parse().expect("literal"), PathBuf::from("demo-data"));
    let diagnostics = check_devices(&demo, |spec| if spec.id == "a4" { vec!["odd — fix it".into()] } else { vec![] });
    assert_eq!(diagnostics.to_string(), "<demo station>: error: device `a4`: odd — fix it");
}
