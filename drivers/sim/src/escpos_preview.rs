//! A small ESC/POS interpreter that draws what a receipt printer would print: bytes in, a
//! black-and-white image out. A pure function; no I/O.
//!
//! It understands the commands counter-agent and common receipt libraries send: `ESC @`, `LF`,
//! `ESC a` (justification), `ESC E`/`ESC G`/`ESC !`/`ESC -` (bold, double, underline), `GS !`
//! (character size ×1..×8), `ESC d`/`ESC J`/`ESC 2`/`ESC 3` (feeds, line spacing), `GS V` (cut,
//! drawn as a dashed line), `GS v 0` (raster images, exact pixels), `GS ( k` (QR codes, drawn as a
//! labelled placeholder) and `ESC t` (code table, remembered). Text bytes 0x20–0x7E print as ASCII
//! in a 12 × 24-dot cell (Font A); any other printable byte prints as a small replacement box, since
//! what it means depends on the printer's code table. Other commands whose length is known are
//! skipped (`ESC *` column images and barcodes are skipped, not drawn); a command it cannot size
//! is an error, as is truncated data. Text still in the line buffer at the end is drawn too (a real
//! printer would print it with the next job). It never panics, whatever the input, and bounds the
//! image it produces ([`MAX_ROWS`]).

use image::GrayImage;

use self::paper::{Cell, Paper};

mod paper;
#[cfg(test)]
mod tests;

/// Longest preview drawn, in dots (about 4 m of paper at 203 dpi).
pub const MAX_ROWS: u32 = 32_768;
/// Narrowest and widest paper accepted, in dots.
pub const WIDTH_RANGE: std::ops::RangeInclusive<u32> = 64..=4096;

/// Default line spacing (`ESC 2`), in dots: 1/6 inch at 180 dpi, what most 203-dpi models use too.
const DEFAULT_LINE_SPACING: u32 = 30;

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const FS: u8 = 0x1C;
const DLE: u8 = 0x10;

