//! The connection-string grammar shared by every device (DESIGN §4).
//!
//! ```text
//! sane:<sane-device-name>            folder:<path>
//! ipp://host[:port]/path             ipps://host[:port]/path
//! tcp://host[:port]                  serial:<port>[?baud=N&flow=none|rtscts|xonxoff]
//! usb:VID:PID[:SERIAL]               file:<path>
//! sim:<kind>[?key=value&…]
//! ```
//!
//! Parsing checks only the grammar; whether a driver for the scheme is built, and whether the
//! device exists, is decided later.

use std::fmt;
use std::str::FromStr;

/// Hardware flow control on a serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SerialFlow {
    None,
    RtsCts,
    XonXoff,
}

impl SerialFlow {
    pub fn as_str(self) -> &'static str {
        match self {
            SerialFlow::None => "none",
            SerialFlow::RtsCts => "rtscts",
            SerialFlow::XonXoff => "xonxoff",
        }
    }
}

/// A parsed connection string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Connection {
    Sane { device: String },
    Folder { path: String },
    Ipp { secure: bool, host: String, port: u16, path: String },
    Tcp { host: String, port: u16 },
    Serial { port: String, baud: u32, flow: SerialFlow },
    Usb { vendor_id: u16, product_id: u16, serial: Option<String> },
    File { path: String },
    Sim { kind: String, options: Vec<(String, String)> },
}

/// Why a connection string does not parse. Messages say what is wrong; [`ConnectionError::hint`]
/// says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    #[error("connection string is empty")]
    Empty,
    #[error("unknown connection scheme `{scheme}`")]
    UnknownScheme { scheme: String },
    #[error("`{scheme}:` needs {what}")]
    Missing { scheme: &'static str, what: &'static str },
    #[error("invalid port `{value}`")]
    BadPort { value: String },
    #[error("invalid USB id `{value}`: expected 4 hexadecimal digits")]
    BadUsbId { value: String },
    #[error("invalid serial option `{option}`")]
    BadSerialOption { option: String },
    #[error("invalid option `{option}`: expected key=value")]
    BadOption { option: String },
}

impl ConnectionError {
    pub fn hint(&self) -> &'static str {
        match self {
            ConnectionError::Empty | ConnectionError::UnknownScheme { .. } => {
                "use one of sane:, folder:, ipp://, ipps://, tcp://, serial:, usb:, file:, sim:"
            }
            ConnectionError::Missing { scheme, .. } => match *scheme {
                "sane" => "e.g. sane:fujitsu:fi-7160:123456 (see `counter-agent devices`)",
                "folder" => "e.g. folder:/srv/scan-inbox",
                "ipp" | "ipps" => "e.g. ipp://localhost:631/printers/HP_LaserJet",
                "tcp" => "e.g. tcp://192.168.1.50:9100",
                "serial" => "e.g. serial:/dev/ttyUSB0?baud=9600&flow=rtscts",
                "usb" => "e.g. usb:04b8:0202 (see `counter-agent devices`)",
                "file" => "e.g. file:/dev/usb/lp0",
                _ => "e.g. sim:scanner, sim:printer-a4, sim:printer-80mm, sim:printer-58mm",
            },
            ConnectionError::BadPort { .. } => "a port is a number from 1 to 65535",
            ConnectionError::BadUsbId { .. } => "write usb:VID:PID in hex, e.g. usb:04b8:0202",
            ConnectionError::BadSerialOption { .. } => "serial options are baud=<number> and flow=none|rtscts|xonxoff",
            ConnectionError::BadOption { .. } => "write options as ?key=value&key=value",
        }
    }
}

impl Connection {
    /// The scheme, as written before `:`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Connection::Sane { .. } => "sane",
            Connection::Folder { .. } => "folder",
            Connection::Ipp { secure: false, .. } => "ipp",
            Connection::Ipp { secure: true, .. } => "ipps",
            Connection::Tcp { .. } => "tcp",
            Connection::Serial { .. } => "serial",
            Connection::Usb { .. } => "usb",
            Connection::File { .. } => "file",
            Connection::Sim { .. } => "sim",
        }
    }

    /// The value of a `sim:` option, if this is a simulator connection that has it.
    pub fn sim_option(&self, key: &str) -> Option<&str> {
        match self {
            Connection::Sim { options, .. } => options.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

fn non_empty(value: &str, scheme: &'static str, what: &'static str) -> Result<String, ConnectionError> {
    if value.trim().is_empty() {
        Err(ConnectionError::Missing { scheme, what })
    } else {
        Ok(value.to_string())
    }
}

fn parse_port(value: &str) -> Result<u16, ConnectionError> {
    match value.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(ConnectionError::BadPort { value: value.to_string() }),
    }
}

/// Splits `host[:port]`, accepting `[v6]:port`.
fn split_host_port(authority: &str, scheme: &'static str, default_port: u16) -> Result<(String, u16), ConnectionError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, port)) => match port.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(ConnectionError::BadPort { value: port.to_string() }),
            },
            None => return Err(ConnectionError::Missing { scheme, what: "a closing `]` after an IPv6 address" }),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host = non_empty(host, scheme, "a host name")?;
    let port = match port {
        Some(port) => parse_port(port)?,
        None => default_port,
    };
    Ok((host, port))
}

