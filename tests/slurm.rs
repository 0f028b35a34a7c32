//! `run --launcher slurm` against a real Slurm (scripts/slurm-up.sh starts a one-node cluster
//! on localhost; `.ci/run` does, and promises `slurm`). Each test drives the real binary on a
//! real store and compares with the same sweep run locally. Without sbatch they skip.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{CurveRow, Lab};
use densenet_lab::preconditions::{missing, tool_runs};
use rusqlite::{Connection, OpenFlags};

/// `n` trials (dropout axis) of `epochs` epochs on `samples` mnist-mini images: seconds each.
fn experiment(name: &str, dropouts: &str, epochs: usize, samples: usize) -> String {
    format!(
        r#"
name = "{name}"
[data]
dataset = "mnist-mini"
train_samples = {samples}
test_samples = 100
[model]
growth_rate = 4
blocks = [2, 2]
stem = "imagenet"
[train]
epochs = {epochs}
batch_size = 50
optimizer = {{ kind = "adam", lr = 2e-3 }}
log_every = 2
[sweep]
strategy = "grid"
[sweep.axes]
"model.dropout" = [{dropouts}]
"#
    )
}

/// Whether a cluster answers here; otherwise a visible skip (a failure where promised).
fn slurm_here(test: &str) -> bool {
    let up = tool_runs("sbatch", "--version")
        && Command::new("sinfo")
            .arg("-h")
            .output()
            .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if !up {
        missing(
            test,
            "slurm",
            "no Slurm cluster answers here (scripts/slurm-up.sh starts one)",
        );
    }
    up
}

fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(lab: &Lab, args: &[&str]) -> Output {
    let out = lab.command(args).output().unwrap();
    assert!(out.status.success(), "{args:?} failed\n{}", text(&out));
    out
}

/// The job id `run --launcher slurm` printed.
fn job_of(out: &Output) -> i64 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tail = stdout
        .split("as Slurm job array ")
        .nth(1)
        .unwrap_or_else(|| panic!("no job id in\n{stdout}"));
    tail.split_whitespace().next().unwrap().parse().unwrap()
}

