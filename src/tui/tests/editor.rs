//! The in-place editor never drops unsaved changes: Esc and quitting ask first
//! (save / discard / keep editing), driven by keys and checked on screen and on disk.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::tui::app::{Leave, View};
use crate::tui::execute_in_place;
use crate::tui::jobs::Jobs;
use crate::tui::keys::{Command, handle_key};

fn key(app: &mut App, code: KeyCode) -> Option<Command> {
    handle_key(app, KeyEvent::new(code, KeyModifiers::NONE))
}

/// Opens experiments/grid.toml in the editor and types `# note` at its top.
fn edited(fx: &Fixture) -> (App, Jobs, PathBuf) {
    let (mut app, _p) = loaded(fx, true);
    let mut jobs = Jobs::new();
    key(&mut app, KeyCode::Char('4'));
    let cmd = key(&mut app, KeyCode::Enter).expect("Enter opens the editor");
    let Command::OpenEditor(path) = cmd.clone() else {
        panic!("{cmd:?}");
    };
    execute_in_place(cmd, &mut app, &mut jobs);
    for c in "# note\n".chars() {
        let code = if c == '\n' {
            KeyCode::Enter
        } else {
            KeyCode::Char(c)
        };
        assert_eq!(key(&mut app, code), None);
    }
    assert!(app.files.editor.as_ref().unwrap().dirty);
    (app, jobs, path)
}

