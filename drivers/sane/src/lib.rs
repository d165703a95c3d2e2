//! # counter-agent SANE driver
//!
//! Scanners reached through SANE (`sane:<device-name>` connections). libsane is opened at run time,
//! so the agent builds and starts on machines without SANE and says so as an ordinary error
//! ([`SaneError::NotInstalled`]) when a SANE feature is used.
//!
//! * Discovery: [`list_devices`] runs `sane_init` → `sane_get_devices` (network scanners included)
//!   → copy → `sane_exit` on a dedicated thread with a deadline; [`discover`] turns the result into
//!   the driver API's [`Discovered`] entries.
//! * Scanning: [`SaneFactory`] (scheme `sane`) opens devices whose batches run in a child process,
//!   `counter-agent scan-worker` ([`run_worker`]): one per session, one thread calling libsane,
//!   pages streamed over stdio with a small framed protocol. A worker that hangs is killed
//!   (cancel grace 3 s, stall timeout 60 s by default); the daemon never enters libsane to scan.
//!
//! # Layout
//!
//! * `lib.rs` — the public API: [`list_devices`], [`discover`], [`installed`], [`SaneDevice`],
//!   [`LIBRARY_NAME`] / [`library_name`].
//! * `device` — the daemon side: [`SaneFactory`], [`WorkerCommand`], the child's life and timeouts.
//! * `scan_worker` — the child side: [`run_worker`], the ADF loop, fault pause/continue, cancel.
//! * `protocol` — the framed binary messages between the two (no serde).
//! * `frame` — pure: SANE frames → [`RawPage`](counter_agent_driver_api::RawPage) (padding, 1/16-bit,
//!   three-pass, unknown height, short frames).
//! * `options` — pure: descriptors and values as data; source/mode/resolution selection.
//! * `script` — the test-only fault-injection script (`COUNTER_AGENT_SANE_SCRIPT`).
//! * `error` — [`SaneError`] and the [`Stage`] a timed-out call was stuck in.
//! * `status` — [`SaneStatus`], SANE's open set of status codes.
//! * `worker` — the process-wide SANE gate, the opened-library cache and the timeout thread.
//! * `ffi` — the C declarations and every `unsafe` line of the crate.
//!
//! Like every driver, this crate does blocking work and knows nothing of tokio or the daemon.

use std::time::Duration;

use counter_agent_driver_api::{Connection, DeviceKind, Discovered};

mod device;
mod error;
// The workspace denies `unsafe_code`; this module is the one place that needs it (FFI to libsane).
#[allow(unsafe_code)]
mod ffi;
pub mod frame;
pub mod options;
// Pipe size and huge-page hints (libc calls).
#[allow(unsafe_code)]
mod os;
pub mod protocol;
mod scan_worker;
pub mod script;
mod status;
mod worker;

#[cfg(test)]
mod tests;

pub use device::{
    reason_for, SaneFactory, WorkerCommand, CANCEL_GRACE, DEFAULT_OPEN_TIMEOUT, DEFAULT_RETRY_AFTER,
    DEFAULT_STALL_TIMEOUT, QUIT_GRACE,
};
pub use error::{SaneError, Stage};
pub use scan_worker::run_worker;
pub use status::SaneStatus;

/// The libsane shared library opened at run time, by the platform's usual search rules.
#[cfg(all(unix, not(target_os = "macos")))]
pub const LIBRARY_NAME: &str = "libsane.so.1";
/// The libsane shared library opened at run time, by the platform's usual search rules.
#[cfg(target_os = "macos")]
pub const LIBRARY_NAME: &str = "libsane.1.dylib";
/// The libsane shared library opened at run time, by the platform's usual search rules.
#[cfg(windows)]
pub const LIBRARY_NAME: &str = "libsane-1.dll";

/// Environment variable naming another libsane to open instead of [`LIBRARY_NAME`] (a SANE
/// installed outside the loader's path, e.g. `/opt/sane/lib/libsane.so.1`).
pub const LIBRARY_ENV: &str = "COUNTER_AGENT_SANE_LIBRARY";

/// The libsane to open: [`LIBRARY_ENV`] if set and not empty, else [`LIBRARY_NAME`].
pub fn library_name() -> String {
    std::env::var(LIBRARY_ENV).ok().filter(|name| !name.trim().is_empty()).unwrap_or_else(|| LIBRARY_NAME.to_owned())
}

/// What to install when [`LIBRARY_NAME`] cannot be opened.
#[cfg(all(unix, not(target_os = "macos")))]
pub(crate) const INSTALL_HINT: &str = "install the Debian package libsane1 / sane-utils";
#[cfg(target_os = "macos")]
pub(crate) const INSTALL_HINT: &str = "install sane-backends (e.g. `brew install sane-backends`)";
#[cfg(windows)]
pub(crate) const INSTALL_HINT: &str = "SANE is not used on Windows; scan through WIA instead";

/// One device as libsane lists it, copied out of libsane's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaneDevice {
    /// The name to open it by, e.g. `fujitsu:fi-7160:123456` or `test:0`.
    pub name: String,
    pub vendor: String,
    pub model: String,
    /// SANE's free-form device type, e.g. `flatbed scanner` or `virtual device`.
    pub kind: String,
}

impl SaneDevice {
    /// The discovery entry for this device: connection `sane:<name>`, kind scanner.
    pub fn to_discovered(&self) -> Discovered {
        Discovered {
            kind: Some(DeviceKind::Scanner),
            connection: Connection::Sane { device: self.name.clone() }.to_string(),
            description: format!("{} {} ({})", self.vendor, self.model, self.kind),
        }
    }
}

/// Lists the SANE devices attached now, network scanners included.
///
/// Waits at most `timeout` in total; a backend that hangs yields [`SaneError::Timeout`] and its
/// thread is left behind (see the `worker` module for why that is acceptable for discovery).
/// Calls from several threads are serialised: libsane is not thread-safe.
pub fn list_devices(timeout: Duration) -> Result<Vec<SaneDevice>, SaneError> {
    list_devices_from(&library_name(), timeout)
}

/// [`list_devices`] through the shared library called `library_name` (tests open missing ones).
fn list_devices_from(library_name: &str, timeout: Duration) -> Result<Vec<SaneDevice>, SaneError> {
    let library_name = library_name.to_owned();
    worker::run_with_timeout(timeout, move |permit, stage| {
        let library = worker::library(permit, &library_name)?;
        library.list_devices(permit, stage)
    })
}

/// [`list_devices`] as discovery entries. Any failure (SANE missing, a hung backend) gives an
/// empty list; call [`list_devices`] to show the technician why.
pub fn discover(timeout: Duration) -> Vec<Discovered> {
    list_devices(timeout).map(|devices| devices.iter().map(SaneDevice::to_discovered).collect()).unwrap_or_default()
}

/// Whether libsane can be loaded (no backend is initialised): the check behind
/// `counter-agent check` for `sane:` devices. Waits at most a few seconds.
pub fn installed() -> Result<(), SaneError> {
    let name = library_name();
    worker::run_with_timeout(Duration::from_secs(5), move |permit, _stage| worker::library(permit, &name).map(|_| ()))
}