/// Why a byte stream could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("{command} at byte {offset} needs {needed} bytes of parameters and data, only {available} follow")]
    Truncated { offset: usize, command: &'static str, needed: usize, available: usize },
    #[error("unknown command {} at byte {offset}: cannot tell how long it is", hex(.bytes))]
    UnknownCommand { offset: usize, bytes: Vec<u8> },
    #[error("{command} at byte {offset} has an invalid parameter {value}")]
    BadParameter { offset: usize, command: &'static str, value: u8 },
    #[error("the receipt would be longer than {max_rows} dots; check for runaway feeds")]
    TooLong { max_rows: u32 },
    #[error("a paper width of {width} dots is not supported (expected {}..={})", WIDTH_RANGE.start(), WIDTH_RANGE.end())]
    BadWidth { width: u32 },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

/// What the printer would have printed.
#[derive(Debug, Clone)]
pub struct Preview {
    /// One byte per dot: 0 = black, 255 = paper. At least one row high.
    pub image: GrayImage,
    /// Number of cuts (`GS V`, `ESC i`, `ESC m`).
    pub n_cuts: usize,
    /// Number of bytes drawn as replacement boxes (outside 0x20–0x7E).
    pub n_replaced: usize,
    /// Number of QR codes printed (`GS ( k` print function).
    pub n_qr_codes: usize,
    /// The code table last selected with `ESC t` (0 after `ESC @`).
    pub code_table: u8,
}

/// Interprets `bytes` for a printer `width_dots` wide.
pub fn render_preview(bytes: &[u8], width_dots: u32) -> Result<Preview, PreviewError> {
    if !WIDTH_RANGE.contains(&width_dots) {
        return Err(PreviewError::BadWidth { width: width_dots });
    }
    let mut printer = Interpreter::new(bytes, width_dots);
    printer.run()?;
    printer.flush_line(false)?;
    let Interpreter { paper, n_cuts, n_replaced, n_qr_codes, mode, .. } = printer;
    Ok(Preview { image: paper.into_image(), n_cuts, n_replaced, n_qr_codes, code_table: mode.code_table })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Justify {
    Left,
    Center,
    Right,
}

/// Print modes, reset by `ESC @`.
#[derive(Debug, Clone, Copy)]
struct Mode {
    justify: Justify,
    /// `GS L`: the printable area starts this many dots from the paper's left edge (one
    /// horizontal motion unit = one dot, the default).
    left_margin: u32,
    bold: bool,
    underline: u32,
    width_mul: u32,
    height_mul: u32,
    line_spacing: u32,
    code_table: u8,
}

impl Default for Mode {
    fn default() -> Mode {
        Mode {
            justify: Justify::Left,
            left_margin: 0,
            bold: false,
            underline: 0,
            width_mul: 1,
            height_mul: 1,
            line_spacing: DEFAULT_LINE_SPACING,
            code_table: 0,
        }
    }
}

struct Interpreter<'a> {
    bytes: &'a [u8],
    pos: usize,
    paper: Paper,
    mode: Mode,
    line: Vec<Cell>,
    /// Length of the QR data stored with `GS ( k … 80`, and the module size.
    qr_data_len: Option<usize>,
    qr_module: u32,
    n_cuts: usize,
    n_replaced: usize,
    n_qr_codes: usize,
}

impl<'a> Interpreter<'a> {
    fn new(bytes: &'a [u8], width: u32) -> Interpreter<'a> {
        Interpreter {
            bytes,
            pos: 0,
            paper: Paper::new(width),
            mode: Mode::default(),
            line: Vec::new(),
            qr_data_len: None,
            qr_module: 3,
            n_cuts: 0,
            n_replaced: 0,
            n_qr_codes: 0,
        }
    }

    /// Takes `n` bytes following the current position for `command` (which started at `start`).
    fn take(&mut self, n: usize, command: &'static str, start: usize) -> Result<&'a [u8], PreviewError> {
        let available = self.bytes.len() - self.pos;
        if n > available {
            return Err(PreviewError::Truncated { offset: start, command, needed: n, available });
        }
        let taken = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(taken)
    }

    fn take_byte(&mut self, command: &'static str, start: usize) -> Result<u8, PreviewError> {
        Ok(self.take(1, command, start)?[0])
    }

    /// Takes a little-endian `pL pH` length and then that many bytes.
    fn take_counted(&mut self, command: &'static str, start: usize) -> Result<&'a [u8], PreviewError> {
        let length = self.take(2, command, start)?;
        let n = usize::from(length[0]) + 256 * usize::from(length[1]);
        self.take(n, command, start)
    }

    fn run(&mut self) -> Result<(), PreviewError> {
        while self.pos < self.bytes.len() {
            let start = self.pos;
            let byte = self.bytes[start];
            self.pos += 1;
            match byte {
                b'\n' => self.flush_line(true)?,
                0x0C => self.flush_line(true)?, // FF: in standard mode, print and feed
                b'\t' => {
                    let column = self.line.len();
                    for _ in column..(column / 8 + 1) * 8 {
                        self.push_cell(Some(' '))?;
                    }
                }
                ESC => self.escape(start)?,
                GS => self.group_separator(start)?,
                FS => self.field_separator(start)?,
                DLE => self.data_link_escape(start)?,
                0x20..=0x7E => self.push_cell(Some(char::from(byte)))?,
                // CR and other control codes do nothing in standard mode.
                0x00..=0x1F => {}
                0x7F..=0xFF => {
                    self.n_replaced += 1;
                    self.push_cell(None)?;
                }
            }
        }
        Ok(())
    }

    fn escape(&mut self, start: usize) -> Result<(), PreviewError> {
        let command = self.take_byte("ESC", start)?;
        match command {
            b'@' => {
                self.mode = Mode::default();
                self.line.clear();
            }
            b'a' => {
                self.mode.justify = match self.take_byte("ESC a", start)? {
                    0 | b'0' => Justify::Left,
                    1 | b'1' => Justify::Center,
                    2 | b'2' => Justify::Right,
                    _ => self.mode.justify, // out of range: ignored, as printers do
                };
            }
            b'E' => self.mode.bold = self.take_byte("ESC E", start)? & 1 == 1,
            b'G' => self.mode.bold = self.take_byte("ESC G", start)? & 1 == 1,
            b'-' => {
                self.mode.underline = match self.take_byte("ESC -", start)? {
                    1 | b'1' => 1,
                    2 | b'2' => 2,
                    _ => 0,
                };
            }
            b'!' => {
                let n = self.take_byte("ESC !", start)?;
                self.mode.bold = n & 0x08 != 0;
                self.mode.height_mul = if n & 0x10 != 0 { 2 } else { 1 };
                self.mode.width_mul = if n & 0x20 != 0 { 2 } else { 1 };
                self.mode.underline = u32::from(n & 0x80 != 0);
            }
            b't' => self.mode.code_table = self.take_byte("ESC t", start)?,
            b'd' => {
                let n = self.take_byte("ESC d", start)?;
                self.flush_line(false)?;
                self.paper.advance(u32::from(n) * self.mode.line_spacing)?;
            }
            b'J' => {
                let n = self.take_byte("ESC J", start)?;
                self.flush_line(false)?;
                self.paper.advance(u32::from(n))?;
            }
            b'2' => self.mode.line_spacing = DEFAULT_LINE_SPACING,
            b'3' => self.mode.line_spacing = u32::from(self.take_byte("ESC 3", start)?),
            b'i' | b'm' => self.cut(0)?,
            // One parameter byte we do not draw: font, character set, spacing, upside down,
            // rotation, double-strike variants, reverse feed, peripheral, colour, etc.
            b'M' | b'R' | b' ' | b'{' | b'V' | b'U' | b'=' | b'r' | b'e' | b'K' | b'c' | b'%' | b'?' | b'T' => {
                // `ESC c 3 n`, `ESC c 4 n`, `ESC c 5 n` have two.
                let n_params = if command == b'c' { 2 } else { 1 };
                self.take(n_params, "ESC", start)?;
            }
            b'$' | b'\\' => {
                self.take(2, "ESC $", start)?;
            }
            b'p' => {
                self.take(3, "ESC p", start)?;
            }
            b'W' => {
                self.take(8, "ESC W", start)?;
            }
            b'L' | b'S' | b'<' => {} // page mode / standard mode / return home: no parameters
            b'D' => {
                // Tab positions, up to 32, terminated by NUL.
                let rest = &self.bytes[self.pos..];
                match rest.iter().take(33).position(|&b| b == 0) {
                    Some(end) => self.pos += end + 1,
                    None => {
                        return Err(PreviewError::Truncated {
                            offset: start,
                            command: "ESC D",
                            needed: rest.len().min(33) + 1,
                            available: rest.len(),
                        })
                    }
                }
            }
            b'*' => {
                // Bit image in column format: skipped, not drawn.
                let header = self.take(3, "ESC *", start)?;
                let n = usize::from(header[1]) + 256 * usize::from(header[2]);
                let bytes_per_column = match header[0] {
                    0 | 1 => 1,
                    32 | 33 => 3,
                    m => return Err(PreviewError::BadParameter { offset: start, command: "ESC *", value: m }),
                };
                self.take(n * bytes_per_column, "ESC *", start)?;
            }
            b'(' => {
                self.take_byte("ESC (", start)?;
                self.take_counted("ESC (", start)?;
            }
            other => return Err(PreviewError::UnknownCommand { offset: start, bytes: vec![ESC, other] }),
        }
        Ok(())
    }

    fn group_separator(&mut self, start: usize) -> Result<(), PreviewError> {
        let command = self.take_byte("GS", start)?;
        match command {
            b'!' => {
                let n = self.take_byte("GS !", start)?;
                self.mode.width_mul = u32::from((n >> 4) & 0x07) + 1;
                self.mode.height_mul = u32::from(n & 0x07) + 1;
            }
            b'V' => {
                let m = self.take_byte("GS V", start)?;
                let feed = match m {
                    0 | 1 | b'0' | b'1' => 0,
                    65 | 66 | 97 | 98 | 103 | 104 => self.take_byte("GS V", start)?,
                    value => return Err(PreviewError::BadParameter { offset: start, command: "GS V", value }),
                };
                self.cut(u32::from(feed))?;
            }
            b'v' => self.raster_image(start)?,
            b'(' => {
                let function = self.take_byte("GS (", start)?;
                let parameters = self.take_counted("GS (", start)?;
                if function == b'k' {
                    self.two_dimensional_code(parameters)?;
                }
            }
            b'8' => {
                // GS 8 L: graphics with a 32-bit length.
                let header = self.take(5, "GS 8", start)?;
                let n = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
                self.take(n, "GS 8", start)?;
            }
            b'k' => {
                // Barcode: skipped, not drawn.
                let m = self.take_byte("GS k", start)?;
                if m <= 6 {
                    let rest = &self.bytes[self.pos..];
                    match rest.iter().position(|&b| b == 0) {
                        Some(end) => self.pos += end + 1,
                        None => {
                            let available = rest.len();
                            return Err(PreviewError::Truncated {
                                offset: start,
                                command: "GS k",
                                needed: available + 1,
                                available,
                            });
                        }
                    }
                } else {
                    let n = self.take_byte("GS k", start)?;
                    self.take(usize::from(n), "GS k", start)?;
                }
            }
            b'*' => {
                let header = self.take(2, "GS *", start)?;
                self.take(usize::from(header[0]) * usize::from(header[1]) * 8, "GS *", start)?;
            }
            // One parameter byte: reverse, smoothing, HRI position/font, barcode height/width,
            // automatic status back, status request, printer id, cut mode, etc.
            b'B' | b'b' | b'H' | b'h' | b'w' | b'f' | b'a' | b'r' | b'I' | b'/' | b'E' | b'T' => {
                self.take(1, "GS", start)?;
            }
            b'L' => {
                let margin = self.take(2, "GS L", start)?;
                self.mode.left_margin = (u32::from(margin[0]) + 256 * u32::from(margin[1])).min(self.paper.width);
            }
            b'W' | b'P' | b'$' | b'\\' => {
                self.take(2, "GS", start)?;
            }
            b'^' => {
                self.take(3, "GS ^", start)?;
            }
            b':' => {} // macro definition start/end
            other => return Err(PreviewError::UnknownCommand { offset: start, bytes: vec![GS, other] }),
        }
        Ok(())
    }

    fn field_separator(&mut self, start: usize) -> Result<(), PreviewError> {
        let command = self.take_byte("FS", start)?;
        match command {
            b'.' | b'&' => {}
            b'!' | b'-' | b'W' | b'C' => {
                self.take(1, "FS", start)?;
            }
            b'S' | b'p' => {
                self.take(2, "FS", start)?;
            }
            b'(' => {
                self.take_byte("FS (", start)?;
                self.take_counted("FS (", start)?;
            }
            other => return Err(PreviewError::UnknownCommand { offset: start, bytes: vec![FS, other] }),
        }
        Ok(())
    }

    fn data_link_escape(&mut self, start: usize) -> Result<(), PreviewError> {
        let Some(&command) = self.bytes.get(self.pos) else {
            return Ok(()); // A lone DLE at the end is just a control code.
        };
        match command {
            0x04 | 0x05 => {
                // DLE EOT n / DLE ENQ n: real-time requests, nothing printed.
                self.pos += 1;
                self.take(1, "DLE EOT", start)?;
            }
            0x14 => {
                self.pos += 1;
                let function = self.take_byte("DLE DC4", start)?;
                let n_params = match function {
                    1..=3 => 2,
                    7 => 1,
                    8 => 7,
                    value => return Err(PreviewError::BadParameter { offset: start, command: "DLE DC4", value }),
                };
                self.take(n_params, "DLE DC4", start)?;
            }
            _ => {} // DLE followed by anything else: DLE alone does nothing.
        }
        Ok(())
    }

    /// `GS v 0 m xL xH yL yH d…`: exactly (xL + 256·xH) × (yL + 256·yH) data bytes.
    fn raster_image(&mut self, start: usize) -> Result<(), PreviewError> {
        let header = self.take(6, "GS v 0", start)?;
        if header[0] != b'0' {
            return Err(PreviewError::BadParameter { offset: start, command: "GS v", value: header[0] });
        }
        let (x_scale, y_scale) = match header[1] {
            0 | 48 => (1, 1),
            1 | 49 => (2, 1),
            2 | 50 => (1, 2),
            3 | 51 => (2, 2),
            value => return Err(PreviewError::BadParameter { offset: start, command: "GS v 0", value }),
        };
        let bytes_per_row = usize::from(header[2]) + 256 * usize::from(header[3]);
        let rows = usize::from(header[4]) + 256 * usize::from(header[5]);
        let data = self.take(bytes_per_row * rows, "GS v 0", start)?;
        self.flush_line(false)?;
        let image_width = (bytes_per_row as u32 * 8).saturating_mul(x_scale);
        let x0 = self.justified_x(image_width);
        let top = self.paper.y;
        self.paper.ensure(top.saturating_add(rows as u32 * y_scale))?;
        if bytes_per_row > 0 {
            for (row, row_bytes) in data.chunks_exact(bytes_per_row).enumerate() {
                for (i, &byte) in row_bytes.iter().enumerate() {
                    if byte == 0 {
                        continue;
                    }
                    for bit in 0..8u32 {
                        if byte & (0x80 >> bit) != 0 {
                            let x = x0.saturating_add((i as u32 * 8 + bit) * x_scale);
                            let y = top + row as u32 * y_scale;
                            self.paper.fill_rect(x, y, x_scale, y_scale);
                        }
                    }
                }
            }
        }
        self.paper.advance(rows as u32 * y_scale)
    }

    /// `GS ( k` with `cn` = 49 (QR): remembers stored data, prints a placeholder. Other symbols
    /// (PDF417, MaxiCode…) are accepted and not drawn.
    fn two_dimensional_code(&mut self, parameters: &[u8]) -> Result<(), PreviewError> {
        let (Some(&symbol), Some(&function)) = (parameters.first(), parameters.get(1)) else {
            return Ok(());
        };
        if symbol != 49 {
            return Ok(());
        }
        match function {
            67 => {
                if let Some(&size) = parameters.get(2) {
                    self.qr_module = u32::from(size).clamp(1, 16);
                }
            }
            80 => self.qr_data_len = Some(parameters.len().saturating_sub(3)),
            81 => {
                if let Some(data_len) = self.qr_data_len {
                    self.flush_line(false)?;
                    self.print_qr(data_len)?;
                    self.n_qr_codes += 1;
                }
            }
            _ => {} // model, error correction, size query
        }
        Ok(())
    }

    /// `GS ( k` print: a placeholder as big as the real symbol would be.
    fn print_qr(&mut self, data_len: usize) -> Result<(), PreviewError> {
        // Byte-mode capacity at error correction level M for versions 1 to 10; beyond, grow.
        const CAPACITY_M: [usize; 10] = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213];
        let version = CAPACITY_M
            .iter()
            .position(|&capacity| data_len <= capacity)
            .map_or(10 + (data_len.saturating_sub(213) / 30).min(30), |i| i + 1);
        let modules = 17 + 4 * version as u32;
        let side = (modules * self.qr_module).min(self.paper.width);
        let x0 = self.justified_x(side);
        self.paper.draw_qr_placeholder(x0, side, modules)
    }

    /// A cut: feed `feed` dots, then a dashed line across the paper.
    fn cut(&mut self, feed: u32) -> Result<(), PreviewError> {
        self.flush_line(false)?;
        self.paper.advance(feed)?;
        self.n_cuts += 1;
        self.paper.draw_cut()
    }

    fn line_width(&self) -> u32 {
        self.line.iter().map(Cell::width).sum()
    }

    fn justified_x(&self, content_width: u32) -> u32 {
        let margin = self.mode.left_margin;
        let free = self.paper.width.saturating_sub(margin).saturating_sub(content_width);
        margin
            + match self.mode.justify {
                Justify::Left => 0,
                Justify::Center => free / 2,
                Justify::Right => free,
            }
    }

    /// Adds a character to the line buffer, printing the line first if it would not fit.
    fn push_cell(&mut self, ascii: Option<char>) -> Result<(), PreviewError> {
        let cell = Cell {
            ascii,
            bold: self.mode.bold,
            underline: self.mode.underline,
            width_mul: self.mode.width_mul,
            height_mul: self.mode.height_mul,
        };
        if !self.line.is_empty() && self.line_width() + cell.width() > self.paper.width {
            self.flush_line(true)?;
        }
        self.line.push(cell);
        Ok(())
    }

    /// Prints the line buffer. With `feed`, the paper then moves by the line spacing even if the
    /// buffer was empty (LF); without, only by the printed line's height.
    fn flush_line(&mut self, feed: bool) -> Result<(), PreviewError> {
        let height = self.line.iter().map(Cell::height).max().unwrap_or(0);
        if height > 0 {
            let top = self.paper.y;
            self.paper.ensure(top.saturating_add(height))?;
            let mut x = self.justified_x(self.line_width());
            for cell in std::mem::take(&mut self.line) {
                self.paper.draw_cell(&cell, x, top + height - cell.height());
                x += cell.width();
            }
        }
        let advance = if feed { height.max(self.mode.line_spacing) } else { height };
        self.paper.advance(advance)
    }
}
