//! State of the Table view: the experiment, its row and column axes, the metric, scroll, and
//! the importance ranking a worker computed for it.

use super::App;
use crate::report::importance::{Metric, Ranking, Trial};
use crate::store::{MetricName, RunStatus, Split};

#[derive(Debug, Clone, Default)]
pub struct TableState {
    /// Index into `App::experiments`.
    pub experiment: usize,
    pub row_axis: usize,
    /// Index into the axes, or `axes.len()` for "no column axis".
    pub col_axis: usize,
    /// Final instead of best test accuracy.
    pub final_acc: bool,
    /// Cells show the 95% interval instead of ± std.
    pub show_ci: bool,
    pub scroll: usize,
    /// The last ranking the worker finished, with the input it was computed from.
    pub importance: Option<(ImportanceInput, Ranking)>,
}

/// What the importance beside the table is computed from: when it changes, a worker
/// computes it again (`jobs`).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportanceInput {
    pub experiment: String,
    pub axes: Vec<String>,
    pub metric: Metric,
    pub trials: Vec<Trial>,
}

impl App {
    /// The axes of the table view's experiment.
    pub fn table_axes(&self) -> &[String] {
        self.experiments
            .get(self.table.experiment)
            .map_or(&[], |e| e.axes.as_slice())
    }

    /// The done trials of the table's experiment with their best validation accuracy where
    /// they have a validation split, else test accuracy (as `densenet-lab importance`).
    pub fn importance_input(&self) -> Option<ImportanceInput> {
        let exp = self.experiments.get(self.table.experiment)?;
        let done: Vec<_> = self
            .runs
            .iter()
            .filter(|r| r.brief.experiment == exp.name && r.brief.status == RunStatus::Done)
            .collect();
        let best = |m: Metric, r: &crate::tui::data::RunData| {
            r.epochs
                .get(&(m.split, m.name))
                .and_then(|s| m.best(s.iter().map(|p| p.1)))
        };
        let has_val = done
            .iter()
            .any(|r| r.epochs.contains_key(&(Split::Val, MetricName::Accuracy)));
        let metric = if has_val {
            Metric::VAL_ACCURACY
        } else {
            Metric::TEST_ACCURACY
        };
        let trials = done
            .iter()
            .filter_map(|r| {
                best(metric, r).map(|value| Trial {
                    overrides: r.overrides.clone(),
                    value,
                })
            })
            .collect();
        Some(ImportanceInput {
            experiment: exp.name.clone(),
            axes: exp.axes.clone(),
            metric,
            trials,
        })
    }
}
