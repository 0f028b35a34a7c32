//! The poller on its thread (`Feed`): the store arrives over the channel, the Detail view's
//! row is asked for and answered, and a locked store holds up only its data.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::tui::app::View;
use crate::tui::feed::Feed;
use crate::tui::keys::handle_key;

/// Drains the feed, as the event loop does, until `done` holds; fails after 20 s.
fn drain_until(feed: &mut Feed, app: &mut App, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        feed.drain(app);
        feed.sync(app);
        if done(app) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_poller_thread_sends_the_store_and_answers_the_detail_view() {
    let fx = fixture();
    let mut app = app_for(fx.dir.path(), &fx.db, true);
    let mut feed = Feed::start(&fx.db);
    drain_until(&mut feed, &mut app, "the runs", |a| a.runs.len() == 5);
    assert_eq!(app.experiments.len(), 1);
    assert_eq!(app.files.files.len(), 1, "the experiments folder is listed");
    for code in [KeyCode::Char('j'), KeyCode::Char('j'), KeyCode::Enter] {
        handle_key(&mut app, KeyEvent::new(code, KeyModifiers::NONE));
    }
    assert_eq!(app.view, View::Detail);
    drain_until(&mut feed, &mut app, "run 3's row", |a| {
        a.detail.run.as_ref().is_some_and(|r| r.id == 3)
    });
    let l = lines(&render(&mut app, 100, 30));
    find_line(&l, "error: out of memory on cpu");
}

#[test]
fn a_locked_store_holds_up_only_its_data_and_the_status_line_says_for_how_long() {
    let fx = fixture();
    // WAL readers never wait for a writer; with a rollback journal they wait for its lock.
    let c = rusqlite::Connection::open(&fx.db).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    let mut app = app_for(fx.dir.path(), &fx.db, true);
    let mut feed = Feed::start(&fx.db);
    drain_until(&mut feed, &mut app, "the runs", |a| a.runs.len() == 5);
    c.execute_batch("BEGIN EXCLUSIVE; UPDATE runs SET status = 'done' WHERE id = 2")
        .unwrap();
    // The event loop goes on while the poller waits; the runs it had stay on screen.
    drain_until(&mut feed, &mut app, "the busy clock", |a| {
        a.store_busy.is_some()
    });
    assert_eq!(app.runs.len(), 5);
    assert_eq!(app.runs[app.by_id[&2]].brief.status, RunStatus::Running);
    let l = lines(&render(&mut app, 100, 24));
    assert!(l[23].starts_with("store busy 1 s · "), "{}", l[23]);
    c.execute_batch("COMMIT").unwrap();
    drain_until(&mut feed, &mut app, "run 2 done, the clock gone", |a| {
        a.store_busy.is_none() && a.runs[a.by_id[&2]].brief.status == RunStatus::Done
    });
    let l = lines(&render(&mut app, 100, 24));
    assert!(!l[23].contains("store busy"), "{}", l[23]);
}
