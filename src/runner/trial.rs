//! `densenet-lab trial RUN_ID`: one trial in its own process, started by `run`.
//!
//! The process claims its run in the store, resumes from the run's last checkpoint when there
//! is one, beats a heartbeat every few seconds, stops at the next step on SIGINT, SIGTERM or a
//! stop request in the store, and records how the trial ended. If it dies (a panic, the OOM
//! killer, kill -9) the scheduler or the stale heartbeat tells.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

use super::observer::StoreObserver;
use super::trial_log;
use crate::data;
use crate::spec::TrialConfig;
use crate::store::{RunStatus, Store, retry_busy};
use crate::train::{self, ComputeDevice, Outcome, TrialJob};

/// How often a trial tells the store it is alive (and reads stop requests).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// Test hook: a trial whose trial index equals this variable's value panics at its first
/// step, so that tests can check that one crashing trial does not stop the others.
pub const PANIC_HOOK_ENV: &str = "DENSENET_LAB_TEST_PANIC_TRIAL";

#[derive(Debug, Clone)]
pub struct TrialOptions {
    pub db: PathBuf,
    pub data_dir: PathBuf,
    pub runs_dir: PathBuf,
    pub device: ComputeDevice,
}

/// Where a run's checkpoints live.
pub fn checkpoint_dir(runs_dir: &Path, run_id: i64) -> PathBuf {
    runs_dir.join(run_id.to_string())
}

/// This machine's name as runs record it (to tell a dead local process from a remote one).
pub fn this_host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into the buffer we own.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if ok {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown".into()
    }
}

/// If the `run` that started this trial is killed (kill -9, a closed SSH session), the trial
/// gets SIGTERM and stops at its next step as `stopped`, resumable, instead of training on
/// as an orphan nobody watches.
fn stop_when_the_scheduler_dies(stop: &AtomicBool) {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets which signal this process gets when its parent
    // dies; getppid has no preconditions.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        if libc::getppid() == 1 {
            // The parent died before the request took effect.
            stop.store(true, Ordering::Relaxed);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stop;
}

/// The epoch to resume after: the last checkpoint the store recorded, if its files exist.
fn resume_point(store: &Store, run_id: i64) -> Result<Option<usize>> {
    Ok(store
        .last_checkpoint(run_id)?
        .filter(|(_, path)| Path::new(path).join("model.mpk").exists())
        .map(|(epoch, _)| epoch))
}

/// Beats the heartbeat until `done`; raises `stop` when the store holds a stop request.
fn spawn_heartbeat(
    db: PathBuf,
    run_id: i64,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let Ok(store) = Store::open(&db) else { return };
        while !done.load(Ordering::Relaxed) {
            if let Ok(true) = store.heartbeat(run_id) {
                stop.store(true, Ordering::Relaxed);
            }
            let mut waited = Duration::ZERO;
            while waited < HEARTBEAT_EVERY && !done.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(100));
                waited += Duration::from_millis(100);
            }
        }
    })
}

/// Runs one trial to its end and records its status. Errors after the run was claimed are
/// stored with the run (status `failed`) and returned.
pub fn run_trial(run_id: i64, options: &TrialOptions) -> Result<RunStatus> {
    let mut store = Store::open(&options.db)?;
    let run = store.run(run_id)?.ok_or_else(|| {
        crate::cli::UsageError(format!("no run with id {run_id} (see `densenet-lab runs`)"))
    })?;
    let config: TrialConfig = serde_json::from_str(&run.config_json)
        .with_context(|| format!("run {run_id}: its stored configuration is not valid"))?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    stop_when_the_scheduler_dies(&stop);
    let resume = resume_point(&store, run_id)?;
    match resume {
        Some(epoch) => retry_busy(|| store.rewind_to_epoch(run_id, epoch))?,
        None => retry_busy(|| store.reset_run(run_id))?,
    }
    retry_busy(|| {
        store.claim_run(
            run_id,
            &options.device.to_string(),
            std::process::id(),
            &this_host(),
        )
    })?;

    trial_log::started(run_id, &config, options.device, resume);

    let done = Arc::new(AtomicBool::new(false));
    let heartbeat = spawn_heartbeat(
        options.db.clone(),
        run_id,
        Arc::clone(&stop),
        Arc::clone(&done),
    );
    let panic_hook =
        std::env::var(PANIC_HOOK_ENV).is_ok_and(|v| v.trim() == run.trial_index.to_string());
    let dir = checkpoint_dir(&options.runs_dir, run_id);
    let outcome = data::load(&config.data, &options.data_dir)
        .map_err(anyhow::Error::from)
        .and_then(|splits| {
            let job = TrialJob {
                config: &config,
                data: &splits,
                device: options.device,
                checkpoint_dir: &dir,
                resume_after_epoch: resume,
            };
            let mut observer =
                StoreObserver::new(&mut store, run_id, Arc::clone(&stop), panic_hook)
                    .logging_epochs_of(config.train.epochs);
            let outcome = train::train_trial(&job, &mut observer);
            // Rows of an unfinished epoch are kept for the dashboard; a resume rewinds them.
            observer.flush().and(outcome)
        });
    done.store(true, Ordering::Relaxed);
    let _ = heartbeat.join();

    let (status, error) = match &outcome {
        Ok(Outcome::Completed) => (RunStatus::Done, None),
        Ok(Outcome::Diverged { epoch, step, loss }) => (
            RunStatus::Diverged,
            Some(format!(
                "diverged at step {step} (epoch {epoch}): loss {loss}"
            )),
        ),
        Ok(Outcome::Stopped { epoch }) => (
            RunStatus::Stopped,
            Some(match epoch - 1 {
                0 => "stopped during epoch 1; resumes from the start".to_string(),
                done => {
                    format!("stopped during epoch {epoch}; resumes from the end of epoch {done}")
                }
            }),
        ),
        Err(e) => (RunStatus::Failed, Some(format!("{e:#}"))),
    };
    retry_busy(|| store.finish_run(run_id, status, error.as_deref()))
        .with_context(|| format!("cannot record the end of run {run_id}"))?;
    trial_log::ended(run_id, status, error.as_deref());
    outcome.map(|_| status)
}
