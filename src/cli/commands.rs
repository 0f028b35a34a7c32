//! One function per command; each does its work through the library modules.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::output::{Rows, write_rows};
use super::{Cli, Command, DataCommand, Format, UsageError, inspect};
use crate::data::VerifyStatus;
use crate::runner::{self, ProgressMode, RunOptions, TrialOptions};
use crate::spec::{self, Experiment, Precision};
use crate::store::StoreError;
use crate::train::{self, ComputeDevice};
use crate::{data, devices, estimate, model, plot};

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
            runs_dir,
            quiet,
            resume: _,
            store,
            data,
        } => {
            let experiment = spec::load_experiment(&file)?;
            let devices = usable_devices(device.as_deref().or(experiment.device.as_deref()))?;
            if devices.contains(&ComputeDevice::Cpu) {
                experiment.check_precision_on_cpu(&experiment.trials())?;
            }
            let options = RunOptions {
                db: cli.db_for(&store),
                data_dir: cli.data_dir_for(&data),
                runs_dir,
                devices,
                jobs,
                progress: if quiet {
                    ProgressMode::Quiet
                } else {
                    ProgressMode::detect()
                },
                binary: std::env::current_exe().context("cannot find this program's path")?,
            };
            let s = runner::run_experiment(&experiment, &options)
                .map_err(|e| unwritable_store(e, &options.db))?;
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
            if s.skipped_elsewhere > 0 {
                writeln!(
                    out,
                    "{} run(s) were claimed by another live process and left to it",
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
            if s.failed > 0 {
                anyhow::bail!(
                    "{} trial(s) failed; see `densenet-lab runs --experiment {}`",
                    s.failed,
                    experiment.name
                );
            }
            Ok(())
        }
        Command::Trial {
            run,
            device,
            runs_dir,
            store,
            data,
            claimed_by_parent,
        } => {
            let options = TrialOptions {
                db: cli.db_for(&store),
                data_dir: cli.data_dir_for(&data),
                runs_dir,
                device: parse_device(&device)?,
                claimed_by_parent,
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
            write_rows(
                &mut out,
                &inspect::compare(&cli.db_for(&store), &experiment, pivot)?,
                format,
            )
        }
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
        Command::Devices { format } => write_rows(&mut out, &devices_table(), format),
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
            let report = train::bench(&config, device, batch, steps)?;
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
    let on_cpu = device == ComputeDevice::Cpu;
    match precision {
        Some(text) => {
            config.train.precision =
                Precision::try_from(text).map_err(|e| UsageError(format!("--precision: {e}")))?;
            if on_cpu && !config.train.precision.runs_on_cpu() {
                return Err(UsageError(format!(
                    "--precision {}: {}; bench it with --device cuda:N",
                    config.train.precision.name(),
                    spec::CPU_REASON
                ))
                .into());
            }
        }
        None if on_cpu => experiment.check_precision_on_cpu(std::slice::from_ref(chosen))?,
        None => {}
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

/// The devices to train on (`--device`, else the file's, else cpu), checked before anything
/// is written: a GPU this build or this machine cannot use is the user's mistake, found now
/// rather than in every trial.
fn usable_devices(text: Option<&str>) -> Result<Vec<ComputeDevice>> {
    let devices: Vec<ComputeDevice> = text
        .unwrap_or("cpu")
        .split(',')
        .map(parse_device)
        .collect::<Result<_>>()?;
    for device in &devices {
        if let ComputeDevice::Cuda(index) = *device {
            if !devices::CUDA_BUILT {
                return Err(UsageError(format!(
                    "device {device}: this build has no CUDA support; rebuild with `cargo build --release --features cuda`"
                ))
                .into());
            }
            devices::check_cuda_device(index)
                .map_err(|e| UsageError(format!("device {device}: {e}")))?;
        }
    }
    Ok(devices)
}

fn parse_device(text: &str) -> Result<ComputeDevice> {
    text.parse()
        .map_err(|e: String| UsageError(format!("--device: {e}")).into())
}

/// CPU first, then every CUDA GPU the driver reports (or why there are none).
/// With the `train.precision` values each device accepts.
fn devices_table() -> Rows {
    let mut rows = Rows::new(["device", "name", "memory_gib", "precisions", "status"]);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    rows.rows.push(vec![
        json!("cpu"),
        json!(format!("{} ({threads} threads)", cpu_model())),
        Value::Null,
        json!(Precision::list(
            Precision::ALL.into_iter().filter(|p| p.runs_on_cpu())
        )),
        json!("ok"),
    ]);
    let gpu_precisions = if devices::CUDA_BUILT {
        json!(Precision::list(Precision::ALL))
    } else {
        Value::Null
    };
    let gib = |bytes: u64| json!((bytes as f64 / (1u64 << 30) as f64 * 10.0).round() / 10.0);
    match devices::cuda_info() {
        Ok(info) => {
            let status = if devices::CUDA_BUILT {
                format!(
                    "ok (driver {}.{})",
                    info.driver_version / 1000,
                    info.driver_version % 1000 / 10
                )
            } else {
                "not usable: this build has no CUDA backend (cargo build --release --features cuda)"
                    .into()
            };
            for gpu in info.gpus {
                rows.rows.push(vec![
                    json!(format!("cuda:{}", gpu.index)),
                    json!(gpu.name),
                    gib(gpu.memory_bytes),
                    gpu_precisions.clone(),
                    json!(status),
                ]);
            }
        }
        Err(e) => rows.rows.push(vec![
            json!("cuda"),
            Value::Null,
            Value::Null,
            Value::Null,
            json!(e.to_string()),
        ]),
    }
    rows
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
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

/// Reports every file of the datasets asked for (all by default) and fails with exit code 2
/// if one is missing or broken: a script can trust `data verify && run`.
fn verify(data_dir: &Path, only: &[String], format: Format, out: &mut dyn Write) -> Result<()> {
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
