//! Typed rows and the closed vocabularies (status, scope, split, metric name).
//!
//! The string forms are exactly what the schema's CHECK constraints accept, so a
//! value that round-trips through these enums can always be inserted.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

use super::error::StoreError;

/// Declares a string-backed enum with `as_str`, `FromStr`, `Display` and SQL conversions.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $s)] $var),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self, StoreError> {
                match s {
                    $($s => Ok($name::$var),)+
                    other => Err(StoreError::invalid($what, format!("{other:?}"))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                v.as_str()?.parse().map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

text_enum!(
    /// Lifecycle of a run. `Queued` and `Running` are live; the rest are terminal. An adaptive
    /// sweep leaves a run `paused` at a rung (resumed if promoted) or `pruned` (settled).
    RunStatus, "run status" {
        Queued => "queued", Running => "running", Done => "done", Failed => "failed",
        Diverged => "diverged", Stopped => "stopped", Interrupted => "interrupted",
        Paused => "paused", Pruned => "pruned",
    }
);

impl RunStatus {
    /// Terminal statuses are the only ones `finish_run` accepts.
    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

text_enum!(
    /// Whether a metric row is a per-step sample or the end-of-epoch aggregate.
    Scope, "metric scope" { Step => "step", Epoch => "epoch" }
);

text_enum!(
    /// Which data split a metric was measured on.
    Split, "metric split" { Train => "train", Val => "val", Test => "test" }
);

text_enum!(
    /// The metric vocabulary; closed so charts and SQL never meet a typo'd name.
    MetricName, "metric name" {
        Loss => "loss", Accuracy => "accuracy", Lr => "lr",
        ImagesPerSec => "images_per_sec", EpochSeconds => "epoch_seconds",
    }
);

/// One trial of a sweep as the planner produced it; `hash` identifies it across re-runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRun {
    pub trial_index: usize,
    pub hash: String,
    pub config_json: String,
    pub overrides_json: String,
    pub seed: u64,
    pub epochs_total: usize,
    pub params: u64,
    pub flops: u64,
}

/// A run joined with its experiment name and the headline metrics from `run_summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: i64,
    pub experiment: String,
    pub trial_index: usize,
    pub hash: String,
    pub status: RunStatus,
    pub config_json: String,
    pub overrides_json: String,
    pub seed: u64,
    pub device: Option<String>,
    pub params: Option<u64>,
    pub flops: Option<u64>,
    pub epochs_total: usize,
    pub epochs_done: usize,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub heartbeat_at: Option<String>,
    pub error: Option<String>,
    pub best_test_accuracy: Option<f64>,
    pub last_test_accuracy: Option<f64>,
    pub last_train_loss: Option<f64>,
}

/// One metric sample. Epochs are 1-based; `step` is the global optimizer step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub epoch: usize,
    pub step: u64,
    pub scope: Scope,
    pub split: Split,
    pub name: MetricName,
    pub value: f64,
}

impl MetricRow {
    pub fn new(
        epoch: usize,
        step: u64,
        scope: Scope,
        split: Split,
        name: MetricName,
        value: f64,
    ) -> Self {
        Self {
            epoch,
            step,
            scope,
            split,
            name,
            value,
        }
    }
}

/// A metric row as seen by an incremental poller: `id` is the metrics rowid, which only
/// grows (writes are serialized), so "give me id > last_seen" never misses a committed row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolledMetric {
    pub id: i64,
    pub run_id: i64,
    pub wall_time: String,
    pub metric: MetricRow,
}

/// Result of an ad-hoc read-only query, ready to print as a table or JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}
