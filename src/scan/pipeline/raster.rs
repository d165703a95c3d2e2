//! Working buffers: a raw page validated and normalised to tightly packed 8-bit gray or RGB, and the
//! geometric operations on them (180° turn, crop, small-angle rotation).

use counter_agent_driver_api::{PixelFormat, RawPage};
use image::{GrayImage, RgbImage};

use super::{PipelineError, MAX_PIXELS};

/// White, for the area a rotation uncovers.
const BACKGROUND: u8 = 255;

/// A pixel rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// A raw page, validated, borrowed as it is (rows `stride` bytes apart, padding ignored), possibly
/// narrowed to a rectangle. Analysis reads it directly; only what is encoded gets copied.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    data: &'a [u8],
    stride: usize,
    format: PixelFormat,
    x0: usize,
    y0: usize,
    pub width: u32,
    pub height: u32,
}

/// Checks `width × height` against [`MAX_PIXELS`] and zero.
pub(crate) fn check_size(width: u32, height: u32) -> Result<(), PipelineError> {
    if width == 0 || height == 0 {
        return Err(PipelineError::Empty { width, height });
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PipelineError::TooLarge { width, height, max_pixels: MAX_PIXELS });
    }
    Ok(())
}

/// Integer luma (BT.601): (77 R + 150 G + 29 B) / 256.
#[inline]
pub(crate) fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b)) >> 8) as u8
}

#[inline]
fn luma_chroma(r: u8, g: u8, b: u8) -> (u8, u8) {
    (luma(r, g, b), r.max(g).max(b) - r.min(g).min(b))
}

/// [`View::sample_row`] of an RGB row: the first pixel of every `STEP`, through fixed-size chunks (no
/// bounds checks); the last, shorter chunk on its own.
fn sample_rgb<const STEP: usize>(row: &[u8], lumas: &mut [u8], chroma: &mut [u8]) {
    let mut chunks = row.chunks_exact(3 * STEP);
    for ((l, c), p) in lumas.iter_mut().zip(chroma.iter_mut()).zip(&mut chunks) {
        let p: &[u8; 3] = p[..3].try_into().expect("three samples");
        (*l, *c) = luma_chroma(p[0], p[1], p[2]);
    }
    let done = row.len() / (3 * STEP);
    if let (Some(l), Some(c), [r, g, b, ..]) = (lumas.get_mut(done), chroma.get_mut(done), chunks.remainder()) {
        (*l, *c) = luma_chroma(*r, *g, *b);
    }
}

impl<'a> View<'a> {
    /// Validates `raw`: non-zero size within [`MAX_PIXELS`], `stride` ≥ the bytes of a row, and enough
    /// data for every row (the last row needs no padding).
    pub(crate) fn from_raw(raw: &'a RawPage) -> Result<View<'a>, PipelineError> {
        check_size(raw.width, raw.height)?;
        let (width, height) = (raw.width as usize, raw.height as usize);
        let row_bytes = match raw.format {
            PixelFormat::Gray8 => width,
            PixelFormat::Rgb8 => width * 3,
            PixelFormat::Bw1 => width.div_ceil(8),
        };
        let short = || PipelineError::ShortData {
            width: raw.width,
            height: raw.height,
            stride: raw.stride,
            n_bytes: raw.data.len(),
        };
        let needed = raw.stride.checked_mul(height - 1).and_then(|n| n.checked_add(row_bytes)).ok_or_else(short)?;
        if raw.stride < row_bytes || raw.data.len() < needed {
            return Err(short());
        }
        Ok(View {
            data: &raw.data,
            stride: raw.stride,
            format: raw.format,
            x0: 0,
            y0: 0,
            width: raw.width,
            height: raw.height,
        })
    }

    pub(crate) fn is_rgb(&self) -> bool {
        self.format == PixelFormat::Rgb8
    }

    /// The part inside `rect` (clamped to the view).
    pub(crate) fn crop(&self, rect: Rect) -> View<'a> {
        let x = rect.x.min(self.width - 1);
        let y = rect.y.min(self.height - 1);
        View {
            x0: self.x0 + x as usize,
            y0: self.y0 + y as usize,
            width: rect.width.clamp(1, self.width - x),
            height: rect.height.clamp(1, self.height - y),
            ..*self
        }
    }

