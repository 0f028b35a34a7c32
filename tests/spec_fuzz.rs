//! Property test of the experiment-file parser: every example in `experiments/`, mutated at
//! random (lines deleted, duplicated or swapped, values replaced, the text cut short, random
//! bytes inserted), either parses into trials with well-formed hashes (whose parameter counts
//! and estimates `check` can compute) or is rejected with diagnostics that point into the
//! file. It never panics.

use std::path::{Path, PathBuf};

use densenet_lab::estimate::estimate;
use densenet_lab::model::summarize;
use densenet_lab::spec::{SpecError, parse_experiment, trial_hash};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Cases per experiment file.
const CASES: u32 = 256;

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(Index),
    /// Copies line `.0` to just before line `.1`.
    DuplicateLine(Index, Index),
    /// Replaces one value token (a scalar, or a whole right-hand side) with `.1`.
    ReplaceValue(Index, String),
    TruncateAt(Index),
    /// Inserts the bytes (made UTF-8, invalid sequences becoming U+FFFD) before a byte.
    InsertBytes(Index, Vec<u8>),
    SwapLines(Index, Index),
}

/// A TOML basic string holding `s`, escaped as TOML requires.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn string_value() -> impl Strategy<Value = String> {
    let words = select(vec![
        "mnist",
        "mnist-mini",
        "cifar10",
        "svhn",
        "adam",
        "sgd",
        "step",
        "cosine",
        "constant",
        "grid",
        "random",
        "growth",
        "compression",
        "imagenet",
        "cifar",
        "",
        ".",
        "..",
        "model.dropout",
        "model.blocks",
        "train.optimizer.lr",
        "data.dataset",
    ]);
    prop_oneof![
        words.prop_map(toml_string),
        "[a-z0-9._ -]{0,12}".prop_map(|s| toml_string(&s)),
        any::<String>().prop_map(|s| toml_string(&s)),
        // Not always valid TOML: Rust's escapes, single quotes, an unclosed string.
        any::<String>().prop_map(|s| format!("{s:?}")),
        "[^'\n]{0,8}".prop_map(|s| format!("'{s}'")),
        "[a-z]{0,6}".prop_map(|s| format!("\"{s}")),
    ]
}

fn number_value() -> impl Strategy<Value = String> {
    let edges = select(vec![
        "0",
        "1",
        "2",
        "3",
        "-1",
        "7",
        "28",
        "1000",
        "1024",
        "1025",
        "100001",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "18446744073709551616",
        "0x10",
        "0o7",
        "0b101",
        "1_000",
        "0.0",
        "-0.0",
        "0.5",
        "1.0",
        "1.5",
        "0.9999999999999999",
        "5e-324",
        "1e-300",
        "1e300",
        "1e400",
        "-1e400",
        "nan",
        "+nan",
        "inf",
        "-inf",
        "1.",
        ".5",
        "01",
    ]);
    prop_oneof![
        3 => edges.prop_map(str::to_string),
        2 => (-5i64..200).prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|x| format!("{x:?}")),
        1 => (0.0f64..1.0).prop_map(|x| x.to_string()),
    ]
}

/// A scalar, most of the time, else an array or inline table of values (nested up to 3 deep);
/// some of them are not TOML at all.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => number_value(),
        2 => string_value(),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        1 => select(vec!["", "=", "[", "]", "{", "}", ",", "#", "true false", "1979-05-27"])
            .prop_map(str::to_string),
    ]
    .boxed();
    let nested = leaf.clone().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(
                (
                    select(vec![
                        "kind",
                        "lr",
                        "momentum",
                        "nesterov",
                        "weight_decay",
                        "eps",
                        "at",
                        "factor",
                        "min_lr",
                        "beta1",
                        "x",
                    ]),
                    inner
                ),
                0..4
            )
            .prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", body.join(", "))
            }),
        ]
    });
    prop_oneof![3 => leaf, 1 => nested]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        any::<u8>(),
        select(b"[]{}=\"'#\n\r\t ,.\\-_0123456789abcxyz".to_vec()),
    ];
    prop::collection::vec(byte, 1..16)
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::DeleteLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::DuplicateLine(a, b)),
        3 => (any::<Index>(), value()).prop_map(|(i, v)| Mutation::ReplaceValue(i, v)),
        1 => any::<Index>().prop_map(Mutation::TruncateAt),
        1 => (any::<Index>(), bytes()).prop_map(|(i, b)| Mutation::InsertBytes(i, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

/// Byte ranges of the value tokens of `text`: every right-hand side of `key = value` (before
/// a trailing comment), and inside it every quoted string and every bare word (numbers,
/// booleans).
fn value_tokens(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut tokens = Vec::new();
    let mut line_start = 0;
    for line in text.split('\n') {
        let trimmed = line.trim_start();
        if !trimmed.starts_with('#')
            && !trimmed.starts_with('[')
            && let Some(eq) = line.find('=')
        {
            let rhs_start = eq + 1 + (line[eq + 1..].len() - line[eq + 1..].trim_start().len());
            let mut rhs_end = line.len();
            let mut in_string = false;
            let mut token_start = None;
            for (i, c) in line.char_indices().skip_while(|&(i, _)| i < rhs_start) {
                match c {
                    '"' if !in_string => {
                        in_string = true;
                        token_start = Some(i);
                    }
                    '"' => {
                        in_string = false;
                        let start = token_start.take().unwrap_or(i);
                        tokens.push(line_start + start..line_start + i + 1);
                    }
                    _ if in_string => {}
                    '#' => {
                        rhs_end = i;
                        break;
                    }
                    c if c.is_ascii_alphanumeric() || "._+-".contains(c) => {
                        token_start.get_or_insert(i);
                    }
                    _ => {
                        if let Some(start) = token_start.take() {
                            tokens.push(line_start + start..line_start + i);
                        }
                    }
                }
            }
            if !in_string && let Some(start) = token_start {
                tokens.push(line_start + start..line_start + rhs_end);
            }
            let rhs = line[rhs_start..rhs_end].trim_end();
            if !rhs.is_empty() {
                tokens.push(line_start + rhs_start..line_start + rhs_start + rhs.len());
            }
        }
        line_start += line.len() + 1;
    }
    tokens
}

/// The largest char boundary of `text` at or below `at`.
fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = text.split('\n').collect();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i.index(lines.len()));
            lines.join("\n")
        }
        Mutation::DuplicateLine(from, to) => {
            let line = lines[from.index(lines.len())];
            lines.insert(to.index(lines.len() + 1), line);
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
            lines.join("\n")
        }
        Mutation::ReplaceValue(i, value) => {
            let tokens = value_tokens(text);
            if tokens.is_empty() {
                return text.to_string();
            }
            let range = tokens[i.index(tokens.len())].clone();
            format!("{}{value}{}", &text[..range.start], &text[range.end..])
        }
        Mutation::TruncateAt(i) => {
            let at = floor_boundary(text, i.index(text.len() + 1));
            text[..at].to_string()
        }
        Mutation::InsertBytes(i, bytes) => {
            let at = floor_boundary(text, i.index(text.len() + 1));
            let inserted = String::from_utf8_lossy(bytes);
            format!("{}{inserted}{}", &text[..at], &text[at..])
        }
    }
}

