//! Slow work off the UI thread. Ad-hoc queries, one-shot tasks (chart exports, stop and
//! re-run requests, which write to the store and may wait on its lock) and the editor's
//! checks (`validation`) run on worker threads; the event loop collects what they report,
//! so drawing and quitting never wait for them. Quitting leaves workers behind: the process
//! exit ends them.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::Instant;

use super::actions;
use super::app::{App, ImportanceInput, RunningQuery, StoreState, View};
use super::validation::Validator;
use crate::report::importance::{self, Ranking};
use crate::store::{QueryCanceller, QueryResult, Store, StoreError};

/// What a one-shot task reports for the status line: `Ok` a note, `Err` an error.
pub type Outcome = Result<String, String>;

enum QueryMsg {
    /// The worker's connection is open; this cancels its query.
    Started(QueryCanceller),
    Done(Result<QueryResult, StoreError>),
}

struct QueryJob {
    rx: Receiver<QueryMsg>,
    canceller: Option<QueryCanceller>,
    started: Instant,
}

impl QueryJob {
    /// Takes what the worker sent; `Some` once it has finished (or died).
    fn drain(&mut self) -> Option<Result<QueryResult, StoreError>> {
        loop {
            match self.rx.try_recv() {
                Ok(QueryMsg::Started(c)) => self.canceller = Some(c),
                Ok(QueryMsg::Done(r)) => return Some(r),
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => {
                    return Some(Err(StoreError::invalid(
                        "query",
                        "its worker thread stopped unexpectedly",
                    )));
                }
            }
        }
    }

    fn cancel(&self) {
        if let Some(c) = &self.canceller {
            c.cancel();
        }
    }
}

#[derive(Default)]
pub struct Jobs {
    query: Option<QueryJob>,
    /// Cancelled queries still winding down. A cancel that comes before the statement has
    /// started is lost, so these are cancelled again on every poll until they return.
    cancelled: Vec<QueryJob>,
    tasks: Vec<Receiver<Outcome>>,
    /// The Table view's importance ranking being computed, and from what.
    importance: Option<(ImportanceInput, Receiver<Ranking>)>,
    validator: Validator,
}

impl Jobs {
    pub fn new() -> Jobs {
        Jobs::default()
    }

    /// Whether any worker is still out (the event loop then wakes more often).
    pub fn busy(&self) -> bool {
        self.query.is_some()
            || !self.cancelled.is_empty()
            || !self.tasks.is_empty()
            || self.importance.is_some()
            || self.validator.busy()
    }

    /// Starts `sql` on its own read-only connection; a query still running is cancelled.
    pub fn start_query(&mut self, app: &mut App, sql: &str) {
        let q = &mut app.query;
        q.row = 0;
        q.col = 0;
        q.notice = None;
        if app.store != StoreState::Open {
            q.result = None;
            q.error = Some("the store is not open yet".into());
            return;
        }
        if let Some(old) = self.query.take() {
            old.cancel();
            self.cancelled.push(old);
        }
        let (tx, rx) = mpsc::channel();
        let db: PathBuf = app.paths.db.clone();
        let text = sql.to_owned();
        std::thread::spawn(move || {
            let result = Store::open_read_only(&db).and_then(|store| {
                // The receiver may be gone (the dashboard quit): nothing to report then.
                let _ = tx.send(QueryMsg::Started(store.query_canceller()));
                actions::query_limited(&store, &text)
            });
            let _ = tx.send(QueryMsg::Done(result));
        });
        self.query = Some(QueryJob {
            rx,
            canceller: None,
            started: Instant::now(),
        });
        q.result = None;
        q.error = None;
        q.running = Some(RunningQuery {
            sql: sql.to_owned(),
            elapsed: Default::default(),
        });
    }

    /// Cancels the running query (Esc); its worker stops at SQLite's next step.
    pub fn cancel_query(&mut self, app: &mut App) {
        let Some(job) = self.query.take() else {
            return;
        };
        job.cancel();
        let note = format!(
            "query cancelled after {:.1} s",
            job.started.elapsed().as_secs_f64()
        );
        self.cancelled.push(job);
        app.query.running = None;
        app.query.notice = Some(note.clone());
        app.info(note);
    }

    /// Runs `work` on a worker thread; its outcome becomes the status line when it is done.
    pub fn spawn(&mut self, work: impl FnOnce() -> Outcome + Send + 'static) {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(work());
        });
        self.tasks.push(rx);
    }

    /// Collects what the workers reported and keeps the running query's clock; returns
    /// whether the app changed (and so needs a redraw).
    pub fn poll(&mut self, app: &mut App) -> bool {
        let mut changed = false;
        self.cancelled.retain_mut(|job| {
            let done = job.drain().is_some();
            if !done {
                job.cancel();
            }
            !done
        });
        if let Some(job) = &mut self.query {
            if let Some(result) = job.drain() {
                self.query = None;
                finish_query(app, result);
                changed = true;
            } else if let Some(r) = &mut app.query.running {
                let elapsed = job.started.elapsed();
                changed |= elapsed.as_secs() != r.elapsed.as_secs();
                r.elapsed = elapsed;
            }
        }
        self.tasks.retain(|rx| match rx.try_recv() {
            Ok(outcome) => {
                match outcome {
                    Ok(note) => app.info(note),
                    Err(e) => app.error(e),
                }
                changed = true;
                false
            }
            Err(TryRecvError::Empty) => true,
            Err(TryRecvError::Disconnected) => {
                app.error("a background task stopped unexpectedly");
                changed = true;
                false
            }
        });
        changed |= self.poll_importance(app);
        changed |= self.validator.poll(app);
        changed
    }

    /// Takes a finished importance ranking, and while the Table view shows an experiment
    /// whose trials changed since the last one, starts the next (one at a time; fANOVA on a
    /// large sweep takes a noticeable while).
    fn poll_importance(&mut self, app: &mut App) -> bool {
        let mut changed = false;
        if let Some((input, rx)) = &self.importance {
            let ranking = match rx.try_recv() {
                Ok(r) => Some(r),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => Some(Ranking::TooFew(
                    "the importance worker stopped unexpectedly".into(),
                )),
            };
            if let Some(r) = ranking {
                app.table.importance = Some((input.clone(), r));
                self.importance = None;
                changed = true;
            }
        }
        if self.importance.is_some() || app.view != View::Table {
            return changed;
        }
        let Some(input) = app.importance_input() else {
            return changed;
        };
        if app
            .table
            .importance
            .as_ref()
            .is_some_and(|(shown, _)| *shown == input)
        {
            return changed;
        }
        let (tx, rx) = mpsc::channel();
        let (axes, trials) = (input.axes.clone(), input.trials.clone());
        std::thread::spawn(move || {
            let _ = tx.send(importance::rank(&axes, &trials));
        });
        self.importance = Some((input, rx));
        changed
    }
}

fn finish_query(app: &mut App, result: Result<QueryResult, StoreError>) {
    let q = &mut app.query;
    q.running = None;
    match result {
        Ok(r) => {
            let n = r.rows.len();
            q.error = None;
            q.focused = false;
            q.result = Some(r);
            if app.view != View::Query {
                app.info(format!("query finished: {n} row(s) in the Query view (6)"));
            }
        }
        Err(e) => {
            q.result = None;
            q.error = Some(e.to_string());
        }
    }
}
