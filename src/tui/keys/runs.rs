//! Keys of the Runs view: moving, selecting, sorting, the status filter and the `/`
//! filter prompt, and the stop / re-run commands for the highlighted run.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{Command, nav, page, switch_view};
use crate::store::RunStatus;
use crate::tui::app::{App, Column, View};

pub(super) fn runs_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let len = app.runs_view.visible.len();
    if let Some(p) = nav(&key, app.runs_view.cursor, len, page(app)) {
        app.runs_view.cursor = p;
        return None;
    }
    match key.code {
        KeyCode::Char(' ') => {
            if let Some(id) = app.highlighted_id() {
                if !app.runs_view.selected.remove(&id) {
                    app.runs_view.selected.insert(id);
                }
                app.runs_view.cursor = (app.runs_view.cursor + 1).min(len.saturating_sub(1));
            }
        }
        KeyCode::Char('a') => {
            let ids: Vec<i64> = app
                .runs_view
                .visible
                .iter()
                .map(|&i| app.runs[i].brief.id)
                .collect();
            app.runs_view.selected.extend(ids);
        }
        KeyCode::Char('c') => app.runs_view.selected.clear(),
        KeyCode::Char('/') => app.runs_view.filtering = true,
        KeyCode::Char('f') => {
            let all = RunStatus::ALL;
            app.runs_view.status_filter = match app.runs_view.status_filter {
                None => Some(all[0]),
                Some(s) => all.get(all.iter().position(|x| *x == s)? + 1).copied(),
            };
            app.runs_view.cursor = 0;
            app.refresh_visible();
        }
        KeyCode::Char('s') => {
            let cols = app.columns();
            let next = match &app.runs_view.sort {
                None => 1,
                Some(c) => cols.iter().position(|x| x == c).map_or(0, |i| i + 1) % cols.len(),
            };
            app.runs_view.sort = Some(cols[next].clone()).filter(|c| *c != Column::Id);
            app.refresh_visible();
        }
        KeyCode::Char('S') => {
            app.runs_view.descending = !app.runs_view.descending;
            app.refresh_visible();
        }
        KeyCode::Enter => switch_view(app, View::Detail),
        KeyCode::Char('K') => return app.highlighted_id().map(Command::StopRun),
        KeyCode::Char('R') => return app.highlighted_id().map(Command::RerunRun),
        _ => {}
    }
    None
}

pub(super) fn filter_key(app: &mut App, key: KeyEvent) {
    match key.code {
        KeyCode::Esc => {
            app.runs_view.filter.clear();
            app.runs_view.filtering = false;
        }
        KeyCode::Enter => app.runs_view.filtering = false,
        KeyCode::Backspace => {
            app.runs_view.filter.pop();
        }
        KeyCode::Char(c) => app.runs_view.filter.push(c),
        _ => return,
    }
    app.refresh_visible();
}
