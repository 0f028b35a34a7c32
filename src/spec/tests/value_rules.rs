//! Validation rules.

use super::*;

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
            model_lines("stem_channels = 0"),
            err(
                7,
                17,
                "model.stem_channels",
                "expected an integer in [1, 2048], found 0",
            ),
        ),
        (
            model_lines("stem_channels = 2049"),
            err(
                7,
                17,
                "model.stem_channels",
                "expected an integer in [1, 2048], found 2049",
            ),
        ),
        (
            model_lines("stem_channels = -16"),
            err(
                7,
                17,
                "model.stem_channels",
                "expected a non-negative integer, found integer -16",
            ),
        ),
        (
            // A 1-channel stem leaves the first transition floor(0.4 x 2) = 0 channels,
            // where the default 2k = 2 would keep floor(0.4 x 3) = 1.
            with(
                &with(MIN, "growth_rate = 12", "growth_rate = 1"),
                "blocks = [4, 4, 4]",
                "blocks = [1, 1]\ntransition = \"compression\"\ncompression = 0.4\n\
                 stem_channels = 1",
            ),
            err(
                8,
                15,
                "model.compression",
                "expected a compression that keeps at least 1 channel, found 0.4: \
                 transition 1 would keep floor(0.4 x 2) = 0 channels",
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
                "expected one of \"grid\", \"random\", \"tpe\", found \"bayes\"",
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
                 \"fashion-mnist\", \"cifar10\", found \"svhn\"",
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
        base.model.stem_channels = Some(16);
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
