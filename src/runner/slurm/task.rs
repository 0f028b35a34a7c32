//! `densenet-lab slurm-task RUN_ID`: what one array task runs on its compute node.
//!
//! It never opens the main store. It copies the run's last published shard to node-local
//! disk (`$TMPDIR`, else `runs/shards/work/`), records where it runs, and starts the usual
//! `densenet-lab trial` child on that copy; at every epoch end and when the child exits it
//! publishes the copy back to `runs/shards/` (VACUUM INTO a temporary name, then rename).
//! On Slurm's warning signal (USR1) the trial stops at its next step, the shard is published
//! and the task requeues itself; SIGTERM (scancel) stops the trial the same way, resumable.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{queue, shard_path};
use crate::runner::liveness;
use crate::store::{RunStatus, Store, WhereRan};
use crate::train::GpuOptions;

/// How one task is started (the sbatch script's command line).
#[derive(Debug, Clone)]
pub struct TaskOptions {
    pub run_id: i64,
    pub runs_dir: PathBuf,
    pub data_dir: PathBuf,
    pub device: String,
    pub gpu: GpuOptions,
    /// This program, started as the trial child.
    pub binary: PathBuf,
}

fn env_i64(name: &str) -> Option<i64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// The node-local working copy of the shard: under `$TMPDIR` when it is a folder, else
/// beside the published shards.
fn work_path(options: &TaskOptions) -> Result<PathBuf> {
    let dir = match std::env::var_os("TMPDIR").map(PathBuf::from) {
        Some(dir) if dir.is_dir() => dir,
        _ => options.runs_dir.join("shards").join("work"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let job = std::env::var("SLURM_JOB_ID").unwrap_or_else(|_| std::process::id().to_string());
    Ok(dir.join(format!("densenet-lab-run-{}-{job}.db", options.run_id)))
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Copies the published shard to `work` and makes the run trainable there: a claim left by
/// an earlier task of this run (killed without warning) is dead, as Slurm runs one task of
/// a job at a time.
fn prepare(options: &TaskOptions, published: &Path, work: &Path) -> Result<Store> {
    if !published.exists() {
        bail!(
            "no shard {} for run {}: submit the sweep with `densenet-lab run FILE --launcher slurm`",
            published.display(),
            options.run_id
        );
    }
    remove_db(work);
    std::fs::copy(published, work)
        .with_context(|| format!("cannot copy {} to {}", published.display(), work.display()))?;
    let store = Store::open(work)?;
    let restarts = env_i64("SLURM_RESTART_COUNT").unwrap_or(0);
    for claim in store.running_claims()? {
        let why = format!(
            "its Slurm task ended without recording an outcome; resumed by restart {restarts}"
        );
        store.mark_interrupted(&claim, &why)?;
    }
    let node = std::env::var("SLURMD_NODENAME").unwrap_or_else(|_| liveness::this_host());
    let at = WhereRan {
        job: env_i64("SLURM_ARRAY_JOB_ID")
            .or_else(|| env_i64("SLURM_JOB_ID"))
            .unwrap_or(0),
        task: env_i64("SLURM_ARRAY_TASK_ID").unwrap_or(0),
        node: Some(node),
    };
    store.set_where_ran(options.run_id, &at)?;
    Ok(store)
}

fn epochs_done(store: &Store, run_id: i64) -> usize {
    store
        .run(run_id)
        .ok()
        .flatten()
        .map_or(0, |r| r.epochs_done)
}

fn send(pid: u32, signal: libc::c_int) {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Runs the task to its end; returns the exit code for Slurm (the trial's).
pub fn run_task(options: &TaskOptions) -> Result<i32> {
    let published = shard_path(&options.runs_dir, options.run_id);
    let work = work_path(options)?;
    let store = prepare(options, &published, &work)?;
    store.publish_copy(&published)?;

    let warned = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&warned))
        .context("cannot install signal handlers")?;
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    let mut child = Command::new(&options.binary)
        .arg("--db")
        .arg(&work)
        .arg("--data-dir")
        .arg(&options.data_dir)
        .args([
            "trial",
            &options.run_id.to_string(),
            "--device",
            &options.device,
        ])
        .args(options.gpu.fusion.then_some("--gpu-fusion"))
        .arg("--runs-dir")
        .arg(&options.runs_dir)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", options.binary.display()))?;
    let mut published_epochs = epochs_done(&store, options.run_id);
    let mut forwarded = false;
    let status = loop {
        if !forwarded && (warned.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed)) {
            forwarded = true;
            eprintln!(
                "slurm-task: stopping run {} at its next step",
                options.run_id
            );
            send(child.id(), libc::SIGTERM);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        let done = epochs_done(&store, options.run_id);
        if done != published_epochs {
            published_epochs = done;
            store.publish_copy(&published)?;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    store.publish_copy(&published)?;
    let ended = store.run(options.run_id)?.map(|r| r.status);
    drop(store);
    remove_db(&work);
    if warned.load(Ordering::Relaxed) && ended == Some(RunStatus::Stopped) {
        let job = std::env::var("SLURM_JOB_ID").context("requeue needs SLURM_JOB_ID")?;
        eprintln!("slurm-task: run {} requeues as job {job}", options.run_id);
        queue::requeue(&job)?;
        return Ok(0);
    }
    Ok(status.code().unwrap_or(1))
}
