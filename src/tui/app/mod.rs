//! Dashboard state. No drawing and no I/O here: the poller feeds it, keys change it,
//! views read it.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use ratatui::layout::Rect;

use super::data::RunData;
use super::editor::Editor;
use super::theme::Theme;
use crate::store::dashboard::RunBrief;
use crate::store::{PolledMetric, QueryResult, RunRow, RunStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Runs,
    Curves,
    Table,
    Experiments,
    Detail,
    Query,
}

impl View {
    pub const ALL: [View; 6] = [
        View::Runs,
        View::Curves,
        View::Table,
        View::Experiments,
        View::Detail,
        View::Query,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Runs => "Runs",
            View::Curves => "Curves",
            View::Table => "Table",
            View::Experiments => "Experiments",
            View::Detail => "Detail",
            View::Query => "Query",
        }
    }

    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// Where things are: the store, the experiment files, what to launch, where files go.
#[derive(Debug, Clone)]
pub struct Paths {
    pub db: PathBuf,
    pub experiments_dir: PathBuf,
    pub binary: PathBuf,
    /// Launch logs go here (`runs/launch-<name>-<time>.log`).
    pub runs_dir: PathBuf,
    /// Chart exports go here.
    pub charts_dir: PathBuf,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveKind {
    Loss,
    Accuracy,
    StepLoss,
}

impl CurveKind {
    pub const ALL: [CurveKind; 3] = [CurveKind::Loss, CurveKind::Accuracy, CurveKind::StepLoss];

    pub fn title(self) -> &'static str {
        match self {
            CurveKind::Loss => "loss / epoch",
            CurveKind::Accuracy => "accuracy / epoch",
            CurveKind::StepLoss => "train loss / step",
        }
    }

    /// Used in export file names.
    pub fn slug(self) -> &'static str {
        match self {
            CurveKind::Loss => "loss",
            CurveKind::Accuracy => "accuracy",
            CurveKind::StepLoss => "step-loss",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CurvesState {
    pub kind: CurveKind,
    pub smooth: bool,
    pub log_y: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TableState {
    /// Index into `App::experiments`.
    pub experiment: usize,
    pub row_axis: usize,
    /// Index into the axes, or `axes.len()` for "no column axis".
    pub col_axis: usize,
    /// Final instead of best test accuracy.
    pub final_acc: bool,
    pub scroll: usize,
}

/// An experiment known to the store and its sweep axes (file order, then any other keys).
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentInfo {
    pub name: String,
    pub axes: Vec<String>,
}

#[derive(Default)]
pub struct FilesState {
    pub files: Vec<PathBuf>,
    pub cursor: usize,
    /// The highlighted file's path and text, as last read.
    pub preview: Option<(PathBuf, String)>,
    pub editor: Option<Editor>,
    /// The "new experiment" name prompt, while open.
    pub naming: Option<String>,
    /// The editor has unsaved changes and the user asked to leave: the question
    /// (save / discard / keep editing) is on screen, and this is what happens after it.
    pub leaving: Option<Leave>,
}

/// What the user wanted when the unsaved-changes question came up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    /// Close the editor (Esc).
    Close,
    /// Quit the dashboard (q, Ctrl-C).
    Quit,
}

#[derive(Debug, Clone, Default)]
pub struct DetailState {
    pub run: Option<RunRow>,
    pub scroll: usize,
}

#[derive(Debug, Clone, Default)]
pub struct QueryState {
    pub input: String,
    pub focused: bool,
    pub result: Option<QueryResult>,
    pub error: Option<String>,
    pub row: usize,
    pub col: usize,
    /// The query on its worker thread, while it runs.
    pub running: Option<RunningQuery>,
    /// Why the last query has no result although nothing failed (it was cancelled).
    pub notice: Option<String>,
}

/// A query being run off the UI thread; the event loop keeps `elapsed` current.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningQuery {
    pub sql: String,
    pub elapsed: Duration,
}

/// Whether the store could be read.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreState {
    /// The file does not exist yet; polled until it does.
    Waiting,
    Open,
    Error(String),
}

pub struct App {
    pub paths: Paths,
    pub theme: Theme,
    pub view: View,
    pub help: bool,
    pub quit: bool,
    /// Last message for the status line, and whether it is an error.
    pub message: Option<(String, bool)>,
    pub store: StoreState,
    /// Runs by id order.
    pub runs: Vec<RunData>,
    pub by_id: HashMap<i64, usize>,
    /// Union of all runs' override keys, first-seen order.
    pub axes: Vec<String>,
    pub experiments: Vec<ExperimentInfo>,
    pub runs_view: RunsState,
    pub curves: CurvesState,
    pub table: TableState,
    pub files: FilesState,
    pub detail: DetailState,
    pub query: QueryState,
    /// The terminal size at the last draw, for mouse hit-testing.
    pub screen: Rect,
}

impl App {
    pub fn new(paths: Paths, theme: Theme) -> App {
        App {
            paths,
            theme,
            view: View::Runs,
            help: false,
            quit: false,
            message: None,
            store: StoreState::Waiting,
            runs: Vec::new(),
            by_id: HashMap::new(),
            axes: Vec::new(),
            experiments: Vec::new(),
            runs_view: RunsState::default(),
            curves: CurvesState {
                kind: CurveKind::Loss,
                smooth: false,
                log_y: false,
            },
            table: TableState {
                col_axis: 1,
                ..TableState::default()
            },
            files: FilesState::default(),
            detail: DetailState::default(),
            query: QueryState::default(),
            screen: Rect::new(0, 0, 80, 24),
        }
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.message = Some((text.into(), false));
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.message = Some((text.into(), true));
    }

    /// Merges a fresh read of the runs table; returns the ids of runs added, changed or
    /// removed (empty: nothing changed) and, among them, those that were known before.
    pub fn apply_briefs(&mut self, briefs: Vec<RunBrief>) -> (Vec<i64>, Vec<i64>) {
        let mut known = Vec::new();
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
                        known.push(b.id);
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
        (touched, known)
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

    pub fn set_experiments(&mut self, experiments: Vec<ExperimentInfo>) {
        self.experiments = experiments;
        let n = self.experiments.len();
        if self.table.experiment >= n {
            self.table.experiment = n.saturating_sub(1);
        }
        self.collect_axes();
    }

    /// The axes of the table view's experiment.
    pub fn table_axes(&self) -> &[String] {
        self.experiments
            .get(self.table.experiment)
            .map_or(&[], |e| e.axes.as_slice())
    }

    pub fn highlighted_file(&self) -> Option<&PathBuf> {
        self.files.files.get(self.files.cursor)
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
