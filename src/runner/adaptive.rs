//! Adaptive sweeps: trials drawn or proposed while the sweep runs (random over distributions,
//! TPE) and trials paused, promoted and pruned by early stopping (ASHA, the median rule).
//! Every decision is re-read from the store when a slot frees, so several `run`s on one store
//! share the sweep, and a sweep cut short continues where it was when the file is run again.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Result;
use serde_json::Value;

use super::gate::TrialGate;
use super::progress::Display;
use super::scheduler::{JobSource, Queued};
use crate::data::{self, Splits};
use crate::search::asha::{Asha, Next};
use crate::search::tpe::{self, Observation};
use crate::search::{Phase, TrialState};
use crate::spec::{DataConfig, Experiment, Objective, StopRule, Strategy, TrialConfig};
use crate::store::{PointRegistration, RunRow, RunStatus, Store};

/// Draws of one point tried before the sweep gives up on finding a config it has not run.
const MAX_ATTEMPTS: u64 = 200;

pub(super) struct AdaptiveSweep<'e> {
    experiment: &'e Experiment,
    data_dir: std::path::PathBuf,
    objective: Objective,
    asha: Option<Asha>,
    /// Runs this process started that have not ended.
    in_flight: HashSet<i64>,
    /// Runs that ended in this `run` without finishing or pausing (failed, stopped): not
    /// retried until the file is run again.
    ended_here: HashSet<i64>,
    /// Training-set sizes, for progress bars.
    train_sizes: Vec<(DataConfig, usize)>,
    /// No new point can be found (every draw was run before).
    space_exhausted: bool,
    /// The hashes of an enumerable sweep's trials, computed once (`trials()` resolves and
    /// hashes every point); `None` for a sampled sweep.
    trial_hashes: Option<HashSet<String>>,
}

/// How the runs of an adaptive sweep stand, for the progress lines and the summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RungReport {
    /// Per rung epoch: (reached, paused there now, promoted from it).
    pub rungs: BTreeMap<usize, (usize, usize, usize)>,
    pub epochs_trained: usize,
    pub epochs_full: usize,
}

impl<'e> AdaptiveSweep<'e> {
    /// `train_sizes`: the training-set sizes already known, by data config.
    pub(super) fn new(
        experiment: &'e Experiment,
        data_dir: &std::path::Path,
        train_sizes: Vec<(DataConfig, usize)>,
    ) -> Self {
        let sweep = &experiment.sweep;
        let asha = match sweep.early_stop.as_ref().map(|e| e.rule) {
            Some(StopRule::Asha {
                min_epochs,
                reduction,
            }) => Some(Asha {
                min_epochs,
                reduction,
            }),
            _ => None,
        };
        let objective = sweep.objective.clone().unwrap_or(Objective {
            split: "test".into(),
            name: "accuracy".into(),
        });
        AdaptiveSweep {
            experiment,
            data_dir: data_dir.to_path_buf(),
            objective,
            asha,
            in_flight: HashSet::new(),
            ended_here: HashSet::new(),
            train_sizes,
            space_exhausted: false,
            trial_hashes: sweep
                .is_enumerable()
                .then(|| experiment.trials().into_iter().map(|t| t.hash).collect()),
        }
    }

    /// The gate a trial trained to its end gets: the median rule's, or none.
    fn full_gate(&self) -> TrialGate {
        match self.experiment.sweep.early_stop.as_ref().map(|e| e.rule) {
            Some(StopRule::Median { warmup_epochs }) => TrialGate::Median {
                objective: self.objective.clone(),
                warmup_epochs,
            },
            _ => TrialGate::Open,
        }
    }

    /// The sweep's runs, in trial order: those of its trials (enumerable) or of its first
    /// `samples` points (sampled).
    fn runs(&self, store: &Store) -> Result<Vec<RunRow>> {
        let sweep = &self.experiment.sweep;
        let mut runs = store.runs(Some(&self.experiment.name))?;
        if let Some(hashes) = &self.trial_hashes {
            runs.retain(|r| hashes.contains(&r.hash));
        } else {
            let limit = sweep.point_count() * sweep.repeats;
            runs.retain(|r| r.trial_index < limit);
        }
        runs.sort_by_key(|r| r.trial_index);
        Ok(runs)
    }

    fn states(&self, store: &Store, runs: &[RunRow]) -> Result<Vec<TrialState>> {
        let mut values: HashMap<i64, BTreeMap<usize, f64>> = HashMap::new();
        for v in store.sweep_values(
            &self.experiment.name,
            &self.objective.split,
            &self.objective.name,
        )? {
            values.entry(v.run_id).or_default().insert(v.epoch, v.value);
        }
        Ok(runs
            .iter()
            .map(|r| TrialState {
                run_id: r.id,
                trial_index: r.trial_index,
                phase: self.phase(r),
                epochs_done: r.epochs_done,
                epochs_total: r.epochs_total,
                values: values.remove(&r.id).unwrap_or_default(),
            })
            .collect())
    }

