//! The DenseNet model: counts from the configuration (`arch`, no burn) and the burn modules.

pub mod arch;
mod densenet;
mod fast;
mod init;
mod layers;

pub use arch::{ArchSummary, StageShape, summarize};
pub use densenet::DenseNet;
pub use fast::{CpuExecutor, EvalBatch, TrainStep};
pub use layers::{DropoutSource, ForwardContext};

#[cfg(test)]
mod init_tests;
#[cfg(test)]
mod tests;
