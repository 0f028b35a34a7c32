//! End-to-end tests of the experiment file: parse, validate, locate, expand. The shared
//! fixtures and helpers are here; each concern has its file.

use std::path::Path;

use serde_json::json;

use super::*;

mod adaptive;
mod expansion;
mod hashes_and_template;
mod sweep_geometry;
mod toml_errors;
mod valid_files;
mod value_rules;

/// The format's example (with a blocks axis that fits 28x28 images).
pub(super) const VALID: &str = r#"name = "growth-vs-depth"
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
pub(super) const MIN: &str = r#"name = "t"
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

pub(super) fn parse(text: &str) -> Result<Experiment, SpecError> {
    parse_experiment(text, Path::new("exp/x.toml"))
}

pub(super) fn ok(text: &str) -> Experiment {
    parse(text).unwrap_or_else(|e| panic!("expected a valid file, got:\n{e}"))
}

pub(super) fn errors(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.diagnostics,
    }
}

/// The single diagnostic of `text` as (line, column, key, message).
pub(super) fn one_error(text: &str) -> (usize, usize, String, String) {
    let d = errors(text);
    assert_eq!(d.len(), 1, "expected one diagnostic, got {d:#?}");
    let d = &d[0];
    assert_eq!(d.file, Path::new("exp/x.toml"));
    (d.line, d.column, d.key.clone(), d.message.clone())
}

/// `base` with the first `from` replaced by `to` (which must be there).
pub(super) fn with(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "{from:?} not in the text");
    base.replacen(from, to, 1)
}

/// MIN with `line` added at the end of [data] (line 4).
pub(super) fn data_line(line: &str) -> String {
    with(
        MIN,
        "dataset = \"mnist\"\n",
        &format!("dataset = \"mnist\"\n{line}\n"),
    )
}

/// MIN with `lines` added at the end of [model] (from line 7).
pub(super) fn model_lines(lines: &str) -> String {
    with(
        MIN,
        "blocks = [4, 4, 4]\n",
        &format!("blocks = [4, 4, 4]\n{lines}\n"),
    )
}

/// MIN with `optimizer = <value>` on line 10.
pub(super) fn optimizer(value: &str) -> String {
    with(
        MIN,
        "optimizer = { kind = \"adam\", lr = 1e-3 }",
        &format!("optimizer = {value}"),
    )
}

pub(super) fn err(
    line: usize,
    column: usize,
    key: &str,
    message: &str,
) -> (usize, usize, String, String) {
    (line, column, key.to_string(), message.to_string())
}
