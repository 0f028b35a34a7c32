//! State of the Runs view: the columns, the sort, the filters and the selection, and
//! the filtered, sorted list of visible runs they produce (which other views read too:
//! the highlighted run, the plotted runs).

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::App;
use crate::store::RunStatus;
use crate::tui::data::RunData;

/// A column of the runs table; sorting works on any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Id,
    Experiment,
    Status,
    Axis(String),
    Epoch,
    Best,
    Last,
    Loss,
    Speed,
    Eta,
}

#[derive(Debug, Clone, Default)]
pub struct RunsState {
    /// Position in `visible`.
    pub cursor: usize,
    pub sort: Option<Column>,
    pub descending: bool,
    pub filter: String,
    /// The `/` prompt has the keyboard.
    pub filtering: bool,
    pub status_filter: Option<RunStatus>,
    /// Selected run ids.
    pub selected: BTreeSet<i64>,
    /// Indices into `App::runs` after filter and sort.
    pub visible: Vec<usize>,
}

impl App {
    /// The runs table's columns, in display order.
    pub fn columns(&self) -> Vec<Column> {
        let mut cols = vec![Column::Id, Column::Experiment, Column::Status];
        cols.extend(self.axes.iter().cloned().map(Column::Axis));
        cols.extend([
            Column::Epoch,
            Column::Best,
            Column::Last,
            Column::Loss,
            Column::Speed,
            Column::Eta,
        ]);
        cols
    }

    fn matches(&self, r: &RunData) -> bool {
        let rv = &self.runs_view;
        if rv.status_filter.is_some_and(|s| s != r.brief.status) {
            return false;
        }
        if rv.filter.is_empty() {
            return true;
        }
        let needle = rv.filter.to_lowercase();
        let hay = format!(
            "{} {} {} {}",
            r.brief.id,
            r.brief.experiment,
            r.brief.status,
            r.overrides_text()
        )
        .to_lowercase();
        needle.split_whitespace().all(|w| hay.contains(w))
    }

    /// Recomputes the filtered, sorted list, keeping the cursor on the same run if visible.
    pub fn refresh_visible(&mut self) {
        let current = self.highlighted_id();
        let mut visible: Vec<usize> = (0..self.runs.len())
            .filter(|&i| self.matches(&self.runs[i]))
            .collect();
        if let Some(col) = &self.runs_view.sort {
            visible.sort_by(|&a, &b| compare(&self.runs[a], &self.runs[b], col));
            if self.runs_view.descending {
                visible.reverse();
            }
        } else if self.runs_view.descending {
            visible.reverse();
        }
        self.runs_view.visible = visible;
        let pos = current.and_then(|id| {
            self.runs_view
                .visible
                .iter()
                .position(|&i| self.runs[i].brief.id == id)
        });
        let max = self.runs_view.visible.len().saturating_sub(1);
        self.runs_view.cursor = pos.unwrap_or(self.runs_view.cursor).min(max);
    }

    /// The run under the cursor in the runs table.
    pub fn highlighted(&self) -> Option<&RunData> {
        let i = *self.runs_view.visible.get(self.runs_view.cursor)?;
        self.runs.get(i)
    }

    pub fn highlighted_id(&self) -> Option<i64> {
        self.highlighted().map(|r| r.brief.id)
    }

    /// The runs the curves view plots: the selection (id order), else the highlighted run.
    pub fn plotted(&self) -> Vec<&RunData> {
        if self.runs_view.selected.is_empty() {
            self.highlighted().into_iter().collect()
        } else {
            self.runs_view
                .selected
                .iter()
                .filter_map(|id| self.by_id.get(id).map(|&i| &self.runs[i]))
                .collect()
        }
    }
}

fn cmp_opt<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

fn cmp_json(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> Ordering {
    match (a.and_then(|v| v.as_f64()), b.and_then(|v| v.as_f64())) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => {
            let s = |v: Option<&serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
            s(a).cmp(&s(b))
        }
    }
}

/// Ascending order of two runs by one column; ties fall back to the run id.
fn compare(a: &RunData, b: &RunData, col: &Column) -> Ordering {
    let (da, db) = (&a.derived, &b.derived);
    let primary = match col {
        Column::Id => Ordering::Equal,
        Column::Experiment => a.brief.experiment.cmp(&b.brief.experiment),
        Column::Status => a.brief.status.as_str().cmp(b.brief.status.as_str()),
        Column::Axis(k) => cmp_json(a.overrides.get(k), b.overrides.get(k)),
        Column::Epoch => a.brief.epochs_done.cmp(&b.brief.epochs_done),
        Column::Best => cmp_opt(da.best_test, db.best_test),
        Column::Last => cmp_opt(da.last_test, db.last_test),
        Column::Loss => cmp_opt(da.last_train_loss, db.last_train_loss),
        Column::Speed => cmp_opt(da.images_per_sec, db.images_per_sec),
        Column::Eta => cmp_opt(da.eta_secs, db.eta_secs),
    };
    primary.then(a.brief.id.cmp(&b.brief.id))
}
