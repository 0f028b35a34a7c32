//! A `wgpu` build on a machine with a Vulkan adapter (in CI, Mesa's llvmpipe): `devices` lists
//! it, `run --device wgpu:0` trains a sweep into the store, and what the adapter cannot do is
//! refused before anything is written. The GPU recipe's numbers are checked in the library's
//! tests (`src/train/backends/wgpu_tests.rs`).
#![cfg(feature = "wgpu")]

use std::process::Output;

use serde_json::Value;

mod common;

use common::Lab;

const SWEEP: &str = r#"
name = "tiny-wgpu"
[data]
dataset = "mnist-mini"
train_samples = 200
test_samples = 100
[model]
growth_rate = 4
blocks = [2, 2]
dropout = 0.1
[train]
epochs = 2
batch_size = 50
log_every = 2
optimizer = { kind = "adam", lr = 2e-3 }
[sweep.axes]
"model.growth_rate" = [4, 6]
"#;

/// The first adapter, or `None` after a visible skip (a failure where `wgpu` is promised).
fn adapter(test: &str) -> Option<densenet_lab::devices::WgpuAdapter> {
    match densenet_lab::devices::check_wgpu_device(0) {
        Ok(adapter) => Some(adapter),
        Err(e) => {
            densenet_lab::preconditions::missing(test, "wgpu", &e.to_string());
            None
        }
    }
}

fn refused(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn devices_lists_the_adapter_with_its_name_backend_and_precisions() {
    let Some(adapter) = adapter("devices_lists_the_adapter_...") else {
        return;
    };
    let lab = Lab::new(SWEEP);
    let out = lab
        .command(&["devices", "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let rows: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = rows
        .iter()
        .find(|r| r["device"] == "wgpu:0")
        .unwrap_or_else(|| panic!("no wgpu:0 in {rows:?}"));
    assert_eq!(row["name"], adapter.name.as_str());
    assert_eq!(row["backend"], format!("wgpu ({})", adapter.api));
    assert_eq!(row["kind"], adapter.kind.to_string());
    assert!(
        row["precisions"].as_str().unwrap().starts_with("f32"),
        "{row}"
    );
    assert!(row["status"].as_str().unwrap().starts_with("ok"), "{row}");
}

#[test]
fn run_on_wgpu_0_trains_every_trial_and_stores_its_rows() {
    if adapter("run_on_wgpu_0_trains_every_trial_...").is_none() {
        return;
    }
    let lab = Lab::new(SWEEP);
    let out = lab
        .command(&["run", "-q", "exp.toml", "--device", "wgpu:0", "--jobs", "2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let done: i64 =
        lab.sql("SELECT count(*) FROM runs WHERE status = 'done' AND device = 'wgpu:0'");
    assert_eq!(done, 2);
    // Two epochs of 4 steps, logged every 2: 2 step rows and 2 epoch rows of train loss each.
    let step_rows: i64 = lab.sql(
        "SELECT count(*) FROM metrics WHERE name = 'loss' AND scope = 'step' AND split = 'train'",
    );
    assert_eq!(step_rows, 2 * 4);
    let accuracy: f64 = lab.sql("SELECT min(final_test_accuracy) FROM run_summary");
    assert!(accuracy > 0.0, "test accuracy {accuracy}");
    // The same rows (trials, epochs, steps, metrics) as the same sweep on the cpu; the values
    // differ, since device dropout draws other masks than the host's.
    let cpu = Lab::new(SWEEP);
    let out = cpu.command(&["run", "-q", "exp.toml"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let (on_gpu, on_cpu) = (lab.curve(None), cpu.curve(None));
    assert_eq!(on_gpu.len(), on_cpu.len());
    for (g, c) in on_gpu.iter().zip(&on_cpu) {
        assert_eq!(
            (g.0, g.1, g.2, &g.3, &g.4, &g.5),
            (c.0, c.1, c.2, &c.3, &c.4, &c.5)
        );
    }
}

#[test]
fn bf16_on_an_adapter_without_it_is_refused_at_the_value_in_the_file() {
    let Some(adapter) = adapter("bf16_on_an_adapter_without_it_...") else {
        return;
    };
    let lab = Lab::new(&SWEEP.replace("log_every = 2\n", "log_every = 2\nprecision = \"bf16\"\n"));
    let out = lab
        .command(&["run", "-q", "exp.toml", "--device", "wgpu:0"])
        .output()
        .unwrap();
    if out.status.success() {
        densenet_lab::preconditions::missing(
            "bf16_on_an_adapter_without_it_...",
            "wgpu-without-bf16",
            "wgpu:0 computes bf16",
        );
        return;
    }
    let stderr = refused(&out);
    let needle = format!(
        "exp.toml:15:13: train.precision: \"bf16\" cannot run on wgpu:0: burn's wgpu backend has no bf16 arithmetic on {}",
        adapter.name
    );
    assert!(stderr.contains(&needle), "{stderr}");
    assert!(!lab.db().exists(), "the store was created");
}

#[test]
fn an_adapter_index_past_the_last_is_refused_with_the_count() {
    if adapter("an_adapter_index_past_the_last_...").is_none() {
        return;
    }
    let count = densenet_lab::devices::wgpu_adapters().unwrap().len();
    let lab = Lab::new(SWEEP);
    let out = lab
        .command(&[
            "run",
            "-q",
            "exp.toml",
            "--device",
            &format!("wgpu:{count}"),
        ])
        .output()
        .unwrap();
    let stderr = refused(&out);
    assert!(
        stderr.contains(&format!(
            "no such device wgpu:{count}: wgpu finds {count} vulkan adapter(s)"
        )),
        "{stderr}"
    );
}

/// A sweep on the adapter with `--gpu-fusion` trains (the fused backend). Where the build
/// autotunes (`cuda,wgpu`), the results land in the workspace's `runs/tune-cache/`; a
/// `wgpu`-only build, as CI tests it, tunes nothing, so there the test shows that nothing is
/// left there either. Neither ever writes where cubecl would by itself (`~/.cache/cubecl`
/// outside a Cargo project).
#[test]
fn a_fused_run_on_wgpu_trains_and_tunes_only_into_the_runs_folder() {
    if adapter("a_fused_run_on_wgpu_trains_and_tunes_only_into_the_runs_folder").is_none() {
        return;
    }
    let lab = Lab::new(SWEEP);
    let home = lab.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = lab
        .command(&[
            "run",
            "-q",
            "exp.toml",
            "--device",
            "wgpu:0",
            "--gpu-fusion",
        ])
        .env("HOME", &home)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("DENSENET_LAB_TUNE_CACHE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let done: i64 = lab.sql("SELECT count(*) FROM runs WHERE status = 'done'");
    assert_eq!(done, 2);
    let accuracy: f64 = lab.sql("SELECT min(final_test_accuracy) FROM run_summary");
    assert!(accuracy > 0.0, "test accuracy {accuracy}");
    let cache = lab.dir.path().join("runs/tune-cache");
    let mut logs = Vec::new();
    let mut dirs = vec![cache.clone()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if std::fs::metadata(&path).unwrap().len() > 0 {
                logs.push(path);
            }
        }
    }
    if densenet_lab::train::AUTOTUNE_BUILT {
        assert!(!logs.is_empty(), "no autotune results under {cache:?}");
    } else {
        assert!(
            logs.is_empty(),
            "autotune results without autotune: {logs:?}"
        );
    }
    assert!(
        !home.join(".cache/cubecl").exists(),
        "cubecl tuned into ~/.cache"
    );
}