/// `key=value&…`, adding a problem for each part that is not `key=value`.
fn parse_options(query: &str, problems: &mut Vec<ConnectionError>) -> Vec<(String, String)> {
    let mut options = Vec::new();
    for part in query.split('&').filter(|part| !part.is_empty()) {
        match part.split_once('=') {
            Some((key, value)) if !key.is_empty() => options.push((key.to_string(), value.to_string())),
            _ => problems.push(ConnectionError::BadOption { option: part.to_string() }),
        }
    }
    options
}

/// `serial:` options, adding a problem for each bad one (a bad `baud` does not hide a bad `flow`).
fn parse_serial_options(query: &str, problems: &mut Vec<ConnectionError>) -> (u32, SerialFlow) {
    let mut baud = 9600;
    let mut flow = SerialFlow::None;
    for (key, value) in parse_options(query, problems) {
        match (key.as_str(), value.as_str()) {
            ("baud", text) => match text.parse::<u32>() {
                Ok(n) if n > 0 => baud = n,
                _ => problems.push(ConnectionError::BadSerialOption { option: format!("baud={text}") }),
            },
            ("flow", "none") => flow = SerialFlow::None,
            ("flow", "rtscts") => flow = SerialFlow::RtsCts,
            ("flow", "xonxoff") => flow = SerialFlow::XonXoff,
            (key, value) => problems.push(ConnectionError::BadSerialOption { option: format!("{key}={value}") }),
        }
    }
    (baud, flow)
}

fn parse_usb_id(value: &str) -> Result<u16, ConnectionError> {
    if value.len() == 4 {
        if let Ok(id) = u16::from_str_radix(value, 16) {
            return Ok(id);
        }
    }
    Err(ConnectionError::BadUsbId { value: value.to_string() })
}

impl Connection {
    /// Parses a connection string, reporting every problem found (at least one on `Err`), e.g.
    /// both options of `serial:/dev/ttyS0?baud=fast&flow=maybe`. [`FromStr`] gives the first.
    pub fn parse_all(text: &str) -> Result<Connection, Vec<ConnectionError>> {
        let mut problems = Vec::new();
        let parsed = parse_into(text, &mut problems);
        match parsed {
            Ok(connection) if problems.is_empty() => Ok(connection),
            Ok(_) => Err(problems),
            Err(first) => {
                problems.insert(0, first);
                Err(problems)
            }
        }
    }
}

/// Parses `text`. A problem that leaves nothing to read further is the `Err`; problems after
/// which parsing goes on (bad options) are added to `problems`.
fn parse_into(text: &str, problems: &mut Vec<ConnectionError>) -> Result<Connection, ConnectionError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ConnectionError::Empty);
    }
    let Some((scheme, rest)) = text.split_once(':') else {
        return Err(ConnectionError::UnknownScheme { scheme: text.to_string() });
    };
    match scheme {
        "sane" => Ok(Connection::Sane { device: non_empty(rest, "sane", "a SANE device name")? }),
        "folder" => Ok(Connection::Folder { path: non_empty(rest, "folder", "a folder path")? }),
        "file" => Ok(Connection::File { path: non_empty(rest, "file", "a device file path")? }),
        "ipp" | "ipps" => {
            let secure = scheme == "ipps";
            let scheme: &'static str = if secure { "ipps" } else { "ipp" };
            let rest = rest
                .strip_prefix("//")
                .ok_or(ConnectionError::Missing { scheme, what: "`//host/path` after the colon" })?;
            let (authority, path) = match rest.find('/') {
                Some(slash) => (&rest[..slash], &rest[slash..]),
                None => (rest, ""),
            };
            let (host, port) = split_host_port(authority, scheme, 631)?;
            if path.len() < 2 {
                return Err(ConnectionError::Missing { scheme, what: "a printer path such as /printers/NAME" });
            }
            Ok(Connection::Ipp { secure, host, port, path: path.to_string() })
        }
        "tcp" => {
            let rest = rest
                .strip_prefix("//")
                .ok_or(ConnectionError::Missing { scheme: "tcp", what: "`//host:port` after the colon" })?;
            let authority = rest.strip_suffix('/').unwrap_or(rest);
            let (host, port) = split_host_port(authority, "tcp", 9100)?;
            Ok(Connection::Tcp { host, port })
        }
        "serial" => {
            let (port, query) = rest.split_once('?').unwrap_or((rest, ""));
            let port = non_empty(port, "serial", "a serial port such as /dev/ttyUSB0 or COM3");
            let (baud, flow) = parse_serial_options(query, problems);
            Ok(Connection::Serial { port: port?, baud, flow })
        }
        "usb" => {
            let mut parts = rest.splitn(3, ':');
            let vendor = parts.next().unwrap_or("");
            let product = parts.next().unwrap_or("");
            if vendor.is_empty() || product.is_empty() {
                return Err(ConnectionError::Missing { scheme: "usb", what: "VID:PID" });
            }
            let serial = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
            Ok(Connection::Usb { vendor_id: parse_usb_id(vendor)?, product_id: parse_usb_id(product)?, serial })
        }
        "sim" => {
            let (kind, query) = rest.split_once('?').unwrap_or((rest, ""));
            let kind = non_empty(kind, "sim", "a simulator kind");
            let options = parse_options(query, problems);
            Ok(Connection::Sim { kind: kind?, options })
        }
        other => Err(ConnectionError::UnknownScheme { scheme: other.to_string() }),
    }
}

