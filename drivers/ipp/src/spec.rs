//! What an `ipp://` or `ipps://` device asks for, checked without I/O.
//!
//! This one reader is behind both [`crate::IppFactory`]'s `check` and `open`, so a station file
//! that `open` would refuse is refused by `counter-agent check` first, with every problem at once.

use counter_agent_driver_api::{Connection, DeviceSettings, DocumentFormat, OpenSpec};
use ipp::prelude::Uri;

/// Whether this build speaks TLS (`ipps://`); see the `tls` feature in Cargo.toml.
pub const TLS: bool = cfg!(feature = "tls");

/// A checked printer address.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `ipp://host:port/path` (or `ipps://`), also sent as `printer-uri`.
    pub uri: Uri,
    /// `host:port/path`, for messages.
    pub place: String,
}

/// Reads `spec`, returning every problem found (see `DriverFactory::check`).
pub(crate) fn read(spec: &OpenSpec) -> Result<Target, Vec<String>> {
    let mut problems = Vec::new();
    match &spec.settings {
        DeviceSettings::Scanner(_) => problems.push(
            "`ipp://` is a printer but the profile is a scanner's — use a printer profile such as ipp-everywhere-a4"
                .to_string(),
        ),
        DeviceSettings::Printer(settings) if !settings.formats.contains(&DocumentFormat::Pdf) => problems.push(
            "the profile's formats has no \"pdf\" but IPP page printers are sent PDF — use a profile with \
             formats = [\"pdf\"] such as ipp-everywhere-a4"
                .to_string(),
        ),
        DeviceSettings::Printer(_) => {}
    }
    let Connection::Ipp { secure, host, port, path } = &spec.connection else {
        problems.push(format!(
            "`{}:` is not an IPP connection — write ipp://HOST:PORT/PATH, e.g. ipp://localhost:631/printers/HP_LaserJet",
            spec.connection.scheme()
        ));
        return Err(problems);
    };
    if *secure && !TLS {
        problems.push(format!(
            "`ipps://` needs TLS, which this build of the agent leaves out — write ipp://{}:{port}{path} (CUPS and \
             network printers take plain IPP on the local network)",
            bracketed(host)
        ));
    }
    let scheme = if *secure { "ipps" } else { "ipp" };
    let text = format!("{scheme}://{}:{port}{path}", bracketed(host));
    let uri = match text.parse::<Uri>() {
        Ok(uri) => Some(uri),
        Err(_) => {
            problems.push(format!(
                "`{text}` is not a valid printer address — write the path as the printer or CUPS gives it, with a \
                 space as %20, e.g. ipp://localhost:631/printers/HP_LaserJet"
            ));
            None
        }
    };
    match uri {
        Some(uri) if problems.is_empty() => Ok(Target { uri, place: format!("{}:{port}{path}", bracketed(host)) }),
        _ => Err(problems),
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use counter_agent_driver_api::{EscposSettings, PrinterSettings, ScannerSettings};

    fn printer(formats: &[DocumentFormat]) -> DeviceSettings {
        DeviceSettings::Printer(PrinterSettings {
            paper_width_mm: 210,
            printable_dots: 0,
            dpi: 300,
            cutter: false,
            formats: formats.to_vec(),
            escpos: EscposSettings::default(),
        })
    }

    fn spec(connection: &str, settings: DeviceSettings) -> OpenSpec {
        let connection = connection.parse().unwrap_or_else(|error| panic!("{connection}: {error}"));
        OpenSpec { id: "a4".into(), connection, settings }
    }

    /// `read` of `connection` with an A4 PDF profile: the URI, or the problems' first words.
    fn check(connection: &str, expected: Result<&str, &[&str]>) {
        let result = read(&spec(connection, printer(&[DocumentFormat::Pdf])));
        match (result, expected) {
            (Ok(target), Ok(uri)) => assert_eq!(target.uri.to_string(), uri, "{connection}"),
            (Err(problems), Err(starts)) => {
                assert_eq!(problems.len(), starts.len(), "{connection}: {problems:?}");
                for (problem, start) in problems.iter().zip(starts) {
                    assert!(problem.starts_with(start), "{connection}: {problem}");
                    assert!(problem.contains(" — "), "says what to write instead: {problem}");
                }
            }
            (result, expected) => panic!("{connection}: {result:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn addresses() {
        check("ipp://localhost:631/printers/HP_LaserJet", Ok("ipp://localhost:631/printers/HP_LaserJet"));
        check("ipp://192.168.1.20/ipp/print", Ok("ipp://192.168.1.20:631/ipp/print"));
        check("ipp://[::1]:8631/ipp/print", Ok("ipp://[::1]:8631/ipp/print"));
        check("ipp://printer.local:631/printers/A4%20Front", Ok("ipp://printer.local:631/printers/A4%20Front"));
        check(
            "ipp://localhost:631/printers/A4 Front",
            Err(&["`ipp://localhost:631/printers/A4 Front` is not a valid"]),
        );
        if TLS {
            check("ipps://printer.local/ipp/print", Ok("ipps://printer.local:631/ipp/print"));
        } else {
            check("ipps://printer.local/ipp/print", Err(&["`ipps://` needs TLS"]));
        }
    }

    #[test]
    fn profiles_and_schemes() {
        let scanner = DeviceSettings::Scanner(ScannerSettings {
            max_dpi: 600,
            default_dpi: 300,
            sources: vec![],
            duplex_back_rotate_180: false,
            sane: Box::default(),
        });
        let problems = read(&spec("ipp://localhost:631/ipp/print", scanner)).expect_err("a scanner profile");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("printer profile"), "{problems:?}");

        let thermal = printer(&[DocumentFormat::EscPos]);
        let problems = read(&spec("ipp://localhost:631/ipp/print", thermal)).expect_err("an ESC/POS profile");
        assert!(problems[0].contains("no \"pdf\""), "{problems:?}");

        // Every problem at once: the profile and the address.
        let problems =
            read(&spec("ipp://localhost:631/printers/a b", printer(&[]))).expect_err("a bad profile and path");
        assert_eq!(problems.len(), 2, "{problems:?}");

        let problems = read(&spec("tcp://192.168.1.50:9100", printer(&[DocumentFormat::Pdf]))).expect_err("tcp");
        assert!(problems[0].starts_with("`tcp:` is not an IPP connection"), "{problems:?}");
    }
}