    /// Row `y`'s bytes from the view's left edge (Gray8: one per pixel, Rgb8: three; Bw1: the whole
    /// raw row, the view's pixels start at bit `x0`).
    fn row(&self, y: usize) -> &'a [u8] {
        let start = (self.y0 + y) * self.stride;
        let w = self.width as usize;
        match self.format {
            PixelFormat::Gray8 => &self.data[start + self.x0..start + self.x0 + w],
            PixelFormat::Rgb8 => &self.data[start + self.x0 * 3..start + (self.x0 + w) * 3],
            PixelFormat::Bw1 => &self.data[start..start + (self.x0 + w).div_ceil(8)],
        }
    }

    /// Luma of every `step`-th pixel of row `y` into `lumas`, and its chroma (max − min of R, G, B; 0 on
    /// a gray or 1-bit page) into `chroma`.
    pub(crate) fn sample_row(&self, y: usize, step: usize, lumas: &mut [u8], chroma: &mut [u8]) {
        let row = self.row(y);
        match self.format {
            PixelFormat::Gray8 => {
                for (l, &v) in lumas.iter_mut().zip(row.iter().step_by(step)) {
                    *l = v;
                }
                chroma.fill(0);
            }
            // The usual steps (150–600 dpi) get a loop the compiler specialises.
            PixelFormat::Rgb8 => match step {
                1 => sample_rgb::<1>(row, lumas, chroma),
                2 => sample_rgb::<2>(row, lumas, chroma),
                3 => sample_rgb::<3>(row, lumas, chroma),
                4 => sample_rgb::<4>(row, lumas, chroma),
                _ => {
                    for ((l, c), p) in lumas.iter_mut().zip(chroma.iter_mut()).zip(row.chunks(3 * step)) {
                        (*l, *c) = luma_chroma(p[0], p[1], p[2]);
                    }
                }
            },
            PixelFormat::Bw1 => {
                for (i, l) in lumas.iter_mut().enumerate() {
                    let x = self.x0 + i * step;
                    *l = if row[x / 8] & (0x80 >> (x % 8)) != 0 { 0 } else { 255 };
                }
                chroma.fill(0);
            }
        }
    }

    /// The pixels as one packed slice, when the view is a whole page of 8-bit samples without row
    /// padding (then an encoder can read the driver's buffer with no copy).
    pub(crate) fn packed(&self) -> Option<&'a [u8]> {
        let channels = match self.format {
            PixelFormat::Gray8 => 1,
            PixelFormat::Rgb8 => 3,
            PixelFormat::Bw1 => return None,
        };
        let row_len = self.width as usize * channels;
        let whole = self.x0 == 0 && self.y0 == 0 && self.stride == row_len;
        whole.then(|| &self.data[..row_len * self.height as usize])
    }

    /// Luma of row `y` into `out` (`width` bytes; RGB → luma, 1-bit → 0/255 with bit 1 = black).
    pub(crate) fn luma_row(&self, y: usize, out: &mut [u8]) {
        let row = self.row(y);
        match self.format {
            PixelFormat::Gray8 => out.copy_from_slice(row),
            PixelFormat::Rgb8 => {
                // Eight pixels at a time through fixed-size arrays: no bounds checks, and the compiler
                // vectorises the arithmetic.
                let mut outs = out.chunks_exact_mut(8);
                let mut pixels = row.chunks_exact(24);
                for (d, p) in (&mut outs).zip(&mut pixels) {
                    let p: &[u8; 24] = p.try_into().expect("24-byte chunk");
                    for (i, d) in d.iter_mut().enumerate() {
                        *d = luma(p[3 * i], p[3 * i + 1], p[3 * i + 2]);
                    }
                }
                for (d, p) in outs.into_remainder().iter_mut().zip(pixels.remainder().chunks_exact(3)) {
                    *d = luma(p[0], p[1], p[2]);
                }
            }
            PixelFormat::Bw1 => {
                for (i, d) in out.iter_mut().enumerate() {
                    let x = self.x0 + i;
                    *d = if row[x / 8] & (0x80 >> (x % 8)) != 0 { 0 } else { 255 };
                }
            }
        }
    }

    /// A packed gray copy (see [`View::luma_row`]).
    pub(crate) fn gray_copy(&self) -> GrayImage {
        let w = self.width as usize;
        let mut out = vec![0u8; w * self.height as usize];
        for (y, dst) in out.chunks_exact_mut(w).enumerate() {
            self.luma_row(y, dst);
        }
        GrayImage::from_raw(self.width, self.height, out).unwrap_or_else(|| GrayImage::new(1, 1))
    }

    /// A packed RGB copy (gray sources repeat their value).
    pub(crate) fn rgb_copy(&self) -> RgbImage {
        if !self.is_rgb() {
            return image::DynamicImage::ImageLuma8(self.gray_copy()).to_rgb8();
        }
        let row_len = self.width as usize * 3;
        let mut out = Vec::with_capacity(row_len * self.height as usize);
        for y in 0..self.height as usize {
            out.extend_from_slice(self.row(y));
        }
        RgbImage::from_raw(self.width, self.height, out).unwrap_or_else(|| RgbImage::new(1, 1))
    }
}