fn on_disk(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn esc_with_unsaved_changes_asks_and_esc_again_keeps_editing() {
    let fx = fixture();
    let (mut app, _jobs, path) = edited(&fx);
    let before = on_disk(&path);
    assert_eq!(key(&mut app, KeyCode::Esc), None);
    assert_eq!(app.files.leaving, Some(Leave::Close));
    assert!(app.files.editor.is_some(), "nothing is dropped by Esc");
    let l = lines(&render(&mut app, 100, 30));
    find_line(&l, "grid.toml has unsaved changes.");
    find_line(&l, "s  save and close");
    find_line(&l, "d  discard the changes and close");
    find_line(&l, "Esc  keep editing");
    // Esc again: back to the buffer, edits intact, the question gone.
    assert_eq!(key(&mut app, KeyCode::Esc), None);
    assert_eq!(app.files.leaving, None);
    let ed = app.files.editor.as_ref().unwrap();
    assert!(ed.dirty && ed.text().starts_with("# note\n"));
    let l = lines(&render(&mut app, 100, 30));
    assert!(!l.iter().any(|x| x.contains("unsaved changes.")));
    assert_eq!(on_disk(&path), before);
    // Typing goes on where it was.
    key(&mut app, KeyCode::Char('x'));
    assert!(
        app.files
            .editor
            .as_ref()
            .unwrap()
            .text()
            .starts_with("# note\nx")
    );
}

#[test]
fn s_on_the_question_saves_then_closes() {
    let fx = fixture();
    let (mut app, mut jobs, path) = edited(&fx);
    key(&mut app, KeyCode::Esc);
    let cmd = key(&mut app, KeyCode::Char('s')).expect("s saves");
    assert_eq!(cmd, Command::SaveAndLeave(Leave::Close));
    execute_in_place(cmd, &mut app, &mut jobs);
    assert!(app.files.editor.is_none());
    assert!(!app.quit);
    assert!(on_disk(&path).starts_with("# note\n"));
}

#[test]
fn d_on_the_question_discards_and_closes() {
    let fx = fixture();
    let (mut app, _jobs, path) = edited(&fx);
    let before = on_disk(&path);
    key(&mut app, KeyCode::Esc);
    assert_eq!(key(&mut app, KeyCode::Char('d')), None);
    assert!(app.files.editor.is_none());
    assert_eq!(on_disk(&path), before);
    let (msg, _) = app.message.clone().unwrap();
    assert!(msg.contains("changes discarded"), "{msg}");
}

#[test]
fn quitting_with_unsaved_changes_asks_from_any_view() {
    let fx = fixture();
    let (mut app, mut jobs, path) = edited(&fx);
    let before = on_disk(&path);
    // Ctrl-C in the editor asks instead of quitting.
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(handle_key(&mut app, ctrl_c), None);
    assert!(!app.quit);
    assert_eq!(app.files.leaving, Some(Leave::Quit));
    find_line(&lines(&render(&mut app, 100, 30)), "s  save and quit");
    // Ctrl-C on the question means "cancel", as in editors: still editing.
    assert_eq!(handle_key(&mut app, ctrl_c), None);
    assert!(!app.quit && app.files.leaving.is_none());
    // A tab click took the user elsewhere; `q` there brings the question back to the editor.
    app.view = View::Runs;
    assert_eq!(key(&mut app, KeyCode::Char('q')), None);
    assert_eq!(app.view, View::Experiments);
    assert_eq!(app.files.leaving, Some(Leave::Quit));
    // Save and quit.
    let cmd = key(&mut app, KeyCode::Char('s')).unwrap();
    assert_eq!(cmd, Command::SaveAndLeave(Leave::Quit));
    execute_in_place(cmd, &mut app, &mut jobs);
    assert!(app.quit);
    assert_ne!(on_disk(&path), before);
    assert!(on_disk(&path).starts_with("# note\n"));
}

#[test]
fn discard_and_quit_quits_without_writing() {
    let fx = fixture();
    let (mut app, _jobs, path) = edited(&fx);
    let before = on_disk(&path);
    app.view = View::Runs;
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(key(&mut app, KeyCode::Char('d')), Some(Command::Quit));
    assert!(app.quit);
    assert_eq!(on_disk(&path), before);
}

#[test]
fn a_failed_save_keeps_the_editor_and_its_changes() {
    let fx = fixture();
    let (mut app, mut jobs, path) = edited(&fx);
    // The file's folder is gone: the save fails.
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    key(&mut app, KeyCode::Esc);
    let cmd = key(&mut app, KeyCode::Char('s')).unwrap();
    execute_in_place(cmd, &mut app, &mut jobs);
    let ed = app.files.editor.as_ref().expect("still open");
    assert!(ed.dirty && ed.text().starts_with("# note\n"));
    let (msg, is_err) = app.message.clone().unwrap();
    assert!(is_err && msg.contains("cannot save"), "{msg}");
}

#[test]
fn quitting_with_saved_changes_does_not_ask() {
    let fx = fixture();
    let (mut app, mut jobs, _path) = edited(&fx);
    let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
    let cmd = handle_key(&mut app, ctrl_s).unwrap();
    execute_in_place(cmd, &mut app, &mut jobs);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(handle_key(&mut app, ctrl_c), Some(Command::Quit));
    assert!(app.quit);
}

#[test]
fn a_check_shows_only_for_the_text_it_checked() {
    let fx = fixture();
    let (mut app, mut jobs, _path) = edited(&fx);
    settle(&mut jobs, &mut app);
    let ed = app.files.editor.as_ref().unwrap();
    assert!(
        !ed.checking() && ed.diagnostics.is_empty(),
        "{:?}",
        ed.diagnostics
    );
    let checked = ed.revision;
    // A key makes a new text; the result for the old one no longer applies to it.
    key(&mut app, KeyCode::Char('='));
    let ed = app.files.editor.as_mut().unwrap();
    assert!(ed.checking());
    let stale = ed.diagnostics.clone();
    assert!(!ed.checked_as(checked, Vec::new()));
    assert!(ed.checking() && ed.diagnostics == stale);
    let l = lines(&render(&mut app, 100, 30));
    find_line(&l, "· checking… ");
    // Its own check comes back with the broken line.
    settle(&mut jobs, &mut app);
    let ed = app.files.editor.as_ref().unwrap();
    assert!(!ed.checking());
    assert_eq!(ed.diagnostics[0].line, 2, "{:?}", ed.diagnostics);
}
