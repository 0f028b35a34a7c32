//! In-place editing of an experiment file: a tui-textarea buffer validated with
//! `spec::parse_experiment` after every change.

use std::path::{Path, PathBuf};

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;
use tui_textarea::{Input, TextArea};

use super::theme::Theme;
use crate::spec::{Diagnostic, parse_experiment};

pub struct Editor {
    pub path: PathBuf,
    pub textarea: TextArea<'static>,
    /// Problems of the current buffer, sorted by position; empty when it is valid.
    pub diagnostics: Vec<Diagnostic>,
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
        let mut editor = Editor {
            path: path.to_owned(),
            textarea,
            diagnostics: Vec::new(),
            dirty: false,
        };
        editor.validate();
        editor
    }

    /// The buffer as file text (newline-terminated).
    pub fn text(&self) -> String {
        let mut s = self.textarea.lines().join("\n");
        s.push('\n');
        s
    }

    /// Re-parses the buffer and keeps its diagnostics.
    pub fn validate(&mut self) {
        self.diagnostics = match parse_experiment(&self.text(), &self.path) {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics,
        };
    }

    /// Feeds one key to the buffer; re-validates when the text changed.
    pub fn input(&mut self, input: impl Into<Input>) {
        if self.textarea.input(input) {
            self.dirty = true;
            self.validate();
        }
    }
}
