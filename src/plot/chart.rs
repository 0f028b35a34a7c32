//! What a chart shows, independent of how it is drawn, and the preparation every drawing
//! needs: dropping unplottable points, thinning long series, choosing the axis ranges.

use std::path::Path;

use super::PlotError;
use super::axis::Axis;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    /// (x, y) in drawing order; non-finite values are skipped when drawing.
    pub points: Vec<(f64, f64)>,
}

/// A line chart, ready to be written with [`super::write_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    /// A label ending in `(%)` marks percentages: the y axis then never extends past 100.
    pub y_label: String,
    pub series: Vec<Series>,
    /// Log-scale y axis; ignored (linear axis) when some value is zero or negative.
    pub log_y: bool,
}

/// Output formats, chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    /// `.png` or `.svg` (any case); anything else is an error naming the path.
    pub fn from_path(path: &Path) -> Result<ImageFormat, PlotError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("png") => Ok(ImageFormat::Png),
            Some("svg") => Ok(ImageFormat::Svg),
            _ => Err(PlotError::UnknownFormat {
                path: path.to_owned(),
            }),
        }
    }
}

/// Most points drawn per series. A long step-scope run has hundreds of thousands; beyond a
/// few per pixel column they only cost time and file size (SVG grows per point).
pub(crate) const MAX_POINTS: usize = 2000;

/// Reduces `points` to at most `max` (>= 4) by splitting the interior into buckets and
/// keeping each bucket's lowest and highest point in their original order, plus the first
/// and last point: spikes (divergence, LR restarts) survive, unlike plain striding.
pub(crate) fn downsample(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    let max = max.max(4);
    if points.len() <= max {
        return points.to_vec();
    }
    let inner = &points[1..points.len() - 1];
    let buckets = (max - 2) / 2;
    let mut out = Vec::with_capacity(max);
    out.push(points[0]);
    for b in 0..buckets {
        let chunk = &inner[b * inner.len() / buckets..(b + 1) * inner.len() / buckets];
        let by_y = |pick: fn(f64, f64) -> bool| {
            (0..chunk.len()).reduce(|best, i| {
                if pick(chunk[i].1, chunk[best].1) {
                    i
                } else {
                    best
                }
            })
        };
        let (Some(lo), Some(hi)) = (by_y(|a, b| a < b), by_y(|a, b| a > b)) else {
            continue;
        };
        out.push(chunk[lo.min(hi)]);
        if lo != hi {
            out.push(chunk[lo.max(hi)]);
        }
    }
    out.push(points[points.len() - 1]);
    out
}

/// A chart's data as drawn: finite (and, on a log axis, positive) points, thinned, with
/// the axes that frame them.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub series: Vec<Vec<(f64, f64)>>,
    pub x: Axis,
    pub y: Axis,
}

