//! End-to-end tests of the experiment file: parse, validate, locate, expand.

use std::path::Path;

use serde_json::json;

use super::*;

/// The format's example (with a blocks axis that fits 28x28 images).
const VALID: &str = r#"name = "growth-vs-depth"
description = "growth rate x block layout x dropout on MNIST"

[data]
dataset = "mnist"
augment = false

[model]
growth_rate = 12
blocks = [4, 4, 32]
bottleneck = true
transition = "growth"
compression = 0.5
stem = "imagenet"
dropout = 0.2

[train]
epochs = 50
batch_size = 100
optimizer = { kind = "adam", lr = 1e-4, eps = 1e-8 }
schedule = { kind = "step", at = [0.5, 0.75], factor = 0.1 }
seed = 1
log_every = 10

[sweep]
strategy = "grid"
repeats = 1
[sweep.axes]
"model.growth_rate" = [12, 24]
"model.blocks" = [[6, 12, 24], [4, 4, 4]]
"model.dropout" = [0.0, 0.2]
"#;

/// The smallest valid file: only required keys. Lines: 1 name, 2 [data], 3 dataset,
/// 4 [model], 5 growth_rate, 6 blocks, 7 [train], 8 epochs, 9 batch_size, 10 optimizer.
const MIN: &str = r#"name = "t"
[data]
dataset = "mnist"
[model]
growth_rate = 12
blocks = [4, 4, 4]
[train]
epochs = 1
batch_size = 10
optimizer = { kind = "adam", lr = 1e-3 }
"#;

fn parse(text: &str) -> Result<Experiment, SpecError> {
    parse_experiment(text, Path::new("exp/x.toml"))
}

fn ok(text: &str) -> Experiment {
    parse(text).unwrap_or_else(|e| panic!("expected a valid file, got:\n{e}"))
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.diagnostics,
    }
}

/// The single diagnostic of `text` as (line, column, key, message).
fn one_error(text: &str) -> (usize, usize, String, String) {
    let d = errors(text);
    assert_eq!(d.len(), 1, "expected one diagnostic, got {d:#?}");
    let d = &d[0];
    assert_eq!(d.file, Path::new("exp/x.toml"));
    (d.line, d.column, d.key.clone(), d.message.clone())
}

/// `base` with the first `from` replaced by `to` (which must be there).
fn with(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "{from:?} not in the text");
    base.replacen(from, to, 1)
}

/// MIN with `line` added at the end of [data] (line 4).
fn data_line(line: &str) -> String {
    with(
        MIN,
        "dataset = \"mnist\"\n",
        &format!("dataset = \"mnist\"\n{line}\n"),
    )
}

/// MIN with `lines` added at the end of [model] (from line 7).
fn model_lines(lines: &str) -> String {
    with(
        MIN,
        "blocks = [4, 4, 4]\n",
        &format!("blocks = [4, 4, 4]\n{lines}\n"),
    )
}

/// MIN with `optimizer = <value>` on line 10.
fn optimizer(value: &str) -> String {
    with(
        MIN,
        "optimizer = { kind = \"adam\", lr = 1e-3 }",
        &format!("optimizer = {value}"),
    )
}

fn err(line: usize, column: usize, key: &str, message: &str) -> (usize, usize, String, String) {
    (line, column, key.to_string(), message.to_string())
}

// ---------------------------------------------------------------- valid files and defaults

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
            dropout: 0.2,
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
                    values: vec![json!(12), json!(24)],
                },
                Axis {
                    key: "model.blocks".into(),
                    values: vec![json!([6, 12, 24]), json!([4, 4, 4])],
                },
                Axis {
                    key: "model.dropout".into(),
                    values: vec![json!(0.0), json!(0.2)],
                },
            ],
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
            axes: vec![]
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
    for dataset in ["mnist", "mnist-mini", "cifar10"] {
        let text = with(
            MIN,
            "dataset = \"mnist\"",
            &format!("dataset = \"{dataset}\"\naugment = true"),
        );
        assert!(ok(&text).base.data.augment);
    }
}

// ---------------------------------------------------------------- validation rules

