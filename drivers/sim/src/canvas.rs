//! The RGB raster the simulated scanner draws its pages on.
//!
//! This module owns pixels and nothing else: paper (tint, grain, dust), filling arbitrary outlines
//! (glyphs, rings, stars, pen strokes) with anti-aliased coverage, and blending ink the way ink
//! behaves on paper — multiplicatively, so a red seal over black text leaves the text black.
//! It knows nothing about documents, fonts or devices; `page_art` composes pages out of it.
//!
//! Coordinates given to [`Canvas::fill`] are pixels; callers map their own units (millimetres on the
//! page) with an [`Affine`], which is how the skewed page is drawn rotated without resampling.

use ab_glyph::{point, Point};
use ab_glyph_rasterizer::Rasterizer;

/// A 2-D affine map: `x' = a·x + c·y + e`, `y' = b·x + d·y + f`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Affine {
    pub a: f32,
    pub b: f32,
    pub c: f32,
    pub d: f32,
    pub e: f32,
    pub f: f32,
}

impl Affine {
    pub const IDENTITY: Affine = Affine { a: 1.0, b: 0.0, c: 0.0, d: 1.0, e: 0.0, f: 0.0 };

    pub fn scale(s: f32) -> Affine {
        Affine { a: s, d: s, ..Affine::IDENTITY }
    }

    pub fn translate(x: f32, y: f32) -> Affine {
        Affine { e: x, f: y, ..Affine::IDENTITY }
    }

    /// Rotation by `radians`; positive turns +x towards +y (clockwise on a y-down page).
    pub fn rotate(radians: f32) -> Affine {
        let (sin, cos) = radians.sin_cos();
        Affine { a: cos, b: sin, c: -sin, d: cos, e: 0.0, f: 0.0 }
    }

    /// The map that applies `self` first, then `next`.
    pub fn then(self, next: Affine) -> Affine {
        Affine {
            a: next.a * self.a + next.c * self.b,
            b: next.b * self.a + next.d * self.b,
            c: next.a * self.c + next.c * self.d,
            d: next.b * self.c + next.d * self.d,
            e: next.a * self.e + next.c * self.f + next.e,
            f: next.b * self.e + next.d * self.f + next.f,
        }
    }

    pub fn apply(&self, p: Point) -> Point {
        point(self.a * p.x + self.c * p.y + self.e, self.b * p.x + self.d * p.y + self.f)
    }
}

/// One piece of an outline, in pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Segment {
    Line(Point, Point),
    Quad(Point, Point, Point),
    Cubic(Point, Point, Point, Point),
}

impl Segment {
    pub fn transformed(self, map: &Affine) -> Segment {
        match self {
            Segment::Line(p0, p1) => Segment::Line(map.apply(p0), map.apply(p1)),
            Segment::Quad(p0, p1, p2) => Segment::Quad(map.apply(p0), map.apply(p1), map.apply(p2)),
            Segment::Cubic(p0, p1, p2, p3) => {
                Segment::Cubic(map.apply(p0), map.apply(p1), map.apply(p2), map.apply(p3))
            }
        }
    }

    /// Calls `visit` with every point that bounds the segment (end and control points).
    fn for_each_point(&self, mut visit: impl FnMut(Point)) {
        match *self {
            Segment::Line(p0, p1) => [p0, p1].into_iter().for_each(&mut visit),
            Segment::Quad(p0, p1, p2) => [p0, p1, p2].into_iter().for_each(&mut visit),
            Segment::Cubic(p0, p1, p2, p3) => [p0, p1, p2, p3].into_iter().for_each(&mut visit),
        }
    }
}

/// A small, fast, seeded generator (SplitMix64). Pages are deterministic for a given seed, which
/// keeps tests reproducible; the scanner varies the seed per page.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// How a mark is put on paper: its colour, how strongly it covers, and how uneven it is (0 = toner,
/// solid; higher = rubber stamp or pen that skips).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ink {
    pub rgb: [u8; 3],
    pub opacity: f32,
    pub grain: f32,
}

impl Ink {
    /// Laser-printer toner as a scanner sees it: very dark, not perfectly black.
    pub const TONER: Ink = Ink { rgb: [24, 24, 27], opacity: 1.0, grain: 0.0 };
}

