//! The DenseNet model: counts from the configuration (`arch`, no burn) and the burn modules.

pub mod arch;
mod densenet;
mod fast;
mod init;
mod layers;
mod torch_state;

pub use arch::{ArchSummary, StageShape, summarize};
pub use densenet::DenseNet;
pub use fast::{Bf16Kernels, CpuExecutor, EvalBatch, TrainStep};
pub use layers::{DropoutSource, ForwardContext};
pub use torch_state::{NamedTensor, load_torch_state, torch_state};

#[cfg(test)]
mod init_tests;
#[cfg(test)]
pub(crate) mod tests;