#[test]
fn each_value_rule_is_reported_at_its_value_with_its_key() {
    let cases: Vec<(String, (usize, usize, String, String))> = vec![
        // data
        (
            data_line("validation_split = 1.0"),
            err(
                4,
                20,
                "data.validation_split",
                "expected a number in [0, 1), found 1.0",
            ),
        ),
        (
            data_line("train_samples = 0"),
            err(
                4,
                17,
                "data.train_samples",
                "expected an integer >= 1, found 0",
            ),
        ),
        (
            data_line("test_samples = 0"),
            err(
                4,
                16,
                "data.test_samples",
                "expected an integer >= 1, found 0",
            ),
        ),
        // model
        (
            with(MIN, "growth_rate = 12", "growth_rate = 0"),
            err(
                5,
                15,
                "model.growth_rate",
                "expected an integer in [1, 1024], found 0",
            ),
        ),
        (
            with(MIN, "growth_rate = 12", "growth_rate = 1025"),
            err(
                5,
                15,
                "model.growth_rate",
                "expected an integer in [1, 1024], found 1025",
            ),
        ),
        (
            with(MIN, "blocks = [4, 4, 4]", "blocks = []"),
            err(
                6,
                10,
                "model.blocks",
                "expected a non-empty array of layer counts, found []",
            ),
        ),
        (
            with(MIN, "blocks = [4, 4, 4]", "blocks = [4, 0, 4]"),
            err(
                6,
                14,
                "model.blocks[1]",
                "expected an integer >= 1 (layers in the block), found 0",
            ),
        ),
        (
            model_lines("dropout = -0.1"),
            err(
                7,
                11,
                "model.dropout",
                "expected a number in [0, 1), found -0.1",
            ),
        ),
        (
            model_lines("dropout = 1"),
            err(
                7,
                11,
                "model.dropout",
                "expected a number in [0, 1), found 1.0",
            ),
        ),
        (
            model_lines("compression = 0.0"),
            err(
                7,
                15,
                "model.compression",
                "expected a number in (0, 1], found 0.0",
            ),
        ),
        (
            model_lines("compression = 1.5"),
            err(
                7,
                15,
                "model.compression",
                "expected a number in (0, 1], found 1.5",
            ),
        ),
        (
            with(
                &with(MIN, "growth_rate = 12", "growth_rate = 1"),
                "blocks = [4, 4, 4]",
                "blocks = [1, 1]\ntransition = \"compression\"\ncompression = 0.01",
            ),
            err(
                8,
                15,
                "model.compression",
                "expected a compression that keeps at least 1 channel, found 0.01: \
                 transition 1 would keep floor(0.01 x 3) = 0 channels",
            ),
        ),
        (
            model_lines("stem = \"cifar\"\nstem_pool = true"),
            err(
                8,
                13,
                "model.stem_pool",
                "expected stem_pool only with stem = \"imagenet\", found stem = \"cifar\"",
            ),
        ),
        // train
        (
            with(MIN, "epochs = 1", "epochs = 0"),
            err(8, 10, "train.epochs", "expected an integer >= 1, found 0"),
        ),
        (
            with(MIN, "batch_size = 10", "batch_size = 0"),
            err(
                9,
                14,
                "train.batch_size",
                "expected an integer >= 1, found 0",
            ),
        ),
        (
            format!("{MIN}log_every = 0\n"),
            err(
                11,
                13,
                "train.log_every",
                "expected an integer >= 1, found 0",
            ),
        ),
        (
            optimizer("{ kind = \"adam\", lr = 0 }"),
            err(
                10,
                35,
                "train.optimizer.lr",
                "expected a finite number > 0, found 0.0",
            ),
        ),
        (
            optimizer("{ kind = \"adam\", lr = inf }"),
            err(
                10,
                35,
                "train.optimizer.lr",
                "expected a finite number > 0, found inf",
            ),
        ),
        (
            optimizer("{ kind = \"adam\", lr = 1e-3, beta1 = 1.0 }"),
            err(
                10,
                49,
                "train.optimizer.beta1",
                "expected a number in [0, 1), found 1.0",
            ),
        ),
        (
            optimizer("{ kind = \"adam\", lr = 1e-3, beta2 = -0.1 }"),
            err(
                10,
                49,
                "train.optimizer.beta2",
                "expected a number in [0, 1), found -0.1",
            ),
        ),
        (
            optimizer("{ kind = \"adam\", lr = 1e-3, eps = 0.0 }"),
            err(
                10,
                47,
                "train.optimizer.eps",
                "expected a finite number > 0, found 0.0",
            ),
        ),
        (
            optimizer("{ kind = \"adam\", lr = 1e-3, weight_decay = -1.0 }"),
            err(
                10,
                56,
                "train.optimizer.weight_decay",
                "expected a finite number >= 0, found -1.0",
            ),
        ),
        (
            optimizer("{ kind = \"sgd\", lr = 0.1, momentum = 1.0 }"),
            err(
                10,
                50,
                "train.optimizer.momentum",
                "expected a number in [0, 1), found 1.0",
            ),
        ),
        (
            optimizer("{ kind = \"sgd\", lr = 0.1, nesterov = true }"),
            err(
                10,
                50,
                "train.optimizer.nesterov",
                "expected momentum > 0 with nesterov = true, found momentum = 0",
            ),
        ),
        (
            optimizer("{ kind = \"sgd\", lr = 0.1, weight_decay = -1 }"),
            err(
                10,
                54,
                "train.optimizer.weight_decay",
                "expected a finite number >= 0, found -1.0",
            ),
        ),
        (
            format!("{MIN}schedule = {{ kind = \"step\", at = [], factor = 0.1 }}\n"),
            err(
                11,
                34,
                "train.schedule.at",
                "expected a non-empty array of fractions of the run, found []",
            ),
        ),
        (
            format!("{MIN}schedule = {{ kind = \"step\", at = [0.5, 0.5], factor = 0.1 }}\n"),
            err(
                11,
                40,
                "train.schedule.at[1]",
                "expected values strictly increasing, found 0.5 after 0.5",
            ),
        ),
        (
            format!("{MIN}schedule = {{ kind = \"step\", at = [0.0, 0.5], factor = 0.1 }}\n"),
            err(
                11,
                35,
                "train.schedule.at[0]",
                "expected a fraction of the run in (0, 1), found 0.0",
            ),
        ),
        (
            format!("{MIN}schedule = {{ kind = \"step\", at = [0.5], factor = 0.0 }}\n"),
            err(
                11,
                50,
                "train.schedule.factor",
                "expected a number in (0, 1], found 0.0",
            ),
        ),
        (
            format!("{MIN}schedule = {{ kind = \"step\", at = [0.5], factor = 1.5 }}\n"),
            err(
                11,
                50,
                "train.schedule.factor",
                "expected a number in (0, 1], found 1.5",
            ),
        ),
        (
            format!("{MIN}schedule = {{ kind = \"cosine\", min_lr = -1.0 }}\n"),
            err(
                11,
                40,
                "train.schedule.min_lr",
                "expected a finite number >= 0, found -1.0",
            ),
        ),
        (
            format!("{MIN}schedule = {{ kind = \"cosine\", min_lr = 0.001 }}\n"),
            err(
                11,
                40,
                "train.schedule.min_lr",
                "expected a number below the optimizer's lr (0.001), found 0.001",
            ),
        ),
        // name
        (
            with(MIN, "name = \"t\"", "name = \"\""),
            err(
                1,
                8,
                "name",
                "expected a name usable as a directory name (letters, digits, '.', '_', '-'; \
                 not empty, \".\" or \"..\"), found \"\"",
            ),
        ),
        (
            with(MIN, "name = \"t\"", "name = \"a/b\""),
            err(
                1,
                8,
                "name",
                "expected a name usable as a directory name (letters, digits, '.', '_', '-'; \
                 not empty, \".\" or \"..\"), found \"a/b\"",
            ),
        ),
        (
            with(MIN, "name = \"t\"", "name = \"..\""),
            err(
                1,
                8,
                "name",
                "expected a name usable as a directory name (letters, digits, '.', '_', '-'; \
                 not empty, \".\" or \"..\"), found \"..\"",
            ),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(one_error(&text), expected, "for file:\n{text}");
    }
}

#[test]
fn dropout_out_of_range_displays_file_line_column_key_and_message() {
    let e = parse(&model_lines("dropout = 1.5")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "exp/x.toml:7:11: model.dropout: expected a number in [0, 1), found 1.5"
    );
}

#[test]
fn all_errors_of_a_file_are_reported_sorted_by_position() {
    let text = with(
        &with(
            &model_lines("dropout = 1.5"),
            "growth_rate = 12",
            "growth_rate = 0",
        ),
        "name = \"t\"",
        "name = \"\"",
    );
    let text = format!(
        "{}[sweep]\nrepeats = 0\n",
        with(&text, "epochs = 1", "epochs = 0")
    );
    assert_eq!(
        parse(&text).unwrap_err().to_string(),
        "exp/x.toml:1:8: name: expected a name usable as a directory name (letters, digits, \
         '.', '_', '-'; not empty, \".\" or \"..\"), found \"\"\n\
         exp/x.toml:5:15: model.growth_rate: expected an integer in [1, 1024], found 0\n\
         exp/x.toml:7:11: model.dropout: expected a number in [0, 1), found 1.5\n\
         exp/x.toml:9:10: train.epochs: expected an integer >= 1, found 0\n\
         exp/x.toml:13:11: sweep.repeats: expected an integer >= 1, found 0"
    );
}

#[test]
fn geometry_too_deep_for_28x28_names_the_block_and_the_path_there() {
    let text = with(MIN, "blocks = [4, 4, 4]", "blocks = [4, 4, 4, 4]");
    assert_eq!(
        parse(&text).unwrap_err().to_string(),
        "exp/x.toml:6:20: model.blocks[3]: block 4 of 4 would see a 0x0 feature map (28x28 \
         mnist images: stem -> 6x6, after transition 1 -> 3x3, after transition 2 -> 1x1); \
         use fewer blocks, stem = \"cifar\" or stem_pool = false"
    );
    // The same layout fits without the stem's pool, or with the cifar stem.
    ok(&with(&text, "[train]", "stem_pool = false\n[train]"));
    ok(&with(&text, "[train]", "stem = \"cifar\"\n[train]"));
    // Without the pool a fifth block is too many; the hint no longer offers stem_pool.
    let five = with(
        MIN,
        "blocks = [4, 4, 4]",
        "blocks = [4, 4, 4, 4, 4]\nstem_pool = false",
    );
    assert_eq!(
        one_error(&five),
        err(
            6,
            23,
            "model.blocks[4]",
            "block 5 of 5 would see a 0x0 feature map (28x28 mnist images: stem -> 14x14, \
             after transition 1 -> 7x7, after transition 2 -> 3x3, after transition 3 -> 1x1); \
             use fewer blocks or stem = \"cifar\""
        )
    );
}

#[test]
fn sweep_rules_are_reported_at_their_values() {
    let sweep = |lines: &str| format!("{MIN}[sweep]\n{lines}\n");
    let axes = |lines: &str| format!("{MIN}[sweep.axes]\n{lines}\n");
    let cases = vec![
        (
            sweep("strategy = \"random\""),
            err(
                12,
                12,
                "sweep.strategy",
                "expected samples = N with strategy = \"random\", found no samples",
            ),
        ),
        (
            sweep("strategy = \"random\"\nsamples = 0"),
            err(13, 11, "sweep.samples", "expected an integer >= 1, found 0"),
        ),
        (
            sweep("samples = 3"),
            err(
                12,
                11,
                "sweep.samples",
                "expected no samples with strategy = \"grid\" (it runs every point), \
                 found samples = 3",
            ),
        ),
        (
            sweep("seed = 3"),
            err(
                12,
                8,
                "sweep.seed",
                "expected no seed with strategy = \"grid\" (only random sampling uses it), \
                 found seed = 3",
            ),
        ),
        (
            sweep("repeats = 0"),
            err(12, 11, "sweep.repeats", "expected an integer >= 1, found 0"),
        ),
        (
            sweep("strategy = \"bayes\""),
            err(
                12,
                12,
                "sweep.strategy",
                "expected one of \"grid\", \"random\", found \"bayes\"",
            ),
        ),
        (
            sweep(
                "strategy = \"random\"\nsamples = 3\n[sweep.axes]\n\"model.dropout\" = [0.0, 0.1]",
            ),
            err(
                13,
                11,
                "sweep.samples",
                "expected at most 2 samples (the grid has 2 points), found 3",
            ),
        ),
        (
            axes("\"model.dropout\" = 0.5"),
            err(
                12,
                19,
                "sweep.axes.\"model.dropout\"",
                "expected an array of values to sweep, found float 0.5",
            ),
        ),
        (
            axes("\"model.dropout\" = []"),
            err(
                12,
                19,
                "sweep.axes.\"model.dropout\"",
                "expected a non-empty array of values, found []",
            ),
        ),
        (
            axes("\"model.growth_rate\" = [12, \"a\"]"),
            err(
                12,
                28,
                "sweep.axes.\"model.growth_rate\"[1]",
                "model.growth_rate = \"a\": expected a non-negative integer, found string \"a\"",
            ),
        ),
        (
            axes("\"model.dropout\" = [0.0, 1.5]"),
            err(
                12,
                25,
                "sweep.axes.\"model.dropout\"[1]",
                "expected a number in [0, 1), found 1.5",
            ),
        ),
        (
            axes("\"model.dropout\" = [0.1, 0.1]"),
            err(
                12,
                25,
                "sweep.axes.\"model.dropout\"[1]",
                "expected distinct values, found 0.1 again (as at [0])",
            ),
        ),
        (
            axes("\"data.dataset\" = [\"mnist\", \"svhn\"]"),
            err(
                12,
                28,
                "sweep.axes.\"data.dataset\"[1]",
                "data.dataset = \"svhn\": expected one of \"mnist\", \"mnist-mini\", \
                 \"cifar10\", found \"svhn\"",
            ),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(one_error(&text), expected, "for file:\n{text}");
    }
}

#[test]
fn axis_values_json_cannot_hold_are_rejected_in_place() {
    let text = format!("{MIN}[sweep.axes]\n\"model.dropout\" = [0.1, nan]\n");
    assert_eq!(
        one_error(&text),
        err(
            12,
            25,
            "sweep.axes.\"model.dropout\"[1]",
            "expected a finite number, found NaN"
        )
    );
}

#[test]
fn a_base_value_out_of_range_is_reported_even_when_every_trial_overrides_it() {
    let text = format!(
        "{}[sweep.axes]\n\"model.dropout\" = [0.0, 0.2]\n",
        model_lines("dropout = 1.5")
    );
    let e = one_error(&text);
    assert_eq!(e.2, "model.dropout");
    assert!(e.3.contains("found 1.5"), "{e:?}");
}

#[test]
fn sweeps_beyond_the_trial_limit_are_rejected_at_the_sweep_table() {
    let text = format!("{MIN}[sweep]\nrepeats = 100001\n");
    assert_eq!(
        one_error(&text),
        err(
            11,
            1,
            "sweep",
            "expected a sweep of at most 100000 trials, found 100001"
        )
    );
}

#[test]
fn unknown_axis_keys_are_reported_at_the_key_with_valid_examples() {
    let text = format!("{MIN}[sweep.axes]\n\"model.growth\" = [12]\ngrowth_rate = [12]\n");
    let d = errors(&text);
    assert_eq!(d.len(), 2);
    assert_eq!(
        d[0].to_string(),
        "exp/x.toml:12:1: sweep.axes.\"model.growth\": unknown axis key \"model.growth\": \
         expected a dotted key of data, model or train, such as model.growth_rate, \
         model.blocks, model.dropout, train.optimizer.lr, train.batch_size, data.dataset"
    );
    assert_eq!((d[1].line, d[1].column), (13, 1));
    assert_eq!(d[1].key, "sweep.axes.growth_rate");
    assert!(
        d[1].message
            .starts_with("unknown axis key \"growth_rate\": did you mean \"model.growth_rate\"?"),
        "{}",
        d[1].message
    );
}

#[test]
fn every_listed_axis_key_names_a_real_config_key() {
    // A config with every optional key present, in each optimizer and schedule kind.
    let mut seen = std::collections::BTreeSet::new();
    for (opt, schedule) in [
        (
            "{ kind = \"adam\", lr = 0.1 }",
            "{ kind = \"step\", at = [0.5], factor = 0.5 }",
        ),
        ("{ kind = \"sgd\", lr = 0.1 }", "{ kind = \"cosine\" }"),
    ] {
        let text = format!(
            "{}schedule = {schedule}\n",
            optimizer(opt).replace(
                "dataset = \"mnist\"",
                "dataset = \"mnist\"\ntrain_samples = 1\ntest_samples = 1"
            )
        );
        let mut base = ok(&text).base;
        base.model.stem_pool = Some(true);
        let json = serde_json::to_value(&base).unwrap();
        for key in sweep::AXIS_KEYS {
            let mut node = &json;
            let found = key.split('.').all(|seg| match node.get(seg) {
                Some(next) => {
                    node = next;
                    true
                }
                None => false,
            });
            if found {
                seen.insert(*key);
            }
        }
    }
    let missing: Vec<_> = sweep::AXIS_KEYS
        .iter()
        .filter(|k| !seen.contains(*k))
        .collect();
    assert!(missing.is_empty(), "not config keys: {missing:?}");
}

// ---------------------------------------------------------------- TOML and serde errors

#[test]
fn unknown_keys_are_named_at_their_key_listing_accepted_keys() {
    assert_eq!(
        one_error(&with(MIN, "name = \"t\"\n", "name = \"t\"\nfoo = 1\n")),
        err(
            2,
            1,
            "foo",
            "unknown key \"foo\": expected one of name, description, device, data, model, train, sweep"
        )
    );
    assert_eq!(
        one_error(&with(MIN, "growth_rate = 12", "growth_rte = 12")),
        err(
            5,
            1,
            "model.growth_rte",
            "unknown key \"growth_rte\": expected one of growth_rate, blocks, bottleneck, \
             transition, compression, stem, stem_pool, dropout"
        )
    );
    assert_eq!(
        one_error(&optimizer("{ kind = \"adam\", lr = 1e-3, mom = 3 }")),
        err(
            10,
            41,
            "train.optimizer.mom",
            "unknown key \"mom\": expected one of lr, beta1, beta2, eps, weight_decay"
        )
    );
    assert_eq!(
        parse(&format!("{MIN}[sweep]\nmode = 1\n"))
            .unwrap_err()
            .to_string(),
        "exp/x.toml:12:1: sweep.mode: unknown key \"mode\": expected one of strategy, samples, \
         seed, repeats, axes"
    );
}

#[test]
fn keys_a_constant_schedule_would_silently_drop_are_unknown_keys() {
    assert_eq!(
        one_error(&format!(
            "{MIN}schedule = {{ kind = \"constant\", factor = 1 }}\n"
        )),
        err(
            11,
            33,
            "train.schedule.factor",
            "unknown key \"factor\": kind = \"constant\" takes no other key"
        )
    );
    let axis = format!(
        "{MIN}[sweep.axes]\n\"train.schedule\" = [{{ kind = \"constant\", at = [0.5] }}]\n"
    );
    assert_eq!(
        one_error(&axis),
        err(
            12,
            21,
            "sweep.axes.\"train.schedule\"[0]",
            "train.schedule = {\"at\":[0.5],\"kind\":\"constant\"}: unknown key \"at\": \
             kind = \"constant\" takes no other key"
        )
    );
    let leaf = format!("{MIN}[sweep.axes]\n\"train.schedule.factor\" = [0.5]\n");
    assert_eq!(
        one_error(&leaf).3,
        "train.schedule.factor = 0.5: unknown key \"factor\": kind = \"constant\" takes no \
         other key"
    );
}

#[test]
fn type_errors_are_located_at_the_value() {
    assert_eq!(
        parse(&with(MIN, "growth_rate = 12", "growth_rate = \"twelve\""))
            .unwrap_err()
            .to_string(),
        "exp/x.toml:5:15: model.growth_rate: expected a non-negative integer, found string \
         \"twelve\""
    );
    assert_eq!(
        one_error(&with(MIN, "blocks = [4, 4, 4]", "blocks = [4, \"a\", 4]")),
        err(
            6,
            14,
            "model.blocks[1]",
            "expected a non-negative integer, found string \"a\""
        )
    );
    assert_eq!(
        one_error(&model_lines("dropout = \"high\"")),
        err(
            7,
            11,
            "model.dropout",
            "expected a number, found string \"high\""
        )
    );
    assert_eq!(
        one_error(&optimizer("3")),
        err(
            10,
            13,
            "train.optimizer",
            "expected a table, found integer 3"
        )
    );
    assert_eq!(
        one_error(&with(MIN, "\"mnist\"", "\"svhn\"")),
        err(
            3,
            11,
            "data.dataset",
            "expected one of \"mnist\", \"mnist-mini\", \"cifar10\", found \"svhn\""
        )
    );
    assert_eq!(
        one_error(&optimizer("{ kind = \"adamw\", lr = 1e-3 }")),
        err(
            10,
            22,
            "train.optimizer.kind",
            "expected one of \"adam\", \"sgd\", found \"adamw\""
        )
    );
}

#[test]
fn missing_required_keys_point_at_their_table() {
    assert_eq!(
        one_error(&with(MIN, "blocks = [4, 4, 4]\n", "")),
        err(4, 1, "model.blocks", "missing required key \"blocks\"")
    );
    assert_eq!(
        one_error(&with(MIN, "name = \"t\"\n", "")),
        err(1, 1, "name", "missing required key \"name\"")
    );
}

#[test]
fn toml_syntax_errors_stop_with_their_location() {
    let d = one_error(&with(MIN, "blocks = [4, 4, 4]", "blocks = [4, 4, 4"));
    assert_eq!((d.0, d.1, d.2.as_str()), (7, 1, ""));
    assert!(d.3.contains("missing comma"), "{}", d.3);
    assert!(!d.3.contains('\n'));
    let dup = one_error(&with(MIN, "epochs = 1", "epochs = 1\nepochs = 2"));
    assert_eq!((dup.0, dup.1), (9, 1));
    assert_eq!(dup.3, "duplicate key");
}

#[test]
fn integers_beyond_64_bit_signed_stop_at_their_location() {
    let d = one_error(&format!("{MIN}seed = 18446744073709551615\n"));
    assert_eq!((d.0, d.1, d.2.as_str()), (11, 8, ""), "{d:?}");
}

#[test]
fn a_byte_order_mark_does_not_shift_columns() {
    let text = format!("\u{feff}{}", with(MIN, "name = \"t\"", "name = \"\""));
    let d = one_error(&text);
    assert_eq!((d.0, d.1, d.2.as_str()), (1, 8, "name"));
}

#[test]
fn multi_line_inline_tables_are_located_too() {
    let text = optimizer("{\n  kind = \"adam\",\n  lr = -1.0,\n}");
    assert_eq!(
        one_error(&text),
        err(
            12,
            8,
            "train.optimizer.lr",
            "expected a finite number > 0, found -1.0"
        )
    );
}

#[test]
fn unreadable_files_name_the_path() {
    let path = Path::new("/nonexistent/densenet-lab/spec-test.toml");
    let e = load_experiment(path).unwrap_err();
    assert_eq!(e.diagnostics.len(), 1);
    let text = e.to_string();
    assert!(
        text.starts_with(
            "/nonexistent/densenet-lab/spec-test.toml: cannot read the experiment file: "
        ),
        "{text}"
    );
}

#[test]
fn load_reads_the_file_and_keeps_its_path() {
    let path = std::env::temp_dir().join(format!("densenet-lab-spec-{}.toml", std::process::id()));
    std::fs::write(&path, MIN).unwrap();
    let e = load_experiment(&path);
    std::fs::remove_file(&path).unwrap();
    let e = e.unwrap();
    assert_eq!((e.path, e.source), (path, MIN.to_string()));
}

// ---------------------------------------------------------------- sweep expansion

#[test]
fn grid_of_2x2x2_with_3_repeats_is_24_trials_first_axis_slowest_repeats_innermost() {
    let e = ok(&with(VALID, "repeats = 1", "repeats = 3"));
    let trials = e.trials();
    assert_eq!(trials.len(), 24);
    for (i, t) in trials.iter().enumerate() {
        assert_eq!(t.index, i);
        assert_eq!(t.repeat, i % 3);
        assert_eq!(t.config.train.seed, 1 + (i % 3) as u64);
        let point = i / 3;
        let growth = [12, 24][point / 4];
        let blocks = [vec![6, 12, 24], vec![4, 4, 4]][(point / 2) % 2].clone();
        let dropout = [0.0, 0.2][point % 2];
        assert_eq!(
            t.overrides,
            vec![
                ("model.growth_rate".to_string(), json!(growth)),
                ("model.blocks".to_string(), json!(blocks)),
                ("model.dropout".to_string(), json!(dropout)),
            ]
        );
        assert_eq!(t.config.model.growth_rate, growth);
        assert_eq!(t.config.model.blocks, blocks);
        assert_eq!(t.config.model.dropout, dropout);
        // Keys no axis touches keep their base values.
        assert_eq!(t.config.data, e.base.data);
        assert_eq!(t.config.train.optimizer, e.base.train.optimizer);
    }
}

#[test]
fn axes_keep_file_order_not_alphabetical_order() {
    let text =
        format!("{MIN}[sweep.axes]\n\"train.epochs\" = [1, 2]\n\"data.augment\" = [false, true]\n");
    let e = ok(&text);
    let keys: Vec<_> = e.sweep.axes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["train.epochs", "data.augment"]);
    let t = e.trials();
    assert_eq!(t[1].overrides[0], ("train.epochs".to_string(), json!(1)));
    assert_eq!(t[1].overrides[1], ("data.augment".to_string(), json!(true)));
}

fn random_file(samples: usize, seed: Option<u64>) -> String {
    let seed = seed.map_or(String::new(), |s| format!("seed = {s}\n"));
    with(
        VALID,
        "strategy = \"grid\"\nrepeats = 1\n",
        &format!("strategy = \"random\"\nsamples = {samples}\n{seed}repeats = 2\n"),
    )
}

#[test]
fn random_sweep_draws_distinct_points_deterministically_per_seed() {
    let e = ok(&random_file(5, Some(3)));
    assert_eq!(
        e.sweep.strategy,
        Strategy::Random {
            samples: 5,
            seed: 3
        }
    );
    let trials = e.trials();
    assert_eq!(trials.len(), 10);
    let points: Vec<_> = trials
        .iter()
        .step_by(2)
        .map(|t| t.overrides.clone())
        .collect();
    for (i, t) in trials.iter().enumerate() {
        assert_eq!((t.index, t.repeat), (i, i % 2));
        assert_eq!(t.overrides, points[i / 2]);
    }
    for (i, p) in points.iter().enumerate() {
        assert!(!points[..i].contains(p), "point {i} drawn twice");
    }
    assert_eq!(ok(&random_file(5, Some(3))).trials(), trials);
    let other: Vec<_> = ok(&random_file(5, Some(4)))
        .trials()
        .iter()
        .step_by(2)
        .map(|t| t.overrides.clone())
        .collect();
    assert_ne!(other, points);
    // The default sampling seed is 0.
    assert_eq!(
        ok(&random_file(5, None)).trials(),
        ok(&random_file(5, Some(0))).trials()
    );
    // All 8 points can be drawn; a 9th cannot.
    assert_eq!(ok(&random_file(8, None)).trials().len(), 16);
    let d = one_error(&random_file(9, None));
    assert_eq!(
        (d.2.as_str(), d.3.as_str()),
        (
            "sweep.samples",
            "expected at most 8 samples (the grid has 8 points), found 9"
        )
    );
}

#[test]
fn an_axis_can_switch_whole_optimizer_tables() {
    let text = format!(
        "{MIN}[sweep.axes]\n\"train.optimizer\" = [{{ kind = \"adam\", lr = 1e-3 }}, \
         {{ kind = \"sgd\", lr = 0.1, momentum = 0.9 }}]\n"
    );
    let trials = ok(&text).trials();
    assert_eq!(trials.len(), 2);
    assert!(
        matches!(trials[1].config.train.optimizer, Optimizer::Sgd { momentum, .. } if momentum == 0.9)
    );
    let bad = with(&text, "lr = 0.1", "lr = 0.0");
    assert_eq!(
        one_error(&bad),
        err(
            12,
            52,
            "sweep.axes.\"train.optimizer\"[1]",
            "train.optimizer.lr: expected a finite number > 0, found 0.0"
        )
    );
}

// ---------------------------------------------------------------- geometry across a sweep

#[test]
fn an_axis_value_too_deep_for_the_images_is_blamed_in_place() {
    // The format's example: 4 blocks do not fit 28x28 images with the pooled imagenet stem.
    let text = with(
        VALID,
        "\"model.blocks\" = [[6, 12, 24], [4, 4, 4]]",
        "\"model.blocks\" = [[6, 12, 48, 32], [4, 4, 4]]",
    );
    assert_eq!(
        parse(&text).unwrap_err().to_string(),
        "exp/x.toml:30:19: sweep.axes.\"model.blocks\"[0]: model.blocks[3]: block 4 of 4 would \
         see a 0x0 feature map (28x28 mnist images: stem -> 6x6, after transition 1 -> 3x3, \
         after transition 2 -> 1x1); use fewer blocks, stem = \"cifar\" or stem_pool = false"
    );
}

#[test]
fn geometry_failing_for_a_combination_of_axes_names_the_trial() {
    // Without the stem's pool 5 blocks fit 32x32 cifar10 images but not 28x28 mnist ones.
    let text = format!(
        "{}[sweep.axes]\n\"data.dataset\" = [\"cifar10\", \"mnist\"]\n\
         \"model.blocks\" = [[4, 4, 4], [4, 4, 4, 4, 4]]\n",
        with(
            MIN,
            "blocks = [4, 4, 4]",
            "blocks = [2, 2]\nstem_pool = false"
        )
    );
    assert_eq!(
        one_error(&text),
        err(
            14,
            30,
            "sweep.axes.\"model.blocks\"[1]",
            "model.blocks[4]: block 5 of 5 would see a 0x0 feature map (28x28 mnist images: \
             stem -> 14x14, after transition 1 -> 7x7, after transition 2 -> 3x3, after \
             transition 3 -> 1x1); use fewer blocks or stem = \"cifar\" (in trial 3, with \
             data.dataset = \"mnist\", model.blocks = [4,4,4,4,4])"
        )
    );
}

#[test]
fn a_combination_failing_in_several_trials_is_reported_once_with_a_count() {
    let text = format!(
        "{MIN}[sweep.axes]\n\"model.stem_pool\" = [false, true]\n\
         \"model.blocks\" = [[4, 4, 4, 4]]\n\"train.epochs\" = [1, 2]\n"
    );
    assert_eq!(
        one_error(&text),
        err(
            13,
            19,
            "sweep.axes.\"model.blocks\"[0]",
            "model.blocks[3]: block 4 of 4 would see a 0x0 feature map (28x28 mnist images: \
             stem -> 6x6, after transition 1 -> 3x3, after transition 2 -> 1x1); use fewer \
             blocks, stem = \"cifar\" or stem_pool = false (in trial 2, with model.stem_pool = \
             true, model.blocks = [4,4,4,4], train.epochs = 1 and 1 more trial)"
        )
    );
}

// ---------------------------------------------------------------- hashes and template

#[test]
fn trial_hashes_are_stable_and_distinct_per_trial() {
    let trials = ok(&with(VALID, "repeats = 1", "repeats = 3")).trials();
    let again = ok(&with(VALID, "repeats = 1", "repeats = 3")).trials();
    let hashes: Vec<_> = trials.iter().map(|t| t.hash.clone()).collect();
    assert_eq!(
        hashes,
        again.iter().map(|t| t.hash.clone()).collect::<Vec<_>>()
    );
    let mut unique = hashes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 24);
    assert!(
        hashes
            .iter()
            .all(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    );
    // Pinned: a change of the canonical form or of defaults shows up here.
    assert_eq!(ok(MIN).trials()[0].hash, "e4406e87bfb0adbb");
}

#[test]
fn identical_configs_hash_equal_however_they_are_written() {
    let spelled_out = format!(
        "# comment\n{}",
        with(
            MIN,
            "blocks = [4, 4, 4]",
            "dropout = 0.0\nblocks = [ 4,4,4 ]\nstem = \"imagenet\"\nbottleneck = true"
        )
    );
    assert_eq!(ok(&spelled_out).trials()[0].hash, ok(MIN).trials()[0].hash);
    let swept = format!("{MIN}[sweep.axes]\n\"model.growth_rate\" = [12, 24]\n");
    assert_eq!(ok(&swept).trials()[0].hash, ok(MIN).trials()[0].hash);
    assert_ne!(ok(&swept).trials()[1].hash, ok(MIN).trials()[0].hash);
}

#[test]
fn the_template_parses_and_validates_after_substitution() {
    assert!(TEMPLATE.contains("name = \"{name}\""));
    let text = render_template("my-first.sweep");
    let e = ok(&text);
    assert_eq!(e.name, "my-first.sweep");
    assert_eq!(e.trials().len(), 4);
}

#[test]
fn precision_defaults_to_f32_and_sweeps_without_changing_f32_hashes() {
    let plain = ok(MIN);
    assert_eq!(plain.base.train.precision, Precision::F32);
    // Naming the default changes nothing, not even the hash a store knows the trial by.
    let explicit = ok(&format!("{MIN}precision = \"f32\"\n"));
    assert_eq!(explicit.trials()[0].hash, plain.trials()[0].hash);

    let swept = ok(&format!(
        "{MIN}[sweep]\nstrategy = \"grid\"\n[sweep.axes]\n\"train.precision\" = [\"f32\", \"bf16\"]\n"
    ));
    let trials = swept.trials();
    let precisions: Vec<Precision> = trials.iter().map(|t| t.config.train.precision).collect();
    assert_eq!(precisions, [Precision::F32, Precision::Bf16]);
    assert_eq!(trials[0].hash, plain.trials()[0].hash);
    assert_ne!(trials[1].hash, trials[0].hash);

    let (line, column, key, message) = one_error(&format!("{MIN}precision = \"fp16\"\n"));
    assert_eq!((line, column, key.as_str()), (11, 13, "train.precision"));
    assert_eq!(message, "expected one of \"f32\", \"bf16\", found \"fp16\"");
}
