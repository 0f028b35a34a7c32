//! Runs view: one row per run with its swept values, progress and headline metrics.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::fit;
use crate::store::RunStatus;
use crate::tui::app::{App, Column};
use crate::tui::data::RunData;
use crate::tui::format;

/// Body rows above the first run: the filter bar and the header.
const TOP: u16 = 2;
const GAUGE: usize = 8;

/// First visible position, so that the cursor stays on screen (pinned at the bottom when
/// scrolling down); shared with mouse hit-testing.
pub fn offset(cursor: usize, rows: usize) -> usize {
    cursor.saturating_sub(rows.saturating_sub(1))
}

/// The position in the visible list of the row drawn at screen row `y`.
pub fn row_at(app: &App, body: Rect, y: u16) -> Option<usize> {
    let rows = body.height.saturating_sub(TOP) as usize;
    let first = body.y + TOP;
    if y < first || y >= first + rows as u16 {
        return None;
    }
    let i = offset(app.runs_view.cursor, rows) + (y - first) as usize;
    (i < app.runs_view.visible.len()).then_some(i)
}

fn header(col: &Column) -> String {
    match col {
        Column::Id => "id".into(),
        Column::Experiment => "experiment".into(),
        Column::Status => "status".into(),
        Column::Axis(k) => format::short_key(k),
        Column::Epoch => "epoch".into(),
        // Said in full: a newcomer should not need the help to know these are test accuracy.
        Column::Best => "best test%".into(),
        Column::Last => "last test%".into(),
        Column::Loss => "loss".into(),
        Column::Speed => "img/s".into(),
        Column::Eta => "ETA".into(),
    }
}

fn cell_text(r: &RunData, col: &Column) -> String {
    let d = &r.derived;
    match col {
        Column::Id => r.brief.id.to_string(),
        Column::Experiment => r.brief.experiment.clone(),
        Column::Status => match r.brief.status {
            // The rung (epoch) an adaptive sweep paused or pruned it at.
            RunStatus::Paused | RunStatus::Pruned => {
                format!(
                    "{} @{}",
                    format::status_label(r.brief.status),
                    r.brief.epochs_done
                )
            }
            s => format::status_label(s),
        },
        Column::Axis(k) => r.overrides.get(k).map_or("-".into(), format::value),
        Column::Epoch => format!("{}/{}", r.brief.epochs_done, r.brief.epochs_total),
        Column::Best => format::pct(d.best_test),
        Column::Last => format::pct(d.last_test),
        Column::Loss => format::num(d.last_train_loss),
        Column::Speed => format::num(d.images_per_sec),
        Column::Eta => format::duration(d.eta_secs),
    }
}

/// Columns that give way, first to last, when the terminal is narrow.
fn drop_order(col: &Column) -> u8 {
    match col {
        Column::Last => 1,
        Column::Speed => 2,
        Column::Experiment => 3,
        Column::Eta => 4,
        _ => 9,
    }
}

/// Which columns fit in `width`, with their widths; the gauge (an extra column after
/// `epoch`) goes first.
fn layout(app: &App, rows: &[usize], width: u16) -> (Vec<(Column, usize)>, bool) {
    let mut cols: Vec<(Column, usize)> = app
        .columns()
        .into_iter()
        .map(|c| {
            let w = rows
                .iter()
                .map(|&i| cell_text(&app.runs[i], &c).chars().count())
                .chain([header(&c).chars().count() + 1])
                .max()
                .unwrap_or(4)
                .min(16);
            (c, w)
        })
        .collect();
    let total = |cols: &[(Column, usize)], gauge: bool| {
        2 + cols.iter().map(|c| c.1 + 1).sum::<usize>() + if gauge { GAUGE + 1 } else { 0 }
    };
    let width = width as usize;
    let gauge = total(&cols, true) <= width;
    for level in 1..=4 {
        if total(&cols, gauge) <= width {
            break;
        }
        cols.retain(|c| drop_order(&c.0) != level);
    }
    (cols, gauge)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let rv = &app.runs_view;
    let [bar, table] =
        ratatui::layout::Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let sort = match &rv.sort {
        None if rv.descending => "id ↓".to_string(),
        None => "id".to_string(),
        Some(c) => format!("{} {}", header(c), if rv.descending { "↓" } else { "↑" }),
    };
    let filter = if rv.filtering {
        Span::styled(format!("/{}█", rv.filter), t.title())
    } else if rv.filter.is_empty() {
        Span::styled("/ filter", t.dim())
    } else {
        Span::raw(format!("/{}", rv.filter))
    };
    let status = rv.status_filter.map_or("all".into(), |s| s.to_string());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            filter,
            Span::raw(format!(
                "  status: {status}  sort: {sort}  selected: {}  shown: {}/{}",
                rv.selected.len(),
                rv.visible.len(),
                app.runs.len()
            )),
        ])),
        bar,
    );
    if app.runs.is_empty() {
        let msg = "No runs yet. Start one with `densenet-lab run FILE`, or from the \
                   Experiments view (4).";
        frame.render_widget(Paragraph::new(msg).style(t.dim()), table);
        return;
    }
    let n_rows = table.height.saturating_sub(1) as usize;
    let first = offset(rv.cursor, n_rows);
    let window: Vec<usize> = rv
        .visible
        .iter()
        .skip(first)
        .take(n_rows)
        .copied()
        .collect();
    let (cols, gauge) = layout(app, &window, area.width);

    let mut head = vec![Cell::from(" ")];
    let mut widths = vec![Constraint::Length(1)];
    for (c, w) in &cols {
        let mut h = header(c);
        if rv.sort.as_ref() == Some(c) || (rv.sort.is_none() && *c == Column::Id) {
            h.push(if rv.descending { '↓' } else { '↑' });
        }
        head.push(Cell::from(h));
        widths.push(Constraint::Length(*w as u16));
        if gauge && *c == Column::Epoch {
            head.push(Cell::from("progress"));
            widths.push(Constraint::Length(GAUGE as u16));
        }
    }
    let rows = window.iter().enumerate().map(|(k, &i)| {
        let r = &app.runs[i];
        let mark = if rv.selected.contains(&r.brief.id) {
            "●"
        } else {
            " "
        };
        let mut cells = vec![Cell::from(mark)];
        for (c, w) in &cols {
            let text = fit(&cell_text(r, c), *w);
            let style = match c {
                Column::Status => t.status(r.brief.status),
                _ => Style::default(),
            };
            cells.push(Cell::from(Span::styled(text, style)));
            if gauge && *c == Column::Epoch {
                let g = format::gauge(r.brief.epochs_done, r.brief.epochs_total, GAUGE);
                cells.push(Cell::from(Span::styled(g, t.status(r.brief.status))));
            }
        }
        let row = Row::new(cells);
        if first + k == rv.cursor {
            row.style(t.cursor())
        } else {
            row
        }
    });
    let widget = Table::new(rows, widths)
        .header(Row::new(head).style(Style::default().add_modifier(Modifier::BOLD)))
        .column_spacing(1);
    frame.render_widget(widget, table);
}
