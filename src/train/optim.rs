//! The optimizers an experiment file can name, behind one type.

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer, Sgd, SgdConfig};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;
use std::path::Path;

use crate::spec;

/// Adam or SGD for module `M`; burn's two adaptors have different types.
pub enum AnyOptimizer<M: AutodiffModule<B>, B: AutodiffBackend> {
    Adam(OptimizerAdaptor<Adam, M, B>),
    Sgd(OptimizerAdaptor<Sgd<B::InnerBackend>, M, B>),
}

impl<M: AutodiffModule<B>, B: AutodiffBackend> AnyOptimizer<M, B> {
    pub fn new(config: &spec::Optimizer) -> Self {
        let decay = |wd: f64| (wd > 0.0).then(|| WeightDecayConfig::new(wd as f32));
        match *config {
            spec::Optimizer::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => AnyOptimizer::Adam(
                AdamConfig::new()
                    .with_beta_1(beta1 as f32)
                    .with_beta_2(beta2 as f32)
                    .with_epsilon(eps as f32)
                    .with_weight_decay(decay(weight_decay))
                    .init(),
            ),
            spec::Optimizer::Sgd {
                momentum,
                nesterov,
                weight_decay,
                ..
            } => {
                // burn's dampening defaults to 0.1; PyTorch's and the paper's SGD use none.
                let momentum = (momentum > 0.0).then_some(MomentumConfig {
                    momentum,
                    dampening: 0.0,
                    nesterov,
                });
                AnyOptimizer::Sgd(
                    SgdConfig::new()
                        .with_momentum(momentum)
                        .with_weight_decay(decay(weight_decay))
                        .init(),
                )
            }
        }
    }

    pub fn step(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        match self {
            AnyOptimizer::Adam(o) => o.step(lr, module, grads),
            AnyOptimizer::Sgd(o) => o.step(lr, module, grads),
        }
    }

    /// Restores the state written by [`AnyOptimizer::save`].
    pub fn load(
        self,
        path: &Path,
        device: &B::Device,
    ) -> Result<Self, burn::record::RecorderError> {
        fn restore<O: Optimizer<M, B>, M: AutodiffModule<B>, B: AutodiffBackend>(
            optim: O,
            path: &Path,
            device: &B::Device,
        ) -> Result<O, burn::record::RecorderError> {
            let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
            let record = Recorder::<B>::load(&recorder, path.to_path_buf(), device)?;
            Ok(optim.load_record(record))
        }
        Ok(match self {
            AnyOptimizer::Adam(o) => AnyOptimizer::Adam(restore(o, path, device)?),
            AnyOptimizer::Sgd(o) => AnyOptimizer::Sgd(restore(o, path, device)?),
        })
    }

    /// Saves the optimizer state (moments, momentum buffers) next to the model checkpoint.
    pub fn save(&self, path: &Path) -> Result<(), burn::record::RecorderError> {
        let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        match self {
            AnyOptimizer::Adam(o) => recorder.record(o.to_record(), path.to_path_buf()),
            AnyOptimizer::Sgd(o) => recorder.record(o.to_record(), path.to_path_buf()),
        }
    }
}
