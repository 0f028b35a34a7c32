//! The commands on the workspace's files: `new` (a template), `check` (an experiment file)
//! and `data verify` (the datasets).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use super::output::{Rows, write_rows};
use super::{Format, UsageError};
use crate::data::{self, VerifyStatus};
use crate::spec::{self, Experiment};
use crate::{estimate, model};

pub fn new(name: &str, dir: &Path, force: bool, out: &mut dyn Write) -> Result<()> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !valid {
        return Err(UsageError(format!(
            "invalid experiment name `{name}`: use letters, digits, '.', '_' and '-'"
        ))
        .into());
    }
    let path = dir.join(format!("{name}.toml"));
    if path.exists() && !force {
        return Err(UsageError(format!(
            "{} already exists (use --force to overwrite)",
            path.display()
        ))
        .into());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&path, spec::render_template(name))
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(
        out,
        "wrote {}; check it with `densenet-lab check {}`",
        path.display(),
        path.display()
    )?;
    Ok(())
}

pub fn check(file: &Path, format: Format, out: &mut dyn Write) -> Result<()> {
    let experiment: Experiment = spec::load_experiment(file)?;
    for warning in &experiment.warnings {
        eprintln!("warning: {warning}");
    }
    if !experiment.sweep.is_enumerable() {
        return check_sampled(&experiment, format, out);
    }
    let trials = experiment.trials();
    let mut rows = Rows::new([
        "trial",
        "seed",
        "overrides",
        "params",
        "mflops",
        "est_mem_mib",
        "est_minutes_cpu",
    ]);
    for t in &trials {
        let arch = model::summarize(&t.config.model, t.config.data.dataset);
        let overrides: Vec<String> = t
            .overrides
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let est = estimate::estimate(&t.config, &arch);
        rows.rows.push(vec![
            json!(t.index),
            json!(t.config.train.seed),
            json!(overrides.join(" ")),
            json!(arch.params),
            json!((arch.flops as f64 / 1e6 * 10.0).round() / 10.0),
            json!(est.memory_mib.round()),
            json!((est.cpu_minutes * 10.0).round() / 10.0),
        ]);
    }
    if format == Format::Table {
        writeln!(
            out,
            "{}: {} trial(s) on {}; valid",
            experiment.name,
            trials.len(),
            experiment.base.data.dataset.name()
        )?;
    }
    write_rows(out, &rows, format)
}

/// A sweep whose trials are drawn as it runs: its axes and how many points it will try.
fn check_sampled(experiment: &Experiment, format: Format, out: &mut dyn Write) -> Result<()> {
    let sweep = &experiment.sweep;
    let mut rows = Rows::new(["axis", "domain"]);
    for axis in &sweep.axes {
        rows.rows
            .push(vec![json!(axis.key), json!(axis.domain.describe())]);
    }
    if format == Format::Table {
        let how = match sweep.strategy {
            spec::Strategy::Tpe { startup, .. } => {
                format!("tpe (the first {startup} points at random)")
            }
            _ => "random".to_string(),
        };
        let stop = match &sweep.early_stop {
            Some(e) => {
                let rule = match e.rule {
                    spec::StopRule::Asha {
                        min_epochs,
                        reduction,
                    } => format!("asha (first rung at epoch {min_epochs}, reduction {reduction})"),
                    spec::StopRule::Median { warmup_epochs } => {
                        format!("median (after {warmup_epochs} warm-up epoch(s))")
                    }
                };
                format!(", early stop by {rule} on {}", e.objective.label())
            }
            None => String::new(),
        };
        writeln!(
            out,
            "{}: {} point(s) x {} repeat(s) drawn by {how} as the sweep runs{stop}, on {}; valid",
            experiment.name,
            sweep.point_count(),
            sweep.repeats,
            experiment.base.data.dataset.name()
        )?;
    }
    write_rows(out, &rows, format)
}

/// Reports every file of the datasets asked for (all by default) and fails with exit code 2
/// if one is missing or broken: a script can trust `data verify && run`.
pub fn verify(data_dir: &Path, only: &[String], format: Format, out: &mut dyn Write) -> Result<()> {
    let reports = data::verify(data_dir);
    let known: Vec<&str> = reports.iter().map(|r| r.dataset).collect();
    if let Some(unknown) = only.iter().find(|n| !known.contains(&n.as_str())) {
        let mut names = known.clone();
        names.dedup();
        return Err(UsageError(format!(
            "unknown dataset `{unknown}` (known: {})",
            names.join(", ")
        ))
        .into());
    }
    let mut rows = Rows::new(["dataset", "file", "records", "status"]);
    let mut problems: Vec<&str> = Vec::new();
    for r in reports
        .iter()
        .filter(|r| only.is_empty() || only.iter().any(|n| n == r.dataset))
    {
        let status = match &r.status {
            VerifyStatus::Ok => "ok".to_string(),
            VerifyStatus::MissingFile | VerifyStatus::MissingDir => "missing".to_string(),
            VerifyStatus::Invalid(e) => e.to_string(),
        };
        if !r.is_ok() && !problems.contains(&r.dataset) {
            problems.push(r.dataset);
        }
        rows.rows.push(vec![
            json!(r.dataset),
            json!(r.file.display().to_string()),
            json!(r.records),
            json!(status),
        ]);
    }
    write_rows(out, &rows, format)?;
    if !problems.is_empty() {
        return Err(UsageError(format!(
            "missing or broken under {}: {} (`densenet-lab data verify NAME` checks only NAME)",
            data_dir.display(),
            problems.join(", ")
        ))
        .into());
    }
    Ok(())
}
