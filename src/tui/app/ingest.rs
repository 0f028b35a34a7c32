//! Merging what the poller read from the store (runs, metric rows, experiments) into the
//! state, keeping the id index and the union of sweep axes current.

use std::collections::BTreeSet;

use super::{App, ExperimentInfo};
use crate::store::dashboard::RunBrief;
use crate::store::{MetricRow, PolledMetric};
use crate::tui::data::RunData;

impl App {
    /// Merges a fresh read of the runs table; returns whether a run was added, changed or
    /// removed.
    pub fn apply_briefs(&mut self, briefs: Vec<RunBrief>) -> bool {
        let mut touched = Vec::new();
        let keep: BTreeSet<i64> = briefs.iter().map(|b| b.id).collect();
        if self.runs.iter().any(|r| !keep.contains(&r.brief.id)) {
            touched.extend(
                self.runs
                    .iter()
                    .map(|r| r.brief.id)
                    .filter(|id| !keep.contains(id)),
            );
            self.runs.retain(|r| keep.contains(&r.brief.id));
            self.reindex();
        }
        for b in briefs {
            match self.by_id.get(&b.id).copied() {
                Some(i) if i < self.runs.len() && self.runs[i].brief.id == b.id => {
                    if self.runs[i].brief != b {
                        touched.push(b.id);
                        self.runs[i].update_brief(b);
                    }
                }
                _ => {
                    touched.push(b.id);
                    let pos = self.runs.partition_point(|r| r.brief.id < b.id);
                    self.runs.insert(pos, RunData::new(b));
                    self.reindex();
                }
            }
        }
        if !touched.is_empty() {
            self.reindex();
            self.collect_axes();
            self.refresh_visible();
        }
        !touched.is_empty()
    }

    /// Adds polled metric rows (rows of unknown runs are dropped: the next runs read adds
    /// the run, and the poller only advances past rows it could place).
    pub fn apply_metrics(&mut self, rows: &[PolledMetric]) {
        let mut touched = BTreeSet::new();
        for p in rows {
            if let Some(&i) = self.by_id.get(&p.run_id) {
                self.runs[i].ingest(&p.metric);
                touched.insert(i);
            }
        }
        for i in &touched {
            self.runs[*i].recompute();
        }
        if !touched.is_empty() {
            self.refresh_visible();
        }
    }

    /// Replaces the metrics of runs the poller read again in full (their rows changed under
    /// reused ids).
    pub fn reload_runs(&mut self, runs: Vec<(i64, Vec<MetricRow>)>) {
        for (id, rows) in runs {
            if let Some(&i) = self.by_id.get(&id) {
                let r = &mut self.runs[i];
                r.clear();
                rows.iter().for_each(|m| r.ingest(m));
                r.recompute();
            }
        }
        self.refresh_visible();
    }

    fn reindex(&mut self) {
        self.by_id = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.brief.id, i))
            .collect();
    }

    /// Sweep axes in file order (experiments first seen first), then any other override key.
    fn collect_axes(&mut self) {
        let mut axes: Vec<String> = Vec::new();
        for k in self.experiments.iter().flat_map(|e| e.axes.iter()) {
            if !axes.contains(k) {
                axes.push(k.clone());
            }
        }
        for k in &self.axes {
            if !axes.contains(k) {
                axes.push(k.clone());
            }
        }
        self.axes = axes;
        for r in &self.runs {
            for k in r.overrides.keys() {
                if !self.axes.contains(k) {
                    self.axes.push(k.clone());
                }
            }
        }
    }

    pub fn set_experiments(&mut self, experiments: Vec<ExperimentInfo>) {
        self.experiments = experiments;
        let n = self.experiments.len();
        if self.table.experiment >= n {
            self.table.experiment = n.saturating_sub(1);
        }
        self.collect_axes();
    }
}
