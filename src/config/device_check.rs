//! What the drivers see wrong in the configured devices without opening them, reported like the
//! station file's own problems: `file:line:col: error: device `id`: problem — hint`, at the
//! device's `connection` value.
//!
//! Config knows no driver: the caller hands in the drivers' checks as a function (the daemon finds
//! each device's factory and calls `DriverFactory::check`). `counter-agent check` and start-up
//! both run it, so a station file that `check` passes does not fail when the agent starts.

use counter_agent_driver_api::OpenSpec;

use super::{DeviceConfig, Diagnostic, Diagnostics, Severity, Station};

/// Shown as the file of problems with devices that were not read from a file.
const NO_FILE: &str = "<demo station>";

impl DeviceConfig {
    /// What a driver gets to check and open this device.
    pub fn open_spec(&self) -> OpenSpec {
        OpenSpec { id: self.id.clone(), connection: self.connection.clone(), settings: self.settings.clone() }
    }
}

/// Runs `driver_check` on every device of `station`, in file order, and turns each problem it
/// returns into an error at the device's `connection` value.
///
/// A problem is a sentence `what is wrong — what to write instead`; the part after the first ` — `
/// becomes the hint.
pub fn check_devices(station: &Station, mut driver_check: impl FnMut(&OpenSpec) -> Vec<String>) -> Diagnostics {
    let file = station.source.as_ref().map_or_else(|| NO_FILE.to_string(), |path| path.display().to_string());
    let mut diagnostics = Diagnostics::new();
    for device in &station.devices {
        let (line, column) = device.connection_at.unwrap_or((0, 0));
        for problem in driver_check(&device.open_spec()) {
            let (message, hint) = match problem.split_once(" — ") {
                Some((message, hint)) => (message, Some(hint.to_string())),
                None => (problem.as_str(), None),
            };
            diagnostics.push(Diagnostic {
                severity: Severity::Error,
                file: file.clone(),
                line,
                column,
                message: format!("device `{}`: {message}", device.id),
                hint,
            });
        }
    }
    diagnostics
}
