//! burn's CUDA backend, in builds with the `cuda` feature: plain or fused (see the parent).

use anyhow::Result;

use super::{BackendTask, GpuOptions};

#[cfg(feature = "cuda")]
type CudaPlain = burn_cubecl::CubeBackend<cubecl::cuda::CudaRuntime, f32, i32, u8>;
#[cfg(feature = "cuda")]
type CudaFused = burn_fusion::Fusion<CudaPlain>;

/// Runs `task` on CUDA GPU `index`, after the driver has confirmed that it exists: burn's CUDA
/// runtime panics in a background thread when there is no driver or no such GPU.
#[cfg(feature = "cuda")]
pub(super) fn on_gpu<T: BackendTask>(index: usize, gpu: GpuOptions, task: T) -> Result<T::Output> {
    use burn::backend::Autodiff;
    crate::devices::check_cuda_device(index)?;
    super::tuning::configure_gpu_runtime();
    let device = burn::backend::cuda::CudaDevice::new(index);
    if gpu.fusion {
        task.run::<Autodiff<CudaFused>>(device, false)
    } else {
        task.run::<Autodiff<CudaPlain>>(device, false)
    }
}

#[cfg(not(feature = "cuda"))]
pub(super) fn on_gpu<T: BackendTask>(
    index: usize,
    _gpu: GpuOptions,
    _task: T,
) -> Result<T::Output> {
    anyhow::bail!(
        "device cuda:{index}: this build has no CUDA support; rebuild with `cargo build --release --features cuda`"
    )
}
