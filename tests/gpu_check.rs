//! `scripts/gpu-check.sh`, the one command a GPU machine gets: it must say in one line why a
//! binary cannot use the GPU (and exit 3), and on a GPU machine turn every measurement, failed
//! or not, into a JSON line. The tests hand it stand-in binaries (a `cuda:0` that a build
//! without `cuda` reports, a `cuda:0` that is really the CPU), so they hold on any host.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/gpu-check.sh")
}

fn gpu_check(binary: &Path, data: &Path, out: &Path, env: &[(&str, &Path)]) -> Output {
    let mut cmd = gpu_check_command(&[binary, data, out]);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

/// `bash scripts/gpu-check.sh ARGS...` on two CPU threads.
fn gpu_check_command(args: &[&Path]) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script()).args(args).env("RAYON_NUM_THREADS", "2");
    cmd
}

/// What the CUDA backend needs beside the driver, as a GPU machine has them: a folder with
/// `include/cuda_runtime.h` and `lib64/libnvrtc.so.13`, and the environment naming it.
fn cuda_toolkit_stand_in(dir: &Path) -> [(&'static str, PathBuf); 2] {
    let cuda = dir.join("cuda");
    std::fs::create_dir_all(cuda.join("include")).unwrap();
    std::fs::create_dir_all(cuda.join("lib64")).unwrap();
    std::fs::write(cuda.join("include/cuda_runtime.h"), "").unwrap();
    std::fs::write(cuda.join("lib64/libnvrtc.so.13"), "").unwrap();
    [("LD_LIBRARY_PATH", cuda.join("lib64")), ("CUDA_PATH", cuda)]
}

/// The script refused with exactly one `cannot use the GPU` line, exit status 3, the same
/// reason in usable.jsonl, and measured nothing; returns the reason.
fn refused(result: &Output, out: &Path) -> String {
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(3), "{stderr}");
    let prefix = "gpu-check: cannot use the GPU: ";
    let reasons: Vec<&str> = stderr.lines().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(reasons.len(), 1, "{stderr}");
    let reason = reasons[0].trim_start_matches(prefix).to_string();
    let usable = json_lines(&out.join("usable.jsonl"));
    assert_eq!(
        (&usable[0]["ok"], &usable[0]["reason"]),
        (&Value::Bool(false), &Value::from(reason.as_str()))
    );
    assert!(
        !out.join("bench.jsonl").exists(),
        "benched without a usable GPU"
    );
    reason
}

/// Every line of `file` parsed as JSON (each must parse).
fn json_lines(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{file:?}: {l:?}: {e}")))
        .collect()
}

/// The real binary of this test build: on a host without a GPU the driver has none; on a GPU
/// host this build (no `cuda` feature) cannot use it. Either way: one line, status 3.
#[test]
fn the_test_build_cannot_use_a_gpu_and_says_why_in_one_line() {
    if densenet_lab::devices::CUDA_BUILT {
        let test = "the_test_build_cannot_use_a_gpu_and_says_why_in_one_line";
        let why = "this test build has the `cuda` feature, so it may really use a GPU";
        densenet_lab::preconditions::missing(test, "no-cuda-build", why);
        return;
    }
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_densenet-lab"));
    let result = gpu_check(&binary, dir.path(), &out, &[]);
    let reason = refused(&result, &out);
    assert!(
        reason.starts_with("no CUDA GPU") || reason.contains("no CUDA backend"),
        "{reason}"
    );
    let devices = json_lines(&out.join("devices.jsonl"));
    assert_eq!(devices[0]["device"], "cpu");
    assert_eq!(devices[0]["precisions"], "f32, bf16");
}

