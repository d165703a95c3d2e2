//! # counter-agent driver API
//!
//! The contract between the daemon and every device driver. It owns:
//!
//! * [`connection`] — the one connection-string grammar shared by all devices
//!   (`sane:…`, `folder:…`, `ipp://…`, `tcp://…`, `serial:…`, `usb:…`, `file:…`, `sim:…`);
//! * [`device`] — the factory trait ([`DriverFactory`]) and the device traits with optional
//!   capabilities ([`Device::as_scanner`], [`Device::as_printer`]);
//! * [`types`] — plain data shared by drivers and the daemon: device status, scan requests, raw pages,
//!   print documents and the typed settings a driver receives from a validated profile.
//!
//! Drivers do blocking I/O on the thread that owns them. This crate must not know about tokio, axum,
//! serde_json or the daemon; it depends on nothing but `thiserror`.

pub mod connection;
pub mod device;
pub mod error;
pub mod types;

pub use connection::{Connection, ConnectionError, SerialFlow};
pub use device::{Device, Discovered, DriverFactory, OpenSpec, PageWatch, PrintWatch, Printer, ScanProgress, Scanner};
pub use error::DriverError;
pub use types::*;
