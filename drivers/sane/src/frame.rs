//! Turning SANE frames into a [`RawPage`]: pure, no libsane, no I/O.
//!
//! * stride is `bytes_per_line`; padding at the end of a line (`ppl-loss`) is dropped;
//! * 1-bit gray stays packed ([`PixelFormat::Bw1`], MSB first, 1 = black, as SANE sends it);
//! * 16-bit samples are in host byte order and are reduced to 8 bits;
//! * three-pass RED/GREEN/BLUE frames arrive in any order and are merged into RGB;
//! * `lines = -1` (hand scanners): the height comes from the bytes read;
//! * a frame with fewer (or more) bytes than its parameters announce is an error, never a page.

use std::fmt;

use counter_agent_driver_api::{PageSide, PixelFormat, RawPage};

/// `SANE_FRAME_*` codes (an open integer: backends use others, e.g. 0x0A–0x12 for JPEG or IR).
pub const FRAME_GRAY: i32 = 0;
pub const FRAME_RGB: i32 = 1;
pub const FRAME_RED: i32 = 2;
pub const FRAME_GREEN: i32 = 3;
pub const FRAME_BLUE: i32 = 4;

/// `SANE_Parameters`, copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameParams {
    pub format: i32,
    pub last_frame: bool,
    pub bytes_per_line: i32,
    pub pixels_per_line: i32,
    /// -1 when the device does not know the height in advance.
    pub lines: i32,
    pub depth: i32,
}

impl FrameParams {
    /// Bytes the frame will have, when the device knows its height.
    pub fn expected_bytes(&self) -> Option<u64> {
        let lines = u64::try_from(self.lines).ok().filter(|lines| *lines > 0)?;
        Some(lines * u64::try_from(self.bytes_per_line).ok()?)
    }
}

/// Why frames do not make a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Parameters no image can have (zero width, a line shorter than its pixels, …).
    BadParameters(String),
    /// A frame type or depth this agent cannot turn into pixels.
    Unsupported(String),
    /// Fewer (or more) bytes than the parameters announce; `got` and `expected` in bytes.
    Length { got: usize, expected: usize },
    /// A hand-scanner frame with no complete line.
    Empty,
    /// The three-pass frames do not fit together (a colour twice, sizes differ, one missing).
    ThreePass(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadParameters(what) => write!(f, "the scanner sent impossible frame parameters: {what}"),
            FrameError::Unsupported(what) => write!(f, "unsupported frame: {what}"),
            FrameError::Length { got, expected } if got < expected => {
                write!(f, "short frame: {got} of {expected} bytes arrived — the page is incomplete")
            }
            FrameError::Length { got, expected } => {
                write!(f, "the scanner sent {got} bytes for a {expected}-byte frame")
            }
            FrameError::Empty => f.write_str("the scanner ended the page before one complete line"),
            FrameError::ThreePass(what) => write!(f, "three-pass colour frames do not fit together: {what}"),
        }
    }
}

/// One channel plane of a three-pass scan, already 8-bit and unpadded.
struct Plane {
    width: u32,
    height: u32,
    samples: Vec<u8>,
}

/// Collects the frames of one page.
pub struct PageAssembler {
    dpi: u32,
    side: PageSide,
    /// RED, GREEN, BLUE planes of a three-pass scan, by position.
    planes: [Option<Plane>; 3],
    page: Option<RawPage>,
}

impl PageAssembler {
    pub fn new(dpi: u32, side: PageSide) -> PageAssembler {
        PageAssembler { dpi, side, planes: [None, None, None], page: None }
    }

    /// Adds one complete frame (everything read up to `EOF`). Returns the page once the frame
    /// marked `last_frame` has been added.
    /// Takes the bytes by value: an unpadded 8-bit frame becomes the page without a copy.
    pub fn add_frame(&mut self, params: &FrameParams, data: Vec<u8>) -> Result<Option<RawPage>, FrameError> {
        let geometry = Geometry::check(params, data.len())?;
        match params.format {
            FRAME_GRAY => {
                self.page = Some(match params.depth {
                    1 => self.page_from(geometry, PixelFormat::Bw1, unpad(data, &geometry)),
                    8 => self.page_from(geometry, PixelFormat::Gray8, unpad(data, &geometry)),
                    _ => self.page_from(geometry, PixelFormat::Gray8, to_8_bit(&data, &geometry)),
                });
            }
            FRAME_RGB => {
                self.page = Some(match params.depth {
                    8 => self.page_from(geometry, PixelFormat::Rgb8, unpad(data, &geometry)),
                    16 => self.page_from(geometry, PixelFormat::Rgb8, to_8_bit(&data, &geometry)),
                    _ => return Err(FrameError::Unsupported("1-bit colour; choose the Lineart or Gray mode".into())),
                });
            }
            FRAME_RED | FRAME_GREEN | FRAME_BLUE => {
                if params.depth == 1 {
                    return Err(FrameError::Unsupported("1-bit three-pass colour".into()));
                }
                let slot = (params.format - FRAME_RED) as usize;
                if self.planes[slot].is_some() {
                    return Err(FrameError::ThreePass(format!("colour frame {} arrived twice", params.format)));
                }
                let samples = if params.depth == 8 { unpad(data, &geometry) } else { to_8_bit(&data, &geometry) };
                self.planes[slot] = Some(Plane { width: geometry.width, height: geometry.height, samples });
            }
            other => return Err(FrameError::Unsupported(format!("SANE frame type {other}"))),
        }
        if !params.last_frame {
            return Ok(None);
        }
        if let Some(page) = self.page.take() {
            return Ok(Some(page));
        }
        self.merge_planes().map(Some)
    }

