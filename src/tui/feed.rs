//! The poller on its own thread, as gitui and bottom do: the thread owns the read-only
//! connection and sends what it read over a channel; the event loop applies it between
//! frames. A store that is slow, migrating or locked by a writer then delays its data,
//! never a key or a frame, and the status line says how long the store has been busy.
//!
//! The thread is never joined: dropping the [`Feed`] closes its channels, and the thread
//! ends at its next send or wait (or with the process, if the store still holds it).

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

use super::actions;
use super::app::{App, StoreState, View};
use super::poll::{Poller, Round};
use super::update::{self, Update};

/// The store is polled at most this often.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// How often the experiments folder is listed again.
const FILES_EVERY: Duration = Duration::from_secs(2);
/// A poll held up this long shows on the status line.
const BUSY_SHOWN: Duration = Duration::from_secs(1);

enum Msg {
    /// A poll began at this time.
    Began(Instant),
    Update(Update),
    Ended(Round),
}

enum Request {
    Detail(i64),
}

pub struct Feed {
    rx: Receiver<Msg>,
    tx: Sender<Request>,
    /// Since when the poller has been held up: the start of the poll it is in, or of the
    /// first of the polls in a row that ended on the store's lock.
    busy_since: Option<Instant>,
    /// The run whose full row was asked for last, while the Detail view is open.
    detail_asked: Option<i64>,
    files_at: Option<Instant>,
}

impl Feed {
    /// Starts the poller's thread on `db` (which may not exist yet).
    pub fn start(db: &Path) -> Feed {
        let poller = Poller::new(db);
        let (tx, rx) = mpsc::channel();
        let (req_tx, req_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("store-poller".into())
            .spawn(move || run(poller, &tx, &req_rx))
            .expect("starting the store poller's thread");
        Feed {
            rx,
            tx: req_tx,
            busy_since: None,
            detail_asked: None,
            files_at: None,
        }
    }

    /// Applies everything the poller sent since the last call, lists the experiments folder
    /// every few seconds and keeps the busy clock. Never waits. Returns whether the screen
    /// needs a redraw.
    pub fn drain(&mut self, app: &mut App) -> bool {
        let mut changed = false;
        loop {
            match self.rx.try_recv() {
                Ok(Msg::Began(at)) => {
                    self.busy_since.get_or_insert(at);
                }
                Ok(Msg::Update(u)) => changed |= update::apply(app, u),
                Ok(Msg::Ended(Round::Done)) => self.busy_since = None,
                Ok(Msg::Ended(Round::Locked)) => {}
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let gone = StoreState::Error("the store poller stopped unexpectedly".into());
                    changed |= app.store != gone;
                    app.store = gone;
                    self.busy_since = None;
                    break;
                }
            }
        }
        let busy = self
            .busy_since
            .map(|t| t.elapsed())
            .filter(|d| *d >= BUSY_SHOWN)
            .map(|d| Duration::from_secs(d.as_secs()));
        changed |= app.store_busy != busy;
        app.store_busy = busy;
        if self.files_at.is_none_or(|t| t.elapsed() >= FILES_EVERY) {
            self.files_at = Some(Instant::now());
            changed |= actions::rescan_files(app);
        }
        changed
    }

    /// Asks for what the current view needs and does not have yet: the highlighted file's
    /// text (read here: a bounded regular file) and the highlighted run's full row (from
    /// the poller). Returns whether the app changed.
    pub fn sync(&mut self, app: &mut App) -> bool {
        let changed = actions::sync_preview(app);
        match detail_wanted(app) {
            Some(id) if self.detail_asked != Some(id) => {
                self.detail_asked = Some(id);
                let _ = self.tx.send(Request::Detail(id));
            }
            Some(_) => {}
            None if app.view != View::Detail => self.detail_asked = None,
            None => {}
        }
        changed
    }
}

/// The run whose full row the Detail view lacks, if any.
pub fn detail_wanted(app: &App) -> Option<i64> {
    let id = app.highlighted_id()?;
    (app.view == View::Detail && app.detail.run.as_ref().is_none_or(|r| r.id != id)).then_some(id)
}

/// The poller's thread: a poll every `POLL_EVERY`, detail requests answered in between.
/// Returns once the dashboard has dropped its end of either channel.
fn run(mut poller: Poller, tx: &Sender<Msg>, requests: &Receiver<Request>) {
    loop {
        if tx.send(Msg::Began(Instant::now())).is_err() {
            return;
        }
        let mut gone = false;
        let round = poller.poll(&mut |u| gone |= tx.send(Msg::Update(u)).is_err());
        if gone || tx.send(Msg::Ended(round)).is_err() {
            return;
        }
        let next = Instant::now() + POLL_EVERY;
        loop {
            match requests.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Ok(Request::Detail(id)) => {
                    if tx.send(Msg::Update(poller.detail(id))).is_err() {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}
