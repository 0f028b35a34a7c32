//! Asynchronous successive halving (Li et al., MLSys 2020) with pause and promotion: a trial
//! trains to its rung and waits there; whenever a slot frees, the best waiting trial that is in
//! the top `1 / reduction` of its rung goes on (top rung first), else a new trial starts.
//! Because a waiting trial is paused with its checkpoint rather than killed, one that looked
//! average early can still be promoted once more trials reach its rung.

use std::collections::BTreeSet;

use super::{Phase, TrialState, ranked_at};
use crate::spec::Objective;

/// The epochs a trial of `max_epochs` pauses at: `min_epochs * reduction^i` below
/// `max_epochs`, then `max_epochs` itself (the last rung is the full training).
pub fn rungs(min_epochs: usize, reduction: usize, max_epochs: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut epoch = min_epochs.max(1);
    while epoch < max_epochs {
        out.push(epoch);
        epoch = epoch.saturating_mul(reduction.max(2));
    }
    out.push(max_epochs);
    out
}

/// The ASHA settings of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asha {
    pub min_epochs: usize,
    pub reduction: usize,
}

/// What a free slot should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Train this run from where it is to the end of epoch `until`.
    Train { run_id: i64, until: usize },
    /// Register a new trial (the sweep has points left) and ask again.
    StartNew,
    /// Nothing can start until a running trial ends.
    Wait,
    /// Nothing is running and nothing can start: the sweep is over.
    Finished,
}

impl Asha {
    /// The rungs of a trial.
    pub fn rungs_of(&self, trial: &TrialState) -> Vec<usize> {
        rungs(self.min_epochs, self.reduction, trial.epochs_total)
    }

    /// The first rung above where the trial stands (its last rung at most).
    pub fn next_rung(&self, trial: &TrialState) -> usize {
        let rungs = self.rungs_of(trial);
        rungs
            .iter()
            .copied()
            .find(|r| *r > trial.epochs_done)
            .unwrap_or(trial.epochs_total)
    }

    /// The paused trial to promote now, if any: rungs from the top down, within a rung the
    /// best first; a trial is promotable when it is among the top `n / reduction` of the `n`
    /// trials that reached its rung.
    pub fn promotion(&self, trials: &[TrialState], objective: &Objective) -> Option<Next> {
        let rung_epochs: BTreeSet<usize> = trials
            .iter()
            .flat_map(|t| {
                let mut r = self.rungs_of(t);
                r.pop();
                r
            })
            .collect();
        for &epoch in rung_epochs.iter().rev() {
            let ranked = ranked_at(trials, epoch, objective);
            let top = ranked.len() / self.reduction;
            for (t, _) in &ranked[..top] {
                if t.phase == Phase::Paused && t.epochs_done == epoch {
                    return Some(Next::Train {
                        run_id: t.run_id,
                        until: self.next_rung(t),
                    });
                }
            }
        }
        None
    }

