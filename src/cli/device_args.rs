//! `--device` and `devices`: which devices a command may train on, checked before anything is
//! written, and the table of what this build and machine offer.

use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use super::UsageError;
use super::output::Rows;
use super::slots;
use crate::devices;
use crate::spec::{Experiment, Precision, Trial};
use crate::train::{self, ComputeDevice};

/// The devices to train on (`--device`, else the file's, else cpu), checked before anything
/// is written: a GPU this build or this machine cannot use is the user's mistake, found now
/// rather than in every trial.
pub fn usable_devices(text: Option<&str>) -> Result<Vec<ComputeDevice>> {
    let devices: Vec<ComputeDevice> = text
        .unwrap_or("cpu")
        .split(',')
        .map(parse_device)
        .collect::<Result<_>>()?;
    check_usable(&devices)?;
    Ok(devices)
}

/// `run`'s slots: `--device` (or the file's `device`, else cpu) with its `xN` slot counts and
/// `--jobs`, every device checked as [`usable_devices`] does, and the sweep's largest trial
/// checked against each CUDA GPU's memory times its slots.
pub fn run_slots(
    text: Option<&str>,
    jobs: Option<usize>,
    trials: &[Trial],
) -> Result<Vec<ComputeDevice>> {
    let entries = slots::parse_entries(text.unwrap_or("cpu"))
        .map_err(|e| UsageError(format!("--device: {e}")))?;
    let slots = slots::slots(&entries, jobs)?;
    let devices: Vec<ComputeDevice> = entries.iter().map(|e| e.device).collect();
    check_usable(&devices)?;
    // Only CUDA GPUs report their memory: a CPU or wgpu sweep estimates nothing.
    if slots.iter().any(|d| matches!(d, ComputeDevice::Cuda(_))) {
        let largest_mib = trials
            .iter()
            .map(|t| {
                let arch = crate::model::summarize(&t.config.model, t.config.data.dataset);
                crate::estimate::estimate(&t.config, &arch).memory_mib
            })
            .fold(0.0, f64::max);
        let gpus = devices::cuda_info()
            .map(|info| info.gpus)
            .unwrap_or_default();
        slots::check_gpu_memory(&slots, largest_mib, |index| {
            gpus.iter()
                .find(|g| g.index == index)
                .map(|g| (g.name.clone(), g.memory_bytes as f64 / (1u64 << 20) as f64))
        })?;
    }
    Ok(slots)
}

/// Each device exists and this build can drive it.
fn check_usable(devices: &[ComputeDevice]) -> Result<()> {
    for device in devices {
        let found = match *device {
            ComputeDevice::Cpu => Ok(()),
            ComputeDevice::Cuda(_) if !devices::CUDA_BUILT => {
                return Err(UsageError(format!(
                    "device {device}: this build has no CUDA support; rebuild with `cargo build --release --features cuda`"
                ))
                .into());
            }
            ComputeDevice::Cuda(index) => devices::check_cuda_device(index).map(drop),
            ComputeDevice::Wgpu(index) => devices::check_wgpu_device(index).map(drop),
        };
        found.map_err(|e| UsageError(format!("device {device}: {e}")))?;
    }
    Ok(())
}

/// Refuses a precision some trial asks for on a device that does not compute it, at the
/// value in the file. Devices are asked only when some trial wants more than f32 (asking a
/// wgpu adapter opens it).
pub fn check_precisions(
    experiment: &Experiment,
    trials: &[Trial],
    devices: &[ComputeDevice],
) -> Result<()> {
    if trials.iter().all(|t| t.config.train.precision.is_f32()) {
        return Ok(());
    }
    let mut asked = Vec::new();
    for device in devices {
        if asked.contains(device) {
            continue;
        }
        asked.push(*device);
        let support = train::precision_support(*device)
            .map_err(|e| UsageError(format!("device {device}: {e}")))?;
        experiment.check_precision_on(
            trials,
            &device.to_string(),
            &support.accepted,
            &support.reason,
        )?;
    }
    Ok(())
}

pub fn parse_device(text: &str) -> Result<ComputeDevice> {
    text.parse()
        .map_err(|e: String| UsageError(format!("--device: {e}")).into())
}

