//! `scripts/gpu-check.sh`, the one command a GPU machine gets: it must report a machine without
//! a GPU plainly, and on a GPU machine turn every measurement, failed or not, into a JSON line.
//! No GPU here, so the second test hands it a stand-in binary whose `cuda:0` is the CPU.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/gpu-check.sh")
}

fn gpu_check(binary: &Path, data: &Path, out: &Path) -> Output {
    Command::new("bash")
        .arg(script())
        .args([binary, data, out])
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .unwrap()
}

/// Every line of `file` parsed as JSON (each must parse).
fn json_lines(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{file:?}: {l:?}: {e}")))
        .collect()
}

#[test]
fn without_a_gpu_it_lists_the_devices_says_so_and_exits_3() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_densenet-lab"));
    let result = gpu_check(&binary, dir.path(), &out);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("no CUDA GPU usable by this binary"),
        "{stderr}"
    );
    let devices = json_lines(&out.join("devices.jsonl"));
    assert_eq!(devices[0]["device"], "cpu");
    assert_eq!(devices[0]["precisions"], "f32");
    let environment = json_lines(&out.join("environment.jsonl"));
    assert_eq!(environment[0]["check"], "environment");
    assert!(!out.join("bench.jsonl").exists(), "benched without a GPU");
}

/// MNIST's four IDX files, gzipped, with `train` and `test` random images.
fn write_mnist(dir: &Path, train: u32, test: u32) {
    let mnist = dir.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    let write = |name: &str, header: &[u32], body: Vec<u8>| {
        let file = std::fs::File::create(mnist.join(name)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        for word in header {
            gz.write_all(&word.to_be_bytes()).unwrap();
        }
        gz.write_all(&body).unwrap();
        gz.finish().unwrap();
    };
    for (prefix, n) in [("train", train), ("t10k", test)] {
        let pixels = (0..n * 784).map(|i| (i * 7 % 251) as u8).collect();
        let labels = (0..n).map(|i| (i % 10) as u8).collect();
        write(
            &format!("{prefix}-images-idx3-ubyte.gz"),
            &[0x803, n, 28, 28],
            pixels,
        );
        write(
            &format!("{prefix}-labels-idx1-ubyte.gz"),
            &[0x801, n],
            labels,
        );
    }
}

/// A binary that reports a `cuda:0` and runs it on the CPU, with benches cut to batch 2 and
/// one step: the script's whole path, in seconds.
fn stand_in_binary(dir: &Path) -> PathBuf {
    let path = dir.join("densenet-lab");
    let text = format!(
        r#"#!/usr/bin/env bash
real={real}
if [[ $1 == devices ]]; then
  "$real" "$@"
  echo '{{"device":"cuda:0","memory_gib":140.0,"name":"stand-in","precisions":"f32, bf16","status":"ok"}}'
  exit 0
fi
args=()
for a in "$@"; do
  case $a in cuda:0) a=cpu ;; 64) a=2 ;; 20) a=1 ;; esac
  args+=("$a")
done
exec "$real" "${{args[@]}}"
"#,
        real = env!("CARGO_BIN_EXE_densenet-lab")
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn on_a_gpu_machine_every_measurement_becomes_a_json_line() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    write_mnist(&data, 120, 40);
    let out = dir.path().join("out");
    let result = gpu_check(&stand_in_binary(dir.path()), &data, &out);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");

    let bench = json_lines(&out.join("bench.jsonl"));
    let experiments = ["seed-mnist", "seed-cifar10", "densenet-bc-100"];
    assert_eq!(bench.len(), 6, "{bench:?}");
    for (i, name) in experiments.iter().enumerate() {
        // f32: measured.
        let f32_line = &bench[2 * i];
        assert_eq!(
            (&f32_line["experiment"], &f32_line["precision"]),
            (&Value::from(*name), &Value::from("f32"))
        );
        assert!(
            f32_line["train_images_per_sec"].as_f64().unwrap() > 0.0,
            "{f32_line}"
        );
        // bf16 on what is really the CPU: refused, and the refusal kept as a line and a file.
        let bf16_line = &bench[2 * i + 1];
        assert_eq!(bf16_line["precision"], "bf16");
        assert_eq!(bf16_line["exit_status"], 2, "{bf16_line}");
        let stderr_file = out.join(bf16_line["stderr"].as_str().unwrap());
        let message = std::fs::read_to_string(stderr_file).unwrap();
        assert!(message.contains("computes in f32 only"), "{message}");
    }

    let epoch = json_lines(&out.join("mnist-epoch.jsonl"));
    assert_eq!(epoch.len(), 1, "{epoch:?}");
    let epoch = &epoch[0];
    assert_eq!(epoch["check"], "mnist-one-epoch");
    assert_eq!(
        (&epoch["status"], &epoch["exit_status"]),
        (&Value::from("done"), &Value::from(0)),
        "{epoch}"
    );
    let accuracy = epoch["test_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&accuracy), "{epoch}");
    assert!(epoch["wall_seconds"].as_f64().unwrap() > 0.0, "{epoch}");
}
