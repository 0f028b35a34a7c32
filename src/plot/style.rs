//! Series colours and point markers. Every series gets a colour AND a marker shape, so
//! curves stay distinguishable in greyscale print and for colour-blind readers.

use plotters::style::RGBColor;

/// Colour-blind-friendly first (Okabe–Ito), then further dark hues; no greys, which would be
/// confused with the grid and text, and no yellow, which vanishes on white.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(117, 112, 179),
    RGBColor(166, 118, 29),
    RGBColor(231, 41, 138),
    RGBColor(102, 166, 30),
];

/// Marker shapes, cycled independently of colours: with 10 colours and 8 shapes the first
/// 40 series all differ in their (colour, shape) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    Circle,
    TriangleUp,
    Square,
    Diamond,
    Cross,
    TriangleDown,
    Plus,
    Hexagon,
}

pub(crate) const MARKERS: [Marker; 8] = [
    Marker::Circle,
    Marker::TriangleUp,
    Marker::Square,
    Marker::Diamond,
    Marker::Cross,
    Marker::TriangleDown,
    Marker::Plus,
    Marker::Hexagon,
];

/// Colour and marker of the `i`-th series.
pub(crate) fn series_style(i: usize) -> (RGBColor, Marker) {
    (PALETTE[i % PALETTE.len()], MARKERS[i % MARKERS.len()])
}

impl Marker {
    /// The marker as a filled polygon around (0, 0), in pixels, `r` being its radius.
    /// Polygons only (no stroked paths), so a marker never shows up as an SVG `<polyline>`
    /// and every shape is filled with exactly the series colour in PNGs.
    pub(crate) fn outline(self, r: f64) -> Vec<(i32, i32)> {
        let pts: Vec<(f64, f64)> = match self {
            Marker::Circle => regular(16, r, 0.0),
            Marker::Hexagon => regular(6, r * 1.05, 0.0),
            Marker::TriangleUp => regular(3, r * 1.25, -90.0),
            Marker::TriangleDown => regular(3, r * 1.25, 90.0),
            Marker::Square => regular(4, r * 1.2, 45.0),
            Marker::Diamond => vec![(0.0, -1.3 * r), (r, 0.0), (0.0, 1.3 * r), (-r, 0.0)],
            Marker::Plus => plus(r * 1.15, 0.0),
            Marker::Cross => plus(r * 1.2, 45.0),
        };
        pts.into_iter()
            .map(|(x, y)| (x.round() as i32, y.round() as i32))
            .collect()
    }
}

/// Vertices of a regular `n`-gon of circumradius `r`, first vertex at `start_deg`
/// (screen coordinates: y grows downwards, so -90° points up).
fn regular(n: usize, r: f64, start_deg: f64) -> Vec<(f64, f64)> {
    (0..n)
        .map(|k| {
            let a = (start_deg + 360.0 * k as f64 / n as f64).to_radians();
            (r * a.cos(), r * a.sin())
        })
        .collect()
}

/// A plus sign with arms of half-length `r`, rotated by `deg` (45° makes a cross).
fn plus(r: f64, deg: f64) -> Vec<(f64, f64)> {
    let a = (r * 0.32).max(1.0);
    let arm = [
        (a, r),
        (a, a),
        (r, a),
        (r, -a),
        (a, -a),
        (a, -r),
        (-a, -r),
        (-a, -a),
        (-r, -a),
        (-r, a),
        (-a, a),
        (-a, r),
    ];
    let (s, c) = deg.to_radians().sin_cos();
    arm.iter()
        .map(|&(x, y)| (x * c - y * s, x * s + y * c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_forty_series_have_distinct_colour_marker_pairs() {
        let pairs: Vec<_> = (0..40)
            .map(|i| {
                let (c, m) = series_style(i);
                ((c.0, c.1, c.2), m)
            })
            .collect();
        for (i, p) in pairs.iter().enumerate() {
            assert!(!pairs[..i].contains(p), "series {i} repeats {p:?}");
        }
    }

    #[test]
    fn marker_shapes_differ() {
        let shapes: Vec<_> = MARKERS.iter().map(|m| m.outline(5.0)).collect();
        for (i, s) in shapes.iter().enumerate() {
            assert!(s.len() >= 3);
            assert!(
                !shapes[..i].contains(s),
                "{:?} duplicates a shape",
                MARKERS[i]
            );
        }
    }
}
