//! Keys of the Curves view: which curve, smoothing and log scale. Display toggles only.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::Command;
use crate::tui::app::{App, CurveKind};

pub(super) fn curves_key(app: &mut App, key: KeyEvent) -> Option<Command> {
    let c = &mut app.curves;
    let i = CurveKind::ALL
        .iter()
        .position(|k| *k == c.kind)
        .unwrap_or(0);
    match key.code {
        KeyCode::Right | KeyCode::Char('l') => c.kind = CurveKind::ALL[(i + 1) % 3],
        KeyCode::Left | KeyCode::Char('h') => c.kind = CurveKind::ALL[(i + 2) % 3],
        KeyCode::Char('e') => c.smooth = !c.smooth,
        KeyCode::Char('L') => c.log_y = !c.log_y,
        _ => {}
    }
    None
}