    fn phase(&self, r: &RunRow) -> Phase {
        if self.in_flight.contains(&r.id) {
            return Phase::Running;
        }
        match r.status {
            RunStatus::Queued if r.epochs_done == 0 => Phase::Fresh,
            RunStatus::Running => Phase::Running,
            // Without rungs (the file no longer asks for ASHA) a paused run trains on.
            RunStatus::Paused if self.asha.is_some() => Phase::Paused,
            RunStatus::Queued
            | RunStatus::Paused
            | RunStatus::Stopped
            | RunStatus::Interrupted
            | RunStatus::Failed => {
                if self.ended_here.contains(&r.id) {
                    Phase::Settled
                } else {
                    Phase::Resumable
                }
            }
            RunStatus::Done | RunStatus::Diverged | RunStatus::Pruned => Phase::Settled,
        }
    }

    /// Points registered so far (each is `repeats` runs).
    fn points_registered(&self, runs: &[RunRow]) -> usize {
        let repeats = self.experiment.sweep.repeats;
        runs.iter()
            .map(|r| r.trial_index / repeats + 1)
            .max()
            .unwrap_or(0)
    }

    /// Draws (random) or proposes (TPE) the `point`-th point and registers its runs.
    fn register_new_point(
        &mut self,
        store: &mut Store,
        runs: &[RunRow],
        states: &[TrialState],
        point: usize,
    ) -> Result<()> {
        let sweep = &self.experiment.sweep;
        let (finished, pending) = self.observations(runs, states);
        for attempt in 0..MAX_ATTEMPTS {
            let overrides = match sweep.strategy {
                Strategy::Tpe { seed, startup, .. } if point >= startup && finished.len() >= 2 => {
                    let values =
                        tpe::propose(&sweep.axes, &finished, &pending, seed, point, attempt);
                    sweep
                        .axes
                        .iter()
                        .map(|a| a.key.clone())
                        .zip(values)
                        .collect()
                }
                _ if sweep.is_enumerable() => match sweep.enumerated_point(point) {
                    Some(o) => o,
                    None => break,
                },
                _ => sweep.draw(point, attempt),
            };
            let Ok(trials) = self.experiment.trials_at(point, &overrides) else {
                continue;
            };
            let e = self.experiment;
            match store.register_point(
                &e.name,
                &e.description,
                &e.path.to_string_lossy(),
                &e.source,
                &super::new_runs(&trials)?,
            )? {
                PointRegistration::Registered(_) | PointRegistration::IndexTaken => return Ok(()),
                PointRegistration::Duplicate => continue,
            }
        }
        self.space_exhausted = true;
        Ok(())
    }

    /// What TPE learns from: finished, pruned and paused runs (at the epoch they reached), and
    /// the axis values of the runs still to finish (the constant liar's pending points).
    fn observations(
        &self,
        runs: &[RunRow],
        states: &[TrialState],
    ) -> (Vec<Observation>, Vec<Vec<Value>>) {
        let axes = &self.experiment.sweep.axes;
        let params = |r: &RunRow| -> Option<Vec<Value>> {
            let o: serde_json::Map<String, Value> = serde_json::from_str(&r.overrides_json).ok()?;
            axes.iter().map(|a| o.get(&a.key).cloned()).collect()
        };
        let mut finished = Vec::new();
        let mut pending = Vec::new();
        for (r, state) in runs.iter().zip(states) {
            let Some(p) = params(r) else { continue };
            let last = state.values.last_key_value().map(|(_, v)| *v);
            match (r.status, last) {
                (RunStatus::Done | RunStatus::Pruned | RunStatus::Paused, Some(v)) => finished
                    .push(Observation {
                        params: p,
                        epochs: r.epochs_done,
                        score: if self.objective.maximize() { v } else { -v },
                    }),
                (RunStatus::Diverged | RunStatus::Failed, _) => {}
                _ => pending.push(p),
            }
        }
        (finished, pending)
    }

    fn train_size(&mut self, config: &TrialConfig) -> Result<usize> {
        if let Some((_, n)) = self.train_sizes.iter().find(|(d, _)| *d == config.data) {
            return Ok(*n);
        }
        let splits: Splits = data::load(&config.data, &self.data_dir)?;
        self.train_sizes
            .push((config.data.clone(), splits.train.len()));
        Ok(splits.train.len())
    }

    fn job(&mut self, run: &RunRow, until: usize) -> Result<Queued> {
        let config: TrialConfig = serde_json::from_str(&run.config_json)?;
        let steps = self.train_size(&config)?.div_ceil(config.train.batch_size) * until;
        let gate = if until < run.epochs_total {
            TrialGate::PauseAt(until)
        } else {
            self.full_gate()
        };
        self.in_flight.insert(run.id);
        Ok(Queued {
            run_id: run.id,
            trial_index: run.trial_index,
            total_steps: steps as u64,
            gate,
        })
    }

