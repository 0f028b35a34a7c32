//! burn's wgpu backend (Vulkan; Metal on macOS), in builds with the `wgpu` feature: the GPU
//! recipe on any GPU, and on Mesa's software Vulkan driver where there is none.

use anyhow::Result;

use super::{BackendTask, GpuOptions, PrecisionSupport};

/// burn's wgpu backend without fusion: every op its own kernel.
#[cfg(feature = "wgpu")]
pub(crate) type WgpuPlain = burn_cubecl::CubeBackend<cubecl::wgpu::WgpuRuntime, f32, i32, u32>;
/// The same backend under burn's fusion.
#[cfg(feature = "wgpu")]
pub(crate) type WgpuFused = burn_fusion::Fusion<WgpuPlain>;
#[cfg(feature = "wgpu")]
pub(crate) type WgpuTrain = burn::backend::Autodiff<WgpuPlain>;
#[cfg(feature = "wgpu")]
pub(crate) type WgpuFusedTrain = burn::backend::Autodiff<WgpuFused>;

/// burn's name for adapter `wgpu:index`, once wgpu has listed it: burn's wgpu runtime panics
/// on an adapter it cannot find.
#[cfg(feature = "wgpu")]
pub(crate) fn device(index: usize) -> Result<burn::backend::wgpu::WgpuDevice> {
    Ok(burn_device(&crate::devices::check_wgpu_device(index)?))
}

/// burn addresses adapters by kind and position among that kind.
#[cfg(feature = "wgpu")]
fn burn_device(adapter: &crate::devices::WgpuAdapter) -> burn::backend::wgpu::WgpuDevice {
    use crate::devices::AdapterKind;
    use burn::backend::wgpu::WgpuDevice;
    let k = adapter.index_of_kind;
    match adapter.kind {
        AdapterKind::Discrete => WgpuDevice::DiscreteGpu(k),
        AdapterKind::Integrated => WgpuDevice::IntegratedGpu(k),
        AdapterKind::Virtual => WgpuDevice::VirtualGpu(k),
        AdapterKind::Cpu | AdapterKind::Other => WgpuDevice::Cpu,
    }
}

#[cfg(feature = "wgpu")]
pub(super) fn on_adapter<T: BackendTask>(
    index: usize,
    gpu: GpuOptions,
    task: T,
) -> Result<T::Output> {
    let device = device(index)?;
    super::tuning::configure_gpu_runtime();
    if gpu.fusion {
        task.run::<WgpuFusedTrain>(device, false)
    } else {
        task.run::<WgpuTrain>(device, false)
    }
}

/// Asks adapter `index` which precisions burn's wgpu backend computes on it.
#[cfg(feature = "wgpu")]
pub(super) fn precision_support(index: usize) -> Result<PrecisionSupport> {
    use crate::spec::Precision;
    let adapter = crate::devices::check_wgpu_device(index)?;
    let device = burn_device(&adapter);
    super::tuning::configure_gpu_runtime();
    let accepted = Precision::ALL
        .into_iter()
        .filter(|p| super::computes_in::<WgpuPlain>(&device, *p))
        .collect();
    Ok(PrecisionSupport {
        accepted,
        reason: format!(
            "burn's wgpu backend has no bf16 arithmetic on {} ({})",
            adapter.name, adapter.api
        ),
    })
}

#[cfg(not(feature = "wgpu"))]
pub(super) fn on_adapter<T: BackendTask>(
    index: usize,
    _gpu: GpuOptions,
    _task: T,
) -> Result<T::Output> {
    anyhow::bail!(
        "device wgpu:{index}: {}",
        crate::devices::DeviceError::WgpuNotBuilt
    )
}

#[cfg(not(feature = "wgpu"))]
pub(super) fn precision_support(index: usize) -> Result<PrecisionSupport> {
    anyhow::bail!(
        "device wgpu:{index}: {}",
        crate::devices::DeviceError::WgpuNotBuilt
    )
}
