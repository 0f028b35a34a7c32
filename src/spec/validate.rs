//! Value rules for a resolved trial config. They run on the base config, on the base with each
//! sweep axis value applied, and on every trial, so each problem is reported with the keys it
//! depends on (`blame`) and the caller decides where in the file it comes from.

use super::config::{
    DataConfig, ModelConfig, Optimizer, Schedule, Stem, TrainConfig, Transition, TrialConfig,
};
use super::geometry::{GeometryError, feature_map_sizes};

/// Largest growth rate accepted: a sanity bound, far above any DenseNet in the literature.
pub(crate) const MAX_GROWTH_RATE: usize = 1024;

/// Most filters the stem may make: the same sanity bound as a layer's growth, twice over (the
/// default stem makes 2k).
pub(crate) const MAX_STEM_CHANNELS: usize = 2 * MAX_GROWTH_RATE;

/// Largest number of layers in one dense block: a sanity bound like [`MAX_GROWTH_RATE`]
/// (DenseNet-264's largest block has 64), which also keeps parameter and FLOP counts in range.
pub(crate) const MAX_BLOCK_LAYERS: usize = 1000;

/// Most epochs accepted: far beyond any schedule (DenseNet trains for 300), and small enough
/// that steps = epochs x batches per epoch cannot overflow.
pub(crate) const MAX_EPOCHS: usize = 1_000_000;

/// One broken rule of a resolved config.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Issue {
    /// Dotted path of the value to point at, e.g. `model.blocks[3]`.
    pub path: String,
    pub message: String,
    /// Config keys whose values decide the rule (e.g. geometry: dataset, blocks, stem).
    pub blame: Vec<&'static str>,
}

#[derive(Default)]
struct Issues(Vec<Issue>);

