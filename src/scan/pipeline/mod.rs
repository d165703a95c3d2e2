//! Pure per-page and per-document stages: bytes in, bytes out. No I/O, no tokio, no clocks.

pub mod encode;
pub mod pdf;
