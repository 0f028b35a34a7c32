//! Keys of the Table view: which experiment, which axes, best or final accuracy, scroll.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::Command;
use crate::tui::app::App;

pub(super) fn table_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let n_axes = app.table_axes().len();
    let t = &mut app.table;
    match key.code {
        KeyCode::Char('e') if !app.experiments.is_empty() => {
            t.experiment = (t.experiment + 1) % app.experiments.len();
            t.row_axis = 0;
            t.col_axis = 1;
            t.scroll = 0;
        }
        KeyCode::Char('r') if n_axes > 0 => {
            let old = t.row_axis;
            t.row_axis = (t.row_axis + 1) % n_axes;
            if t.row_axis == t.col_axis {
                t.col_axis = old;
            }
        }
        KeyCode::Char('c') => {
            t.col_axis = (t.col_axis + 1) % (n_axes + 1);
            if t.col_axis == t.row_axis {
                t.col_axis = (t.col_axis + 1) % (n_axes + 1);
            }
        }
        KeyCode::Char('b') => t.final_acc = !t.final_acc,
        KeyCode::Char('v') => t.show_ci = !t.show_ci,
        KeyCode::Down | KeyCode::Char('j') => t.scroll += 1,
        KeyCode::Up | KeyCode::Char('k') => t.scroll = t.scroll.saturating_sub(1),
        KeyCode::Char('g') => t.scroll = 0,
        _ => {}
    }
    None
}
