//! Query view: a SQL prompt over the store (read-only) and its result as a scrollable table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};
use serde_json::Value;

use super::fit;
use crate::tui::app::App;

fn text(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let q = &app.query;
    let [prompt, body] = Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(area);
    let input = if q.focused {
        Line::from(vec![
            Span::raw(q.input.clone()),
            Span::styled("█", t.title()),
        ])
    } else if q.input.is_empty() {
        Line::from(Span::styled("press Enter to type a SELECT …", t.dim()))
    } else {
        Line::from(q.input.clone())
    };
    let hint = if q.running.is_some() {
        " SQL (read-only) · running · Esc cancel "
    } else if q.focused {
        " SQL (read-only) · Enter run · Esc leave prompt "
    } else {
        " SQL (read-only) · Enter edit · j k h l scroll "
    };
    frame.render_widget(
        Paragraph::new(input).block(Block::bordered().title(hint)),
        prompt,
    );
    if let Some(r) = &q.running {
        let lines = vec![
            Line::from(Span::styled(
                format!(
                    "running for {} s … Esc cancels it; the other views keep working",
                    r.elapsed.as_secs()
                ),
                t.title(),
            )),
            Line::from(Span::styled(r.sql.clone(), t.dim())),
        ];
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
        return;
    }
    if let Some(n) = &q.notice {
        frame.render_widget(Paragraph::new(n.clone()).style(t.dim()), body);
        return;
    }
    if let Some(e) = &q.error {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(format!("error: {e}"), t.error())))
                .wrap(Wrap { trim: false }),
            body,
        );
        return;
    }
    let Some(res) = &q.result else {
        let tip = "e.g. SELECT run_id, growth_rate, dropout, best_test_accuracy FROM run_summary";
        frame.render_widget(Paragraph::new(tip).style(t.dim()), body);
        return;
    };
    let [info, table] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
    let col0 = q.col.min(res.columns.len().saturating_sub(1));
    let widths: Vec<usize> = (col0..res.columns.len())
        .map(|c| {
            res.rows
                .iter()
                .take(200)
                .map(|r| text(&r[c]).chars().count())
                .chain([res.columns[c].chars().count()])
                .max()
                .unwrap_or(4)
                .min(30)
        })
        .collect();
    let n_rows = table.height.saturating_sub(1) as usize;
    let row0 = q.row.min(res.rows.len().saturating_sub(1));
    frame.render_widget(
        Paragraph::new(format!(
            "{} row(s){} · rows {}-{} · columns {}-{} of {}",
            res.rows.len(),
            if res.rows.len() >= crate::tui::actions::QUERY_ROWS {
                " (first rows only)"
            } else {
                ""
            },
            row0 + 1,
            (row0 + n_rows).min(res.rows.len()),
            col0 + 1,
            res.columns.len(),
            res.columns.len()
        ))
        .style(t.dim()),
        info,
    );
    let header = Row::new(
        res.columns[col0..]
            .iter()
            .zip(&widths)
            .map(|(c, w)| Cell::from(fit(c, *w))),
    )
    .style(Style::default().add_modifier(Modifier::BOLD));
    let rows = res.rows.iter().skip(row0).take(n_rows).map(|r| {
        Row::new(
            r[col0..]
                .iter()
                .zip(&widths)
                .map(|(v, w)| Cell::from(fit(&text(v), *w))),
        )
    });
    let constraints: Vec<Constraint> = widths
        .iter()
        .map(|w| Constraint::Length(*w as u16))
        .collect();
    frame.render_widget(Table::new(rows, constraints).header(header), table);
}