/// What a build without `cuda` prints on a GPU machine: the GPU is listed, `not usable`.
#[test]
fn a_binary_built_without_cuda_on_a_gpu_machine_is_refused_with_the_rebuild_hint() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let gpu = r#"{"device":"cuda:0","memory_gib":140.0,"name":"NVIDIA H200","precisions":null,"status":"not usable: this build has no CUDA backend (cargo build --release --features cuda)"}"#;
    let binary = stand_in_binary(dir.path(), gpu);
    let reason = refused(&gpu_check(&binary, dir.path(), &out, &[]), &out);
    assert!(
        reason.starts_with(
            "cuda:0 is not usable: this build has no CUDA backend (cargo build --release --features cuda); no wgpu GPU: "
        ),
        "{reason}"
    );
}

/// Mesa's llvmpipe is a wgpu adapter of kind `cpu`: not a GPU to measure.
#[test]
fn a_software_vulkan_adapter_alone_is_refused_as_no_gpu() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let llvmpipe = r#"{"device":"wgpu:0","name":"llvmpipe (LLVM 15.0.6, 256 bits)","backend":"wgpu (vulkan)","kind":"cpu","memory_gib":null,"precisions":"f32","status":"ok (llvmpipe Mesa 22.3.6)"}"#;
    let binary = stand_in_binary(dir.path(), llvmpipe);
    let reason = refused(&gpu_check(&binary, dir.path(), &out, &[]), &out);
    assert!(
        reason.ends_with(
            "; no wgpu GPU: wgpu:0 is a software adapter (llvmpipe (LLVM 15.0.6, 256 bits))"
        ),
        "{reason}"
    );
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

/// What the stand-in's bf16 benches print before they fail.
const STAND_IN_BF16_FAILURE: &str = "stand-in: the bf16 kernels failed to launch";

/// A binary whose `devices` adds the JSON line `gpu`, and that runs `cuda:0` and `wgpu:0` on
/// the CPU, with benches cut to batch 2 and one step: the script's whole path, in seconds.
/// Its bf16 benches fail (exit 2, [`STAND_IN_BF16_FAILURE`] on stderr), as a GPU's can, so
/// that the scripts' lines for a failed measurement are checked too.
fn stand_in_binary(dir: &Path, gpu: &str) -> PathBuf {
    let path = dir.join("densenet-lab");
    let text = format!(
        r#"#!/usr/bin/env bash
real={real}
if [[ $1 == devices ]]; then
  "$real" "$@"
  echo '{gpu}'
  exit 0
fi
if [[ $1 == bench && " $* " == *" bf16 "* ]]; then
  echo "error: {failure}" >&2
  exit 2
fi
args=()
for a in "$@"; do
  case $a in cuda:0|wgpu:0) a=cpu ;; 64) a=2 ;; 20) a=1 ;; esac
  args+=("$a")
done
exec "$real" "${{args[@]}}"
"#,
        real = env!("CARGO_BIN_EXE_densenet-lab"),
        failure = STAND_IN_BF16_FAILURE,
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
    let gpu = r#"{"device":"cuda:0","memory_gib":140.0,"name":"stand-in","precisions":"f32, bf16","status":"ok (driver 13.0)"}"#;
    let cuda = cuda_toolkit_stand_in(dir.path());
    let env = cuda.each_ref().map(|(key, value)| (*key, value.as_path()));
    let result = gpu_check(&stand_in_binary(dir.path(), gpu), &data, &out, &env);
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
        // bf16, which the stand-in fails: the failure kept as a line and a file.
        let bf16_line = &bench[2 * i + 1];
        assert_eq!(bf16_line["precision"], "bf16");
        assert_eq!(bf16_line["exit_status"], 2, "{bf16_line}");
        let stderr_file = out.join(bf16_line["stderr"].as_str().unwrap());
        let message = std::fs::read_to_string(stderr_file).unwrap();
        assert!(message.contains(STAND_IN_BF16_FAILURE), "{message}");
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

