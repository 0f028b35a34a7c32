//! Where things are in the experiment file. serde reports byte spans and we report dotted
//! key paths; this module maps both to 1-based line:column of the original text, using the
//! span-preserving `toml_edit` parse so that validation errors (found after deserialization,
//! when serde's spans are gone) still point at the offending value.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use toml_edit::{Document, Item, TableLike, Value};

use super::error::{Diagnostic, SpecError};

/// 1-based (line, column) of byte offset `at` in `text`; columns count characters.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    // A byte-order mark is not a column.
    let column = before[line_start..]
        .chars()
        .filter(|&c| c != '\u{feff}')
        .count()
        + 1;
    (line, column)
}

/// A dotted-path segment as written in diagnostics: bare when TOML allows, else quoted.
pub(crate) fn segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        serde_json::Value::String(key.to_string()).to_string()
    }
}

/// `parent.key` (or `key` at the root).
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        segment(key)
    } else {
        format!("{parent}.{}", segment(key))
    }
}

/// The parent of a diagnostic path: `a.b[2]` -> `a.b`, `a.b` -> `a`, `a` -> ``.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with(']')
        && let Some(i) = path.rfind('[')
    {
        return Some(&path[..i]);
    }
    // The last '.' outside quotes separates the last segment.
    let mut in_quotes = false;
    let mut escaped = false;
    let mut last_dot = None;
    for (i, c) in path.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '.' if !in_quotes => last_dot = Some(i),
            _ => {}
        }
    }
    Some(last_dot.map_or("", |i| &path[..i]))
}

struct Entry {
    path: String,
    /// The key as written (unquoted), empty for array elements.
    name: String,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    /// A `[table]` with a header line of its own.
    header: bool,
}

/// Every key, table and array element of a parsed file with its spans, in file order.
pub(crate) struct SpanIndex {
    entries: Vec<Entry>,
    /// The first entry of each path, the entries under each parent, and the entry of each
    /// key or value span: built once, so that a lookup costs the same in a file of 200,000
    /// values as in one of ten (a scan per lookup made checking such a file quadratic).
    by_path: HashMap<String, usize>,
    children: HashMap<String, Vec<usize>>,
    by_key_span: HashMap<(usize, usize), usize>,
    by_value_span: HashMap<(usize, usize), usize>,
    /// Why `toml_edit` rejected a file (message, span); the index is then empty.
    pub(crate) error: Option<(String, Option<Range<usize>>)>,
}

impl SpanIndex {
    /// Index `text`; a file `toml_edit` cannot parse yields an empty index (all lookups then
    /// fall back to line 1, column 1) and keeps the reason in `error`.
    pub(crate) fn new(text: &str) -> Self {
        let mut index = SpanIndex {
            entries: Vec::new(),
            by_path: HashMap::new(),
            children: HashMap::new(),
            by_key_span: HashMap::new(),
            by_value_span: HashMap::new(),
            error: None,
        };
        match Document::parse(text) {
            Ok(doc) => index.walk_item(doc.as_item(), ""),
            Err(e) => index.error = Some((e.message().trim().replace('\n', " "), e.span())),
        }
        index.build_lookups();
        index
    }

    fn build_lookups(&mut self) {
        let span = |r: &Range<usize>| (r.start, r.end);
        for (i, e) in self.entries.iter().enumerate() {
            self.by_path.entry(e.path.clone()).or_insert(i);
            if let Some(p) = parent(&e.path) {
                self.children.entry(p.to_string()).or_default().push(i);
            }
            if let Some(k) = &e.key {
                self.by_key_span.entry(span(k)).or_insert(i);
            }
            if let Some(v) = &e.value {
                self.by_value_span.entry(span(v)).or_insert(i);
            }
        }
    }

    fn children_of(&self, path: &str) -> impl Iterator<Item = &Entry> {
        self.children
            .get(path)
            .into_iter()
            .flatten()
            .map(|&i| &self.entries[i])
    }

