//! The dashboard's store reader: a cheap change check (`PRAGMA data_version`), the runs
//! table re-read only after a change, and metric rows after the largest id seen. It owns
//! the read-only connection and runs on its own thread (see `feed`); what it reads leaves
//! as [`Update`]s, so a slow, migrating or locked store holds up its data, never the screen.

mod mirror;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::app::{ExperimentInfo, StoreState};
use super::update::{DetailRow, Update};
use crate::spec::parse_experiment;
use crate::store::{MetricRow, RunStatus, Store, StoreError};
use mirror::Mirror;

/// Metric rows per read; a first load of a big store takes several polls of at most
/// `BUDGET` each, so that detail requests are answered meanwhile.
pub const BATCH: usize = 20_000;
const BUDGET: Duration = Duration::from_millis(150);
/// How often the runs table is re-read while a run is live, even without writes.
const STATUS_EVERY: Duration = Duration::from_secs(5);
/// Runs that changed are compared with the store (row count and value sum) at most this
/// often, or at once when the newest rows were deleted.
const RECONCILE_EVERY: Duration = Duration::from_secs(5);

/// How a poll ended, for the dashboard's "store busy" clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// The store was read, or there was nothing to read (no file yet, a broken file).
    Done,
    /// Another connection held the store's lock past the busy timeout.
    Locked,
}

pub struct Poller {
    db: PathBuf,
    store: Option<Store>,
    /// The state last sent.
    state: Option<StoreState>,
    version: Option<i64>,
    max_id: i64,
    caught_up: bool,
    exp_counts: BTreeMap<String, usize>,
    briefs_at: Option<Instant>,
    /// Runs whose row or metrics changed since the last reconcile.
    check: BTreeSet<i64>,
    reconciled_at: Option<Instant>,
    reconcile_every: Duration,
    mirror: Mirror,
}

impl Poller {
    pub fn new(db: &Path) -> Poller {
        Poller {
            db: db.to_owned(),
            store: None,
            state: None,
            version: None,
            max_id: 0,
            caught_up: false,
            exp_counts: BTreeMap::new(),
            briefs_at: None,
            check: BTreeSet::new(),
            reconciled_at: None,
            reconcile_every: RECONCILE_EVERY,
            mirror: Mirror::default(),
        }
    }

    /// Changes how often changed runs are compared with the store (tests use zero).
    pub fn set_reconcile_every(&mut self, every: Duration) {
        self.reconcile_every = every;
    }

    /// The largest metric id sent so far.
    pub fn max_id(&self) -> i64 {
        self.max_id
    }

    /// One poll: opens the store once it exists, then reads what changed and hands it to
    /// `out`, in the order the dashboard must apply it.
    pub fn poll(&mut self, out: &mut dyn FnMut(Update)) -> Round {
        let mut round = Round::Done;
        if self.store.is_none() {
            let next = if !self.db.exists() {
                StoreState::Waiting
            } else {
                match Store::open_for_reading(&self.db) {
                    Ok(s) => {
                        self.store = Some(s);
                        StoreState::Open
                    }
                    Err(e) => {
                        round = locked_if_busy(&e);
                        StoreState::Error(format!("cannot open the store: {e}"))
                    }
                }
            };
            self.set_state(next, out);
        }
        if self.store.is_some() {
            match self.load(out) {
                Ok(()) => self.set_state(StoreState::Open, out),
                Err(e) => {
                    round = locked_if_busy(&e);
                    self.set_state(StoreState::Error(format!("reading the store: {e}")), out);
                }
            }
        }
        round
    }

    fn set_state(&mut self, next: StoreState, out: &mut dyn FnMut(Update)) {
        if self.state.as_ref() != Some(&next) {
            self.state = Some(next.clone());
            out(Update::Store(next));
        }
    }

    /// The full row of run `id` and where it ran, for the Detail view.
    pub fn detail(&self, id: i64) -> Update {
        let store = self.store.as_ref();
        Update::Detail(Box::new(DetailRow {
            id,
            run: store.and_then(|s| s.run(id).ok().flatten()),
            ran: store.and_then(|s| s.where_ran(id).ok().flatten()),
        }))
    }

