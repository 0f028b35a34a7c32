//! End to end: the dashboard binary in a real pseudo-terminal (tmux), on a fixture store.
//! Moves through the views with keys, quits with `q`, and checks the exit status and that
//! the terminal is back on the normal screen.

mod common;

use std::time::Instant;

use common::tmux::{log_epoch, workspace_in_tmux};
use densenet_lab::store::{RunStatus, Store};

#[test]
fn dashboard_in_a_pty_moves_through_views_and_quits_cleanly() {
    let test = "dashboard_in_a_pty_moves_through_views_and_quits_cleanly";
    let Some((dir, tmux)) = workspace_in_tmux(test, "e2e") else {
        return;
    };
    let db = dir.path().join("lab.db");
    let bin = env!("CARGO_BIN_EXE_densenet-lab");
    // $EDITOR stand-in: appends a line to the file it is given.
    let editor = dir.path().join("fake-editor");
    std::fs::write(
        &editor,
        "#!/bin/sh\necho '# touched by the editor' >> \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let line = format!(
        "cd {} && EDITOR={} {bin} --db lab.db; echo EXIT=$?",
        dir.path().display(),
        editor.display()
    );
    tmux.keys(&[&line, "Enter"]);

    let s = tmux.wait_for("✓ done");
    assert!(
        s.contains("1 Runs") && s.contains("growth") && s.contains("dropout"),
        "{s}"
    );
    assert_eq!(
        tmux.cmd(&["display", "-p", "-t", "dash", "#{alternate_on}"])
            .trim(),
        "1"
    );
    assert!(s.contains("▶ running") && s.contains("1/2"), "{s}");

    // The trainer finishes an epoch: the dashboard shows it without a key press.
    let written = Instant::now();
    {
        let mut store = Store::open(&db).unwrap();
        log_epoch(&mut store, 2, 2, 0.8);
        store.finish_run(2, RunStatus::Done, None).unwrap();
    }
    let s = tmux.wait_for("2/2    ████████ 75.00");
    eprintln!("new epoch on screen after {:?}", written.elapsed());
    assert!(!s.contains("▶ running"), "{s}");

    tmux.keys(&["j", "2"]);
    let s = tmux.wait_for("#2 train");
    assert!(s.contains("[loss / epoch]") && s.contains("#2 test"), "{s}");

    tmux.keys(&["3"]);
    let s = tmux.wait_for("growth \\ dropout");
    assert!(
        s.contains("90.00 (n=1)") || s.contains("85.00 (n=1)"),
        "{s}"
    );

    tmux.keys(&["?"]);
    tmux.wait_for("Esc or ? closes");
    tmux.keys(&["Escape"]);
    tmux.keys(&["4"]);
    tmux.wait_for("e2e.toml");
    tmux.wait_for("[data]");
    // `E` leaves for $EDITOR and comes back to the dashboard with the file re-read.
    tmux.keys(&["E"]);
    let s = tmux.wait_for("edited ");
    assert!(s.contains("4 Experiments"), "{s}");
    assert!(
        std::fs::read_to_string(dir.path().join("experiments/e2e.toml"))
            .unwrap()
            .ends_with("# touched by the editor\n")
    );

    tmux.keys(&["6"]);
    tmux.wait_for("Esc leave prompt");
    tmux.keys(&["-l", "SELECT count(*) AS n FROM runs"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("1 row(s)");
    // Back into the prompt, clear it, try a write: refused, shown as an error.
    tmux.keys(&["Enter", "C-u"]);
    tmux.keys(&["-l", "UPDATE runs SET status = 'failed'"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("read-only");
    tmux.keys(&["Tab"]);
    tmux.wait_for("selected: 0");

    tmux.keys(&["q"]);
    let s = tmux.wait_for_line("EXIT=");
    assert!(s.contains("EXIT=0"), "exit status: {s}");
    assert!(
        !s.contains("1 Runs"),
        "the dashboard is still on screen:\n{s}"
    );
    // The command line may wrap at the pane's width (its length follows the temp dir's).
    assert!(
        s.replace('\n', "").contains("echo EXIT=$?"),
        "the shell's screen is back:\n{s}"
    );
    assert_eq!(
        tmux.cmd(&["display", "-p", "-t", "dash", "#{alternate_on}"])
            .trim(),
        "0"
    );
    // Nothing was written by the dashboard.
    let store = Store::open_read_only(&db).unwrap();
    assert!(
        store
            .runs(None)
            .unwrap()
            .iter()
            .all(|r| r.status == RunStatus::Done)
    );
}

/// The endless query of issue 12: without a cancel it would run until the store ends.
const ENDLESS: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";

#[test]
fn dashboard_keeps_working_during_an_endless_query_and_esc_cancels_it() {
    let test = "dashboard_keeps_working_during_an_endless_query_and_esc_cancels_it";
    let Some((dir, tmux)) = workspace_in_tmux(test, "query") else {
        return;
    };
    let toml = dir.path().join("experiments/e2e.toml");
    let bin = env!("CARGO_BIN_EXE_densenet-lab");
    let line = format!(
        "cd {} && {bin} --db lab.db; echo EXIT=$?",
        dir.path().display()
    );
    tmux.keys(&[&line, "Enter"]);
    tmux.wait_for("✓ done");

    tmux.keys(&["6"]);
    tmux.wait_for("Esc leave prompt");
    tmux.keys(&["-l", ENDLESS]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("running for");
    // The clock ticks: the dashboard keeps drawing while the query runs.
    tmux.wait_for("running for 2 s");
    // Other views switch and draw.
    tmux.keys(&["Tab"]);
    let s = tmux.wait_for("selected: 0");
    assert!(s.contains("✓ done"), "{s}");
    tmux.keys(&["6"]);
    tmux.wait_for("running for");
    // Esc cancels, visibly; a query after it runs as usual.
    tmux.keys(&["Escape"]);
    let s = tmux.wait_for("query cancelled after");
    assert!(!s.contains("running for"), "{s}");
    // The prompt still has the keyboard (and the endless SQL): clear it.
    tmux.keys(&["C-u"]);
    tmux.keys(&["-l", "SELECT count(*) AS n FROM runs"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("1 row(s)");

    // The editor's Esc asks before it drops anything; Esc on the question keeps editing.
    let before = std::fs::read_to_string(&toml).unwrap();
    tmux.keys(&["4"]);
    tmux.wait_for("e2e.toml");
    tmux.keys(&["Enter"]);
    tmux.wait_for("valid experiment");
    tmux.keys(&["-l", "# draft"]);
    tmux.wait_for("[modified]");
    tmux.keys(&["Escape"]);
    tmux.wait_for("has unsaved changes.");
    tmux.keys(&["Escape"]);
    tmux.wait_for("still editing e2e.toml");
    let s = tmux.wait_for("[modified]");
    assert!(!s.contains("has unsaved changes."), "{s}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("has unsaved changes.");
    tmux.keys(&["d"]);
    tmux.wait_for("changes discarded");
    assert_eq!(std::fs::read_to_string(&toml).unwrap(), before);

    // Quitting does not wait for a query that never ends.
    tmux.keys(&["6", "C-u"]);
    tmux.keys(&["-l", ENDLESS]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("running for");
    tmux.keys(&["Tab"]);
    tmux.wait_for("selected: 0");
    tmux.keys(&["q"]);
    // "EXIT=" alone would match the typed command line before the shell prints the status.
    tmux.wait_for("EXIT=0");
}
