//! Polling: incremental loading, a store that appears later, launching detached runs.

use std::time::{Duration, Instant};

use super::*;
use crate::tui::actions;
use crate::tui::app::StoreState;

#[test]
fn new_epochs_arrive_incrementally() {
    let fx = fixture();
    let (mut app, mut p) = loaded(&fx, true);
    let before = p.max_id();
    assert!(before > 0);
    assert!(
        !poll(&mut p, &mut app),
        "nothing changed, nothing to redraw"
    );
    let run2 = app.by_id[&2];
    assert_eq!(
        app.runs[run2]
            .series(Split::Test, MetricName::Accuracy)
            .len(),
        2
    );
    let mut store = Store::open(&fx.db).unwrap();
    log_epochs(&mut store, 2, 3, &[0.95]);
    assert!(poll(&mut p, &mut app));
    assert!(p.max_id() > before);
    let r = &app.runs[app.by_id[&2]];
    assert_eq!(r.brief.epochs_done, 3);
    assert_eq!(r.derived.best_test, Some(0.95));
    assert_eq!(r.train_steps.len(), 30);
    // A re-logged epoch (resumed after an interruption) replaces its value.
    store.log_metrics(2, &super::step_rows(3, 0.3)).unwrap();
    store
        .finish_epoch(2, 3, &super::epoch_rows(3, 0.2, 0.96), None)
        .unwrap();
    poll(&mut p, &mut app);
    let r = &app.runs[app.by_id[&2]];
    assert_eq!(r.series(Split::Test, MetricName::Accuracy).len(), 3);
    assert_eq!(r.derived.last_test, Some(0.96));
    // A reset run starts its curves over (a running run is stopped first: resets refuse it).
    let mark = p.max_id();
    store.finish_run(2, RunStatus::Stopped, None).unwrap();
    store.reset_run(2).unwrap();
    poll(&mut p, &mut app);
    let r = &app.runs[app.by_id[&2]];
    assert!(r.epochs.is_empty() && r.train_steps.is_empty());
    assert_eq!(r.brief.status, RunStatus::Queued);
    // Its new rows reuse rowids below the poller's mark; they are still picked up.
    log_epochs(&mut store, 2, 1, &[0.42]);
    let max: i64 = store.query("SELECT max(id) FROM metrics").unwrap().rows[0][0]
        .as_i64()
        .unwrap();
    assert!(max <= mark, "the scenario reuses ids ({max} <= {mark})");
    poll(&mut p, &mut app);
    let r = &app.runs[app.by_id[&2]];
    assert_eq!(r.derived.last_test, Some(0.42));
    assert_eq!(r.train_steps.len(), 10);
}

#[test]
fn rows_relogged_under_reused_ids_are_reconciled() {
    let fx = fixture();
    let (mut app, mut p) = loaded(&fx, true);
    let mut store = Store::open(&fx.db).unwrap();
    // Run 2 (2 epochs done) logs half of epoch 3, then dies: the newest rows are its.
    store.log_metrics(2, &super::step_rows(3, 0.9)).unwrap();
    poll(&mut p, &mut app);
    assert_eq!(app.runs[app.by_id[&2]].train_steps.len(), 30);
    let mark = p.max_id();
    // Resumed from the epoch-2 checkpoint: the unfinished epoch is forgotten and logged
    // again, and SQLite hands out the deleted ids again.
    store.finish_run(2, RunStatus::Interrupted, None).unwrap();
    let resumer = crate::store::Holder {
        pid: 1,
        started: None,
        host: "test".into(),
    };
    store.claim_run(2, "cpu", &resumer).unwrap();
    store.rewind_to_epoch(2, 2, &resumer).unwrap();
    log_epochs(&mut store, 2, 3, &[0.77]);
    let max: i64 = store.query("SELECT max(id) FROM metrics").unwrap().rows[0][0]
        .as_i64()
        .unwrap();
    assert!(max <= mark + 6, "ids were reused ({max} vs mark {mark})");
    assert!(poll(&mut p, &mut app));
    let r = &app.runs[app.by_id[&2]];
    assert_eq!(r.derived.last_test, Some(0.77));
    assert_eq!(r.train_steps.len(), 30);
    assert_eq!(r.fingerprint.rows, store.metrics(2).unwrap().len());
    // The same epoch finished twice in a row (same ids, new values): caught by the
    // periodic comparison, here made immediate.
    p.set_reconcile_every(Duration::ZERO);
    store
        .finish_epoch(2, 3, &super::epoch_rows(3, 0.2, 0.78), None)
        .unwrap();
    poll(&mut p, &mut app);
    assert_eq!(app.runs[app.by_id[&2]].derived.last_test, Some(0.78));
    // Afterwards polling is incremental again: nothing changed, nothing read.
    assert!(!poll(&mut p, &mut app));
}

