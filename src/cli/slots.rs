//! `run`'s device slots: `--device cuda:0x4,cuda:1x4` puts four trials at once on each GPU,
//! and a sweep whose trials would not fit in a GPU's memory that many at a time is refused
//! before anything is written.

use anyhow::Result;

use super::UsageError;
use crate::devices::ComputeDevice;

/// One entry of `--device`: a device and, with `xN`, how many slots it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceEntry {
    pub device: ComputeDevice,
    pub slots: Option<usize>,
}

/// `cpu`, `cuda:0x4`, `wgpu:0`, comma-separated.
pub fn parse_entries(text: &str) -> Result<Vec<DeviceEntry>, String> {
    text.split(',').map(parse_entry).collect()
}

fn parse_entry(item: &str) -> Result<DeviceEntry, String> {
    let item = item.trim();
    let (name, slots) = match item.rsplit_once('x') {
        Some((name, count)) => {
            let count: usize = count.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                format!("invalid device `{item}`: expected DEVICExN with N a number of slots, at least 1")
            })?;
            (name, Some(count))
        }
        None => (item, None),
    };
    Ok(DeviceEntry {
        device: name.parse()?,
        slots,
    })
}

/// The slot list the scheduler fills, one device per slot. Without any `xN` it is as before:
/// `jobs` slots (default 1), the devices taken in turn. With `xN` on every entry the list is
/// explicit and `--jobs`, if given, must agree with its length.
pub fn slots(entries: &[DeviceEntry], jobs: Option<usize>) -> Result<Vec<ComputeDevice>> {
    let counted = entries.iter().filter(|e| e.slots.is_some()).count();
    if counted == 0 {
        let jobs = jobs.unwrap_or(1);
        return Ok((0..jobs)
            .map(|i| entries[i % entries.len()].device)
            .collect());
    }
    if counted != entries.len() {
        return Err(UsageError(
            "--device: give every device a slot count (cuda:0x4,cuda:1x2) or none (slots are then taken in turn, --jobs in all)".to_string(),
        )
        .into());
    }
    let list: Vec<ComputeDevice> = entries
        .iter()
        .flat_map(|e| std::iter::repeat_n(e.device, e.slots.unwrap_or(1)))
        .collect();
    if let Some(jobs) = jobs.filter(|j| *j != list.len()) {
        return Err(UsageError(format!(
            "--jobs {jobs} disagrees with --device, which gives {} slot(s); drop --jobs (the slot counts say how many trials train at once)",
            list.len()
        ))
        .into());
    }
    Ok(list)
}

/// Whether `slots` trials of `trial_mib` each fit in `device_mib` at once.
#[derive(Debug, Clone, PartialEq)]
pub enum Fit {
    Fits,
    /// Fits, with less than a fifth of the memory to spare (the estimate is rough).
    Tight {
        fraction: f64,
    },
    TooBig {
        at_once: usize,
    },
}

pub fn fit(trial_mib: f64, slots: usize, device_mib: f64) -> Fit {
    let fraction = trial_mib * slots as f64 / device_mib;
    if fraction > 1.0 {
        Fit::TooBig {
            at_once: (device_mib / trial_mib).floor() as usize,
        }
    } else if fraction > 0.8 {
        Fit::Tight { fraction }
    } else {
        Fit::Fits
    }
}

