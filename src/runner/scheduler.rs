//! The process pool: claims each run and starts a `densenet-lab trial RUN_ID` child for it on
//! a device slot, watches them, records the ones that die, and passes Ctrl-C on.
//!
//! A run is claimed (in this process's name) only when a slot is free for it, so two
//! schedulers on one store share a sweep: each trains the runs it claimed and leaves the
//! others' alone. The child takes the claim over (see `claims`).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

use super::RunOptions;
use super::claims::{self, Attempt};
use super::gate::TrialGate;
use super::liveness;
use super::progress::Display;
use super::trial::checkpoint_dir;
use crate::store::{Holder, RunStatus, Store, retry_busy};
use crate::train::ComputeDevice;

/// `run` was interrupted by the user (exit code 130, as shells expect after Ctrl-C).
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted: the runs that were training are `stopped` or `interrupted`; run the same file again to resume them"
)]
pub struct Interrupted;

#[derive(Debug, Clone)]
pub struct Queued {
    pub run_id: i64,
    pub trial_index: usize,
    pub total_steps: u64,
    /// How far this attempt may train (an adaptive sweep's rung or rule).
    pub gate: TrialGate,
}

/// Where the scheduler gets the next run for a free slot: a fixed list, or an adaptive sweep
/// deciding from the store each time.
pub trait JobSource {
    /// The next run to start now; `None` when nothing can start until a running trial ends
    /// (or ever: once nothing runs either, `run_queue` returns).
    fn next(&mut self, store: &mut Store, display: &Display) -> Result<Option<Queued>>;
    /// A run this process started has ended and its status is recorded.
    fn ended(&mut self, _store: &Store, _run_id: i64, _display: &Display) -> Result<()> {
        Ok(())
    }
    /// `q` was not claimed: another live process holds it. The source may offer it again
    /// once that process lets it go without finishing it.
    fn held_elsewhere(&mut self, q: Queued);
    /// The ids of every run of the sweep: those the scheduler waits for before it ends.
    fn sweep_runs(&self, store: &Store) -> Result<Vec<i64>>;
}

/// The runs of a sweep in order, each started once; a run another process holds is offered
/// again if that process dies (its claim reaped as `interrupted`).
pub struct FixedQueue {
    queue: std::collections::VecDeque<Queued>,
    elsewhere: Vec<Queued>,
    all: Vec<i64>,
}

impl FixedQueue {
    /// `queue`: the runs to train, in order; `all`: every run of the sweep.
    pub fn new(queue: std::collections::VecDeque<Queued>, all: Vec<i64>) -> Self {
        FixedQueue {
            queue,
            elsewhere: Vec::new(),
            all,
        }
    }
}

impl JobSource for FixedQueue {
    fn next(&mut self, store: &mut Store, _display: &Display) -> Result<Option<Queued>> {
        if let Some(q) = self.queue.pop_front() {
            return Ok(Some(q));
        }
        // A run left to a process that has died since (reaped: `interrupted`) is ours now;
        // one it finished is its outcome, and one still held stays where it is.
        let mut i = 0;
        while i < self.elsewhere.len() {
            match store.run(self.elsewhere[i].run_id)?.map(|r| r.status) {
                Some(RunStatus::Running) => i += 1,
                Some(RunStatus::Interrupted | RunStatus::Queued) => {
                    return Ok(Some(self.elsewhere.swap_remove(i)));
                }
                _ => {
                    self.elsewhere.swap_remove(i);
                }
            }
        }
        Ok(None)
    }

    fn held_elsewhere(&mut self, q: Queued) {
        self.elsewhere.push(q);
    }

    fn sweep_runs(&self, _store: &Store) -> Result<Vec<i64>> {
        Ok(self.all.clone())
    }
}

struct Running {
    child: Child,
    /// The child as the claim it takes over names it.
    holder: Holder,
    run_id: i64,
    slot: usize,
    log: std::path::PathBuf,
}

/// What `run_queue` did.
#[derive(Debug, Default)]
pub struct QueueReport {
    pub interrupted_by_user: bool,
    /// The runs this process claimed and started a trial for.
    pub claimed: Vec<i64>,
    /// Runs another live process held, or settled while we waited for a slot (each once).
    pub left_to_others: std::collections::BTreeSet<i64>,
}

const POLL: Duration = Duration::from_millis(200);
/// How often a scheduler with nothing of its own to train looks again at the runs of the
/// sweep that other processes hold.
const WAIT_POLL: Duration = Duration::from_secs(1);

