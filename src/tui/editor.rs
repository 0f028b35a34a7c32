//! In-place editing of an experiment file: a tui-textarea buffer whose every change gets a
//! new revision. The check itself (`spec::parse_experiment`) runs on the `validation`
//! worker: a 200,000-value axis takes seconds to check, too long for a keystroke.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;
use tui_textarea::{Input, TextArea};

use super::theme::Theme;
use crate::spec::Diagnostic;

/// Revisions are unique across editors, so a late check of a closed editor's text can never
/// pass for one of the file opened after it.
static NEXT_REVISION: AtomicU64 = AtomicU64::new(1);

fn next_revision() -> u64 {
    NEXT_REVISION.fetch_add(1, Ordering::Relaxed)
}

pub struct Editor {
    pub path: PathBuf,
    pub textarea: TextArea<'static>,
    /// Problems of the text at revision `checked`, sorted by position; empty when valid.
    pub diagnostics: Vec<Diagnostic>,
    /// The buffer's current revision.
    pub revision: u64,
    /// The revision `diagnostics` describe; `None` before the first check is back.
    pub checked: Option<u64>,
    /// Changed since opened or last saved.
    pub dirty: bool,
}

impl Editor {
    pub fn new(path: &Path, text: &str, theme: Theme) -> Editor {
        let mut textarea = TextArea::new(text.lines().map(String::from).collect());
        textarea.set_line_number_style(theme.dim());
        textarea.set_cursor_line_style(Style::default());
        textarea.set_selection_style(Style::default().add_modifier(Modifier::REVERSED));
        textarea.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
        textarea.set_block(
            Block::bordered()
                .title(format!(" {} ", path.display()))
                .title_bottom(Line::from(Span::styled(
                    " Ctrl-S save · Esc close (asks if unsaved) ",
                    theme.dim(),
                ))),
        );
        Editor {
            path: path.to_owned(),
            textarea,
            diagnostics: Vec::new(),
            revision: next_revision(),
            checked: None,
            dirty: false,
        }
    }

    /// The buffer as file text (newline-terminated).
    pub fn text(&self) -> String {
        let mut s = self.textarea.lines().join("\n");
        s.push('\n');
        s
    }

    /// Whether the diagnostics shown are not (yet) those of the current text.
    pub fn checking(&self) -> bool {
        self.checked != Some(self.revision)
    }

    /// Takes the result of checking `revision`; one for an older text is ignored. Returns
    /// whether it was taken.
    pub fn checked_as(&mut self, revision: u64, diagnostics: Vec<Diagnostic>) -> bool {
        if revision != self.revision {
            return false;
        }
        self.diagnostics = diagnostics;
        self.checked = Some(revision);
        true
    }

    /// Feeds one key to the buffer; a change makes a new revision, to be checked.
    pub fn input(&mut self, input: impl Into<Input>) {
        if self.textarea.input(input) {
            self.dirty = true;
            self.revision = next_revision();
        }
    }
}
