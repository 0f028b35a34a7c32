//! Keys of the Detail view: scrolling.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::Command;
use crate::tui::app::App;

pub(super) fn detail_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let d = &mut app.detail;
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => d.scroll += 1,
        KeyCode::Up | KeyCode::Char('k') => d.scroll = d.scroll.saturating_sub(1),
        KeyCode::Char('g') => d.scroll = 0,
        _ => {}
    }
    None
}
