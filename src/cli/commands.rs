//! One function per command; each does its work through the library modules.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use super::device_args::{
    check_precisions, devices_table, parse_device, run_slots, usable_devices,
};
use super::output::write_rows;
use super::workspace::{check, new, verify};
use super::{Cli, Command, DataCommand, Format, UsageError, inspect};
use crate::plot;
use crate::runner::{self, ProgressMode, RunOptions, TrialGate, TrialOptions};
use crate::spec::{self, Experiment, Precision};
use crate::store::StoreError;
use crate::train::{self, ComputeDevice};

pub fn dispatch(mut cli: Cli) -> Result<()> {
    let Some(command) = cli.command.take() else {
        let binary = std::env::current_exe().context("cannot find this program's path")?;
        return crate::tui::run_dashboard(&cli.db, Path::new("experiments"), &binary);
    };
    let mut out = std::io::stdout().lock();
    match command {
        Command::New { name, dir, force } => new(&name, &dir, force, &mut out),
        Command::Check { file, format } => check(&file, format, &mut out),
        Command::Run {
            file,
            jobs,
            device,
            gpu,
            runs_dir,
            quiet,
            resume: _,
            slurm,
            store,
            data,
        } => {
            let experiment = spec::load_experiment(&file)?;
            for warning in &experiment.warnings {
                eprintln!("warning: {warning}");
            }
            let trials = experiment.representative_trials();
            let slots = run_slots(
                device.as_deref().or(experiment.device.as_deref()),
                jobs,
                &trials,
            )?;
            check_precisions(&experiment, &trials, &slots)?;
            let jobs = slots.len();
            let options = RunOptions {
                db: cli.db_for(&store),
                data_dir: cli.data_dir_for(&data),
                runs_dir,
                devices: slots,
                jobs,
                gpu: gpu.options(),
                progress: if quiet {
                    ProgressMode::Quiet
                } else {
                    ProgressMode::detect()
                },
                binary: std::env::current_exe().context("cannot find this program's path")?,
            };
            let Some(s) = super::slurm::run_sweep(&experiment, &options, &slurm, &mut out)
                .map_err(|e| unwritable_store(e, &options.db))?
            else {
                return Ok(());
            };
            writeln!(
                out,
                "{}: {} trained, {} already done, {} failed, {} diverged, {} stopped, {} interrupted; results in {}",
                experiment.name,
                s.trained,
                s.skipped_done,
                s.failed,
                s.diverged,
                s.stopped,
                s.interrupted,
                options.db.display()
            )?;
            if let Some(line) = &s.adaptive {
                writeln!(
                    out,
                    "{}: {} pruned, {} paused; {line}",
                    experiment.name, s.pruned, s.paused
                )?;
            }
            if s.skipped_elsewhere > 0 {
                writeln!(
                    out,
                    "{} run(s) were trained by another live process (this one waited for them)",
                    s.skipped_elsewhere
                )?;
            }
            // For a person at a terminal only: piped or logged output stays as it was.
            if !quiet && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                let name = &experiment.name;
                let bin = if options.db == Path::new("densenet-lab.db") {
                    "densenet-lab".to_string()
                } else {
                    format!("densenet-lab --db {}", options.db.display())
                };
                writeln!(
                    out,
                    "next: `{bin}` opens the dashboard, `{bin} compare {name}` tabulates test accuracy, `{bin} export --experiment {name} --out {name}.png` charts it"
                )?;
            }
            let mut wrong = Vec::new();
            if s.failed > 0 {
                wrong.push(format!("{} trial(s) failed", s.failed));
            }
            if !s.unsettled.is_empty() {
                let runs: Vec<String> = s
                    .unsettled
                    .iter()
                    .map(|(id, status)| format!("run {id} ({status})"))
                    .collect();
                wrong.push(format!(
                    "the sweep is not finished: {} remain(s); run the same file again to finish it",
                    runs.join(", ")
                ));
            }
            if !wrong.is_empty() {
                anyhow::bail!(
                    "{}; see `densenet-lab runs --experiment {}`",
                    wrong.join("; "),
                    experiment.name
                );
            }
            Ok(())
        }
        Command::Trial {
            run,
            device,
            runs_dir,
            gpu,
            store,
            data,
            claimed_by_parent,
            pause_at,
            median,
            median_warmup,
        } => {
            let gate = match (pause_at, median) {
                (Some(epoch), _) => TrialGate::PauseAt(epoch),
                (None, Some(metric)) => TrialGate::Median {
                    objective: parse_objective(&metric)?,
                    warmup_epochs: median_warmup,
                },
                (None, None) => TrialGate::Open,
            };
            let options = TrialOptions {
                db: cli.db_for(&store),
                data_dir: cli.data_dir_for(&data),
                runs_dir,
                device: parse_device(&device)?,
                gpu: gpu.options(),
                claimed_by_parent,
                gate,
            };
            runner::run_trial(run, &options).map(|_| ())
        }
        Command::Stop { run, store } => {
            let db = cli.db_for(&store);
            // Like the read commands, never create a store just to find it has no such run.
            inspect::open(&db)?;
            let store =
                crate::store::Store::open(&db).map_err(|e| unwritable_store(e.into(), &db))?;
            // A run whose process is dead is `interrupted`, not something to ask to stop.
            runner::reap_dead_runs(&store).map_err(|e| unwritable_store(e.into(), &db))?;
            let known = store.run(run)?.ok_or_else(|| {
                UsageError(format!("no run with id {run} (see `densenet-lab runs`)"))
            })?;
            if store
                .request_stop(run)
                .map_err(|e| unwritable_store(e.into(), &db))?
            {
                writeln!(
                    out,
                    "asked run {run} to stop; it stops at its next step and can be resumed"
                )?;
                Ok(())
            } else {
                Err(UsageError(format!("run {run} is {}, not running", known.status)).into())
            }
        }
        Command::Runs {
            experiment,
            format,
            store,
        } => write_rows(
            &mut out,
            &inspect::runs(&cli.db_for(&store), experiment.as_deref())?,
            format,
        ),
        Command::Merge { runs_dir, store } => {
            super::slurm::merge(&cli.db_for(&store), &runs_dir, &mut out)
        }
        Command::SlurmTask {
            run,
            device,
            runs_dir,
            gpu,
            data,
        } => super::slurm::task(run, device, runs_dir, gpu, cli.data_dir_for(&data)),
        Command::Show { run, format, store } => {
            inspect::show(&cli.db_for(&store), run, format, &mut out)
        }
        Command::Compare {
            experiment,
            rows,
            cols,
            format,
            store,
        } => {
            let pivot = rows.zip(cols);
            let table = inspect::compare(&cli.db_for(&store), &experiment, pivot, format)?;
            write_rows(&mut out, &table, format)?;
            if format == Format::Table {
                for line in crate::report::LEGEND {
                    writeln!(out, "{line}")?;
                }
            }
            Ok(())
        }
        Command::Importance {
            experiment,
            metric,
            format,
            store,
        } => super::importance::importance(
            &cli.db_for(&store),
            &experiment,
            metric.as_deref(),
            format,
            &mut out,
        ),
        Command::Query {
            sql,
            format,
            timeout,
            store,
        } => write_rows(
            &mut out,
            &super::query::query(&cli.db_for(&store), &sql, timeout)?,
            format,
        ),
        Command::Export {
            experiment,
            runs,
            metric,
            out: file,
            width,
            height,
            store,
        } => {
            let metric: plot::MetricKind = metric.parse()?;
            let store = inspect::open(&cli.db_for(&store))?;
            plot::export(
                &store,
                &experiment,
                runs.as_deref(),
                metric,
                &file,
                width,
                height,
            )?;
            writeln!(out, "wrote {}", file.display())?;
            Ok(())
        }
        Command::Devices { format, runs_dir } => {
            let cache = train::tune_cache_for(&runs_dir);
            write_rows(&mut out, &devices_table(&cache), format)?;
            if format == Format::Table {
                let tuned = if train::AUTOTUNE_BUILT {
                    "autotune on"
                } else {
                    "autotune off in this build (a `cuda` build has it)"
                };
                writeln!(
                    out,
                    "GPU autotune results: {} (shared by the trials of a `run --runs-dir {}`; ${} overrides; {tuned})",
                    cache.display(),
                    runs_dir.display(),
                    train::TUNE_CACHE_ENV
                )?;
            }
            Ok(())
        }
        Command::Data {
            command:
                DataCommand::Verify {
                    datasets,
                    format,
                    data,
                },
        } => verify(&cli.data_dir_for(&data), &datasets, format, &mut out),
        Command::Bench {
            file,
            batch,
            steps,
            trial,
            device,
            precision,
            runs_dir,
            gpu,
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
            let device = usable_devices(device.as_deref().or(experiment.device.as_deref()))?[0];
            let config = bench_config(&experiment, chosen, device, precision)?;
            train::use_tune_cache(&runs_dir);
            let report = train::bench(&config, device, gpu.options(), batch, steps)?;
            let mut line = serde_json::to_value(&report)?;
            line["experiment"] = json!(experiment.name);
            line["trial"] = json!(trial);
            writeln!(out, "{line}")?;
            Ok(())
        }
    }
}

