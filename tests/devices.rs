//! `devices` and `--device wgpu:N` as a user meets them: the real binary, whichever features
//! it was built with (`cargo test` builds neither GPU backend; `.ci/run` also tests a `wgpu`
//! build, where `tests/wgpu.rs` covers the adapters themselves).

use serde_json::Value;

mod common;

use common::Lab;

const TINY: &str = r#"
name = "tiny-devices"
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

fn devices(lab: &Lab) -> Vec<Value> {
    rows_of(lab.command(&["devices", "--format", "jsonl"]))
}

/// The JSON lines a successful `devices --format jsonl` prints.
fn rows_of(mut command: std::process::Command) -> Vec<Value> {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn devices_lists_the_cpu_first_with_its_backend_and_a_row_for_each_gpu_backend() {
    let lab = Lab::new(TINY);
    let rows = devices(&lab);
    assert_eq!(
        (&rows[0]["device"], &rows[0]["backend"], &rows[0]["kind"]),
        (
            &Value::from("cpu"),
            &Value::from("flex"),
            &Value::from("cpu")
        )
    );
    assert_eq!(rows[0]["precisions"], "f32, bf16");
    let is = |row: &Value, prefix: &str| row["device"].as_str().unwrap().starts_with(prefix);
    assert!(rows.iter().any(|r| is(r, "cuda")), "{rows:?}");
    let wgpu: Vec<&Value> = rows.iter().filter(|r| is(r, "wgpu")).collect();
    assert!(!wgpu.is_empty(), "{rows:?}");
    if !densenet_lab::devices::WGPU_BUILT {
        assert_eq!(wgpu.len(), 1, "{wgpu:?}");
        let status = wgpu[0]["status"].as_str().unwrap();
        assert!(status.contains("--features wgpu"), "{status}");
    }
}

/// The CPU flags Linux reports: a second reading of what the binary detects through CPUID.
fn cpu_flags() -> Vec<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let line = info.lines().find(|l| l.starts_with("flags")).unwrap_or("");
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn the_cpu_row_names_the_bf16_kernels_its_cpu_has_and_the_cap_lowers_them() {
    let lab = Lab::new(TINY);
    let status = |cap: Option<&str>| {
        let mut command = lab.command(&["devices", "--format", "jsonl"]);
        if let Some(cap) = cap {
            command.env("DENSENET_LAB_BF16_KERNELS", cap);
        }
        let rows = rows_of(command);
        rows[0]["status"].as_str().unwrap().to_string()
    };
    let flags = cpu_flags();
    let has = |flag: &str| flags.iter().any(|f| f == flag);
    let best = status(None);
    if has("amx_bf16") && has("amx_tile") && has("avx512_bf16") {
        assert_eq!(best, "ok (bf16 on amx_bf16)");
        assert_eq!(status(Some("avx512_bf16")), "ok (bf16 on avx512_bf16)");
    } else if has("avx512_bf16") {
        assert_eq!(best, "ok (bf16 on avx512_bf16)");
    } else {
        assert!(best.contains("bf16 emulated"), "{best}");
    }
    assert!(status(Some("emulated")).contains("bf16 emulated"));
}

#[test]
fn a_bf16_bench_on_the_cpu_runs_on_the_executor() {
    let lab = Lab::new(TINY);
    for cap in ["emulated", ""] {
        let out = lab
            .command(&[
                "bench",
                "exp.toml",
                "--batch",
                "8",
                "--steps",
                "2",
                "--precision",
                "bf16",
            ])
            .env("DENSENET_LAB_BF16_KERNELS", cap)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let line: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (&line["precision"], &line["engine"], &line["device"]),
            (
                &Value::from("bf16"),
                &Value::from("cpu-executor"),
                &Value::from("cpu")
            ),
            "{line}"
        );
        assert!(line["train_images_per_sec"].as_f64().unwrap() > 0.0);
    }
}

