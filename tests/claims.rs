//! One run, one trainer: two schedulers on one store share a sweep, a killed process group's
//! claim is not taken for a live one, and a hand-started trial respects a live claim. The real
//! binary on a real database file.

use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::Lab;

/// `trials` tiny trials (growth rates 4, 5, ...) of `epochs` epochs x 6 steps on 300 images.
fn experiment(trials: usize, epochs: usize) -> String {
    let growth: Vec<String> = (0..trials).map(|i| (4 + i).to_string()).collect();
    format!(
        r#"
name = "claims"
[data]
dataset = "mnist-mini"
train_samples = 300
test_samples = 100
[model]
growth_rate = 4
blocks = [2, 2]
stem = "imagenet"
[train]
epochs = {epochs}
batch_size = 50
optimizer = {{ kind = "adam", lr = 1e-3 }}
log_every = 2
[sweep.axes]
"model.growth_rate" = [{}]
"#,
        growth.join(", ")
    )
}

impl Lab {
    /// Metric rows that share run, epoch, step, scope, split and name with another row.
    fn duplicate_metric_rows(&self) -> i64 {
        self.sql(
            "SELECT count(*) FROM (SELECT count(*) AS n FROM metrics
              GROUP BY run_id, epoch, step, scope, split, name HAVING n > 1)",
        )
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// "N trained" from `run`'s summary line.
fn trained(out: &Output) -> usize {
    let stdout = text(&out.stdout);
    let at = stdout.find(" trained").expect("a summary line");
    let number = stdout[..at].rsplit(' ').next().unwrap();
    number.parse().unwrap_or_else(|_| panic!("{stdout}"))
}

#[test]
fn two_schedulers_at_once_train_each_of_four_trials_exactly_once() {
    let lab = Lab::new(&experiment(4, 2));
    let spawn = || {
        lab.command(&["run", "exp.toml"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let log = format!("{}{}", text(&a.stderr), text(&b.stderr));
    // One trial process started per run, in all.
    assert_eq!(log.matches(": started on ").count(), 4, "{log}");
    assert_eq!(trained(&a) + trained(&b), 4, "{log}");
    let done: i64 = lab.sql("SELECT count(*) FROM runs WHERE status = 'done'");
    assert_eq!(done, 4);
    let epochs: i64 = lab.sql(
        "SELECT count(*) FROM metrics WHERE scope = 'epoch' AND split = 'test' AND name = 'accuracy'",
    );
    assert_eq!(epochs, 4 * 2, "an epoch was logged twice or lost");
    assert_eq!(lab.duplicate_metric_rows(), 0);
}

#[test]
fn after_kill_9_of_the_process_group_an_immediate_rerun_resumes_the_run() {
    // The killed trial, orphaned, becomes this process's child and stays a zombie until waited
    // on (as under an init that is slow to reap): its pid still exists during the re-run.
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) only changes who adopts this process's orphans.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) }, 0);
    let lab = Lab::new(&experiment(1, 3));
    let mut run = lab
        .command(&["run", "exp.toml"])
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    lab.wait_until(
        "SELECT epochs_done >= 1 AND epochs_done < 3 FROM runs WHERE id = 1",
        "the first epoch",
    );
    let first_epoch_row: i64 = lab.sql(
        "SELECT id FROM metrics WHERE run_id = 1 AND epoch = 1 AND scope = 'epoch'
         AND split = 'test' AND name = 'accuracy'",
    );
    let trial: i32 = lab.sql("SELECT pid FROM runs WHERE id = 1");
    assert_ne!(trial as u32, run.id(), "the trial process holds the claim");
    // SAFETY: killing the process group this test started (the scheduler and its trial).
    assert_eq!(unsafe { libc::killpg(run.id() as i32, libc::SIGKILL) }, 0);
    let start = Instant::now();
    while !std::fs::read_to_string(format!("/proc/{trial}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    }) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the trial is no zombie"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Neither is waited on yet: both are zombies while the re-run starts.
    let out = lab.command(&["run", "exp.toml"]).output().unwrap();
    run.wait().unwrap();
    // SAFETY: waiting on the adopted trial process, which has exited.
    assert_eq!(
        unsafe { libc::waitpid(trial, std::ptr::null_mut(), 0) },
        trial
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains("left to it"), "{stdout}");
    assert_eq!(trained(&out), 1, "{stdout}");
    let status: String = lab.sql("SELECT status FROM runs WHERE id = 1");
    assert_eq!(status, "done");
    // Resumed from its checkpoint: the first epoch's rows are the ones written before the kill.
    let kept: i64 = lab.sql(&format!(
        "SELECT count(*) FROM metrics WHERE id = {first_epoch_row}"
    ));
    assert_eq!(kept, 1, "the run started over instead of resuming");
    let epochs: i64 = lab.sql(
        "SELECT count(*) FROM metrics WHERE scope = 'epoch' AND split = 'test' AND name = 'accuracy'",
    );
    assert_eq!(epochs, 3);
    assert_eq!(lab.duplicate_metric_rows(), 0);
}

/// The store with `exp.toml`'s sweep registered, as `run` would before training.
fn registered(lab: &Lab) -> densenet_lab::store::Store {
    let experiment = densenet_lab::spec::load_experiment(&lab.dir.path().join("exp.toml")).unwrap();
    let mut store = densenet_lab::store::Store::open(&lab.db()).unwrap();
    let runs = densenet_lab::runner::new_runs(&experiment.trials()).unwrap();
    store
        .register_sweep("claims", "", "exp.toml", &experiment.source, &runs)
        .unwrap();
    store
}

#[test]
fn a_trial_started_by_hand_leaves_a_run_held_by_a_live_process_alone() {
    let lab = Lab::new(&experiment(2, 1));
    let mut store = registered(&lab);
    // A live process (a sleep this test started) holds run 1, as a scheduler would.
    let mut holder = Command::new("sleep").arg("120").spawn().unwrap();
    let pid = holder.id();
    store
        .claim_run(1, "cpu", &densenet_lab::runner::liveness::holder(pid))
        .unwrap();

    let out = lab.command(&["trial", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("being trained by pid {pid}")),
        "{}",
        text(&out.stderr)
    );
    // A trial that says its parent claimed the run, when its parent did not, refuses too.
    let out = lab
        .command(&["trial", "2", "--claimed-by-parent"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let pid_of_1: i64 = lab.sql("SELECT pid FROM runs WHERE id = 1");
    assert_eq!(pid_of_1, i64::from(pid));
    let statuses: String =
        lab.sql("SELECT group_concat(status, ',') FROM (SELECT status FROM runs ORDER BY id)");
    assert_eq!(statuses, "running,queued");
    let rows: i64 = lab.sql("SELECT count(*) FROM metrics");
    assert_eq!(rows, 0);

    // `run` leaves run 1 to that process and trains run 2, then waits for run 1 rather than
    // end with it unfinished; when its holder dies, `run` takes it over and trains it.
    let (child, log) = lab.spawn_run_logging_stderr();
    common::wait_for_text(&log, &format!("waiting for run 1 (pid {pid}"));
    let status_of_2: String = lab.sql("SELECT status FROM runs WHERE id = 2");
    assert_eq!(status_of_2, "done");
    holder.kill().unwrap();
    holder.wait().unwrap();
    let out = common::wait_within(child, Duration::from_secs(120), "run");
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(trained(&out), 2, "{}", text(&out.stdout));
    let statuses: String =
        lab.sql("SELECT group_concat(status, ',') FROM (SELECT status FROM runs ORDER BY id)");
    assert_eq!(statuses, "done,done");
}

#[test]
fn stop_on_a_run_whose_process_is_dead_reaps_it_instead_of_asking_nobody() {
    let lab = Lab::new(&experiment(1, 1));
    let mut store = registered(&lab);
    // Claimed by a process that has exited since (its heartbeat is still fresh).
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = densenet_lab::runner::liveness::holder(gone.id());
    gone.wait().unwrap();
    store.claim_run(1, "cpu", &dead).unwrap();

    let out = lab.command(&["stop", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("run 1 is interrupted, not running"),
        "{}",
        text(&out.stderr)
    );
    let status: String = lab.sql("SELECT status FROM runs WHERE id = 1");
    assert_eq!(status, "interrupted");
}