#[test]
fn a_missing_store_is_picked_up_when_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("later.db");
    let mut app = app_for(dir.path(), &db, true);
    let mut p = Poller::new(&db);
    poll(&mut p, &mut app);
    assert_eq!(app.store, StoreState::Waiting);
    let l = lines(&render(&mut app, 80, 24));
    assert!(l[23].contains("waiting for"), "{}", l[23]);
    find_line(&l, "No runs yet");
    let fx = fixture();
    std::fs::copy(&fx.db, &db).unwrap();
    assert!(poll(&mut p, &mut app));
    assert_eq!(app.store, StoreState::Open);
    assert_eq!(app.runs.len(), 5);
}

#[test]
fn launch_command_has_the_run_arguments() {
    let cmd = actions::launch_command(
        Path::new("/opt/densenet-lab"),
        Path::new("lab.db"),
        Path::new("experiments/a.toml"),
    );
    assert_eq!(cmd.get_program(), "/opt/densenet-lab");
    let args: Vec<_> = cmd.get_args().map(|a| a.to_str().unwrap()).collect();
    assert_eq!(args, ["--db", "lab.db", "run", "experiments/a.toml"]);
}

#[test]
fn launch_starts_a_detached_process_with_a_log() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    let fake = dir.path().join("fake-lab");
    // Records its arguments, its pid and its process group, prints to the log.
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"launched $*\"\nset -- \"$*\" $$ $(cut -d' ' -f5 /proc/$$/stat)\n\
             echo \"$@\" > {0}.tmp && mv {0}.tmp {0}\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut app = app_for(dir.path(), &dir.path().join("lab.db"), true);
    app.paths.binary = fake;
    let file = dir.path().join("experiments/exp-a.toml");
    actions::launch_file(&mut app, &file);
    let (msg, is_err) = app.message.clone().unwrap();
    assert!(!is_err, "{msg}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !out.exists() {
        assert!(Instant::now() < deadline, "the fake binary never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let words: Vec<&str> = text.split_whitespace().collect();
    let n = words.len();
    assert_eq!(
        words[..n - 2].join(" "),
        format!("--db {} run {}", app.paths.db.display(), file.display())
    );
    assert_eq!(
        words[n - 2],
        words[n - 1],
        "own process group (pgid == pid)"
    );
    let our_pgid = std::fs::read_to_string("/proc/self/stat").unwrap();
    assert_ne!(our_pgid.split(' ').nth(4).unwrap(), words[n - 1]);
    let logs: Vec<_> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .collect();
    assert_eq!(logs.len(), 1);
    let log = logs[0].as_ref().unwrap().path();
    let name = log.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("launch-exp-a-") && name.ends_with(".log"),
        "{name}"
    );
    assert!(msg.contains(&name));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log).unwrap().contains("launched") {
        assert!(Instant::now() < deadline, "no output in the log");
        std::thread::sleep(Duration::from_millis(20));
    }
}