fn squeue_states(job: i64) -> Vec<(i64, String)> {
    let out = Command::new("squeue")
        .args([
            "-h",
            "-r",
            "-t",
            "all",
            "-j",
            &job.to_string(),
            "-o",
            "%K %T",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (task, state) = l.trim().split_once(' ')?;
            Some((task.parse().ok()?, state.to_string()))
        })
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until no task of `job` is queued, running or on its way back.
fn wait_for_array(job: i64) {
    wait_for(&format!("job array {job} to end"), || {
        let states = squeue_states(job);
        !states.is_empty()
            && states.iter().all(|(_, s)| {
                matches!(
                    s.as_str(),
                    "COMPLETED" | "FAILED" | "CANCELLED" | "TIMEOUT" | "NODE_FAIL" | "PREEMPTED"
                )
            })
    });
}

fn statuses(lab: &Lab) -> Vec<String> {
    let conn = Connection::open(lab.db()).unwrap();
    let mut stmt = conn.prepare("SELECT status FROM runs ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The same sweep trained locally, one CPU thread per trial as on the Slurm node.
fn local_curve(toml: &str) -> Vec<CurveRow> {
    let lab = Lab::new(toml);
    run(&lab, &["run", "exp.toml", "--jobs", "2", "--quiet"]);
    lab.curve(None)
}

/// Row count, last id and value sum of the metrics: what any write would change.
fn fingerprint(lab: &Lab) -> (i64, i64, f64) {
    let conn = Connection::open(lab.db()).unwrap();
    conn.query_row(
        "SELECT count(*), coalesce(max(id), 0), coalesce(sum(value), 0) FROM metrics",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn a_four_trial_sweep_through_slurm_ends_done_with_the_metrics_of_a_local_run() {
    if !slurm_here("a_four_trial_sweep_through_slurm") {
        return;
    }
    let toml = experiment("slurm-four", "0.0, 0.1, 0.2, 0.3", 2, 200);
    let expected = local_curve(&toml);
    let lab = Lab::new(&toml);
    let out = run(
        &lab,
        &[
            "run",
            "exp.toml",
            "--launcher",
            "slurm",
            "--array-parallelism",
            "2",
        ],
    );
    let job = job_of(&out);
    assert_eq!(statuses(&lab), ["done"; 4], "{}", text(&out));
    assert_eq!(lab.curve(None), expected);
    let script = std::fs::read_dir(lab.dir.path().join("runs/slurm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "sbatch"))
        .expect("the sbatch script is kept");
    let script = std::fs::read_to_string(script).unwrap();
    assert!(script.contains("#SBATCH --array=0-3%2"), "{script}");
    // Where each run ran, in the store and in `show`.
    let tasks: i64 = lab.sql(&format!(
        "SELECT count(DISTINCT slurm_task_id) FROM runs WHERE slurm_job_id = {job} AND slurm_node IS NOT NULL"
    ));
    assert_eq!(tasks, 4);
    let show = run(&lab, &["show", "2"]);
    assert!(
        String::from_utf8_lossy(&show.stdout).contains(&format!("ran as Slurm job {job}_1 on ")),
        "{}",
        text(&show)
    );
}

#[test]
fn a_cancelled_task_leaves_its_run_resumable_and_run_resume_finishes_only_it() {
    if !slurm_here("a_cancelled_task_leaves_its_run_resumable") {
        return;
    }
    let toml = experiment("slurm-cancel", "0.0, 0.1", 3, 1000);
    let expected = local_curve(&toml);
    let lab = Lab::new(&toml);
    let out = run(
        &lab,
        &["run", "exp.toml", "--launcher", "slurm", "--no-wait"],
    );
    let job = job_of(&out);
    // Cancel task 1 once it trains (its shard has its first epoch).
    let shard = lab.dir.path().join("runs/shards/run-2.db");
    wait_for("run 2's first epoch in its shard", || {
        Connection::open_with_flags(&shard, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT epochs_done >= 1 FROM runs", [], |r| r.get(0)))
            .unwrap_or(false)
    });
    let cancel = Command::new("scancel")
        .arg(format!("{job}_1"))
        .status()
        .unwrap();
    assert!(cancel.success());
    wait_for_array(job);
    run(&lab, &["merge"]);
    let before = statuses(&lab);
    assert_eq!(before[0], "done");
    assert!(
        ["stopped", "interrupted"].contains(&before[1].as_str()),
        "{before:?}"
    );
    let out = run(
        &lab,
        &["run", "exp.toml", "--launcher", "slurm", "--resume"],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("submitted 1 run(s)"),
        "{}",
        text(&out)
    );
    assert_eq!(statuses(&lab), ["done", "done"]);
    assert_eq!(lab.curve(None), expected);
}

#[test]
fn a_warning_signal_requeues_the_task_and_its_run_ends_as_if_uninterrupted() {
    if !slurm_here("a_warning_signal_requeues_the_task") {
        return;
    }
    // Long enough that the signal, sent once epoch 1 is in the shard, lands mid-training: with
    // 3 epochs a fast machine had finished before it arrived (so nothing was requeued).
    let toml = experiment("slurm-usr1", "0.0", 20, 1000);
    let expected = local_curve(&toml);
    let lab = Lab::new(&toml);
    let out = run(
        &lab,
        &["run", "exp.toml", "--launcher", "slurm", "--no-wait"],
    );
    let job = job_of(&out);
    let shard = lab.dir.path().join("runs/shards/run-1.db");
    wait_for("the first epoch in the shard", || {
        Connection::open_with_flags(&shard, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT epochs_done >= 1 FROM runs", [], |r| r.get(0)))
            .unwrap_or(false)
    });
    let signal = Command::new("scancel")
        .args(["--signal=USR1", "--batch", &format!("{job}_0")])
        .status()
        .unwrap();
    assert!(signal.success());
    wait_for_array(job);
    run(&lab, &["merge"]);
    assert_eq!(statuses(&lab), ["done"]);
    assert_eq!(lab.curve(None), expected);
    let log = std::fs::read_dir(lab.dir.path().join("runs/slurm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "out"))
        .expect("the task's output file");
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("requeues as job"), "no requeue in\n{log}");
    let resumed: i64 = lab.sql("SELECT count(*) FROM runs WHERE error IS NULL");
    assert_eq!(resumed, 1);
}

#[test]
fn no_wait_then_merge_brings_the_runs_in_and_a_second_merge_changes_nothing() {
    if !slurm_here("no_wait_then_merge") {
        return;
    }
    let toml = experiment("slurm-merge", "0.0, 0.1", 1, 200);
    let expected = local_curve(&toml);
    let lab = Lab::new(&toml);
    let out = run(
        &lab,
        &["run", "exp.toml", "--launcher", "slurm", "--no-wait"],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not waiting"),
        "{}",
        text(&out)
    );
    wait_for_array(job_of(&out));
    let merged = run(&lab, &["merge"]);
    assert!(
        String::from_utf8_lossy(&merged.stdout).contains("2 shard(s): 2 merged"),
        "{}",
        text(&merged)
    );
    assert_eq!(statuses(&lab), ["done", "done"]);
    assert_eq!(lab.curve(None), expected);
    let before = fingerprint(&lab);
    let again = run(&lab, &["merge"]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 merged, 2 unchanged"),
        "{}",
        text(&again)
    );
    assert_eq!(fingerprint(&lab), before);
}

#[test]
fn a_truncated_shard_is_refused_by_name_and_nothing_else_is_lost() {
    if !slurm_here("a_truncated_shard_is_refused") {
        return;
    }
    let toml = experiment("slurm-torn", "0.0, 0.1", 1, 200);
    let lab = Lab::new(&toml);
    let out = run(
        &lab,
        &["run", "exp.toml", "--launcher", "slurm", "--no-wait"],
    );
    wait_for_array(job_of(&out));
    let shards = lab.dir.path().join("runs/shards");
    let whole = std::fs::read(shards.join("run-1.db")).unwrap();
    std::fs::write(shards.join("run-1.db"), &whole[..whole.len() / 2]).unwrap();
    let torn = lab.command(&["merge"]).output().unwrap();
    assert!(!torn.status.success(), "{}", text(&torn));
    let stderr = String::from_utf8_lossy(&torn.stderr);
    assert!(stderr.contains("run-1.db"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&torn.stdout).contains("run 2: merged (done)"),
        "{}",
        text(&torn)
    );
    let rows_of_run_1: i64 = lab.sql("SELECT count(*) FROM metrics WHERE run_id = 1");
    assert_eq!(rows_of_run_1, 0, "nothing of the torn shard was written");
    // A whole copy later merges.
    std::fs::write(shards.join("run-1.db"), &whole).unwrap();
    run(&lab, &["merge"]);
    assert_eq!(statuses(&lab), ["done", "done"]);
}

/// Without Slurm's client commands (none on PATH, or `sbatch` without `squeue`, whose wait
/// would ask again for ever), `--launcher slurm` fails before it writes anything: no store,
/// no shards, no script. Needs no cluster.
#[test]
fn without_sbatch_or_squeue_the_launcher_fails_before_writing_anything() {
    use std::os::unix::fs::PermissionsExt;
    let toml = experiment("no-slurm", "0.0, 0.1", 1, 100);
    for tools in [&[][..], &["sbatch"][..]] {
        let lab = Lab::new(&toml);
        let bin = lab.dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for tool in tools {
            // A stand-in that answers --version and --parsable alike with "1".
            let path = bin.join(tool);
            std::fs::write(&path, "#!/bin/sh\necho 1\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let out = common::output_within(
            lab.command(&["run", "exp.toml", "--launcher", "slurm"])
                .env("PATH", &bin),
            Duration::from_secs(60),
        );
        let missing = if tools.is_empty() { "sbatch" } else { "squeue" };
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("cannot run `{missing} --version`"))
                && stderr.contains("nothing was written"),
            "{stderr}"
        );
        assert!(!lab.db().exists(), "{missing}: the store was created");
        assert!(
            !lab.dir.path().join("runs").exists(),
            "{missing}: shards or a script were written"
        );
    }
}

/// A `squeue` that forgets the array at once ("Invalid job id") leaves every run `queued`:
/// `run` no longer calls them interrupted and exits 0, it names them as unsettled and exits 1.
/// Stand-ins for sbatch and squeue; needs no cluster.
#[test]
fn a_squeue_that_forgot_the_job_leaves_runs_named_as_unfinished_and_exit_1() {
    use std::os::unix::fs::PermissionsExt;
    let lab = Lab::new(&experiment("forgot", "0.0, 0.1", 1, 100));
    let bin = lab.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let stub = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!("#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'slurm 23.02'; exit 0; fi\n{body}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    stub("sbatch", "echo 77");
    stub(
        "squeue",
        "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1",
    );
    let out = common::output_within(
        lab.command(&["run", "exp.toml", "--launcher", "slurm"])
            .env("PATH", &bin),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("0 interrupted"), "{}", text(&out));
    assert!(
        stderr.contains("the sweep is not finished: run 1 (queued), run 2 (queued)"),
        "{}",
        text(&out)
    );
    assert_eq!(statuses(&lab), ["queued", "queued"]);
}
