//! Axes with tick marks we choose ourselves.
//!
//! plotters' log axis only puts ticks at powers of ten, so a loss falling from 0.9 to 0.3
//! would get no labels at all, and its float axis labels epochs as `1.5`. This axis picks
//! 1-2-5 steps (whole numbers on integral axes) and, on a log scale, 1-2-5 per decade, falling
//! back to linear steps when the data spans less than a decade.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// One axis: its value range, scale and the ticks (with labels) computed up front.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// Integral axes (epochs, steps) label big round numbers as `20k`, `1.5M`.
    integral: bool,
    ticks: Vec<f64>,
    /// Fixed decimals for linear ticks; `None` formats each log tick on its own.
    decimals: Option<usize>,
}

impl Axis {
    /// A linear axis over `lo..hi` (lo < hi) with at most `max_ticks` ticks.
    pub(crate) fn linear(lo: f64, hi: f64, integral: bool, max_ticks: usize) -> Axis {
        let (ticks, decimals) = linear_ticks(lo, hi, integral, max_ticks, &|_| true);
        Axis {
            lo,
            hi,
            log: false,
            integral,
            ticks,
            decimals: Some(decimals),
        }
    }

    /// A base-10 log axis over `lo..hi` (0 < lo < hi) with at most `max_ticks` ticks, no two
    /// of them closer than about half the even spacing (so labels never collide).
    pub(crate) fn log(lo: f64, hi: f64, max_ticks: usize) -> Axis {
        let max_ticks = max_ticks.max(2);
        let span = (hi / lo).log10();
        let min_gap = 0.6 * span / max_ticks as f64;
        let spaced = |t: &[f64]| t.windows(2).all(|w| (w[1] / w[0]).log10() >= min_gap);
        let (ticks, decimals) = match decade_ticks(lo, hi, max_ticks, &spaced) {
            Some(t) => (t, None),
            None => {
                let (t, d) = linear_ticks(lo, hi, false, max_ticks, &spaced);
                (t, Some(d))
            }
        };
        Axis {
            lo,
            hi,
            log: true,
            integral: false,
            ticks,
            decimals,
        }
    }

    pub(crate) fn ticks(&self) -> &[f64] {
        &self.ticks
    }

    pub(crate) fn is_log(&self) -> bool {
        self.log
    }

    /// Position of `v` along the axis, 0 at `lo` and 1 at `hi`.
    pub(crate) fn fraction(&self, v: f64) -> f64 {
        let f = |x: f64| if self.log { x.log10() } else { x };
        (f(v) - f(self.lo)) / (f(self.hi) - f(self.lo))
    }

    /// The tick label for `v`.
    pub(crate) fn label(&self, v: f64) -> String {
        if self.integral && v.abs() >= 10_000.0 && v.fract() == 0.0 {
            if v % 100_000.0 == 0.0 && v.abs() >= 1_000_000.0 {
                return format!("{}M", v / 1e6);
            }
            if v % 100.0 == 0.0 {
                return format!("{}k", v / 1e3);
            }
        }
        match self.decimals {
            Some(d) => format!("{v:.d$}"),
            None => log_label(v),
        }
    }
}

