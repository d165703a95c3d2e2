//! Page analysis in one pass over a grid of samples (150–299 dpi): luma and chroma histograms, and a
//! 100–150 dpi luma copy that deskew and ID-card crop work on.
//!
//! Classification (thresholds in [`Thresholds`], tuned on the simulator's pages and synthetic ones):
//! * **paper level**: the luma at [`Thresholds::paper_percentile`] of the samples (the median): on a
//!   document page the paper is the bright majority;
//! * **colour**: pixels whose chroma (max − min of R, G, B) is at least [`Thresholds::color_chroma`];
//!   a page with at least [`Thresholds::color_area_mm2`] of them is [`PageClass::Color`] (a seal, an ink
//!   signature, a photo). Paper tint and scanner fringes stay well under the chroma bound;
//! * **ink**: pixels at least [`Thresholds::ink_contrast`] darker than the paper; under
//!   [`Thresholds::blank_ink_mm2`] of ink (dust, grain) the page is [`PageClass::Blank`];
//! * **mid-tones**: pixels between [`Thresholds::midtone_low`] and `paper − ink_contrast/2`; when they
//!   cover at least [`Thresholds::photo_midtone_fraction`] of the page it is a gray photo
//!   ([`PageClass::Gray`]), else [`PageClass::Text`] (text has mid-tones only along stroke edges).
//!
//! Measured on the simulator's pages (150 and 300 dpi; `classification_margins_on_sim_pages` keeps the
//! margins): colour area — form with seal and signature ≈ 295 mm², text guide and blank 0; ink — text
//! pages 3,400–4,300 mm², blank with dust 0.2–0.3 mm²; mid-tones — text pages 1.7–3.2 %.

use image::GrayImage;

use super::raster::View;
use super::PageClass;

/// Target resolution of [`Analysis::small`] (it ends up between about 100 and 150 dpi, see [`analyse`]).
pub(crate) const ANALYSIS_DPI: u32 = 100;

/// Classification thresholds; [`Thresholds::default`] is what [`super::process_page`] uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// A pixel is coloured when max(R,G,B) − min(R,G,B) ≥ this.
    pub color_chroma: u8,
    /// At least this much coloured area (mm²) makes a colour page.
    pub color_area_mm2: f32,
    /// Percentile of luma taken as the paper level.
    pub paper_percentile: f32,
    /// Ink is at least this much darker than the paper.
    pub ink_contrast: u8,
    /// Less ink than this (mm²) is a blank page.
    pub blank_ink_mm2: f32,
    /// Mid-tones start at this luma (darker is solid ink).
    pub midtone_low: u8,
    /// A page with at least this fraction of mid-tones is a gray photo.
    pub photo_midtone_fraction: f32,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            color_chroma: 64,
            color_area_mm2: 12.0,
            paper_percentile: 0.5,
            ink_contrast: 64,
            blank_ink_mm2: 4.0,
            midtone_low: 64,
            photo_midtone_fraction: 0.10,
        }
    }
}

/// What one pass over a page found.
pub(crate) struct Analysis {
    pub dpi: u32,
    /// Resolution of the sample grid the histograms count.
    pub sample_dpi: u32,
    pub page_width: u32,
    pub page_height: u32,
    /// Samples counted (the histograms' total).
    pub n_pixels: u64,
    pub luma_histogram: [u64; 256],
    /// Samples per chroma value (max − min of R, G, B; all 0 on a gray page).
    pub chroma_histogram: [u64; 256],
    /// Luma at ~[`ANALYSIS_DPI`] (box average), with its scale factor to the page.
    pub small: GrayImage,
    pub factor: u32,
}

impl Analysis {
    fn mm2(&self, pixels: u64) -> f32 {
        let px_per_mm = self.sample_dpi as f32 / 25.4;
        pixels as f32 / (px_per_mm * px_per_mm)
    }

    pub fn paper_level(&self, thresholds: &Thresholds) -> u8 {
        let target = (self.n_pixels as f64 * f64::from(thresholds.paper_percentile)) as u64;
        let mut seen = 0;
        for (value, &count) in self.luma_histogram.iter().enumerate() {
            seen += count;
            if seen > target {
                return value as u8;
            }
        }
        255
    }

    pub fn color_area_mm2(&self, thresholds: &Thresholds) -> f32 {
        self.mm2(self.chroma_histogram[thresholds.color_chroma as usize..].iter().sum())
    }

