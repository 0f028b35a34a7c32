//! Tests on the real datasets, run when `DENSENET_LAB_DATA` points at a folder holding
//! `mnist/` (`.ci/run` sets it). Unset, they print a SKIPPED line; set without the data, they
//! fail (`densenet_lab::preconditions`).

use assert_cmd::Command;
use tempfile::TempDir;

/// A small DenseNet (k=12, blocks 4-4, 7x7/2 stem with max-pool) for one epoch of MNIST.
const ONE_EPOCH: &str = r#"
name = "mnist-one-epoch"
[data]
dataset = "mnist"
[model]
growth_rate = 12
blocks = [4, 4]
stem = "imagenet"
[train]
epochs = 1
batch_size = 64
optimizer = { kind = "adam", lr = 2e-3 }
schedule = { kind = "cosine" }
seed = 1
log_every = 100
"#;

#[test]
fn one_epoch_of_full_mnist_reaches_97_percent() {
    let test = "one_epoch_of_full_mnist_reaches_97_percent";
    let Some(data) = densenet_lab::preconditions::real_data(test, "mnist") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("one-epoch.toml");
    std::fs::write(&file, ONE_EPOCH).unwrap();
    let db = dir.path().join("lab.db");
    Command::cargo_bin("densenet-lab")
        .unwrap()
        .current_dir(dir.path())
        .arg("--db")
        .arg(&db)
        .arg("--data-dir")
        .arg(&data)
        .arg("run")
        .arg(&file)
        .assert()
        .success();
    let out = Command::cargo_bin("densenet-lab")
        .unwrap()
        .arg("--db")
        .arg(&db)
        .args([
            "query",
            "--format",
            "csv",
            "SELECT final_test_accuracy FROM run_summary",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let accuracy: f64 = text.lines().nth(1).unwrap().parse().unwrap();
    eprintln!("one epoch of MNIST: test accuracy {accuracy}");
    assert!(accuracy >= 0.97, "test accuracy {accuracy}");
}
