//! Incremental loading from the store: a cheap change check (`PRAGMA data_version`), the
//! runs table re-read only after a change, and metric rows after the largest id seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::app::{App, ExperimentInfo, StoreState, View};
use crate::spec::parse_experiment;
use crate::store::{RunStatus, Store, StoreError};

/// Metric rows per read; a first load of a big store takes several polls of at most
/// `BUDGET` each, so the screen stays responsive meanwhile.
pub const BATCH: usize = 20_000;
const BUDGET: Duration = Duration::from_millis(150);
/// How often the runs table is re-read while a run is live, even without writes.
const STATUS_EVERY: Duration = Duration::from_secs(5);
/// Runs that changed are compared with the store (row count and value sum) at most this
/// often, or at once when the newest rows were deleted.
const RECONCILE_EVERY: Duration = Duration::from_secs(5);
/// How often the experiments folder is listed again.
const FILES_EVERY: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct Poller {
    store: Option<Store>,
    version: Option<i64>,
    max_id: i64,
    caught_up: bool,
    exp_counts: BTreeMap<String, usize>,
    briefs_at: Option<Instant>,
    /// Runs whose row or metrics changed since the last reconcile.
    check: BTreeSet<i64>,
    reconciled_at: Option<Instant>,
    reconcile_every: Duration,
    files_at: Option<Instant>,
}

impl Poller {
    pub fn new() -> Poller {
        Poller {
            reconcile_every: RECONCILE_EVERY,
            ..Poller::default()
        }
    }

    /// Changes how often changed runs are compared with the store (tests use zero).
    pub fn set_reconcile_every(&mut self, every: Duration) {
        self.reconcile_every = every;
    }

    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// The largest metric id loaded so far.
    pub fn max_id(&self) -> i64 {
        self.max_id
    }

    /// One poll: opens the store once it exists, then loads what changed. Returns whether
    /// the app changed (and so needs a redraw).
    pub fn poll(&mut self, app: &mut App) -> bool {
        let mut changed = self.scan_files(app);
        if self.store.is_none() {
            let next = if !app.paths.db.exists() {
                StoreState::Waiting
            } else {
                match Store::open_for_reading(&app.paths.db) {
                    Ok(s) => {
                        self.store = Some(s);
                        StoreState::Open
                    }
                    Err(e) => StoreState::Error(format!("cannot open the store: {e}")),
                }
            };
            if app.store != next {
                app.store = next;
                changed = true;
            }
        }
        if self.store.is_some() {
            match self.load(app) {
                Ok(c) => {
                    changed |= c;
                    if app.store != StoreState::Open {
                        app.store = StoreState::Open;
                        changed = true;
                    }
                }
                Err(e) => {
                    app.store = StoreState::Error(format!("reading the store: {e}"));
                    changed = true;
                }
            }
        }
        changed | self.sync(app)
    }

    fn load(&mut self, app: &mut App) -> Result<bool, StoreError> {
        let Some(store) = &self.store else {
            return Ok(false);
        };
        let v = store.data_version()?;
        // A running run turns `interrupted` when its heartbeat gets old, without any write.
        let status_due = app
            .runs
            .iter()
            .any(|r| r.brief.status == RunStatus::Running)
            && self.briefs_at.is_none_or(|t| t.elapsed() >= STATUS_EVERY);
        let reconcile_due = !self.check.is_empty()
            && self
                .reconciled_at
                .is_none_or(|t| t.elapsed() >= RECONCILE_EVERY);
        if self.version == Some(v) && self.caught_up && !status_due && !reconcile_due {
            return Ok(false);
        }
        self.version = Some(v);
        self.briefs_at = Some(Instant::now());
        let (mark, caught_up, check) = (&mut self.max_id, &mut self.caught_up, &mut self.check);
        let (reconciled_at, every) = (&mut self.reconciled_at, self.reconcile_every);
        let mut changed = store.read_snapshot(|s| {
            // A run whose process is dead reads as `interrupted` (the dashboard never writes).
            let mut briefs = s.run_briefs()?;
            let dead = crate::runner::dead_runs(s)?;
            for b in briefs.iter_mut().filter(|b| dead.contains(&b.id)) {
                if b.status == RunStatus::Running {
                    b.status = RunStatus::Interrupted;
                }
            }
            let (touched, known) = app.apply_briefs(briefs);
            let mut changed = !touched.is_empty();
            check.extend(known);
            // The newest rows were deleted (a reset or rewound run): their ids come back.
            let top = s.max_metric_id()?;
            let urgent = top < *mark;
            *mark = (*mark).min(top);
            let start = Instant::now();
            *caught_up = false;
            loop {
                let rows = s.metrics_after(*mark, None, BATCH)?;
                let full = rows.len() == BATCH;
                // Rows of a run registered after the runs read wait for the next poll.
                let known = rows
                    .iter()
                    .position(|r| !app.by_id.contains_key(&r.run_id))
                    .unwrap_or(rows.len());
                if let Some(last) = rows[..known].last() {
                    *mark = last.id;
                    app.apply_metrics(&rows[..known]);
                    check.extend(
                        rows[..known]
                            .chunk_by(|a, b| a.run_id == b.run_id)
                            .map(|c| c[0].run_id),
                    );
                    changed = true;
                }
                if known < rows.len() {
                    break;
                }
                if !full {
                    *caught_up = true;
                    break;
                }
                if start.elapsed() > BUDGET {
                    break;
                }
            }
            let due = urgent || reconciled_at.is_none_or(|t| t.elapsed() >= every);
            if *caught_up && due && !check.is_empty() {
                changed |= reconcile(s, app, std::mem::take(check))?;
                *reconciled_at = Some(Instant::now());
            }
            Ok(changed)
        })?;
        changed |= self.refresh_experiments(app)?;
        Ok(changed)
    }

