//! Tests against real files in temp dirs: the behaviours other processes rely on.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::json;
use tempfile::TempDir;

use super::*;

pub(super) fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.db");
    (dir, path)
}

fn config(growth: u32, lr: f64) -> String {
    json!({
        "data": {"dataset": "mnist"},
        "model": {"growth_rate": growth, "blocks": [4, 4, 4], "bottleneck": true,
                  "transition": "growth", "compression": 0.5, "stem": "imagenet", "dropout": 0.2},
        "train": {"epochs": 3, "batch_size": 64,
                  "optimizer": {"kind": "adam", "lr": lr, "weight_decay": 0.0},
                  "schedule": {"kind": "constant"}, "seed": 1, "log_every": 10}
    })
    .to_string()
}

fn new_runs(n: usize) -> Vec<NewRun> {
    (0..n)
        .map(|i| NewRun {
            trial_index: i,
            hash: format!("h{i}"),
            config_json: config(12 + i as u32, 1e-4),
            overrides_json: json!({"model.growth_rate": 12 + i}).to_string(),
            seed: 1 + i as u64,
            epochs_total: 3,
            params: 1000,
            flops: 2000,
        })
        .collect()
}

pub(super) fn sweep(store: &mut Store, n: usize) -> Vec<RunRow> {
    store
        .register_sweep("exp", "desc", "exp.toml", "[model]\n", &new_runs(n))
        .unwrap()
}

pub(super) fn count(path: &Path, sql: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn schema_has_version_wal_and_tables() {
    let (_d, path) = temp_db();
    let _s = Store::open(&path).unwrap();
    let raw = Connection::open(&path).unwrap();
    let v: i64 = raw
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    let app: i64 = raw
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(
        (v, mode.as_str(), app),
        (super::SCHEMA_VERSION, "wal", APPLICATION_ID)
    );
    for t in [
        "experiments",
        "runs",
        "metrics",
        "checkpoints",
        "run_summary",
    ] {
        let n = count(
            &path,
            &format!("SELECT count(*) FROM sqlite_schema WHERE name = '{t}'"),
        );
        assert_eq!(n, 1, "{t} missing");
    }
}

#[test]
fn reopen_is_idempotent_and_keeps_data() {
    let (_d, path) = temp_db();
    let mut a = Store::open(&path).unwrap();
    let ids: Vec<i64> = sweep(&mut a, 2).iter().map(|r| r.id).collect();
    // Second open while the first is still alive, then a third after dropping both.
    let b = Store::open(&path).unwrap();
    assert_eq!(b.runs(None).unwrap().len(), 2);
    drop((a, b));
    let c = Store::open(&path).unwrap();
    let again: Vec<i64> = c.runs(Some("exp")).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(again, ids);
    assert_eq!(count(&path, "PRAGMA user_version"), super::SCHEMA_VERSION);
}

/// Two `run`s started at once on a new store both open it: switching a new file to WAL
/// needs its exclusive lock, and SQLite answers one of two connections racing for it "database
/// is locked" at once, without waiting (a CI run of tests/claims.rs met it).
#[test]
fn connections_racing_to_create_a_store_all_open_it() {
    for round in 0..40 {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("lab.db");
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|scope| {
            let openers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        Store::open(&path).map(drop)
                    })
                })
                .collect();
            for opener in openers {
                if let Err(e) = opener.join().unwrap() {
                    panic!("round {round}: {e}");
                }
            }
        });
    }
}

#[test]
fn non_sqlite_file_is_rejected_with_path_and_untouched() {
    let (_d, path) = temp_db();
    let text = "this is a TOML file, not a database\n".repeat(50);
    std::fs::write(&path, &text).unwrap();
    for err in [
        Store::open(&path).err().unwrap(),
        Store::open_read_only(&path).err().unwrap(),
    ] {
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn foreign_sqlite_database_is_rejected_and_untouched() {
    let (_d, path) = temp_db();
    let raw = Connection::open(&path).unwrap();
    raw.execute_batch("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);")
        .unwrap();
    drop(raw);
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("user_version 0"),
        "{msg}"
    );
    // Still in rollback-journal mode: we did not switch someone else's file to WAL.
    let mode: String = Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");

    // Another app that also uses user_version 1 is caught by application_id.
    let (_d2, other) = temp_db();
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t(x); PRAGMA user_version = 1;")
        .unwrap();
    let err = Store::open(&other).err().unwrap();
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err:?}");
}