impl Plan {
    /// `max_ticks` = (x, y) tick budgets, which depend on the image size.
    pub(crate) fn new(chart: &Chart, max_ticks: (usize, usize)) -> Result<Plan, PlotError> {
        let finite: Vec<Vec<(f64, f64)>> = chart
            .series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .copied()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect()
            })
            .collect();
        let all = || finite.iter().flatten();
        if all().next().is_none() {
            return Err(PlotError::EmptyChart {
                title: chart.title.clone(),
            });
        }
        let log = chart.log_y && all().all(|&(_, y)| y > 0.0);
        let (xs, ys): (Vec<f64>, Vec<f64>) = all().copied().unzip();
        let (x_lo, x_hi) = min_max(&xs);
        let (y_lo, y_hi) = min_max(&ys);

        let integral = xs.iter().all(|x| x.fract() == 0.0);
        let (x_lo, x_hi) = if x_lo == x_hi {
            (x_lo - 0.5, x_hi + 0.5)
        } else {
            let pad = (x_hi - x_lo) * 0.02;
            (x_lo - pad, x_hi + pad)
        };
        let x = Axis::linear(x_lo, x_hi, integral, max_ticks.0);

        let y = if log {
            // A 5% margin in log space: the same visual gap at both ends.
            let widen = if y_hi > y_lo {
                (y_hi / y_lo).powf(0.05)
            } else {
                1.1
            };
            Axis::log(y_lo / widen, y_hi * widen, max_ticks.1)
        } else {
            let pad = if y_hi > y_lo {
                (y_hi - y_lo) * 0.05
            } else if y_hi != 0.0 {
                y_hi.abs() * 0.05
            } else {
                1.0
            };
            let mut lo = y_lo - pad;
            let mut hi = y_hi + pad;
            // Metrics here are non-negative; a margin should not invent negative values,
            // nor accuracies above 100%.
            if y_lo >= 0.0 && lo < 0.0 {
                lo = 0.0;
            }
            if chart.y_label.trim_end().ends_with("(%)") && y_hi <= 100.0 && hi > 100.0 {
                hi = 100.0;
            }
            if lo == hi {
                hi = lo + 1.0;
            }
            Axis::linear(lo, hi, false, max_ticks.1)
        };

        let series = finite
            .into_iter()
            .map(|pts| {
                let pts = if log {
                    pts.into_iter().filter(|&(_, y)| y > 0.0).collect()
                } else {
                    pts
                };
                downsample(&pts, MAX_POINTS)
            })
            .collect();
        Ok(Plan { series, x, y })
    }
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::coord::ranged1d::Ranged;

    #[test]
    fn format_comes_from_the_extension() {
        assert_eq!(
            ImageFormat::from_path(Path::new("a/b.PNG")).unwrap(),
            ImageFormat::Png
        );
        assert_eq!(
            ImageFormat::from_path(Path::new("c.svg")).unwrap(),
            ImageFormat::Svg
        );
        for bad in ["chart.jpg", "chart", "png"] {
            let err = ImageFormat::from_path(Path::new(bad)).unwrap_err();
            assert!(err.to_string().starts_with(bad), "{err}");
            assert!(err.is_bad_input());
        }
    }

    #[test]
    fn downsample_keeps_ends_and_extremes_within_budget() {
        let pts: Vec<(f64, f64)> = (0..100_000)
            .map(|i| (i as f64, ((i * 7919) % 1000) as f64))
            .collect();
        let mut spiky = pts.clone();
        spiky[54_321].1 = 1e6;
        let d = downsample(&spiky, MAX_POINTS);
        assert!(
            d.len() <= MAX_POINTS && d.len() > MAX_POINTS - 10,
            "{}",
            d.len()
        );
        assert_eq!(d[0], spiky[0]);
        assert_eq!(d[d.len() - 1], spiky[99_999]);
        assert!(d.contains(&(54_321.0, 1e6)), "the spike survives");
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0), "x order is kept");
        let short = &pts[..50];
        assert_eq!(downsample(short, MAX_POINTS), short);
    }

    fn chart(ys: &[f64], log_y: bool, y_label: &str) -> Chart {
        Chart {
            title: "t".into(),
            x_label: "epoch".into(),
            y_label: y_label.into(),
            series: vec![Series {
                label: "s".into(),
                points: ys
                    .iter()
                    .enumerate()
                    .map(|(i, &y)| (i as f64 + 1.0, y))
                    .collect(),
            }],
            log_y,
        }
    }

    #[test]
    fn ranges_have_margins_but_respect_natural_bounds() {
        let p = Plan::new(&chart(&[90.0, 99.9], false, "test accuracy (%)"), (10, 10)).unwrap();
        let r = p.y.range();
        assert!(r.start < 90.0 && r.start > 89.0, "{r:?}");
        assert_eq!(r.end, 100.0);
        let p = Plan::new(&chart(&[0.0, 1.0], false, "lr"), (10, 10)).unwrap();
        assert_eq!(p.y.range().start, 0.0);
        let r = p.x.range();
        assert!(r.start < 1.0 && r.end > 2.0);
    }

    #[test]
    fn log_axis_needs_positive_values_and_drops_non_finite_points() {
        let p = Plan::new(
            &chart(&[2.0, f64::NAN, 0.05, f64::INFINITY], true, "loss"),
            (10, 10),
        )
        .unwrap();
        assert!(p.y.is_log());
        assert_eq!(p.series[0], [(1.0, 2.0), (3.0, 0.05)]);
        let p = Plan::new(&chart(&[2.0, 0.0], true, "loss"), (10, 10)).unwrap();
        assert!(!p.y.is_log());
    }

    #[test]
    fn a_chart_without_finite_points_is_an_error() {
        let err = Plan::new(&chart(&[f64::NAN], false, "loss"), (10, 10)).unwrap_err();
        assert!(matches!(err, PlotError::EmptyChart { .. }) && err.is_bad_input());
        let mut c = chart(&[], false, "loss");
        c.series.clear();
        assert!(Plan::new(&c, (10, 10)).is_err());
    }
}
