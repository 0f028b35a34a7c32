//! The read-only commands: `runs`, `show`, `compare` (`query` has its own module).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use super::output::{Rows, write_rows};
use super::{Format, UsageError};
use crate::report::{self, RunPoint};
use crate::store::{MetricName, RunRow, Scope, Split, Store};

/// The store for reading; a missing file is the user's mistake (exit code 2).
pub fn open(db: &Path) -> Result<Store> {
    existing(db)?;
    Ok(Store::open_for_reading(db)?)
}

/// Refuses a database path where there is none (exit code 2): every command but `run`
/// works on a store that `run` made, so a missing one is a typo, not a store to create.
pub fn existing(db: &Path) -> Result<()> {
    if !db.exists() {
        return Err(UsageError(format!(
            "no results database at {} (run an experiment first, or pass --db)",
            db.display()
        ))
        .into());
    }
    Ok(())
}

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

fn pct(v: Option<f64>) -> Value {
    opt(v.map(|x| (x * 10000.0).round() / 100.0))
}

pub fn runs(db: &Path, experiment: Option<&str>) -> Result<Rows> {
    let store = open(db)?;
    if let Some(name) = experiment {
        known_experiment(&store, name)?;
    }
    let mut rows = Rows::new([
        "id",
        "experiment",
        "trial",
        "status",
        "overrides",
        "epochs",
        "best_test_acc",
        "last_test_acc",
        "last_train_loss",
        "device",
        "started_at",
    ]);
    let dead = crate::runner::dead_runs(&store)?;
    for mut r in store.runs(experiment)? {
        shown_status(&mut r, &dead);
        rows.rows.push(vec![
            json!(r.id),
            json!(r.experiment),
            json!(r.trial_index),
            json!(r.status.as_str()),
            json!(compact_overrides(&r)),
            json!(format!("{}/{}", r.epochs_done, r.epochs_total)),
            pct(r.best_test_accuracy),
            pct(r.last_test_accuracy),
            opt(r.last_train_loss.map(|l| (l * 1e4).round() / 1e4)),
            opt(r.device.clone()),
            opt(r.started_at.clone()),
        ]);
    }
    Ok(rows)
}

/// An experiment name the store does not know is the user's mistake (exit code 2), the same
/// for every command that takes one.
pub fn known_experiment(store: &Store, name: &str) -> Result<()> {
    let known = store.experiment_names()?;
    if known.iter().any(|k| k == name) {
        return Ok(());
    }
    let list = if known.is_empty() {
        " (it has no experiments yet)".to_string()
    } else {
        format!(" (known: {})", known.join(", "))
    };
    Err(UsageError(format!("no experiment named {name:?} in the store{list}")).into())
}

/// A `running` run whose process is dead reads as `interrupted`, as it will be once a writer
/// reaps it: these commands only read the store, so they show it rather than write it.
fn shown_status(run: &mut RunRow, dead: &std::collections::BTreeSet<i64>) {
    if run.status == crate::store::RunStatus::Running && dead.contains(&run.id) {
        run.status = crate::store::RunStatus::Interrupted;
    }
}