    /// The rungs as they stand, and the epochs trained against training every trial fully.
    pub(super) fn report(&self, store: &Store) -> Result<RungReport> {
        let runs = self.runs(store)?;
        let states = self.states(store, &runs)?;
        let mut report = RungReport {
            epochs_trained: runs.iter().map(|r| r.epochs_done).sum(),
            epochs_full: self.experiment.sweep.point_count()
                * self.experiment.sweep.repeats
                * self.experiment.base.train.epochs,
            ..RungReport::default()
        };
        if let Some(asha) = &self.asha {
            for t in &states {
                let mut rungs = asha.rungs_of(t);
                rungs.pop();
                for r in rungs.into_iter().filter(|r| t.epochs_done >= *r) {
                    let entry = report.rungs.entry(r).or_default();
                    entry.0 += 1;
                    if t.phase == Phase::Paused && t.epochs_done == r {
                        entry.1 += 1;
                    }
                    if t.epochs_done > r || (t.phase == Phase::Running && t.epochs_done == r) {
                        entry.2 += 1;
                    }
                }
            }
        }
        Ok(report)
    }
}

impl RungReport {
    /// `rungs: epoch 1: 12 reached, 8 paused, 4 promoted; epoch 3: ... | budget: 26 of 108
    /// epochs (24%)`.
    pub fn line(&self) -> String {
        let rungs: Vec<String> = self
            .rungs
            .iter()
            .map(|(epoch, (reached, paused, promoted))| {
                format!("epoch {epoch}: {reached} reached, {paused} paused, {promoted} promoted")
            })
            .collect();
        let share = 100.0 * self.epochs_trained as f64 / self.epochs_full.max(1) as f64;
        let budget = format!(
            "budget: {} of {} epochs ({share:.0}%)",
            self.epochs_trained, self.epochs_full
        );
        if rungs.is_empty() {
            budget
        } else {
            format!("rungs: {} | {budget}", rungs.join("; "))
        }
    }
}

impl JobSource for AdaptiveSweep<'_> {
    fn next(&mut self, store: &mut Store, display: &Display) -> Result<Option<Queued>> {
        loop {
            let runs = self.runs(store)?;
            let states = self.states(store, &runs)?;
            let sweep = &self.experiment.sweep;
            let more_points = !sweep.is_enumerable()
                && !self.space_exhausted
                && self.points_registered(&runs) < sweep.point_count();
            let next = match &self.asha {
                Some(asha) => asha.next(&states, &self.objective, more_points),
                None => straight_through(&states, more_points),
            };
            match next {
                Next::Train { run_id, until } => {
                    let run = runs
                        .iter()
                        .find(|r| r.id == run_id)
                        .expect("a run of the sweep");
                    return self.job(run, until).map(Some);
                }
                Next::StartNew => {
                    let point = self.points_registered(&runs);
                    self.register_new_point(store, &runs, &states, point)?;
                }
                Next::Wait => return Ok(None),
                Next::Finished => {
                    // The count is the summary's, read from the store once the sweep ends.
                    if self.asha.is_some() && store.prune_paused(&self.experiment.name)? > 0 {
                        display.message("sweep over: the paused trials never promoted are pruned");
                    }
                    return Ok(None);
                }
            }
        }
    }

    fn held_elsewhere(&mut self, q: Queued) {
        // Not ours in flight: the store's `running` says where it stands from now on.
        self.in_flight.remove(&q.run_id);
    }

    fn sweep_runs(&self, store: &Store) -> Result<Vec<i64>> {
        Ok(self.runs(store)?.iter().map(|r| r.id).collect())
    }

    fn ended(&mut self, store: &Store, run_id: i64, display: &Display) -> Result<()> {
        self.in_flight.remove(&run_id);
        // Only an outcome of this attempt: a run another process claimed meanwhile (it is
        // `running` again) is that process's, and taken over if it dies.
        let status = store.run(run_id)?.map(|r| r.status);
        if matches!(
            status,
            Some(RunStatus::Failed | RunStatus::Stopped | RunStatus::Interrupted)
        ) {
            self.ended_here.insert(run_id);
        }
        display.message(&self.report(store)?.line());
        Ok(())
    }
}

/// Without ASHA: resume what was cut short, start registered trials, then new points.
fn straight_through(states: &[TrialState], more_points: bool) -> Next {
    let first = |phase: Phase| {
        states
            .iter()
            .filter(|t| t.phase == phase)
            .min_by_key(|t| t.trial_index)
    };
    if let Some(t) = first(Phase::Resumable).or_else(|| first(Phase::Fresh)) {
        return Next::Train {
            run_id: t.run_id,
            until: t.epochs_total,
        };
    }
    if more_points {
        Next::StartNew
    } else if states.iter().any(|t| t.phase == Phase::Running) {
        Next::Wait
    } else {
        Next::Finished
    }
}
