//! Trials that survive: kill -9, Ctrl-C, crashes, divergence, concurrent readers, stale
//! heartbeats. Every test drives the real binary on a real database file.

use std::process::{Child, Output, Stdio};
use std::time::Duration;

use rusqlite::Connection;

mod common;

use common::{CurveRow, Lab, PANIC_ENV};

/// One trial of 3 epochs x 20 steps on 1,000 mnist-mini images: a few seconds.
fn experiment(name: &str, dropout_axis: &str, extra_train: &str) -> String {
    format!(
        r#"
name = "{name}"
[data]
dataset = "mnist-mini"
train_samples = 1000
test_samples = 200
[model]
growth_rate = 6
blocks = [2, 2]
stem = "imagenet"
dropout = 0.1
[train]
epochs = 3
batch_size = 50
optimizer = {{ kind = "adam", lr = 2e-3 }}
schedule = {{ kind = "step", at = [0.5], factor = 0.5 }}
log_every = 2
{extra_train}
{dropout_axis}
"#
    )
}

impl Lab {
    fn run(&self, extra: &[&str]) -> Output {
        let mut args = vec!["run", "exp.toml"];
        args.extend(extra);
        self.command(&args).output().unwrap()
    }
    /// `run` in the background, returned once run 1 has finished its first epoch.
    fn spawn_past_first_epoch(&self) -> Child {
        let run = self.spawn_run(&[]);
        self.wait_until(
            "SELECT epochs_done >= 1 FROM runs WHERE id = 1",
            "the first epoch",
        );
        run
    }

    fn spawn_run(&self, extra: &[&str]) -> Child {
        let mut args = vec!["run", "exp.toml"];
        args.extend(extra);
        self.command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }
    fn statuses(&self) -> Vec<String> {
        let conn = Connection::open(self.db()).unwrap();
        let mut stmt = conn
            .prepare("SELECT status FROM run_summary ORDER BY run_id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: signalling a process this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn uninterrupted_curve(toml: &str) -> Vec<CurveRow> {
    let lab = Lab::new(toml);
    let out = lab.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    lab.curve(None)
}

#[test]
fn a_trial_killed_mid_epoch_resumes_to_the_same_metrics_as_an_uninterrupted_run() {
    let toml = experiment("kill-trial", "", "");
    let expected = uninterrupted_curve(&toml);

    let lab = Lab::new(&toml);
    let mut run = lab.spawn_past_first_epoch();
    std::thread::sleep(Duration::from_millis(300));
    let pid: u32 = lab.sql("SELECT pid FROM runs WHERE id = 1");
    signal(pid, libc::SIGKILL);
    let status = run.wait().unwrap();
    assert!(!status.success(), "run reports the killed trial");
    assert_eq!(lab.statuses(), ["failed"]);
    let error: String = lab.sql("SELECT error FROM runs WHERE id = 1");
    assert!(error.contains("SIGKILL"), "{error}");
    let done: i64 = lab.sql("SELECT epochs_done FROM runs WHERE id = 1");
    assert!(done < 3, "the kill came after the run ended");

    let out = lab.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lab.statuses(), ["done"]);
    let epochs: i64 = lab.sql("SELECT count(*) FROM metrics WHERE scope = 'epoch' AND split = 'test' AND name = 'accuracy'");
    assert_eq!(epochs, 3, "an epoch was logged twice or lost");
    assert_eq!(lab.curve(None), expected);
}

#[test]
fn killing_the_scheduler_stops_its_trials_and_the_sweep_resumes() {
    let toml = experiment("kill-run", "", "");
    let expected = uninterrupted_curve(&toml);

    let lab = Lab::new(&toml);
    let mut run = lab.spawn_past_first_epoch();
    run.kill().unwrap(); // SIGKILL to `run` itself
    run.wait().unwrap();
    // The orphaned trial gets SIGTERM from the kernel and stops at its next step.
    lab.wait_until(
        "SELECT status <> 'running' FROM runs WHERE id = 1",
        "the trial to stop",
    );
    let status: String = lab.sql("SELECT status FROM runs WHERE id = 1");
    assert!(status == "stopped" || status == "done", "{status}");

    let out = lab.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lab.statuses(), ["done"]);
    assert_eq!(lab.curve(None), expected);
}

