//! Waiting for a submitted array: polls Slurm, merges each run's shard as a new copy lands,
//! shows the same progress as a local run, and on Ctrl-C cancels the array (the trials stop
//! at their next step and publish their shards, resumable).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use super::{merge_run, queue, shard_path};
use crate::runner::progress::Display;
use crate::runner::scheduler::Queued;
use crate::store::{Merged, Store, retry_busy};
use crate::train::ComputeDevice;

const POLL: Duration = Duration::from_secs(1);
/// After Ctrl-C, how long the tasks get to stop and publish before `run` gives up on them.
const CANCEL_GRACE: Duration = Duration::from_secs(120);

/// One task of the array as the waiter follows it.
struct Followed {
    queued: Queued,
    started: bool,
    /// Polls in a row that found the task ended (one may be a requeue in passing).
    ended_polls: u32,
    shard_seen: Option<(SystemTime, u64)>,
}

/// Merges the shard of `run_id` if a new copy landed since `seen`.
fn merge_if_new(
    store: &mut Store,
    runs_dir: &Path,
    run_id: i64,
    seen: &mut Option<(SystemTime, u64)>,
    display: &Display,
) -> Result<()> {
    let Ok(meta) = std::fs::metadata(shard_path(runs_dir, run_id)) else {
        return Ok(());
    };
    let stamp = (meta.modified()?, meta.len());
    if *seen == Some(stamp) {
        return Ok(());
    }
    if let Some(Merged::Refused(why)) = merge_run(store, runs_dir, run_id)? {
        display.message(&format!("run {run_id}: shard refused for now ({why})"));
        return Ok(());
    }
    *seen = Some(stamp);
    Ok(())
}

/// A run whose task ended while its shard still says `running` was killed without warning:
/// it becomes `interrupted`, resumable from its last shard copy.
fn settle(store: &Store, run_id: i64, state: &str) -> Result<()> {
    for claim in store.running_claims()? {
        if claim.run_id == run_id {
            let why = format!(
                "its Slurm task ended ({state}) without recording an outcome; resumable from its last shard copy"
            );
            retry_busy(|| store.mark_interrupted(&claim, &why))?;
        }
    }
    Ok(())
}

/// Follows array `job`, whose task i trains `tasks[i]`, until every task has ended. Returns
/// whether the user interrupted it.
pub fn wait_for_array(
    store: &mut Store,
    job: i64,
    tasks: &[Queued],
    runs_dir: &Path,
    device: ComputeDevice,
    display: &Display,
) -> Result<bool> {
    let signals = Arc::new(AtomicUsize::new(0));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let counter = Arc::clone(&signals);
        // SAFETY: the handler only increments an atomic counter.
        unsafe {
            signal_hook::low_level::register(signal, move || {
                counter.fetch_add(1, Ordering::SeqCst);
            })
        }
        .context("cannot install signal handlers")?;
    }
    let mut followed: HashMap<i64, Followed> = tasks
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let f = Followed {
                queued: q.clone(),
                started: false,
                ended_polls: 0,
                shard_seen: None,
            };
            (i as i64, f)
        })
        .collect();
    let mut finished: HashSet<i64> = HashSet::new();
    let mut cancelled_at: Option<Instant> = None;
    let mut poller = display.poller();
    while finished.len() < followed.len() {
        if cancelled_at.is_none() && signals.load(Ordering::SeqCst) > 0 {
            display.message(&format!(
                "cancelling job array {job}: each trial stops at its next step and stays resumable"
            ));
            queue::scancel(job)?;
            cancelled_at = Some(Instant::now());
        }
        if cancelled_at.is_some_and(|t| t.elapsed() > CANCEL_GRACE) {
            display.message("some tasks did not end in time; their runs stay as last merged");
            break;
        }
        let states = match queue::task_states(job) {
            Ok(states) => states,
            Err(e) => {
                display.message(&format!("{e:#}; asking again"));
                std::thread::sleep(POLL);
                continue;
            }
        };
        let mut ids: Vec<i64> = followed.keys().copied().collect();
        ids.sort();
        for task in ids {
            if finished.contains(&task) {
                continue;
            }
            let f = followed.get_mut(&task).expect("listed above");
            let run_id = f.queued.run_id;
            merge_if_new(store, runs_dir, run_id, &mut f.shard_seen, display)?;
            let state = states.get(&task);
            if state.is_some_and(|s| s.state == "RUNNING") {
                if !f.started {
                    f.started = true;
                    display.started(&f.queued, device);
                }
                retry_busy(|| store.touch_heartbeat(run_id))?;
            }
            if state.is_some_and(queue::TaskState::active) {
                f.ended_polls = 0;
                continue;
            }
            f.ended_polls += 1;
            if f.ended_polls < 2 {
                continue;
            }
            // Ended: take its last copy in, whatever we saw before.
            f.shard_seen = None;
            merge_if_new(store, runs_dir, run_id, &mut f.shard_seen, display)?;
            let how = state.map_or("gone from the queue", |s| s.state.as_str());
            settle(store, run_id, how)?;
            finished.insert(task);
            if f.started {
                display.finished(store, run_id)?;
            }
        }
        poller.update(store)?;
        if finished.len() < followed.len() {
            std::thread::sleep(POLL);
        }
    }
    Ok(cancelled_at.is_some())
}
