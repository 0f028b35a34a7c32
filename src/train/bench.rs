//! `densenet-lab bench`: training and evaluation throughput of one configuration, on
//! synthetic images of the dataset's shape (throughput does not depend on pixel values).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::ComputeDevice;
use super::backends::{BackendTask, GpuOptions};
use super::engine::Engine;
use super::optim::AnyOptimizer;
use crate::data::Batch;
use crate::model::DenseNet;
use crate::rng::SplitMix64;
use crate::spec::TrialConfig;

/// One line of `bench` output.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub device: String,
    /// What computed the steps: `cpu-executor` (the CPU fast path) or `burn` (burn's graph).
    pub engine: &'static str,
    /// What convolutions computed in (`train.precision`).
    pub precision: &'static str,
    pub batch_size: usize,
    pub steps: usize,
    pub warmup_steps: usize,
    /// Median over the measured steps of batch / step time.
    pub train_images_per_sec: f64,
    pub eval_images_per_sec: f64,
    pub train_step_ms_median: f64,
    /// The first training step and the first evaluation batch: on a GPU they include compiling
    /// the kernels and, with a cold tune cache, autotuning every convolution shape.
    pub first_train_step_ms: f64,
    pub first_eval_step_ms: f64,
    /// Whether burn's operation fusion ran (`--gpu-fusion`; always false on the CPU).
    pub gpu_fusion: bool,
    /// Where GPU autotune results were read and written (None on the CPU).
    pub tune_cache: Option<String>,
    /// Peak resident memory of this process (CPU) in MiB, from the kernel's high-water mark.
    pub peak_rss_mib: Option<f64>,
    /// Threads of the pool the CPU work runs on (`RAYON_NUM_THREADS`, else the cores).
    pub threads: usize,
}

const WARMUP_STEPS: usize = 3;

pub fn bench(
    config: &TrialConfig,
    device: ComputeDevice,
    gpu: GpuOptions,
    batch_size: usize,
    steps: usize,
) -> Result<BenchReport> {
    let task = BenchTask {
        name: device,
        gpu,
        config,
        batch_size,
        steps,
    };
    super::backends::on_device(device, gpu, task)
}

/// [`bench`] on one backend.
struct BenchTask<'a> {
    name: ComputeDevice,
    gpu: GpuOptions,
    config: &'a TrialConfig,
    batch_size: usize,
    steps: usize,
}

impl BackendTask for BenchTask<'_> {
    type Output = BenchReport;
    fn run<B: AutodiffBackend>(self, device: B::Device, cpu_backend: bool) -> Result<BenchReport> {
        let mut report = bench_on::<B>(
            device,
            cpu_backend,
            self.name,
            self.config,
            self.batch_size,
            self.steps,
        )?;
        if !cpu_backend {
            report.gpu_fusion = self.gpu.fusion;
            report.tune_cache = Some(
                super::use_tune_cache(Path::new("runs"))
                    .display()
                    .to_string(),
            );
        }
        Ok(report)
    }
}

fn synthetic_batch(config: &TrialConfig, batch_size: usize, rng: &mut SplitMix64) -> Batch {
    let ds = config.data.dataset;
    let (channels, size) = (ds.channels(), ds.image_size());
    Batch {
        images: (0..batch_size * channels * size * size)
            .map(|_| rng.unit_f64() as f32 * 2.0 - 1.0)
            .collect(),
        labels: (0..batch_size)
            .map(|_| rng.below(ds.num_classes()) as i64)
            .collect(),
        len: batch_size,
        channels,
        size,
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn bench_on<B: AutodiffBackend>(
    device: B::Device,
    cpu_backend: bool,
    name: ComputeDevice,
    config: &TrialConfig,
    batch_size: usize,
    steps: usize,
) -> Result<BenchReport> {
    anyhow::ensure!(
        batch_size >= 1 && steps >= 1,
        "bench needs --batch >= 1 and --steps >= 1"
    );
    let mut rng = SplitMix64::new(config.train.seed);
    let batch = synthetic_batch(config, batch_size, &mut rng);
    let mut model = DenseNet::<B>::seeded(
        &config.model,
        config.data.dataset,
        config.train.seed,
        &device,
    );
    let mut optim = AnyOptimizer::<DenseNet<B>, B>::new(&config.train.optimizer);
    let mut engine = Engine::choose(cpu_backend, config);
    let lr = config.train.optimizer.lr();
    let mut train_times = Vec::new();
    let mut first_train = 0.0;
    for step in 0..WARMUP_STEPS + steps {
        let start = Instant::now();
        // A fresh copy of the batch each step, as in training.
        let dropout = SplitMix64::new(step as u64);
        let result = engine.train_step(&model, batch.clone(), dropout, &config.train, &device);
        model = optim.step(lr, model, result.grads);
        // Reading a value back waits for the device to finish the step.
        let _ = model.classifier.weight.val().into_data();
        let seconds = start.elapsed().as_secs_f64();
        if step == 0 {
            first_train = seconds;
        }
        if step >= WARMUP_STEPS {
            train_times.push(seconds);
        }
    }
    let eval_model = model.valid();
    let mut eval_times = Vec::new();
    let mut first_eval = 0.0;
    for step in 0..WARMUP_STEPS + steps {
        let start = Instant::now();
        let _ = engine.eval_batch(&eval_model, batch.clone(), &config.train, &device);
        let seconds = start.elapsed().as_secs_f64();
        if step == 0 {
            first_eval = seconds;
        }
        if step >= WARMUP_STEPS {
            eval_times.push(seconds);
        }
    }
    let train_step = median(train_times);
    Ok(BenchReport {
        device: name.to_string(),
        engine: engine.name(),
        precision: config.train.precision.name(),
        batch_size,
        steps,
        warmup_steps: WARMUP_STEPS,
        train_images_per_sec: batch_size as f64 / train_step,
        eval_images_per_sec: batch_size as f64 / median(eval_times),
        train_step_ms_median: train_step * 1e3,
        first_train_step_ms: first_train * 1e3,
        first_eval_step_ms: first_eval * 1e3,
        gpu_fusion: false,
        tune_cache: None,
        peak_rss_mib: peak_rss_mib(),
        threads: rayon::current_num_threads(),
    })
}

/// `VmHWM` from /proc/self/status (Linux); None elsewhere.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
