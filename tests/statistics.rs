//! Seed statistics in `compare` and axis importance in `importance`, end to end: results
//! written into a real SQLite store through the store API, then the real binary asked.

use std::path::Path;

use assert_cmd::Command;
use densenet_lab::store::{MetricName, MetricRow, NewRun, RunStatus, Scope, Split, Store};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A valid experiment file whose sweep has `axes` (TOML lines under `[sweep.axes]`).
fn source(name: &str, axes: &str, repeats: usize) -> String {
    format!(
        r#"
name = "{name}"
[data]
dataset = "mnist-mini"
[model]
growth_rate = 4
blocks = [2, 2]
[train]
epochs = 1
seed = 7
[sweep]
strategy = "grid"
repeats = {repeats}
[sweep.axes]
{axes}
"#
    )
}

/// Registers `name` with one done run per (overrides, seed, test accuracy), one epoch each.
fn write_sweep(db: &Path, name: &str, src: &str, trials: &[(Value, u64, f64)]) {
    let mut store = Store::open(db).unwrap();
    let runs: Vec<NewRun> = trials
        .iter()
        .enumerate()
        .map(|(i, (o, seed, _))| NewRun {
            trial_index: i,
            hash: format!("{name}-{i}"),
            config_json: json!({}).to_string(),
            overrides_json: o.to_string(),
            seed: *seed,
            epochs_total: 1,
            params: 1,
            flops: 1,
        })
        .collect();
    let rows = store
        .register_sweep(name, "synthetic", "exp.toml", src, &runs)
        .unwrap();
    let me = densenet_lab::runner::liveness::this_process();
    for (row, (_, _, acc)) in rows.iter().zip(trials) {
        store.claim_run(row.id, "cpu", &me).unwrap();
        let m = |split, name, value| MetricRow::new(1, 10, Scope::Epoch, split, name, value);
        let epoch = [
            m(Split::Train, MetricName::Loss, 0.5),
            m(Split::Test, MetricName::Accuracy, *acc),
            m(Split::Test, MetricName::Loss, 1.0 - acc),
        ];
        store.finish_epoch(row.id, 1, &epoch, None).unwrap();
        store.finish_run(row.id, RunStatus::Done, None).unwrap();
    }
}

fn lab(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("densenet-lab").unwrap();
    cmd.current_dir(dir)
        .env("DENSENET_LAB_DB", dir.join("lab.db"))
        .args(args);
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

/// Dropout 0.0 is best; 0.1 is within seed noise of it; 0.2 is worse on every seed.
fn seeds_store(dir: &Path) {
    let accs = [
        (0.0, [0.912, 0.905, 0.921]),
        (0.1, [0.910, 0.907, 0.919]),
        (0.2, [0.880, 0.872, 0.890]),
    ];
    let trials: Vec<(Value, u64, f64)> = accs
        .iter()
        .flat_map(|(d, a)| {
            a.iter()
                .enumerate()
                .map(move |(s, acc)| (json!({"model.dropout": d}), 7 + s as u64, *acc))
        })
        .collect();
    let src = source("seeds", r#""model.dropout" = [0.0, 0.1, 0.2]"#, 3);
    write_sweep(&dir.join("lab.db"), "seeds", &src, &trials);
}

#[test]
fn compare_tests_each_cell_against_the_best_pairing_runs_by_seed() {
    let dir = TempDir::new().unwrap();
    seeds_store(dir.path());
    let out = stdout(&mut lab(
        dir.path(),
        &["compare", "seeds", "--format", "json"],
    ));
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let verdicts: Vec<&str> = rows
        .iter()
        .map(|r| r["vs_best"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["best", "indistinguishable", "worse"]);
    // SciPy: ttest_rel(best, other) and ttest_ind(best, other, equal_var=False).
    let p = |r: &Value, k: &str| r[k].as_f64().unwrap();
    assert!((p(&rows[1], "p_paired") - 0.6666666666666667).abs() < 1e-9);
    assert!((p(&rows[1], "p_welch") - 0.9153458344381789).abs() < 1e-9);
    assert!((p(&rows[2], "p_paired") - 0.00032536197379840886).abs() < 1e-9);
    assert!((p(&rows[2], "p_welch") - 0.01041603222727675).abs() < 1e-9);
    assert_eq!(
        rows[0]["p_welch"],
        Value::Null,
        "the best cell is not tested against itself"
    );
    assert_eq!(rows[0]["n"], json!(3));
    // t(0.975, 2) = 4.3027; 91.27 ± 4.3027 * 0.8021 / sqrt(3) = 89.27 .. 93.26.
    assert_eq!(
        (
            rows[0]["best_acc_ci_low"].clone(),
            rows[0]["best_acc_ci_high"].clone()
        ),
        (json!(89.27), json!(93.26))
    );

    let csv = stdout(&mut lab(
        dir.path(),
        &["compare", "seeds", "--format", "csv"],
    ));
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with("n,best_acc_ci_low,best_acc_ci_high,p_welch,p_paired,vs_best"),
        "{header}"
    );

    let table = stdout(&mut lab(dir.path(), &["compare", "seeds"]));
    assert!(
        table.contains("* best") && table.contains("≈ p=0.667 paired"),
        "{table}"
    );
    assert!(
        table.contains("p=0.000 paired") && table.contains("89.27–93.26"),
        "{table}"
    );
    assert!(
        table.contains("not corrected for multiple comparisons"),
        "{table}"
    );
    assert!(table.lines().all(|l| l.chars().count() <= 120), "{table}");
}

#[test]
fn importance_ranks_the_axis_that_matters_first() {
    let dir = TempDir::new().unwrap();
    // Accuracy rises with growth rate (4 levels); dropout (3 levels) does nothing; three
    // seeds add noise of +-0.5 points, a tenth of the growth rate's step.
    let noise = [0.0, 0.005, -0.004];
    let mut trials = Vec::new();
    for (gi, g) in [8, 12, 16, 24].iter().enumerate() {
        for d in [0.0, 0.1, 0.2] {
            for (s, n) in noise.iter().enumerate() {
                let o = json!({"model.growth_rate": g, "model.dropout": d});
                let jitter = n * (1.0 + d * 3.0 - gi as f64 * 0.2);
                trials.push((o, 7 + s as u64, 0.80 + 0.04 * gi as f64 + jitter));
            }
        }
    }
    let axes = "\"model.growth_rate\" = [8, 12, 16, 24]\n\"model.dropout\" = [0.0, 0.1, 0.2]";
    write_sweep(
        &dir.path().join("lab.db"),
        "synth",
        &source("synth", axes, 3),
        &trials,
    );

    let out = stdout(&mut lab(
        dir.path(),
        &["importance", "synth", "--format", "json"],
    ));
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["axis"], json!("model.growth_rate"));
    assert_eq!(rows[1]["axis"], json!("model.dropout"));
    let share = |i: usize| rows[i]["importance"].as_f64().unwrap();
    assert!(share(0) > 0.9 && share(1) < 0.05, "{rows:?}");
    assert_eq!(
        rows[0]["metric"],
        json!("test.accuracy"),
        "no val split: test accuracy"
    );
    assert_eq!(
        (rows[0]["trials"].clone(), rows[0]["levels"].clone()),
        (json!(36), json!(4))
    );
    assert!(rows[0]["spread"].as_f64().unwrap() >= 0.0);

    let table = stdout(&mut lab(dir.path(), &["importance", "synth"]));
    assert!(
        table.contains("model.growth_rate") && table.contains("spread"),
        "{table}"
    );
    assert!(
        table.contains("best test.accuracy of 36 done trials"),
        "{table}"
    );
    // Loss is 1 - accuracy here: the same ranking.
    let out = stdout(&mut lab(
        dir.path(),
        &[
            "importance",
            "synth",
            "--metric",
            "test.loss",
            "--format",
            "jsonl",
        ],
    ));
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["axis"], json!("model.growth_rate"));
}

