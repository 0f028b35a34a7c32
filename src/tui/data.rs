//! What the dashboard knows about each run: its row and its metric series, grown
//! incrementally from polled rows, plus the few figures the runs table derives from them.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::store::dashboard::RunBrief;
use crate::store::{MetricName, MetricRow, RunStatus, Scope, Split};

/// One run's state.
#[derive(Debug, Clone)]
pub struct RunData {
    pub brief: RunBrief,
    /// Swept key -> value.
    pub overrides: Map<String, Value>,
    /// Epoch-scope series by (split, name), sorted by epoch, one value per epoch.
    pub epochs: HashMap<(Split, MetricName), Vec<(usize, f64)>>,
    /// Step-scope train loss, sorted by step.
    pub train_steps: Vec<(u64, f64)>,
    pub derived: Derived,
    /// What was ingested, compared with the store's to notice deleted or re-logged rows.
    pub fingerprint: Fingerprint,
}

/// A run's metric rows in brief: how many (every kind) and the sum of their values. The
/// poller keeps the same for what it sent, so it can tell, on its own thread, whether the
/// dashboard's copy of a run still matches the store.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Fingerprint {
    pub rows: usize,
    pub sum: f64,
}

impl Fingerprint {
    pub fn add(&mut self, value: f64) {
        self.rows += 1;
        self.sum += value;
    }

    /// Whether the store's (count, sum of values) matches this.
    pub fn matches(&self, (count, sum): (usize, f64)) -> bool {
        count == self.rows && (sum - self.sum).abs() <= 1e-9 * sum.abs().max(1.0)
    }
}

/// Figures of the runs table, recomputed when the run's metrics change.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Derived {
    pub best_test: Option<f64>,
    pub last_test: Option<f64>,
    pub last_train_loss: Option<f64>,
    pub images_per_sec: Option<f64>,
    /// Mean epoch time x remaining epochs, for live runs only.
    pub eta_secs: Option<f64>,
}

impl RunData {
    pub fn new(brief: RunBrief) -> RunData {
        let overrides = serde_json::from_str(&brief.overrides_json).unwrap_or_default();
        let mut run = RunData {
            brief,
            overrides,
            epochs: HashMap::new(),
            train_steps: Vec::new(),
            derived: Derived::default(),
            fingerprint: Fingerprint::default(),
        };
        run.recompute();
        run
    }

    /// Takes a newer copy of the row.
    pub fn update_brief(&mut self, brief: RunBrief) {
        if brief.overrides_json != self.brief.overrides_json {
            self.overrides = serde_json::from_str(&brief.overrides_json).unwrap_or_default();
        }
        self.brief = brief;
        self.recompute();
    }

    /// Adds one polled row. A re-logged epoch (an interrupted attempt resumed) replaces the
    /// old value; a step at or before the last one seen restarts the step curve there.
    pub fn ingest(&mut self, m: &MetricRow) {
        self.fingerprint.add(m.value);
        match m.scope {
            Scope::Epoch => {
                let series = self.epochs.entry((m.split, m.name)).or_default();
                match series.binary_search_by_key(&m.epoch, |p| p.0) {
                    Ok(i) => series[i].1 = m.value,
                    Err(i) => series.insert(i, (m.epoch, m.value)),
                }
            }
            Scope::Step if m.split == Split::Train && m.name == MetricName::Loss => {
                let cut = self.train_steps.partition_point(|p| p.0 < m.step);
                self.train_steps.truncate(cut);
                self.train_steps.push((m.step, m.value));
            }
            Scope::Step => {}
        }
    }

    pub fn clear(&mut self) {
        self.epochs.clear();
        self.train_steps.clear();
        self.fingerprint = Fingerprint::default();
    }

    pub fn series(&self, split: Split, name: MetricName) -> &[(usize, f64)] {
        self.epochs.get(&(split, name)).map_or(&[], Vec::as_slice)
    }

    fn last(&self, split: Split, name: MetricName) -> Option<f64> {
        self.series(split, name).last().map(|p| p.1)
    }

    pub fn recompute(&mut self) {
        let test = self.series(Split::Test, MetricName::Accuracy);
        let best_test = test.iter().map(|p| p.1).reduce(f64::max);
        let secs = self.series(Split::Train, MetricName::EpochSeconds);
        let live = matches!(self.brief.status, RunStatus::Running | RunStatus::Queued);
        let remaining = self
            .brief
            .epochs_total
            .saturating_sub(self.brief.epochs_done);
        let eta_secs = (live && !secs.is_empty()).then(|| {
            let mean = secs.iter().map(|p| p.1).sum::<f64>() / secs.len() as f64;
            mean * remaining as f64
        });
        self.derived = Derived {
            best_test,
            last_test: self.last(Split::Test, MetricName::Accuracy),
            last_train_loss: self.last(Split::Train, MetricName::Loss),
            images_per_sec: self.last(Split::Train, MetricName::ImagesPerSec),
            eta_secs,
        };
    }

    /// `key=value` pairs of the overrides, for text filtering and labels.
    pub fn overrides_text(&self) -> String {
        self.overrides
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    super::format::short_key(k),
                    super::format::value(v)
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}