/// A GPU reached through wgpu (an AMD card, say) with f32 only: measured, bf16 skipped.
#[test]
fn a_wgpu_gpu_is_measured_and_the_precisions_it_lacks_are_skipped() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    write_mnist(&data, 120, 40);
    let out = dir.path().join("out");
    let gpu = r#"{"device":"wgpu:0","name":"AMD Radeon stand-in","backend":"wgpu (vulkan)","kind":"discrete-gpu","memory_gib":null,"precisions":"f32","status":"ok (radv Mesa)"}"#;
    let result = gpu_check(&stand_in_binary(dir.path(), gpu), &data, &out, &[]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    assert!(
        !out.join("environment.jsonl").exists(),
        "looked for CUDA without a CUDA device"
    );
    let bench = json_lines(&out.join("bench.jsonl"));
    assert_eq!(bench.len(), 6, "{bench:?}");
    for pair in bench.chunks(2) {
        assert_eq!(pair[0]["precision"], "f32");
        assert!(
            pair[0]["train_images_per_sec"].as_f64().unwrap() > 0.0,
            "{}",
            pair[0]
        );
        assert_eq!(
            (&pair[1]["precision"], &pair[1]["skipped"]),
            (&Value::from("bf16"), &Value::from("wgpu:0 lists f32"))
        );
    }
    let epoch = json_lines(&out.join("mnist-epoch.jsonl"));
    assert_eq!(epoch.len(), 1, "{epoch:?}");
    assert_eq!(epoch[0]["status"], "done", "{}", epoch[0]);
}

/// A stand-in for the PyTorch peer: train and eval images/s from its flags (NCHW f32 1,000,
/// channels-last twice that, bf16 three times), as `torch_densenet.py --device cuda` prints them.
fn stand_in_peer(dir: &Path) -> PathBuf {
    let path = dir.join("torch_densenet.py");
    let text = r#"import json, sys
args = sys.argv[1:]
config = args[args.index("--config") + 1]
batch = int(args[args.index("--batch") + 1])
speed = 1000.0 * (2 if "--channels-last" in args else 1) * (3 if "--amp" in args else 1)
print("a line that is not JSON")
print(json.dumps(dict(config=config, batch=batch, fwd_flops_per_image=1e6,
    train_images_per_s=speed, eval_images_per_s=4 * speed, peak_gpu_mem_mb=123.0,
    device="cuda:0", amp="bf16" if "--amp" in args else "f32")))
"#;
    std::fs::write(&path, text).unwrap();
    path
}

fn vs_torch_lines(out: &Path) -> Vec<Value> {
    json_lines(&out.join("vs-torch.jsonl"))
}

