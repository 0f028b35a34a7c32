//! Which hardware a trial runs on, as the user names it (`cpu`, `cuda:0`, `wgpu:0`).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputeDevice {
    Cpu,
    /// The CUDA GPU of that index, as the driver numbers them.
    Cuda(usize),
    /// The graphics adapter of that index, as wgpu lists them (Vulkan, Metal or DX12).
    Wgpu(usize),
}

impl ComputeDevice {
    pub fn is_cpu(self) -> bool {
        self == ComputeDevice::Cpu
    }
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComputeDevice::Cpu => write!(f, "cpu"),
            ComputeDevice::Cuda(i) => write!(f, "cuda:{i}"),
            ComputeDevice::Wgpu(i) => write!(f, "wgpu:{i}"),
        }
    }
}

impl FromStr for ComputeDevice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "cpu" {
            return Ok(ComputeDevice::Cpu);
        }
        let parsed = indexed(s, "cuda", "a GPU index", ComputeDevice::Cuda)
            .or_else(|| indexed(s, "wgpu", "an adapter index", ComputeDevice::Wgpu));
        if let Some(parsed) = parsed {
            return parsed;
        }
        Err(format!(
            "invalid device `{s}`: expected `cpu`, `cuda:N` or `wgpu:N`"
        ))
    }
}

/// `kind` (index 0) or `kind:N` as `device(N)`; `None` when `s` is neither.
fn indexed(
    s: &str,
    kind: &str,
    what: &str,
    device: fn(usize) -> ComputeDevice,
) -> Option<Result<ComputeDevice, String>> {
    if s == kind {
        return Some(Ok(device(0)));
    }
    let index = s.strip_prefix(kind)?.strip_prefix(':')?;
    Some(
        index
            .parse()
            .map(device)
            .map_err(|_| format!("invalid device `{s}`: expected {kind}:N with N {what}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_cuda_and_wgpu_indices_and_rejects_others() {
        assert_eq!("cpu".parse::<ComputeDevice>(), Ok(ComputeDevice::Cpu));
        assert_eq!(
            "cuda:1".parse::<ComputeDevice>(),
            Ok(ComputeDevice::Cuda(1))
        );
        assert_eq!(
            "wgpu:2".parse::<ComputeDevice>(),
            Ok(ComputeDevice::Wgpu(2))
        );
        assert_eq!("wgpu".parse::<ComputeDevice>(), Ok(ComputeDevice::Wgpu(0)));
        assert_eq!(ComputeDevice::Cuda(3).to_string(), "cuda:3");
        assert_eq!(ComputeDevice::Wgpu(0).to_string(), "wgpu:0");
        let err = "gpu".parse::<ComputeDevice>().unwrap_err();
        assert!(
            err.contains("`gpu`") && err.contains("cuda:N") && err.contains("wgpu:N"),
            "{err}"
        );
        assert!("cuda:x".parse::<ComputeDevice>().is_err());
        let err = "wgpu:-1".parse::<ComputeDevice>().unwrap_err();
        assert!(err.contains("wgpu:N with N an adapter index"), "{err}");
        assert!("wgpux".parse::<ComputeDevice>().is_err());
    }
}