    fn page_from(&self, geometry: Geometry, format: PixelFormat, data: Vec<u8>) -> RawPage {
        RawPage {
            width: geometry.width,
            height: geometry.height,
            dpi: self.dpi,
            format,
            stride: geometry.row_bytes,
            side: self.side,
            data,
        }
    }

    fn merge_planes(&mut self) -> Result<RawPage, FrameError> {
        let [Some(red), Some(green), Some(blue)] = std::mem::take(&mut self.planes) else {
            return Err(FrameError::ThreePass("the last frame came before all three colours".into()));
        };
        if (red.width, red.height) != (green.width, green.height)
            || (red.width, red.height) != (blue.width, blue.height)
        {
            return Err(FrameError::ThreePass(format!(
                "sizes differ: red {}×{}, green {}×{}, blue {}×{}",
                red.width, red.height, green.width, green.height, blue.width, blue.height
            )));
        }
        let mut data = Vec::with_capacity(red.samples.len() * 3);
        for ((r, g), b) in red.samples.iter().zip(&green.samples).zip(&blue.samples) {
            data.extend_from_slice(&[*r, *g, *b]);
        }
        Ok(RawPage {
            width: red.width,
            height: red.height,
            dpi: self.dpi,
            format: PixelFormat::Rgb8,
            stride: red.width as usize * 3,
            side: self.side,
            data,
        })
    }
}

/// The checked shape of one frame.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    width: u32,
    height: u32,
    /// `bytes_per_line` as sent.
    line_bytes: usize,
    /// Bytes of one line without padding, at the output depth (8-bit for 16-bit input).
    row_bytes: usize,
    /// Bytes of one line without padding, at the input depth.
    used_bytes: usize,
    depth: i32,
}

impl Geometry {
    fn check(params: &FrameParams, len: usize) -> Result<Geometry, FrameError> {
        let bad = |what: String| Err(FrameError::BadParameters(what));
        let channels: usize = if params.format == FRAME_RGB { 3 } else { 1 };
        if !matches!(params.depth, 1 | 8 | 16) {
            return Err(FrameError::Unsupported(format!("{}-bit samples", params.depth)));
        }
        let (Ok(width), Ok(line_bytes)) =
            (u32::try_from(params.pixels_per_line), usize::try_from(params.bytes_per_line))
        else {
            return bad(format!("{} pixels and {} bytes per line", params.pixels_per_line, params.bytes_per_line));
        };
        if width == 0 || line_bytes == 0 {
            return bad(format!("{width} pixels and {line_bytes} bytes per line"));
        }
        let samples = width as usize * channels;
        let used_bytes = match params.depth {
            1 => samples.div_ceil(8),
            8 => samples,
            _ => samples * 2,
        };
        if used_bytes > line_bytes {
            return bad(format!("{width} pixels of {} bits need {used_bytes} bytes, not {line_bytes}", params.depth));
        }
        let row_bytes = if params.depth == 16 { samples } else { used_bytes };
        let height = if params.lines == -1 {
            if !len.is_multiple_of(line_bytes) {
                let expected = len.div_ceil(line_bytes) * line_bytes;
                return Err(FrameError::Length { got: len, expected });
            }
            if len == 0 {
                return Err(FrameError::Empty);
            }
            len / line_bytes
        } else {
            let Ok(lines) = usize::try_from(params.lines) else {
                return bad(format!("{} lines", params.lines));
            };
            if lines == 0 {
                return bad("0 lines".into());
            }
            let expected =
                lines.checked_mul(line_bytes).ok_or_else(|| FrameError::BadParameters("too large".into()))?;
            if len != expected {
                return Err(FrameError::Length { got: len, expected });
            }
            lines
        };
        let height = u32::try_from(height).map_err(|_| FrameError::BadParameters(format!("{height} lines")))?;
        Ok(Geometry { width, height, line_bytes, row_bytes, used_bytes, depth: params.depth })
    }
}

/// The lines without their padding (a copy only when there is padding).
fn unpad(data: Vec<u8>, geometry: &Geometry) -> Vec<u8> {
    if geometry.used_bytes == geometry.line_bytes {
        return data;
    }
    let mut out = Vec::with_capacity(geometry.used_bytes * geometry.height as usize);
    for line in data.chunks_exact(geometry.line_bytes) {
        out.extend_from_slice(&line[..geometry.used_bytes]);
    }
    out
}

/// 16-bit samples in host byte order → their high 8 bits, padding dropped.
fn to_8_bit(data: &[u8], geometry: &Geometry) -> Vec<u8> {
    debug_assert_eq!(geometry.depth, 16);
    let mut out = Vec::with_capacity(geometry.row_bytes * geometry.height as usize);
    for line in data.chunks_exact(geometry.line_bytes) {
        for sample in line[..geometry.used_bytes].chunks_exact(2) {
            out.push((u16::from_ne_bytes([sample[0], sample[1]]) >> 8) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests;
