//! What hardware this machine offers, found without the deep-learning engine, so that a
//! missing driver or a wrong index is an error message before any trial starts: CUDA GPUs
//! from the driver library, graphics adapters from wgpu (in a `wgpu` build).

mod cuda;
mod name;
mod wgpu;

pub use name::ComputeDevice;

pub use cuda::{CudaGpu, CudaInfo, check_cuda_device, cuda_info};
pub use wgpu::{
    API as WGPU_API, AdapterKind, WgpuAdapter, check_wgpu_device, quiet_vulkan_loader,
    wgpu_adapters,
};

/// Whether this binary was built with the CUDA backend.
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");
/// Whether this binary was built with burn's wgpu backend.
pub const WGPU_BUILT: bool = cfg!(feature = "wgpu");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("no CUDA driver found ({0})")]
    NoDriver(String),
    #[error("the CUDA driver failed: {call} returned error {code}")]
    Driver { call: &'static str, code: i32 },
    #[error("no such device cuda:{index}: this machine has {count} CUDA GPU(s)")]
    NoSuchDevice { index: usize, count: usize },
    #[error("this build has no wgpu backend; rebuild with `cargo build --release --features wgpu`")]
    WgpuNotBuilt,
    #[error(
        "wgpu finds no {api} adapter: install a driver for your GPU, or Mesa's software one \
         (Debian: apt-get install mesa-vulkan-drivers)"
    )]
    NoAdapter { api: &'static str },
    #[error("no such device wgpu:{index}: wgpu finds {count} {api} adapter(s)")]
    NoSuchAdapter {
        index: usize,
        count: usize,
        api: &'static str,
    },
    #[error(
        "wgpu:{index} ({name}) cannot be chosen: burn's wgpu backend reaches only the first \
         adapter of type {kind}"
    )]
    UnreachableAdapter {
        index: usize,
        name: String,
        kind: AdapterKind,
    },
}