impl FromStr for Connection {
    type Err = ConnectionError;

    /// The first problem of [`Connection::parse_all`].
    fn from_str(text: &str) -> Result<Connection, ConnectionError> {
        Connection::parse_all(text).map_err(|problems| problems.into_iter().next().unwrap_or(ConnectionError::Empty))
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host_fmt = |host: &str| if host.contains(':') { format!("[{host}]") } else { host.to_string() };
        match self {
            Connection::Sane { device } => write!(f, "sane:{device}"),
            Connection::Folder { path } => write!(f, "folder:{path}"),
            Connection::File { path } => write!(f, "file:{path}"),
            Connection::Ipp { secure, host, port, path } => {
                let scheme = if *secure { "ipps" } else { "ipp" };
                write!(f, "{scheme}://{}:{port}{path}", host_fmt(host))
            }
            Connection::Tcp { host, port } => write!(f, "tcp://{}:{port}", host_fmt(host)),
            Connection::Serial { port, baud, flow } => write!(f, "serial:{port}?baud={baud}&flow={}", flow.as_str()),
            Connection::Usb { vendor_id, product_id, serial } => {
                write!(f, "usb:{vendor_id:04x}:{product_id:04x}")?;
                if let Some(serial) = serial {
                    write!(f, ":{serial}")?;
                }
                Ok(())
            }
            Connection::Sim { kind, options } => {
                write!(f, "sim:{kind}")?;
                for (i, (key, value)) in options.iter().enumerate() {
                    write!(f, "{}{key}={value}", if i == 0 { '?' } else { '&' })?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str, expected: Connection) {
        let parsed: Connection = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed, expected, "{text}");
        // Display round-trips through the parser.
        let again: Connection = parsed.to_string().parse().expect("display output parses");
        assert_eq!(again, expected, "round trip of {text}");
    }

    fn err(text: &str, expected: ConnectionError) {
        assert_eq!(text.parse::<Connection>(), Err(expected), "{text}");
    }

    #[test]
    fn parses_every_scheme() {
        ok("sane:fujitsu:fi-7160:123456", Connection::Sane { device: "fujitsu:fi-7160:123456".into() });
        ok("sane:airscan:e0:Canon MF240", Connection::Sane { device: "airscan:e0:Canon MF240".into() });
        ok("folder:/srv/scan-inbox", Connection::Folder { path: "/srv/scan-inbox".into() });
        ok("file:/dev/usb/lp0", Connection::File { path: "/dev/usb/lp0".into() });
        ok(
            "ipp://localhost:631/printers/HP_LaserJet",
            Connection::Ipp {
                secure: false,
                host: "localhost".into(),
                port: 631,
                path: "/printers/HP_LaserJet".into(),
            },
        );
        ok(
            "ipps://printer.local/ipp/print",
            Connection::Ipp { secure: true, host: "printer.local".into(), port: 631, path: "/ipp/print".into() },
        );
        ok(
            "ipp://[::1]:8631/ipp/print",
            Connection::Ipp { secure: false, host: "::1".into(), port: 8631, path: "/ipp/print".into() },
        );
        ok("tcp://192.168.1.50:9100", Connection::Tcp { host: "192.168.1.50".into(), port: 9100 });
        ok("tcp://printer", Connection::Tcp { host: "printer".into(), port: 9100 });
        ok(
            "serial:/dev/ttyUSB0?baud=19200&flow=rtscts",
            Connection::Serial { port: "/dev/ttyUSB0".into(), baud: 19200, flow: SerialFlow::RtsCts },
        );
        ok("serial:COM3", Connection::Serial { port: "COM3".into(), baud: 9600, flow: SerialFlow::None });
        ok("usb:04b8:0202", Connection::Usb { vendor_id: 0x04b8, product_id: 0x0202, serial: None });
        ok(
            "usb:04B8:0E28:X5ZF012345",
            Connection::Usb { vendor_id: 0x04b8, product_id: 0x0e28, serial: Some("X5ZF012345".into()) },
        );
        ok("sim:scanner", Connection::Sim { kind: "scanner".into(), options: vec![] });
        ok(
            "sim:printer-80mm?paper=out&x=1",
            Connection::Sim {
                kind: "printer-80mm".into(),
                options: vec![("paper".into(), "out".into()), ("x".into(), "1".into())],
            },
        );
    }

    #[test]
    fn rejects_bad_strings() {
        err("", ConnectionError::Empty);
        err("   ", ConnectionError::Empty);
        err("lpt1", ConnectionError::UnknownScheme { scheme: "lpt1".into() });
        err("http://x/y", ConnectionError::UnknownScheme { scheme: "http".into() });
        err("sane:", ConnectionError::Missing { scheme: "sane", what: "a SANE device name" });
        err(
            "ipp:localhost/printers/x",
            ConnectionError::Missing { scheme: "ipp", what: "`//host/path` after the colon" },
        );
        err(
            "ipp://localhost:631",
            ConnectionError::Missing { scheme: "ipp", what: "a printer path such as /printers/NAME" },
        );
        err("ipp://:631/x", ConnectionError::Missing { scheme: "ipp", what: "a host name" });
        err("tcp://host:0", ConnectionError::BadPort { value: "0".into() });
        err("tcp://host:99999", ConnectionError::BadPort { value: "99999".into() });
        err("tcp://host:abc", ConnectionError::BadPort { value: "abc".into() });
        err("usb:4b8:0202", ConnectionError::BadUsbId { value: "4b8".into() });
        err("usb:zzzz:0202", ConnectionError::BadUsbId { value: "zzzz".into() });
        err("usb:04b8", ConnectionError::Missing { scheme: "usb", what: "VID:PID" });
        err("serial:/dev/ttyS0?baud=fast", ConnectionError::BadSerialOption { option: "baud=fast".into() });
        err("serial:/dev/ttyS0?flow=dtr", ConnectionError::BadSerialOption { option: "flow=dtr".into() });
        err("sim:printer?paper", ConnectionError::BadOption { option: "paper".into() });
    }

    #[test]
    fn parse_all_reports_every_bad_option() {
        let check = |text: &str, expected: &[ConnectionError]| {
            assert_eq!(Connection::parse_all(text), Err(expected.to_vec()), "{text}");
            assert_eq!(text.parse::<Connection>().as_ref().err(), expected.first(), "FromStr of {text}");
        };
        let serial = |option: &str| ConnectionError::BadSerialOption { option: option.into() };
        check("serial:/dev/ttyS0?baud=fast&flow=maybe", &[serial("baud=fast"), serial("flow=maybe")]);
        check("serial:/dev/ttyS0?baud=0&parity=odd&flow=rtscts", &[serial("baud=0"), serial("parity=odd")]);
        check(
            "serial:?baud=x",
            &[
                ConnectionError::Missing { scheme: "serial", what: "a serial port such as /dev/ttyUSB0 or COM3" },
                serial("baud=x"),
            ],
        );
        check("serial:COM3?baud&flow=dtr", &[ConnectionError::BadOption { option: "baud".into() }, serial("flow=dtr")]);
        check(
            "sim:printer-a4?paper&=x",
            &[
                ConnectionError::BadOption { option: "paper".into() },
                ConnectionError::BadOption { option: "=x".into() },
            ],
        );
        check("tcp://host:0", &[ConnectionError::BadPort { value: "0".into() }]);
        assert_eq!(
            Connection::parse_all("serial:COM3?flow=xonxoff"),
            Ok(Connection::Serial { port: "COM3".into(), baud: 9600, flow: SerialFlow::XonXoff })
        );
    }

    #[test]
    fn every_error_has_a_hint() {
        for text in ["", "x:y", "sane:", "usb:1:2", "tcp://h:0", "serial:a?q=1", "sim:a?b"] {
            let error = text.parse::<Connection>().expect_err(text);
            assert!(!error.hint().is_empty(), "{text}");
        }
    }
}
