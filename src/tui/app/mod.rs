//! Dashboard state. No drawing and no I/O here: the poller's updates feed it, keys change
//! it, views read it.
//!
//! The [`App`] root and what all views share live here; each view's own state lives in
//! the submodule named after it (like its keys in `keys` and its drawing in `views`), and
//! `ingest` merges what the poller read.

mod curves;
mod detail;
mod experiments;
mod ingest;
mod query;
mod runs;
mod table;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use ratatui::layout::Rect;

use super::data::RunData;
use super::theme::Theme;

pub use curves::{CurveKind, CurvesState};
pub use detail::DetailState;
pub use experiments::{FilesState, Leave};
pub use query::{QueryState, RunningQuery};
pub use runs::{Column, RunsState};
pub use table::{ImportanceInput, TableState};

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

/// An experiment known to the store and its sweep axes (file order, then any other keys).
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentInfo {
    pub name: String,
    pub axes: Vec<String>,
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
    /// How long the poller has been held up by the store (its lock, a migration), in whole
    /// seconds, once that is a second or more; the status line shows it ticking.
    pub store_busy: Option<Duration>,
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
            store_busy: None,
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
}
