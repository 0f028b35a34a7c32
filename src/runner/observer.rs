//! Writes a trial's metrics to the store as the trainer reports them.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::gate::TrialGate;
use crate::store::{MetricName, MetricRow, RunStatus, Scope, Split, Store, retry_busy};
use crate::train::{EpochMetrics, StepMetrics, TrainObserver};

/// Step rows are buffered and written with the epoch (or every few seconds on long epochs),
/// so a trial costs a handful of transactions instead of one per step.
const FLUSH_EVERY: Duration = Duration::from_secs(2);

pub struct StoreObserver<'a> {
    store: &'a mut Store,
    run_id: i64,
    pending: Vec<MetricRow>,
    last_flush: Instant,
    /// Set by a signal or by the heartbeat thread when the store holds a stop request.
    stop: Arc<AtomicBool>,
    /// Test hook: panic at the first step (see `trial::PANIC_HOOK_ENV`).
    panic_at_first_step: bool,
    /// Epochs of the trial, when each finished epoch is also a line of the trial log.
    log_epochs_of: Option<usize>,
    /// How far an adaptive sweep lets this trial go.
    gate: TrialGate,
    /// What the gate decided when it halted training (`paused` or `pruned`).
    pub verdict: Option<RunStatus>,
}

impl<'a> StoreObserver<'a> {
    pub fn new(
        store: &'a mut Store,
        run_id: i64,
        stop: Arc<AtomicBool>,
        panic_at_first_step: bool,
    ) -> Self {
        Self {
            store,
            run_id,
            pending: Vec::new(),
            last_flush: Instant::now(),
            stop,
            panic_at_first_step,
            log_epochs_of: None,
            gate: TrialGate::Open,
            verdict: None,
        }
    }

    /// Halts training where `gate` says (see `TrialGate::verdict`).
    pub fn gated_by(mut self, gate: TrialGate) -> Self {
        self.gate = gate;
        self
    }

    /// Also writes each finished epoch as a line of the trial log (the trial process's stderr).
    pub fn logging_epochs_of(mut self, epochs: usize) -> Self {
        self.log_epochs_of = Some(epochs);
        self
    }

    /// Writes buffered step rows.
    pub fn flush(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            retry_busy(|| self.store.log_metrics(self.run_id, &self.pending))?;
            self.pending.clear();
        }
        self.last_flush = Instant::now();
        Ok(())
    }
}

/// The rows of one epoch's metrics, as the store keeps them.
pub fn epoch_rows(m: &EpochMetrics) -> Vec<MetricRow> {
    let (e, s) = (m.epoch, m.step);
    let mut rows = vec![
        MetricRow::new(
            e,
            s,
            Scope::Epoch,
            Split::Train,
            MetricName::Loss,
            m.train_loss,
        ),
        MetricRow::new(
            e,
            s,
            Scope::Epoch,
            Split::Train,
            MetricName::Accuracy,
            m.train_accuracy,
        ),
        MetricRow::new(e, s, Scope::Epoch, Split::Train, MetricName::Lr, m.lr),
        MetricRow::new(
            e,
            s,
            Scope::Epoch,
            Split::Train,
            MetricName::ImagesPerSec,
            m.images_per_sec,
        ),
        MetricRow::new(
            e,
            s,
            Scope::Epoch,
            Split::Train,
            MetricName::EpochSeconds,
            m.epoch_seconds,
        ),
        MetricRow::new(
            e,
            s,
            Scope::Epoch,
            Split::Test,
            MetricName::Loss,
            m.test.loss,
        ),
        MetricRow::new(
            e,
            s,
            Scope::Epoch,
            Split::Test,
            MetricName::Accuracy,
            m.test.accuracy,
        ),
    ];
    if let Some(val) = m.val {
        rows.push(MetricRow::new(
            e,
            s,
            Scope::Epoch,
            Split::Val,
            MetricName::Loss,
            val.loss,
        ));
        rows.push(MetricRow::new(
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

/// Removes the checkpoint folders other than `keep` once the store points at `keep`.
fn remove_older_checkpoints(keep: &Path) {
    let (Some(dir), Some(name)) = (keep.parent(), keep.file_name()) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let other = entry.file_name();
        if other != name && other.to_string_lossy().starts_with("epoch-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl TrainObserver for StoreObserver<'_> {
    fn step(&mut self, m: &StepMetrics) -> Result<()> {
        assert!(
            !self.panic_at_first_step,
            "test hook: this trial panics on purpose"
        );
        let (e, s) = (m.epoch, m.step);
        self.pending.extend([
            MetricRow::new(e, s, Scope::Step, Split::Train, MetricName::Loss, m.loss),
            MetricRow::new(
                e,
                s,
                Scope::Step,
                Split::Train,
                MetricName::Accuracy,
                m.accuracy,
            ),
            MetricRow::new(e, s, Scope::Step, Split::Train, MetricName::Lr, m.lr),
        ]);
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// The epoch's metrics, its remaining step rows and its checkpoint in one transaction:
    /// the store never holds half an epoch.
    fn epoch(&mut self, m: &EpochMetrics) -> Result<()> {
        self.pending.extend(epoch_rows(m));
        let checkpoint = m.checkpoint.to_string_lossy();
        retry_busy(|| {
            self.store
                .finish_epoch(self.run_id, m.epoch, &self.pending, Some(&checkpoint))
        })?;
        self.pending.clear();
        self.last_flush = Instant::now();
        remove_older_checkpoints(&m.checkpoint);
        if let Some(epochs) = self.log_epochs_of {
            super::trial_log::epoch(self.run_id, m, epochs);
        }
        Ok(())
    }

    fn stop_requested(&mut self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn halt_after_epoch(&mut self, epoch: usize) -> Result<bool> {
        self.verdict = self.gate.verdict(self.store, self.run_id, epoch)?;
        Ok(self.verdict.is_some())
    }
}