    fn walk_table(&mut self, table: &dyn TableLike, path: &str) {
        for (name, item) in table.iter() {
            let child = join(path, name);
            let implicit = item.as_table().is_some_and(|t| t.is_implicit());
            self.entries.push(Entry {
                path: child.clone(),
                name: name.to_string(),
                key: table.key(name).and_then(|k| k.span()),
                // An implicit table's span is just its key; treat it as having none.
                value: if implicit { None } else { item.span() },
                header: item.is_table() && !implicit,
            });
            self.walk_item(item, &child);
        }
    }

    fn walk_item(&mut self, item: &Item, path: &str) {
        match item {
            Item::Value(value) => self.walk_value(value, path),
            Item::Table(table) => self.walk_table(table, path),
            Item::ArrayOfTables(tables) => {
                for (i, table) in tables.iter().enumerate() {
                    let child = format!("{path}[{i}]");
                    self.entries.push(Entry {
                        path: child.clone(),
                        name: String::new(),
                        key: None,
                        value: table.span(),
                        header: true,
                    });
                    self.walk_table(table, &child);
                }
            }
            Item::None => {}
        }
    }

    fn walk_value(&mut self, value: &Value, path: &str) {
        match value {
            Value::InlineTable(table) => self.walk_table(table, path),
            Value::Array(array) => {
                for (i, element) in array.iter().enumerate() {
                    let child = format!("{path}[{i}]");
                    self.entries.push(Entry {
                        path: child.clone(),
                        name: String::new(),
                        key: None,
                        value: element.span(),
                        header: false,
                    });
                    self.walk_value(element, &child);
                }
            }
            _ => {}
        }
    }

    fn entry(&self, path: &str) -> Option<&Entry> {
        self.by_path.get(path).map(|&i| &self.entries[i])
    }

    /// Whether the file spells out `path`.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.entry(path).is_some()
    }

    /// Byte offset of `path`'s value (a table's header). An absent path (a defaulted key)
    /// falls back to its nearest present ancestor; a table without a header of its own (made
    /// by dotted keys or `[a.b]`) to its first key; nothing at all to offset 0.
    pub(crate) fn value_offset(&self, path: &str) -> usize {
        let mut current = Some(path);
        while let Some(p) = current {
            if p.is_empty() {
                return 0;
            }
            if let Some(e) = self.entry(p) {
                if let Some(span) = e.value.clone().or_else(|| self.first_child_key(p)) {
                    return span.start;
                }
                if let Some(span) = &e.key {
                    return span.start;
                }
            }
            current = parent(p);
        }
        0
    }

    /// Byte offset of the key of `path` itself (for unknown keys), else of its value.
    pub(crate) fn key_offset(&self, path: &str) -> usize {
        match self.entry(path).and_then(|e| e.key.clone()) {
            Some(span) => span.start,
            None => self.value_offset(path),
        }
    }

    /// Where a header-less table starts: its first child's header, else that child's key.
    fn first_child_key(&self, path: &str) -> Option<Range<usize>> {
        let child = self.children_of(path).next()?;
        if child.header {
            child.value.clone()
        } else {
            child.key.clone()
        }
    }

    /// The path whose key (`true`) or value (`false`) occupies exactly `span`: how serde's
    /// errors, which only carry a span, get their key.
    pub(crate) fn path_at(&self, span: &Range<usize>) -> Option<(&str, bool)> {
        let key = (span.start, span.end);
        if let Some(&i) = self.by_key_span.get(&key) {
            return Some((&self.entries[i].path, true));
        }
        let &i = self.by_value_span.get(&key)?;
        Some((&self.entries[i].path, false))
    }

    /// Every path in the file, in file order.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.path.as_str())
    }

    /// The keys of the table at `path`, as written and in file order.
    pub(crate) fn keys_of(&self, path: &str) -> Vec<&str> {
        self.children_of(path)
            .filter(|e| !e.name.is_empty())
            .map(|e| e.name.as_str())
            .collect()
    }
}

