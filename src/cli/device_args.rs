//! `--device` and `devices`: which devices a command may train on, checked before anything is
//! written, and the table of what this build and machine offer.

use anyhow::Result;
use serde_json::{Value, json};

use super::UsageError;
use super::output::Rows;
use crate::devices;
use crate::spec::Precision;
use crate::train::ComputeDevice;

/// The devices to train on (`--device`, else the file's, else cpu), checked before anything
/// is written: a GPU this build or this machine cannot use is the user's mistake, found now
/// rather than in every trial.
pub fn usable_devices(text: Option<&str>) -> Result<Vec<ComputeDevice>> {
    let devices: Vec<ComputeDevice> = text
        .unwrap_or("cpu")
        .split(',')
        .map(parse_device)
        .collect::<Result<_>>()?;
    for device in &devices {
        if let ComputeDevice::Cuda(index) = *device {
            if !devices::CUDA_BUILT {
                return Err(UsageError(format!(
                    "device {device}: this build has no CUDA support; rebuild with `cargo build --release --features cuda`"
                ))
                .into());
            }
            devices::check_cuda_device(index)
                .map_err(|e| UsageError(format!("device {device}: {e}")))?;
        }
    }
    Ok(devices)
}

pub fn parse_device(text: &str) -> Result<ComputeDevice> {
    text.parse()
        .map_err(|e: String| UsageError(format!("--device: {e}")).into())
}

/// CPU first, then every CUDA GPU the driver reports (or why there are none).
/// With the `train.precision` values each device accepts.
pub fn devices_table() -> Rows {
    let mut rows = Rows::new(["device", "name", "memory_gib", "precisions", "status"]);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    rows.rows.push(vec![
        json!("cpu"),
        json!(format!("{} ({threads} threads)", cpu_model())),
        Value::Null,
        json!(Precision::list(
            Precision::ALL.into_iter().filter(|p| p.runs_on_cpu())
        )),
        json!("ok"),
    ]);
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
                    gib(gpu.memory_bytes),
                    gpu_precisions.clone(),
                    json!(status),
                ]);
            }
        }
        Err(e) => rows.rows.push(vec![
            json!("cuda"),
            Value::Null,
            Value::Null,
            Value::Null,
            json!(e.to_string()),
        ]),
    }
    rows
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
