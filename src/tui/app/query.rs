//! State of the Query view: the SQL prompt, the last result or error, the scroll, and the
//! query running on its worker thread.

use std::time::Duration;

use crate::store::QueryResult;

#[derive(Debug, Clone, Default)]
pub struct QueryState {
    pub input: String,
    pub focused: bool,
    pub result: Option<QueryResult>,
    pub error: Option<String>,
    pub row: usize,
    pub col: usize,
    /// The query on its worker thread, while it runs.
    pub running: Option<RunningQuery>,
    /// Why the last query has no result although nothing failed (it was cancelled).
    pub notice: Option<String>,
}

/// A query being run off the UI thread; the event loop keeps `elapsed` current.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningQuery {
    pub sql: String,
    pub elapsed: Duration,
}