    fn load(&mut self, out: &mut dyn FnMut(Update)) -> Result<(), StoreError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let v = store.data_version()?;
        // A running run turns `interrupted` when its heartbeat gets old, without any write.
        let status_due =
            self.mirror.any_running() && self.briefs_at.is_none_or(|t| t.elapsed() >= STATUS_EVERY);
        let reconcile_due = !self.check.is_empty()
            && self
                .reconciled_at
                .is_none_or(|t| t.elapsed() >= RECONCILE_EVERY);
        if self.version == Some(v) && self.caught_up && !status_due && !reconcile_due {
            return Ok(());
        }
        self.version = Some(v);
        self.briefs_at = Some(Instant::now());
        let (mark, caught_up, check) = (&mut self.max_id, &mut self.caught_up, &mut self.check);
        let (reconciled_at, every) = (&mut self.reconciled_at, self.reconcile_every);
        let mirror = &mut self.mirror;
        store.read_snapshot(|s| {
            // A run whose process is dead reads as `interrupted` (the dashboard never writes).
            let mut briefs = s.run_briefs()?;
            let dead = crate::runner::dead_runs(s)?;
            for b in briefs.iter_mut().filter(|b| dead.contains(&b.id)) {
                if b.status == RunStatus::Running {
                    b.status = RunStatus::Interrupted;
                }
            }
            let (changed, known) = mirror.apply_briefs(&briefs);
            if changed {
                out(Update::Briefs(briefs));
            }
            check.extend(known);
            // The newest rows were deleted (a reset or rewound run): their ids come back.
            let top = s.max_metric_id()?;
            let urgent = top < *mark;
            *mark = (*mark).min(top);
            let start = Instant::now();
            *caught_up = false;
            loop {
                let mut rows = s.metrics_after(*mark, None, BATCH)?;
                let full = rows.len() == BATCH;
                // Rows of a run registered after the runs read wait for the next poll.
                let known = rows
                    .iter()
                    .position(|r| !mirror.knows(r.run_id))
                    .unwrap_or(rows.len());
                let rest = rows.split_off(known);
                if let Some(last) = rows.last() {
                    *mark = last.id;
                    check.extend(
                        rows.chunk_by(|a, b| a.run_id == b.run_id)
                            .map(|c| c[0].run_id),
                    );
                    mirror.ingest(&rows);
                    out(Update::Metrics(rows));
                }
                if !rest.is_empty() {
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
                let reloaded = reconcile(s, mirror, std::mem::take(check))?;
                if !reloaded.is_empty() {
                    out(Update::Reloaded(reloaded));
                }
                *reconciled_at = Some(Instant::now());
            }
            Ok(())
        })?;
        self.refresh_experiments(out)
    }

    /// Re-reads experiment axes when an experiment's set of runs changed.
    fn refresh_experiments(&mut self, out: &mut dyn FnMut(Update)) -> Result<(), StoreError> {
        let counts = self.mirror.experiment_counts();
        if counts == self.exp_counts {
            return Ok(());
        }
        let Some(store) = &self.store else {
            return Ok(());
        };
        let mut infos = Vec::new();
        for name in store.experiment_names()? {
            let mut axes: Vec<String> = store
                .experiment_source(&name)?
                .and_then(|(path, src)| parse_experiment(&src, &PathBuf::from(path)).ok())
                .map(|e| e.sweep.axes.iter().map(|a| a.key.clone()).collect())
                .unwrap_or_default();
            for k in self.mirror.override_keys(&name) {
                if !axes.contains(&k) {
                    axes.push(k);
                }
            }
            infos.push(ExperimentInfo { name, axes });
        }
        out(Update::Experiments(infos));
        self.exp_counts = counts;
        Ok(())
    }
}

fn locked_if_busy(e: &StoreError) -> Round {
    if e.is_busy() {
        Round::Locked
    } else {
        Round::Done
    }
}

/// Catches rows that incremental polling cannot see: metric ids are rowids, so after rows
/// were deleted (a reset or rewound run, a re-logged epoch) new rows can get ids at or
/// below the mark. A run whose fingerprint in the store (row count, value sum) differs
/// from what was ingested is read again in full. Runs inside the caller's snapshot, after
/// catching up, for runs seen before whose row changed (every write moves the heartbeat).
/// Returns the runs read again, with their rows.
fn reconcile(
    s: &Store,
    mirror: &mut Mirror,
    runs: BTreeSet<i64>,
) -> Result<Vec<(i64, Vec<MetricRow>)>, StoreError> {
    let mut reloaded = Vec::new();
    for id in runs {
        let Some(sent) = mirror.fingerprint(id) else {
            continue;
        };
        if sent.matches(s.metric_fingerprint(id)?) {
            continue;
        }
        let rows: Vec<MetricRow> = s
            .metrics_with_ids(id)?
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        mirror.reload(id, &rows);
        reloaded.push((id, rows));
    }
    Ok(reloaded)
}