    /// Re-reads experiment axes when an experiment's set of runs changed.
    fn refresh_experiments(&mut self, app: &mut App) -> Result<bool, StoreError> {
        let mut counts = BTreeMap::new();
        for r in &app.runs {
            *counts.entry(r.brief.experiment.clone()).or_insert(0) += 1;
        }
        if counts == self.exp_counts {
            return Ok(false);
        }
        let Some(store) = &self.store else {
            return Ok(false);
        };
        let mut infos = Vec::new();
        for name in store.experiment_names()? {
            let mut axes: Vec<String> = store
                .experiment_source(&name)?
                .and_then(|(path, src)| parse_experiment(&src, &PathBuf::from(path)).ok())
                .map(|e| e.sweep.axes.iter().map(|a| a.key.clone()).collect())
                .unwrap_or_default();
            for r in app.runs.iter().filter(|r| r.brief.experiment == name) {
                for k in r.overrides.keys() {
                    if !axes.contains(k) {
                        axes.push(k.clone());
                    }
                }
            }
            infos.push(ExperimentInfo { name, axes });
        }
        app.set_experiments(infos);
        self.exp_counts = counts;
        Ok(true)
    }

    /// Lists the experiments folder every few seconds.
    fn scan_files(&mut self, app: &mut App) -> bool {
        if self.files_at.is_some_and(|t| t.elapsed() < FILES_EVERY) {
            return false;
        }
        self.files_at = Some(Instant::now());
        rescan_files(app)
    }

    /// Loads what the current view needs and does not have yet: the highlighted file's
    /// text, the highlighted run's full row. Cheap when nothing is missing.
    pub fn sync(&mut self, app: &mut App) -> bool {
        let mut changed = false;
        if app.view == View::Experiments
            && let Some(path) = app.highlighted_file().cloned()
            && app.files.preview.as_ref().is_none_or(|p| p.0 != path)
        {
            let text = super::actions::read_experiment_file(&path)
                .unwrap_or_else(|e| format!("cannot read {}: {e}", path.display()));
            app.files.preview = Some((path, text));
            changed = true;
        }
        if app.view == View::Detail
            && let (Some(id), Some(store)) = (app.highlighted_id(), &self.store)
            && app.detail.run.as_ref().is_none_or(|r| r.id != id)
        {
            app.detail.run = store.run(id).ok().flatten();
            app.detail.ran = store.where_ran(id).ok().flatten();
            app.detail.scroll = 0;
            changed = true;
        }
        changed
    }
}

/// Catches rows that incremental polling cannot see: metric ids are rowids, so after rows
/// were deleted (a reset or rewound run, a re-logged epoch) new rows can get ids at or
/// below the mark. A run whose fingerprint in the store (row count, value sum) differs
/// from what was ingested is read again in full. Runs inside the caller's snapshot, after
/// catching up, for runs seen before whose row changed (every write moves the heartbeat).
fn reconcile(s: &Store, app: &mut App, runs: BTreeSet<i64>) -> Result<bool, StoreError> {
    let mut changed = false;
    for id in runs {
        let Some(&i) = app.by_id.get(&id) else {
            continue;
        };
        if app.runs[i].matches_fingerprint(s.metric_fingerprint(id)?) {
            continue;
        }
        let rows = s.metrics_with_ids(id)?;
        let r = &mut app.runs[i];
        r.clear();
        rows.iter().for_each(|(_, m)| r.ingest(m));
        r.recompute();
        changed = true;
    }
    if changed {
        app.refresh_visible();
    }
    Ok(changed)
}

/// Lists `*.toml` in the experiments folder (sorted); returns whether the list changed.
pub fn rescan_files(app: &mut App) -> bool {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&app.paths.experiments_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files == app.files.files {
        return false;
    }
    app.files.files = files;
    app.files.cursor = app
        .files
        .cursor
        .min(app.files.files.len().saturating_sub(1));
    true
}
