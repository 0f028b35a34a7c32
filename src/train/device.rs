//! Which hardware a trial runs on, as the user names it (`cpu`, `cuda:0`).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputeDevice {
    Cpu,
    Cuda(usize),
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComputeDevice::Cpu => write!(f, "cpu"),
            ComputeDevice::Cuda(i) => write!(f, "cuda:{i}"),
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
        if s == "cuda" {
            return Ok(ComputeDevice::Cuda(0));
        }
        if let Some(index) = s.strip_prefix("cuda:") {
            return index
                .parse()
                .map(ComputeDevice::Cuda)
                .map_err(|_| format!("invalid device `{s}`: expected cuda:N with N a GPU index"));
        }
        Err(format!("invalid device `{s}`: expected `cpu` or `cuda:N`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_cuda_indices_and_rejects_others() {
        assert_eq!("cpu".parse::<ComputeDevice>(), Ok(ComputeDevice::Cpu));
        assert_eq!(
            "cuda:1".parse::<ComputeDevice>(),
            Ok(ComputeDevice::Cuda(1))
        );
        assert_eq!(ComputeDevice::Cuda(3).to_string(), "cuda:3");
        let err = "gpu".parse::<ComputeDevice>().unwrap_err();
        assert!(err.contains("`gpu`") && err.contains("cuda:N"), "{err}");
        assert!("cuda:x".parse::<ComputeDevice>().is_err());
    }
}
