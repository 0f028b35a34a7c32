//! Schema creation and migration, versioned by `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`. Never edit a shipped
//! migration: append a new one, so stores created by older builds upgrade in place.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::error::{Context, StoreError};

/// Schema version this build writes and understands.
pub const VERSION: i64 = 5;

/// Stamped into the header ("DNLB") so a foreign database that happens to use
/// `user_version` too is still recognised as foreign.
pub const APPLICATION_ID: i64 = 0x444E_4C42;

const V1: &str = r#"
CREATE TABLE experiments (
    id          INTEGER PRIMARY KEY,
    name        TEXT UNIQUE NOT NULL,
    description TEXT,
    path        TEXT,
    source      TEXT,            -- the TOML text last run
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    trial_index   INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
                    ('queued','running','done','failed','diverged','stopped','interrupted')),
    config        TEXT NOT NULL,  -- full resolved config, JSON
    overrides     TEXT NOT NULL,  -- JSON object: swept key -> value
    seed          INTEGER NOT NULL,
    device        TEXT,
    params        INTEGER,
    flops         INTEGER,
    epochs_total  INTEGER NOT NULL,
    epochs_done   INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    heartbeat_at  TEXT,
    error         TEXT,
    UNIQUE (experiment_id, hash)
);
CREATE INDEX runs_by_experiment ON runs(experiment_id, trial_index);

-- `id` aliases the rowid; declaring it keeps ids stable across VACUUM so pollers
-- can resume from "id > last_seen".
CREATE TABLE metrics (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs(id),
    epoch     INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    scope     TEXT NOT NULL CHECK (scope IN ('step','epoch')),
    split     TEXT NOT NULL CHECK (split IN ('train','val','test')),
    name      TEXT NOT NULL CHECK (name IN
                ('loss','accuracy','lr','images_per_sec','epoch_seconds')),
    value     REAL NOT NULL,
    wall_time TEXT NOT NULL
);
-- Charts: one series of one run, ordered by step.
CREATE INDEX metrics_series ON metrics(run_id, name, split, step);
-- Incremental polling of one run: entries are (run_id, rowid), so "run_id = ? AND id > ?"
-- is a range scan.
CREATE INDEX metrics_poll ON metrics(run_id);
-- Summaries only look at the few epoch rows, never the many step rows.
CREATE INDEX metrics_epoch ON metrics(run_id, name, split, epoch) WHERE scope = 'epoch';

CREATE TABLE checkpoints (
    run_id     INTEGER NOT NULL REFERENCES runs(id),
    epoch      INTEGER NOT NULL,
    path       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);

CREATE VIEW run_summary AS
SELECT
    r.id          AS run_id,
    e.name        AS experiment,
    r.trial_index AS trial_index,
    r.status      AS status,
    json_extract(r.config, '$.data.dataset')        AS dataset,
    json_extract(r.config, '$.model.growth_rate')   AS growth_rate,
    json_extract(r.config, '$.model.blocks')        AS blocks,
    json_extract(r.config, '$.model.bottleneck')    AS bottleneck,
    json_extract(r.config, '$.model.transition')    AS transition,
    json_extract(r.config, '$.model.compression')   AS compression,
    json_extract(r.config, '$.model.stem')          AS stem,
    json_extract(r.config, '$.model.dropout')       AS dropout,
    json_extract(r.config, '$.train.optimizer.kind') AS optimizer,
    json_extract(r.config, '$.train.optimizer.lr')  AS lr,
    json_extract(r.config, '$.train.batch_size')    AS batch_size,
    json_extract(r.config, '$.train.epochs')        AS epochs,
    r.params      AS params,
    r.epochs_done AS epochs_done,
    (SELECT max(m.value) FROM metrics m
      WHERE m.run_id = r.id AND m.scope = 'epoch' AND m.split = 'test' AND m.name = 'accuracy')
        AS best_test_accuracy,
    (SELECT m.value FROM metrics m
      WHERE m.run_id = r.id AND m.scope = 'epoch' AND m.split = 'test' AND m.name = 'accuracy'
      ORDER BY m.epoch DESC, m.id DESC LIMIT 1)
        AS final_test_accuracy,
    (SELECT m.value FROM metrics m
      WHERE m.run_id = r.id AND m.scope = 'epoch' AND m.split = 'train' AND m.name = 'loss'
      ORDER BY m.epoch DESC, m.id DESC LIMIT 1)
        AS final_train_loss,
    r.device      AS device,
    r.started_at  AS started_at,
    r.finished_at AS finished_at
FROM runs r JOIN experiments e ON e.id = r.experiment_id;
"#;

