//! Bytes for a receipt printer: a pure builder, no I/O.
//!
//! ```text
//! ESC @            init (resets the code table and modes)
//! FS .             cancel Chinese (Kanji) mode — clones that boot in it print bytes ≥ 0x80 as hanzi
//! GS v 0 0 xL xH yL yH d…   raster band, exactly (xL + 256·xH) × (yL + 256·yH) data bytes
//! ESC J n          feed n dots (white raster rows are sent this way)
//! GS ( k …         QR code, model 2: select model, module size, error correction, store, print
//! GS V 66 n        feed n dots, then partial cut (65: full cut)
//! ESC p m t1 t2    drawer kick
//! GS r 1           paper sensor status: processed in order with print data, so its reply says the
//!                  data before it has been printed
//! ```

/// Rows per `GS v 0` band by default: small enough for the receive buffer of cheap clones (a 576-dot
/// band of 128 rows is 9 KiB), large enough that the 8-byte headers do not matter.
pub const DEFAULT_BAND_ROWS: u16 = 128;
/// Largest QR payload (model 2, version 40, numeric, ECC L).
pub const QR_MAX_BYTES: usize = 7089;

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const FS: u8 = 0x1C;

/// What the encoder needs to know about the printer (from its profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderOptions {
    /// Printable width in dots; wider images are refused.
    pub width_dots: u32,
    /// Send `FS .` after `ESC @` (clones that boot in Chinese mode).
    pub cancel_chinese_mode: bool,
    /// The model has an autocutter; without one no cut command is ever sent.
    pub cutter: bool,
    /// Paper fed before the cut so the last line clears the blade, in dots.
    pub feed_before_cut: u8,
    /// Rows per raster band.
    pub band_rows: u16,
    /// The printer honours `GS L` (left margin) for raster images: each band is sent only from
    /// its first to its last inked byte column, the margin moved to where it starts — a centred
    /// line of text costs its own width, not the paper's. Off for printers not verified to.
    pub trim_bands: bool,
}

impl EncoderOptions {
    /// A printer `width_dots` wide with a cutter and the usual 3 mm feed before the cut.
    pub fn new(width_dots: u32) -> EncoderOptions {
        EncoderOptions {
            width_dots,
            cancel_chinese_mode: false,
            cutter: true,
            feed_before_cut: 24,
            band_rows: DEFAULT_BAND_ROWS,
            trim_bands: false,
        }
    }
}

/// Error-correction level of a QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrEcc {
    /// ~7 % of the code can be lost.
    Low,
    /// ~15 %.
    Medium,
    /// ~25 %.
    Quartile,
    /// ~30 %.
    High,
}

/// How the paper is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// One point left uncut (the ticket stays until pulled): what counters usually want.
    Partial,
    Full,
}

/// Why bytes could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("the image is {width} dots wide; this printer prints at most {max} dots")]
    TooWide { width: u32, max: u32 },
    #[error("the image is {width} dots wide; `GS v 0` takes at most {max} dots")]
    RasterTooWide { width: u32, max: u32 },
    #[error("QR data is empty")]
    QrEmpty,
    #[error("QR data is {len} bytes; a QR code holds at most {max}")]
    QrTooLong { len: usize, max: usize },
    #[error("QR module size {size} is outside 1–16 dots")]
    QrModuleSize { size: u8 },
    #[error("a QR code of {modules} modules does not fit {width} dots even at 2 dots a module")]
    QrTooWide { modules: u32, width: u32 },
}

/// Builds one job's bytes.
#[derive(Debug, Clone)]
pub struct Encoder {
    options: EncoderOptions,
    out: Vec<u8>,
    /// The `GS L` margin in force, in dots.
    left_margin: u16,
}

impl Encoder {
    /// Starts a job: `ESC @`, and `FS .` where the profile asks for it.
    pub fn new(options: EncoderOptions) -> Encoder {
        let mut out = vec![ESC, b'@'];
        if options.cancel_chinese_mode {
            out.extend_from_slice(&[FS, b'.']);
        }
        Encoder { options, out, left_margin: 0 }
    }

