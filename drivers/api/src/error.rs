//! The one error type drivers return.

use crate::types::StatusReason;

/// What went wrong inside a driver. Variants carry what the daemon needs to decide: a device
/// fault becomes a device status and a job reason, `NotFound` makes the actor reopen later.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The device is not attached, not reachable, or its connection cannot be opened.
    #[error("device not found: {detail}")]
    NotFound { detail: String },
    /// The device answered and reports a condition that stops the operation.
    #[error("device reports {reason}")]
    Fault { reason: StatusReason },
    /// The operation or format is not something this device or driver can do.
    #[error("not supported: {what}")]
    Unsupported { what: String },
    /// The caller cancelled the operation.
    #[error("cancelled")]
    Cancelled,
    /// Reading or writing the transport failed.
    #[error("I/O error talking to the device")]
    Io(#[source] std::io::Error),
    /// The device answered something the driver does not understand.
    #[error("protocol error: {detail}")]
    Protocol { detail: String },
}

impl DriverError {
    /// The status reason this error implies for the device, if it says anything about the device.
    pub fn status_reason(&self) -> Option<StatusReason> {
        match self {
            DriverError::NotFound { .. } => Some(StatusReason::NotFound),
            DriverError::Fault { reason } => Some(*reason),
            DriverError::Io(_) => Some(StatusReason::IoError),
            DriverError::Protocol { .. } => Some(StatusReason::ProtocolError),
            DriverError::Unsupported { .. } | DriverError::Cancelled => None,
        }
    }
}