/// Version 2: one OS process per trial. `pid` and `host` say which process runs a trial (so a
/// scheduler can tell a dead one from a slow one), `stop_requested` is how a dashboard or a
/// signal asks a trial to stop at its next step, and the summary view shows a run whose
/// heartbeat is older than 30 s as `interrupted`.
const V2: &str = r#"
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN stop_requested INTEGER NOT NULL DEFAULT 0;
DROP VIEW run_summary;
CREATE VIEW run_summary AS
SELECT
    r.id          AS run_id,
    e.name        AS experiment,
    r.trial_index AS trial_index,
    -- A running run whose process stopped beating its heart is shown as interrupted.
    CASE WHEN r.status = 'running'
              AND (r.heartbeat_at IS NULL
                   OR r.heartbeat_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-30 seconds'))
         THEN 'interrupted' ELSE r.status END AS status,
    json_extract(r.config, '$.data.dataset')        AS dataset,
    json_extract(r.config, '$.model.growth_rate')   AS growth_rate,
    json_extract(r.config, '$.model.blocks')        AS blocks,
    json_extract(r.config, '$.model.bottleneck')    AS bottleneck,
    json_extract(r.config, '$.model.transition')    AS transition,
    json_extract(r.config, '$.model.compression')   AS compression,
    json_extract(r.config, '$.model.stem')          AS stem,
    json_extract(r.config, '$.model.dropout')       AS dropout,
    json_extract(r.config, '$.train.optimizer.kind') AS optimizer,
    json_extract(r.config, '$.train.optimizer.lr')  AS lr,
    json_extract(r.config, '$.train.batch_size')    AS batch_size,
    json_extract(r.config, '$.train.epochs')        AS epochs,
    r.params      AS params,
    r.epochs_done AS epochs_done,
    (SELECT max(m.value) FROM metrics m
      WHERE m.run_id = r.id AND m.scope = 'epoch' AND m.split = 'test' AND m.name = 'accuracy')
        AS best_test_accuracy,
    (SELECT m.value FROM metrics m
      WHERE m.run_id = r.id AND m.scope = 'epoch' AND m.split = 'test' AND m.name = 'accuracy'
      ORDER BY m.epoch DESC, m.id DESC LIMIT 1)
        AS final_test_accuracy,
    (SELECT m.value FROM metrics m
      WHERE m.run_id = r.id AND m.scope = 'epoch' AND m.split = 'train' AND m.name = 'loss'
      ORDER BY m.epoch DESC, m.id DESC LIMIT 1)
        AS final_train_loss,
    r.device      AS device,
    r.started_at  AS started_at,
    r.finished_at AS finished_at
FROM runs r JOIN experiments e ON e.id = r.experiment_id;
"#;

/// Version 3: exclusive claims. `pid_start` is the claiming process's start time (boot id and
/// `/proc/PID/stat` starttime on Linux), so that a pid that was reused, or belongs to a zombie,
/// is not taken for the process that claimed the run. Claims written by version 2 have none;
/// they are judged by pid and heartbeat as before.
const V3: &str = "ALTER TABLE runs ADD COLUMN pid_start TEXT;";

/// Version 4: adaptive sweeps. A run `paused` at an ASHA rung (resumable from its checkpoint
/// when it is promoted) or `pruned` by early stopping. SQLite cannot change a CHECK in place,
/// so `runs` is rebuilt (the documented create-copy-drop-rename procedure, run with foreign
/// keys off) and the summary view made again over it.
const V4: &str = r#"
DROP VIEW run_summary;
CREATE TABLE runs_v4 (
    id            INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    trial_index   INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
                    ('queued','running','done','failed','diverged','stopped','interrupted',
                     'paused','pruned')),
    config        TEXT NOT NULL,
    overrides     TEXT NOT NULL,
    seed          INTEGER NOT NULL,
    device        TEXT,
    params        INTEGER,
    flops         INTEGER,
    epochs_total  INTEGER NOT NULL,
    epochs_done   INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    heartbeat_at  TEXT,
    error         TEXT,
    pid           INTEGER,
    host          TEXT,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    pid_start     TEXT,
    UNIQUE (experiment_id, hash)
);
INSERT INTO runs_v4 (id, experiment_id, trial_index, hash, status, config, overrides, seed,
                     device, params, flops, epochs_total, epochs_done, created_at, started_at,
                     finished_at, heartbeat_at, error, pid, host, stop_requested, pid_start)
SELECT id, experiment_id, trial_index, hash, status, config, overrides, seed, device, params,
       flops, epochs_total, epochs_done, created_at, started_at, finished_at, heartbeat_at,
       error, pid, host, stop_requested, pid_start
FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v4 RENAME TO runs;
CREATE INDEX runs_by_experiment ON runs(experiment_id, trial_index);
CREATE VIEW run_summary AS
SELECT
    r.id          AS run_id,
    e.name        AS experiment,
    r.trial_index AS trial_index,
    -- A running run whose process stopped beating its heart is shown as interrupted.
    CASE WHEN r.status = 'running'
              AND (r.heartbeat_at IS NULL
                   OR r.heartbeat_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-30 seconds'))
         THEN 'interrupted' ELSE r.status END AS status,
    json_extract(r.config, '$.data.dataset')        AS dataset,
    json_extract(r.config, '$.model.growth_rate')   AS growth_rate,
    json_extract(r.config, '$.model.blocks')        AS blocks,
    json_extract(r.config, '$.model.bottleneck')    AS bottleneck,
    json_extract(r.config, '$.model.transition')    AS transition,
    json_extract(r.config, '$.model.compression')   AS compression,
    json_extract(r.config, '$.model.stem')          AS stem,
    json_extract(r.config, '$.model.dropout')       AS dropout,
    json_extract(r.config, '$.train.optimizer.kind') AS optimizer,
    json_extract(r.config, '$.train.optimizer.lr')  AS lr,
    json_extract(r.config, '$.train.batch_size')    AS batch_size,
    json_extract(r.config, '$.train.epochs')        AS epochs,
    r.params      AS params,
    r.epochs_done AS epochs_done,
    (SELECT max(m.value) FROM metrics m
      WHERE m.run_id = r.id AND m.scope = 'epoch' AND m.split = 'test' AND m.name = 'accuracy')
        AS best_test_accuracy,
    (SELECT m.value FROM metrics m
      WHERE m.run_id = r.id AND m.scope = 'epoch' AND m.split = 'test' AND m.name = 'accuracy'
      ORDER BY m.epoch DESC, m.id DESC LIMIT 1)
        AS final_test_accuracy,
    (SELECT m.value FROM metrics m
      WHERE m.run_id = r.id AND m.scope = 'epoch' AND m.split = 'train' AND m.name = 'loss'
      ORDER BY m.epoch DESC, m.id DESC LIMIT 1)
        AS final_train_loss,
    r.device      AS device,
    r.started_at  AS started_at,
    r.finished_at AS finished_at
FROM runs r JOIN experiments e ON e.id = r.experiment_id;
"#;

/// Version 5: where a run ran when a Slurm job array trained it (the array's job id, the
/// task's index, the node), so that `show` and the dashboard can say so. Plain ADD COLUMNs:
/// the order against other migrations does not matter.
const V5: &str = "
ALTER TABLE runs ADD COLUMN slurm_job_id INTEGER;
ALTER TABLE runs ADD COLUMN slurm_task_id INTEGER;
ALTER TABLE runs ADD COLUMN slurm_node TEXT;
";

pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5];

/// What an existing file looks like before we touch it.
pub(crate) struct Probe {
    pub version: i64,
    pub application_id: i64,
    pub objects: i64,
}

/// Reads the header fields without writing anything, so foreign files stay untouched. One
/// statement, so one snapshot: read apart, a process that creates the schema in between made
/// a fresh file look foreign ("user_version 0 but 12 schema objects") to another opening it.
pub(crate) fn probe(conn: &Connection, path: &Path) -> Result<Probe, StoreError> {
    conn.query_row(
        "SELECT (SELECT user_version FROM pragma_user_version),
                (SELECT application_id FROM pragma_application_id),
                (SELECT count(*) FROM sqlite_schema)",
        [],
        |r| {
            Ok(Probe {
                version: r.get(0)?,
                application_id: r.get(1)?,
                objects: r.get(2)?,
            })
        },
    )
    .map_err(|e| classify_open_error(e, path))
}

/// Rejects files we must not use; returns whether migration is needed.
pub(crate) fn check(p: &Probe, path: &Path) -> Result<bool, StoreError> {
    let fresh = p.version == 0 && p.objects == 0;
    if fresh {
        return Ok(true);
    }
    if p.version == 0 {
        return Err(StoreError::ForeignDatabase {
            path: path.to_owned(),
            reason: format!("user_version 0 but {} schema object(s)", p.objects),
        });
    }
    if p.application_id != APPLICATION_ID {
        return Err(StoreError::ForeignDatabase {
            path: path.to_owned(),
            reason: format!(
                "application_id {:#x}, expected {APPLICATION_ID:#x}",
                p.application_id
            ),
        });
    }
    if p.version > VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: p.version,
            supported: VERSION,
        });
    }
    Ok(p.version < VERSION)
}

/// Creates or upgrades the schema inside one IMMEDIATE transaction. The version is re-read
/// under the write lock, so two processes opening a fresh file at once do not both create.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let ctx = || format!("{}: migrating schema", path.display());
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(ctx)?;
    let p = probe(&tx, path)?;
    if check(&p, path)? {
        for (from, sql) in MIGRATIONS.iter().enumerate().skip(p.version as usize) {
            tx.execute_batch(sql)
                .ctx(|| format!("{}: migration {from} -> {}", path.display(), from + 1))?;
        }
        // Rebuilding a table (version 4) runs with foreign keys off; prove nothing dangles.
        let dangling: i64 = tx
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .ctx(ctx)?;
        if dangling > 0 {
            return Err(StoreError::invalid(
                "schema",
                format!(
                    "{}: {dangling} row(s) reference a missing row after migrating",
                    path.display()
                ),
            ));
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .ctx(ctx)?;
        tx.pragma_update(None, "user_version", VERSION).ctx(ctx)?;
    }
    tx.commit().ctx(ctx)
}

/// Turns SQLITE_NOTADB into an error that names the path; other errors keep their cause.
pub(crate) fn classify_open_error(e: rusqlite::Error, path: &Path) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotADatabase {
            path: path.to_owned(),
        },
        _ => StoreError::Sqlite {
            context: format!("{}: opening store", path.display()),
            source: e,
        },
    }
}