fn compact_overrides(r: &RunRow) -> String {
    let map: serde_json::Map<String, Value> =
        serde_json::from_str(&r.overrides_json).unwrap_or_default();
    map.iter()
        .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn unknown_run(id: i64) -> anyhow::Error {
    UsageError(format!("no run with id {id} (see `densenet-lab runs`)")).into()
}

pub fn show(db: &Path, id: i64, format: Format, out: &mut dyn Write) -> Result<()> {
    let store = open(db)?;
    let mut run = store.run(id)?.ok_or_else(|| unknown_run(id))?;
    shown_status(&mut run, &crate::runner::dead_runs(&store)?);
    let metrics = store.metrics(id)?;
    let mut epochs = Rows::new([
        "epoch",
        "step",
        "train_loss",
        "train_acc",
        "test_loss",
        "test_acc",
        "val_acc",
        "lr",
        "images_per_sec",
        "epoch_seconds",
    ]);
    let last_epoch = metrics
        .iter()
        .filter(|m| m.scope == Scope::Epoch)
        .map(|m| m.epoch)
        .max()
        .unwrap_or(0);
    for e in 1..=last_epoch {
        let get = |split: Split, name: MetricName| {
            metrics.iter().find(|m| {
                m.scope == Scope::Epoch && m.epoch == e && m.split == split && m.name == name
            })
        };
        let Some(loss) = get(Split::Train, MetricName::Loss) else {
            continue;
        };
        let v = |split, name| opt(get(split, name).map(|m| m.value));
        epochs.rows.push(vec![
            json!(e),
            json!(loss.step),
            json!(loss.value),
            v(Split::Train, MetricName::Accuracy),
            v(Split::Test, MetricName::Loss),
            v(Split::Test, MetricName::Accuracy),
            v(Split::Val, MetricName::Accuracy),
            v(Split::Train, MetricName::Lr),
            v(Split::Train, MetricName::ImagesPerSec),
            v(Split::Train, MetricName::EpochSeconds),
        ]);
    }
    let config: Value = serde_json::from_str(&run.config_json)?;
    let ran = store.where_ran(id)?;
    if format == Format::Json {
        let doc = json!({
            "id": run.id, "experiment": run.experiment, "trial": run.trial_index, "hash": run.hash,
            "status": run.status.as_str(), "seed": run.seed, "device": run.device,
            "params": run.params, "flops": run.flops, "created_at": run.created_at,
            "started_at": run.started_at, "finished_at": run.finished_at, "error": run.error,
            "config": config, "overrides": serde_json::from_str::<Value>(&run.overrides_json)?,
            "slurm": ran.as_ref().map(|w| json!({"job_id": w.job, "task_id": w.task, "node": w.node})),
            "epochs": epochs.rows.iter().map(|r| epochs.columns.iter().cloned().zip(r.iter().cloned()).collect::<serde_json::Map<_, _>>()).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    if format == Format::Table {
        writeln!(
            out,
            "run {} of {} (trial {}), {}",
            run.id,
            run.experiment,
            run.trial_index,
            run.status.as_str()
        )?;
        writeln!(
            out,
            "  hash {}  seed {}  device {}",
            run.hash,
            run.seed,
            run.device.as_deref().unwrap_or("-")
        )?;
        if let (Some(p), Some(f)) = (run.params, run.flops) {
            writeln!(
                out,
                "  params {p}  forward MFLOPs/image {:.1}",
                f as f64 / 1e6
            )?;
        }
        // Stores from before `model.init` hold no rule: they drew he_normal.
        let init = config["model"]["init"].as_str();
        let init = init.unwrap_or(crate::spec::Init::default().name());
        writeln!(out, "  init {init}")?;
        writeln!(
            out,
            "  created {}  started {}  finished {}",
            run.created_at,
            run.started_at.as_deref().unwrap_or("-"),
            run.finished_at.as_deref().unwrap_or("-")
        )?;
        if let Some(ran) = &ran {
            writeln!(out, "  ran as {ran}")?;
        }
        if let Some(e) = &run.error {
            writeln!(out, "  error: {e}")?;
        }
        writeln!(out, "  config {}", serde_json::to_string(&config)?)?;
    }
    write_rows(out, &epochs, format)
}

/// The axes of an experiment's sweep, in file order, from the TOML stored with it; runs whose
/// overrides hold other keys (an edited file) add them at the end.
pub(super) fn axes_of(store: &Store, experiment: &str, runs: &[RunRow]) -> Result<Vec<String>> {
    let mut axes: Vec<String> = store
        .experiment_source(experiment)?
        .and_then(|(path, source)| crate::spec::parse_experiment(&source, Path::new(&path)).ok())
        .map(|e| e.sweep.axes.iter().map(|a| a.key.clone()).collect())
        .unwrap_or_default();
    for r in runs {
        let map: serde_json::Map<String, Value> =
            serde_json::from_str(&r.overrides_json).unwrap_or_default();
        for k in map.keys() {
            if !axes.contains(k) {
                axes.push(k.clone());
            }
        }
    }
    Ok(axes)
}

/// The accuracy table; in `Format::Table` the readable columns, which the caller follows
/// with `report::LEGEND`.
pub fn compare(
    db: &Path,
    experiment: &str,
    pivot: Option<(String, String)>,
    format: Format,
) -> Result<Rows> {
    let store = open(db)?;
    known_experiment(&store, experiment)?;
    let runs = store.runs(Some(experiment))?;
    if runs.is_empty() {
        return Err(UsageError(format!("experiment `{experiment}` has no runs yet")).into());
    }
    let axes = axes_of(&store, experiment, &runs)?;
    let points: Vec<RunPoint> = runs
        .iter()
        .map(|r| RunPoint {
            overrides: serde_json::from_str(&r.overrides_json).unwrap_or_default(),
            best_test_accuracy: r.best_test_accuracy,
            final_test_accuracy: r.last_test_accuracy,
            seed: r.seed,
        })
        .collect();
    let (columns, rows) = match pivot {
        Some((row_axis, col_axis)) => {
            for a in [&row_axis, &col_axis] {
                if !axes.contains(a) {
                    return Err(UsageError(format!(
                        "`{a}` is not an axis of {experiment} (axes: {})",
                        axes.join(", ")
                    ))
                    .into());
                }
            }
            report::pivot_table(&points, &row_axis, &col_axis)
        }
        None if format == Format::Table => report::readable_table(&points, &axes),
        None => report::long_table(&points, &axes),
    };
    Ok(Rows { columns, rows })
}
