//! Keys and mouse -> state changes, pure: anything needing I/O comes back as a [`Command`]
//! for the event loop to carry out.
//!
//! This module routes a key to whoever has the keyboard (the unsaved-changes question,
//! help, a text prompt, the editor, else the current view); each view's keys live in the
//! submodule named after it, like its drawing in `views`.

mod curves;
mod detail;
mod editor;
mod experiments;
mod keymap;
mod mouse;
mod query;
mod runs;
mod table;

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{App, Leave, View};
use editor::{editor_key, leaving_key, request_quit};
use experiments::{files_key, naming_key};
use query::{query_input_key, query_key};
use runs::{filter_key, runs_key};

pub use keymap::KEYS;
pub use mouse::handle_mouse;

/// Work the event loop does on the app's behalf (store, files, processes, terminal).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Quit,
    /// Run the SQL off the UI thread (a query still running is cancelled first).
    RunQuery(String),
    /// Stop the running query (Esc in the Query view).
    CancelQuery,
    /// Read the file into the in-place editor.
    OpenEditor(PathBuf),
    SaveEditor,
    /// Save the editor's file, then close the editor or quit (the unsaved-changes question).
    SaveAndLeave(Leave),
    NewExperiment(String),
    Launch(PathBuf),
    /// Leave the dashboard for $EDITOR on this file, then come back.
    ExternalEdit(PathBuf),
    ExportChart,
    /// Ask a running run to stop at its next step.
    StopRun(i64),
    /// Train a run again: resume it if unfinished, from scratch if done or diverged.
    RerunRun(i64),
}

fn ctrl(key: &KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

pub fn switch_view(app: &mut App, view: View) {
    app.view = view;
    app.query.focused = view == View::Query;
}

/// Applies one key press to the app.
pub fn handle_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    // A status message stays until the next key.
    app.message = None;
    // The unsaved-changes question takes every key, Ctrl-C included (it means "cancel").
    if app.files.leaving.is_some() {
        return leaving_key(app, key);
    }
    if ctrl(&key, 'c') {
        return request_quit(app);
    }
    if app.help {
        if matches!(key.code, KeyCode::Esc | KeyCode::Char('?')) {
            app.help = false;
        } else if key.code == KeyCode::Char('q') {
            return request_quit(app);
        }
        return None;
    }
    // Text inputs take the keyboard first.
    if app.view == View::Runs && app.runs_view.filtering {
        filter_key(app, key);
        return None;
    }
    if app.view == View::Experiments && app.files.naming.is_some() {
        return naming_key(app, key);
    }
    if app.view == View::Experiments && app.files.editor.is_some() {
        return editor_key(app, key);
    }
    if app.view == View::Query
        && app.query.focused
        && let Some(cmd) = query_input_key(app, key)
    {
        return cmd;
    }
    match key.code {
        KeyCode::Char('q') => return request_quit(app),
        KeyCode::Char('?') => app.help = true,
        KeyCode::Tab => switch_view(app, View::ALL[(app.view.index() + 1) % 6]),
        KeyCode::BackTab => switch_view(app, View::ALL[(app.view.index() + 5) % 6]),
        KeyCode::Char(c @ '1'..='6') => {
            switch_view(app, View::ALL[c as usize - '1' as usize]);
        }
        KeyCode::Char('x') => {
            if app.view == View::Curves {
                return Some(Command::ExportChart);
            }
            app.error("no chart on this view: x exports from the curves view");
        }
        _ => {
            return match app.view {
                View::Runs => runs_key(app, key),
                View::Curves => curves::curves_key(app, key),
                View::Table => table::table_key(app, key),
                View::Experiments => files_key(app, key),
                View::Detail => detail::detail_key(app, key),
                View::Query => query_key(app, key),
            };
        }
    }
    None
}

/// Up/down style movement shared by lists: returns the new position.
fn nav(key: &KeyEvent, pos: usize, len: usize, page: usize) -> Option<usize> {
    let last = len.saturating_sub(1);
    Some(match key.code {
        KeyCode::Down | KeyCode::Char('j') => (pos + 1).min(last),
        KeyCode::Up | KeyCode::Char('k') => pos.saturating_sub(1),
        KeyCode::Char('g') | KeyCode::Home => 0,
        KeyCode::Char('G') | KeyCode::End => last,
        KeyCode::PageDown => (pos + page).min(last),
        KeyCode::PageUp => pos.saturating_sub(page),
        _ => return None,
    })
}

fn page(app: &App) -> usize {
    usize::from(app.screen.height.saturating_sub(6)).max(1)
}
