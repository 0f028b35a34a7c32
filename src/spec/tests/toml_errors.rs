//! TOML and serde errors.

use super::*;

#[test]
fn unknown_keys_are_named_at_their_key_listing_accepted_keys() {
    assert_eq!(
        one_error(&with(MIN, "name = \"t\"\n", "name = \"t\"\nfoo = 1\n")),
        err(
            2,
            1,
            "foo",
            "unknown key \"foo\": expected one of name, description, device, data, model, train, sweep, slurm"
        )
    );
    assert_eq!(
        one_error(&with(MIN, "growth_rate = 12", "growth_rte = 12")),
        err(
            5,
            1,
            "model.growth_rte",
            "unknown key \"growth_rte\": expected one of growth_rate, blocks, bottleneck, \
             transition, compression, stem, stem_pool, stem_channels, dropout, init"
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
         seed, repeats, startup, metric, axes, early_stop"
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
            "expected one of \"mnist\", \"mnist-mini\", \"fashion-mnist\", \"cifar10\", \
             found \"svhn\""
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
