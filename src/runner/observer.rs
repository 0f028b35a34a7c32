//! Writes a trial's metrics to the store as the trainer reports them.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::store::{MetricName, MetricRow, Scope, Split, Store};
use crate::train::{EpochMetrics, StepMetrics, TrainObserver};

/// Step rows are buffered and written with the epoch (or every few seconds on long epochs),
/// so a trial costs a handful of transactions instead of one per step.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

pub struct StoreObserver<'a, F: FnMut(Progress)> {
    store: &'a mut Store,
    run_id: i64,
    pending: Vec<MetricRow>,
    last_flush: Instant,
    on_progress: F,
}

/// What a progress display needs after each reported step or epoch.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    Step {
        step: u64,
        loss: f64,
    },
    Epoch {
        epoch: usize,
        test_accuracy: f64,
        train_loss: f64,
    },
}

impl<'a, F: FnMut(Progress)> StoreObserver<'a, F> {
    pub fn new(store: &'a mut Store, run_id: i64, on_progress: F) -> Self {
        Self {
            store,
            run_id,
            pending: Vec::new(),
            last_flush: Instant::now(),
            on_progress,
        }
    }

    /// Writes buffered step rows (also called when a trial ends early).
    pub fn flush(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.store.log_metrics(self.run_id, &self.pending)?;
            self.pending.clear();
        }
        self.last_flush = Instant::now();
        Ok(())
    }
}

fn row(
    epoch: usize,
    step: u64,
    scope: Scope,
    split: Split,
    name: MetricName,
    value: f64,
) -> MetricRow {
    MetricRow {
        epoch,
        step,
        scope,
        split,
        name,
        value,
    }
}

/// The rows of one epoch's metrics, as the store keeps them.
pub fn epoch_rows(m: &EpochMetrics) -> Vec<MetricRow> {
    let (e, s) = (m.epoch, m.step);
    let mut rows = vec![
        row(
            e,
            s,
            Scope::Epoch,
            Split::Train,
            MetricName::Loss,
            m.train_loss,
        ),
        row(
            e,
            s,
            Scope::Epoch,
            Split::Train,
            MetricName::Accuracy,
            m.train_accuracy,
        ),
        row(e, s, Scope::Epoch, Split::Train, MetricName::Lr, m.lr),
        row(
            e,
            s,
            Scope::Epoch,
            Split::Train,
            MetricName::ImagesPerSec,
            m.images_per_sec,
        ),
        row(
            e,
            s,
            Scope::Epoch,
            Split::Train,
            MetricName::EpochSeconds,
            m.epoch_seconds,
        ),
        row(
            e,
            s,
            Scope::Epoch,
            Split::Test,
            MetricName::Loss,
            m.test.loss,
        ),
        row(
            e,
            s,
            Scope::Epoch,
            Split::Test,
            MetricName::Accuracy,
            m.test.accuracy,
        ),
    ];
    if let Some(val) = m.val {
        rows.push(row(
            e,
            s,
            Scope::Epoch,
            Split::Val,
            MetricName::Loss,
            val.loss,
        ));
        rows.push(row(
            e,
            s,
            Scope::Epoch,
            Split::Val,
            MetricName::Accuracy,
            val.accuracy,
        ));
    }
    rows
}

impl<F: FnMut(Progress)> TrainObserver for StoreObserver<'_, F> {
    fn step(&mut self, m: &StepMetrics) -> Result<()> {
        let (e, s) = (m.epoch, m.step);
        self.pending.extend([
            row(e, s, Scope::Step, Split::Train, MetricName::Loss, m.loss),
            row(
                e,
                s,
                Scope::Step,
                Split::Train,
                MetricName::Accuracy,
                m.accuracy,
            ),
            row(e, s, Scope::Step, Split::Train, MetricName::Lr, m.lr),
        ]);
        (self.on_progress)(Progress::Step {
            step: m.step,
            loss: m.loss,
        });
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    fn epoch(&mut self, m: &EpochMetrics) -> Result<()> {
        self.pending.extend(epoch_rows(m));
        let checkpoint = m.checkpoint.to_string_lossy();
        self.store
            .finish_epoch(self.run_id, m.epoch, &self.pending, Some(&checkpoint))?;
        self.pending.clear();
        self.last_flush = Instant::now();
        (self.on_progress)(Progress::Epoch {
            epoch: m.epoch,
            test_accuracy: m.test.accuracy,
            train_loss: m.train_loss,
        });
        Ok(())
    }
}
