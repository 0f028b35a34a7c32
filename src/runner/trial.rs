//! `densenet-lab trial RUN_ID`: one trial in its own process, started by `run`.
//!
//! The process takes its run's claim over from the `run` that started it (or, started by hand,
//! claims the run itself: see `claims`), resumes from the run's last checkpoint when there is
//! one, beats a heartbeat every few seconds, stops at the next step on SIGINT, SIGTERM, a stop
//! request in the store or a lost claim, and records how the trial ended. Every write names
//! its claim, so a trial whose claim was reaped writes nothing more. If it dies (a panic, the
//! OOM killer, kill -9) the scheduler records it, or the next `run` finds its claim dead.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

use super::claims::{self, Attempt, TrialRefused};
use super::gate::TrialGate;
use super::liveness;
use super::observer::StoreObserver;
use super::trial_log;
use crate::data;
use crate::spec::TrialConfig;
use crate::store::{Holder, RunStatus, Store, retry_busy};
use crate::train::{self, ComputeDevice, GpuOptions, Outcome, TrialJob};

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
    pub gpu: GpuOptions,
    /// The `run` that started this process claimed the run and hands the claim over; without
    /// this, the trial claims the run itself.
    pub claimed_by_parent: bool,
    /// How far an adaptive sweep lets the trial go.
    pub gate: TrialGate,
}

/// Where a run's checkpoints live.
pub fn checkpoint_dir(runs_dir: &Path, run_id: i64) -> PathBuf {
    runs_dir.join(run_id.to_string())
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

/// Beats the heartbeat until `done`; raises `stop` when the store holds a stop request or
/// when `me` no longer holds the run.
fn spawn_heartbeat(
    db: PathBuf,
    run_id: i64,
    me: Holder,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let Ok(store) = Store::open(&db) else { return };
        while !done.load(Ordering::Relaxed) {
            if let Ok(Some(true) | None) = store.heartbeat(run_id, &me) {
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

/// Takes the claim on `run_id` for `me`: over from the parent, or directly.
fn take_claim(store: &mut Store, run_id: i64, me: &Holder, options: &TrialOptions) -> Result<()> {
    if options.claimed_by_parent {
        let parent = liveness::parent_process();
        if !retry_busy(|| store.hand_over(run_id, &parent, me))? {
            return Err(TrialRefused::NotHandedOver { run_id }.into());
        }
        return Ok(());
    }
    match claims::claim(store, run_id, &options.device.to_string(), me)? {
        Attempt::Claimed => Ok(()),
        Attempt::HeldBy(c) => Err(TrialRefused::HeldElsewhere {
            run_id,
            by: claims::describe(&c),
        }
        .into()),
        Attempt::Settled(status) => Err(TrialRefused::Settled { run_id, status }.into()),
    }
}

/// Runs one trial to its end and records its status. Errors after the run was claimed are
/// stored with the run (status `failed`) and returned; a trial that lost its claim records
/// nothing.
pub fn run_trial(run_id: i64, options: &TrialOptions) -> Result<RunStatus> {
    // Every trial of the sweep shares its runs folder's GPU autotune results.
    train::use_tune_cache(&options.runs_dir);
    let mut store = Store::open(&options.db)?;
    let run = store.run(run_id)?.ok_or(TrialRefused::NoSuchRun(run_id))?;
    let config: TrialConfig = serde_json::from_str(&run.config_json)
        .with_context(|| format!("run {run_id}: its stored configuration is not valid"))?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    stop_when_the_scheduler_dies(&stop);
    let me = liveness::this_process();
    take_claim(&mut store, run_id, &me, options)?;
    store.write_as(me.clone());
    // Only the holder rewinds: nobody else is writing this run's rows now.
    let resume = resume_point(&store, run_id)?;
    retry_busy(|| store.rewind_to_epoch(run_id, resume.unwrap_or(0), &me))?;

    trial_log::started(run_id, &config, options.device, resume);

    let done = Arc::new(AtomicBool::new(false));
    let heartbeat = spawn_heartbeat(
        options.db.clone(),
        run_id,
        me.clone(),
        Arc::clone(&stop),
        Arc::clone(&done),
    );
    let panic_hook =
        std::env::var(PANIC_HOOK_ENV).is_ok_and(|v| v.trim() == run.trial_index.to_string());
    let dir = checkpoint_dir(&options.runs_dir, run_id);
    let mut verdict = None;
    let outcome = data::load(&config.data, &options.data_dir)
        .map_err(anyhow::Error::from)
        .and_then(|splits| {
            let job = TrialJob {
                config: &config,
                data: &splits,
                device: options.device,
                gpu: options.gpu,
                checkpoint_dir: &dir,
                resume_after_epoch: resume,
            };
            let mut observer =
                StoreObserver::new(&mut store, run_id, Arc::clone(&stop), panic_hook)
                    .logging_epochs_of(config.train.epochs)
                    .gated_by(options.gate.clone());
            let outcome = train::train_trial(&job, &mut observer);
            verdict = observer.verdict;
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
        Ok(Outcome::Halted { epoch }) => {
            let status = verdict.unwrap_or(RunStatus::Paused);
            let why = match status {
                RunStatus::Pruned => format!(
                    "pruned after epoch {epoch}: its best value so far is worse than the median of the finished trials"
                ),
                _ => format!("paused at the rung of epoch {epoch}; resumes from there if promoted"),
            };
            (status, Some(why))
        }
        Err(e) => (RunStatus::Failed, Some(format!("{e:#}"))),
    };
    let held = retry_busy(|| store.finish_claimed(run_id, &me, status, error.as_deref()))
        .with_context(|| format!("cannot record the end of run {run_id}"))?;
    if !held {
        return Err(crate::store::StoreError::ClaimLost(run_id).into());
    }
    trial_log::ended(run_id, status, error.as_deref());
    outcome.map(|_| status)
}