/// `0.001`, `20`, and scientific notation outside 1e-3 .. 1e5, for one 1-2-5 log tick.
fn log_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&v.abs()) {
        return format!("{v:e}");
    }
    let decimals = (-(v.abs().log10() + 1e-9).floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// `m * 10^e`, computed so that it rounds like the decimal literal (1e-5, not 9.99e-6).
fn scaled(m: f64, e: i32) -> f64 {
    if e >= 0 {
        m * 10f64.powi(e)
    } else {
        m / 10f64.powi(-e)
    }
}

/// The smallest 1-2-5 step giving at most `max_ticks` multiples inside `lo..=hi` that
/// `accept` takes; returns the multiples and the decimals the step needs.
fn linear_ticks(
    lo: f64,
    hi: f64,
    integral: bool,
    max_ticks: usize,
    accept: &dyn Fn(&[f64]) -> bool,
) -> (Vec<f64>, usize) {
    let max_ticks = max_ticks.max(2) as f64;
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let mut e = (span / max_ticks).log10().floor() as i32 - 1;
    if integral {
        e = e.max(0);
    }
    loop {
        for m in [1.0, 2.0, 5.0] {
            let step = scaled(m, e);
            let (first, last) = ((lo / step).ceil(), (hi / step).floor());
            if last - first + 1.0 <= max_ticks {
                let ticks: Vec<f64> = (first as i64..=last as i64)
                    .map(|k| scaled(k as f64 * m, e))
                    .collect();
                // At most one tick is always accepted, so the loop ends.
                if ticks.len() <= 1 || accept(&ticks) {
                    return (ticks, (-e).max(0) as usize);
                }
            }
        }
        e += 1;
    }
}

/// Ticks at "round" mantissas of each decade, densest acceptable set first: all of 1..9,
/// then 1-2-3-4-5-6-8, 1-2-3-5, 1-2-5, 1-3, powers of ten, every n-th power of ten. `None`
/// when no set has two acceptable ticks in range (a range well inside one decade).
fn decade_ticks(
    lo: f64,
    hi: f64,
    max_ticks: usize,
    accept: &dyn Fn(&[f64]) -> bool,
) -> Option<Vec<f64>> {
    let (e0, e1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let inside = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    let collect = |mantissas: &[f64], stride: i32| -> Vec<f64> {
        (e0..=e1)
            .filter(|e| e.rem_euclid(stride) == 0)
            .flat_map(|e| mantissas.iter().map(move |&m| scaled(m, e)))
            .filter(|&v| inside(v))
            .collect()
    };
    let mut candidates = vec![
        collect(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], 1),
        collect(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0], 1),
        collect(&[1.0, 2.0, 3.0, 5.0], 1),
        collect(&[1.0, 2.0, 5.0], 1),
        collect(&[1.0, 3.0], 1),
    ];
    candidates.extend([1, 2, 3, 5, 10, 20, 50, 100].map(|s| collect(&[1.0], s)));
    candidates
        .into_iter()
        .find(|t| (2..=max_ticks).contains(&t.len()) && accept(t))
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let px = f64::from(limit.0) + self.fraction(*value) * f64::from(limit.1 - limit.0);
        // `as` saturates (and maps NaN to 0), so a stray value cannot panic here.
        px.round() as i32
    }

    /// The bold ticks only: asked for light grid lines (more points than bold ones), we
    /// return none, keeping the grid to one line per label.
    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.max_num_points() == 0 || hint.bold_points() < hint.max_num_points() {
            return Vec::new();
        }
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(a: &Axis) -> Vec<String> {
        a.ticks().iter().map(|&t| a.label(t)).collect()
    }

    #[test]
    fn epochs_get_whole_number_ticks() {
        let a = Axis::linear(0.9, 5.1, true, 10);
        assert_eq!(labels(&a), ["1", "2", "3", "4", "5"]);
        let a = Axis::linear(0.5, 1.5, true, 10);
        assert_eq!(labels(&a), ["1"]);
    }

    #[test]
    fn linear_ticks_are_1_2_5_steps_within_the_limit() {
        let a = Axis::linear(0.0, 100.0, false, 11);
        assert_eq!(
            labels(&a),
            [
                "0", "10", "20", "30", "40", "50", "60", "70", "80", "90", "100"
            ]
        );
        let a = Axis::linear(0.12, 0.87, false, 6);
        assert_eq!(labels(&a), ["0.2", "0.4", "0.6", "0.8"]);
        let a = Axis::linear(0.0, 1.2e5, true, 7);
        assert_eq!(
            labels(&a),
            ["0", "20k", "40k", "60k", "80k", "100k", "120k"]
        );
    }

    #[test]
    fn log_ticks_cover_decades_and_narrow_ranges() {
        let a = Axis::log(0.03, 2.5, 11);
        assert_eq!(
            labels(&a),
            ["0.03", "0.05", "0.1", "0.2", "0.3", "0.5", "1", "2"]
        );
        // Less than a decade: plotters would show no tick at all.
        let a = Axis::log(0.31, 0.88, 8);
        assert_eq!(labels(&a), ["0.4", "0.5", "0.6", "0.7", "0.8"]);
        // 0.9 and 1 would crowd each other at the top; 7 and 9 are left out.
        let a = Axis::log(0.15, 1.1, 11);
        assert_eq!(labels(&a), ["0.2", "0.3", "0.4", "0.5", "0.6", "0.8", "1"]);
        // Within a decade and between round mantissas: plain linear steps.
        let a = Axis::log(0.312, 0.381, 8);
        assert_eq!(
            labels(&a),
            ["0.32", "0.33", "0.34", "0.35", "0.36", "0.37", "0.38"]
        );
        let a = Axis::log(1e-7, 10.0, 5);
        assert_eq!(labels(&a), ["1e-6", "1e-4", "0.01", "1"]);
    }

    #[test]
    fn map_is_linear_or_logarithmic() {
        let a = Axis::linear(0.0, 10.0, false, 5);
        assert_eq!(a.map(&5.0, (0, 100)), 50);
        assert_eq!(a.map(&5.0, (100, 0)), 50);
        let l = Axis::log(0.01, 1.0, 5);
        assert_eq!(l.map(&0.1, (0, 100)), 50);
        assert_eq!(l.map(&1.0, (200, 0)), 0);
    }
}
