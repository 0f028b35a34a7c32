//! How far an adaptive sweep lets one trial go: to a rung, where it pauses (ASHA), or on
//! while it keeps up with the median of the finished trials. Decided in the trial process at
//! each epoch end, after the epoch's metrics and checkpoint are in the store, so a halted
//! trial resumes from exactly there.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::search::median;
use crate::spec::Objective;
use crate::store::{RunStatus, Store};

/// The limit a `run` hands a trial process (`trial --pause-at`, `trial --median`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TrialGate {
    /// Train to the last epoch.
    #[default]
    Open,
    /// Pause at the end of this epoch (an ASHA rung), unless it is the last.
    PauseAt(usize),
    /// Prune at an epoch after `warmup_epochs` when the trial's best value so far is worse than
    /// the median of the finished trials at that epoch.
    Median {
        objective: Objective,
        warmup_epochs: usize,
    },
}

impl TrialGate {
    /// The command-line arguments of `densenet-lab trial` that give this gate.
    pub fn args(&self) -> Vec<String> {
        match self {
            TrialGate::Open => Vec::new(),
            TrialGate::PauseAt(epoch) => vec!["--pause-at".into(), epoch.to_string()],
            TrialGate::Median {
                objective,
                warmup_epochs,
            } => vec![
                "--median".into(),
                objective.label(),
                "--median-warmup".into(),
                warmup_epochs.to_string(),
            ],
        }
    }

    /// The status the trial ends with if it stops after `epoch`, `None` to train on.
    pub fn verdict(&self, store: &Store, run_id: i64, epoch: usize) -> Result<Option<RunStatus>> {
        Ok(match self {
            TrialGate::Open => None,
            TrialGate::PauseAt(at) => (epoch >= *at).then_some(RunStatus::Paused),
            TrialGate::Median {
                objective,
                warmup_epochs,
            } => {
                let values = store.objective_values(run_id, &objective.split, &objective.name)?;
                let own: BTreeMap<usize, f64> = values
                    .iter()
                    .filter(|v| v.run_id == run_id)
                    .map(|v| (v.epoch, v.value))
                    .collect();
                let finished: Vec<f64> = values
                    .iter()
                    .filter(|v| v.status == RunStatus::Done && v.epoch == epoch)
                    .map(|v| v.value)
                    .collect();
                median::prunes(&own, epoch, &finished, objective, *warmup_epochs)
                    .then_some(RunStatus::Pruned)
            }
        })
    }
}
