//! What can go wrong when talking to libsane, in words a technician can act on.
//!
//! This module owns [`SaneError`] and [`Stage`]; it must not call libsane. Every message says what
//! to do next; the underlying cause stays reachable through [`std::error::Error::source`].

use std::fmt;
use std::time::Duration;

use crate::status::SaneStatus;

/// Why a SANE operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SaneError {
    /// libsane could not be opened: SANE is not installed (or its own dependencies are missing).
    #[error("SANE is not installed ({library} not found) — {hint}")]
    NotInstalled {
        library: String,
        hint: &'static str,
        #[source]
        source: libloading::Error,
    },
    /// The library opened but lacks a function every SANE 1 library has.
    #[error("{library} has no function {symbol}, so it is not a usable SANE library — reinstall it ({hint})")]
    MissingSymbol {
        library: String,
        symbol: &'static str,
        hint: &'static str,
        #[source]
        source: libloading::Error,
    },
    /// `sane_init` reported a SANE major version other than 1.
    #[error("libsane implements SANE {major}.{minor}, but this agent speaks SANE 1 — install libsane1")]
    UnsupportedVersion { major: u8, minor: u8 },
    /// A libsane call returned a status other than `SANE_STATUS_GOOD`.
    #[error("{call} failed: {status} — check the scanner backends with `scanimage -L`")]
    Status { call: &'static str, status: SaneStatus },
    /// libsane did not finish in time; the work may still be stuck in a backend.
    #[error(
        "SANE did not answer within {} ms (stuck {stage}) — a scanner backend may be hung; \
         unplug the scanner or fix /etc/sane.d/dll.conf, then restart the agent",
        timeout.as_millis()
    )]
    Timeout { timeout: Duration, stage: Stage },
    /// The operating system refused to start the thread that talks to libsane.
    #[error("could not start a thread for SANE — the system is short of resources; restart the agent")]
    Thread(#[source] std::io::Error),
    /// The libsane thread ended without an answer (it panicked, which is a bug in this crate).
    #[error("the SANE thread ended without an answer — this is a bug in counter-agent; please report it")]
    WorkerLost,
}

/// Where a libsane call was when it was last seen, for [`SaneError::Timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Another SANE call in this process had not finished (or is hung), so libsane was never entered.
    WaitingForOtherCall,
    /// Opening the shared library.
    Loading,
    /// Inside `sane_init`, which loads and initialises every backend listed in `dll.conf`.
    Init,
    /// Inside `sane_get_devices`, which probes USB, SCSI and the network.
    GetDevices,
    /// Inside `sane_exit`.
    Exit,
    /// Everything returned, but the answer did not reach the caller in time.
    Done,
}

impl Stage {
    pub(crate) fn from_u8(value: u8) -> Stage {
        match value {
            1 => Stage::Loading,
            2 => Stage::Init,
            3 => Stage::GetDevices,
            4 => Stage::Exit,
            5 => Stage::Done,
            _ => Stage::WaitingForOtherCall,
        }
    }

    pub(crate) fn as_u8(self) -> u8 {
        match self {
            Stage::WaitingForOtherCall => 0,
            Stage::Loading => 1,
            Stage::Init => 2,
            Stage::GetDevices => 3,
            Stage::Exit => 4,
            Stage::Done => 5,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::WaitingForOtherCall => "waiting for another SANE call to finish",
            Stage::Loading => "loading libsane",
            Stage::Init => "in sane_init",
            Stage::GetDevices => "in sane_get_devices",
            Stage::Exit => "in sane_exit",
            Stage::Done => "handing back the answer",
        })
    }
}