#[test]
fn newer_schema_version_is_rejected() {
    let (_d, path) = temp_db();
    drop(Store::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    for err in [
        Store::open(&path).err().unwrap(),
        Store::open_read_only(&path).err().unwrap(),
    ] {
        assert!(
            matches!(
                err,
                StoreError::TooNew { found, supported, .. }
                    if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));
    }
}

#[test]
fn register_sweep_twice_reuses_runs_and_keeps_status() {
    let (_d, path) = temp_db();
    let mut s = Store::open(&path).unwrap();
    let first = sweep(&mut s, 3);
    assert!(
        first
            .iter()
            .all(|r| r.status == RunStatus::Queued && r.experiment == "exp")
    );
    assert_eq!(first[1].seed, 2);
    assert_eq!(first[1].params, Some(1000));
    s.start_run(first[0].id, "cuda:0").unwrap();
    s.finish_run(first[1].id, RunStatus::Failed, Some("oom"))
        .unwrap();

    let second = s
        .register_sweep(
            "exp",
            "new desc",
            "exp.toml",
            "[model]\ngrowth=[12,13,14]\n",
            &new_runs(3),
        )
        .unwrap();
    let ids = |v: &[RunRow]| v.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&second));
    assert_eq!(second[0].status, RunStatus::Running);
    assert_eq!(second[0].device.as_deref(), Some("cuda:0"));
    assert_eq!(second[1].status, RunStatus::Failed);
    assert_eq!(second[1].error.as_deref(), Some("oom"));
    assert_eq!(count(&path, "SELECT count(*) FROM runs"), 3);
    assert_eq!(count(&path, "SELECT count(*) FROM experiments"), 1);
    let src = s
        .query("SELECT description, source FROM experiments")
        .unwrap();
    assert_eq!(
        src.rows[0],
        vec![json!("new desc"), json!("[model]\ngrowth=[12,13,14]\n")]
    );

    // A sweep with one more trial adds exactly one run.
    let third = sweep(&mut s, 4);
    assert_eq!(ids(&third)[..3], ids(&first)[..]);
    assert_eq!(count(&path, "SELECT count(*) FROM runs"), 4);
    assert_eq!(s.experiment_names().unwrap(), vec!["exp".to_string()]);
}

#[test]
fn statuses_round_trip_through_text_and_db() {
    for &st in RunStatus::ALL {
        assert_eq!(st.as_str().parse::<RunStatus>().unwrap(), st);
    }
    assert!("bogus".parse::<RunStatus>().is_err());
    for &x in MetricName::ALL {
        assert_eq!(x.as_str().parse::<MetricName>().unwrap(), x);
    }

    let (_d, path) = temp_db();
    let mut s = Store::open(&path).unwrap();
    let id = sweep(&mut s, 1)[0].id;
    let status = |s: &Store| s.run(id).unwrap().unwrap().status;
    for &st in RunStatus::ALL {
        match st {
            RunStatus::Queued => s.reset_run(id).unwrap(),
            RunStatus::Running => s.start_run(id, "cpu").unwrap(),
            _ => s.finish_run(id, st, None).unwrap(),
        }
        assert_eq!(status(&s), st);
    }
    assert!(s.finish_run(id, RunStatus::Running, None).is_err());
    assert!(matches!(
        s.start_run(999, "cpu"),
        Err(StoreError::NoSuchRun(999))
    ));
    assert!(s.run(999).unwrap().is_none());
}

