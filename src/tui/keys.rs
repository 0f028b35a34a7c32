//! Keys and mouse -> state changes, pure: anything needing I/O comes back as a [`Command`]
//! for the event loop to carry out.

use std::path::PathBuf;

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::app::{App, Column, CurveKind, Leave, View};
use super::views;
use crate::store::RunStatus;

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

/// Every key, for the help overlay: (where, keys, what).
pub const KEYS: &[(&str, &str, &str)] = &[
    ("global", "Tab S-Tab", "next / previous view"),
    ("global", "1-6", "jump to view"),
    ("global", "?", "help (Esc closes)"),
    ("global", "q Ctrl-C", "quit (training goes on)"),
    ("global", "x", "export chart (curves)"),
    ("global", "mouse", "click a tab / a row"),
    ("runs", "j k ↓ ↑", "move"),
    ("runs", "g G PgUp/Dn", "top / bottom / page"),
    ("runs", "space", "select run"),
    ("runs", "a / c", "select all / clear"),
    ("runs", "/", "filter (Enter, Esc)"),
    ("runs", "f", "cycle status filter"),
    ("runs", "s / S", "sort column / reverse"),
    ("runs", "Enter", "run detail"),
    ("runs", "K / R", "stop / re-run run"),
    ("curves", "h l ← →", "loss / acc / step loss"),
    ("curves", "e", "EMA smoothing on/off"),
    ("curves", "L", "log scale on loss"),
    ("table", "e", "next experiment"),
    ("table", "r / c", "row / column axis"),
    ("table", "b", "best / final accuracy"),
    ("table", "j k", "scroll"),
    ("experiments", "j k ↓ ↑", "choose file"),
    ("experiments", "Enter i", "edit (validated live)"),
    ("experiments", "Ctrl-S Esc", "save / close (asks first)"),
    ("experiments", "n", "new from template"),
    ("experiments", "r", "launch in background"),
    ("experiments", "E", "open in $EDITOR"),
    ("detail", "j k", "scroll"),
    ("query", "Enter", "edit SQL / run it"),
    ("query", "Esc / Ctrl-U", "cancel or leave / clear"),
    ("query", "j k h l", "scroll results"),
];

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
                View::Curves => curves_key(app, key),
                View::Table => table_key(app, key),
                View::Experiments => files_key(app, key),
                View::Detail => detail_key(app, key),
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

fn runs_key(app: &mut App, key: KeyEvent) -> Option<Command> {
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

fn filter_key(app: &mut App, key: KeyEvent) {
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

fn curves_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let c = &mut app.curves;
    let i = CurveKind::ALL
        .iter()
        .position(|k| *k == c.kind)
        .unwrap_or(0);
    match key.code {
        KeyCode::Right | KeyCode::Char('l') => c.kind = CurveKind::ALL[(i + 1) % 3],
        KeyCode::Left | KeyCode::Char('h') => c.kind = CurveKind::ALL[(i + 2) % 3],
        KeyCode::Char('e') => c.smooth = !c.smooth,
        KeyCode::Char('L') => c.log_y = !c.log_y,
        _ => {}
    }
    None
}

fn table_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let n_axes = app.table_axes().len();
    let t = &mut app.table;
    match key.code {
        KeyCode::Char('e') if !app.experiments.is_empty() => {
            t.experiment = (t.experiment + 1) % app.experiments.len();
            t.row_axis = 0;
            t.col_axis = 1;
            t.scroll = 0;
        }
        KeyCode::Char('r') if n_axes > 0 => {
            let old = t.row_axis;
            t.row_axis = (t.row_axis + 1) % n_axes;
            if t.row_axis == t.col_axis {
                t.col_axis = old;
            }
        }
        KeyCode::Char('c') => {
            t.col_axis = (t.col_axis + 1) % (n_axes + 1);
            if t.col_axis == t.row_axis {
                t.col_axis = (t.col_axis + 1) % (n_axes + 1);
            }
        }
        KeyCode::Char('b') => t.final_acc = !t.final_acc,
        KeyCode::Down | KeyCode::Char('j') => t.scroll += 1,
        KeyCode::Up | KeyCode::Char('k') => t.scroll = t.scroll.saturating_sub(1),
        KeyCode::Char('g') => t.scroll = 0,
        _ => {}
    }
    None
}

fn files_key(app: &mut App, key: KeyEvent) -> Option<Command> {
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

fn naming_key(app: &mut App, key: KeyEvent) -> Option<Command> {
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

/// Quits, unless the editor holds unsaved changes: then it asks first (on the
/// Experiments view, where the editor is).
fn request_quit(app: &mut App) -> Option<Command> {
    if app.files.editor.as_ref().is_some_and(|e| e.dirty) {
        app.help = false;
        switch_view(app, View::Experiments);
        app.files.leaving = Some(Leave::Quit);
        return None;
    }
    app.quit = true;
    Some(Command::Quit)
}

fn editor_key(app: &mut App, key: KeyEvent) -> Option<Command> {
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
fn leaving_key(app: &mut App, key: KeyEvent) -> Option<Command> {
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

fn detail_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let d = &mut app.detail;
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => d.scroll += 1,
        KeyCode::Up | KeyCode::Char('k') => d.scroll = d.scroll.saturating_sub(1),
        KeyCode::Char('g') => d.scroll = 0,
        _ => {}
    }
    None
}

/// Keys while the SQL prompt has focus; `None` lets the key through to the global keys.
fn query_input_key(app: &mut App, key: KeyEvent) -> Option<Option<Command>> {
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

fn query_key(app: &mut App, key: KeyEvent) -> Option<Command> {
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
