//! What an adaptive sweep reads to decide: every epoch value of its objective across the
//! experiment's runs, and the end of the sweep (paused runs that were never promoted).

use rusqlite::params;

use super::error::{Context, StoreError};
use super::types::RunStatus;
use super::{Store, now};

/// One run's objective at the end of one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochValue {
    pub run_id: i64,
    pub status: RunStatus,
    pub epoch: usize,
    pub value: f64,
}

const VALUES: &str = "
SELECT r.id, r.status, m.epoch, m.value
FROM runs r JOIN metrics m ON m.run_id = r.id
WHERE m.scope = 'epoch' AND m.split = ?2 AND m.name = ?3 AND r.experiment_id = ";

impl Store {
    fn epoch_values(
        &self,
        sql: &str,
        key: &dyn rusqlite::ToSql,
        split: &str,
        name: &str,
    ) -> Result<Vec<EpochValue>, StoreError> {
        let ctx = || format!("reading {split}.{name} of a sweep");
        let mut stmt = self.conn.prepare_cached(sql).ctx(ctx)?;
        let rows = stmt
            .query_map(params![key, split, name], |r| {
                Ok(EpochValue {
                    run_id: r.get(0)?,
                    status: r.get(1)?,
                    epoch: r.get(2)?,
                    value: r.get(3)?,
                })
            })
            .ctx(ctx)?;
        rows.collect::<Result<_, _>>().ctx(ctx)
    }

    /// `split.name` at every epoch of every run in the experiment of run `run_id`.
    pub fn objective_values(
        &self,
        run_id: i64,
        split: &str,
        name: &str,
    ) -> Result<Vec<EpochValue>, StoreError> {
        let sql = format!("{VALUES}(SELECT experiment_id FROM runs WHERE id = ?1) ORDER BY m.id");
        self.epoch_values(&sql, &run_id, split, name)
    }

    /// `split.name` at every epoch of every run of experiment `experiment`.
    pub fn sweep_values(
        &self,
        experiment: &str,
        split: &str,
        name: &str,
    ) -> Result<Vec<EpochValue>, StoreError> {
        let sql = format!("{VALUES}(SELECT id FROM experiments WHERE name = ?1) ORDER BY m.id");
        self.epoch_values(&sql, &experiment, split, name)
    }

    /// Ends the sweep: every `paused` run of `experiment` becomes `pruned` (it stays at the
    /// rung it reached). Returns how many.
    pub fn prune_paused(&self, experiment: &str) -> Result<usize, StoreError> {
        let ts = now();
        self.conn
            .execute(
                "UPDATE runs SET status = 'pruned', finished_at = ?2,
                     error = 'paused at epoch ' || epochs_done || ' and not promoted before the sweep ended'
                 WHERE status = 'paused'
                   AND experiment_id = (SELECT id FROM experiments WHERE name = ?1)",
                params![experiment, ts],
            )
            .ctx(|| format!("pruning the paused runs of {experiment:?}"))
    }
}
