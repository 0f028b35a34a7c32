//! End to end, in tmux: the dashboard keeps answering keys while its store is locked by
//! another connection and while the file in its editor takes seconds to check, and quits at
//! once in both cases. Each bound below is a few seconds, well under the stall it rules out
//! (the store's 5 s busy timeout, the lock's 10 s, a check per keystroke); the waits give
//! up instead of hanging.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::tmux::{Tmux, workspace_in_tmux};
use rusqlite::Connection;

const BIN: &str = env!("CARGO_BIN_EXE_densenet-lab");
/// How long a key may take to show on screen here: a UI thread waiting on the store's
/// lock (5 s busy timeout) or on checking a 200,000-value file per key cannot make it.
const ANSWER: Duration = Duration::from_secs(2);
const HOLD: Duration = Duration::from_secs(10);

/// Starts the dashboard on `lab.db` in the workspace, then waits for its Runs view.
fn start_dashboard(dir: &Path, tmux: &Tmux) {
    let line = format!("cd {} && {BIN} --db lab.db; echo EXIT=$?", dir.display());
    tmux.keys(&[&line, "Enter"]);
    tmux.wait_for("✓ done");
}

/// Presses `key` and waits, at most `ANSWER`, for `shown` on screen.
fn answered(tmux: &Tmux, key: &str, shown: &str, found: impl Fn(&str) -> bool) {
    let pressed = Instant::now();
    tmux.keys(&[key]);
    if let Err(s) = tmux.wait_until_by(pressed + ANSWER, found) {
        panic!("{key:?} not answered ({shown}) within {ANSWER:?}; screen:\n{s}");
    }
}

/// Switches the store to a rollback journal. In WAL mode (every store this program writes)
/// readers never wait for a writer; with a rollback journal they wait for an EXCLUSIVE
/// lock, as on a file system without shared memory or a store converted by hand.
fn to_rollback_journal(db: &Path) {
    let c = Connection::open(db).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
}

/// Another connection in `BEGIN EXCLUSIVE`, checked to keep readers out.
fn take_lock(db: &Path) -> Connection {
    let c = Connection::open(db).unwrap();
    c.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let reader =
        Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    reader.busy_timeout(Duration::ZERO).unwrap();
    let read = reader.query_row("SELECT count(*) FROM runs", [], |r| r.get::<_, i64>(0));
    assert!(
        read.is_err(),
        "the lock does not keep readers out: {read:?}"
    );
    c
}

/// The seconds of "store busy N s" on the status line.
fn busy_secs(screen: &str) -> Option<u64> {
    let rest = &screen[screen.find("store busy ")? + "store busy ".len()..];
    rest.split(' ').next()?.parse().ok()
}

#[test]
fn keys_are_answered_and_the_busy_clock_ticks_while_another_connection_holds_the_lock() {
    let test = "keys_are_answered_and_the_busy_clock_ticks_while_another_connection_holds_the_lock";
    let Some((dir, tmux)) = workspace_in_tmux(test, "lock") else {
        return;
    };
    let db = dir.path().join("lab.db");
    to_rollback_journal(&db);
    start_dashboard(dir.path(), &tmux);
    assert!(tmux.screen().contains("▶ running"));

    // A writer finishes run 2 in a transaction it keeps open for 10 s.
    let lock = take_lock(&db);
    let locked = Instant::now();
    lock.execute("UPDATE runs SET status = 'done' WHERE id = 2", [])
        .unwrap();
    // The poller (every 0.5 s) is waiting for the lock by now.
    std::thread::sleep(Duration::from_millis(1500));
    answered(&tmux, "2", "the curves", |s| s.contains("[loss / epoch]"));
    answered(&tmux, "?", "the help", |s| s.contains("Esc or ? closes"));
    answered(&tmux, "Escape", "no help", |s| {
        !s.contains("Esc or ? closes")
    });
    // The status line's clock ticks through the lock: three different seconds.
    let mut seen = BTreeSet::new();
    let mut screen = String::new();
    while seen.len() < 3 && locked.elapsed() < HOLD - Duration::from_millis(500) {
        screen = tmux.screen();
        seen.extend(busy_secs(&screen));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        seen.len() >= 3,
        "busy clock seen at {seen:?}; screen:\n{screen}"
    );
    answered(&tmux, "1", "the runs", |s| s.contains("▶ running"));
    assert!(locked.elapsed() < HOLD, "all of it while the lock was held");

    std::thread::sleep(HOLD.saturating_sub(locked.elapsed()));
    lock.execute_batch("COMMIT").unwrap();
    // The poller reads again: run 2 done, the clock gone.
    let s = tmux.wait_until("run 2 done, no busy clock", |s| {
        !s.contains("▶ running") && !s.contains("store busy") && s.contains("lab.db · 2 runs")
    });
    assert!(busy_secs(&s).is_none(), "{s}");

    // Quitting does not wait for a poller stuck on the lock.
    let lock = take_lock(&db);
    std::thread::sleep(Duration::from_millis(1500));
    answered(&tmux, "q", "the exit status", |s| s.contains("EXIT=0"));
    drop(lock);
}