#[test]
fn metrics_feed_run_summary_and_run_rows() {
    let (_d, path) = temp_db();
    let mut s = Store::open(&path).unwrap();
    let id = sweep(&mut s, 1)[0].id;
    s.start_run(id, "cuda:0").unwrap();
    use MetricName::*;
    use Scope::*;
    use Split::*;
    let test_acc = [0.5, 0.8, 0.7];
    for epoch in 1..=3usize {
        let step = epoch as u64 * 10;
        // Step rows with a big loss must not leak into epoch-level summaries.
        s.log_metrics(
            id,
            &[
                MetricRow::new(epoch, step - 5, Step, Train, Loss, 99.0),
                MetricRow::new(epoch, step, Step, Train, Lr, 1e-4),
            ],
        )
        .unwrap();
        let rows = [
            MetricRow::new(epoch, step, Epoch, Train, Loss, 1.0 / epoch as f64),
            MetricRow::new(epoch, step, Epoch, Test, Accuracy, test_acc[epoch - 1]),
        ];
        s.finish_epoch(id, epoch, &rows, Some(&format!("ckpt/e{epoch}.pt")))
            .unwrap();
    }
    s.finish_run(id, RunStatus::Done, None).unwrap();

    let q = s
        .query(
            "SELECT experiment, trial_index, status, dataset, growth_rate, blocks, bottleneck,
                    transition, stem, dropout, optimizer, lr, batch_size, epochs, epochs_done,
                    best_test_accuracy, final_test_accuracy, final_train_loss, device
             FROM run_summary",
        )
        .unwrap();
    assert_eq!(q.rows.len(), 1);
    assert_eq!(
        q.rows[0],
        vec![
            json!("exp"),
            json!(0),
            json!("done"),
            json!("mnist"),
            json!(12),
            json!("[4,4,4]"),
            json!(1),
            json!("growth"),
            json!("imagenet"),
            json!(0.2),
            json!("adam"),
            json!(1e-4),
            json!(64),
            json!(3),
            json!(3),
            json!(0.8),
            json!(0.7),
            json!(1.0 / 3.0),
            json!("cuda:0"),
        ]
    );
    let finished = count(
        &path,
        "SELECT count(*) FROM run_summary WHERE started_at <= finished_at",
    );
    assert_eq!(finished, 1);

    let run = s.run(id).unwrap().unwrap();
    assert_eq!(run.epochs_done, 3);
    assert_eq!(run.best_test_accuracy, Some(0.8));
    assert_eq!(run.last_test_accuracy, Some(0.7));
    assert_eq!(run.last_train_loss, Some(1.0 / 3.0));
    assert!(run.finished_at.unwrap().ends_with('Z'));
    assert_eq!(s.metrics(id).unwrap().len(), 12);
    // Only the last checkpoint is kept (its folder replaced the older ones), so only its row.
    assert_eq!(s.checkpoints(id).unwrap(), [(3, "ckpt/e3.pt".to_string())]);
}

#[test]
fn finish_epoch_is_atomic_replaceable_and_validated() {
    let (_d, path) = temp_db();
    let mut s = Store::open(&path).unwrap();
    let id = sweep(&mut s, 1)[0].id;
    let acc = |v| MetricRow::new(1, 10, Scope::Epoch, Split::Test, MetricName::Accuracy, v);
    s.finish_epoch(id, 1, &[acc(0.3)], Some("a.pt")).unwrap();
    // A retried epoch replaces its epoch rows and checkpoint instead of duplicating them.
    s.finish_epoch(id, 1, &[acc(0.4)], Some("b.pt")).unwrap();
    assert_eq!(s.metrics(id).unwrap(), vec![acc(0.4)]);
    assert_eq!(s.checkpoints(id).unwrap(), vec![(1, "b.pt".to_string())]);

    // Rows of another epoch are refused and nothing is written.
    let step_row = MetricRow::new(2, 20, Scope::Step, Split::Train, MetricName::Loss, 1.0);
    assert!(s.finish_epoch(id, 3, &[step_row], None).is_err());
    assert!(s.finish_epoch(id, 2, &[acc(0.5)], None).is_err());
    assert!(s.finish_epoch(id, 0, &[], None).is_err());
    assert_eq!(s.run(id).unwrap().unwrap().epochs_done, 1);

    // Unknown run: the whole transaction rolls back, including metric rows.
    let err = s.finish_epoch(4242, 1, &[acc(0.9)], None).err().unwrap();
    assert!(matches!(err, StoreError::NoSuchRun(4242)));
    assert!(matches!(
        s.log_metrics(4242, &[step_row]),
        Err(StoreError::NoSuchRun(4242))
    ));
    assert_eq!(count(&path, "SELECT count(*) FROM metrics"), 1);
}

