//! Drawing: a pure function of the app state. The screen is a tab bar, the view's body and
//! a status line; the help overlay draws on top.

pub mod curves;
pub mod detail;
pub mod experiments;
pub mod help;
pub mod importance;
pub mod query;
pub mod runs;
pub mod table;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, StoreState, View};

pub struct Areas {
    pub tabs: Rect,
    pub body: Rect,
    pub status: Rect,
}

pub fn areas(screen: Rect) -> Areas {
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(screen);
    Areas { tabs, body, status }
}

fn tab_label(v: View) -> String {
    format!(" {} {} ", v.index() + 1, v.title())
}

/// The view whose tab covers column `x` of the tab bar.
pub fn tab_at(x: u16) -> Option<View> {
    let mut start = 0u16;
    for v in View::ALL {
        let end = start + tab_label(v).chars().count() as u16;
        if x >= start && x < end {
            return Some(v);
        }
        start = end + 1; // the separator
    }
    None
}

pub fn draw(frame: &mut Frame, app: &App) {
    let a = areas(frame.area());
    draw_tabs(frame, a.tabs, app);
    match app.view {
        View::Runs => runs::draw(frame, a.body, app),
        View::Curves => curves::draw(frame, a.body, app),
        View::Table => table::draw(frame, a.body, app),
        View::Experiments => experiments::draw(frame, a.body, app),
        View::Detail => detail::draw(frame, a.body, app),
        View::Query => query::draw(frame, a.body, app),
    }
    draw_status(frame, a.status, app);
    if app.help {
        help::draw(frame, frame.area(), app);
    }
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let mut spans = Vec::new();
    for (i, v) in View::ALL.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("│", app.theme.dim()));
        }
        let style = if v == app.view {
            app.theme.title().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        spans.push(Span::styled(tab_label(v), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_status(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let line = match (&app.message, &app.store) {
        (Some((m, true)), _) => Line::from(Span::styled(m.clone(), t.error())),
        (Some((m, false)), _) => Line::from(Span::styled(m.clone(), t.ok())),
        (None, StoreState::Waiting) => Line::from(Span::styled(
            format!(
                "waiting for {} to appear…   ? help  q quit",
                app.paths.db.display()
            ),
            t.dim(),
        )),
        (None, StoreState::Error(e)) => Line::from(Span::styled(e.clone(), t.error())),
        (None, StoreState::Open) => Line::from(Span::styled(
            format!(
                "{} · {} runs   ? help  Tab views  / filter  q quit",
                app.paths.db.display(),
                app.runs.len()
            ),
            t.dim(),
        )),
    };
    // First, so a narrow screen cuts the rest: why the data may be stale, ticking.
    let line = match app.store_busy {
        Some(d) => {
            let mut spans = vec![Span::styled(
                format!("store busy {} s · ", d.as_secs()),
                t.error(),
            )];
            spans.extend(line.spans);
            Line::from(spans)
        }
        None => line,
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// `s` padded or cut to exactly `w` display cells (used by the fixed-width tables).
pub fn fit(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n > w {
        let mut out: String = s.chars().take(w.saturating_sub(1)).collect();
        if w > 0 {
            out.push('…');
        }
        out
    } else {
        format!("{s:<w$}")
    }
}
