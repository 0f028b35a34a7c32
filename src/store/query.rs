//! Ad-hoc SQL for the `query` command, guarded so it can never modify the store,
//! even when handed the trainer's read-write connection.

use std::sync::Arc;

use rusqlite::types::ValueRef;
use serde_json::Value;

use super::Store;
use super::error::StoreError;
use super::types::QueryResult;

/// Statement kinds a query may start with. `sqlite3_stmt_readonly` is the main guard, but it
/// reports BEGIN, ATTACH, DETACH and some PRAGMAs as read-only although they change the
/// connection (an open BEGIN would swallow the trainer's later writes), hence this list too.
const ALLOWED_START: &[&str] = &["SELECT", "WITH", "VALUES", "EXPLAIN", "PRAGMA"];

/// PRAGMAs that only report. Any form with `=` is a setter and is refused; a parenthesised
/// argument is only allowed for the introspection pragmas whose argument is a name.
const READ_PRAGMAS: &[&str] = &[
    "application_id",
    "busy_timeout",
    "compile_options",
    "data_version",
    "database_list",
    "encoding",
    "foreign_keys",
    "freelist_count",
    "journal_mode",
    "page_count",
    "page_size",
    "schema_version",
    "synchronous",
    "table_list",
    "user_version",
    "foreign_key_check",
    "foreign_key_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "quick_check",
    "table_info",
    "table_xinfo",
    "function_list",
    "pragma_list",
    "collation_list",
];
const NAME_ARG_PRAGMAS: &[&str] = &[
    "foreign_key_check",
    "foreign_key_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "quick_check",
    "table_info",
    "table_xinfo",
    "table_list",
];

/// Skips whitespace and SQL comments so `-- note\nDELETE ...` is classified by `DELETE`.
fn skip_trivia(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return s;
        }
    }
}

/// Splits off a leading identifier (letters, digits, `_`).
fn word(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Keyword-level screen applied before preparing.
fn screen(sql: &str) -> Result<(), StoreError> {
    let refuse = |why: String| Err(StoreError::ReadOnlyQuery(why));
    let body = skip_trivia(sql);
    if body.trim_start_matches(';').trim().is_empty() {
        return Err(StoreError::invalid("query", "empty SQL"));
    }
    let (kw, rest) = word(body);
    let kw = kw.to_ascii_uppercase();
    if kw.is_empty() || !ALLOWED_START.contains(&kw.as_str()) {
        let shown: String = body.chars().take(20).collect();
        return refuse(format!("statements starting {shown:?} are not allowed"));
    }
    if kw == "PRAGMA" {
        let rest = skip_trivia(rest);
        let (mut name, mut after) = word(rest);
        // `PRAGMA main.table_info(x)`: skip the schema qualifier.
        if let Some(r) = skip_trivia(after).strip_prefix('.') {
            (name, after) = word(skip_trivia(r));
        }
        let name = name.to_ascii_lowercase();
        let after = skip_trivia(after);
        let ok = READ_PRAGMAS.contains(&name.as_str())
            && !after.contains('=')
            && (!after.starts_with('(') || NAME_ARG_PRAGMAS.contains(&name.as_str()));
        if !ok {
            return refuse(format!("PRAGMA {name} with these arguments is not allowed"));
        }
    }
    Ok(())
}

/// Maps a SQLite value to JSON: NULL, integer, real, text; blobs become lowercase hex.
/// Non-finite reals (SQLite can hold ±Inf) become the strings "inf"/"-inf" rather than a
/// misleading null.
fn to_json(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
    }
}

/// Stops the query running on one connection, from any thread: a query that never ends
/// (a recursive CTE without a limit, a huge cross join) must not hold its caller hostage.
/// Cancelling while no statement runs does nothing, so a caller that must be sure keeps
/// cancelling until the query has returned.
#[derive(Clone)]
pub struct QueryCanceller(Arc<rusqlite::InterruptHandle>);

impl QueryCanceller {
    /// The running statement fails with [`StoreError::Interrupted`] at its next step.
    pub fn cancel(&self) {
        self.0.interrupt();
    }
}

/// SQLite's "interrupted" result becomes its own error, so callers can tell a cancelled
/// query from a failed one.
fn interrupted_or(e: rusqlite::Error, ctx: impl FnOnce() -> String) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            StoreError::Interrupted
        }
        source => StoreError::Sqlite {
            context: ctx(),
            source,
        },
    }
}

impl Store {
    /// A handle that cancels whatever query runs on this store's connection.
    pub fn query_canceller(&self) -> QueryCanceller {
        QueryCanceller(Arc::new(self.conn.get_interrupt_handle()))
    }

    /// Runs one read-only SQL statement and returns all its rows.
    /// Refuses writes (even on a read-write handle), transaction control, ATTACH, setter
    /// PRAGMAs, and more than one statement.
    pub fn query(&self, sql: &str) -> Result<QueryResult, StoreError> {
        if skip_trivia(sql).trim_start_matches(';').trim().is_empty() {
            return Err(StoreError::invalid("query", "empty SQL"));
        }
        // Preparing compiles without running, so a syntax error is reported as one before
        // the keyword screen judges the statement.
        let mut stmt = match self.conn.prepare(sql) {
            Ok(s) => s,
            Err(rusqlite::Error::MultipleStatement) => {
                return Err(StoreError::ReadOnlyQuery(
                    "only one statement per query is allowed".into(),
                ));
            }
            Err(e) => {
                return Err(StoreError::Sqlite {
                    context: "preparing query".into(),
                    source: e,
                });
            }
        };
        screen(sql)?;
        if !stmt.readonly() {
            return Err(StoreError::ReadOnlyQuery(
                "the statement would write to the database".into(),
            ));
        }
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let ctx = || "running query".to_string();
        let fail = |e| interrupted_or(e, ctx);
        let mut rows = stmt.query([]).map_err(fail)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(fail)? {
            let vals = (0..columns.len())
                .map(|i| row.get_ref(i).map(to_json))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(fail)?;
            out.push(vals);
        }
        Ok(QueryResult { columns, rows: out })
    }
}
