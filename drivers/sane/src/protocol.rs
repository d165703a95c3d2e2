//! The framed binary protocol between the daemon and its `scan-worker` child, over stdio.
//!
//! A frame is `tag: u8`, `length: u32 LE`, then `length` bytes of payload. Integers are little
//! endian; a string or byte block is a `u32` length then its bytes. Hand-written on purpose:
//! drivers do not use serde, and pixel data must not be copied through a text format.
//!
//! This module owns the message types and their encoding; it does no I/O beyond the `Read`/`Write`
//! it is handed, and knows nothing of libsane.

use std::io::{self, Read, Write};

use counter_agent_driver_api::{ColorMode, PageSide, PixelFormat, RawPage, SaneOptionMap, ScanSource};

/// A frame larger than this is refused (a 1200 dpi A4 colour page is about 420 MB).
pub const MAX_FRAME: u32 = 1 << 30;

/// Daemon → worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `sane_init` + `sane_open(device)`, then the map's extra options.
    Open { device: String, map: Box<SaneOptionMap> },
    /// Select source, mode and resolution, then scan pages until the batch ends.
    Start { source: ScanSource, color: ColorMode, dpi: u32 },
    /// After a [`Reply::Fault`]: scan on from the page that failed.
    Continue,
    /// Stop the batch (`sane_cancel`).
    Cancel,
    /// Close the device and exit.
    Quit,
}

/// How a failed batch or open should reach the daemon (see [`Reply::Failed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    NotFound,
    Unsupported,
    /// A device condition: the status says which.
    Fault,
    Protocol,
    Io,
    Cancelled,
}

impl FailKind {
    fn code(self) -> u8 {
        match self {
            FailKind::NotFound => 1,
            FailKind::Unsupported => 2,
            FailKind::Fault => 3,
            FailKind::Protocol => 4,
            FailKind::Io => 5,
            FailKind::Cancelled => 6,
        }
    }

    fn from_code(code: u8) -> io::Result<FailKind> {
        Ok(match code {
            1 => FailKind::NotFound,
            2 => FailKind::Unsupported,
            3 => FailKind::Fault,
            4 => FailKind::Protocol,
            5 => FailKind::Io,
            6 => FailKind::Cancelled,
            other => return Err(invalid(format!("unknown failure kind {other}"))),
        })
    }
}

/// Worker → daemon.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The device is open; what it offers, for messages.
    Opened { summary: String },
    /// Options are set; the resolution the device actually uses.
    Started { dpi: u32 },
    /// Bytes of the current page so far.
    Progress { bytes: u64, expected: Option<u64> },
    /// A finished page (sent when its last frame ends).
    Page(RawPage),
    /// A device condition stopped the batch at 1-based `page`; the worker waits for
    /// [`Command::Continue`], [`Command::Cancel`] or [`Command::Quit`].
    Fault { status: i32, page: u32 },
    /// The batch ended normally after `pages` pages.
    BatchEnd { pages: u32 },
    /// The batch was cancelled.
    Cancelled,
    /// The batch (or the open) failed for good.
    Failed { kind: FailKind, status: i32, page: u32, message: String },
}

const OPEN: u8 = 1;
const START: u8 = 2;
const CONTINUE: u8 = 3;
const CANCEL: u8 = 4;
const QUIT: u8 = 5;
const OPENED: u8 = 101;
const STARTED: u8 = 102;
const PROGRESS: u8 = 103;
const PAGE: u8 = 104;
const FAULT: u8 = 105;
const BATCH_END: u8 = 106;
const CANCELLED: u8 = 107;
const FAILED: u8 = 108;

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Builds one payload.
#[derive(Default)]
struct Payload(Vec<u8>);

impl Payload {
    fn u8(&mut self, value: u8) -> &mut Self {
        self.0.push(value);
        self
    }
    fn u32(&mut self, value: u32) -> &mut Self {
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    fn i32(&mut self, value: i32) -> &mut Self {
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    fn u64(&mut self, value: u64) -> &mut Self {
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    fn bytes(&mut self, value: &[u8]) -> &mut Self {
        self.u32(value.len() as u32);
        self.0.extend_from_slice(value);
        self
    }
    fn str(&mut self, value: &str) -> &mut Self {
        self.bytes(value.as_bytes())
    }
    fn strings(&mut self, values: &[String]) -> &mut Self {
        self.u32(values.len() as u32);
        for value in values {
            self.str(value);
        }
        self
    }
}

/// Reads one payload.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(invalid("truncated message".into()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> io::Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i32(&mut self) -> io::Result<i32> {
        Ok(self.u32()? as i32)
    }
    fn u64(&mut self) -> io::Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }
    fn bytes(&mut self) -> io::Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| invalid("a string is not UTF-8".into()))
    }
    fn strings(&mut self) -> io::Result<Vec<String>> {
        let n = self.u32()?;
        if n as usize > self.0.len() {
            return Err(invalid("truncated message".into()));
        }
        (0..n).map(|_| self.string()).collect()
    }
    fn end(&self) -> io::Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(invalid(format!("{} unexpected bytes at the end of a message", self.0.len())))
        }
    }
}

