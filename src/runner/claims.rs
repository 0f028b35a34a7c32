//! Who trains a run: exactly one process at a time, decided by an atomic claim in the store.
//!
//! The scheduler (`run`) claims each run just before it would start the trial process, in its
//! own name; a scheduler that loses the claim starts nothing and reports the run as left to
//! the other process. The trial process it starts takes the claim over from it
//! (`Store::hand_over`, only from its own parent), so that from then on the claim names the
//! process that actually trains: the one whose death must free the run. A `trial` started by
//! hand claims the run itself. Claims whose process is dead (see `liveness`) are reaped as
//! `interrupted` and then claimed like any other resumable run.

use crate::store::{Claim, ClaimOutcome, Holder, RunStatus, Store, StoreError, retry_busy};

use super::liveness;

/// Why a trial process would not train its run. The CLI treats these as bad input (exit 2):
/// the request named a run that cannot be trained now.
#[derive(Debug, thiserror::Error)]
pub enum TrialRefused {
    #[error("no run with id {0} (see `densenet-lab runs`)")]
    NoSuchRun(i64),
    #[error("run {run_id} is being trained by {by}; left to it")]
    HeldElsewhere { run_id: i64, by: String },
    #[error("run {run_id} is {status}; reset it to train it again")]
    Settled { run_id: i64, status: RunStatus },
    #[error(
        "run {run_id} is not held by the `run` that started this trial (it was reaped or taken meanwhile); not training it"
    )]
    NotHandedOver { run_id: i64 },
}

/// How a claim attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Claimed,
    /// A live process holds the run.
    HeldBy(Claim),
    /// The run is `done` or `diverged` (by another process meanwhile, or before).
    Settled(RunStatus),
}

/// "pid 123 on host" for messages.
pub fn describe(claim: &Claim) -> String {
    match (claim.pid, claim.host.as_deref()) {
        (Some(pid), Some(host)) => format!("pid {pid} on {host}"),
        (Some(pid), None) => format!("pid {pid}"),
        _ => "another process".into(),
    }
}

const DEAD: &str = "the trial's process ended without recording an outcome";

/// Claims `run_id` for `me`. A claim whose process is dead is reaped as `interrupted` first
/// (only that claim: one taken meanwhile by a live process is left alone), then the run is
/// claimed again; a live holder wins.
pub fn claim(
    store: &mut Store,
    run_id: i64,
    device: &str,
    me: &Holder,
) -> Result<Attempt, StoreError> {
    loop {
        match retry_busy(|| store.claim_run(run_id, device, me))? {
            ClaimOutcome::Claimed => return Ok(Attempt::Claimed),
            ClaimOutcome::Settled(status) => return Ok(Attempt::Settled(status)),
            ClaimOutcome::Held(claim) if liveness::claim_alive(&claim) => {
                return Ok(Attempt::HeldBy(claim));
            }
            // Reaped by us or by someone else meanwhile: either way, try again.
            ClaimOutcome::Held(claim) => {
                retry_busy(|| store.mark_interrupted(&claim, DEAD))?;
            }
        }
    }
}

/// Marks `running` runs whose process is dead as `interrupted` (so that `runs` and the
/// dashboard say so at once). Returns the ids of runs still held by a live process.
/// The `running` runs whose claim is dead ([`liveness::claim_alive`]), found without writing:
/// what a read-only view shows as `interrupted` before a writer reaps them.
pub fn dead_runs(store: &Store) -> Result<std::collections::BTreeSet<i64>, StoreError> {
    Ok(store
        .running_claims()?
        .into_iter()
        .filter(|claim| !liveness::claim_alive(claim))
        .map(|claim| claim.run_id)
        .collect())
}

pub fn reap_dead_runs(store: &Store) -> Result<Vec<i64>, StoreError> {
    let mut alive = Vec::new();
    for claim in store.running_claims()? {
        if liveness::claim_alive(&claim) {
            alive.push(claim.run_id);
        } else {
            retry_busy(|| store.mark_interrupted(&claim, DEAD))?;
        }
    }
    Ok(alive)
}
