//! What the poller tells the dashboard, and how the dashboard takes it in. The poller sends
//! these from its thread (`feed`); applying one reads nothing from disk, so the UI thread
//! never waits on the store.

use super::app::{App, ExperimentInfo, StoreState};
use crate::store::dashboard::RunBrief;
use crate::store::{MetricRow, PolledMetric, RunRow, WhereRan};

#[derive(Debug)]
pub enum Update {
    /// The store appeared, opened, or could not be read.
    Store(StoreState),
    /// A fresh read of the runs table (sent only when it changed).
    Briefs(Vec<RunBrief>),
    /// Metric rows after the last ones sent, all of known runs.
    Metrics(Vec<PolledMetric>),
    /// Runs whose rows changed under reused ids, read again in full.
    Reloaded(Vec<(i64, Vec<MetricRow>)>),
    Experiments(Vec<ExperimentInfo>),
    /// The full row of a run the Detail view asked for (boxed: it is the one large update).
    Detail(Box<DetailRow>),
}

#[derive(Debug)]
pub struct DetailRow {
    pub id: i64,
    pub run: Option<RunRow>,
    pub ran: Option<WhereRan>,
}

/// Applies one update; returns whether the screen needs a redraw.
pub fn apply(app: &mut App, update: Update) -> bool {
    match update {
        Update::Store(state) => {
            let changed = app.store != state;
            app.store = state;
            changed
        }
        Update::Briefs(briefs) => app.apply_briefs(briefs),
        Update::Metrics(rows) => {
            app.apply_metrics(&rows);
            !rows.is_empty()
        }
        Update::Reloaded(runs) => {
            app.reload_runs(runs);
            true
        }
        Update::Experiments(infos) => {
            app.set_experiments(infos);
            true
        }
        // An answer for a run no longer highlighted is dropped; `feed` asks again.
        Update::Detail(row) => {
            if app.highlighted_id() != Some(row.id) {
                return false;
            }
            app.detail.run = row.run;
            app.detail.ran = row.ran;
            app.detail.scroll = 0;
            true
        }
    }
}