impl Issues {
    fn push(&mut self, path: impl Into<String>, message: String, blame: &[&'static str]) {
        self.0.push(Issue {
            path: path.into(),
            message,
            blame: blame.to_vec(),
        });
    }

    /// A rule on one key: blames just that key.
    fn unless(&mut self, ok: bool, key: &'static str, message: impl FnOnce() -> String) {
        if !ok {
            self.push(key, message(), &[key]);
        }
    }
}

/// Every broken rule of `config`, when it is run with `repeats` seeds.
pub(crate) fn check_config(config: &TrialConfig, repeats: usize) -> Vec<Issue> {
    let mut issues = Issues::default();
    check_data(&config.data, &mut issues);
    check_model(&config.model, &mut issues);
    check_geometry(config, &mut issues);
    check_train(&config.train, repeats, &mut issues);
    issues.0
}

fn in_unit(x: f64) -> bool {
    (0.0..1.0).contains(&x)
}

fn check_data(data: &DataConfig, issues: &mut Issues) {
    let split = data.validation_split;
    issues.unless(in_unit(split), "data.validation_split", || {
        format!("expected a number in [0, 1), found {split:?}")
    });
    // The split `data::load` makes, known from the dataset's size: without this the file
    // passes `check` and its trial fails when it loads the data.
    if in_unit(split) && split > 0.0 {
        let images = data.dataset.train_images();
        let total = data.train_samples.map_or(images, |n| n.min(images));
        let held = (split * total as f64).round() as usize;
        if held == 0 || held >= total {
            let (low, high) = (0.5 / total as f64, (total as f64 - 0.5) / total as f64);
            issues.push(
                "data.validation_split",
                format!(
                    "expected 0 (no split) or a fraction from {low} to below {high}, which \
                     holds out at least one of the {total} training images and leaves at \
                     least one; found {split}, which holds out {held}"
                ),
                &[
                    "data.validation_split",
                    "data.train_samples",
                    "data.dataset",
                ],
            );
        }
    }
    for (key, value) in [
        ("data.train_samples", data.train_samples),
        ("data.test_samples", data.test_samples),
    ] {
        issues.unless(value != Some(0), key, || {
            "expected an integer >= 1, found 0".into()
        });
    }
}

fn check_model(model: &ModelConfig, issues: &mut Issues) {
    let k = model.growth_rate;
    issues.unless(
        (1..=MAX_GROWTH_RATE).contains(&k),
        "model.growth_rate",
        || format!("expected an integer in [1, {MAX_GROWTH_RATE}], found {k}"),
    );
    if let Some(c) = model.stem_channels {
        issues.unless(
            (1..=MAX_STEM_CHANNELS).contains(&c),
            "model.stem_channels",
            || format!("expected an integer in [1, {MAX_STEM_CHANNELS}], found {c}"),
        );
    }
    if model.blocks.is_empty() {
        issues.push(
            "model.blocks",
            "expected a non-empty array of layer counts, found []".into(),
            &["model.blocks"],
        );
    }
    for (i, &layers) in model.blocks.iter().enumerate() {
        if layers == 0 {
            issues.push(
                format!("model.blocks[{i}]"),
                "expected an integer >= 1 (layers in the block), found 0".into(),
                &["model.blocks"],
            );
        } else if layers > MAX_BLOCK_LAYERS {
            issues.push(
                format!("model.blocks[{i}]"),
                format!(
                    "expected an integer in [1, {MAX_BLOCK_LAYERS}] (layers in the block), \
                     found {layers}"
                ),
                &["model.blocks"],
            );
        }
    }
    let p = model.dropout;
    issues.unless(in_unit(p), "model.dropout", || {
        format!("expected a number in [0, 1), found {p:?}")
    });
    let theta = model.compression;
    let theta_ok = theta > 0.0 && theta <= 1.0;
    issues.unless(theta_ok, "model.compression", || {
        format!("expected a number in (0, 1], found {theta:?}")
    });
    if theta_ok && model.transition == Transition::Compression {
        check_compressed_channels(model, issues);
    }
    if model.stem_pool.is_some() && model.stem != Stem::Imagenet {
        issues.push(
            "model.stem_pool",
            "expected stem_pool only with stem = \"imagenet\", found stem = \"cifar\"".into(),
            &["model.stem_pool", "model.stem"],
        );
    }
}

/// With `transition = "compression"` each transition keeps floor(theta * m) of its m input
/// channels; zero would leave the next block nothing to convolve. The stem makes
/// `stem_channels` (2k unless set) and every layer adds k.
fn check_compressed_channels(model: &ModelConfig, issues: &mut Issues) {
    let k = model.growth_rate;
    let theta = model.compression;
    let mut channels = model.stem_width();
    let transitions = model.blocks.len().saturating_sub(1);
    for (i, &layers) in model.blocks.iter().take(transitions).enumerate() {
        // Saturating: a block too large is reported on its own, and must not overflow here.
        let m = channels.saturating_add(layers.saturating_mul(k));
        let kept = (theta * m as f64).floor() as usize;
        if kept == 0 {
            issues.push(
                "model.compression",
                format!(
                    "expected a compression that keeps at least 1 channel, found {theta:?}: \
                     transition {} would keep floor({theta:?} x {m}) = 0 channels",
                    i + 1
                ),
                &[
                    "model.compression",
                    "model.transition",
                    "model.growth_rate",
                    "model.blocks",
                    "model.stem_channels",
                ],
            );
            return;
        }
        channels = kept;
    }
}

fn check_geometry(config: &TrialConfig, issues: &mut Issues) {
    let model = &config.model;
    let dataset = config.data.dataset;
    let side = dataset.image_size();
    if let Err(err @ GeometryError::Vanishes { block, blocks, .. }) = feature_map_sizes(model, side)
    {
        let hint = match model.stem {
            Stem::Imagenet if model.uses_stem_pool() => {
                "use fewer blocks, stem = \"cifar\" or stem_pool = false"
            }
            Stem::Imagenet => "use fewer blocks or stem = \"cifar\"",
            Stem::Cifar => "use fewer blocks",
        };
        issues.push(
            format!("model.blocks[{}]", block - 1),
            format!(
                "block {block} of {blocks} would see a 0x0 feature map \
                 ({side}x{side} {} images: {}); {hint}",
                dataset.name(),
                err.steps()
            ),
            &[
                "data.dataset",
                "model.blocks",
                "model.stem",
                "model.stem_pool",
            ],
        );
    }
}

fn check_positive_count(value: usize, key: &'static str, issues: &mut Issues) {
    issues.unless(value >= 1, key, || {
        "expected an integer >= 1, found 0".into()
    });
}

fn check_train(train: &TrainConfig, repeats: usize, issues: &mut Issues) {
    check_positive_count(train.epochs, "train.epochs", issues);
    let epochs = train.epochs;
    issues.unless(epochs <= MAX_EPOCHS, "train.epochs", || {
        format!("expected an integer in [1, {MAX_EPOCHS}], found {epochs}")
    });
    check_positive_count(train.batch_size, "train.batch_size", issues);
    check_positive_count(train.log_every, "train.log_every", issues);
    if train
        .seed
        .checked_add(repeats.saturating_sub(1) as u64)
        .is_none()
    {
        issues.push(
            "train.seed",
            format!(
                "expected a seed that leaves room for {repeats} repeats (seed + repeat), \
                 found {}",
                train.seed
            ),
            &["train.seed"],
        );
    }
    check_optimizer(&train.optimizer, issues);
    check_schedule(&train.schedule, train.optimizer.lr(), issues);
}

fn check_optimizer(optimizer: &Optimizer, issues: &mut Issues) {
    let lr = optimizer.lr();
    issues.unless(lr > 0.0 && lr.is_finite(), "train.optimizer.lr", || {
        format!("expected a finite number > 0, found {lr:?}")
    });
    let weight_decay = match *optimizer {
        Optimizer::Adam {
            beta1,
            beta2,
            eps,
            weight_decay,
            ..
        } => {
            for (key, beta) in [
                ("train.optimizer.beta1", beta1),
                ("train.optimizer.beta2", beta2),
            ] {
                issues.unless(in_unit(beta), key, || {
                    format!("expected a number in [0, 1), found {beta:?}")
                });
            }
            issues.unless(eps > 0.0 && eps.is_finite(), "train.optimizer.eps", || {
                format!("expected a finite number > 0, found {eps:?}")
            });
            weight_decay
        }
        Optimizer::Sgd {
            momentum,
            nesterov,
            weight_decay,
            ..
        } => {
            let momentum_ok = in_unit(momentum);
            issues.unless(momentum_ok, "train.optimizer.momentum", || {
                format!("expected a number in [0, 1), found {momentum:?}")
            });
            if nesterov && momentum_ok && momentum == 0.0 {
                issues.push(
                    "train.optimizer.nesterov",
                    "expected momentum > 0 with nesterov = true, found momentum = 0".into(),
                    &["train.optimizer.nesterov", "train.optimizer.momentum"],
                );
            }
            weight_decay
        }
    };
    let key = "train.optimizer.weight_decay";
    issues.unless(weight_decay >= 0.0 && weight_decay.is_finite(), key, || {
        format!("expected a finite number >= 0, found {weight_decay:?}")
    });
}

fn check_schedule(schedule: &Schedule, lr: f64, issues: &mut Issues) {
    match schedule {
        Schedule::Constant => {}
        Schedule::Step { at, factor } => {
            if at.is_empty() {
                issues.push(
                    "train.schedule.at",
                    "expected a non-empty array of fractions of the run, found []".into(),
                    &["train.schedule.at"],
                );
            }
            for (i, &x) in at.iter().enumerate() {
                let path = format!("train.schedule.at[{i}]");
                if !(x > 0.0 && x < 1.0) {
                    let message = format!("expected a fraction of the run in (0, 1), found {x:?}");
                    issues.push(path, message, &["train.schedule.at"]);
                } else if i > 0 && at[i - 1] >= x {
                    let message = format!(
                        "expected values strictly increasing, found {x:?} after {:?}",
                        at[i - 1]
                    );
                    issues.push(path, message, &["train.schedule.at"]);
                }
            }
            let factor = *factor;
            issues.unless(
                factor > 0.0 && factor <= 1.0,
                "train.schedule.factor",
                || format!("expected a number in (0, 1], found {factor:?}"),
            );
        }
        Schedule::Cosine { min_lr } => {
            let min_lr = *min_lr;
            if !(min_lr >= 0.0 && min_lr.is_finite()) {
                issues.push(
                    "train.schedule.min_lr",
                    format!("expected a finite number >= 0, found {min_lr:?}"),
                    &["train.schedule.min_lr"],
                );
            } else if lr > 0.0 && min_lr >= lr {
                issues.push(
                    "train.schedule.min_lr",
                    format!(
                        "expected a number below the optimizer's lr ({lr:?}), found {min_lr:?}"
                    ),
                    &["train.schedule.min_lr", "train.optimizer.lr"],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_without_room_for_its_repeats_is_an_issue() {
        let text = "name = \"t\"\n[data]\ndataset = \"mnist\"\n[model]\ngrowth_rate = 12\n\
                    blocks = [4]\n[train]\nepochs = 1\nbatch_size = 1\n\
                    optimizer = { kind = \"adam\", lr = 1e-3 }\n";
        let mut config = crate::spec::parse_experiment(text, std::path::Path::new("t.toml"))
            .unwrap()
            .base;
        config.train.seed = u64::MAX - 1;
        assert!(check_config(&config, 2).is_empty());
        let issues = check_config(&config, 3);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "train.seed");
        assert_eq!(
            issues[0].message,
            "expected a seed that leaves room for 3 repeats (seed + repeat), found 18446744073709551614"
        );
    }
}
