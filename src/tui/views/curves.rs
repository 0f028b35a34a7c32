//! Curves view: train/test loss or accuracy per epoch, or train loss per step, of the
//! selected runs (or the highlighted one). The same model feeds the chart export.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use crate::plot;
use crate::store::{MetricName, RunStatus, Split};
use crate::tui::app::{App, CurveKind};
use crate::tui::data::RunData;

/// At most this many runs are plotted (the first of the selection, by id).
pub const MAX_RUNS: usize = 8;
/// Weight of the newest point in the exponential moving average.
const EMA_ALPHA: f64 = 0.4;

/// Markers cycle over the datasets, so curves differ without colour; each has the symbol
/// the legend shows for it.
pub const MARKERS: [(Marker, &str); 5] = [
    (Marker::Dot, "•"),
    (Marker::Braille, "⣿"),
    (Marker::Block, "█"),
    (Marker::Bar, "▄"),
    (Marker::HalfBlock, "▀"),
];

pub fn ema(points: &[(f64, f64)], alpha: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len());
    let mut acc: Option<f64> = None;
    for &(x, y) in points {
        let s = acc.map_or(y, |a| alpha * y + (1.0 - alpha) * a);
        acc = Some(s);
        out.push((x, s));
    }
    out
}

/// Keeps the lowest and highest point of each of `max / 2` buckets (in x order), so
/// spikes survive while long curves shrink to about `max` points.
pub fn downsample(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max.max(4) {
        return points.to_vec();
    }
    let buckets = (max / 2).max(2);
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(buckets * 2);
    for chunk in points.chunks(size) {
        let lo = chunk
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.1.total_cmp(&b.1.1));
        let hi = chunk
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1));
        if let (Some((i, &l)), Some((j, &h))) = (lo, hi) {
            match i.cmp(&j) {
                std::cmp::Ordering::Less => out.extend([l, h]),
                std::cmp::Ordering::Greater => out.extend([h, l]),
                std::cmp::Ordering::Equal => out.push(l),
            }
        }
    }
    out
}

/// Per-epoch points; accuracies in percent, as the tables and `export` show them.
fn epoch_points(r: &RunData, split: Split, name: MetricName) -> Vec<(f64, f64)> {
    let scale = if name == MetricName::Accuracy {
        100.0
    } else {
        1.0
    };
    r.series(split, name)
        .iter()
        .map(|&(e, v)| (e as f64, v * scale))
        .collect()
}

/// What the chart shows, in data units (not log-transformed, not downsampled).
pub fn chart_model(app: &App) -> plot::Chart {
    let kind = app.curves.kind;
    let runs = app.plotted();
    let mut series = Vec::new();
    for r in runs.iter().take(MAX_RUNS) {
        // Where early stopping left a run: its curve ends there, and the legend says why.
        let id = match r.brief.status {
            RunStatus::Pruned | RunStatus::Paused => {
                format!("{} {} @{}", r.brief.id, r.brief.status, r.brief.epochs_done)
            }
            _ => r.brief.id.to_string(),
        };
        let mut add = |label: String, points: Vec<(f64, f64)>| {
            let points = if app.curves.smooth {
                ema(&points, EMA_ALPHA)
            } else {
                points
            };
            series.push(plot::Series { label, points });
        };
        match kind {
            CurveKind::Loss | CurveKind::Accuracy => {
                let name = if kind == CurveKind::Loss {
                    MetricName::Loss
                } else {
                    MetricName::Accuracy
                };
                add(format!("#{id} train"), epoch_points(r, Split::Train, name));
                add(format!("#{id} test"), epoch_points(r, Split::Test, name));
            }
            CurveKind::StepLoss => {
                let pts = r.train_steps.iter().map(|&(s, v)| (s as f64, v)).collect();
                add(format!("#{id} train"), pts);
            }
        }
    }
    let (x_label, y_label) = match kind {
        CurveKind::Loss => ("epoch", "loss"),
        // `(%)` also keeps the exported chart's axis at or below 100 (see `plot::Chart`).
        CurveKind::Accuracy => ("epoch", "accuracy (%)"),
        CurveKind::StepLoss => ("step", "train loss"),
    };
    let experiment = runs.first().map_or("", |r| r.brief.experiment.as_str());
    plot::Chart {
        title: format!("{experiment}: {}", kind.title()),
        x_label: x_label.into(),
        y_label: y_label.into(),
        series,
        log_y: app.curves.log_y && kind != CurveKind::Accuracy,
    }
}

/// Lower/upper bounds with 5% padding; a flat or empty range still gets some height.
fn bounds(values: impl Iterator<Item = f64>, pad: bool) -> [f64; 2] {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return [0.0, 1.0];
    }
    if hi - lo < 1e-12 {
        return [lo - 0.5, hi + 0.5];
    }
    let p = if pad { (hi - lo) * 0.05 } else { 0.0 };
    [lo - p, hi + p]
}

