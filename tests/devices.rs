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
    let out = lab
        .command(&["devices", "--format", "jsonl"])
        .output()
        .unwrap();
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
    assert_eq!(rows[0]["precisions"], "f32");
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
