//! `query`: one read-only SQL statement over the store, stopped by Ctrl-C (exit 130) or by
//! `--timeout SECONDS` (exit 124, as timeout(1)) instead of running for ever.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::UsageError;
use super::inspect::open;
use super::output::Rows;
use crate::store::{QueryCanceller, StoreError};

/// Exit code of a query stopped by its `--timeout`, as timeout(1) uses.
pub const TIMEOUT_EXIT: i32 = 124;
/// Exit code of a query stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPT_EXIT: i32 = 130;

/// Why a query was stopped before it finished.
#[derive(Debug, thiserror::Error)]
pub enum QueryStopped {
    #[error("query interrupted (Ctrl-C); nothing was printed")]
    Interrupted,
    #[error("query timed out after {0:?} (--timeout); nothing was printed")]
    TimedOut(Duration),
}

impl QueryStopped {
    pub fn exit_code(&self) -> i32 {
        match self {
            QueryStopped::Interrupted => INTERRUPT_EXIT,
            QueryStopped::TimedOut(_) => TIMEOUT_EXIT,
        }
    }
}

/// Parses `--timeout`: seconds, fractions allowed, more than zero.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs.is_finite() && secs < 1e9) {
        return Err(format!("{s:?}: the timeout must be more than 0 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

const NOTHING: u8 = 0;
const BY_SIGINT: u8 = 1;
const BY_TIMEOUT: u8 = 2;

/// Watches for Ctrl-C and the deadline while the query runs and cancels it. Once the query
/// has returned (dropped guard), Ctrl-C ends the process with 130 at once, so that printing
/// a long result stays interruptible too.
struct Watchdog {
    finished: Arc<AtomicBool>,
    reason: Arc<AtomicU8>,
}

impl Watchdog {
    fn start(canceller: QueryCanceller, timeout: Option<Duration>) -> Result<Watchdog> {
        use signal_hook::consts::SIGINT;
        let finished = Arc::new(AtomicBool::new(false));
        let sigint = Arc::new(AtomicBool::new(false));
        let reason = Arc::new(AtomicU8::new(NOTHING));
        signal_hook::flag::register_conditional_shutdown(
            SIGINT,
            INTERRUPT_EXIT,
            Arc::clone(&finished),
        )?;
        signal_hook::flag::register(SIGINT, Arc::clone(&sigint))?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let (done, why) = (Arc::clone(&finished), Arc::clone(&reason));
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let now = if sigint.load(Ordering::SeqCst) {
                    Some(BY_SIGINT)
                } else {
                    deadline
                        .filter(|d| Instant::now() >= *d)
                        .map(|_| BY_TIMEOUT)
                };
                if let Some(r) = now {
                    let _ = why.compare_exchange(NOTHING, r, Ordering::SeqCst, Ordering::SeqCst);
                    // Again on every turn: a cancel before the statement started is lost.
                    canceller.cancel();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Ok(Watchdog { finished, reason })
    }

    fn reason(&self) -> u8 {
        self.reason.load(Ordering::SeqCst)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::SeqCst);
    }
}

pub fn query(db: &Path, sql: &str, timeout: Option<Duration>) -> Result<Rows> {
    let store = open(db)?;
    let watchdog = Watchdog::start(store.query_canceller(), timeout)?;
    let result = store.query(sql).map_err(|e| -> anyhow::Error {
        match (e, watchdog.reason()) {
            (StoreError::Interrupted, BY_TIMEOUT) => {
                QueryStopped::TimedOut(timeout.unwrap_or_default()).into()
            }
            (StoreError::Interrupted, _) => QueryStopped::Interrupted.into(),
            // A malformed statement is the user's input too: report it as such (exit code 2).
            (e @ StoreError::Sqlite { .. }, _) => UsageError(format!("SQL error: {e}")).into(),
            (other, _) => other.into(),
        }
    })?;
    // Ctrl-C as the last row came in: the user still asked to stop.
    if watchdog.reason() == BY_SIGINT {
        return Err(QueryStopped::Interrupted.into());
    }
    Ok(Rows {
        columns: result.columns,
        rows: result.rows,
    })
}
