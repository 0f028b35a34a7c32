//! Diagnostics: every problem in an experiment file, each with the file, the 1-based position
//! and the dotted key, so an editor can jump to it and a user can fix all of them in one pass.

use std::fmt;
use std::path::PathBuf;

/// One problem in an experiment file.
///
/// `line` and `column` are 1-based; both are 0 when the problem has no position (the file
/// could not be read). `key` is the dotted path of the offending value (e.g. `model.blocks[3]`,
/// `sweep.axes."model.dropout"[1]`), empty when no key is at fault (a syntax error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: key: message`, leaving out the parts that are absent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All the problems found in one experiment file, sorted by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub diagnostics: Vec<Diagnostic>,
}

impl SpecError {
    /// Sorts by position and drops exact repeats (a sweep can hit the same problem twice).
    pub(crate) fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|d| (d.line, d.column));
        let mut seen = Vec::with_capacity(diagnostics.len());
        diagnostics.retain(|d| {
            let new = !seen.contains(d);
            if new {
                seen.push(d.clone());
            }
            new
        });
        SpecError { diagnostics }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: usize, column: usize, key: &str, message: &str) -> Diagnostic {
        Diagnostic {
            file: PathBuf::from("e/x.toml"),
            line,
            column,
            key: key.into(),
            message: message.into(),
        }
    }

    #[test]
    fn display_is_one_line_per_diagnostic_sorted_by_position() {
        let err = SpecError::new(vec![
            diag(9, 2, "train.epochs", "b"),
            diag(3, 7, "", "a"),
            diag(9, 2, "train.epochs", "b"),
            diag(0, 0, "", "cannot read"),
        ]);
        assert_eq!(
            err.to_string(),
            "e/x.toml: cannot read\ne/x.toml:3:7: a\ne/x.toml:9:2: train.epochs: b"
        );
    }
}
