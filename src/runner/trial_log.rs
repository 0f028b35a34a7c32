//! The lines a trial writes to `runs/<id>/trial.log` (its stderr): what it trained, every
//! epoch's figures, how it ended. A log to read when the store is not at hand, or to `tail -f`.

use crate::spec::TrialConfig;
use crate::store::RunStatus;
use crate::train::{ComputeDevice, EpochMetrics};

fn stamp() -> String {
    crate::store::now()
}

/// The first line: which run, on what, from where.
pub fn started(run_id: i64, config: &TrialConfig, device: ComputeDevice, resume: Option<usize>) {
    let from = match resume {
        Some(epoch) => format!("resuming after epoch {epoch}"),
        None => "from the start".to_string(),
    };
    let epochs = config.train.epochs;
    let plural = if epochs == 1 { "" } else { "s" };
    eprintln!(
        "{} run {run_id}: {epochs} epoch{plural} of {} on {device}, {from} (pid {})",
        stamp(),
        config.data.dataset.name(),
        std::process::id()
    );
}

/// One line per finished epoch, with its checkpoint.
pub fn epoch(run_id: i64, m: &EpochMetrics, epochs: usize) {
    eprintln!(
        "{} run {run_id}: epoch {}/{epochs}: train loss {:.4}, train accuracy {:.2}%, test loss {:.4}, test accuracy {:.2}%, {:.0} images/s, {:.1} s; checkpoint {}",
        stamp(),
        m.epoch,
        m.train_loss,
        100.0 * m.train_accuracy,
        m.test.loss,
        100.0 * m.test.accuracy,
        m.images_per_sec,
        m.epoch_seconds,
        m.checkpoint.display()
    );
}

/// The last line: the status recorded in the store, and why when it is not `done`.
pub fn ended(run_id: i64, status: RunStatus, error: Option<&str>) {
    let why = error.map(|e| format!(": {e}")).unwrap_or_default();
    eprintln!("{} run {run_id}: {}{why}", stamp(), status.as_str());
}