#[test]
fn nan_is_dropped_but_infinity_kept() {
    let (_d, path) = temp_db();
    let mut s = Store::open(&path).unwrap();
    let id = sweep(&mut s, 1)[0].id;
    let loss = |v| MetricRow::new(1, 1, Scope::Step, Split::Train, MetricName::Loss, v);
    s.log_metrics(id, &[loss(f64::NAN), loss(f64::INFINITY), loss(2.0)])
        .unwrap();
    assert_eq!(s.metrics(id).unwrap(), vec![loss(f64::INFINITY), loss(2.0)]);
    let q = s.query("SELECT value FROM metrics ORDER BY id").unwrap();
    assert_eq!(q.rows, vec![vec![json!("inf")], vec![json!(2.0)]]);
}

#[test]
fn read_only_handle_refuses_writes() {
    let (_d, path) = temp_db();
    let missing = path.with_file_name("nope.db");
    let err = Store::open_read_only(&missing).err().unwrap();
    assert!(matches!(err, StoreError::Missing { .. }) && err.to_string().contains("nope.db"));
    assert!(!missing.exists());

    let mut w = Store::open(&path).unwrap();
    let id = sweep(&mut w, 1)[0].id;
    drop(w); // last connection closed: -wal/-shm are gone, read-only must still open

    let ro = Store::open_read_only(&path).unwrap();
    assert_eq!(ro.run(id).unwrap().unwrap().id, id);
    let err = ro
        .conn
        .execute(
            "INSERT INTO experiments(name, created_at, updated_at) VALUES ('x', 'a', 'b')",
            [],
        )
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly),
        "{err}"
    );
    assert!(ro.start_run(id, "cpu").is_err());
    assert_eq!(count(&path, "SELECT count(*) FROM experiments"), 1);
}

#[test]
fn query_refuses_writes_and_multiple_statements() {
    let (_d, path) = temp_db();
    let mut s = Store::open(&path).unwrap();
    sweep(&mut s, 2);
    let refused = [
        "UPDATE runs SET status = 'done'",
        "DELETE FROM runs",
        "  -- sneaky\n DROP TABLE metrics",
        "INSERT INTO experiments(name, created_at, updated_at) VALUES ('x','a','b')",
        "WITH x AS (SELECT 1) DELETE FROM runs",
        "BEGIN",
        "ATTACH 'other.db' AS o",
        "PRAGMA user_version = 7",
        "PRAGMA journal_mode=DELETE",
        "PRAGMA foreign_keys(0)",
        "VACUUM",
        "SELECT 1; DELETE FROM runs",
        "SELECT 1; SELECT 2",
    ];
    for sql in refused {
        let err = s
            .query(sql)
            .err()
            .unwrap_or_else(|| panic!("accepted {sql:?}"));
        assert!(
            matches!(err, StoreError::ReadOnlyQuery(_)),
            "{sql:?}: {err:?}"
        );
        assert!(err.to_string().starts_with("query is read-only: "), "{err}");
    }
    assert!(s.query("  ").is_err());
    assert!(s.conn.is_autocommit());
    assert_eq!(count(&path, "SELECT count(*) FROM runs"), 2);
    assert_eq!(count(&path, "PRAGMA user_version"), super::SCHEMA_VERSION);
    // The handle still writes normally afterwards.
    sweep(&mut s, 3);

    let q = s
        .query("SELECT 1 AS i, 2.5 AS r, 'txt' AS t, NULL AS n, x'0aff' AS b;  -- trailing")
        .unwrap();
    assert_eq!(q.columns, ["i", "r", "t", "n", "b"]);
    assert_eq!(
        q.rows,
        vec![vec![
            json!(1),
            json!(2.5),
            json!("txt"),
            json!(null),
            json!("0aff")
        ]]
    );
    let info = s.query("PRAGMA table_info(metrics)").unwrap();
    assert!(info.rows.iter().any(|r| r[1] == json!("scope")));
    assert_eq!(
        s.query("pragma main.user_version").unwrap().rows,
        vec![vec![json!(super::SCHEMA_VERSION)]]
    );
}

