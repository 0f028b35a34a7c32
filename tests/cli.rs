//! The command line end to end, as a user calls it: the real binary, a real SQLite file.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary, run in `dir` with its own database and no data folder of the user's.
fn lab(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("densenet-lab").unwrap();
    cmd.current_dir(dir)
        .env("DENSENET_LAB_DB", dir.join("lab.db"))
        .env("DENSENET_LAB_DATA", dir.join("no-data"))
        .env("RAYON_NUM_THREADS", "2");
    cmd
}

/// A tiny sweep: 2 trials x 1 epoch on 300 images of the bundled mnist-mini.
const TINY: &str = r#"
name = "tiny"
description = "two tiny trials"

[data]
dataset = "mnist-mini"
train_samples = 300
test_samples = 100

[model]
growth_rate = 4
blocks = [2, 2]
stem = "imagenet"

[train]
epochs = 1
batch_size = 50
optimizer = { kind = "adam", lr = 1e-3 }
log_every = 2

[sweep]
strategy = "grid"
[sweep.axes]
"model.dropout" = [0.0, 0.2]
"#;

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

/// All records of a CSV text, header first.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn check_lists_the_eight_trials_of_growth_depth_dropout_with_parameter_counts() {
    let dir = TempDir::new().unwrap();
    let file = repo().join("experiments/growth-depth-dropout.toml");
    let out = stdout_of(
        lab(dir.path())
            .args(["check", "--format", "csv"])
            .arg(&file),
    );
    let rows = csv_rows(&out);
    assert_eq!(rows[0][..4], ["trial", "seed", "overrides", "params"]);
    assert_eq!(rows.len(), 9, "{out}");
    let params: Vec<u64> = rows[1..].iter().map(|r| r[3].parse().unwrap()).collect();
    // growth 12 x blocks 4-4-4-4 x dropout 0: hand-computed in tests/model.rs.
    assert!(params.contains(&115_474), "{params:?}");
    // Dropout does not change the parameter count; blocks and growth do.
    assert_eq!(params[0], params[1]);
    assert_ne!(params[0], params[2]);
    assert!(
        !dir.path().join("lab.db").exists(),
        "check must not create the store"
    );
}

#[test]
fn broken_file_gets_a_located_error_exit_2_and_the_store_untouched() {
    let dir = TempDir::new().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        TINY.replace("growth_rate = 4", "growth_rate = 4\ndropout = 1.5"),
    )
    .unwrap();
    for cmd in ["check", "run"] {
        lab(dir.path())
            .arg(cmd)
            .arg(&bad)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("bad.toml:12:11"))
            .stderr(predicate::str::contains("model.dropout"))
            .stderr(predicate::str::contains("1.5"));
    }
    assert!(!dir.path().join("lab.db").exists());
}

#[test]
fn unknown_key_and_syntax_errors_are_located() {
    let dir = TempDir::new().unwrap();
    let bad = dir.path().join("typo.toml");
    std::fs::write(&bad, TINY.replace("growth_rate = 4", "growth_rat = 4")).unwrap();
    lab(dir.path())
        .arg("check")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("typo.toml:11:1").and(predicate::str::contains("growth_rat")),
        );
    std::fs::write(&bad, "name = \"x\"\n[data\n").unwrap();
    lab(dir.path())
        .arg("check")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("typo.toml:2:"));
}

