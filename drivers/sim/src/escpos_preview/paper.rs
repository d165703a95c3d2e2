//! The paper of the ESC/POS preview: rows of dots growing downwards, and drawing on them
//! (character cells from the bundled font, replacement boxes, QR placeholders, cut lines).
//! Everything is clipped to the paper; rows are bounded by [`MAX_ROWS`].

use ab_glyph::{Font, PxScale, ScaleFont};
use image::{GrayImage, Luma};

use super::{PreviewError, MAX_ROWS};
use crate::text::Face;

/// Font A cell in dots at ×1.
pub(super) const CELL_WIDTH: u32 = 12;
pub(super) const CELL_HEIGHT: u32 = 24;
/// Height of the band a cut line is drawn in, in dots.
pub(super) const CUT_GAP: u32 = 16;

/// One character cell waiting in the line buffer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cell {
    /// `Some` for printable ASCII, `None` for a replacement box.
    pub ascii: Option<char>,
    pub bold: bool,
    pub underline: u32,
    pub width_mul: u32,
    pub height_mul: u32,
}

impl Cell {
    pub fn width(&self) -> u32 {
        CELL_WIDTH * self.width_mul
    }

    pub fn height(&self) -> u32 {
        CELL_HEIGHT * self.height_mul
    }
}

/// The paper: rows of dots, growing downwards, and the print position.
pub(super) struct Paper {
    pub width: u32,
    dots: Vec<u8>,
    /// The print position: the next row to print on.
    pub y: u32,
}

impl Paper {
    pub fn rows(&self) -> u32 {
        (self.dots.len() / self.width as usize) as u32
    }

    /// Makes sure rows `0..end` exist.
    pub fn ensure(&mut self, end: u32) -> Result<(), PreviewError> {
        if end > MAX_ROWS {
            return Err(PreviewError::TooLong { max_rows: MAX_ROWS });
        }
        if end > self.rows() {
            self.dots.resize(end as usize * self.width as usize, 255);
        }
        Ok(())
    }

    pub fn advance(&mut self, dots: u32) -> Result<(), PreviewError> {
        self.y = self.y.saturating_add(dots);
        self.ensure(self.y)
    }

    /// Blackens the dot at (`x`, `y`) if it is on the paper (rows must exist).
    pub fn set(&mut self, x: u32, y: u32) {
        if x < self.width {
            if let Some(dot) = self.dots.get_mut(y as usize * self.width as usize + x as usize) {
                *dot = 0;
            }
        }
    }

    pub fn fill_rect(&mut self, x: u32, y: u32, width: u32, height: u32) {
        for row in y..y.saturating_add(height) {
            for column in x..x.saturating_add(width).min(self.width) {
                self.set(column, row);
            }
        }
    }

    pub fn into_image(self) -> GrayImage {
        let (width, rows) = (self.width, self.rows());
        let mut dots = self.dots;
        if rows == 0 {
            dots = vec![255; width as usize];
        }
        let height = rows.max(1);
        GrayImage::from_raw(width, height, dots).unwrap_or_else(|| GrayImage::from_pixel(width, height, Luma([255])))
    }

    pub fn new(width: u32) -> Paper {
        Paper { width, dots: Vec::new(), y: 0 }
    }

    /// Whitens a rectangle (clipped to the paper; rows must exist).
    fn clear_rect(&mut self, x: u32, y: u32, width: u32, height: u32) {
        for row in y..y.saturating_add(height) {
            for column in x..x.saturating_add(width).min(self.width) {
                if let Some(dot) = self.dots.get_mut(row as usize * self.width as usize + column as usize) {
                    *dot = 255;
                }
            }
        }
    }

