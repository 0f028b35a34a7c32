//! Adaptive sweeps through the real binary and store: ASHA pauses and promotes trials (a
//! promoted trial's metrics equal the same trial trained straight through), the median rule
//! prunes, and TPE continues the same sweep when the file is run again.

mod common;

use std::process::Output;

use common::Lab;
use rusqlite::Connection;

/// A trial of `epochs` epochs on 300 mnist-mini images with a validation split: about a
/// second an epoch. `sweep` follows the `[train]` table.
fn experiment(name: &str, epochs: usize, sweep: &str) -> String {
    format!(
        r#"
name = "{name}"
[data]
dataset = "mnist-mini"
train_samples = 300
test_samples = 100
validation_split = 0.2
[model]
growth_rate = 4
blocks = [2, 2]
stem = "imagenet"
dropout = 0.0
[train]
epochs = {epochs}
batch_size = 40
optimizer = {{ kind = "adam", lr = 3e-3 }}
schedule = {{ kind = "step", at = [0.5], factor = 0.5 }}
log_every = 2
{sweep}
"#
    )
}

fn run(lab: &Lab, extra: &[&str]) -> Output {
    let mut args = vec!["run", "exp.toml", "-q"];
    args.extend_from_slice(extra);
    let out = lab.command(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// (status, epochs_done, overrides) of every run, by trial index.
fn runs(lab: &Lab) -> Vec<(String, i64, String)> {
    let conn = Connection::open(lab.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT status, epochs_done, overrides FROM runs ORDER BY trial_index")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

const ASHA_3: &str = "[sweep]\n[sweep.axes]\n\"model.dropout\" = [0.0, 0.05, 0.1]\n\
                      [sweep.early_stop]\nrule = \"asha\"\nmin_epochs = 1\nreduction = 3\n";

#[test]
fn a_promoted_trial_ends_with_the_metrics_of_the_same_trial_trained_straight_through() {
    let lab = Lab::new(&experiment("asha", 3, ASHA_3));
    let out = run(&lab, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Rungs at epochs 1 and 3: three trials reach rung 1, the best of them goes on.
    let statuses = runs(&lab);
    let done: Vec<_> = statuses.iter().filter(|r| r.0 == "done").collect();
    assert_eq!(done.len(), 1, "{statuses:?}");
    assert_eq!(done[0].1, 3);
    for r in statuses.iter().filter(|r| r.0 != "done") {
        assert_eq!((r.0.as_str(), r.1), ("pruned", 1), "{statuses:?}");
    }
    assert!(
        stdout.contains("2 pruned, 0 paused")
            && stdout.contains("epoch 1: 3 reached, 0 paused, 1 promoted")
            && stdout.contains("budget: 5 of 9 epochs"),
        "{stdout}"
    );
    // The promoted one was the best at rung 1.
    let best: i64 = lab.sql(
        "SELECT r.id FROM runs r JOIN metrics m ON m.run_id = r.id
         WHERE m.scope = 'epoch' AND m.split = 'val' AND m.name = 'accuracy' AND m.epoch = 1
         ORDER BY m.value DESC, r.trial_index LIMIT 1",
    );
    let promoted: i64 = lab.sql("SELECT id FROM runs WHERE status = 'done'");
    assert_eq!(best, promoted);
    // It paused at epoch 1 and resumed from that checkpoint; trained straight through, the
    // same config gives the same rows (the schedule's horizon is train.epochs in both).
    let dropout = &done[0].2;
    let value: serde_json::Value = serde_json::from_str(dropout).unwrap();
    let straight = Lab::new(&experiment("straight", 3, "").replace(
        "dropout = 0.0",
        &format!("dropout = {}", value["model.dropout"]),
    ));
    run(&straight, &[]);
    let expected = straight.curve(Some(1));
    assert!(!expected.is_empty());
    assert_eq!(lab.curve(Some(promoted)), expected);
}

#[test]
fn asha_under_two_jobs_prunes_at_the_rung_and_finishes_the_best() {
    let sweep = "[sweep]\n[sweep.axes]\n\"train.optimizer.lr\" = [3e-3, 1e-3, 1e-6, 2e-6, 3e-6, 4e-6]\n\
                 [sweep.early_stop]\nrule = \"asha\"\nmin_epochs = 1\nreduction = 3\n";
    let lab = Lab::new(&experiment("asha-jobs", 3, sweep));
    run(&lab, &["--jobs", "2"]);
    let statuses = runs(&lab);
    for (status, epochs, _) in &statuses {
        match status.as_str() {
            "done" => assert_eq!(*epochs, 3),
            "pruned" => assert_eq!(*epochs, 1),
            other => panic!("a run ended {other}: {statuses:?}"),
        }
    }
    // Six at rung 1 keep at most the top third (two) going, plus what was promoted while
    // fewer had arrived; the learning rates that barely move (1e-6) never are.
    let done: Vec<_> = statuses.iter().filter(|r| r.0 == "done").collect();
    assert!((1..=3).contains(&done.len()), "{statuses:?}");
    assert!(
        done.iter()
            .all(|r| !r.2.contains("e-6") && !r.2.contains("0.00000")),
        "{statuses:?}"
    );
    let paused: i64 = lab.sql("SELECT count(*) FROM runs WHERE status = 'paused'");
    assert_eq!(paused, 0);
}

#[test]
fn the_median_rule_prunes_trials_worse_than_the_finished_median_after_the_warmup() {
    let sweep = "[sweep]\n[sweep.axes]\n\
                 \"train.optimizer.lr\" = [3e-3, 3.1e-3, 3.2e-3, 3.3e-3, 3.4e-3, 1e-7, 1.1e-7]\n\
                 [sweep.early_stop]\nrule = \"median\"\n";
    let lab = Lab::new(&experiment("median", 3, sweep));
    run(&lab, &[]);
    let statuses = runs(&lab);
    // Five trials finish before the rule judges anyone; the two that cannot learn at lr 1e-7
    // are pruned after epoch 2 (epoch 1 is the warm-up).
    let expected: Vec<(&str, i64)> = [("done", 3); 5]
        .into_iter()
        .chain([("pruned", 2); 2])
        .collect();
    let got: Vec<(&str, i64)> = statuses.iter().map(|r| (r.0.as_str(), r.1)).collect();
    assert_eq!(got, expected, "{statuses:?}");
}

#[test]
fn tpe_run_again_after_it_stopped_continues_the_same_sweep() {
    let sweep = |samples: usize| {
        format!(
            "[sweep]\nstrategy = \"tpe\"\nsamples = {samples}\nseed = 3\nstartup = 2\n\
             [sweep.axes]\n\"model.dropout\" = {{ uniform = [0.0, 0.3] }}\n\
             \"train.optimizer.lr\" = {{ log_uniform = [1e-4, 1e-2] }}\n"
        )
    };
    let whole = Lab::new(&experiment("tpe", 1, &sweep(4)));
    run(&whole, &[]);
    let parts = Lab::new(&experiment("tpe", 1, &sweep(2)));
    run(&parts, &[]);
    assert_eq!(runs(&parts).len(), 2);
    std::fs::write(
        parts.dir.path().join("exp.toml"),
        experiment("tpe", 1, &sweep(4)),
    )
    .unwrap();
    run(&parts, &[]);
    let (a, b) = (runs(&whole), runs(&parts));
    assert_eq!(a.len(), 4);
    assert_eq!(
        a, b,
        "the same seed and history must propose the same points"
    );
    // Four distinct points.
    let mut points: Vec<&String> = a.iter().map(|r| &r.2).collect();
    points.dedup();
    assert_eq!(points.len(), 4);
}

#[test]
fn a_tpe_asha_sweep_uses_under_half_the_epochs_and_trains_its_best_trial_fully() {
    let sweep = "[sweep]\nstrategy = \"tpe\"\nsamples = 12\nseed = 7\nstartup = 6\n\
                 [sweep.axes]\n\"model.growth_rate\" = { int = [3, 6] }\n\
                 \"train.optimizer.lr\" = { log_uniform = [1e-5, 1e-2] }\n\
                 [sweep.early_stop]\nrule = \"asha\"\nmetric = \"val.accuracy\"\nmin_epochs = 1\nreduction = 3\n";
    let lab = Lab::new(&experiment("tpe-asha", 9, sweep));
    let out = run(&lab, &["--jobs", "2"]);
    let statuses = runs(&lab);
    assert_eq!(statuses.len(), 12);
    let trained: i64 = statuses.iter().map(|r| r.1).sum();
    assert!(
        trained * 2 < 12 * 9,
        "{trained} epochs of {}: {statuses:?}",
        12 * 9
    );
    // Rungs at 1, 3 and 9: the best trial at the last rung below the top (epoch 3) was
    // promoted and trained all 9 epochs; every other trial stopped at a rung.
    let best_at_3: i64 = lab.sql(
        "SELECT r.epochs_done FROM runs r JOIN metrics m ON m.run_id = r.id
         WHERE m.scope = 'epoch' AND m.split = 'val' AND m.name = 'accuracy' AND m.epoch = 3
         ORDER BY m.value DESC, r.trial_index LIMIT 1",
    );
    assert_eq!(best_at_3, 9, "{statuses:?}");
    for (status, epochs, _) in &statuses {
        match status.as_str() {
            "done" => assert_eq!(*epochs, 9),
            "pruned" => assert!([1, 3].contains(epochs), "{statuses:?}"),
            other => panic!("a run ended {other}: {statuses:?}"),
        }
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("budget: {trained} of 108 epochs")),
        "{stdout}"
    );
}

#[test]
fn check_lists_a_sampled_sweeps_axes_and_warns_of_tuning_on_the_test_set() {
    let sweep = "[sweep]\nstrategy = \"tpe\"\nsamples = 5\n[sweep.axes]\n\
                 \"train.optimizer.lr\" = { log_uniform = [1e-4, 1e-2] }\n\
                 [sweep.early_stop]\nrule = \"median\"\nmetric = \"test.accuracy\"\n";
    let lab = Lab::new(&experiment("on-test", 3, sweep));
    let out = lab.command(&["check", "exp.toml"]).output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("5 point(s) x 1 repeat(s) drawn by tpe")
            && stdout.contains("early stop by median (after 1 warm-up epoch(s)) on test.accuracy")
            && stdout.contains("{ log_uniform = [0.0001, 0.01] }"),
        "{stdout}"
    );
    let line = experiment("on-test", 3, sweep)
        .lines()
        .position(|l| l.starts_with("metric = "))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!(
            "warning: exp.toml:{line}:10: sweep.early_stop.metric: "
        )) && stderr.contains("leaks it into model selection"),
        "{stderr}"
    );
    // Array tasks never open the store, so the adaptive decisions cannot run through Slurm.
    let out = lab
        .command(&["run", "exp.toml", "--launcher", "slurm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("this sweep is adaptive"));
}

/// Two processes on one ASHA sweep: while `run` trains the other trials, another process
/// (a stand-in holding the claim) takes the first trial from its rung. `run` neither counts
/// that trial as failed nor ends with it unfinished: it waits, takes it over when its holder
/// dies, and exits 0 once every trial is settled; its pruned count is the store's.
#[test]
fn a_trial_another_process_took_from_its_rung_is_waited_for_and_taken_over() {
    use densenet_lab::store::{ClaimOutcome, Store};
    use std::process::Command;
    use std::time::Duration;
    let lab = Lab::new(&experiment("asha-shared", 3, ASHA_3));
    let (child, log) = lab.spawn_run_logging_stderr();
    // No trial is promoted before all three reach the rung (the top 1/3 of fewer is none),
    // so trial 1 waits paused while the other two train.
    lab.wait_until(
        "SELECT status = 'paused' FROM runs WHERE trial_index = 0",
        "trial 1 paused at its rung",
    );
    let id: i64 = lab.sql("SELECT id FROM runs WHERE trial_index = 0");
    let mut holder = Command::new("sleep").arg("120").spawn().unwrap();
    let pid = holder.id();
    let claimed = Store::open(&lab.db())
        .unwrap()
        .claim_run(id, "cpu", &densenet_lab::runner::liveness::holder(pid))
        .unwrap();
    assert_eq!(claimed, ClaimOutcome::Claimed);
    common::wait_for_text(&log, &format!("waiting for run {id} (pid {pid}"));
    holder.kill().unwrap();
    holder.wait().unwrap();
    let out = common::wait_within(child, Duration::from_secs(300), "run");
    let stderr = std::fs::read_to_string(&log).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let unsettled: i64 = lab.sql(
        "SELECT count(*) FROM runs WHERE status NOT IN ('done', 'pruned', 'diverged', 'failed')",
    );
    assert_eq!(unsettled, 0, "{stdout}\n{stderr}");
    let failed: i64 = lab.sql("SELECT count(*) FROM runs WHERE status = 'failed'");
    assert_eq!(failed, 0);
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    let pruned: i64 = lab.sql("SELECT count(*) FROM runs WHERE status = 'pruned'");
    assert!(
        stdout.contains(&format!("asha-shared: {pruned} pruned, 0 paused")),
        "{stdout}"
    );
}

/// A sampled sweep run again counts its done trials as already done (it registers points as
/// it draws them, so the enumerated trials said 0).
#[test]
fn a_tpe_sweep_run_again_counts_its_done_trials_as_already_done() {
    let sweep = "[sweep]\nstrategy = \"tpe\"\nsamples = 2\nseed = 3\nstartup = 2\n\
                 [sweep.axes]\n\"model.dropout\" = { uniform = [0.0, 0.3] }\n";
    let lab = Lab::new(&experiment("tpe-again", 1, sweep));
    run(&lab, &[]);
    let again = run(&lab, &[]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        stdout.contains("tpe-again: 0 trained, 2 already done"),
        "{stdout}"
    );
}

/// A sampled sweep whose axis changed after it ran is refused, saying what changed and how
/// to start a new experiment, instead of training nothing in silence; the store keeps the
/// source its runs were drawn from.
#[test]
fn a_sampled_sweep_whose_search_space_changed_is_refused_with_what_changed() {
    let sweep = |range: &str| {
        format!(
            "[sweep]\nstrategy = \"random\"\nsamples = 2\nseed = 1\nmetric = \"val.accuracy\"\n\
             [sweep.axes]\n\"model.growth_rate\" = {{ int = {range} }}\n"
        )
    };
    let lab = Lab::new(&experiment("space", 1, &sweep("[4, 6]")));
    run(&lab, &[]);
    std::fs::write(
        lab.dir.path().join("exp.toml"),
        experiment("space", 1, &sweep("[20, 24]")),
    )
    .unwrap();
    let out = lab.command(&["run", "exp.toml", "-q"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("axis \"model.growth_rate\" was { int = [4, 6] }, now { int = [20, 24] }"),
        "{stderr}"
    );
    assert!(stderr.contains("give the file another `name`"), "{stderr}");
    let runs: i64 = lab.sql("SELECT count(*) FROM runs");
    assert_eq!(runs, 2);
    let source: String = lab.sql("SELECT source FROM experiments WHERE name = 'space'");
    assert!(source.contains("[4, 6]"), "{source}");
}