/// `gpu-check.sh BINARY DATA OUT PEER` on a CUDA machine first runs ours and the peer
/// alternately, round by round, and sums them up as medians and ratios to the better peer
/// layout, with the fraction of the GPU's peak.
#[test]
fn with_the_peer_the_check_runs_ours_and_pytorch_alternately_and_tabulates_ratios() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    write_mnist(&data, 120, 40);
    let out = dir.path().join("out");
    let gpu = r#"{"device":"cuda:0","memory_gib":140.0,"name":"NVIDIA H200","precisions":"f32, bf16","status":"ok (driver 13.0)"}"#;
    let peer = stand_in_peer(dir.path());
    let binary = stand_in_binary(dir.path(), gpu);
    let result = gpu_check_command(&[&binary, &data, &out, &peer])
        .envs(cuda_toolkit_stand_in(dir.path()))
        .env("PYTHON", "python3")
        // The stand-in binary turns batch 64 into 2 and 20 steps into 1.
        .env("GPU_VS_TORCH_BATCHES", "64")
        .env("GPU_VS_TORCH_ROUNDS", "2")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");

    let lines = vs_torch_lines(&out);
    // 3 models x 1 batch x 2 rounds x (ours f32, bf16; torch f32, f32-cl, bf16, bf16-cl).
    assert_eq!(lines.len(), 36, "{lines:?}");
    let order: Vec<(String, String)> = lines[..6]
        .iter()
        .map(|l| {
            (
                l["side"].as_str().unwrap().to_string(),
                l["variant"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("ours", "f32"),
        ("torch", "f32"),
        ("torch", "f32-cl"),
        ("ours", "bf16"),
        ("torch", "bf16"),
        ("torch", "bf16-cl"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(order, want, "not alternating ours and the peer");
    assert_eq!(lines[0]["model"], "seed-mnist");
    assert_eq!(lines[35]["round"], 2);
    // bf16, which the stand-in fails, says so in a line.
    assert_eq!(lines[3]["exit_status"], 2, "{}", lines[3]);

    let summary = json_lines(&out.join("vs-torch-summary.jsonl"));
    assert_eq!(summary.len(), 6, "{summary:?}");
    let f32_mnist = &summary[0];
    assert_eq!(
        (&f32_mnist["model"], &f32_mnist["precision"]),
        (&Value::from("seed-mnist"), &Value::from("f32"))
    );
    let ours: Vec<f64> = lines
        .iter()
        .filter(|l| l["side"] == "ours" && l["model"] == "seed-mnist" && l["variant"] == "f32")
        .map(|l| l["train_images_per_sec"].as_f64().unwrap())
        .collect();
    assert_eq!(ours.len(), 2);
    // The median of two is their mean; the better peer layout is channels-last (2,000).
    let median = (ours[0] + ours[1]) / 2.0;
    let ratio = f32_mnist["ratio_train"].as_f64().unwrap();
    assert!((ratio - median / 2000.0).abs() < 1e-3, "{f32_mnist}");
    assert_eq!(f32_mnist["torch_train"], 1000.0);
    assert_eq!(f32_mnist["torch_train_channels_last"], 2000.0);
    // 3 x 1 MFLOP per trained image at 2,000 images/s of an H200's 495 TFLOP/s (TF32).
    let fraction = f32_mnist["torch_train_peak_fraction"].as_f64().unwrap();
    let want = 6e9 / 495e12;
    assert!((fraction - want).abs() < 1e-3 * want, "{f32_mnist}");
    assert!(f32_mnist["ours_first_step_ms_cold"].as_f64().unwrap() > 0.0);
    assert!(f32_mnist["ours_first_step_ms_warm"].as_f64().unwrap() > 0.0);
    assert_eq!(f32_mnist["torch_gpu_mib"], 123.0);
    let bf16 = &summary[1];
    assert_eq!(bf16["precision"], "bf16");
    assert_eq!(
        (&bf16["ours_train"], &bf16["ratio_train"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(bf16["torch_train_channels_last"], 6000.0);

    let table = std::fs::read_to_string(out.join("vs-torch.md")).unwrap();
    assert!(table.contains("GPU: NVIDIA H200"), "{table}");
    for model in ["seed-mnist", "bake-off", "densenet-bc-100"] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(&format!("| {model} | 64 | f32 |"))),
            "{table}"
        );
    }
    assert!(
        table.contains("measurement(s) skipped or failed"),
        "{table}"
    );
    // The rest of the check still ran after the side-by-side.
    assert!(!json_lines(&out.join("bench.jsonl")).is_empty());
}

/// Past its time budget the side-by-side starts nothing more and says so in each line.
#[test]
fn the_side_by_side_starts_nothing_past_its_budget() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let gpu = r#"{"device":"cuda:0","memory_gib":140.0,"name":"NVIDIA H200","precisions":"f32","status":"ok (driver 13.0)"}"#;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/gpu-vs-torch.sh");
    let result = Command::new("bash")
        .arg(script)
        .arg(stand_in_binary(dir.path(), gpu))
        .arg(stand_in_peer(dir.path()))
        .arg(&out)
        .env("PYTHON", "python3")
        .env("GPU_VS_TORCH_MAX_S", "-1")
        .env("GPU_VS_TORCH_ROUNDS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    let lines = vs_torch_lines(&out);
    // 3 models x 2 batches x 6 measurements, none started.
    assert_eq!(lines.len(), 36);
    for line in &lines {
        assert!(line["skipped"].is_string(), "{line}");
    }
    assert!(lines.iter().any(|l| l["skipped"] == "cuda:0 lists f32"));
    let table = std::fs::read_to_string(out.join("vs-torch.md")).unwrap();
    assert!(
        table.contains("36 measurement(s) skipped or failed"),
        "{table}"
    );
}
