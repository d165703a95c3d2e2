//! ESC/POS receipt and ticket printers (issue 4).
//!
//! * [`encoder`] — pure: a [`Bitmap`] (1-bit raster), QR codes, feeds, cut and drawer kick in,
//!   bytes out. Raster images go as `GS v 0` in bands whose data length is exactly
//!   width-bytes × rows; white rows become paper feed (`ESC J`), so a ticket costs few bytes on a
//!   slow serial line.
//! * [`qr`] — QR codes drawn as dots where the printer has no native QR.
//! * [`text`] — Vietnamese text drawn into dots with the bundled DejaVu Sans (NFC first), the default
//!   way text reaches a thermal printer.
//! * [`device`] — the driver family (`tcp:`, `file:`): status before a job, jobs held while a printer
//!   that stopped mid-job (paper out) is reloaded, `GS r` barrier to confirm a job is on paper.
//! * [`tcp`] — `tcp://host:9100` printers: a job or a status query per connection, under deadlines.
//! * [`status`] — pure: replies a printer sends back (`DLE EOT`, Automatic Status Back, `GS r`) told
//!   apart by their fixed bits and decoded into conditions (paper near end / end, cover open, offline).

pub mod bitmap;
pub mod device;
pub mod encoder;
pub mod qr;
pub mod serial;
pub mod status;
pub mod tcp;
pub mod text;

pub use bitmap::Bitmap;
pub use device::EscposFactory;
pub use encoder::{Cut, Encoder, EncoderOptions, QrEcc};