#[test]
fn ctrl_c_leaves_stopped_runs_that_resume() {
    let toml = experiment("sigint", "[sweep.axes]\n\"model.dropout\" = [0.0, 0.2]", "");
    let lab = Lab::new(&toml);
    let mut run = lab.spawn_run(&["--jobs", "2"]);
    lab.wait_until(
        "SELECT count(*) = 2 FROM runs WHERE status = 'running' AND heartbeat_at IS NOT NULL",
        "both trials",
    );
    signal(run.id(), libc::SIGINT);
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let statuses = lab.statuses();
    assert!(
        statuses.iter().all(|s| s == "stopped" || s == "done"),
        "{statuses:?}"
    );
    assert!(statuses.iter().any(|s| s == "stopped"), "{statuses:?}");

    let out = lab.run(&["--jobs", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lab.statuses(), ["done", "done"]);
    let epochs: i64 = lab.sql("SELECT count(*) FROM metrics WHERE scope = 'epoch' AND split = 'test' AND name = 'accuracy'");
    assert_eq!(epochs, 6);
}

#[test]
fn a_panicking_trial_fails_alone_while_the_others_finish() {
    let toml = experiment(
        "panic",
        "[sweep.axes]\n\"model.dropout\" = [0.0, 0.1, 0.2]",
        "epochs = 1",
    );
    let toml = toml.replace("epochs = 3\n", "");
    let lab = Lab::new(&toml);
    let out = lab
        .command(&["run", "exp.toml", "--jobs", "2"])
        .env(PANIC_ENV, "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(lab.statuses(), ["done", "failed", "done"]);
    let error: String = lab.sql("SELECT error FROM runs WHERE trial_index = 1");
    assert!(error.contains("panics on purpose"), "{error}");
}

#[test]
fn four_trial_processes_and_a_reader_never_see_a_lock_error() {
    let toml = experiment(
        "busy",
        "[sweep.axes]\n\"model.growth_rate\" = [4, 5, 6, 7]",
        "epochs = 2\nlog_every = 1",
    );
    let toml = toml
        .replace("epochs = 3\n", "")
        .replace("log_every = 2\n", "");
    let lab = Lab::new(&toml);
    let mut run = lab.spawn_run(&["--jobs", "4"]);
    let mut queries = 0;
    while run.try_wait().unwrap().is_none() {
        if lab.db().exists() {
            let out = lab
                .command(&[
                    "query",
                    "--format",
                    "csv",
                    "SELECT count(*) FROM metrics JOIN run_summary USING (run_id)",
                ])
                .output()
                .unwrap();
            let err = stderr(&out);
            assert!(!err.contains("locked") && !err.contains("busy"), "{err}");
            queries += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(run.wait().unwrap().success());
    assert!(queries > 5, "the reader ran only {queries} times");
    assert_eq!(lab.statuses(), ["done"; 4]);
    for id in 1..=4 {
        let log =
            std::fs::read_to_string(lab.dir.path().join(format!("runs/{id}/trial.log"))).unwrap();
        assert!(!log.contains("locked") && !log.contains("busy"), "{log}");
    }
}

#[test]
fn a_diverging_config_is_marked_diverged_with_its_step() {
    let toml = experiment("diverge", "", "").replace(
        r#"optimizer = { kind = "adam", lr = 2e-3 }"#,
        r#"optimizer = { kind = "sgd", lr = 1e6, momentum = 0.9 }"#,
    );
    let lab = Lab::new(&toml);
    let out = lab.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lab.statuses(), ["diverged"]);
    let error: String = lab.sql("SELECT error FROM runs");
    assert!(error.starts_with("diverged at step "), "{error}");
}

#[test]
fn a_run_whose_heartbeat_went_stale_is_shown_as_interrupted_and_resumes() {
    let toml = experiment("stale", "", "epochs = 1").replace("epochs = 3\n", "");
    let lab = Lab::new(&toml);
    assert!(
        lab.command(&["check", "exp.toml"])
            .output()
            .unwrap()
            .status
            .success()
    );
    // A run that a process on another machine claimed and stopped reporting on a minute ago.
    {
        let experiment =
            densenet_lab::spec::load_experiment(&lab.dir.path().join("exp.toml")).unwrap();
        let mut store = densenet_lab::store::Store::open(&lab.db()).unwrap();
        let runs = densenet_lab::runner::new_runs(&experiment.trials()).unwrap();
        store
            .register_sweep("stale", "", "exp.toml", &experiment.source, &runs)
            .unwrap();
        let remote = densenet_lab::store::Holder {
            pid: 4_000_000,
            started: Some("another-boot:1".into()),
            host: "another-host".into(),
        };
        store.claim_run(1, "cpu", &remote).unwrap();
        Connection::open(lab.db())
            .unwrap()
            .execute("UPDATE runs SET heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 seconds')", [])
            .unwrap();
    }
    let out = lab.command(&["runs", "--format", "csv"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().nth(1).unwrap().contains(",interrupted,"),
        "{text}"
    );
    assert_eq!(lab.statuses(), ["interrupted"]);

    let out = lab.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lab.statuses(), ["done"]);
}