fn write_frame(out: &mut impl Write, tag: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).ok().filter(|len| *len <= MAX_FRAME);
    let len = len.ok_or_else(|| invalid(format!("a {}-byte message is too large", payload.len())))?;
    let mut head = [0u8; 5];
    head[0] = tag;
    head[1..].copy_from_slice(&len.to_le_bytes());
    out.write_all(&head)?;
    out.write_all(payload)?;
    out.flush()
}

/// A page message's header: width, height, dpi (u32), format (u8), stride (u64), side (u8),
/// pixel byte count (u32); the pixels follow.
const PAGE_HEADER: usize = 4 + 4 + 4 + 1 + 8 + 1 + 4;

/// A frame read back: its tag, the payload (or its first part), and the rest of a split payload.
type Frame = (u8, Vec<u8>, Vec<u8>);

/// Reads one frame; `Ok(None)` at a clean end of stream (between frames). A frame tagged
/// `split_tag` comes back in two buffers, the first `split_at` bytes and the rest, so a page's
/// pixels land in a buffer of their own (moving 26 MB down by a header's length costs a copy).
fn read_frame(input: &mut impl Read, split_tag: Option<(u8, usize)>) -> io::Result<Option<Frame>> {
    let mut head = [0u8; 5];
    let mut got = 0;
    while got < head.len() {
        match input.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    if len > MAX_FRAME {
        return Err(invalid(format!("a {len}-byte message is too large")));
    }
    let len = len as usize;
    let split = match split_tag {
        Some((tag, at)) if tag == head[0] => at.min(len),
        _ => len,
    };
    let mut payload = vec![0u8; split];
    input.read_exact(&mut payload)?;
    let mut rest = vec![0u8; len - split];
    crate::os::huge_pages(&mut rest);
    input.read_exact(&mut rest)?;
    Ok(Some((head[0], payload, rest)))
}

fn source_code(source: ScanSource) -> u8 {
    match source {
        ScanSource::Flatbed => 0,
        ScanSource::Adf => 1,
        ScanSource::AdfDuplex => 2,
    }
}

fn color_code(color: ColorMode) -> u8 {
    match color {
        ColorMode::Auto => 0,
        ColorMode::Color => 1,
        ColorMode::Gray => 2,
        ColorMode::Bw => 3,
    }
}

pub fn write_command(out: &mut impl Write, command: &Command) -> io::Result<()> {
    let mut p = Payload::default();
    let tag = match command {
        Command::Open { device, map } => {
            p.str(device).str(&map.source).str(&map.mode).str(&map.resolution);
            for list in [
                &map.flatbed_values,
                &map.adf_values,
                &map.adf_duplex_values,
                &map.color_values,
                &map.gray_values,
                &map.lineart_values,
            ] {
                p.strings(list);
            }
            p.u32(map.extra.len() as u32);
            for (name, value) in &map.extra {
                p.str(name).str(value);
            }
            OPEN
        }
        Command::Start { source, color, dpi } => {
            p.u8(source_code(*source)).u8(color_code(*color)).u32(*dpi);
            START
        }
        Command::Continue => CONTINUE,
        Command::Cancel => CANCEL,
        Command::Quit => QUIT,
    };
    write_frame(out, tag, &p.0)
}

pub fn read_command(input: &mut impl Read) -> io::Result<Option<Command>> {
    let Some((tag, payload, _)) = read_frame(input, None)? else { return Ok(None) };
    let mut f = Fields(&payload);
    let command = match tag {
        OPEN => {
            let device = f.string()?;
            let (source, mode, resolution) = (f.string()?, f.string()?, f.string()?);
            let mut lists = Vec::new();
            for _ in 0..6 {
                lists.push(f.strings()?);
            }
            let n_extra = f.u32()?;
            let mut extra = Vec::new();
            for _ in 0..n_extra {
                extra.push((f.string()?, f.string()?));
            }
            let mut lists = lists.into_iter();
            let mut next = || lists.next().unwrap_or_default();
            let map = Box::new(SaneOptionMap {
                source,
                mode,
                resolution,
                flatbed_values: next(),
                adf_values: next(),
                adf_duplex_values: next(),
                color_values: next(),
                gray_values: next(),
                lineart_values: next(),
                extra,
            });
            Command::Open { device, map }
        }
        START => {
            let source = match f.u8()? {
                0 => ScanSource::Flatbed,
                1 => ScanSource::Adf,
                2 => ScanSource::AdfDuplex,
                other => return Err(invalid(format!("unknown source {other}"))),
            };
            let color = match f.u8()? {
                0 => ColorMode::Auto,
                1 => ColorMode::Color,
                2 => ColorMode::Gray,
                3 => ColorMode::Bw,
                other => return Err(invalid(format!("unknown colour mode {other}"))),
            };
            Command::Start { source, color, dpi: f.u32()? }
        }
        CONTINUE => Command::Continue,
        CANCEL => Command::Cancel,
        QUIT => Command::Quit,
        other => return Err(invalid(format!("unknown command {other}"))),
    };
    f.end()?;
    Ok(Some(command))
}

fn format_code(format: PixelFormat) -> u8 {
    match format {
        PixelFormat::Gray8 => 0,
        PixelFormat::Rgb8 => 1,
        PixelFormat::Bw1 => 2,
    }
}

/// Writes a page header and its pixels without copying them into a payload first.
fn write_page(out: &mut impl Write, page: &RawPage) -> io::Result<()> {
    let mut p = Payload::default();
    p.u32(page.width).u32(page.height).u32(page.dpi).u8(format_code(page.format));
    p.u64(page.stride as u64).u8(u8::from(page.side == PageSide::Back)).u32(page.data.len() as u32);
    let total = p.0.len() + page.data.len();
    let len = u32::try_from(total).ok().filter(|len| *len <= MAX_FRAME);
    let len = len.ok_or_else(|| invalid(format!("a {total}-byte page is too large")))?;
    let mut head = [0u8; 5];
    head[0] = PAGE;
    head[1..].copy_from_slice(&len.to_le_bytes());
    out.write_all(&head)?;
    out.write_all(&p.0)?;
    out.write_all(&page.data)?;
    out.flush()
}

/// A page message: the header, then the pixels (kept in the buffer they were read into).
fn read_page(header: &[u8], data: Vec<u8>) -> io::Result<RawPage> {
    let mut f = Fields(header);
    let (width, height, dpi) = (f.u32()?, f.u32()?, f.u32()?);
    let format = match f.u8()? {
        0 => PixelFormat::Gray8,
        1 => PixelFormat::Rgb8,
        2 => PixelFormat::Bw1,
        other => return Err(invalid(format!("unknown pixel format {other}"))),
    };
    let stride = usize::try_from(f.u64()?).map_err(|_| invalid("stride too large".into()))?;
    let side = if f.u8()? == 1 { PageSide::Back } else { PageSide::Front };
    let n_bytes = f.u32()? as usize;
    f.end()?;
    if data.len() != n_bytes {
        return Err(invalid(format!("a page announces {n_bytes} bytes but carries {}", data.len())));
    }
    let row = match format {
        PixelFormat::Gray8 => width as usize,
        PixelFormat::Rgb8 => width as usize * 3,
        PixelFormat::Bw1 => (width as usize).div_ceil(8),
    };
    let needed = stride.checked_mul(height as usize);
    if stride < row || needed != Some(n_bytes) {
        return Err(invalid(format!("a {width}×{height} page with stride {stride} cannot have {n_bytes} bytes")));
    }
    Ok(RawPage { width, height, dpi, format, stride, side, data })
}

pub fn write_reply(out: &mut impl Write, reply: &Reply) -> io::Result<()> {
    let mut p = Payload::default();
    let tag = match reply {
        Reply::Opened { summary } => {
            p.str(summary);
            OPENED
        }
        Reply::Started { dpi } => {
            p.u32(*dpi);
            STARTED
        }
        Reply::Progress { bytes, expected } => {
            p.u64(*bytes).u64(expected.unwrap_or(u64::MAX));
            PROGRESS
        }
        Reply::Page(page) => return write_page(out, page),
        Reply::Fault { status, page } => {
            p.i32(*status).u32(*page);
            FAULT
        }
        Reply::BatchEnd { pages } => {
            p.u32(*pages);
            BATCH_END
        }
        Reply::Cancelled => CANCELLED,
        Reply::Failed { kind, status, page, message } => {
            p.u8(kind.code()).i32(*status).u32(*page).str(message);
            FAILED
        }
    };
    write_frame(out, tag, &p.0)
}

pub fn read_reply(input: &mut impl Read) -> io::Result<Option<Reply>> {
    let Some((tag, payload, pixels)) = read_frame(input, Some((PAGE, PAGE_HEADER)))? else { return Ok(None) };
    if tag == PAGE {
        return read_page(&payload, pixels).map(|page| Some(Reply::Page(page)));
    }
    let mut f = Fields(&payload);
    let reply = match tag {
        OPENED => Reply::Opened { summary: f.string()? },
        STARTED => Reply::Started { dpi: f.u32()? },
        PROGRESS => {
            let bytes = f.u64()?;
            let expected = Some(f.u64()?).filter(|expected| *expected != u64::MAX);
            Reply::Progress { bytes, expected }
        }
        FAULT => Reply::Fault { status: f.i32()?, page: f.u32()? },
        BATCH_END => Reply::BatchEnd { pages: f.u32()? },
        CANCELLED => Reply::Cancelled,
        FAILED => {
            let kind = FailKind::from_code(f.u8()?)?;
            Reply::Failed { kind, status: f.i32()?, page: f.u32()?, message: f.string()? }
        }
        other => return Err(invalid(format!("unknown reply {other}"))),
    };
    f.end()?;
    Ok(Some(reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip_command(command: Command) {
        let mut bytes = Vec::new();
        write_command(&mut bytes, &command).expect("writes to a Vec");
        let mut input = bytes.as_slice();
        assert_eq!(read_command(&mut input).expect("reads back"), Some(command));
        assert_eq!(read_command(&mut input).expect("clean end"), None);
    }

    #[test]
    fn every_command_survives_a_round_trip() {
        let mut map = SaneOptionMap::default();
        map.extra.push(("swdeskew".into(), "yes".into()));
        round_trip_command(Command::Open { device: "fujitsu:fi-7160:1".into(), map: Box::new(map) });
        round_trip_command(Command::Start { source: ScanSource::AdfDuplex, color: ColorMode::Bw, dpi: 300 });
        round_trip_command(Command::Continue);
        round_trip_command(Command::Cancel);
        round_trip_command(Command::Quit);
    }

    #[test]
    fn a_page_round_trips_and_a_lying_header_is_refused() {
        let page = RawPage {
            width: 3,
            height: 2,
            dpi: 150,
            format: PixelFormat::Rgb8,
            stride: 9,
            side: PageSide::Back,
            data: (0..18).collect(),
        };
        let mut bytes = Vec::new();
        write_reply(&mut bytes, &Reply::Page(page.clone())).expect("writes");
        let Some(Reply::Page(back)) = read_reply(&mut bytes.as_slice()).expect("reads") else { panic!("not a page") };
        assert_eq!((back.width, back.height, back.stride, back.side), (3, 2, 9, PageSide::Back));
        assert_eq!(back.data, page.data);

        let short = RawPage { data: vec![0; 17], ..page };
        let mut bytes = Vec::new();
        write_reply(&mut bytes, &Reply::Page(short)).expect("writes");
        let error = read_reply(&mut bytes.as_slice()).expect_err("17 bytes are not a 3×2 RGB page");
        assert!(error.to_string().contains("cannot have 17 bytes"), "{error}");
    }

    #[test]
    fn truncated_unknown_and_oversized_frames_are_errors_not_panics() {
        let mut bytes = Vec::new();
        write_reply(&mut bytes, &Reply::Failed { kind: FailKind::Fault, status: 6, page: 4, message: "x".into() })
            .expect("writes");
        for cut in 1..bytes.len() {
            assert!(read_reply(&mut &bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(read_reply(&mut [250u8, 0, 0, 0, 0].as_slice()).is_err());
        assert!(read_reply(&mut [PAGE, 255, 255, 255, 255].as_slice()).is_err());
        assert!(read_command(&mut [OPEN, 4, 0, 0, 0, 9, 9, 9, 9].as_slice()).is_err());
    }
}