/// (A `wgpu` build runs the adapter instead: tests/wgpu.rs.)
#[cfg(not(feature = "wgpu"))]
#[test]
fn a_wgpu_device_in_a_build_without_wgpu_is_refused_with_the_rebuild_hint() {
    let lab = Lab::new(TINY);
    let out = lab
        .command(&["run", "-q", "exp.toml", "--device", "wgpu:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: device wgpu:0: this build has no wgpu backend")
            && stderr.contains("--features wgpu"),
        "{stderr}"
    );
    assert!(!lab.db().exists(), "the store was created");
}

/// GPU rows name the folder autotune results go to, the runs folder's `tune-cache/` made
/// absolute (the same folder for every trial of a sweep), unless DENSENET_LAB_TUNE_CACHE says.
#[test]
fn devices_names_the_gpu_autotune_cache_of_the_runs_folder() {
    let lab = Lab::new(TINY);
    let command = |args: &[&str]| {
        let mut cmd = lab.command(args);
        cmd.env_remove("DENSENET_LAB_TUNE_CACHE");
        cmd
    };
    let rows = rows_of(command(&["devices", "--format", "jsonl"]));
    assert_eq!(rows[0]["tune_cache"], Value::Null, "the cpu tunes nothing");
    let want = lab.dir.path().join("runs").join("tune-cache");
    let gpu_rows: Vec<&Value> = rows
        .iter()
        .filter(|r| r["device"].as_str().unwrap().contains(':'))
        .collect();
    for row in &gpu_rows {
        assert_eq!(row["tune_cache"], want.to_str().unwrap(), "{row}");
    }
    let out = command(&["devices", "--runs-dir", "elsewhere"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("GPU autotune results: "))
        .unwrap_or_else(|| panic!("{text}"));
    let elsewhere = lab.dir.path().join("elsewhere").join("tune-cache");
    assert!(line.contains(elsewhere.to_str().unwrap()), "{line}");
    let out = command(&["devices"])
        .env("DENSENET_LAB_TUNE_CACHE", "/srv/tune")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("GPU autotune results: /srv/tune "), "{text}");
    assert!(
        !lab.dir.path().join("runs").exists(),
        "devices wrote a folder"
    );
}

/// `--device cpux2` is two slots; `--jobs` must then agree, and every device needs a count
/// once one has it. Refused before the store exists.
#[test]
fn slot_counts_that_disagree_with_jobs_or_each_other_are_refused_before_any_write() {
    let lab = Lab::new(TINY);
    for (args, message) in [
        (
            &["--device", "cpux2", "--jobs", "3"][..],
            "error: --jobs 3 disagrees with --device, which gives 2 slot(s)",
        ),
        (
            &["--device", "cpux2,cuda:0"][..],
            "error: --device: give every device a slot count",
        ),
        (
            &["--device", "cpux0"][..],
            "error: --device: invalid device `cpux0`: expected DEVICExN",
        ),
    ] {
        let mut all = vec!["run", "-q", "exp.toml"];
        all.extend_from_slice(args);
        let out = lab.command(&all).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
        assert!(!lab.db().exists(), "{args:?}: the store was created");
    }
}

/// `--device cpux2` trains a two-trial sweep with two trials at once: the second starts
/// before the first ends (one slot would start it only after).
#[test]
fn a_device_with_two_slots_trains_two_trials_at_once() {
    let lab = Lab::new(&format!(
        "{TINY}[sweep.axes]\n\"model.growth_rate\" = [4, 6]\n"
    ));
    let out = lab
        .command(&["run", "-q", "exp.toml", "--device", "cpux2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let done: i64 = lab.sql("SELECT count(*) FROM runs WHERE status = 'done' AND device = 'cpu'");
    assert_eq!(done, 2);
    let overlapped: bool = lab.sql(
        "SELECT (SELECT started_at FROM runs WHERE id = 2) < (SELECT finished_at FROM runs WHERE id = 1)",
    );
    assert!(overlapped, "the second trial waited for the first");
}
