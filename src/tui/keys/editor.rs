//! Keys of the in-place experiment editor and the unsaved-changes question it raises
//! (save / discard / keep editing) when asked to close or quit with edits pending.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Command, ctrl, switch_view};
use crate::tui::app::{App, Leave, View};

/// Quits, unless the editor holds unsaved changes: then it asks first (on the
/// Experiments view, where the editor is).
pub(super) fn request_quit(app: &mut App) -> Option<Command> {
    if app.files.editor.as_ref().is_some_and(|e| e.dirty) {
        app.help = false;
        switch_view(app, View::Experiments);
        app.files.leaving = Some(Leave::Quit);
        return None;
    }
    app.quit = true;
    Some(Command::Quit)
}

pub(super) fn editor_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let editor = app.files.editor.as_mut()?;
    if ctrl(&key, 's') {
        return Some(Command::SaveEditor);
    }
    if key.code == KeyCode::Esc {
        if editor.dirty {
            app.files.leaving = Some(Leave::Close);
        } else {
            app.files.editor = None;
        }
        return None;
    }
    editor.input(key);
    None
}

/// The answer to "unsaved changes: save / discard / keep editing?". Esc (and Ctrl-C, and
/// anything unknown) keeps editing, so pressing Esc twice never loses work.
pub(super) fn leaving_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let leave = app.files.leaving.take()?;
    let name = app.files.editor.as_ref().map_or(String::new(), |e| {
        e.path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned())
    });
    let plain = !key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('s' | 'S' | 'y' | 'Y') => Some(Command::SaveAndLeave(leave)),
        KeyCode::Char('d' | 'D' | 'n' | 'N') if plain => {
            app.files.editor = None;
            if leave == Leave::Quit {
                app.quit = true;
                return Some(Command::Quit);
            }
            app.info(format!("closed {name}: changes discarded"));
            None
        }
        _ => {
            app.info(format!("still editing {name} (Ctrl-S saves)"));
            None
        }
    }
}
