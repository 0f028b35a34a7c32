//! Valid files and defaults.

use super::*;

#[test]
fn full_valid_file_round_trips_into_every_field() {
    let e = ok(VALID);
    assert_eq!(e.name, "growth-vs-depth");
    assert_eq!(
        e.description,
        "growth rate x block layout x dropout on MNIST"
    );
    assert_eq!(e.path, Path::new("exp/x.toml"));
    assert_eq!(e.source, VALID);
    let expected = TrialConfig {
        data: DataConfig {
            dataset: Dataset::Mnist,
            augment: false,
            validation_split: 0.0,
            train_samples: None,
            test_samples: None,
        },
        model: ModelConfig {
            growth_rate: 12,
            blocks: vec![4, 4, 32],
            bottleneck: true,
            transition: Transition::Growth,
            compression: 0.5,
            stem: Stem::Imagenet,
            stem_pool: None,
            stem_channels: None,
            dropout: 0.2,
            init: Default::default(),
        },
        train: TrainConfig {
            epochs: 50,
            batch_size: 100,
            optimizer: Optimizer::Adam {
                lr: 1e-4,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
            schedule: Schedule::Step {
                at: vec![0.5, 0.75],
                factor: 0.1,
            },
            seed: 1,
            log_every: 10,
            precision: Precision::F32,
        },
    };
    assert_eq!(e.base, expected);
    assert_eq!(
        e.sweep,
        Sweep {
            strategy: Strategy::Grid,
            repeats: 1,
            axes: vec![
                Axis {
                    key: "model.growth_rate".into(),
                    domain: Domain::Choice(vec![json!(12), json!(24)]),
                },
                Axis {
                    key: "model.blocks".into(),
                    domain: Domain::Choice(vec![json!([6, 12, 24]), json!([4, 4, 4])]),
                },
                Axis {
                    key: "model.dropout".into(),
                    domain: Domain::Choice(vec![json!(0.0), json!(0.2)]),
                },
            ],
            objective: None,
            early_stop: None,
        }
    );
}

#[test]
fn every_optional_key_round_trips() {
    let text = r#"name = "all.keys_1"
[data]
dataset = "cifar10"
augment = true
validation_split = 0.25
train_samples = 500
test_samples = 100
[model]
growth_rate = 40
blocks = [6, 12]
bottleneck = false
transition = "compression"
compression = 0.75
stem = "imagenet"
stem_pool = false
dropout = 0.0
[train]
epochs = 3
batch_size = 32
optimizer = { kind = "sgd", lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 1e-4 }
schedule = { kind = "cosine", min_lr = 0.001 }
seed = 7
log_every = 5
"#;
    let e = ok(text);
    let data = &e.base.data;
    assert_eq!(
        (data.dataset, data.augment, data.validation_split),
        (Dataset::Cifar10, true, 0.25)
    );
    assert_eq!(
        (data.train_samples, data.test_samples),
        (Some(500), Some(100))
    );
    let m = &e.base.model;
    assert_eq!(
        (m.growth_rate, m.bottleneck, m.compression),
        (40, false, 0.75)
    );
    assert_eq!(
        (m.transition, m.stem_pool),
        (Transition::Compression, Some(false))
    );
    assert!(!m.uses_stem_pool());
    assert_eq!(
        e.base.train.optimizer,
        Optimizer::Sgd {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4
        }
    );
    assert_eq!(e.base.train.schedule, Schedule::Cosine { min_lr: 0.001 });
    assert_eq!((e.base.train.seed, e.base.train.log_every), (7, 5));
}

#[test]
fn absent_keys_take_their_defaults_and_no_sweep_is_one_trial() {
    let e = ok(MIN);
    assert_eq!(e.description, "");
    let d = &e.base.data;
    assert!(!d.augment);
    assert_eq!(d.validation_split, 0.0);
    assert_eq!((d.train_samples, d.test_samples), (None, None));
    let m = &e.base.model;
    assert!(m.bottleneck);
    assert_eq!(m.transition, Transition::Growth);
    assert_eq!(m.compression, 0.5);
    assert_eq!(m.stem, Stem::Imagenet);
    assert_eq!(m.stem_pool, None);
    assert!(m.uses_stem_pool());
    assert_eq!(m.dropout, 0.0);
    let t = &e.base.train;
    assert_eq!(
        t.optimizer,
        Optimizer::Adam {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0
        }
    );
    assert_eq!(t.schedule, Schedule::Constant);
    assert_eq!((t.seed, t.log_every), (0, 10));
    assert_eq!(
        e.sweep,
        Sweep {
            strategy: Strategy::Grid,
            repeats: 1,
            axes: vec![],
            objective: None,
            early_stop: None,
        }
    );
    let trials = e.trials();
    assert_eq!(trials.len(), 1);
    assert_eq!((trials[0].index, trials[0].repeat), (0, 0));
    assert!(trials[0].overrides.is_empty());
    assert_eq!(trials[0].config, e.base);
    assert_eq!(trials[0].hash, trial_hash(&e.base));

    let sgd = ok(&optimizer("{ kind = \"sgd\", lr = 0.1 }"));
    assert_eq!(
        sgd.base.train.optimizer,
        Optimizer::Sgd {
            lr: 0.1,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0
        }
    );
    let cosine = ok(&format!("{MIN}schedule = {{ kind = \"cosine\" }}\n"));
    assert_eq!(cosine.base.train.schedule, Schedule::Cosine { min_lr: 0.0 });
    let sweep = ok(&format!("{MIN}[sweep]\n"));
    assert_eq!(sweep.sweep.repeats, 1);
    assert_eq!(sweep.trials().len(), 1);
}

#[test]
fn augment_is_accepted_for_every_dataset() {
    for dataset in ["mnist", "mnist-mini", "fashion-mnist", "cifar10"] {
        let text = with(
            MIN,
            "dataset = \"mnist\"",
            &format!("dataset = \"{dataset}\"\naugment = true"),
        );
        assert!(ok(&text).base.data.augment);
    }
}
