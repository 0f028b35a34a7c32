//! The concrete burn backends, one per kind of device: burn's CPU backend always, CUDA and wgpu
//! in builds with their feature. The rest of `train` is generic over the backend and hands its
//! work here as a [`BackendTask`]; the GPU recipe is chosen by "not the CPU backend".
//!
//! Each GPU backend is built twice: plain (`CubeBackend`, every op its own kernel) and fused
//! (burn's `Fusion` over it, which compiles chains of element-wise ops such as batch norm,
//! ReLU, dropout and the optimizer update into one kernel; convolutions and matmuls are the
//! same kernels in both). [`GpuOptions::fusion`] picks one at run time.

mod cuda;
mod tuning;
mod wgpu;

pub use tuning::{AUTOTUNE_BUILT, TUNE_CACHE_DIR, TUNE_CACHE_ENV, tune_cache_for, use_tune_cache};

use anyhow::Result;
use burn::tensor::DType;
use burn::tensor::backend::{AutodiffBackend, Backend};

use super::ComputeDevice;
use crate::spec::Precision;

pub(crate) type CpuTrain = burn::backend::Autodiff<burn::backend::Flex>;

/// Work to run on whichever backend a device names (training a trial, a bench).
pub(crate) trait BackendTask {
    type Output;
    /// `cpu_backend`: burn's CPU backend (the CPU recipe and the CPU executor), else a GPU
    /// backend (the GPU recipe).
    fn run<B: AutodiffBackend>(self, device: B::Device, cpu_backend: bool) -> Result<Self::Output>;
}

/// How a GPU backend runs; a choice of execution, not part of a trial's identity (its results
/// must not depend on it), so it is a flag rather than a key of the experiment file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// burn's operation fusion (`--gpu-fusion`). Off by default: burn 0.21 has open
    /// wrong-result reports for it (tracel-ai/burn #5122, #5257), and it is not yet measured
    /// faster here on a real GPU.
    pub fusion: bool,
}

/// Runs `task` on `device`'s backend, once the device is known to exist (burn's GPU runtimes
/// panic, some in a background thread, on a missing driver or index).
pub(crate) fn on_device<T: BackendTask>(
    device: ComputeDevice,
    gpu: GpuOptions,
    task: T,
) -> Result<T::Output> {
    match device {
        ComputeDevice::Cpu => task.run::<CpuTrain>(Default::default(), true),
        ComputeDevice::Cuda(index) => cuda::on_gpu(index, gpu, task),
        ComputeDevice::Wgpu(index) => wgpu::on_adapter(index, gpu, task),
    }
}

/// The `train.precision` values a device computes, and why it refuses the others.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionSupport {
    pub accepted: Vec<Precision>,
    /// Ends the refusal of any other precision.
    pub reason: String,
}

/// What `device` computes in. The CPU executor computes every precision (bf16 on its own
/// kernels); CUDA has them all (burn does not ask the driver here, so that checking a sweep
/// opens no GPU context); a wgpu adapter is asked, which opens it.
pub fn precision_support(device: ComputeDevice) -> Result<PrecisionSupport> {
    match device {
        ComputeDevice::Cpu | ComputeDevice::Cuda(_) => Ok(PrecisionSupport {
            accepted: Precision::ALL.to_vec(),
            reason: String::new(),
        }),
        ComputeDevice::Wgpu(index) => wgpu::precision_support(index),
    }
}

/// Whether `B` on `device` has the arithmetic `precision` casts convolutions to.
pub(crate) fn computes_in<B: Backend>(device: &B::Device, precision: Precision) -> bool {
    match precision {
        Precision::F32 => true,
        Precision::Bf16 => B::supports_dtype(device, DType::BF16),
    }
}

#[cfg(all(test, feature = "wgpu"))]
mod fusion_tests;
#[cfg(all(test, feature = "wgpu"))]
mod wgpu_tests;
