//! Queries and one-shot tasks off the UI thread: the app keeps answering keys and drawing
//! while a query runs, Esc cancels it, and the worker really stops.

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::tui::app::View;
use crate::tui::execute_in_place;
use crate::tui::jobs::Jobs;
use crate::tui::keys::{Command, handle_key};

const ENDLESS: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

fn key(app: &mut App, code: KeyCode) -> Option<Command> {
    handle_key(app, KeyEvent::new(code, KeyModifiers::NONE))
}

/// Types `sql` into the Query view's prompt and presses Enter; runs what Enter asks for.
fn run_sql(app: &mut App, jobs: &mut Jobs, sql: &str) {
    key(app, KeyCode::Char('6'));
    if !app.query.focused {
        key(app, KeyCode::Enter);
    }
    app.query.input = sql.into();
    let cmd = key(app, KeyCode::Enter).expect("Enter runs the query");
    assert_eq!(cmd, Command::RunQuery(sql.into()));
    execute_in_place(cmd, app, jobs);
}

#[test]
fn an_endless_query_runs_off_the_ui_thread_and_esc_cancels_it() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    let mut jobs = Jobs::new();
    run_sql(&mut app, &mut jobs, ENDLESS);
    // Starting returned at once; the query is still going a while later.
    std::thread::sleep(Duration::from_millis(300));
    jobs.poll(&mut app);
    assert!(jobs.busy());
    let running = app.query.running.clone().expect("the query is running");
    assert_eq!(running.sql, ENDLESS);
    let l = lines(&render(&mut app, 100, 24));
    find_line(&l, "running for");
    find_line(&l, "Esc cancels");
    // The other views work meanwhile.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.view, View::Runs);
    find_line(&lines(&render(&mut app, 100, 24)), "✓ done");
    key(&mut app, KeyCode::Char('6'));
    // Esc cancels (with the prompt focused or not), says so, and the worker stops.
    assert_eq!(key(&mut app, KeyCode::Esc), Some(Command::CancelQuery));
    execute_in_place(Command::CancelQuery, &mut app, &mut jobs);
    assert!(app.query.running.is_none());
    let (msg, is_err) = app.message.clone().unwrap();
    assert!(!is_err && msg.starts_with("query cancelled after"), "{msg}");
    find_line(&lines(&render(&mut app, 100, 24)), "query cancelled after");
    settle(&mut jobs, &mut app);
    assert!(app.query.result.is_none() && app.query.error.is_none());
    // Esc without a running query only leaves the prompt, as before.
    key(&mut app, KeyCode::Enter);
    assert!(app.query.focused);
    assert_eq!(key(&mut app, KeyCode::Esc), None);
    assert!(!app.query.focused);
}

#[test]
fn quitting_never_waits_for_a_running_query() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    let mut jobs = Jobs::new();
    run_sql(&mut app, &mut jobs, ENDLESS);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(handle_key(&mut app, ctrl_c), Some(Command::Quit));
    assert!(app.quit && jobs.busy());
    jobs.cancel_query(&mut app);
    settle(&mut jobs, &mut app);
}

#[test]
fn a_new_query_replaces_the_running_one() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    let mut jobs = Jobs::new();
    run_sql(&mut app, &mut jobs, ENDLESS);
    run_sql(&mut app, &mut jobs, "SELECT id FROM runs ORDER BY id");
    settle(&mut jobs, &mut app);
    let r = app.query.result.as_ref().expect("the second query's rows");
    assert_eq!(r.rows.len(), 5);
    assert!(
        !app.query.focused,
        "a result leaves the prompt for scrolling"
    );
}

#[test]
fn a_query_that_finishes_elsewhere_says_so_on_the_status_line() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    let mut jobs = Jobs::new();
    app.view = View::Runs;
    jobs.start_query(&mut app, "SELECT 1 AS one");
    settle(&mut jobs, &mut app);
    let (msg, _) = app.message.clone().unwrap();
    assert!(msg.contains("query finished: 1 row(s)"), "{msg}");
}

#[test]
fn a_query_before_the_store_exists_is_an_error_not_a_thread() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app_for(dir.path(), &dir.path().join("none.db"), true);
    let mut jobs = Jobs::new();
    jobs.start_query(&mut app, "SELECT 1");
    assert!(!jobs.busy());
    assert_eq!(
        app.query.error.as_deref(),
        Some("the store is not open yet")
    );
}

#[test]
fn a_fifo_among_the_experiment_files_neither_blocks_the_preview_nor_the_editor() {
    use std::os::unix::ffi::OsStrExt;
    let fx = fixture();
    let fifo = fx.dir.path().join("experiments/a-fifo.toml");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let (mut app, mut poller) = loaded(&fx, true);
    let mut jobs = Jobs::new();
    key(&mut app, KeyCode::Char('4'));
    assert_eq!(app.highlighted_file(), Some(&fifo), "sorted first");
    // Reading it would wait for a writer for ever; it is refused instead.
    sync(&mut poller, &mut app);
    let (_, text) = app.files.preview.clone().unwrap();
    assert!(text.contains("not a regular file"), "{text}");
    let cmd = key(&mut app, KeyCode::Enter).unwrap();
    execute_in_place(cmd, &mut app, &mut jobs);
    assert!(app.files.editor.is_none());
    let (msg, is_err) = app.message.clone().unwrap();
    assert!(is_err && msg.contains("not a regular file"), "{msg}");
}
