//! Graphics adapters as burn's wgpu backend sees them: wgpu's list for the one graphics API
//! that backend uses on this platform (Vulkan; Metal on macOS). `wgpu:N` is the N-th of them.

use std::fmt;

use super::DeviceError;

/// What kind of adapter wgpu reports; burn's wgpu backend addresses adapters by kind and
/// position among that kind (`WgpuDevice::DiscreteGpu(1)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterKind {
    Discrete,
    Integrated,
    Virtual,
    /// A software rasterizer, such as Mesa's llvmpipe.
    Cpu,
    Other,
}

impl fmt::Display for AdapterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AdapterKind::Discrete => "discrete-gpu",
            AdapterKind::Integrated => "integrated-gpu",
            AdapterKind::Virtual => "virtual-gpu",
            AdapterKind::Cpu => "cpu",
            AdapterKind::Other => "other",
        })
    }
}

/// One adapter: `wgpu:{index}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WgpuAdapter {
    pub index: usize,
    pub name: String,
    /// The graphics API it is reached through (`vulkan`, `metal`).
    pub api: &'static str,
    pub kind: AdapterKind,
    /// Its position among the adapters of its kind, in wgpu's order.
    pub index_of_kind: usize,
    /// Driver name and version, as the driver reports them.
    pub driver: String,
}

impl WgpuAdapter {
    /// Whether burn's wgpu backend can be pointed at it: it numbers discrete, integrated and
    /// virtual GPUs per kind, but takes only the first CPU adapter and none of kind "other".
    pub fn reachable(&self) -> bool {
        match self.kind {
            AdapterKind::Cpu => self.index_of_kind == 0,
            AdapterKind::Other => false,
            _ => true,
        }
    }
}

/// The graphics API burn's wgpu backend uses here (cubecl's `AutoGraphicsApi`).
pub const API: &str = if cfg!(target_os = "macos") {
    "metal"
} else {
    "vulkan"
};

/// Turns off Mesa's device-select Vulkan layer (`NODEVICE_SELECT=1`) unless the user set it:
/// it only reorders adapters for programs that take the default one, and without a display
/// it prints "error: XDG_RUNTIME_DIR is invalid" for every Vulkan instance. Trials inherit
/// it, so they list the adapters in the order `devices` showed.
///
/// # Safety
/// Changes the environment: call it before any other thread exists.
pub unsafe fn quiet_vulkan_loader() {
    if cfg!(feature = "wgpu") && std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: the caller promises no other thread reads the environment now.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

/// Checks that `wgpu:<index>` exists and that burn can reach it.
pub fn check_wgpu_device(index: usize) -> Result<WgpuAdapter, DeviceError> {
    let adapters = wgpu_adapters()?;
    let count = adapters.len();
    if count == 0 {
        return Err(DeviceError::NoAdapter { api: API });
    }
    let adapter = adapters
        .into_iter()
        .nth(index)
        .ok_or(DeviceError::NoSuchAdapter {
            index,
            count,
            api: API,
        })?;
    if !adapter.reachable() {
        return Err(DeviceError::UnreachableAdapter {
            index,
            name: adapter.name,
            kind: adapter.kind,
        });
    }
    Ok(adapter)
}

/// Every adapter wgpu finds for [`API`], numbered in wgpu's order.
#[cfg(feature = "wgpu")]
pub fn wgpu_adapters() -> Result<Vec<WgpuAdapter>, DeviceError> {
    let backend = if cfg!(target_os = "macos") {
        wgpu::Backends::METAL
    } else {
        wgpu::Backends::VULKAN
    };
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: backend,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let mut seen: Vec<AdapterKind> = Vec::new();
    let adapters = ready(instance.enumerate_adapters(backend))
        .into_iter()
        .enumerate()
        .map(|(index, adapter)| {
            let info = adapter.get_info();
            let kind = match info.device_type {
                wgpu::DeviceType::DiscreteGpu => AdapterKind::Discrete,
                wgpu::DeviceType::IntegratedGpu => AdapterKind::Integrated,
                wgpu::DeviceType::VirtualGpu => AdapterKind::Virtual,
                wgpu::DeviceType::Cpu => AdapterKind::Cpu,
                wgpu::DeviceType::Other => AdapterKind::Other,
            };
            let index_of_kind = seen.iter().filter(|k| **k == kind).count();
            seen.push(kind);
            let driver = [info.driver, info.driver_info]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            WgpuAdapter {
                index,
                name: info.name,
                api: API,
                kind,
                index_of_kind,
                driver,
            }
        })
        .collect();
    Ok(adapters)
}

#[cfg(not(feature = "wgpu"))]
pub fn wgpu_adapters() -> Result<Vec<WgpuAdapter>, DeviceError> {
    Err(DeviceError::WgpuNotBuilt)
}

/// The value of a future that native wgpu resolves at once (adapter enumeration).
#[cfg(feature = "wgpu")]
fn ready<T>(future: impl std::future::Future<Output = T>) -> T {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(kind: AdapterKind, index_of_kind: usize) -> WgpuAdapter {
        WgpuAdapter {
            index: 0,
            name: "test".into(),
            api: API,
            kind,
            index_of_kind,
            driver: String::new(),
        }
    }

    #[test]
    fn burn_reaches_every_gpu_but_only_the_first_cpu_adapter() {
        assert!(adapter(AdapterKind::Discrete, 3).reachable());
        assert!(adapter(AdapterKind::Integrated, 1).reachable());
        assert!(adapter(AdapterKind::Cpu, 0).reachable());
        assert!(!adapter(AdapterKind::Cpu, 1).reachable());
        assert!(!adapter(AdapterKind::Other, 0).reachable());
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn a_build_without_wgpu_says_how_to_get_it() {
        let err = check_wgpu_device(0).unwrap_err();
        assert_eq!(err, DeviceError::WgpuNotBuilt);
        assert!(err.to_string().contains("--features wgpu"), "{err}");
    }
}
