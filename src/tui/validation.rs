//! Checks the edited file on a worker thread, so typing never waits for a check (a
//! 200,000-value axis takes seconds). Only the latest text counts: the worker skips
//! requests a newer one has overtaken, and the editor takes a result only for the revision
//! it still shows, so a burst of typing costs one check and a stale result never shows.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use super::app::App;
use crate::spec::{Diagnostic, parse_experiment};

struct Check {
    revision: u64,
    path: PathBuf,
    text: String,
}

struct Checked {
    revision: u64,
    diagnostics: Vec<Diagnostic>,
}

/// The worker (started on the first check) and the check it was last sent.
#[derive(Default)]
pub struct Validator {
    worker: Option<(Sender<Check>, Receiver<Checked>)>,
    /// The revision sent last, until its result is back or the editor moved on.
    waiting: Option<u64>,
}

impl Validator {
    /// Whether a check is out for the editor's current text.
    pub fn busy(&self) -> bool {
        self.waiting.is_some()
    }

    /// Takes finished checks, then sends the editor's text if its revision has not been
    /// sent yet. Never waits. Returns whether the editor's diagnostics changed.
    pub fn poll(&mut self, app: &mut App) -> bool {
        let mut changed = false;
        while let Some((_, rx)) = &self.worker {
            let done = match rx.try_recv() {
                Ok(done) => done,
                Err(TryRecvError::Empty) => break,
                // The worker died (a panic in the check): the next call starts another.
                Err(TryRecvError::Disconnected) => {
                    self.worker = None;
                    self.waiting = None;
                    break;
                }
            };
            if self.waiting == Some(done.revision) {
                self.waiting = None;
            }
            if let Some(ed) = app.files.editor.as_mut() {
                changed |= ed.checked_as(done.revision, done.diagnostics);
            }
        }
        let Some(ed) = app.files.editor.as_ref().filter(|e| e.checking()) else {
            self.waiting = None;
            return changed;
        };
        if self.waiting == Some(ed.revision) {
            return changed;
        }
        let check = Check {
            revision: ed.revision,
            path: ed.path.clone(),
            text: ed.text(),
        };
        let (tx, _) = self.worker.get_or_insert_with(start);
        if tx.send(check).is_err() {
            self.worker = None;
            return changed;
        }
        self.waiting = Some(ed.revision);
        changed
    }
}

fn start() -> (Sender<Check>, Receiver<Checked>) {
    let (tx, requests) = mpsc::channel::<Check>();
    let (done, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(mut check) = requests.recv() {
            // Only the newest text matters.
            while let Ok(newer) = requests.try_recv() {
                check = newer;
            }
            let diagnostics = match parse_experiment(&check.text, &check.path) {
                Ok(_) => Vec::new(),
                Err(e) => e.diagnostics,
            };
            let revision = check.revision;
            if done
                .send(Checked {
                    revision,
                    diagnostics,
                })
                .is_err()
            {
                return;
            }
        }
    });
    (tx, rx)
}