/// A page being processed, packed, 0 = black.
pub(crate) enum Raster {
    Gray(GrayImage),
    Rgb(RgbImage),
}

impl Raster {
    /// Validates and copies a raw page, keeping colour (tests build pages this way).
    #[cfg(test)]
    pub(crate) fn from_raw(raw: &RawPage) -> Result<Raster, PipelineError> {
        let view = View::from_raw(raw)?;
        Ok(if view.is_rgb() { Raster::Rgb(view.rgb_copy()) } else { Raster::Gray(view.gray_copy()) })
    }

    /// This buffer as a [`View`] (tests analyse processed pages this way).
    #[cfg(test)]
    pub(crate) fn view(&self) -> View<'_> {
        let (data, format, width, height) = match self {
            Raster::Gray(image) => (image.as_raw(), PixelFormat::Gray8, image.width(), image.height()),
            Raster::Rgb(image) => (image.as_raw(), PixelFormat::Rgb8, image.width(), image.height()),
        };
        let channels = if format == PixelFormat::Rgb8 { 3 } else { 1 };
        View { data, stride: width as usize * channels, format, x0: 0, y0: 0, width, height }
    }

    pub(crate) fn rotate_180(&mut self) {
        match self {
            Raster::Gray(image) => image::imageops::rotate180_in_place(image),
            Raster::Rgb(image) => image::imageops::rotate180_in_place(image),
        }
    }

    /// Luma of an RGB page; a gray page as it is.
    #[cfg(test)]
    pub(crate) fn into_gray(self) -> GrayImage {
        match self {
            Raster::Gray(image) => image,
            Raster::Rgb(image) => Raster::Rgb(image).view().gray_copy(),
        }
    }

    /// Rotates the content counter-clockwise (as seen on screen) by `degrees` about the centre, same
    /// size, uncovered corners white (see [`rotate_shear`]).
    pub(crate) fn rotate_small(self, degrees: f32) -> Raster {
        match self {
            Raster::Gray(image) => {
                let (w, h) = image.dimensions();
                let out = rotate_shear::<1>(image.into_raw(), w, h, degrees);
                Raster::Gray(GrayImage::from_raw(w, h, out).unwrap_or_else(|| GrayImage::new(1, 1)))
            }
            Raster::Rgb(image) => {
                let (w, h) = image.dimensions();
                let out = rotate_shear::<3>(image.into_raw(), w, h, degrees);
                Raster::Rgb(RgbImage::from_raw(w, h, out).unwrap_or_else(|| RgbImage::new(1, 1)))
            }
        }
    }
}

/// Rotates a packed `C`-channel buffer counter-clockwise on screen (y down) by `degrees` about its centre,
/// by three shears (Paeth: x-shear tan(θ/2), y-shear −sin θ, x-shear tan(θ/2)), each a per-row or
/// per-column fractional shift with linear interpolation in 8-bit fixed point: exact rotation geometry,
/// tight loops the compiler vectorises, no per-pixel trigonometry, and all in place (a row or a strip
/// of columns is copied aside while it is shifted).
pub(crate) fn rotate_shear<const C: usize>(mut pixels: Vec<u8>, width: u32, height: u32, degrees: f32) -> Vec<u8> {
    let theta = f64::from(degrees).to_radians();
    let alpha = (theta / 2.0).tan();
    let beta = -theta.sin();
    let (w, h) = (width as usize, height as usize);
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let row_len = w * C;
    let mut row_copy = vec![0u8; row_len];
    // x-shear: output (x, y) takes source (x − α·(y − cy), y).
    let mut x_shear = |pixels: &mut [u8]| {
        for (y, row) in pixels.chunks_exact_mut(row_len).enumerate() {
            row_copy.copy_from_slice(row);
            shift_row::<C>(&row_copy, row, alpha * (y as f64 - cy));
        }
    };
    x_shear(&mut pixels);
    // y-shear: output (x, y) takes source (x, y − β·(x − cx)).
    let shifts: Vec<f64> = (0..w).map(|x| beta * (x as f64 - cx)).collect();
    shift_columns::<C>(&mut pixels, w, h, &shifts);
    x_shear(&mut pixels);
    pixels
}

