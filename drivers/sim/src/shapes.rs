//! Outline builders for the marks on a simulated page: circles, rings, stars, polygons and
//! variable-width pen strokes.
//!
//! Shapes are built in whatever unit the caller draws in (the page art uses millimetres) and
//! mapped to pixels by the painter's page transform. Closed outlines only; filling is the canvas's job.

use ab_glyph::{point, Point};

use crate::canvas::Segment;

/// Magic constant for approximating a quarter circle with one cubic Bézier.
const KAPPA: f32 = 0.552_284_8;

/// A closed polygon through `points`.
pub(crate) fn polygon(points: &[Point]) -> Vec<Segment> {
    (0..points.len()).map(|i| Segment::Line(points[i], points[(i + 1) % points.len()])).collect()
}

/// An axis-aligned rectangle.
pub(crate) fn rect(x: f32, y: f32, width: f32, height: f32) -> Vec<Segment> {
    polygon(&[point(x, y), point(x + width, y), point(x + width, y + height), point(x, y + height)])
}

/// A full circle; `reverse` flips the winding (used to cut holes).
pub(crate) fn circle(center: Point, radius: f32, reverse: bool) -> Vec<Segment> {
    let k = KAPPA * radius;
    let (cx, cy) = (center.x, center.y);
    let mut arcs = vec![
        Segment::Cubic(
            point(cx + radius, cy),
            point(cx + radius, cy + k),
            point(cx + k, cy + radius),
            point(cx, cy + radius),
        ),
        Segment::Cubic(
            point(cx, cy + radius),
            point(cx - k, cy + radius),
            point(cx - radius, cy + k),
            point(cx - radius, cy),
        ),
        Segment::Cubic(
            point(cx - radius, cy),
            point(cx - radius, cy - k),
            point(cx - k, cy - radius),
            point(cx, cy - radius),
        ),
        Segment::Cubic(
            point(cx, cy - radius),
            point(cx + k, cy - radius),
            point(cx + radius, cy - k),
            point(cx + radius, cy),
        ),
    ];
    if reverse {
        arcs.reverse();
        for arc in &mut arcs {
            if let Segment::Cubic(p0, p1, p2, p3) = *arc {
                *arc = Segment::Cubic(p3, p2, p1, p0);
            }
        }
    }
    arcs
}

/// A ring of the given outer radius and line thickness.
pub(crate) fn ring(center: Point, outer_radius: f32, thickness: f32) -> Vec<Segment> {
    let mut segments = circle(center, outer_radius, false);
    segments.extend(circle(center, (outer_radius - thickness).max(0.0), true));
    segments
}

/// A star with `n_points` tips, the first pointing straight up (towards −y).
pub(crate) fn star(center: Point, outer_radius: f32, inner_radius: f32, n_points: usize) -> Vec<Segment> {
    let n_corners = 2 * n_points.max(2);
    let corners: Vec<Point> = (0..n_corners)
        .map(|i| {
            let angle = std::f32::consts::PI * i as f32 / n_points.max(2) as f32;
            let radius = if i % 2 == 0 { outer_radius } else { inner_radius };
            point(center.x + radius * angle.sin(), center.y - radius * angle.cos())
        })
        .collect();
    polygon(&corners)
}

/// A pen stroke along the cubic Bézier chain `path` (`p0, c1, c2, p1, c1, c2, p2, …`), `width`
/// wide in the middle and tapering at both ends like a quick signature.
pub(crate) fn pen_stroke(path: &[Point], width: f32) -> Vec<Segment> {
    const STEPS_PER_CURVE: usize = 24;
    let n_curves = path.len().saturating_sub(1) / 3;
    if n_curves == 0 {
        return Vec::new();
    }
    let mut centre_line = Vec::with_capacity(n_curves * STEPS_PER_CURVE + 1);
    for curve in 0..n_curves {
        let [p0, p1, p2, p3] = [0, 1, 2, 3].map(|i| path[curve * 3 + i]);
        let first_step = if curve == 0 { 0 } else { 1 };
        for step in first_step..=STEPS_PER_CURVE {
            let t = step as f32 / STEPS_PER_CURVE as f32;
            let u = 1.0 - t;
            let (b0, b1, b2, b3) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
            centre_line.push(point(
                b0 * p0.x + b1 * p1.x + b2 * p2.x + b3 * p3.x,
                b0 * p0.y + b1 * p1.y + b2 * p2.y + b3 * p3.y,
            ));
        }
    }
    let n = centre_line.len();
    let mut left = Vec::with_capacity(n);
    let mut right = Vec::with_capacity(n);
    for i in 0..n {
        let before = centre_line[i.saturating_sub(1)];
        let after = centre_line[(i + 1).min(n - 1)];
        let (dx, dy) = (after.x - before.x, after.y - before.y);
        let length = (dx * dx + dy * dy).sqrt().max(1e-6);
        // Pressure: thin at the ends, full in the middle, slightly thinner on down-strokes.
        let t = i as f32 / (n - 1).max(1) as f32;
        let pressure = 0.35 + 0.65 * (std::f32::consts::PI * t).sin().max(0.0).powf(0.6);
        let half = 0.5 * width * pressure * (1.0 - 0.25 * (dy / length).max(0.0));
        let normal = point(-dy / length * half, dx / length * half);
        let c = centre_line[i];
        left.push(point(c.x + normal.x, c.y + normal.y));
        right.push(point(c.x - normal.x, c.y - normal.y));
    }
    right.reverse();
    left.extend(right);
    polygon(&left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::{Canvas, Ink};

    fn covered(segments: &[Segment], x: u32, y: u32) -> bool {
        let mut canvas = Canvas::new(100, 100, 255);
        canvas.fill(segments, &Ink::TONER);
        canvas.pixel(x, y).is_some_and(|p| p[0] < 128)
    }

    #[test]
    fn ring_has_a_hole() {
        let ring = ring(point(50.0, 50.0), 40.0, 10.0);
        assert!(covered(&ring, 50, 14), "on the band");
        assert!(!covered(&ring, 50, 50), "centre is a hole");
        assert!(!covered(&ring, 2, 2), "outside");
    }

    #[test]
    fn star_covers_centre_and_tip_but_not_between_tips() {
        let star = star(point(50.0, 50.0), 45.0, 18.0, 5);
        assert!(covered(&star, 50, 50));
        assert!(covered(&star, 50, 10), "top tip");
        assert!(!covered(&star, 62, 12), "between the top and the next tip");
    }

    #[test]
    fn pen_stroke_follows_its_path() {
        let path = [point(10.0, 50.0), point(30.0, 50.0), point(70.0, 50.0), point(90.0, 50.0)];
        let stroke = pen_stroke(&path, 8.0);
        assert!(covered(&stroke, 50, 50));
        assert!(!covered(&stroke, 50, 60));
        assert!(pen_stroke(&path[..2], 8.0).is_empty(), "no complete curve, no stroke");
    }
}