#[test]
fn reader_sees_committed_rows_while_writer_holds_a_transaction() {
    let (_d, path) = temp_db();
    let mut w = Store::open(&path).unwrap();
    let id = sweep(&mut w, 1)[0].id;
    let loss = |step| MetricRow::new(1, step, Scope::Step, Split::Train, MetricName::Loss, 1.0);
    w.log_metrics(id, &[loss(1), loss(2)]).unwrap();

    let reader = Store::open_read_only(&path).unwrap();
    let other_rw = Store::open(&path).unwrap();

    // Hold an open write transaction with uncommitted rows on the writer's connection.
    w.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    w.conn
        .execute(
            "INSERT INTO metrics (run_id, epoch, step, scope, split, name, value, wall_time)
             VALUES (?1, 1, 3, 'step', 'train', 'loss', 1.0, 'now')",
            [id],
        )
        .unwrap();

    let started = std::time::Instant::now();
    assert_eq!(reader.metrics(id).unwrap().len(), 2);
    assert_eq!(other_rw.runs(None).unwrap().len(), 1);
    let polled = reader.metrics_after(0, Some(id), 100).unwrap();
    assert_eq!(
        polled.iter().map(|p| p.metric.step).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(
        started.elapsed() < BUSY_TIMEOUT / 2,
        "readers must not wait for the writer"
    );

    w.conn.execute_batch("COMMIT").unwrap();
    let last = polled.last().unwrap().id;
    let newer = reader.metrics_after(last, None, 100).unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0].metric.step, 3);
    assert_eq!(newer[0].run_id, id);
}

/// A store as the first release wrote it: the V1 schema and one done run of experiment "old".
fn write_version_1_store(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(super::schema::MIGRATIONS[0]).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA application_id = {}; PRAGMA user_version = 1;
         INSERT INTO experiments (name, created_at, updated_at) VALUES ('old', 't', 't');
         INSERT INTO runs (experiment_id, trial_index, hash, status, config, overrides, seed,
                           epochs_total, created_at)
              VALUES (1, 0, 'h', 'done', '{{}}', '{{}}', 1, 3, 't');",
        super::APPLICATION_ID
    ))
    .unwrap();
}

#[test]
fn a_version_1_store_is_migrated_in_place_keeping_its_runs() {
    let (_d, path) = temp_db();
    write_version_1_store(&path);
    let store = Store::open(&path).unwrap();
    assert_eq!(count(&path, "PRAGMA user_version"), super::SCHEMA_VERSION);
    let runs = store.runs(Some("old")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Done);
    // The columns version 2 added are there.
    assert_eq!(
        count(
            &path,
            "SELECT count(*) FROM runs WHERE stop_requested = 0 AND pid IS NULL"
        ),
        1
    );
}

#[test]
fn retry_busy_retries_while_sqlite_says_busy_and_passes_other_errors_through() {
    let busy = || StoreError::Sqlite {
        context: "writing".into(),
        source: rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        ),
    };
    let mut attempts = 0;
    let result = super::retry_busy(|| {
        attempts += 1;
        if attempts < 3 {
            Err(busy())
        } else {
            Ok(attempts)
        }
    });
    assert_eq!(result.unwrap(), 3);
    let mut attempts = 0;
    let result: Result<(), _> = super::retry_busy(|| {
        attempts += 1;
        Err(StoreError::NoSuchRun(7))
    });
    assert!(matches!(result, Err(StoreError::NoSuchRun(7))));
    assert_eq!(attempts, 1);
}