/// A grid axis of 200,000 values (about 1.3 MB of TOML): its check takes seconds in a
/// debug build (item 3 of issue 22), and ends in one problem, the trial limit (the
/// template's other axis doubles it to 400,000 trials).
fn big_experiment() -> String {
    let values: Vec<String> = (0..200_000).map(|i| (4 + i).to_string()).collect();
    densenet_lab::spec::render_template("big").replacen(
        "\"model.dropout\" = [0.0, 0.2]",
        &format!("\"train.seed\" = [{}]", values.join(", ")),
        1,
    )
}

#[test]
fn keystrokes_are_answered_in_the_editor_on_a_200000_value_file_while_it_is_checked() {
    let test = "keystrokes_are_answered_in_the_editor_on_a_200000_value_file_while_it_is_checked";
    let Some((dir, tmux)) = workspace_in_tmux(test, "big") else {
        return;
    };
    std::fs::write(dir.path().join("experiments/big.toml"), big_experiment()).unwrap();
    start_dashboard(dir.path(), &tmux);
    tmux.keys(&["4"]);
    tmux.wait_for("big.toml");
    // Sorted first, so highlighted: Enter edits it. Its first check's result shows when
    // it arrives (the wait is long: it is not what this test measures).
    tmux.keys(&["Enter"]);
    let checked = |s: &str| s.contains("· 1 problem(s)");
    let s = tmux
        .wait_until_by(Instant::now() + Duration::from_secs(120), checked)
        .unwrap_or_else(|s| panic!("the first check never showed; screen:\n{s}"));
    assert!(!s.contains("[modified]"), "{s}");

    // Every key changes the text, so every key asks for a check; none waits for one. (A
    // comment keeps the file valid TOML, so each check goes through all 200,000 values; a
    // syntax error would end the check at once.)
    let typed = "# typed while it is being checked";
    let pressed = Instant::now();
    tmux.keys(&["-l", typed]);
    if let Err(s) = tmux.wait_for_by(typed, pressed + ANSWER) {
        panic!(
            "{} keys not answered within {ANSWER:?}; screen:\n{s}",
            typed.len()
        );
    }
    // The check of the last text arrives in its turn.
    let s = tmux
        .wait_until_by(Instant::now() + Duration::from_secs(120), |s| {
            s.contains("[modified] · 1 problem(s)")
        })
        .unwrap_or_else(|s| panic!("the check of the typed text never showed; screen:\n{s}"));
    assert!(
        s.contains("expected a sweep of at most 100000 trials, found 400000"),
        "the problem is the sweep's size: {s}"
    );

    // A key starts another check; closing and quitting do not wait for it.
    tmux.keys(&["x", "Escape"]);
    tmux.wait_for("has unsaved changes.");
    tmux.keys(&["d"]);
    tmux.wait_for("changes discarded");
    answered(&tmux, "q", "the exit status", |s| s.contains("EXIT=0"));
}