fn label(v: f64, log: bool) -> String {
    let v = if log { 10f64.powf(v) } else { v };
    if v.abs() >= 100.0 || (v.fract() == 0.0 && v.abs() < 1e6) {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn axis_labels(b: [f64; 2], log: bool) -> Vec<Line<'static>> {
    let mid = (b[0] + b[1]) / 2.0;
    [b[0], mid, b[1]]
        .into_iter()
        .map(|v| Line::from(label(v, log)))
        .collect()
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let [bar, runs_line, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    let mut spans = Vec::new();
    for k in CurveKind::ALL {
        let s = if k == app.curves.kind {
            Span::styled(format!("[{}]", k.title()), t.title())
        } else {
            Span::raw(format!(" {} ", k.title()))
        };
        spans.extend([s, Span::raw(" ")]);
    }
    let onoff = |b: bool| if b { "on" } else { "off" };
    spans.push(Span::styled(
        format!(
            " EMA:{} log:{}",
            onoff(app.curves.smooth),
            onoff(app.curves.log_y && app.curves.kind != CurveKind::Accuracy)
        ),
        t.dim(),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), bar);

    let plotted = app.plotted();
    if plotted.is_empty() {
        frame.render_widget(
            Paragraph::new("No run to plot: highlight or select (space) runs in the Runs view.")
                .style(t.dim()),
            body,
        );
        return;
    }
    let mut who: Vec<String> = plotted
        .iter()
        .take(MAX_RUNS)
        .map(|r| format!("#{} {}", r.brief.id, r.overrides_text()))
        .collect();
    if plotted.len() > MAX_RUNS {
        who.push(format!("(first {MAX_RUNS} of {} selected)", plotted.len()));
    }
    frame.render_widget(Paragraph::new(who.join(" · ")).style(t.dim()), runs_line);

    let model = chart_model(app);
    let log = model.log_y;
    let legend_w = model
        .series
        .iter()
        .map(|s| s.label.chars().count() as u16 + 3)
        .max()
        .unwrap_or(0)
        .min(body.width / 3);
    let [chart_area, legend_area] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(legend_w)]).areas(body);
    let max_points = usize::from(chart_area.width) * 2;
    let data: Vec<Vec<(f64, f64)>> = model
        .series
        .iter()
        .map(|s| {
            let pts: Vec<(f64, f64)> = if log {
                s.points
                    .iter()
                    .filter(|p| p.1 > 0.0)
                    .map(|&(x, y)| (x, y.log10()))
                    .collect()
            } else {
                s.points.clone()
            };
            downsample(&pts, max_points)
        })
        .collect();
    let all = || data.iter().flatten();
    let xb = bounds(all().map(|p| p.0), false);
    let mut yb = bounds(all().map(|p| p.1), true);
    if app.curves.kind == CurveKind::Accuracy {
        yb = [yb[0].max(0.0), yb[1].min(100.0)];
    }
    let datasets: Vec<Dataset> = model
        .series
        .iter()
        .zip(&data)
        .enumerate()
        .map(|(i, (s, pts))| {
            Dataset::default()
                .name(s.label.clone())
                .marker(MARKERS[i % MARKERS.len()].0)
                .graph_type(GraphType::Line)
                .style(t.series(i))
                .data(pts)
        })
        .collect();
    let y_title = if log {
        format!("{} (log)", model.y_label)
    } else {
        model.y_label.clone()
    };
    let chart = Chart::new(datasets)
        .legend_position(None)
        .x_axis(
            Axis::default()
                .title(model.x_label.clone())
                .style(t.dim())
                .bounds(xb)
                .labels(axis_labels(xb, false)),
        )
        .y_axis(
            Axis::default()
                .title(y_title)
                .style(t.dim())
                .bounds(yb)
                .labels(axis_labels(yb, log)),
        );
    frame.render_widget(chart, chart_area);
    let legend: Vec<Line> = model
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Line::from(Span::styled(
                format!("{} {}", MARKERS[i % MARKERS.len()].1, s.label),
                t.series(i),
            ))
        })
        .collect();
    frame.render_widget(Paragraph::new(legend), legend_area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_is_plotted_and_exported_in_percent_as_the_tables_show_it() {
        let fx = crate::tui::tests::fixture();
        let (mut app, _p) = crate::tui::tests::loaded(&fx, false);
        app.curves.kind = CurveKind::Accuracy;
        let m = chart_model(&app);
        // `(%)` is what keeps the exported axis at or below 100, as `export` does.
        assert_eq!(m.y_label, "accuracy (%)");
        let test = m.series.iter().find(|s| s.label == "#1 test").unwrap();
        let ys: Vec<f64> = test.points.iter().map(|p| p.1).collect();
        for (y, want) in ys.iter().zip([80.0, 90.0, 91.0]) {
            assert!((y - want).abs() < 1e-9, "{ys:?}");
        }
        // Loss stays as it is.
        app.curves.kind = CurveKind::Loss;
        let m = chart_model(&app);
        assert!(
            m.series[0].points.iter().all(|p| p.1 <= 1.0),
            "{:?}",
            m.series[0]
        );
    }

    #[test]
    fn ema_smooths_and_keeps_x() {
        let s = ema(&[(1.0, 1.0), (2.0, 0.0), (3.0, 0.0)], 0.5);
        assert_eq!(s, vec![(1.0, 1.0), (2.0, 0.5), (3.0, 0.25)]);
    }

    #[test]
    fn downsample_keeps_extremes_and_shrinks() {
        let pts: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64, (i % 7) as f64)).collect();
        let mut spiky = pts.clone();
        spiky[500].1 = 100.0;
        let d = downsample(&spiky, 100);
        assert!(d.len() <= 100, "{}", d.len());
        assert!(d.iter().any(|p| p.1 == 100.0));
        assert!(d.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(downsample(&pts[..10], 100).len(), 10);
    }
}