#[test]
fn importance_with_too_few_trials_says_so_instead_of_printing_numbers() {
    let dir = TempDir::new().unwrap();
    seeds_store(dir.path()); // 9 trials, 1 axis: enough; then a sweep of 4.
    let few: Vec<(Value, u64, f64)> = (0..4)
        .map(|i| {
            (
                json!({"model.dropout": i as f64 / 10.0}),
                7,
                0.9 - i as f64 / 100.0,
            )
        })
        .collect();
    let src = source("few", r#""model.dropout" = [0.0, 0.1, 0.2, 0.3]"#, 1);
    write_sweep(&dir.path().join("lab.db"), "few", &src, &few);
    let table = stdout(&mut lab(dir.path(), &["importance", "few"]));
    assert!(
        table.contains("needs at least 6 finished trials for 1 varying axes"),
        "{table}"
    );
    assert!(
        table.contains("there are 4") && !table.contains('%'),
        "{table}"
    );
    let out = lab(dir.path(), &["importance", "few", "--format", "json"])
        .assert()
        .success();
    let o = out.get_output();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs at least 6"));
    // A metric no trial has: said the same way.
    let table = stdout(&mut lab(
        dir.path(),
        &["importance", "seeds", "--metric", "val.accuracy"],
    ));
    assert!(
        table.contains("seeds, val.accuracy: no finished trial has this metric yet"),
        "{table}"
    );
}

#[test]
fn importance_refuses_an_unknown_metric_or_experiment_with_exit_2() {
    let dir = TempDir::new().unwrap();
    seeds_store(dir.path());
    let out = lab(dir.path(), &["importance", "seeds", "--metric", "val.lr"])
        .assert()
        .code(2);
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr).contains("unknown metric \"val.lr\"")
    );
    let out = lab(dir.path(), &["importance", "nope"]).assert().code(2);
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr).contains("no experiment named \"nope\"")
    );
}

/// Before any trial is done, the default metric already follows the trials' configs: with a
/// validation split it is `val.accuracy` (as the README says), not `test.accuracy`.
#[test]
fn importance_with_no_done_trial_names_val_accuracy_where_trials_hold_out_a_split() {
    let dir = TempDir::new().unwrap();
    let src = r#"
name = "held-out"
[data]
dataset = "mnist-mini"
train_samples = 100
test_samples = 50
validation_split = 0.2
[model]
growth_rate = 4
blocks = [1, 1]
[train]
epochs = 1
batch_size = 50
optimizer = { kind = "adam", lr = 1e-3 }
log_every = 1
"#;
    std::fs::write(dir.path().join("exp.toml"), src).unwrap();
    // The test hook makes trial 0 panic: the sweep's one run ends failed, none done.
    lab(dir.path(), &["run", "-q", "exp.toml"])
        .env("DENSENET_LAB_DATA", dir.path().join("no-data"))
        .env("RAYON_NUM_THREADS", "1")
        .env("DENSENET_LAB_TEST_PANIC_TRIAL", "0")
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .code(1);
    let table = stdout(&mut lab(dir.path(), &["importance", "held-out"]));
    assert!(table.contains("held-out, val.accuracy:"), "{table}");
    assert!(!table.contains("test.accuracy"), "{table}");
}
