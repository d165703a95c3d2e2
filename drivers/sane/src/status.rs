//! SANE status codes as an open integer.
//!
//! `SANE_Status` is a C enum for codes 0–11, but SANE 1.1 added `SANE_STATUS_WARMING_UP` (12) and
//! `SANE_STATUS_HW_LOCKED` (13) as `#define`s, and a backend may return anything. Reading such a
//! value into a Rust `enum` would be undefined behaviour, so this module models the status as an
//! `i32` newtype with named constants; unknown values are carried and printed, never rejected.
//!
//! This module owns the names and the human-readable descriptions; it must not call libsane.

use std::fmt;

/// A status code returned by a libsane function. Any `i32` is a valid value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SaneStatus(pub i32);

impl SaneStatus {
    pub const GOOD: SaneStatus = SaneStatus(0);
    pub const UNSUPPORTED: SaneStatus = SaneStatus(1);
    pub const CANCELLED: SaneStatus = SaneStatus(2);
    pub const DEVICE_BUSY: SaneStatus = SaneStatus(3);
    pub const INVAL: SaneStatus = SaneStatus(4);
    pub const EOF: SaneStatus = SaneStatus(5);
    pub const JAMMED: SaneStatus = SaneStatus(6);
    pub const NO_DOCS: SaneStatus = SaneStatus(7);
    pub const COVER_OPEN: SaneStatus = SaneStatus(8);
    pub const IO_ERROR: SaneStatus = SaneStatus(9);
    pub const NO_MEM: SaneStatus = SaneStatus(10);
    pub const ACCESS_DENIED: SaneStatus = SaneStatus(11);
    pub const WARMING_UP: SaneStatus = SaneStatus(12);
    pub const HW_LOCKED: SaneStatus = SaneStatus(13);

    /// The code's name in `sane/sane.h`, or `None` for a value SANE does not define.
    pub fn name(self) -> Option<&'static str> {
        self.known().map(|(name, _)| name)
    }

    /// The same text `sane_strstatus` gives, or `None` for an unknown value.
    pub fn description(self) -> Option<&'static str> {
        self.known().map(|(_, description)| description)
    }

    pub fn is_good(self) -> bool {
        self == SaneStatus::GOOD
    }

    fn known(self) -> Option<(&'static str, &'static str)> {
        let pair = match self.0 {
            0 => ("SANE_STATUS_GOOD", "Success"),
            1 => ("SANE_STATUS_UNSUPPORTED", "Operation not supported"),
            2 => ("SANE_STATUS_CANCELLED", "Operation was cancelled"),
            3 => ("SANE_STATUS_DEVICE_BUSY", "Device busy"),
            4 => ("SANE_STATUS_INVAL", "Invalid argument"),
            5 => ("SANE_STATUS_EOF", "End of file reached"),
            6 => ("SANE_STATUS_JAMMED", "Document feeder jammed"),
            7 => ("SANE_STATUS_NO_DOCS", "Document feeder out of documents"),
            8 => ("SANE_STATUS_COVER_OPEN", "Scanner cover is open"),
            9 => ("SANE_STATUS_IO_ERROR", "Error during device I/O"),
            10 => ("SANE_STATUS_NO_MEM", "Out of memory"),
            11 => ("SANE_STATUS_ACCESS_DENIED", "Access to resource has been denied"),
            12 => ("SANE_STATUS_WARMING_UP", "Lamp not ready, please retry"),
            13 => ("SANE_STATUS_HW_LOCKED", "Scanner mechanism locked for transport"),
            _ => return None,
        };
        Some(pair)
    }
}

impl fmt::Display for SaneStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.known() {
            Some((name, description)) => write!(f, "{name} ({description})"),
            None => write!(f, "unknown SANE status {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SaneStatus;

    fn check(code: i32, expected: &str) {
        assert_eq!(SaneStatus(code).to_string(), expected, "status {code}");
    }

    #[test]
    fn display_names_every_known_code_and_carries_unknown_ones() {
        check(0, "SANE_STATUS_GOOD (Success)");
        check(6, "SANE_STATUS_JAMMED (Document feeder jammed)");
        check(7, "SANE_STATUS_NO_DOCS (Document feeder out of documents)");
        check(11, "SANE_STATUS_ACCESS_DENIED (Access to resource has been denied)");
        check(12, "SANE_STATUS_WARMING_UP (Lamp not ready, please retry)");
        check(13, "SANE_STATUS_HW_LOCKED (Scanner mechanism locked for transport)");
        check(14, "unknown SANE status 14");
        check(-1, "unknown SANE status -1");
        check(i32::MAX, "unknown SANE status 2147483647");
    }

    #[test]
    fn codes_0_to_13_are_named_after_their_constants() {
        let named = [
            (SaneStatus::GOOD, "GOOD"),
            (SaneStatus::UNSUPPORTED, "UNSUPPORTED"),
            (SaneStatus::CANCELLED, "CANCELLED"),
            (SaneStatus::DEVICE_BUSY, "DEVICE_BUSY"),
            (SaneStatus::INVAL, "INVAL"),
            (SaneStatus::EOF, "EOF"),
            (SaneStatus::JAMMED, "JAMMED"),
            (SaneStatus::NO_DOCS, "NO_DOCS"),
            (SaneStatus::COVER_OPEN, "COVER_OPEN"),
            (SaneStatus::IO_ERROR, "IO_ERROR"),
            (SaneStatus::NO_MEM, "NO_MEM"),
            (SaneStatus::ACCESS_DENIED, "ACCESS_DENIED"),
            (SaneStatus::WARMING_UP, "WARMING_UP"),
            (SaneStatus::HW_LOCKED, "HW_LOCKED"),
        ];
        for (code, (status, suffix)) in named.into_iter().enumerate() {
            assert_eq!(status.0 as usize, code);
            assert_eq!(status.name(), Some(format!("SANE_STATUS_{suffix}")).as_deref());
        }
        assert_eq!(SaneStatus(14).name(), None);
        assert_eq!(SaneStatus(14).description(), None);
        assert!(SaneStatus::GOOD.is_good());
        assert!(!SaneStatus(-1).is_good());
    }
}