/// Collects diagnostics for one file, locating them through its [`SpanIndex`].
pub(crate) struct Reporter<'a> {
    file: &'a Path,
    text: &'a str,
    pub(crate) index: SpanIndex,
    diagnostics: Vec<Diagnostic>,
    /// Located like diagnostics, but they do not make the file invalid.
    warnings: Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Self {
        Reporter {
            file,
            text,
            index: SpanIndex::new(text),
            diagnostics: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Something worth saying about the value at `path` that still runs.
    pub(crate) fn warn_at_value(&mut self, path: &str, message: impl Into<String>) {
        let (line, column) = line_col(self.text, self.index.value_offset(path));
        self.warnings.push(Diagnostic {
            file: self.file.to_path_buf(),
            line,
            column,
            key: path.to_string(),
            message: message.into(),
        });
    }

    /// The warnings so far, each as `file:line:col: key: message`.
    pub(crate) fn warnings(&self) -> Vec<String> {
        self.warnings.iter().map(|d| d.to_string()).collect()
    }

    /// A problem with the value at `path` (or where it would go, when it is absent).
    pub(crate) fn at_value(&mut self, path: &str, message: impl Into<String>) {
        let offset = self.index.value_offset(path);
        self.at_offset(offset, path, message);
    }

    /// A problem with the key `path` itself (an unknown key).
    pub(crate) fn at_key(&mut self, path: &str, message: impl Into<String>) {
        let offset = self.index.key_offset(path);
        self.at_offset(offset, path, message);
    }

    pub(crate) fn at_offset(&mut self, offset: usize, key: &str, message: impl Into<String>) {
        let (line, column) = line_col(self.text, offset);
        self.diagnostics.push(Diagnostic {
            file: self.file.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        });
    }

    /// All diagnostics so far, sorted, as an error; `Ok` when there are none.
    pub(crate) fn finish(self) -> Result<(), SpecError> {
        if self.diagnostics.is_empty() {
            Ok(())
        } else {
            Err(SpecError::new(self.diagnostics))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"x\"\n[model]\nblocks = [4, 4, 32]\n\
        opt = { kind = \"adam\", lr = 1e-4 }\n[sweep.axes]\n\"model.dropout\" = [0.0, 0.2]\n";

    fn at(index: &SpanIndex, path: &str) -> (usize, usize) {
        line_col(TEXT, index.value_offset(path))
    }

    #[test]
    fn line_col_is_one_based_and_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 0), (1, 1));
        assert_eq!(line_col("ab\ncé d", 3), (2, 1));
        assert_eq!(line_col("ab\ncé d", "ab\ncé ".len()), (2, 4));
        assert_eq!(line_col("\u{feff}a = 1", "\u{feff}a = ".len()), (1, 5));
    }

    #[test]
    fn paths_reach_values_in_arrays_inline_tables_and_quoted_keys() {
        let index = SpanIndex::new(TEXT);
        assert_eq!(at(&index, "model.blocks[2]"), (3, 17));
        assert_eq!(at(&index, "model.opt.lr"), (4, 29));
        assert_eq!(at(&index, "sweep.axes.\"model.dropout\"[1]"), (6, 25));
        assert_eq!(
            line_col(TEXT, index.key_offset("sweep.axes.\"model.dropout\"")),
            (6, 1)
        );
    }

    #[test]
    fn absent_keys_fall_back_to_their_table_header_or_the_file_start() {
        let index = SpanIndex::new(TEXT);
        assert_eq!(at(&index, "model.dropout"), (2, 1));
        assert_eq!(at(&index, "model.opt.eps"), (4, 7));
        assert_eq!(at(&index, "train.epochs"), (1, 1));
        // `sweep` has no header of its own: its first key, `axes`, in `[sweep.axes]`.
        assert_eq!(at(&index, "sweep.repeats"), (5, 1));
    }

    #[test]
    fn spans_map_back_to_paths() {
        let index = SpanIndex::new(TEXT);
        let start = TEXT.find("32").unwrap();
        assert_eq!(
            index.path_at(&(start..start + 2)),
            Some(("model.blocks[2]", false))
        );
        assert_eq!(index.path_at(&(0..4)), Some(("name", true)));
        assert_eq!(index.keys_of("sweep.axes"), vec!["model.dropout"]);
        assert_eq!(parent("sweep.axes.\"model.dropout\""), Some("sweep.axes"));
        assert_eq!(parent("model.blocks[2]"), Some("model.blocks"));
    }
}
