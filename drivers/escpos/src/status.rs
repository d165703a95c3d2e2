//! What a printer sends back, told apart by fixed bits (Epson's ESC/POS reference):
//!
//! | reply | bytes | fixed bits |
//! | --- | --- | --- |
//! | `DLE EOT n` (real-time status) | 1 | `b & 0x93 == 0x12` |
//! | Automatic Status Back (`GS a`) | 4 | first `b & 0x93 == 0x10`, then `b & 0x90 == 0x00` |
//! | `GS r 1` (paper sensor) | 1 | `b & 0x90 == 0x00` |
//! | XON / XOFF (serial flow control) | 1 | `0x11` / `0x13` |
//!
//! ASB packets arrive whenever the printer's state changes, also between a `DLE EOT` request and its
//! answer: [`Replies`] keeps them apart so a status poll never reads half a packet as its answer.

/// One reply from the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The answer to a `DLE EOT n` request (its meaning depends on `n`: see [`Status::apply_dle_eot`]).
    RealTime(u8),
    /// An Automatic Status Back packet.
    Automatic([u8; 4]),
    /// The answer to `GS r 1`.
    PaperSensor(u8),
    Xon,
    Xoff,
    /// A byte that fits none of the above (line noise, an unknown model).
    Unknown(u8),
}

/// Splits the bytes a printer sends into [`Reply`]s; bytes may arrive in any chunks.
#[derive(Debug, Default)]
pub struct Replies {
    packet: Vec<u8>,
}

impl Replies {
    pub fn new() -> Replies {
        Replies::default()
    }

    /// Feeds received bytes; returns the replies they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Reply> {
        let mut out = Vec::new();
        for &byte in bytes {
            if !self.packet.is_empty() {
                if byte & 0x90 == 0 {
                    self.packet.push(byte);
                    if self.packet.len() == 4 {
                        let packet = [self.packet[0], self.packet[1], self.packet[2], self.packet[3]];
                        self.packet.clear();
                        out.push(Reply::Automatic(packet));
                    }
                    continue;
                }
                // Not a continuation: the packet was broken off; what we have is noise.
                out.extend(self.packet.drain(..).map(Reply::Unknown));
            }
            out.push(match byte {
                0x11 => Reply::Xon,
                0x13 => Reply::Xoff,
                b if b & 0x93 == 0x10 => {
                    self.packet.push(b);
                    continue;
                }
                b if b & 0x93 == 0x12 => Reply::RealTime(b),
                b if b & 0x90 == 0 => Reply::PaperSensor(b),
                b => Reply::Unknown(b),
            });
        }
        out
    }
}

/// How much roll paper is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    Ok,
    NearEnd,
    End,
}

/// The printer's condition as far as replies have told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    pub offline: bool,
    pub cover_open: bool,
    pub paper: Paper,
    /// Autocutter or mechanical error (recoverable by closing the cover / clearing the jam).
    pub cutter_error: bool,
    /// An error the printer cannot recover from by itself (needs a power cycle).
    pub unrecoverable: bool,
}

impl Status {
    /// Applies the answer to `DLE EOT n`; false when `n` is not 1–4 or the byte is not such an answer.
    pub fn apply_dle_eot(&mut self, n: u8, byte: u8) -> bool {
        if byte & 0x93 != 0x12 {
            return false;
        }
        match n {
            1 => self.offline = byte & 0x08 != 0,
            2 => {
                self.cover_open = byte & 0x04 != 0;
                if byte & 0x20 != 0 {
                    self.paper = Paper::End;
                }
            }
            3 => {
                self.cutter_error = byte & 0x0C != 0;
                self.unrecoverable = byte & 0x20 != 0;
            }
            4 => {
                self.paper = if byte & 0x60 != 0 {
                    Paper::End
                } else if byte & 0x0C != 0 {
                    Paper::NearEnd
                } else {
                    Paper::Ok
                };
            }
            _ => return false,
        }
        true
    }

    /// Applies an Automatic Status Back packet (it carries everything at once).
    pub fn apply_automatic(&mut self, packet: [u8; 4]) {
        self.offline = packet[0] & 0x08 != 0;
        self.cover_open = packet[0] & 0x20 != 0;
        self.cutter_error = packet[1] & 0x0C != 0;
        self.unrecoverable = packet[1] & 0x20 != 0;
        self.paper = paper_from_sensor(packet[2]);
    }

    /// Whether the printer cannot print in this condition (paper near end still prints).
    pub fn stops_printing(&self) -> bool {
        self.offline || self.cover_open || self.paper == Paper::End || self.cutter_error || self.unrecoverable
    }

    /// Applies the answer to `GS r 1`.
    pub fn apply_paper_sensor(&mut self, byte: u8) {
        self.paper = paper_from_sensor(byte);
    }
}

/// Roll paper sensor bits (`GS r 1` and the third ASB byte): 0x03 near end, 0x0C end.
fn paper_from_sensor(byte: u8) -> Paper {
    if byte & 0x0C != 0 {
        Paper::End
    } else if byte & 0x03 != 0 {
        Paper::NearEnd
    } else {
        Paper::Ok
    }
}
