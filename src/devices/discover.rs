//! Discovery of devices attached to this PC that no driver factory enumerates itself: serial ports,
//! USB printer-class devices, and the printers a local CUPS knows. Each result carries the
//! connection string to paste into the station file. Everything here only reads; it never opens a
//! device.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use counter_agent_driver_api::{DeviceKind, Discovered};

/// Everything the operating system reports.
pub fn system() -> Vec<Discovered> {
    let mut found = Vec::new();
    found.extend(serial_ports(Path::new("/dev/serial/by-id"), Path::new("/sys/class/tty")));
    found.extend(usb_printers(Path::new("/sys/bus/usb/devices")));
    found.extend(cups_printers());
    found
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Serial ports: stable `/dev/serial/by-id` names first, then real ttys from sysfs (those with a
/// `device` link — virtual consoles have none).
pub fn serial_ports(by_id: &Path, sys_tty: &Path) -> Vec<Discovered> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(by_id) {
        let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for path in names {
            found.push(Discovered {
                kind: None,
                connection: format!("serial:{}?baud=9600", path.display()),
                description: "serial port (stable name); check the printer's baud rate and flow control".into(),
            });
        }
    }
    if let Ok(entries) = std::fs::read_dir(sys_tty) {
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().join("device").exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name.starts_with("ttyUSB") || name.starts_with("ttyACM") || name.starts_with("ttyS"))
            .collect();
        names.sort();
        for name in names {
            // Legacy ttyS ports without a driver-reported type are usually absent hardware.
            if name.starts_with("ttyS") && read_trimmed(&sys_tty.join(&name).join("type")).as_deref() == Some("0") {
                continue;
            }
            found.push(Discovered {
                kind: None,
                connection: format!("serial:/dev/{name}?baud=9600"),
                description: "serial port".into(),
            });
        }
    }
    found
}

/// USB interfaces of class 07 (printer), with vendor, product and serial from the parent device.
pub fn usb_printers(sys_usb: &Path) -> Vec<Discovered> {
    let Ok(entries) = std::fs::read_dir(sys_usb) else { return Vec::new() };
    let mut found = Vec::new();
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for interface in paths {
        if read_trimmed(&interface.join("bInterfaceClass")).as_deref() != Some("07") {
            continue;
        }
        let Some(parent) = interface.file_name().and_then(|n| n.to_str()).and_then(|n| n.split(':').next()) else {
            continue;
        };
        let device = sys_usb.join(parent);
        let (Some(vendor), Some(product)) =
            (read_trimmed(&device.join("idVendor")), read_trimmed(&device.join("idProduct")))
        else {
            continue;
        };
        let serial = read_trimmed(&device.join("serial"));
        let name = [read_trimmed(&device.join("manufacturer")), read_trimmed(&device.join("product"))]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let connection = match &serial {
            Some(serial) => format!("usb:{vendor}:{product}:{serial}"),
            None => format!("usb:{vendor}:{product}"),
        };
        if found.iter().any(|d: &Discovered| d.connection == connection) {
            continue;
        }
        found.push(Discovered {
            kind: Some(DeviceKind::Printer),
            connection,
            description: if name.is_empty() { "USB printer".into() } else { format!("USB printer: {name}") },
        });
    }
    found
}

/// Printers of the local CUPS, through `lpstat -v` when CUPS is installed and running.
fn cups_printers() -> Vec<Discovered> {
    let Ok(mut child) = Command::new("lpstat")
        .arg("-v")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return Vec::new();
    };
    // lpstat answers at once or not at all; never hang discovery on it.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Vec::new();
            }
        }
    }
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut output);
    }
    parse_lpstat(&output)
}

/// Parses `lpstat -v` lines: `device for NAME: URI`.
pub fn parse_lpstat(output: &str) -> Vec<Discovered> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("device for ")?;
            let (name, _) = rest.split_once(':')?;
            let name = name.trim();
            Some(Discovered {
                kind: Some(DeviceKind::Printer),
                connection: format!("ipp://localhost:631/printers/{name}"),
                description: format!("CUPS queue {name}"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lpstat_lines_become_ipp_connections() {
        let found =
            parse_lpstat("device for HP_LaserJet: usb://HP/LaserJet?serial=1\ndevice for PDF: cups-pdf:/\nnoise\n");
        let connections: Vec<&str> = found.iter().map(|d| d.connection.as_str()).collect();
        assert_eq!(connections, vec!["ipp://localhost:631/printers/HP_LaserJet", "ipp://localhost:631/printers/PDF"]);
        // Every connection string parses with the station file's grammar.
        for d in &found {
            d.connection.parse::<counter_agent_driver_api::Connection>().expect("valid connection");
        }
    }

    #[test]
    fn usb_printer_interfaces_are_found_in_a_sysfs_tree() {
        let root = tempfile::tempdir().expect("temp dir");
        let sys = root.path();
        let write = |rel: &str, text: &str| {
            let path = sys.join(rel);
            std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write("1-2/idVendor", "04b8\n");
        write("1-2/idProduct", "0e28\n");
        write("1-2/serial", "X5ZF012345\n");
        write("1-2/manufacturer", "EPSON\n");
        write("1-2/product", "TM-T82III\n");
        write("1-2:1.0/bInterfaceClass", "07\n");
        write("1-3/idVendor", "046d\n");
        write("1-3/idProduct", "c52b\n");
        write("1-3:1.0/bInterfaceClass", "03\n");
        let found = usb_printers(sys);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].connection, "usb:04b8:0e28:X5ZF012345");
        assert_eq!(found[0].description, "USB printer: EPSON TM-T82III");
        found[0].connection.parse::<counter_agent_driver_api::Connection>().expect("valid connection");
    }

    #[test]
    fn serial_ports_from_sysfs_skip_consoles() {
        let root = tempfile::tempdir().expect("temp dir");
        let tty = root.path().join("tty");
        for (name, with_device) in [("ttyUSB0", true), ("tty1", false), ("ttyACM0", true), ("ttyUSB9", false)] {
            std::fs::create_dir_all(tty.join(name)).expect("mkdir");
            if with_device {
                std::fs::create_dir_all(tty.join(name).join("device")).expect("mkdir device");
            }
        }
        let found = serial_ports(&root.path().join("missing"), &tty);
        let connections: Vec<&str> = found.iter().map(|d| d.connection.as_str()).collect();
        assert_eq!(connections, vec!["serial:/dev/ttyACM0?baud=9600", "serial:/dev/ttyUSB0?baud=9600"]);
    }
}