/// Splits a shift into whole pixels and a weight in 1/256 for the pixel one further back.
fn split_shift(shift: f64) -> (isize, u16) {
    let whole = shift.floor();
    let weight = ((shift - whole) * 256.0).round() as u16;
    if weight >= 256 {
        (whole as isize + 1, 0)
    } else {
        (whole as isize, weight)
    }
}

/// `dst[x] = src[x − shift]` (fractional, linear), background outside.
pub(crate) fn shift_row<const C: usize>(src: &[u8], dst: &mut [u8], shift: f64) {
    let (whole, weight) = split_shift(shift);
    let (near, far) = (256 - weight, weight);
    let len = src.len() as isize;
    let offset = whole * C as isize; // dst[i] ← src[i − offset] (near), src[i − offset − C] (far)
    let get = |j: isize| if (0..len).contains(&j) { u16::from(src[j as usize]) } else { u16::from(BACKGROUND) };
    let lo = (offset + C as isize).clamp(0, len);
    let hi = (len + offset).clamp(lo, len);
    for i in (0..lo).chain(hi..len) {
        dst[i as usize] = ((get(i - offset) * near + get(i - offset - C as isize) * far + 128) >> 8) as u8;
    }
    if lo < hi {
        let near_src = &src[(lo - offset) as usize..(hi - offset) as usize];
        let far_src = &src[(lo - offset - C as isize) as usize..(hi - offset - C as isize) as usize];
        for ((d, &n), &f) in dst[lo as usize..hi as usize].iter_mut().zip(near_src).zip(far_src) {
            *d = ((u16::from(n) * near + u16::from(f) * far + 128) >> 8) as u8;
        }
    }
}

/// Columns of at most this many pixels are shifted together, through a copy of the strip.
const STRIP: usize = 96;

/// `pixels[y][x] ← pixels[y − shifts[x]][x]` (fractional, linear), background outside; in place, one
/// strip of columns at a time.
pub(crate) fn shift_columns<const C: usize>(pixels: &mut [u8], w: usize, h: usize, shifts: &[f64]) {
    let row_len = w * C;
    let split: Vec<(isize, u16)> = shifts.iter().map(|&s| split_shift(s)).collect();
    let far: Vec<u16> = split.iter().flat_map(|&(_, weight)| [weight; C]).collect();
    let near: Vec<u16> = far.iter().map(|&f| 256 - f).collect();
    let background = [BACKGROUND; STRIP * 3]; // C is 1 or 3
    let mut strip = vec![0u8; h * STRIP * C];
    for x_start in (0..w).step_by(STRIP) {
        let x_end = (x_start + STRIP).min(w);
        let (b0, b1) = (x_start * C, x_end * C);
        let strip_len = b1 - b0;
        for (y, copy) in strip.chunks_exact_mut(strip_len).take(h).enumerate() {
            copy.copy_from_slice(&pixels[y * row_len + b0..y * row_len + b1]);
        }
        let source = |y: isize| {
            if (0..h as isize).contains(&y) {
                &strip[y as usize * strip_len..(y as usize + 1) * strip_len]
            } else {
                &background[..strip_len]
            }
        };
        // Runs of columns with the same whole shift, relative to the strip.
        let mut runs: Vec<(usize, usize, isize)> = Vec::new();
        for (x, &(whole, _)) in split[x_start..x_end].iter().enumerate() {
            match runs.last_mut() {
                Some(run) if run.2 == whole => run.1 = x + 1,
                _ => runs.push((x, x + 1, whole)),
            }
        }
        for y in 0..h {
            let dst_row = &mut pixels[y * row_len + b0..y * row_len + b1];
            for &(r0, r1, whole) in &runs {
                let (s0, s1) = (r0 * C, r1 * C);
                let near_row = &source(y as isize - whole)[s0..s1];
                let far_row = &source(y as isize - whole - 1)[s0..s1];
                let (wn, wf) = (&near[b0 + s0..b0 + s1], &far[b0 + s0..b0 + s1]);
                for ((((d, &n), &f), &wn), &wf) in dst_row[s0..s1].iter_mut().zip(near_row).zip(far_row).zip(wn).zip(wf)
                {
                    *d = ((u16::from(n) * wn + u16::from(f) * wf + 128) >> 8) as u8;
                }
            }
        }
    }
}
