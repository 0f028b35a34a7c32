//! The exit-code rule of the README's table, row by row, with the real binary. Rows 1 (a
//! trial that fails) and 130 (Ctrl-C) are `a_panicking_trial_fails_alone_while_the_others_finish`
//! and `ctrl_c_leaves_stopped_runs_that_resume` in tests/resume.rs.

use std::path::Path;
use std::process::Stdio;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

/// The binary in `dir`, with its own database and an empty data folder.
fn lab(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("densenet-lab").unwrap();
    cmd.current_dir(dir)
        .env("DENSENET_LAB_DB", dir.join("lab.db"))
        .env("DENSENET_LAB_DATA", dir.join("no-data"))
        .env("RAYON_NUM_THREADS", "1");
    cmd
}

const ONE_TRIAL: &str = r#"
name = "one"
[data]
dataset = "mnist-mini"
train_samples = 100
test_samples = 50
[model]
growth_rate = 4
blocks = [1, 1]
[train]
epochs = 1
batch_size = 50
optimizer = { kind = "adam", lr = 1e-3 }
"#;

/// A store with one experiment, `one`, trained.
fn trained_store(dir: &Path) {
    std::fs::write(dir.join("one.toml"), ONE_TRIAL).unwrap();
    lab(dir).args(["run", "-q", "one.toml"]).assert().success();
}

/// Row 0: a reader that goes away before the output is written (`| head -1`) is a normal end:
/// status 0 and nothing on stderr, for every output format.
#[test]
fn a_closed_output_pipe_ends_with_status_0_and_no_error() {
    let dir = TempDir::new().unwrap();
    trained_store(dir.path());
    for format in ["table", "csv", "json", "jsonl"] {
        // The read end is closed before the program starts, so its first write fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("densenet-lab"))
            .current_dir(dir.path())
            .env("DENSENET_LAB_DB", dir.path().join("lab.db"))
            .args(["runs", "--format", format])
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert_eq!(stderr, "", "{format}");
    }
}

/// Row 0 again, with the reader going away in the middle of a long output (`query ... | head
/// -n 1`): every format ends with status 0 and nothing on stderr, csv included, whose writer
/// wraps the io error in its own.
#[test]
fn a_pipe_closed_mid_output_ends_with_status_0_and_no_error() {
    use std::io::Read;
    let dir = TempDir::new().unwrap();
    densenet_lab::store::Store::open(&dir.path().join("lab.db")).unwrap();
    let sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 200000) \
               SELECT x FROM c";
    for format in ["table", "csv", "json", "jsonl"] {
        let (mut reader, writer) = std::io::pipe().unwrap();
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("densenet-lab"))
            .current_dir(dir.path())
            .env("DENSENET_LAB_DB", dir.path().join("lab.db"))
            .args(["query", sql, "--format", format, "--timeout", "60"])
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The first bytes prove the output has begun; then the reader goes, as `head` does.
        let mut first = [0u8; 16];
        reader.read_exact(&mut first).unwrap();
        drop(reader);
        let out = wait_with_timeout(child, std::time::Duration::from_secs(60), format);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert_eq!(stderr, "", "{format}");
    }
}

/// The child's output once it exits, killing it (and failing the test) after `limit`.
fn wait_with_timeout(
    mut child: std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::Output {
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Row 2: the same status for every kind of bad input, each with a message naming it.
#[test]
fn bad_input_of_every_kind_exits_2_with_a_message() {
    let dir = TempDir::new().unwrap();
    trained_store(dir.path());
    let cases: [(&[&str], &str); 8] = [
        (&["run", "--jobs", "0", "one.toml"], "--jobs"),
        (&["bench", "one.toml", "--steps", "0"], "--steps"),
        (&["frobnicate"], "unrecognized subcommand"),
        (
            &["runs", "--experiment", "NOPE"],
            "no experiment named \"NOPE\"",
        ),
        (&["compare", "NOPE"], "no experiment named \"NOPE\""),
        (&["show", "99"], "no run with id 99"),
        (&["query", "DELETE FROM runs"], "read-only"),
        (&["data", "verify", "mnist"], "missing or broken under"),
    ];
    for (args, message) in cases {
        lab(dir.path())
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
}

/// `data verify` is a check a script can branch on: missing datasets fail it (naming them),
/// the built-in one passes alone, and an unknown name is refused.
#[test]
fn data_verify_fails_on_missing_datasets_and_passes_on_those_present() {
    let dir = TempDir::new().unwrap();
    // Fashion-MNIST may be found where Debian installs it, so only these two are sure to miss.
    lab(dir.path())
        .args(["data", "verify"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("missing"))
        .stderr(predicate::str::contains("missing or broken under"))
        .stderr(predicate::str::contains("mnist, "))
        .stderr(predicate::str::contains("cifar10"));
    lab(dir.path())
        .args(["data", "verify", "mnist-mini"])
        .assert()
        .success()
        .stdout(predicate::str::contains("mnist-mini"))
        .stdout(predicate::str::contains("cifar10").not());
    lab(dir.path())
        .args(["data", "verify", "imagenet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown dataset `imagenet`"));
}

/// Row 1 for a command other than `run`: the work itself failed (the chart cannot be written
/// where asked), not the input.
#[test]
fn a_failure_while_working_exits_1() {
    let dir = TempDir::new().unwrap();
    trained_store(dir.path());
    std::fs::write(dir.path().join("file"), "").unwrap();
    lab(dir.path())
        .args(["export", "--experiment", "one", "--out", "file/chart.png"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("chart.png"));
}
