//! What `run` shows while trials train in their own processes: indicatif bars with ETA on a
//! terminal, one plain line per epoch otherwise (logs, CI, `nohup`). Everything shown is read
//! back from the store, the one place the trials report to.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::IsTerminal;

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::scheduler::Queued;
use crate::store::{MetricName, Scope, Split, Store};
use crate::train::ComputeDevice;

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
    active: RefCell<HashMap<i64, (ProgressBar, String)>>,
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
        Self {
            mode,
            bars,
            total,
            active: RefCell::new(HashMap::new()),
        }
    }

    fn say(&self, line: String) {
        match self.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Lines => eprintln!("{line}"),
            ProgressMode::Bars => {
                let _ = self.bars.println(line);
            }
        }
    }

    pub fn message(&self, text: &str) {
        self.say(text.to_string());
    }

    pub fn started(&self, q: &Queued, device: ComputeDevice) {
        let label = format!(
            "run {} (trial {}/{})",
            q.run_id,
            q.trial_index + 1,
            self.total
        );
        let bar = self.bars.add(ProgressBar::new(q.total_steps));
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps {msg} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.clone());
        self.say(format!("{label}: started on {device}"));
        self.active.borrow_mut().insert(q.run_id, (bar, label));
    }

    pub fn finished(&self, store: &Store, run_id: i64) -> Result<()> {
        let Some((bar, label)) = self.active.borrow_mut().remove(&run_id) else {
            return Ok(());
        };
        bar.finish_and_clear();
        if let Some(run) = store.run(run_id)? {
            match run.error {
                Some(e) => self.say(format!("{label}: {} ({e})", run.status)),
                None => self.say(format!("{label}: {}", run.status)),
            }
        }
        Ok(())
    }

    pub fn poller(&self) -> Poller<'_> {
        Poller {
            display: self,
            last_id: 0,
        }
    }

    pub fn finish(&self) {
        let _ = self.bars.clear();
    }
}

/// Follows the metrics table incrementally (rows after the last id seen).
pub struct Poller<'a> {
    display: &'a Display,
    last_id: i64,
}

impl Poller<'_> {
    pub fn update(&mut self, store: &Store) -> Result<()> {
        let rows = store.metrics_after(self.last_id, None, 10_000)?;
        let active = self.display.active.borrow();
        for p in rows {
            self.last_id = p.id;
            let Some((bar, label)) = active.get(&p.run_id) else {
                continue;
            };
            let m = p.metric;
            bar.set_position(m.step);
            match (m.scope, m.split, m.name) {
                (Scope::Step, Split::Train, MetricName::Loss) => {
                    bar.set_message(format!("loss {:.4}", m.value))
                }
                (Scope::Epoch, Split::Test, MetricName::Accuracy) => {
                    self.display.say(format!(
                        "{label}: epoch {} test accuracy {:.2}%",
                        m.epoch,
                        m.value * 100.0
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}
