//! Accuracy table: one experiment's sweep, a row axis down and a column axis across, other
//! axes aggregated; each cell is mean ± std (or the 95% interval) and n of best or final test
//! accuracy, marked against the best cell (report.rs). The importance ranking stands beside.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use serde_json::Value;

use crate::report::{self, RunPoint, Verdict, Versus};
use crate::tui::app::App;
use crate::tui::format;

/// The table as drawn: axis values in first-seen (sweep) order and one statistic per cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Pivot {
    pub experiment: String,
    pub row_axis: Option<String>,
    pub col_axis: Option<String>,
    pub row_values: Vec<Value>,
    pub col_values: Vec<Value>,
    /// `cells[r][c]`: the cell's statistics against the best cell, `None` where no run is.
    pub cells: Vec<Vec<Option<Versus>>>,
    /// The cell with the highest mean.
    pub best: Option<(usize, usize)>,
}

pub fn pivot(app: &App) -> Option<Pivot> {
    let exp = app.experiments.get(app.table.experiment)?;
    let axes = &exp.axes;
    let row_axis = axes.get(app.table.row_axis).cloned();
    let col_axis = axes
        .get(app.table.col_axis)
        .filter(|c| Some(*c) != row_axis.as_ref())
        .cloned();
    let points: Vec<RunPoint> = app
        .runs
        .iter()
        .filter(|r| r.brief.experiment == exp.name)
        .map(|r| RunPoint {
            overrides: r.overrides.clone(),
            seed: r.brief.seed,
            best_test_accuracy: r.derived.best_test,
            final_test_accuracy: r.derived.last_test,
        })
        .collect();
    let keys: Vec<String> = row_axis.iter().chain(col_axis.iter()).cloned().collect();
    let groups = report::by_point(&points, &keys);
    let mut row_values: Vec<Value> = Vec::new();
    let mut col_values: Vec<Value> = Vec::new();
    for g in &groups {
        let rv = g.key.first().cloned().unwrap_or(Value::Null);
        let cv = if col_axis.is_some() {
            g.key[1].clone()
        } else {
            Value::Null
        };
        if !row_values.contains(&rv) {
            row_values.push(rv);
        }
        if !col_values.contains(&cv) {
            col_values.push(cv);
        }
    }
    let values: Vec<Vec<(u64, f64)>> = groups
        .iter()
        .map(|g| {
            if app.table.final_acc {
                g.last_values.clone()
            } else {
                g.best_values.clone()
            }
        })
        .collect();
    let versus = report::against_best(&values);
    let mut cells = vec![vec![None; col_values.len()]; row_values.len()];
    let mut best = None;
    for (g, v) in groups.iter().zip(versus) {
        let rv = g.key.first().cloned().unwrap_or(Value::Null);
        let cv = g.key.get(1).cloned().unwrap_or(Value::Null);
        let r = row_values.iter().position(|x| *x == rv)?;
        let c = col_values.iter().position(|x| *x == cv)?;
        if v.verdict == Verdict::Best {
            best = Some((r, c));
        }
        cells[r][c] = Some(v);
    }
    Some(Pivot {
        experiment: exp.name.clone(),
        row_axis,
        col_axis,
        row_values,
        col_values,
        cells,
        best,
    })
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let [info, body] = Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(area);
    // The importance ranking beside the table where there is room, else under it.
    let [body, side] = if area.width >= 100 {
        Layout::horizontal([Constraint::Min(0), Constraint::Length(38)]).areas(body)
    } else {
        Layout::vertical([Constraint::Min(0), Constraint::Length(7)]).areas(body)
    };
    let Some(p) = pivot(app) else {
        frame.render_widget(
            Paragraph::new("No experiments in the store yet.").style(t.dim()),
            area,
        );
        return;
    };
    let axes = app.table_axes();
    let name = |a: &Option<String>| a.as_deref().map_or("-".into(), format::short_key);
    let others: Vec<String> = axes
        .iter()
        .filter(|a| Some(*a) != p.row_axis.as_ref() && Some(*a) != p.col_axis.as_ref())
        .map(|a| format::short_key(a))
        .collect();
    let metric = if app.table.final_acc { "final" } else { "best" };
    let spread = if app.table.show_ci {
        "95% CI"
    } else {
        "± std"
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(p.experiment.clone(), t.title()),
            Span::raw(format!(
                " ({}/{}, e)  {metric} test accuracy % (b), mean {spread} (v) (n)",
                app.table.experiment + 1,
                app.experiments.len()
            )),
        ]),
        Line::from(Span::styled(
            format!(
                "rows: {} (r)  cols: {} (c)  aggregated: {}",
                name(&p.row_axis),
                name(&p.col_axis),
                if others.is_empty() {
                    "-".into()
                } else {
                    others.join(", ")
                }
            ),
            t.dim(),
        )),
        Line::from(Span::styled(
            "* best  ≈ not distinguishable from it (p ≥ 0.05; paired by seed, else Welch; uncorrected)",
            t.dim(),
        )),
    ];
    frame.render_widget(Paragraph::new(lines), info);
    super::importance::draw(frame, side, app);

    let corner = format!("{} \\ {}", name(&p.row_axis), name(&p.col_axis));
    let mut header = vec![Cell::from(corner.clone())];
    header.extend(p.col_values.iter().map(|v| Cell::from(format::value(v))));
    let stat_text = |v: &Option<Versus>| cell_text(v, app.table.show_ci);
    let cell_w = p
        .cells
        .iter()
        .flatten()
        .map(|s| stat_text(s).chars().count())
        .chain(
            p.col_values
                .iter()
                .map(|v| format::value(v).chars().count()),
        )
        .max()
        .unwrap_or(4) as u16;
    let first_w = p
        .row_values
        .iter()
        .map(|v| format::value(v).chars().count())
        .chain([corner.chars().count()])
        .max()
        .unwrap_or(4) as u16;
    let mut widths = vec![Constraint::Length(first_w)];
    widths.extend(p.col_values.iter().map(|_| Constraint::Length(cell_w)));
    let best_style = t.ok().add_modifier(Modifier::BOLD | Modifier::REVERSED);
    let rows = p
        .row_values
        .iter()
        .enumerate()
        .skip(app.table.scroll.min(p.row_values.len().saturating_sub(1)))
        .map(|(r, rv)| {
            let mut cells = vec![Cell::from(format::value(rv))];
            for (c, s) in p.cells[r].iter().enumerate() {
                let style = if p.best == Some((r, c)) {
                    best_style
                } else {
                    Style::default()
                };
                cells.push(Cell::from(Span::styled(stat_text(s), style)));
            }
            Row::new(cells)
        });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(Style::default().add_modifier(Modifier::BOLD)))
        .column_spacing(2);
    frame.render_widget(table, body);
}

/// A cell: `mean ± std (n)` or `mean [low–high] (n)` in percent, with the verdict's mark.
fn cell_text(v: &Option<Versus>, ci: bool) -> String {
    let Some((v, s)) = v.as_ref().and_then(|v| Some((v, v.sample?))) else {
        return "-".into();
    };
    let body = match (ci, v.ci) {
        (true, Some((lo, hi))) => {
            format!(
                "{:.2} [{:.2}–{:.2}] (n={})",
                s.mean * 100.0,
                lo * 100.0,
                hi * 100.0,
                s.n
            )
        }
        _ => report::format_stat(&Some(report::Stat {
            mean: s.mean,
            std: s.std(),
            n: s.n,
        })),
    };
    report::marked(body, v.verdict)
}