#[test]
fn readers_migrate_a_version_1_store_once_then_read_it_read_only() {
    let (_d, path) = temp_db();
    write_version_1_store(&path);
    assert!(matches!(
        Store::open_read_only(&path),
        Err(StoreError::NeedsMigration { found: 1, .. })
    ));
    let reader = Store::open_for_reading(&path).unwrap();
    assert_eq!(count(&path, "PRAGMA user_version"), super::SCHEMA_VERSION);
    assert_eq!(reader.runs(Some("old")).unwrap().len(), 1);
    assert!(matches!(
        reader.query("DELETE FROM runs"),
        Err(StoreError::ReadOnlyQuery(_))
    ));
}

const ENDLESS: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

#[test]
fn query_canceller_stops_an_endless_query_from_another_thread() {
    let (_d, path) = temp_db();
    drop(Store::open(&path).unwrap());
    let store = Store::open_read_only(&path).unwrap();
    let canceller = store.query_canceller();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&done);
    // Cancelled again and again: a cancel before the statement starts is lost.
    let watcher = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            canceller.cancel();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    });
    let err = store.query(ENDLESS).unwrap_err();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    watcher.join().unwrap();
    assert!(matches!(err, StoreError::Interrupted), "{err:?}");
    assert!(
        !err.is_bad_input(),
        "a cancelled query is not the user's bad input"
    );
    // The connection is usable again afterwards.
    let r = store.query("SELECT count(*) AS n FROM runs").unwrap();
    assert_eq!(r.rows, vec![vec![json!(0)]]);
}

#[test]
fn a_version_3_store_is_rebuilt_for_the_adaptive_statuses_keeping_runs_metrics_and_keys() {
    let (_d, path) = temp_db();
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &super::schema::MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(&format!(
            "PRAGMA application_id = {}; PRAGMA user_version = 3;
             INSERT INTO experiments (name, created_at, updated_at) VALUES ('old', 't', 't');
             INSERT INTO runs (experiment_id, trial_index, hash, status, config, overrides, seed,
                               epochs_total, epochs_done, created_at, pid_start)
                  VALUES (1, 0, 'h', 'stopped', '{{}}', '{{}}', 1, 3, 1, 't', 'boot:1');
             INSERT INTO metrics (run_id, epoch, step, scope, split, name, value, wall_time)
                  VALUES (1, 1, 5, 'epoch', 'test', 'accuracy', 0.5, 't');
             INSERT INTO checkpoints (run_id, epoch, path, created_at) VALUES (1, 1, 'p', 't');",
            super::APPLICATION_ID
        ))
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(count(&path, "PRAGMA user_version"), super::SCHEMA_VERSION);
    let runs = store.runs(Some("old")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].status, runs[0].epochs_done),
        (RunStatus::Stopped, 1)
    );
    assert_eq!(runs[0].best_test_accuracy, Some(0.5));
    assert_eq!(
        count(
            &path,
            "SELECT count(*) FROM runs WHERE pid_start = 'boot:1'"
        ),
        1
    );
    // metrics and checkpoints still reference `runs`, and the keys are enforced.
    assert_eq!(
        count(
            &path,
            "SELECT count(*) FROM pragma_foreign_key_list('metrics') WHERE \"table\" = 'runs'"
        ),
        1
    );
    assert!(
        store
            .log_metrics(
                99,
                &[MetricRow::new(
                    1,
                    1,
                    Scope::Step,
                    Split::Train,
                    MetricName::Loss,
                    1.0
                )]
            )
            .is_err(),
        "a metric of a run that does not exist must be refused"
    );
    for status in [RunStatus::Paused, RunStatus::Pruned] {
        store.finish_run(runs[0].id, status, None).unwrap();
        assert_eq!(store.run(runs[0].id).unwrap().unwrap().status, status);
    }
}
