//! Keys of the Experiments file list and its "new experiment" name prompt; the open
//! editor's keys are in `editor`.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{Command, nav, page};
use crate::tui::app::App;

pub(super) fn files_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let len = app.files.files.len();
    if let Some(p) = nav(&key, app.files.cursor, len, page(app)) {
        app.files.cursor = p;
        return None;
    }
    let file = app.highlighted_file().cloned();
    match (key.code, file) {
        (KeyCode::Char('n'), _) => app.files.naming = Some(String::new()),
        (KeyCode::Enter | KeyCode::Char('i'), Some(f)) => return Some(Command::OpenEditor(f)),
        (KeyCode::Char('r'), Some(f)) => return Some(Command::Launch(f)),
        (KeyCode::Char('E'), Some(f)) => return Some(Command::ExternalEdit(f)),
        _ => {}
    }
    None
}

pub(super) fn naming_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let name = app.files.naming.as_mut()?;
    match key.code {
        KeyCode::Esc => app.files.naming = None,
        KeyCode::Enter => {
            let name = name.trim().to_string();
            app.files.naming = None;
            if !name.is_empty() {
                return Some(Command::NewExperiment(name));
            }
        }
        KeyCode::Backspace => {
            name.pop();
        }
        KeyCode::Char(c) => name.push(c),
        _ => {}
    }
    None
}