    /// The decision for one free slot: resume what was cut short, then promote, then start a
    /// registered trial at its first rung, then ask for a new one (`more_points`).
    pub fn next(&self, trials: &[TrialState], objective: &Objective, more_points: bool) -> Next {
        let first = |phase: Phase| {
            trials
                .iter()
                .filter(|t| t.phase == phase)
                .min_by_key(|t| t.trial_index)
        };
        if let Some(t) = first(Phase::Resumable) {
            return Next::Train {
                run_id: t.run_id,
                until: self.next_rung(t),
            };
        }
        if let Some(next) = self.promotion(trials, objective) {
            return next;
        }
        if let Some(t) = first(Phase::Fresh) {
            return Next::Train {
                run_id: t.run_id,
                until: self.next_rung(t),
            };
        }
        if more_points {
            return Next::StartNew;
        }
        if trials.iter().any(|t| t.phase == Phase::Running) {
            Next::Wait
        } else {
            Next::Finished
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn accuracy() -> Objective {
        Objective {
            split: "val".into(),
            name: "accuracy".into(),
        }
    }

    /// A trial paused at `epoch` with value `v` there (and a lower one before).
    fn at(run_id: i64, epoch: usize, v: f64, phase: Phase) -> TrialState {
        let values: BTreeMap<usize, f64> = (1..=epoch)
            .map(|e| (e, v - 0.01 * (epoch - e) as f64))
            .collect();
        TrialState {
            run_id,
            trial_index: run_id as usize,
            phase,
            epochs_done: epoch,
            epochs_total: 9,
            values,
        }
    }

    #[test]
    fn rungs_grow_by_the_reduction_factor_and_end_at_the_full_training() {
        assert_eq!(rungs(1, 3, 9), vec![1, 3, 9]);
        assert_eq!(rungs(1, 3, 10), vec![1, 3, 9, 10]);
        assert_eq!(rungs(2, 2, 16), vec![2, 4, 8, 16]);
        assert_eq!(rungs(1, 3, 1), vec![1]);
        assert_eq!(rungs(3, 3, 3), vec![3]);
        assert_eq!(rungs(1, 4, 3), vec![1, 3]);
    }

    #[test]
    fn only_the_top_third_of_a_rung_is_promoted_best_first() {
        let asha = Asha {
            min_epochs: 1,
            reduction: 3,
        };
        let o = accuracy();
        // Two trials at rung 1: 2 / 3 = 0 promotable; a new trial starts.
        let two = vec![at(1, 1, 0.5, Phase::Paused), at(2, 1, 0.7, Phase::Paused)];
        assert_eq!(asha.next(&two, &o, true), Next::StartNew);
        assert_eq!(asha.next(&two, &o, false), Next::Finished);
        // A third arrives: the best of three (run 2) goes on to rung 3.
        let mut three = two.clone();
        three.push(at(3, 1, 0.6, Phase::Paused));
        assert_eq!(
            asha.next(&three, &o, true),
            Next::Train {
                run_id: 2,
                until: 3
            }
        );
        // Once run 2 is running, nobody else of three is in the top third.
        three[1].phase = Phase::Running;
        assert_eq!(asha.next(&three, &o, false), Next::Wait);
        // Six at rung 1 (run 2 promoted): the second best (run 6) is promotable now; an
        // average trial promoted late, the repechage a killed trial could not have.
        let mut six = three.clone();
        six.extend([
            at(4, 1, 0.1, Phase::Paused),
            at(5, 1, 0.2, Phase::Paused),
            at(6, 1, 0.65, Phase::Paused),
        ]);
        assert_eq!(
            asha.next(&six, &o, true),
            Next::Train {
                run_id: 6,
                until: 3
            }
        );
    }

    #[test]
    fn higher_rungs_promote_first_and_resumes_come_before_everything() {
        let asha = Asha {
            min_epochs: 1,
            reduction: 2,
        };
        let o = accuracy();
        let mut trials = vec![
            at(1, 1, 0.9, Phase::Paused),
            at(2, 1, 0.1, Phase::Settled),
            at(3, 2, 0.8, Phase::Paused),
            at(4, 2, 0.2, Phase::Settled),
        ];
        // Rung 2 (epochs 1, 2, 4, 8 with max 9): run 3 is the top half there.
        assert_eq!(
            asha.next(&trials, &o, true),
            Next::Train {
                run_id: 3,
                until: 4
            }
        );
        trials.push(TrialState {
            phase: Phase::Resumable,
            epochs_done: 0,
            ..at(7, 1, 0.0, Phase::Resumable)
        });
        trials[4].values.clear();
        assert_eq!(
            asha.next(&trials, &o, true),
            Next::Train {
                run_id: 7,
                until: 1
            }
        );
    }

    #[test]
    fn a_loss_objective_promotes_the_lowest() {
        let asha = Asha {
            min_epochs: 1,
            reduction: 2,
        };
        let loss = Objective {
            split: "val".into(),
            name: "loss".into(),
        };
        let trials = vec![at(1, 1, 0.9, Phase::Paused), at(2, 1, 0.3, Phase::Paused)];
        assert_eq!(
            asha.next(&trials, &loss, false),
            Next::Train {
                run_id: 2,
                until: 2
            }
        );
    }
}
