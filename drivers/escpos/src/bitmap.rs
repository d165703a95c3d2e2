//! A 1-bit raster, rows packed most significant bit first, bit 1 = black (ESC/POS's own layout, so
//! encoding is a copy of whole rows).

/// A black-and-white image as a printer draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    bits: Vec<u8>,
}

impl Bitmap {
    /// An all-white bitmap.
    pub fn new(width: u32, height: u32) -> Bitmap {
        let bytes = width.div_ceil(8) as usize * height as usize;
        Bitmap { width, height, bits: vec![0; bytes] }
    }

    /// From one luma byte per pixel (row-major), a pixel darker than `threshold` black. `None` when
    /// `luma` does not hold `width × height` bytes.
    pub fn from_luma(width: u32, height: u32, luma: &[u8], threshold: u8) -> Option<Bitmap> {
        if luma.len() != width as usize * height as usize {
            return None;
        }
        let mut bitmap = Bitmap::new(width, height);
        if width == 0 {
            return Some(bitmap);
        }
        let row_bytes = bitmap.row_bytes();
        for (row, dst) in luma.chunks_exact(width as usize).zip(bitmap.bits.chunks_exact_mut(row_bytes)) {
            for (x, &value) in row.iter().enumerate() {
                if value < threshold {
                    dst[x / 8] |= 0x80 >> (x % 8);
                }
            }
        }
        Some(bitmap)
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row: the width rounded up to whole bytes.
    pub fn row_bytes(&self) -> usize {
        self.width.div_ceil(8) as usize
    }

    /// Row `y`'s packed bits (padding bits at the end of the row are 0, white).
    pub fn row(&self, y: u32) -> &[u8] {
        let n = self.row_bytes();
        &self.bits[y as usize * n..(y as usize + 1) * n]
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.row(y)[x as usize / 8] & (0x80 >> (x % 8)) != 0
    }

    pub fn set(&mut self, x: u32, y: u32, black: bool) {
        if x >= self.width || y >= self.height {
            return;
        }
        let index = y as usize * self.row_bytes() + x as usize / 8;
        let mask = 0x80 >> (x % 8);
        if black {
            self.bits[index] |= mask;
        } else {
            self.bits[index] &= !mask;
        }
    }

    /// True when row `y` has no black dot.
    pub fn row_is_white(&self, y: u32) -> bool {
        self.row(y).iter().all(|&byte| byte == 0)
    }

    /// Copies packed bits into row `y` from its left edge (as many whole bytes as fit; dots past the
    /// width are cleared).
    pub fn paste_row(&mut self, y: u32, bits: &[u8]) {
        if y >= self.height {
            return;
        }
        let n = self.row_bytes();
        let row = &mut self.bits[y as usize * n..(y as usize + 1) * n];
        let len = bits.len().min(n);
        row[..len].copy_from_slice(&bits[..len]);
        let spare = (n * 8) as u32 - self.width;
        if spare > 0 && len == n {
            row[n - 1] &= 0xFF << spare;
        }
    }
}