#[test]
fn run_records_every_trial_and_the_read_commands_show_them() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("tiny.toml");
    std::fs::write(&file, TINY).unwrap();
    let out = stdout_of(lab(dir.path()).arg("run").arg(&file));
    assert!(out.contains("2 trained, 0 already done, 0 failed"), "{out}");
    assert!(dir.path().join("lab.db").exists());
    // One process per trial, each with its log and its last epoch's checkpoint.
    for run in ["runs/1", "runs/2"] {
        let run = dir.path().join(run);
        assert!(run.join("epoch-0001/model.mpk").exists());
        assert!(run.join("epoch-0001/optimizer.mpk").exists());
        assert!(run.join("trial.log").exists());
    }

    let runs = csv_rows(&stdout_of(
        lab(dir.path()).args(["runs", "--format", "csv"]),
    ));
    assert_eq!(runs.len(), 3);
    assert!(
        runs[1..].iter().all(|r| r[3] == "done" && r[5] == "1/1"),
        "{runs:?}"
    );

    // One epoch: per-epoch rows for train/test and step rows every 2 steps (6 steps).
    let q = "SELECT split, name, count(*) FROM metrics WHERE run_id = 1 GROUP BY scope, split, name ORDER BY scope, split, name";
    let counts = stdout_of(lab(dir.path()).args(["query", "--format", "csv", q]));
    assert!(
        counts.contains("test,accuracy,1\n") && counts.contains("train,loss,3\n"),
        "{counts}"
    );

    let summary = stdout_of(lab(dir.path()).args([
        "query",
        "--format",
        "json",
        "SELECT dropout, status, epochs_done FROM run_summary ORDER BY run_id",
    ]));
    let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(v[1]["dropout"], 0.2);
    assert_eq!(v[0]["status"], "done");

    let compare = csv_rows(&stdout_of(
        lab(dir.path()).args(["compare", "tiny", "--format", "csv"]),
    ));
    assert_eq!(compare[0][..2], ["model.dropout", "runs"]);
    assert_eq!(compare.len(), 3);

    let show = stdout_of(lab(dir.path()).args(["show", "2"]));
    assert!(
        show.contains("run 2 of tiny") && show.contains("done"),
        "{show}"
    );
    // The weight rule is shown, named in the config even where the file left it out.
    assert!(show.contains("\n  init he_normal\n"), "{show}");
    assert!(show.contains(r#""init":"he_normal""#), "{show}");

    // Re-running the same file finds the finished runs by their hashes.
    let again = stdout_of(lab(dir.path()).arg("run").arg(&file));
    assert!(again.contains("0 trained, 2 already done"), "{again}");
}

/// On a terminal `run` ends by naming the next commands (with the `--db` it used); piped, its
/// output stays as scripts know it. `script` (util-linux/bsdutils) gives it a terminal.
#[test]
fn run_on_a_terminal_names_the_next_commands_and_piped_it_does_not() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    let piped = stdout_of(lab(dir.path()).args(["run", "tiny.toml"]));
    assert!(piped.contains("tiny: 2 trained"), "{piped}");
    assert!(!piped.contains("next:"), "{piped}");

    let bin = assert_cmd::cargo::cargo_bin("densenet-lab");
    let db = dir.path().join("lab.db");
    let out = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{} run tiny.toml", bin.display()),
            "/dev/null",
        ])
        .current_dir(dir.path())
        .env("DENSENET_LAB_DB", &db)
        .env("DENSENET_LAB_DATA", dir.path().join("no-data"))
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("tiny: 0 trained, 2 already done"),
        "{screen}"
    );
    let next = format!(
        "next: `densenet-lab --db {}` opens the dashboard",
        db.display()
    );
    assert!(screen.contains(&next), "{screen}");
    assert!(
        screen.contains("compare tiny` tabulates test accuracy"),
        "{screen}"
    );
}

/// A `running` run whose process is gone (its heartbeat still fresh) reads as `interrupted` in
/// `runs` and `show` at once, and these read-only commands leave the store as it was.
#[test]
fn runs_and_show_read_a_run_whose_process_is_dead_as_interrupted_without_writing() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    lab(dir.path())
        .args(["run", "-q", "tiny.toml"])
        .assert()
        .success();
    // Run 1 held by a process that has exited since (its heartbeat is still fresh).
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = densenet_lab::runner::liveness::holder(gone.id());
    gone.wait().unwrap();
    let db = dir.path().join("lab.db");
    let mut store = densenet_lab::store::Store::open(&db).unwrap();
    store.reset_run(1).unwrap();
    store.claim_run(1, "cpu", &dead).unwrap();
    drop(store);

    let table = csv_rows(&stdout_of(
        lab(dir.path()).args(["runs", "--format", "csv"]),
    ));
    let status = table[0].iter().position(|c| c == "status").unwrap();
    assert_eq!(
        (table[1][0].as_str(), table[1][status].as_str()),
        ("1", "interrupted")
    );
    assert_eq!(table[2][status], "done");
    let shown = stdout_of(lab(dir.path()).args(["show", "1"]));
    assert!(
        shown.lines().next().unwrap().ends_with("interrupted"),
        "{shown}"
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    let stored: String = conn
        .query_row("SELECT status FROM runs WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, "running", "a read-only command reaped the run");
}

/// `runs/<id>/trial.log` says what the trial did: how it started, every epoch's figures and
/// checkpoint, how it ended.
#[test]
fn the_trial_log_tells_the_start_every_epoch_and_the_end() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("tiny.toml"),
        TINY.replace("epochs = 1", "epochs = 2"),
    )
    .unwrap();
    lab(dir.path())
        .args(["run", "-q", "tiny.toml"])
        .assert()
        .success();
    let log = std::fs::read_to_string(dir.path().join("runs/1/trial.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert!(
        lines[0].contains("run 1: 2 epochs of mnist-mini on cpu, from the start"),
        "{log}"
    );
    for (line, epoch) in lines[1..3].iter().zip(1..) {
        assert!(
            line.contains(&format!("run 1: epoch {epoch}/2: train loss ")),
            "{log}"
        );
        assert!(line.contains("test accuracy"), "{log}");
        assert!(line.contains(&format!("epoch-{epoch:04}")), "{log}");
    }
    assert!(lines[3].ends_with("run 1: done"), "{log}");
}