/// The trial's config with `--precision` applied, refused where the device cannot run it.
fn bench_config(
    experiment: &Experiment,
    chosen: &spec::Trial,
    device: ComputeDevice,
    precision: Option<String>,
) -> Result<spec::TrialConfig> {
    let mut config = chosen.config.clone();
    match precision {
        Some(text) => {
            config.train.precision =
                Precision::try_from(text).map_err(|e| UsageError(format!("--precision: {e}")))?;
            if !config.train.precision.is_f32() {
                let support = train::precision_support(device)
                    .map_err(|e| UsageError(format!("device {device}: {e}")))?;
                if !support.accepted.contains(&config.train.precision) {
                    return Err(UsageError(format!(
                        "--precision {}: {}; bench it with --device cuda:N",
                        config.train.precision.name(),
                        support.reason
                    ))
                    .into());
                }
            }
        }
        None => check_precisions(experiment, std::slice::from_ref(chosen), &[device])?,
    }
    Ok(config)
}

/// A store that cannot be opened or written where `--db` points (a read-only file or folder, a
/// folder that does not exist) is for the user to fix, so exit code 2; SQLite's message does not
/// always name the file ("attempt to write a readonly database"), so this one does.
fn unwritable_store(err: anyhow::Error, db: &Path) -> anyhow::Error {
    use rusqlite::ErrorCode;
    let code = err
        .chain()
        .find_map(|e| match e.downcast_ref::<StoreError>() {
            Some(StoreError::Sqlite { source, .. }) => source.sqlite_error_code().filter(|c| {
                matches!(
                    c,
                    ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied
                )
            }),
            _ => None,
        });
    let Some(code) = code else { return err };
    let folder = db.parent().filter(|p| !p.as_os_str().is_empty());
    let why = match folder {
        Some(folder) if !folder.is_dir() => {
            format!("the folder {} does not exist", folder.display())
        }
        _ if code == ErrorCode::ReadOnly => {
            "it is read-only (check the permissions of the file and its folder)".to_string()
        }
        _ => "it cannot be opened there (check the permissions of the file and its folder)"
            .to_string(),
    };
    UsageError(format!(
        "cannot write the results database {}: {why}; fix that or pass another --db",
        db.display()
    ))
    .into()
}

/// `split.name` of `trial --median`, as the sweep that started the trial wrote it.
fn parse_objective(metric: &str) -> Result<crate::spec::Objective> {
    crate::spec::Objective::parse(metric).ok_or_else(|| {
        UsageError(format!(
            "--median: expected SPLIT.METRIC such as val.accuracy, found {metric:?}"
        ))
        .into()
    })
}
