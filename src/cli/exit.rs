//! Exit codes: one rule for every command, stated once here and printed by `--help`.

/// A mistake in what the user asked for (exit code 2), as opposed to a failure while doing it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Every exit code the program gives, with what it means: the README's table and `--help`
/// say the same (tests hold them to this list).
pub const EXIT_CODES: [(i32, &str); 5] = [
    (
        0,
        "success; also when whoever reads the output stops early (`densenet-lab runs | head -1`)",
    ),
    (
        1,
        "a failure while doing the work: a trial failed, a file could not be written, anything unexpected",
    ),
    (
        2,
        "bad input: an unknown command, flag or value (`run --jobs 0`), an invalid experiment file, \
         a missing or broken data file (`data verify` included), an unknown run id or experiment name, \
         SQL that writes or does not parse, a file that is not a densenet-lab database, a database \
         path that cannot be written, an unknown metric or chart format",
    ),
    (
        124,
        "`query --timeout SECONDS` ran out before the query finished (as timeout(1))",
    ),
    (
        130,
        "interrupted by Ctrl-C (SIGINT): `run` asks its trials to stop and exits when they have; `query` stops its statement",
    ),
];

/// The top-level `--help`'s footer (`-h` shows the short one).
pub const HELP_SHORT: &str = "Exit codes: 0 success, 1 failure, 2 bad input, 124 query timed out, 130 interrupted (--help says more).";
const ENVIRONMENT: &str = "Environment: DENSENET_LAB_DB (default of --db), DENSENET_LAB_DATA \
    (default of --data-dir), DENSENET_LAB_ENGINE=burn (train on burn's graph instead of the CPU \
    executor), RAYON_NUM_THREADS (CPU threads).";

/// The top-level `--help`'s footer, written from [`EXIT_CODES`] so the two cannot drift.
pub fn help_long() -> String {
    let mut text = String::from("Exit codes:\n");
    for (code, meaning) in EXIT_CODES {
        for (i, line) in wrap(meaning, 90).iter().enumerate() {
            let label = if i == 0 {
                code.to_string()
            } else {
                String::new()
            };
            text.push_str(&format!("  {label:<5}{line}\n"));
        }
    }
    text.push('\n');
    text.push_str(&wrap(ENVIRONMENT, 97).join("\n"));
    text
}

/// `text`'s words in lines of at most `width` characters (a longer word stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Exit code for an error, by [`EXIT_CODES`]. 0 for a closed output pipe: the reader had what
/// it wanted, which is a normal end for a command-line tool.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err.is::<crate::runner::Interrupted>() {
        return 130;
    }
    if let Some(stopped) = err.downcast_ref::<super::query::QueryStopped>() {
        return stopped.exit_code();
    }
    if is_broken_pipe(err) {
        return 0;
    }
    let bad_input = err.chain().any(|e| {
        e.is::<UsageError>()
            || e.is::<crate::runner::TrialRefused>()
            || e.is::<crate::runner::SpaceChanged>()
            || e.is::<crate::spec::SpecError>()
            || e.is::<crate::data::DataError>()
            || e.downcast_ref::<crate::store::StoreError>()
                .is_some_and(|s| s.is_bad_input())
            || e.downcast_ref::<crate::plot::PlotError>()
                .is_some_and(|p| p.is_bad_input())
    });
    if bad_input { 2 } else { 1 }
}

/// serde_json and csv keep the io::Error inside rather than as its source, so each is asked
/// apart.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|json| json.io_error_kind() == Some(BrokenPipe))
            || e.downcast_ref::<csv::Error>().is_some_and(
                |c| matches!(c.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe),
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--help` prints the same rule as the table the README and the tests use, and its lines
    /// stay within a terminal's width.
    #[test]
    fn long_help_lists_every_exit_code_with_its_meaning() {
        let help: String = help_long().split_whitespace().collect::<Vec<_>>().join(" ");
        for (code, meaning) in EXIT_CODES {
            let meaning: String = meaning.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                help.contains(&format!("{code} {meaning}")),
                "--help lacks exit code {code}: {meaning}"
            );
            assert!(HELP_SHORT.contains(&code.to_string()));
        }
        assert!(
            help_long().lines().all(|l| l.len() <= 97),
            "{}",
            help_long()
        );
    }

    #[test]
    fn a_closed_pipe_is_success_and_other_io_errors_are_failures() {
        let pipe: anyhow::Error = std::io::Error::from(std::io::ErrorKind::BrokenPipe).into();
        assert_eq!(exit_code(&pipe.context("writing the table")), 0);
        let other: anyhow::Error =
            std::io::Error::from(std::io::ErrorKind::PermissionDenied).into();
        assert_eq!(exit_code(&other), 1);
        let csv_pipe: anyhow::Error =
            csv::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe)).into();
        assert_eq!(exit_code(&csv_pipe), 0);
        let usage: anyhow::Error = UsageError("no run with id 9".into()).into();
        assert_eq!(exit_code(&usage), 2);
    }
}
