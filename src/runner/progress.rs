//! What `run` shows while it trains: indicatif bars with ETA on a terminal, one plain line
//! per epoch otherwise (logs, CI, `nohup`).

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Progress;
use crate::spec::Trial;
use crate::store::{RunRow, RunStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Bars,
    Lines,
    Quiet,
}

impl ProgressMode {
    /// Bars when stderr is a terminal, plain lines otherwise.
    pub fn detect() -> Self {
        if std::io::stderr().is_terminal() {
            ProgressMode::Bars
        } else {
            ProgressMode::Lines
        }
    }
}

pub struct Display {
    mode: ProgressMode,
    bars: MultiProgress,
    total: usize,
}

impl Display {
    pub fn new(mode: ProgressMode, experiment: &str, total: usize, skipped: usize) -> Self {
        let bars = match mode {
            ProgressMode::Bars => MultiProgress::new(),
            _ => MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
        };
        if mode != ProgressMode::Quiet {
            eprintln!("{experiment}: {total} trial(s), {skipped} already done");
        }
        Self { mode, bars, total }
    }

    pub fn trial(&self, run: &RunRow, trial: &Trial, steps_per_epoch: usize) -> TrialBar {
        let epochs = trial.config.train.epochs;
        let label = format!("run {} (trial {}/{})", run.id, trial.index + 1, self.total);
        let bar = self
            .bars
            .add(ProgressBar::new((steps_per_epoch * epochs) as u64));
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps {msg} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.clone());
        if self.mode == ProgressMode::Lines {
            let overrides: Vec<String> = trial
                .overrides
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            eprintln!("{label}: started {}", overrides.join(" "));
        }
        TrialBar {
            bar,
            label,
            epochs,
            mode: self.mode,
        }
    }

    pub fn finish(&self) {
        let _ = self.bars.clear();
    }
}

pub struct TrialBar {
    bar: ProgressBar,
    label: String,
    epochs: usize,
    mode: ProgressMode,
}

impl TrialBar {
    pub fn update(&self, p: Progress) {
        match p {
            Progress::Step { step, loss } => {
                self.bar.set_position(step);
                self.bar.set_message(format!("loss {loss:.4}"));
            }
            Progress::Epoch {
                epoch,
                test_accuracy,
                train_loss,
            } => {
                if self.mode == ProgressMode::Lines {
                    eprintln!(
                        "{}: epoch {epoch}/{} train loss {train_loss:.4} test accuracy {:.2}%",
                        self.label,
                        self.epochs,
                        test_accuracy * 100.0
                    );
                } else {
                    self.bar.println(format!(
                        "{}: epoch {epoch}/{} test accuracy {:.2}%",
                        self.label,
                        self.epochs,
                        test_accuracy * 100.0
                    ));
                }
            }
        }
    }

    pub fn finish(&self, status: RunStatus, error: Option<&str>) {
        self.bar.finish_and_clear();
        if self.mode != ProgressMode::Quiet {
            match error {
                Some(e) => eprintln!("{}: {} ({e})", self.label, status.as_str()),
                None => eprintln!("{}: {}", self.label, status.as_str()),
            }
        }
    }
}