/// CPU first, then every CUDA GPU the driver reports and every adapter wgpu lists (or why
/// there are none), with the `train.precision` values each device accepts. `kind` tells a
/// GPU from a software adapter such as llvmpipe.
/// GPU rows name `tune_cache`, the folder their autotune results go to.
pub fn devices_table(tune_cache: &Path) -> Rows {
    let mut rows = Rows::new([
        "device",
        "name",
        "backend",
        "kind",
        "memory_gib",
        "precisions",
        "status",
        "tune_cache",
    ]);
    let cache = json!(tune_cache.display().to_string());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    rows.rows.push(vec![
        json!("cpu"),
        json!(format!("{} ({threads} threads)", cpu_model())),
        json!("flex"),
        json!("cpu"),
        Value::Null,
        json!(Precision::list(Precision::ALL)),
        json!(cpu_status(train::Bf16Kernels::detect())),
        Value::Null,
    ]);
    cuda_rows(&mut rows, &cache);
    wgpu_rows(&mut rows, &cache);
    rows
}

/// The CPU's status: which kernels its bf16 products run on, from what it detects.
fn cpu_status(kernels: train::Bf16Kernels) -> String {
    match kernels {
        train::Bf16Kernels::Emulated => {
            "ok (bf16 emulated with f32 FMAs: no avx512_bf16 on this CPU)".to_string()
        }
        native => format!("ok (bf16 on {})", native.name()),
    }
}

fn cuda_rows(rows: &mut Rows, cache: &Value) {
    let gpu_precisions = if devices::CUDA_BUILT {
        json!(Precision::list(Precision::ALL))
    } else {
        Value::Null
    };
    let gib = |bytes: u64| json!((bytes as f64 / (1u64 << 30) as f64 * 10.0).round() / 10.0);
    match devices::cuda_info() {
        Ok(info) => {
            let status = if devices::CUDA_BUILT {
                format!(
                    "ok (driver {}.{})",
                    info.driver_version / 1000,
                    info.driver_version % 1000 / 10
                )
            } else {
                "not usable: this build has no CUDA backend (cargo build --release --features cuda)"
                    .into()
            };
            for gpu in info.gpus {
                rows.rows.push(vec![
                    json!(format!("cuda:{}", gpu.index)),
                    json!(gpu.name),
                    json!("cuda"),
                    json!("gpu"),
                    gib(gpu.memory_bytes),
                    gpu_precisions.clone(),
                    json!(status),
                    cache.clone(),
                ]);
            }
        }
        Err(e) => rows.rows.push(missing_row("cuda", "cuda", &e)),
    }
}

/// One row per adapter; its precisions are asked of burn's wgpu backend, which opens it.
fn wgpu_rows(rows: &mut Rows, cache: &Value) {
    let adapters = match devices::wgpu_adapters() {
        Ok(adapters) if adapters.is_empty() => Err(devices::DeviceError::NoAdapter {
            api: devices::WGPU_API,
        }),
        other => other,
    };
    let adapters = match adapters {
        Ok(adapters) => adapters,
        Err(e) => {
            rows.rows.push(missing_row("wgpu", "wgpu", &e));
            return;
        }
    };
    for adapter in adapters {
        let device = ComputeDevice::Wgpu(adapter.index);
        let (precisions, status) = match train::precision_support(device) {
            Ok(support) => (
                json!(Precision::list(support.accepted)),
                format!("ok ({})", adapter.driver),
            ),
            Err(e) => (Value::Null, format!("not usable: {e:#}")),
        };
        rows.rows.push(vec![
            json!(device.to_string()),
            json!(adapter.name),
            json!(format!("wgpu ({})", adapter.api)),
            json!(adapter.kind.to_string()),
            Value::Null,
            precisions,
            json!(status),
            cache.clone(),
        ]);
    }
}

/// The row that says why a kind of device has none here.
fn missing_row(device: &str, backend: &str, why: &devices::DeviceError) -> Vec<Value> {
    vec![
        json!(device),
        Value::Null,
        json!(backend),
        Value::Null,
        Value::Null,
        Value::Null,
        json!(why.to_string()),
        Value::Null,
    ]
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}
