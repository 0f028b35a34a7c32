//! burn's CUDA backend, in builds with the `cuda` feature.

use anyhow::Result;

use super::BackendTask;

/// Runs `task` on CUDA GPU `index`, after the driver has confirmed that it exists: burn's CUDA
/// runtime panics in a background thread when there is no driver or no such GPU.
#[cfg(feature = "cuda")]
pub(super) fn on_gpu<T: BackendTask>(index: usize, task: T) -> Result<T::Output> {
    crate::devices::check_cuda_device(index)?;
    let device = burn::backend::cuda::CudaDevice::new(index);
    task.run::<burn::backend::Autodiff<burn::backend::Cuda>>(device, false)
}

#[cfg(not(feature = "cuda"))]
pub(super) fn on_gpu<T: BackendTask>(index: usize, _task: T) -> Result<T::Output> {
    anyhow::bail!(
        "device cuda:{index}: this build has no CUDA support; rebuild with `cargo build --release --features cuda`"
    )
}
