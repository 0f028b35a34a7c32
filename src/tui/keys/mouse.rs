//! Mouse input: clicks on tabs and rows, and the wheel on the runs table. Hit-testing
//! asks `views` where things are drawn, so it cannot disagree with the screen.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::{Command, switch_view};
use crate::tui::app::{App, View};
use crate::tui::views;

/// Left clicks: a tab switches view; a row of the runs table or the file list is chosen.
pub fn handle_mouse(app: &mut App, ev: MouseEvent) -> Option<Command> {
    if app.help || app.files.leaving.is_some() {
        return None;
    }
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => {}
        MouseEventKind::ScrollDown if app.view == View::Runs => {
            let last = app.runs_view.visible.len().saturating_sub(1);
            app.runs_view.cursor = (app.runs_view.cursor + 1).min(last);
            return None;
        }
        MouseEventKind::ScrollUp if app.view == View::Runs => {
            app.runs_view.cursor = app.runs_view.cursor.saturating_sub(1);
            return None;
        }
        _ => return None,
    }
    let areas = views::areas(app.screen);
    if ev.row == areas.tabs.y {
        if let Some(v) = views::tab_at(ev.column) {
            switch_view(app, v);
        }
        return None;
    }
    match app.view {
        View::Runs => {
            if let Some(i) = views::runs::row_at(app, areas.body, ev.row) {
                app.runs_view.cursor = i;
            }
        }
        View::Experiments if app.files.editor.is_none() => {
            if let Some(i) = views::experiments::row_at(app, areas.body, ev.column, ev.row) {
                app.files.cursor = i;
            }
        }
        _ => {}
    }
    None
}