    /// A stand-in for a QR symbol at (`x0`, print position): a `side`-dot square of `modules`
    /// modules with the three finder patterns and "QR" in the middle. Moves past it.
    pub fn draw_qr_placeholder(&mut self, x0: u32, side: u32, modules: u32) -> Result<(), PreviewError> {
        let module = (side / modules.max(1)).max(1);
        let y0 = self.y;
        self.ensure(y0.saturating_add(side))?;
        let border = module.max(2).min(side);
        self.fill_rect(x0, y0, side, border);
        self.fill_rect(x0, y0 + side - border, side, border);
        self.fill_rect(x0, y0, border, side);
        self.fill_rect(x0 + side - border, y0, border, side);
        let finder = (7 * module).min(side);
        for (fx, fy) in [(x0, y0), (x0 + side - finder, y0), (x0, y0 + side - finder)] {
            self.fill_rect(fx, fy, finder, finder);
            self.clear_rect(fx + module, fy + module, 5 * module, 5 * module);
            self.fill_rect(fx + 2 * module, fy + 2 * module, 3 * module, 3 * module);
        }
        let label_mul = (side / (4 * CELL_WIDTH)).clamp(1, 8);
        let cell = Cell { ascii: None, bold: true, underline: 0, width_mul: label_mul, height_mul: label_mul };
        let label_x = (x0 + side / 2).saturating_sub(cell.width());
        let label_y = (y0 + side / 2).saturating_sub(cell.height() / 2);
        for (i, c) in ['Q', 'R'].into_iter().enumerate() {
            self.draw_cell(&Cell { ascii: Some(c), ..cell }, label_x + i as u32 * cell.width(), label_y);
        }
        self.advance(side)
    }

    /// A cut: a dashed line across the paper in a [`CUT_GAP`]-dot band. Moves past it.
    pub fn draw_cut(&mut self) -> Result<(), PreviewError> {
        let y = self.y + CUT_GAP / 2;
        self.ensure(y + 2)?;
        let mut x = 0;
        while x < self.width {
            self.fill_rect(x, y, 8, 2);
            x += 14;
        }
        self.advance(CUT_GAP)
    }

    /// Draws one character cell with its top-left corner at (`x`, `y`); rows must exist.
    pub fn draw_cell(&mut self, cell: &Cell, x: u32, y: u32) {
        let (width, height) = (cell.width(), cell.height());
        match cell.ascii {
            Some(c) => self.draw_ascii(c, cell, x, y),
            None => {
                // A hollow box, inset from the cell.
                let inset_x = 2 * cell.width_mul;
                let inset_y = 4 * cell.height_mul;
                let (bx, by) = (x + inset_x, y + inset_y);
                let (bw, bh) = (width - 2 * inset_x, height - 2 * inset_y);
                let (tx, ty) = (cell.width_mul, cell.height_mul);
                self.fill_rect(bx, by, bw, ty);
                self.fill_rect(bx, by + bh - ty, bw, ty);
                self.fill_rect(bx, by, tx, bh);
                self.fill_rect(bx + bw - tx, by, tx, bh);
            }
        }
        if cell.underline > 0 {
            self.fill_rect(x, y + height - cell.underline, width, cell.underline);
        }
    }

    /// Draws `c` from the bundled font, fitted into the cell, thresholded to dots as a thermal
    /// head prints.
    fn draw_ascii(&mut self, c: char, cell: &Cell, x: u32, y: u32) {
        let face = if cell.bold { Face::Bold } else { Face::Regular };
        let font = face.font();
        let id = font.glyph_id(c);
        let (cell_width, cell_height) = (cell.width() as f32, cell.height() as f32);
        let mut scale = PxScale { x: cell_height * 0.92, y: cell_height * 0.92 };
        let advance = font.as_scaled(scale).h_advance(id);
        if advance > cell_width {
            scale.x *= cell_width / advance;
        }
        let scaled = font.as_scaled(scale);
        let advance = scaled.h_advance(id);
        let baseline = y as f32 + cell_height * 0.04 + scaled.ascent();
        let position = ab_glyph::point(x as f32 + (cell_width - advance) / 2.0, baseline);
        let Some(outlined) = font.outline_glyph(id.with_scale_and_position(scale, position)) else {
            return;
        };
        let bounds = outlined.px_bounds();
        let (left, top) = (bounds.min.x as i64, bounds.min.y as i64);
        let (cell_left, cell_right) = (i64::from(x), i64::from(x) + i64::from(cell.width()));
        let (cell_top, cell_bottom) = (i64::from(y), i64::from(y) + i64::from(cell.height()));
        let mut dots = Vec::new();
        outlined.draw(|gx, gy, coverage| {
            let (px, py) = (left + i64::from(gx), top + i64::from(gy));
            let inside = px >= cell_left && px < cell_right && py >= cell_top && py < cell_bottom;
            if coverage >= 0.45 && inside {
                dots.push((px as u32, py as u32));
            }
        });
        for (px, py) in dots {
            self.set(px, py);
        }
    }
}