#[test]
fn query_refuses_writes_and_bad_sql_with_exit_2() {
    let dir = TempDir::new().unwrap();
    densenet_lab::store::Store::open(&dir.path().join("lab.db")).unwrap();
    lab(dir.path())
        .args(["query", "UPDATE runs SET status = 'done'"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("read-only"));
    lab(dir.path())
        .args(["query", "SELEC 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SQL error"));
}

#[test]
fn unknown_run_and_missing_database_are_clear_errors() {
    let dir = TempDir::new().unwrap();
    lab(dir.path())
        .args(["runs"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no results database"));
    densenet_lab::store::Store::open(&dir.path().join("lab.db")).unwrap();
    lab(dir.path())
        .args(["show", "42"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no run with id 42"));
    lab(dir.path())
        .args(["compare", "nothing"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no experiment named \"nothing\""));
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("lab.db"),
        "this is not sqlite, just text ".repeat(100),
    )
    .unwrap();
    lab(dir.path())
        .args(["runs"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a SQLite database"));
}

#[test]
fn new_writes_a_template_that_check_accepts() {
    let dir = TempDir::new().unwrap();
    lab(dir.path()).args(["new", "ablation"]).assert().success();
    let file = dir.path().join("experiments/ablation.toml");
    assert!(file.exists());
    lab(dir.path())
        .arg("check")
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("ablation"));
    lab(dir.path())
        .args(["new", "ablation"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    lab(dir.path()).args(["new", "../escape"]).assert().code(2);
}

#[test]
fn cuda_device_without_support_is_an_error_not_a_panic() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("tiny.toml");
    std::fs::write(&file, TINY).unwrap();
    let assert = lab(dir.path())
        .args(["bench", "--steps", "1", "--device", "cuda:0"])
        .arg(&file)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("cuda:0") && !stderr.contains("panicked"),
        "{stderr}"
    );
    lab(dir.path())
        .args(["run", "--device", "tpu"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`tpu`"));
}

#[test]
fn bench_prints_one_json_line_of_throughput() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("tiny.toml");
    std::fs::write(&file, TINY).unwrap();
    let out = stdout_of(
        lab(dir.path())
            .args(["bench", "--batch", "8", "--steps", "2"])
            .arg(&file),
    );
    assert_eq!(out.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["train_images_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["eval_images_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(v["batch_size"], 8);
    assert_eq!(v["device"], "cpu");
}

#[test]
fn data_verify_checks_the_bundled_set_and_names_a_broken_file() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("no-data/mnist");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("t10k-labels-idx1-ubyte"),
        [0u8, 0, 8, 1, 0, 0, 0x27, 0x10, 1, 2],
    )
    .unwrap();
    lab(dir.path())
        .args(["data", "verify", "--format", "csv"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("mnist-mini"))
        .stdout(predicate::str::contains("t10k-labels-idx1-ubyte"));
}

#[test]
fn the_files_device_is_used_unless_the_flag_overrides_it() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("gpu.toml");
    let with_device = TINY.replace(
        "description = \"two tiny trials\"",
        "description = \"two tiny trials\"\ndevice = \"cuda:0\"",
    );
    std::fs::write(&file, &with_device).unwrap();
    // This build has no CUDA (or this machine no GPU): refused before anything is written.
    lab(dir.path())
        .arg("run")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("device cuda:0"));
    assert!(!dir.path().join("lab.db").exists());
    // The flag wins over the file.
    lab(dir.path())
        .args(["run", "--device", "cpu"])
        .arg(&file)
        .assert()
        .success();
    // A device name the trainer does not know is a located error in the file.
    std::fs::write(&file, with_device.replace("cuda:0", "tpu")).unwrap();
    lab(dir.path())
        .arg("check")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gpu.toml:4:10: device"));
}

/// Table 2 of Huang et al. (CVPR 2017), CIFAR-10: each row's file and its parameter count in
/// millions, as the paper prints it (one decimal).
const PAPER_TABLE_2: [(&str, f64); 6] = [
    ("densenet-40-k12", 1.0),
    ("densenet-100-k12", 7.0),
    ("densenet-100-k24", 27.2),
    ("densenet-bc-100", 0.8),
    ("densenet-bc-250-k24", 15.3),
    ("densenet-bc-190-k40", 25.6),
];

#[test]
fn check_counts_every_row_of_the_papers_table_2_to_its_one_decimal() {
    let dir = TempDir::new().unwrap();
    for (name, millions) in PAPER_TABLE_2 {
        let file = repo().join(format!("experiments/{name}.toml"));
        let out = stdout_of(
            lab(dir.path())
                .args(["check", "--format", "csv"])
                .arg(&file),
        );
        let rows = csv_rows(&out);
        assert_eq!(rows.len(), 2, "{name}: one trial\n{out}");
        let params: u64 = rows[1][3].parse().unwrap();
        let rounded = (params as f64 / 1e5).round() / 10.0;
        assert_eq!(rounded, millions, "{name}: {params} parameters");
    }
}