/// Refuses slots that overfill a CUDA GPU whose memory the driver reports (the largest
/// trial's estimate times the device's slots); warns when they nearly do. Devices whose
/// memory is unknown (wgpu adapters, the CPU) are not checked.
pub fn check_gpu_memory(
    slots: &[ComputeDevice],
    largest_trial_mib: f64,
    gpu_mib: impl Fn(usize) -> Option<(String, f64)>,
) -> Result<()> {
    let mut seen = Vec::new();
    for device in slots {
        let ComputeDevice::Cuda(index) = *device else {
            continue;
        };
        if seen.contains(&index) {
            continue;
        }
        seen.push(index);
        let Some((name, device_mib)) = gpu_mib(index) else {
            continue;
        };
        let count = slots.iter().filter(|d| **d == *device).count();
        let gib = |mib: f64| mib / 1024.0;
        match fit(largest_trial_mib, count, device_mib) {
            Fit::Fits => {}
            Fit::Tight { fraction } => eprintln!(
                "warning: {device} ({name}): {count} slot(s) of up to {:.1} GiB each fill {:.0}% of its {:.1} GiB (the estimate is rough)",
                gib(largest_trial_mib),
                fraction * 100.0,
                gib(device_mib)
            ),
            Fit::TooBig { at_once } => {
                return Err(UsageError(format!(
                    "{device} ({name}) has {:.1} GiB; {count} slot(s) of the largest trial ({:.1} GiB estimated, `check` lists each) need {:.1} GiB; give it at most {at_once} slot(s) ({device}x{at_once}), or a smaller train.batch_size",
                    gib(device_mib),
                    gib(largest_trial_mib),
                    gib(largest_trial_mib * count as f64),
                    at_once = at_once.max(1),
                ))
                .into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<DeviceEntry> {
        parse_entries(text).unwrap()
    }

    #[test]
    fn slot_counts_parse_and_bad_ones_are_named() {
        assert_eq!(
            entries("cuda:0x4,cuda:1x2"),
            vec![
                DeviceEntry {
                    device: ComputeDevice::Cuda(0),
                    slots: Some(4)
                },
                DeviceEntry {
                    device: ComputeDevice::Cuda(1),
                    slots: Some(2)
                },
            ]
        );
        assert_eq!(
            entries("cpu")[0],
            DeviceEntry {
                device: ComputeDevice::Cpu,
                slots: None
            }
        );
        let err = parse_entries("cuda:0x0").unwrap_err();
        assert!(
            err.contains("`cuda:0x0`") && err.contains("at least 1"),
            "{err}"
        );
        assert!(parse_entries("cuda:0xfour").is_err());
        assert!(parse_entries("gpux2").unwrap_err().contains("`gpu`"));
    }

    #[test]
    fn explicit_slots_make_the_list_and_plain_devices_are_taken_in_turn() {
        let (c0, c1) = (ComputeDevice::Cuda(0), ComputeDevice::Cuda(1));
        assert_eq!(
            slots(&entries("cuda:0x3,cuda:1x1"), None).unwrap(),
            vec![c0, c0, c0, c1]
        );
        assert_eq!(
            slots(&entries("cuda:0x3,cuda:1x1"), Some(4)).unwrap(),
            vec![c0, c0, c0, c1]
        );
        assert_eq!(
            slots(&entries("cuda:0,cuda:1"), Some(3)).unwrap(),
            vec![c0, c1, c0]
        );
        assert_eq!(
            slots(&entries("cpu"), None).unwrap(),
            vec![ComputeDevice::Cpu]
        );
        let err = slots(&entries("cuda:0x4"), Some(2))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--jobs 2") && err.contains("4 slot(s)"),
            "{err}"
        );
        let err = slots(&entries("cuda:0x4,cuda:1"), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("every device a slot count"), "{err}");
    }

    #[test]
    fn memory_fit_refuses_overfull_gpus_and_names_how_many_fit() {
        assert_eq!(fit(1000.0, 8, 144_000.0), Fit::Fits);
        assert!(matches!(fit(1000.0, 8, 9_000.0), Fit::Tight { .. }));
        assert_eq!(fit(1000.0, 8, 4_500.0), Fit::TooBig { at_once: 4 });
        let c0 = ComputeDevice::Cuda(0);
        let h200 = |_| Some(("NVIDIA H200".to_string(), 143_771.0));
        assert!(check_gpu_memory(&[c0; 8], 1_000.0, h200).is_ok());
        let err = check_gpu_memory(&[c0; 8], 30_000.0, h200)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cuda:0 (NVIDIA H200)")
                && err.contains("8 slot(s)")
                && err.contains("at most 4 slot(s) (cuda:0x4)"),
            "{err}"
        );
        // Memory unknown (no driver here, a wgpu adapter): nothing to check.
        assert!(check_gpu_memory(&[c0; 8], 1e9, |_| None).is_ok());
        assert!(check_gpu_memory(&[ComputeDevice::Wgpu(0); 8], 1e9, h200).is_ok());
    }
}
