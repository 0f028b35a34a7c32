//! Reads behind charts: one metric of one run, through the indexes made for them
//! (`metrics_series` for step rows, the partial `metrics_epoch` for epoch rows) instead of
//! loading every row of the run, which for a long run is mostly other metrics' step rows.

use super::Store;
use super::error::{Context, StoreError};
use super::types::{MetricName, MetricRow, Scope, Split};

impl Store {
    /// The rows of one (scope, split, name) metric of a run, ordered by epoch (epoch scope)
    /// or step (step scope), rows of equal epoch/step in insertion order. A resumed run can
    /// hold the same step twice; callers that want one value per x keep the last.
    pub fn metric_series(
        &self,
        run_id: i64,
        scope: Scope,
        split: Split,
        name: MetricName,
    ) -> Result<Vec<MetricRow>, StoreError> {
        // Literal scopes, not parameters: SQLite uses a partial index only when the query's
        // WHERE clause visibly implies the index's.
        let sql = match scope {
            Scope::Epoch => {
                "SELECT epoch, step, value FROM metrics
                 WHERE run_id = ?1 AND name = ?2 AND split = ?3 AND scope = 'epoch'
                 ORDER BY epoch, id"
            }
            Scope::Step => {
                "SELECT epoch, step, value FROM metrics
                 WHERE run_id = ?1 AND name = ?2 AND split = ?3 AND scope = 'step'
                 ORDER BY step, id"
            }
        };
        let ctx = || format!("reading {split} {name} ({scope} scope) of run {run_id}");
        let mut stmt = self.conn.prepare_cached(sql).ctx(ctx)?;
        let rows = stmt
            .query_map(rusqlite::params![run_id, name, split], |r| {
                Ok(MetricRow {
                    epoch: r.get(0)?,
                    step: r.get(1)?,
                    scope,
                    split,
                    name,
                    value: r.get(2)?,
                })
            })
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(ctx)?;
        Ok(rows)
    }
}