/// The sweep's runs that another live process trains now, and whether any was reaped: those
/// whose process has died become `interrupted` on the way, so that the source offers them.
fn held_by_others(
    store: &Store,
    source: &dyn JobSource,
) -> Result<(Vec<crate::store::Claim>, bool)> {
    let sweep: std::collections::HashSet<i64> = source.sweep_runs(store)?.into_iter().collect();
    let mut held = Vec::new();
    let mut reaped = false;
    for claim in store.running_claims()? {
        if !sweep.contains(&claim.run_id) {
            continue;
        }
        if liveness::claim_alive(&claim) {
            held.push(claim);
        } else {
            reaped |= retry_busy(|| {
                store.mark_interrupted(
                    &claim,
                    "the trial's process ended without recording an outcome",
                )
            })?;
        }
    }
    Ok((held, reaped))
}

/// CPU threads for each trial when `cpu_slots` trials share the machine.
fn threads_per_trial(cpu_slots: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / cpu_slots.max(1)).max(1)
}

fn spawn(
    q: &Queued,
    slot: usize,
    device: ComputeDevice,
    threads: usize,
    options: &RunOptions,
) -> Result<Running> {
    let dir = checkpoint_dir(&options.runs_dir, q.run_id);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let log = dir.join("trial.log");
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let mut cmd = Command::new(&options.binary);
    cmd.arg("--db")
        .arg(&options.db)
        .arg("--data-dir")
        .arg(&options.data_dir)
        .args([
            "trial",
            &q.run_id.to_string(),
            "--device",
            &device.to_string(),
            "--claimed-by-parent",
        ])
        .args(q.gate.args())
        .args(options.gpu.fusion.then_some("--gpu-fusion"))
        .arg("--runs-dir")
        .arg(&options.runs_dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    if device == ComputeDevice::Cpu {
        cmd.env("RAYON_NUM_THREADS", threads.to_string());
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", options.binary.display()))?;
    // Read before anyone waits on the child, so that its pid cannot be someone else's yet.
    let holder = liveness::holder(child.id());
    Ok(Running {
        child,
        holder,
        run_id: q.run_id,
        slot,
        log,
    })
}

/// What a crashed trial said before it died: its panic message when it panicked (not the
/// backtrace after it), else the last lines of its log.
fn log_tail(path: &std::path::Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(16_000)));
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if let Some(at) = lines.iter().rposition(|l| l.contains("panicked at")) {
        return lines[at..(at + 2).min(lines.len())].join("\n");
    }
    lines[lines.len().saturating_sub(6)..].join("\n")
}

