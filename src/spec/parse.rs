//! Reading an experiment file: TOML into typed tables (serde, unknown keys rejected), then
//! every value rule, so one run reports every problem in the file with its position.

use std::path::Path;

use serde::Deserialize;

use super::config::{DataConfig, ModelConfig, TrainConfig, TrialConfig};
use super::error::{Diagnostic, SpecError};
use super::ignored::{dropped_message, lookup};
use super::location::{Reporter, join};
use super::sweep::{RawSweep, check_sweep};
use super::wording::{Kind, reword};
use super::{Experiment, SlurmTable};

/// The file as written: the base config's tables plus the sweep.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    #[serde(default)]
    description: String,
    /// Where the sweep trains when `run` gets no `--device` (`cpu`, `cuda:0,cuda:1`, `wgpu:0`).
    device: Option<String>,
    data: DataConfig,
    model: ModelConfig,
    train: TrainConfig,
    sweep: Option<RawSweep>,
    #[serde(default)]
    slurm: SlurmTable,
}

/// Reads and parses the experiment file at `path`; a read failure names the path.
pub fn load_experiment(path: &Path) -> Result<Experiment, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        SpecError::new(vec![Diagnostic {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("cannot read the experiment file: {e}"),
        }])
    })?;
    parse_experiment(&text, path)
}

/// Parses and validates an experiment file's `text`; `origin` names it in diagnostics.
///
/// A TOML syntax or type error stops at that error; otherwise every broken rule is reported.
pub fn parse_experiment(text: &str, origin: &Path) -> Result<Experiment, SpecError> {
    let mut rep = Reporter::new(origin, text);
    let raw: RawFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            report_toml_error(&err, &mut rep);
            return Err(rep.finish().expect_err("an error was just reported"));
        }
    };
    // toml accepts a little more than toml_edit (integers beyond i64); without toml_edit's
    // spans no later error could be located, so such a file stops here.
    if let Some((message, span)) = rep.index.error.clone() {
        let offset = span.map_or(0, |s| s.start);
        rep.at_offset(offset, "", message);
        return Err(rep.finish().expect_err("an error was just reported"));
    }
    check_name(&raw.name, &mut rep);
    if raw.slurm.array_parallelism == Some(0) {
        rep.at_value("slurm.array_parallelism", "must be at least 1");
    }
    if let Some(device) = &raw.device {
        check_device(device, &mut rep);
    }
    let base = TrialConfig {
        data: raw.data,
        model: raw.model,
        train: raw.train,
    };
    check_dropped_keys(&base, &mut rep);
    let sweep = check_sweep(raw.sweep, &base, &mut rep);
    let warnings = rep.warnings();
    rep.finish()?;
    Ok(Experiment {
        name: raw.name,
        description: raw.description,
        device: raw.device,
        path: origin.to_path_buf(),
        source: text.to_string(),
        base,
        sweep,
        warnings,
        slurm: raw.slurm,
    })
}

/// `device` names devices the trainer knows (whether this machine has them is `run`'s check).
fn check_device(device: &str, rep: &mut Reporter) {
    if let Some(Err(e)) = device
        .split(',')
        .map(str::parse::<crate::devices::ComputeDevice>)
        .find(Result::is_err)
    {
        rep.at_value("device", e);
    }
}

/// A syntax or type error from toml, located and named through its span.
fn report_toml_error(err: &toml::de::Error, rep: &mut Reporter) {
    let (message, kind) = reword(err.message());
    let Some(span) = err.span() else {
        rep.at_offset(0, "", message);
        return;
    };
    let found = rep
        .index
        .path_at(&span)
        .map(|(p, is_key)| (p.to_string(), is_key));
    match (kind, found) {
        // An unknown key in an inline table: serde's span is the whole table.
        (Kind::UnknownKey(name), Some((table, false))) => {
            let key = join(&table, &name);
            if rep.index.contains(&key) {
                rep.at_key(&key, message);
            } else {
                rep.at_offset(span.start, &key, message);
            }
        }
        // A missing key: serde points at the table it is missing from.
        (Kind::MissingKey(name), found) => {
            let table = found.map(|(p, _)| p).unwrap_or_default();
            rep.at_offset(span.start, &join(&table, &name), message);
        }
        (_, found) => {
            let key = found.map(|(p, _)| p).unwrap_or_default();
            rep.at_offset(span.start, &key, message);
        }
    }
}

/// Keys of data/model/train that deserialized but are not in the config (see `ignored`).
fn check_dropped_keys(base: &TrialConfig, rep: &mut Reporter) {
    let kept = serde_json::to_value(base).expect("TrialConfig serializes to JSON");
    let dropped: Vec<String> = rep
        .index
        .paths()
        .filter(|p| {
            ["data.", "model.", "train."]
                .iter()
                .any(|t| p.starts_with(t))
        })
        .filter(|p| !p.contains(['[', '"']) && lookup(&kept, p).is_none())
        .map(str::to_string)
        .collect();
    for path in dropped {
        let (table, name) = path.rsplit_once('.').expect("paths checked are dotted");
        rep.at_key(&path, dropped_message(name, lookup(&kept, table)));
    }
}

/// Longest experiment name: it becomes a directory, and `name-<timestamp>-<job>_<task>.out`
/// a Slurm file name, which must stay within the 255 bytes a file name may have.
pub const MAX_NAME_LEN: usize = 200;

/// The name becomes a directory under the results folder.
fn check_name(name: &str, rep: &mut Reporter) {
    if name.len() > MAX_NAME_LEN {
        rep.at_value(
            "name",
            format!(
                "expected a name of at most {MAX_NAME_LEN} characters (it names files and \
                 folders, whose names have at most 255), found one of {}",
                name.len()
            ),
        );
        return;
    }
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        rep.at_value(
            "name",
            format!(
                "expected a name usable as a directory name (letters, digits, '.', '_', '-'; \
                 not empty, \".\" or \"..\"), found {name:?}"
            ),
        );
    }
}