/// What `parse_experiment` promises for any text: valid trials, or located diagnostics.
fn check(text: &str, origin: &Path) -> Result<(), TestCaseError> {
    match parse_experiment(text, origin) {
        Ok(experiment) => {
            // A sampled sweep (tpe, distributions) draws its trials as it runs: hold the grid
            // of its axes' ends to the same promises, and draw one point.
            let trials = experiment.representative_trials();
            if !experiment.sweep.is_enumerable() {
                let point = experiment.sweep.draw(0, 0);
                if let Ok(drawn) = experiment.trials_at(0, &point) {
                    prop_assert_eq!(drawn.len(), experiment.sweep.repeats);
                }
            }
            prop_assert!(
                !trials.is_empty() || !experiment.sweep.is_enumerable(),
                "a valid file has at least one trial"
            );
            prop_assert!(trials.len() <= 100_000);
            for (i, t) in trials.iter().enumerate() {
                prop_assert_eq!(t.index, i);
                prop_assert_eq!(t.hash.len(), 16, "hash {:?}", t.hash);
                prop_assert!(
                    t.hash
                        .chars()
                        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
                    "hash {:?} is not lowercase hex",
                    t.hash
                );
                prop_assert_eq!(&t.hash, &trial_hash(&t.config));
                // What `check` prints for every trial: counts and estimates from the config.
                let arch = summarize(&t.config.model, t.config.data.dataset);
                prop_assert!(arch.params > 0 && arch.flops > 0, "{:?}", arch);
                let est = estimate(&t.config, &arch);
                prop_assert!(
                    est.memory_mib > 0.0 && est.cpu_minutes.is_finite(),
                    "{:?}",
                    est
                );
            }
        }
        Err(SpecError { diagnostics }) => {
            prop_assert!(!diagnostics.is_empty(), "an error without a diagnostic");
            let lines: Vec<&str> = text.split('\n').collect();
            for d in &diagnostics {
                prop_assert_eq!(&d.file, origin);
                // 0 is only for a file that could not be read; this text was given.
                prop_assert!(d.line >= 1 && d.column >= 1, "{}", d);
                prop_assert!(d.line <= lines.len(), "line beyond the file: {}", d);
                let line = lines[d.line - 1];
                prop_assert!(
                    d.column <= line.chars().count() + 1,
                    "column beyond line {:?}: {}",
                    line,
                    d
                );
                prop_assert!(!d.message.trim().is_empty(), "empty message: {:?}", d);
                prop_assert!(!d.message.contains('\n'), "multi-line message: {:?}", d);
            }
            let positions: Vec<(usize, usize)> =
                diagnostics.iter().map(|d| (d.line, d.column)).collect();
            let mut sorted = positions.clone();
            sorted.sort();
            prop_assert_eq!(positions, sorted, "diagnostics are sorted by position");
        }
    }
    Ok(())
}

fn experiment_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_is_valid_and_tokenized() {
    let files = experiment_files();
    assert!(files.len() >= 5, "examples: {files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let experiment = parse_experiment(&text, file)
            .unwrap_or_else(|e| panic!("{} is not valid:\n{e}", file.display()));
        assert!(!experiment.representative_trials().is_empty());
        // The mutation that replaces values must have values to replace.
        assert!(value_tokens(&text).len() >= 10, "{}", file.display());
    }
}

#[test]
fn mutated_examples_parse_or_fail_with_located_diagnostics_never_panic() {
    for file in experiment_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let origin = PathBuf::from(format!(
            "experiments/{}",
            file.file_name().unwrap().to_string_lossy()
        ));
        // PROPTEST_CASES=100000 for a longer hunt.
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(CASES);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let mutations = prop::collection::vec(mutation(), 1..4);
        runner
            .run(&mutations, |ms| {
                let mutated = ms.iter().fold(text.clone(), |t, m| apply(&t, m));
                check(&mutated, &origin)
            })
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}