fn send(pid: u32, signal: libc::c_int) {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// After a child exited: if it did not record an outcome itself, record why it ended, on the
/// claim it held (or on ours, when it died before taking it over). A claim neither of us holds
/// any more is someone else's now and left alone.
fn settle(
    store: &Store,
    me: &Holder,
    r: &Running,
    status: std::process::ExitStatus,
    killed_by_us: bool,
) -> Result<()> {
    let record = |status: RunStatus, error: &str| -> Result<()> {
        for holder in [&r.holder, me] {
            if retry_busy(|| store.finish_claimed(r.run_id, holder, status, Some(error)))? {
                break;
            }
        }
        Ok(())
    };
    if killed_by_us {
        return record(
            RunStatus::Interrupted,
            "killed by a second Ctrl-C; resumable from its last checkpoint",
        );
    }
    use std::os::unix::process::ExitStatusExt;
    let how = match (status.code(), status.signal()) {
        (_, Some(9)) => "killed by SIGKILL (the OOM killer, or kill -9)".to_string(),
        (_, Some(sig)) => format!("killed by signal {sig}"),
        (Some(code), _) => format!("exited with status {code}"),
        _ => "ended".to_string(),
    };
    let tail = log_tail(&r.log);
    let error = if tail.is_empty() {
        how
    } else {
        format!("{how}: {tail}")
    };
    record(RunStatus::Failed, &error)
}

/// Claims `q` for this process, or says why not (to the display) and returns false.
fn claim_for_slot(
    store: &mut Store,
    q: &Queued,
    device: ComputeDevice,
    me: &Holder,
    display: &Display,
) -> Result<bool> {
    let label = format!("run {} (trial {})", q.run_id, q.trial_index + 1);
    match claims::claim(store, q.run_id, &device.to_string(), me)? {
        Attempt::Claimed => return Ok(true),
        Attempt::HeldBy(c) => display.message(&format!(
            "{label}: being trained by {}; left to it",
            claims::describe(&c)
        )),
        Attempt::Settled(status) => {
            display.message(&format!("{label}: {status} by another process; skipped"))
        }
    }
    Ok(false)
}

/// Trains the queue with `options.jobs` processes, each run only if this process wins its
/// claim.
pub fn run_queue(
    store: &mut Store,
    source: &mut dyn JobSource,
    options: &RunOptions,
    display: &Display,
) -> Result<QueueReport> {
    let me = liveness::this_process();
    let mut report = QueueReport::default();
    let signals = Arc::new(AtomicUsize::new(0));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Each signal counts; the first stops the trials, the second kills them.
        let counter = Arc::clone(&signals);
        // SAFETY: the handler only increments an atomic counter.
        unsafe {
            signal_hook::low_level::register(signal, move || {
                counter.fetch_add(1, Ordering::SeqCst);
            })
        }
        .context("cannot install signal handlers")?;
    }
    let slots: Vec<ComputeDevice> = (0..options.jobs.max(1))
        .map(|i| options.devices[i % options.devices.len()])
        .collect();
    let threads = threads_per_trial(slots.iter().filter(|d| **d == ComputeDevice::Cpu).count());
    let mut free: Vec<usize> = (0..slots.len()).rev().collect();
    let mut running: Vec<Running> = Vec::new();
    let mut handled_signals = 0;
    let mut killed = false;
    let mut poller = display.poller();
    // The runs of others this process last said it waits for.
    let mut waited_for: Vec<i64> = Vec::new();
    loop {
        let seen = signals.load(Ordering::SeqCst);
        if seen > handled_signals {
            handled_signals = seen;
            if seen == 1 {
                display.message(
                    "stopping: each trial stops at its next step (Ctrl-C again to kill them)",
                );
                for r in &running {
                    send(r.child.id(), libc::SIGTERM);
                }
            } else if !killed {
                killed = true;
                for r in &mut running {
                    let _ = r.child.kill();
                }
            }
        }
        while handled_signals == 0 && !free.is_empty() {
            let Some(q) = source.next(store, display)? else {
                break;
            };
            let slot = *free.last().expect("checked non-empty");
            if !claim_for_slot(store, &q, slots[slot], &me, display)? {
                report.left_to_others.insert(q.run_id);
                source.held_elsewhere(q);
                continue;
            }
            free.pop();
            report.claimed.push(q.run_id);
            match spawn(&q, slot, slots[slot], threads, options) {
                Ok(started) => running.push(started),
                Err(e) => {
                    // Release the claim rather than leave a live process holding a run
                    // nobody trains.
                    let why = format!("{e:#}");
                    retry_busy(|| {
                        store.finish_claimed(q.run_id, &me, RunStatus::Failed, Some(&why))
                    })?;
                    return Err(e);
                }
            }
            display.started(&q, slots[slot]);
        }
        // Read what the trials wrote before noticing which ended, so that a trial's last epoch
        // is shown before its final status line.
        poller.update(store)?;
        let mut ended_any = false;
        let mut i = 0;
        while i < running.len() {
            if let Some(status) = running[i].child.try_wait()? {
                ended_any = true;
                let r = running.swap_remove(i);
                settle(store, &me, &r, status, killed)?;
                free.push(r.slot);
                display.finished(store, r.run_id)?;
                source.ended(store, r.run_id, display)?;
            } else {
                i += 1;
            }
        }
        // Slots were filled above as far as the source allowed. With none running: if one
        // just ended, ask the source again (its end may free a promotion or a new trial);
        // while another live process trains runs of the sweep, wait for them (taking over
        // any whose process dies), so that the sweep is settled when this returns.
        if running.is_empty() {
            if handled_signals > 0 {
                break;
            }
            if ended_any {
                continue;
            }
            let (held, reaped) = held_by_others(store, source)?;
            if held.is_empty() {
                // A run reaped just now, or let go by the process we waited for, may be
                // the source's to offer: ask once more before ending.
                if reaped || !waited_for.is_empty() {
                    waited_for.clear();
                    continue;
                }
                break;
            }
            let ids: Vec<i64> = held.iter().map(|c| c.run_id).collect();
            if ids != waited_for {
                let who: Vec<String> = held
                    .iter()
                    .map(|c| format!("run {} ({})", c.run_id, claims::describe(c)))
                    .collect();
                display.message(&format!(
                    "waiting for {}, trained by another process; taken over if it dies",
                    who.join(", ")
                ));
                waited_for = ids;
            }
            std::thread::sleep(WAIT_POLL);
            continue;
        }
        std::thread::sleep(POLL);
    }
    report.interrupted_by_user = handled_signals > 0;
    Ok(report)
}