    pub fn options(&self) -> &EncoderOptions {
        &self.options
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// A raster image at the left margin: black rows in `GS v 0` bands, runs of white rows as paper
    /// feed.
    pub fn raster(&mut self, image: &crate::Bitmap) -> Result<&mut Encoder, EncodeError> {
        if image.width() > self.options.width_dots {
            return Err(EncodeError::TooWide { width: image.width(), max: self.options.width_dots });
        }
        let row_bytes = image.row_bytes();
        if row_bytes > usize::from(u16::MAX) {
            return Err(EncodeError::RasterTooWide { width: image.width(), max: u32::from(u16::MAX) * 8 });
        }
        let band_rows = u32::from(self.options.band_rows.max(1));
        let mut y = 0;
        while y < image.height() {
            if image.row_is_white(y) {
                let white = (y..image.height()).take_while(|&row| image.row_is_white(row)).count() as u32;
                self.feed(white);
                y += white;
                continue;
            }
            // A band: black rows up to the band size, stopping at a run of white rows worth feeding
            // (a single white row inside text is cheaper sent as bytes than as a new band header).
            let mut end = y + 1;
            while end < image.height() && end - y < band_rows {
                if image.row_is_white(end) {
                    let white = (end..image.height().min(end + 3)).take_while(|&row| image.row_is_white(row)).count();
                    if white >= 3 || end + white as u32 == image.height() {
                        break;
                    }
                }
                end += 1;
            }
            let rows = end - y;
            let (first, last) = if self.options.trim_bands {
                ink_columns(image, y, end).unwrap_or((0, row_bytes - 1))
            } else {
                (0, row_bytes - 1)
            };
            let margin = (first * 8) as u16;
            if margin != self.left_margin {
                self.set_left_margin(margin);
            }
            let width = last - first + 1;
            let [xl, xh] = (width as u16).to_le_bytes();
            let [yl, yh] = (rows as u16).to_le_bytes();
            self.out.extend_from_slice(&[GS, b'v', b'0', 0, xl, xh, yl, yh]);
            self.out.reserve(width * rows as usize);
            for row in y..end {
                self.out.extend_from_slice(&image.row(row)[first..=last]);
            }
            y = end;
        }
        if self.left_margin != 0 {
            // Text, native QR codes and the next image start from the paper's edge again.
            self.set_left_margin(0);
        }
        Ok(self)
    }

    /// `GS L nL nH`, in the default horizontal motion unit (one dot).
    fn set_left_margin(&mut self, dots: u16) {
        let [nl, nh] = dots.to_le_bytes();
        self.out.extend_from_slice(&[GS, b'L', nl, nh]);
        self.left_margin = dots;
    }

    /// Text drawn with the bundled font across the printer's width (see [`crate::text`]).
    pub fn text(&mut self, text: &str, style: crate::text::TextStyle) -> Result<&mut Encoder, EncodeError> {
        let bitmap = crate::text::render(text, style, self.options.width_dots);
        self.raster(&bitmap)
    }

    /// Feeds `dots` of paper (`ESC J`, 255 dots at a time).
    pub fn feed(&mut self, dots: u32) -> &mut Encoder {
        let mut left = dots;
        while left > 0 {
            let step = left.min(255);
            self.out.extend_from_slice(&[ESC, b'J', step as u8]);
            left -= step;
        }
        self
    }

    /// A QR code printed by the printer itself (model 2), `module` dots per module.
    pub fn qr(&mut self, data: &[u8], module: u8, ecc: QrEcc) -> Result<&mut Encoder, EncodeError> {
        if data.is_empty() {
            return Err(EncodeError::QrEmpty);
        }
        if data.len() > QR_MAX_BYTES {
            return Err(EncodeError::QrTooLong { len: data.len(), max: QR_MAX_BYTES });
        }
        if !(1..=16).contains(&module) {
            return Err(EncodeError::QrModuleSize { size: module });
        }
        let ecc = match ecc {
            QrEcc::Low => 48,
            QrEcc::Medium => 49,
            QrEcc::Quartile => 50,
            QrEcc::High => 51,
        };
        let function = |out: &mut Vec<u8>, body: &[u8]| {
            let [pl, ph] = (body.len() as u16).to_le_bytes();
            out.extend_from_slice(&[GS, b'(', b'k', pl, ph]);
            out.extend_from_slice(body);
        };
        function(&mut self.out, &[49, 65, 50, 0]); // model 2
        function(&mut self.out, &[49, 67, module]);
        function(&mut self.out, &[49, 69, ecc]);
        let mut store = Vec::with_capacity(data.len() + 3);
        store.extend_from_slice(&[49, 80, 48]);
        store.extend_from_slice(data);
        function(&mut self.out, &store);
        function(&mut self.out, &[49, 81, 48]); // print
        Ok(self)
    }

    /// A QR code drawn as a raster image (printers without native QR).
    pub fn qr_raster(
        &mut self,
        data: &[u8],
        module: u8,
        ecc: QrEcc,
        align: crate::text::Align,
    ) -> Result<&mut Encoder, EncodeError> {
        let bitmap = crate::qr::render(data, module, ecc, align, self.options.width_dots)?;
        self.raster(&bitmap)
    }

    /// Feeds the profile's distance and cuts; on a model without a cutter only feeds, so the
    /// ticket can be torn off.
    pub fn cut(&mut self, cut: Cut) -> &mut Encoder {
        if self.options.cutter {
            let mode = match cut {
                Cut::Full => 65,
                Cut::Partial => 66,
            };
            self.out.extend_from_slice(&[GS, b'V', mode, self.options.feed_before_cut]);
        } else {
            self.feed(u32::from(self.options.feed_before_cut));
        }
        self
    }

    /// Opens the cash drawer on connector pin 2 (`pin5 = false`) or 5.
    pub fn drawer_kick(&mut self, pin5: bool) -> &mut Encoder {
        self.out.extend_from_slice(&[ESC, b'p', u8::from(pin5), 25, 250]);
        self
    }

    /// Asks for the paper sensor status (`GS r 1`): the reply comes once everything before it is
    /// printed, so it confirms the job.
    pub fn barrier(&mut self) -> &mut Encoder {
        self.out.extend_from_slice(&[GS, b'r', 1]);
        self
    }

    /// Bytes passed through untouched (a raw job).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Encoder {
        self.out.extend_from_slice(bytes);
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// The first and last byte columns with ink in rows `from..to`, if any.
fn ink_columns(image: &crate::Bitmap, from: u32, to: u32) -> Option<(usize, usize)> {
    let mut bounds: Option<(usize, usize)> = None;
    for y in from..to {
        let row = image.row(y);
        let Some(first) = row.iter().position(|&byte| byte != 0) else { continue };
        let last = row.iter().rposition(|&byte| byte != 0).unwrap_or(first);
        bounds = Some(match bounds {
            Some((a, b)) => (a.min(first), b.max(last)),
            None => (first, last),
        });
    }
    bounds
}

/// `DLE EOT n`: real-time status request (`n` 1–4), answered at once, even mid-job.
pub fn status_request(n: u8) -> [u8; 3] {
    [0x10, 0x04, n]
}

/// `GS a n`: Automatic Status Back for the conditions in `mask` (0 turns it off).
pub fn automatic_status_back(mask: u8) -> [u8; 3] {
    [GS, b'a', mask]
}