    pub fn ink_area_mm2(&self, thresholds: &Thresholds) -> f32 {
        let below = self.paper_level(thresholds).saturating_sub(thresholds.ink_contrast) as usize;
        self.mm2(self.luma_histogram[..below].iter().sum())
    }

    pub fn midtone_fraction(&self, thresholds: &Thresholds) -> f32 {
        let high = self.paper_level(thresholds).saturating_sub(thresholds.ink_contrast / 2) as usize;
        let low = (thresholds.midtone_low as usize).min(high);
        self.luma_histogram[low..high].iter().sum::<u64>() as f32 / self.n_pixels.max(1) as f32
    }

    pub fn class(&self, thresholds: &Thresholds) -> PageClass {
        if self.color_area_mm2(thresholds) >= thresholds.color_area_mm2 {
            PageClass::Color
        } else if self.ink_area_mm2(thresholds) < thresholds.blank_ink_mm2 {
            PageClass::Blank
        } else if self.midtone_fraction(thresholds) >= thresholds.photo_midtone_fraction {
            PageClass::Gray
        } else {
            PageClass::Text
        }
    }
}

/// One pass over a grid of samples (every `step`-th pixel of every `step`-th row, `step = dpi / 150`, so
/// the grid is 150–299 dpi): histograms, and the samples box-averaged down to about [`ANALYSIS_DPI`].
pub(crate) fn analyse(view: &View<'_>, dpi: u32) -> Analysis {
    let (width, height) = (view.width as usize, view.height as usize);
    let step = (dpi / 150).max(1) as usize;
    let group = (dpi as usize / step / ANALYSIS_DPI as usize).max(1);
    let factor = step * group;
    let (grid_w, grid_h) = (width.div_ceil(step), height.div_ceil(step));
    let (small_w, small_h) = (grid_w.div_ceil(group), grid_h.div_ceil(group));
    let mut luma_counts = Counts::default();
    let mut chroma_counts = Counts::default();
    let mut sums = vec![0u32; small_w];
    let mut counts = vec![0u32; small_w];
    let mut small = Vec::with_capacity(small_w * small_h);
    let (mut luma_row, mut chroma_row) = (vec![0u8; grid_w], vec![0u8; grid_w]);
    for (gy, y) in (0..height).step_by(step).enumerate() {
        view.sample_row(y, step, &mut luma_row, &mut chroma_row);
        luma_counts.add(&luma_row);
        chroma_counts.add(&chroma_row);
        if group == 1 {
            small.extend_from_slice(&luma_row);
            continue;
        }
        for ((sum, count), block) in sums.iter_mut().zip(counts.iter_mut()).zip(luma_row.chunks(group)) {
            *sum += block.iter().map(|&l| u32::from(l)).sum::<u32>();
            *count += block.len() as u32;
        }
        if (gy + 1) % group == 0 || gy + 1 == grid_h {
            for (sum, count) in sums.iter_mut().zip(counts.iter_mut()) {
                small.push((*sum / (*count).max(1)) as u8);
                (*sum, *count) = (0, 0);
            }
        }
    }
    let small = GrayImage::from_raw(small_w as u32, small_h as u32, small).unwrap_or_else(|| GrayImage::new(1, 1));
    Analysis {
        dpi,
        sample_dpi: dpi / step as u32,
        page_width: width as u32,
        page_height: height as u32,
        n_pixels: (grid_w * grid_h) as u64,
        luma_histogram: luma_counts.total(),
        chroma_histogram: chroma_counts.total(),
        small,
        factor: factor as u32,
    }
}

/// A histogram counted in four interleaved lanes: neighbouring samples (mostly the same value on paper)
/// land in different counters, so the increments do not wait on each other.
struct Counts([[u32; 256]; 4]);

impl Default for Counts {
    fn default() -> Counts {
        Counts([[0; 256]; 4])
    }
}

impl Counts {
    fn add(&mut self, values: &[u8]) {
        let [a, b, c, d] = &mut self.0;
        let mut quads = values.chunks_exact(4);
        for q in &mut quads {
            a[q[0] as usize] += 1;
            b[q[1] as usize] += 1;
            c[q[2] as usize] += 1;
            d[q[3] as usize] += 1;
        }
        for &v in quads.remainder() {
            a[v as usize] += 1;
        }
    }

    fn total(&self) -> [u64; 256] {
        std::array::from_fn(|i| self.0.iter().map(|lane| u64::from(lane[i])).sum())
    }
}
