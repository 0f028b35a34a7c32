//! Keys of the Query view: the SQL prompt while it has focus, and scrolling the result
//! (or cancelling a running query) while it has not.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{Command, ctrl, nav, page};
use crate::tui::app::App;

/// Keys while the SQL prompt has focus; `None` lets the key through to the global keys.
pub(super) fn query_input_key(app: &mut App, key: KeyEvent) -> Option<Option<Command>> {
    let q = &mut app.query;
    if ctrl(&key, 'u') {
        q.input.clear();
        return Some(None);
    }
    match key.code {
        KeyCode::Tab | KeyCode::BackTab => return None,
        KeyCode::Esc if q.running.is_some() => return Some(Some(Command::CancelQuery)),
        KeyCode::Esc => q.focused = false,
        KeyCode::Enter => {
            if q.input.trim().is_empty() {
                return Some(None);
            }
            return Some(Some(Command::RunQuery(q.input.clone())));
        }
        KeyCode::Backspace => {
            q.input.pop();
        }
        KeyCode::Char(c) => q.input.push(c),
        _ => {}
    }
    Some(None)
}

pub(super) fn query_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let rows = app.query.result.as_ref().map_or(0, |r| r.rows.len());
    let cols = app.query.result.as_ref().map_or(0, |r| r.columns.len());
    let q = &mut app.query;
    match key.code {
        KeyCode::Esc if q.running.is_some() => return Some(Command::CancelQuery),
        KeyCode::Enter | KeyCode::Char('i') | KeyCode::Char(':') => q.focused = true,
        KeyCode::Right | KeyCode::Char('l') => q.col = (q.col + 1).min(cols.saturating_sub(1)),
        KeyCode::Left | KeyCode::Char('h') => q.col = q.col.saturating_sub(1),
        _ => {
            if let Some(p) = nav(&key, q.row, rows, page(app)) {
                app.query.row = p;
            }
        }
    }
    None
}
