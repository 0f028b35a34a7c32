//! State of the Experiments view: the file list and preview, the in-place editor, the
//! "new experiment" prompt and the pending unsaved-changes question.

use std::path::PathBuf;

use super::App;
use crate::tui::editor::Editor;

#[derive(Default)]
pub struct FilesState {
    pub files: Vec<PathBuf>,
    pub cursor: usize,
    /// The highlighted file's path and text, as last read.
    pub preview: Option<(PathBuf, String)>,
    pub editor: Option<Editor>,
    /// The "new experiment" name prompt, while open.
    pub naming: Option<String>,
    /// The editor has unsaved changes and the user asked to leave: the question
    /// (save / discard / keep editing) is on screen, and this is what happens after it.
    pub leaving: Option<Leave>,
}

/// What the user wanted when the unsaved-changes question came up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    /// Close the editor (Esc).
    Close,
    /// Quit the dashboard (q, Ctrl-C).
    Quit,
}

impl App {
    pub fn highlighted_file(&self) -> Option<&PathBuf> {
        self.files.files.get(self.files.cursor)
    }
}