/// A cheap 2-D hash in `[0, 1)` used for ink grain.
fn hash01(x: u32, y: u32) -> f32 {
    let mut h = x.wrapping_mul(0x27D4_EB2D) ^ y.wrapping_mul(0x1656_67B1) ^ 0x9E37_79B9;
    h ^= h >> 15;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    (h >> 8) as f32 / (1u32 << 24) as f32
}

/// Outlines larger than this (in pixels per side) are not filled: nothing on a page is that big,
/// and it bounds the rasterizer's memory.
const MAX_FILL_SIDE: f32 = 8192.0;

/// An RGB page being drawn, 3 bytes per pixel, rows packed.
pub(crate) struct Canvas {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    raster: Rasterizer,
}

impl Canvas {
    /// A canvas filled with one grey level (the scanner lid behind the paper).
    pub fn new(width: u32, height: u32, background: u8) -> Canvas {
        let n_bytes = width as usize * height as usize * 3;
        Canvas { width, height, rgb: vec![background; n_bytes], raster: Rasterizer::new(0, 0) }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel at `(x, y)`; `None` outside the canvas.
    #[cfg(test)]
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        Some([self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]])
    }

    /// Lays a sheet of paper: the convex quadrilateral `corners` (pixels, in order around the
    /// sheet) is filled with `tint` plus fine grain and a faint illumination fall-off, with
    /// anti-aliased edges.
    pub fn lay_paper(&mut self, corners: [Point; 4], tint: [u8; 3], seed: u64) {
        let width = self.width as usize;
        if width == 0 {
            return;
        }
        let mut rng = Rng::new(seed);
        // Grain: a table of small offsets (triangular distribution, -4..=4) read at a random
        // offset per row; far cheaper than a random number per pixel and indistinguishable.
        let table_len = (2 * width + 1).max(1 << 16);
        let grain: Vec<u8> = (0..table_len).map(|_| (rng.below(5) + rng.below(5)) as u8).collect();
        let height = self.height.max(1) as f32;
        for y in 0..self.height {
            let center = y as f32 + 0.5;
            let mut left = f32::INFINITY;
            let mut right = f32::NEG_INFINITY;
            for i in 0..4 {
                let (p, q) = (corners[i], corners[(i + 1) % 4]);
                let (low, high) = if p.y <= q.y { (p, q) } else { (q, p) };
                if center < low.y || center >= high.y || high.y - low.y <= f32::EPSILON {
                    continue;
                }
                let x = low.x + (center - low.y) / (high.y - low.y) * (high.x - low.x);
                left = left.min(x);
                right = right.max(x);
            }
            if left >= right {
                continue;
            }
            // The nine possible paper colours of this row (grain -4..=4 plus the fall-off).
            let shade = -3.0 * y as f32 / height;
            let colours: [[u8; 3]; 9] = std::array::from_fn(|g| {
                tint.map(|base| (f32::from(base) + g as f32 - 4.0 + shade).round().clamp(0.0, 255.0) as u8)
            });
            let offset = rng.below(table_len - width);
            let row = &mut self.rgb[y as usize * width * 3..(y as usize + 1) * width * 3];
            let clamp_x = |x: f32| (x.max(0.0) as usize).min(width);
            let (x_start, x_end) = (clamp_x(left.floor()), clamp_x(right.ceil()));
            // Fully covered pixels, then the partly covered ones at both edges.
            let (inner_start, inner_end) = (clamp_x(left.ceil()), clamp_x(right.floor()).max(clamp_x(left.ceil())));
            let inner_grain = &grain[offset + inner_start..offset + inner_end];
            for (pixel, &g) in row[inner_start * 3..inner_end * 3].chunks_exact_mut(3).zip(inner_grain) {
                pixel.copy_from_slice(&colours[usize::from(g)]);
            }
            for x in (x_start..inner_start).chain(inner_end..x_end) {
                let paper = colours[usize::from(grain[offset + x])];
                let coverage = ((x as f32 + 1.0).min(right) - (x as f32).max(left)).clamp(0.0, 1.0);
                for (old, new) in row[x * 3..x * 3 + 3].iter_mut().zip(paper) {
                    *old = (f32::from(new) * coverage + f32::from(*old) * (1.0 - coverage)).round() as u8;
                }
            }
        }
    }

    /// Fills the closed outline made of `segments` (pixels; non-zero winding, overlaps count once)
    /// with `ink`, blended multiplicatively over what is already there.
    pub fn fill(&mut self, segments: &[Segment], ink: &Ink) {
        let mut min = point(f32::INFINITY, f32::INFINITY);
        let mut max = point(f32::NEG_INFINITY, f32::NEG_INFINITY);
        let mut all_finite = true;
        for segment in segments {
            segment.for_each_point(|p| {
                all_finite &= p.x.is_finite() && p.y.is_finite();
                min = point(min.x.min(p.x), min.y.min(p.y));
                max = point(max.x.max(p.x), max.y.max(p.y));
            });
        }
        // A NaN anywhere would break the coverage accumulation (f32::min ignores NaN).
        if !all_finite || segments.is_empty() {
            return;
        }
        let (x0, y0) = (min.x.floor(), min.y.floor());
        let (x1, y1) = (max.x.ceil() + 1.0, max.y.ceil() + 1.0);
        let outside = x1 <= 0.0 || y1 <= 0.0 || x0 >= self.width as f32 || y0 >= self.height as f32;
        if outside || x1 - x0 > MAX_FILL_SIDE || y1 - y0 > MAX_FILL_SIDE {
            return;
        }
        let (box_width, box_height) = ((x1 - x0) as usize, (y1 - y0) as usize);
        self.raster.reset(box_width, box_height);
        let shift = Affine::translate(-x0, -y0);
        for segment in segments {
            match segment.transformed(&shift) {
                Segment::Line(p0, p1) => self.raster.draw_line(p0, p1),
                Segment::Quad(p0, p1, p2) => self.raster.draw_quad(p0, p1, p2),
                Segment::Cubic(p0, p1, p2, p3) => self.raster.draw_cubic(p0, p1, p2, p3),
            }
        }
        let absorb = ink.rgb.map(|c| 1.0 - f32::from(c) / 255.0);
        let (origin_x, origin_y) = (x0 as i64, y0 as i64);
        let (width, height) = (i64::from(self.width), i64::from(self.height));
        let rgb = &mut self.rgb;
        self.raster.for_each_pixel_2d(|bx, by, coverage| {
            if coverage < 1.0 / 512.0 {
                return;
            }
            let (x, y) = (origin_x + i64::from(bx), origin_y + i64::from(by));
            if x < 0 || y < 0 || x >= width || y >= height {
                return;
            }
            let mut alpha = coverage.min(1.0) * ink.opacity;
            if ink.grain > 0.0 {
                let (ux, uy) = (x as u32, y as u32);
                let patchy = 0.6 * hash01(ux >> 3, uy >> 3) + 0.4 * hash01(ux >> 1, uy >> 1);
                alpha *= 1.0 - ink.grain * patchy;
            }
            let i = (y * width + x) as usize * 3;
            for channel in 0..3 {
                let kept = 1.0 - alpha * absorb[channel];
                rgb[i + channel] = (f32::from(rgb[i + channel]) * kept).round() as u8;
            }
        });
    }

    /// The pixels in `format`, with the row stride.
    pub fn into_pixels(self, format: counter_agent_driver_api::PixelFormat) -> (Vec<u8>, usize) {
        use counter_agent_driver_api::PixelFormat;
        let width = self.width as usize;
        match format {
            PixelFormat::Rgb8 => (self.rgb, width * 3),
            PixelFormat::Gray8 => (self.rgb.chunks_exact(3).map(luma).collect(), width),
            PixelFormat::Bw1 => {
                let stride = width.div_ceil(8);
                let mut packed = vec![0u8; stride * self.height as usize];
                if width == 0 {
                    return (packed, stride);
                }
                for (row, out) in self.rgb.chunks_exact(width * 3).zip(packed.chunks_exact_mut(stride)) {
                    for (x, pixel) in row.chunks_exact(3).enumerate() {
                        if luma(pixel) < BW_THRESHOLD {
                            out[x / 8] |= 0x80 >> (x % 8);
                        }
                    }
                }
                (packed, stride)
            }
        }
    }
}

