//! The decisions of an adaptive sweep, as pure functions of what the store holds: which
//! trial to train next and how far (ASHA), whether a trial is pruned (the median rule), and
//! which point to try next (TPE). The runner reads the store, asks here, and acts.

pub mod asha;
pub mod median;
pub mod tpe;

use std::collections::BTreeMap;

use crate::spec::Objective;

/// Where one trial of the sweep stands.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialState {
    pub run_id: i64,
    pub trial_index: usize,
    pub phase: Phase,
    pub epochs_done: usize,
    /// The trial's `train.epochs`.
    pub epochs_total: usize,
    /// The objective's value at the end of each epoch trained.
    pub values: BTreeMap<usize, f64>,
}

/// A run's status as the scheduler needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Registered, never trained.
    Fresh,
    /// Being trained (by this process or another).
    Running,
    /// Waiting at a rung for promotion.
    Paused,
    /// Stopped, interrupted or failed before this `run` started: trained on from its last
    /// checkpoint.
    Resumable,
    /// Done, pruned, diverged, or ended during this `run` without finishing: nothing more to do
    /// here.
    Settled,
}

/// The sweep's `best` trial value at `epoch` first: sorted best first, ties by trial index.
pub fn ranked_at<'a>(
    trials: &'a [TrialState],
    epoch: usize,
    objective: &Objective,
) -> Vec<(&'a TrialState, f64)> {
    let mut at: Vec<(&TrialState, f64)> = trials
        .iter()
        .filter_map(|t| t.values.get(&epoch).map(|v| (t, *v)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    at.sort_by(|a, b| {
        let order = a.1.total_cmp(&b.1);
        let order = if objective.maximize() {
            order.reverse()
        } else {
            order
        };
        order.then(a.0.trial_index.cmp(&b.0.trial_index))
    });
    at
}
