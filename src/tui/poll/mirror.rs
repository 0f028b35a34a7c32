//! The poller's own record of what it has sent the dashboard: each run's row and the
//! fingerprint of its metric rows. The poller runs on its own thread and cannot look at the
//! dashboard's state; the dashboard applies every update in the order sent, so this record
//! matches its copy, and the poller decides from it what to read next.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::store::dashboard::RunBrief;
use crate::store::{MetricRow, PolledMetric, RunStatus};
use crate::tui::data::Fingerprint;

struct Known {
    brief: RunBrief,
    /// The override keys of the row, in the order the dashboard reads them.
    keys: Vec<String>,
    fingerprint: Fingerprint,
}

#[derive(Default)]
pub struct Mirror {
    runs: BTreeMap<i64, Known>,
}

fn override_keys(brief: &RunBrief) -> Vec<String> {
    serde_json::from_str::<Map<String, Value>>(&brief.overrides_json)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

impl Mirror {
    /// Takes a fresh read of the runs table as `App::apply_briefs` does. Returns whether
    /// any run was added, changed or removed, and the ids of the changed runs that were
    /// known before (their metrics may have changed under reused ids).
    pub fn apply_briefs(&mut self, briefs: &[RunBrief]) -> (bool, Vec<i64>) {
        let before = self.runs.len();
        let keep: std::collections::BTreeSet<i64> = briefs.iter().map(|b| b.id).collect();
        self.runs.retain(|id, _| keep.contains(id));
        let mut changed = self.runs.len() != before;
        let mut known = Vec::new();
        for b in briefs {
            match self.runs.get_mut(&b.id) {
                Some(k) if k.brief == *b => {}
                Some(k) => {
                    known.push(b.id);
                    k.keys = override_keys(b);
                    k.brief = b.clone();
                    changed = true;
                }
                None => {
                    let known = Known {
                        brief: b.clone(),
                        keys: override_keys(b),
                        fingerprint: Fingerprint::default(),
                    };
                    self.runs.insert(b.id, known);
                    changed = true;
                }
            }
        }
        (changed, known)
    }

    pub fn knows(&self, id: i64) -> bool {
        self.runs.contains_key(&id)
    }

    /// Counts metric rows sent for known runs (the dashboard drops the others).
    pub fn ingest(&mut self, rows: &[PolledMetric]) {
        for p in rows {
            if let Some(k) = self.runs.get_mut(&p.run_id) {
                k.fingerprint.add(p.metric.value);
            }
        }
    }

    /// A run's metrics sent again in full.
    pub fn reload(&mut self, id: i64, rows: &[MetricRow]) {
        if let Some(k) = self.runs.get_mut(&id) {
            k.fingerprint = Fingerprint::default();
            rows.iter().for_each(|m| k.fingerprint.add(m.value));
        }
    }

    pub fn fingerprint(&self, id: i64) -> Option<Fingerprint> {
        self.runs.get(&id).map(|k| k.fingerprint)
    }

    pub fn any_running(&self) -> bool {
        self.runs
            .values()
            .any(|k| k.brief.status == RunStatus::Running)
    }

    /// Runs per experiment: when this changes, the experiments' axes are read again.
    pub fn experiment_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for k in self.runs.values() {
            *counts.entry(k.brief.experiment.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// The override keys of an experiment's runs, in id order, each once.
    pub fn override_keys(&self, experiment: &str) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for k in self
            .runs
            .values()
            .filter(|k| k.brief.experiment == experiment)
        {
            for key in &k.keys {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
        }
        keys
    }
}