/// Grey level below which a pixel becomes black in line-art (Bw1) scans.
const BW_THRESHOLD: u8 = 140;

/// ITU-R BT.601 luma of an RGB pixel, integer arithmetic.
pub(crate) fn luma(pixel: &[u8]) -> u8 {
    let (r, g, b) = (u32::from(pixel[0]), u32::from(pixel[1]), u32::from(pixel[2]));
    ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use counter_agent_driver_api::PixelFormat;

    fn square(x: f32, y: f32, side: f32) -> Vec<Segment> {
        let corners = [point(x, y), point(x + side, y), point(x + side, y + side), point(x, y + side)];
        (0..4).map(|i| Segment::Line(corners[i], corners[(i + 1) % 4])).collect()
    }

    #[test]
    fn affine_composition_applies_left_then_right() {
        let map = Affine::scale(2.0).then(Affine::translate(10.0, 0.0));
        assert_eq!(map.apply(point(1.0, 1.0)), point(12.0, 2.0));
        let turn = Affine::rotate(std::f32::consts::FRAC_PI_2).apply(point(1.0, 0.0));
        assert!((turn.x).abs() < 1e-6 && (turn.y - 1.0).abs() < 1e-6, "{turn:?}");
    }

    #[test]
    fn fill_covers_inside_only_and_multiplies() {
        let mut canvas = Canvas::new(20, 20, 200);
        canvas.fill(&square(5.0, 5.0, 10.0), &Ink { rgb: [255, 0, 0], opacity: 1.0, grain: 0.0 });
        assert_eq!(canvas.pixel(10, 10), Some([200, 0, 0]), "multiply keeps red, absorbs the rest");
        assert_eq!(canvas.pixel(2, 2), Some([200, 200, 200]));
        // Black ink over red stays black: multiply never lightens.
        canvas.fill(&square(8.0, 8.0, 4.0), &Ink::TONER);
        let [r, g, b] = canvas.pixel(10, 10).expect("inside");
        assert!(r < 30 && g == 0 && b == 0, "{r} {g} {b}");
    }

    #[test]
    fn fill_outside_or_partly_outside_is_clipped() {
        let mut canvas = Canvas::new(10, 10, 255);
        canvas.fill(&square(-50.0, -50.0, 10.0), &Ink::TONER);
        canvas.fill(&square(-5.0, -5.0, 8.0), &Ink::TONER);
        assert!(canvas.pixel(0, 0).expect("inside")[0] < 40);
        assert_eq!(canvas.pixel(5, 5), Some([255, 255, 255]));
        let mut poisoned = square(2.0, 2.0, 6.0);
        poisoned.push(Segment::Line(point(f32::NAN, 3.0), point(4.0, 9.0)));
        canvas.fill(&poisoned, &Ink::TONER);
        assert_eq!(canvas.pixel(5, 5), Some([255, 255, 255]), "outlines with NaN are skipped");
    }

    #[test]
    fn bw1_packs_msb_first_with_one_for_black() {
        let mut canvas = Canvas::new(10, 2, 255);
        canvas.fill(&square(0.0, 0.0, 1.0), &Ink::TONER); // pixel (0, 0)
        canvas.fill(&square(9.0, 1.0, 1.0), &Ink::TONER); // pixel (9, 1)
        let (data, stride) = canvas.into_pixels(PixelFormat::Bw1);
        assert_eq!(stride, 2);
        assert_eq!(data, vec![0b1000_0000, 0, 0, 0b0100_0000]);
    }

    #[test]
    fn gray_is_luma() {
        let mut canvas = Canvas::new(1, 1, 255);
        canvas.fill(&square(0.0, 0.0, 1.0), &Ink { rgb: [0, 0, 255], opacity: 1.0, grain: 0.0 });
        let (data, stride) = canvas.into_pixels(PixelFormat::Gray8);
        assert_eq!((data, stride), (vec![29], 1));
    }

    #[test]
    fn paper_is_near_tint_and_not_flat() {
        let mut canvas = Canvas::new(64, 64, 255);
        let corners = [point(0.0, 0.0), point(64.0, 0.0), point(64.0, 64.0), point(0.0, 64.0)];
        canvas.lay_paper(corners, [240, 240, 236], 7);
        let values: Vec<u8> = (0..64).map(|x| canvas.pixel(x, 10).expect("inside")[0]).collect();
        assert!(values.iter().all(|v| (233..=245).contains(v)), "{values:?}");
        assert!(values.iter().any(|v| *v != values[0]), "grain varies");
    }
}
