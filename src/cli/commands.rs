//! One function per command; each does its work through the library modules.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use super::output::{Rows, write_rows};
use super::{Cli, Command, DataCommand, Format, UsageError, inspect};
use crate::data::VerifyStatus;
use crate::runner::{self, ProgressMode, RunOptions};
use crate::spec::{self, Experiment};
use crate::train::{self, ComputeDevice};
use crate::{data, estimate, model};

pub fn dispatch(cli: Cli) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::New { name, dir, force } => new(&name, &dir, force, &mut out),
        Command::Check { file, format } => check(&file, format, &mut out),
        Command::Run {
            file,
            jobs,
            device,
            runs_dir,
            quiet,
        } => {
            let experiment = spec::load_experiment(&file)?;
            let options = RunOptions {
                db: cli.db,
                data_dir: cli.data_dir,
                runs_dir,
                device: parse_device(&device)?,
                jobs: jobs.max(1),
                progress: if quiet {
                    ProgressMode::Quiet
                } else {
                    ProgressMode::detect()
                },
            };
            let s = runner::run_experiment(&experiment, &options)?;
            writeln!(
                out,
                "{}: {} trained, {} already done, {} failed, {} diverged, {} stopped; results in {}",
                experiment.name,
                s.trained,
                s.skipped_done,
                s.failed,
                s.diverged,
                s.stopped,
                options.db.display()
            )?;
            if s.failed > 0 {
                anyhow::bail!(
                    "{} trial(s) failed; see `densenet-lab runs --experiment {}`",
                    s.failed,
                    experiment.name
                );
            }
            Ok(())
        }
        Command::Runs { experiment, format } => write_rows(
            &mut out,
            &inspect::runs(&cli.db, experiment.as_deref())?,
            format,
        ),
        Command::Show { run, format } => inspect::show(&cli.db, run, format, &mut out),
        Command::Compare {
            experiment,
            rows,
            cols,
            format,
        } => {
            let pivot = rows.zip(cols);
            write_rows(
                &mut out,
                &inspect::compare(&cli.db, &experiment, pivot)?,
                format,
            )
        }
        Command::Query { sql, format } => {
            write_rows(&mut out, &inspect::query(&cli.db, &sql)?, format)
        }
        Command::Data {
            command: DataCommand::Verify { format },
        } => verify(&cli.data_dir, format, &mut out),
        Command::Bench {
            file,
            batch,
            steps,
            trial,
            device,
        } => {
            let experiment = spec::load_experiment(&file)?;
            let trials = experiment.trials();
            let chosen = trials.get(trial).ok_or_else(|| {
                UsageError(format!(
                    "--trial {trial}: {} has {} trial(s) (0-based)",
                    file.display(),
                    trials.len()
                ))
            })?;
            let report = train::bench(&chosen.config, parse_device(&device)?, batch, steps)?;
            let mut line = serde_json::to_value(&report)?;
            line["experiment"] = json!(experiment.name);
            line["trial"] = json!(trial);
            writeln!(out, "{line}")?;
            Ok(())
        }
    }
}

fn parse_device(text: &str) -> Result<ComputeDevice> {
    text.parse()
        .map_err(|e: String| UsageError(format!("--device: {e}")).into())
}

fn new(name: &str, dir: &Path, force: bool, out: &mut dyn Write) -> Result<()> {
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

fn check(file: &Path, format: Format, out: &mut dyn Write) -> Result<()> {
    let experiment: Experiment = spec::load_experiment(file)?;
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

fn verify(data_dir: &Path, format: Format, out: &mut dyn Write) -> Result<()> {
    let reports = data::verify(data_dir);
    let mut rows = Rows::new(["dataset", "file", "records", "status"]);
    let mut bad = 0;
    for r in &reports {
        let status = match &r.status {
            VerifyStatus::Ok => "ok".to_string(),
            VerifyStatus::MissingFile | VerifyStatus::MissingDir => "missing".to_string(),
            VerifyStatus::Invalid(e) => {
                bad += 1;
                e.to_string()
            }
        };
        rows.rows.push(vec![
            json!(r.dataset),
            json!(r.file.display().to_string()),
            json!(r.records),
            json!(status),
        ]);
    }
    write_rows(out, &rows, format)?;
    if bad > 0 {
        return Err(UsageError(format!("{bad} dataset file(s) failed verification")).into());
    }
    Ok(())
}
