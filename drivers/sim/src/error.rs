//! How the simulators' failures become [`DriverError`]s.
//!
//! The simulators have no error type of their own on the device path: every failure is one the
//! daemon already knows how to handle (an unplugged device, an unsupported request, a disk error
//! while keeping a printed document). Messages name the device and say what to do.

use std::io;
use std::path::Path;

use counter_agent_driver_api::DriverError;

/// The device was unplugged through `SimControl::set_present(id, false)`.
pub(crate) fn unplugged(device_id: &str) -> DriverError {
    DriverError::NotFound {
        detail: format!("simulated device `{device_id}` is unplugged; plug it back with SimControl::set_present"),
    }
}

/// A request or configuration the simulator does not support.
pub(crate) fn unsupported(what: impl Into<String>) -> DriverError {
    DriverError::Unsupported { what: what.into() }
}

/// A file-system error while keeping what a simulated printer received, with the path in the
/// message and the original error kept as the source.
pub(crate) fn output_io(path: &Path, error: io::Error) -> DriverError {
    let kind = error.kind();
    DriverError::Io(io::Error::new(kind, OutputError { path: path.display().to_string(), source: error }))
}

/// The error inside [`DriverError::Io`] for output-folder failures.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the simulated printer's output at {path}; check the folder exists and is writable")]
pub(crate) struct OutputError {
    path: String,
    #[source]
    source: io::Error,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn output_errors_keep_kind_path_and_source() {
        let error = output_io(Path::new("/nope/0001.pdf"), io::Error::from(io::ErrorKind::PermissionDenied));
        let DriverError::Io(inner) = &error else { panic!("expected Io, got {error:?}") };
        assert_eq!(inner.kind(), io::ErrorKind::PermissionDenied);
        let message = inner.to_string();
        assert!(message.contains("/nope/0001.pdf"), "{message}");
        let output = inner.get_ref().and_then(|e| e.downcast_ref::<OutputError>()).expect("wrapped");
        assert!(output.source().is_some());
    }

    #[test]
    fn unplugged_is_not_found() {
        assert!(matches!(unplugged("scanner"), DriverError::NotFound { .. }));
    }
}
