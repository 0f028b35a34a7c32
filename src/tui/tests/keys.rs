//! Key and mouse handling as state changes.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::*;
use crate::tui::app::{Column, View};
use crate::tui::keys::{Command, handle_key, handle_mouse};

fn key(app: &mut App, code: KeyCode) -> Option<Command> {
    handle_key(app, KeyEvent::new(code, KeyModifiers::NONE))
}

fn ids(app: &App) -> Vec<i64> {
    app.runs_view
        .visible
        .iter()
        .map(|&i| app.runs[i].brief.id)
        .collect()
}

#[test]
fn navigation_moves_the_cursor_within_bounds() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    assert_eq!(app.highlighted_id(), Some(1));
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Down);
    assert_eq!(app.highlighted_id(), Some(3));
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(app.highlighted_id(), Some(2));
    key(&mut app, KeyCode::Char('G'));
    assert_eq!(app.highlighted_id(), Some(5));
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.highlighted_id(), Some(5));
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::Up);
    assert_eq!(app.highlighted_id(), Some(1));
}

#[test]
fn tab_shift_tab_and_digits_switch_views() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.view, View::Curves);
    key(&mut app, KeyCode::BackTab);
    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.view, View::Query);
    // Tab leaves the focused SQL prompt too.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.view, View::Runs);
    for (c, v) in ['3', '4', '5', '1'].into_iter().zip([
        View::Table,
        View::Experiments,
        View::Detail,
        View::Runs,
    ]) {
        key(&mut app, KeyCode::Char(c));
        assert_eq!(app.view, v);
    }
}

#[test]
fn sort_cycles_columns_and_reverses() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(app.runs_view.sort, Some(Column::Experiment));
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(app.runs_view.sort, Some(Column::Status));
    // done, done, failed, queued, running
    assert_eq!(ids(&app), vec![1, 5, 3, 4, 2]);
    app.runs_view.sort = Some(Column::Best);
    app.refresh_visible();
    key(&mut app, KeyCode::Char('S'));
    assert_eq!(ids(&app), vec![5, 1, 2, 3, 4]);
    key(&mut app, KeyCode::Char('S'));
    assert_eq!(ids(&app), vec![4, 3, 2, 1, 5]);
    // Cycling wraps back to the id order.
    for _ in 0..app.columns().len() {
        key(&mut app, KeyCode::Char('s'));
        if app.runs_view.sort.is_none() {
            break;
        }
    }
    assert_eq!(app.runs_view.sort, None);
}

#[test]
fn text_and_status_filters() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char('/'));
    assert!(app.runs_view.filtering);
    for c in "growth=24".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    // `q` typed into the filter does not quit.
    assert!(!app.quit);
    assert_eq!(ids(&app), vec![3, 4]);
    key(&mut app, KeyCode::Enter);
    assert!(!app.runs_view.filtering);
    assert_eq!(app.runs_view.filter, "growth=24");
    key(&mut app, KeyCode::Char('/'));
    key(&mut app, KeyCode::Esc);
    assert_eq!(ids(&app).len(), 5);
    key(&mut app, KeyCode::Char('f'));
    assert_eq!(app.runs_view.status_filter, Some(RunStatus::Queued));
    assert_eq!(ids(&app), vec![4]);
    key(&mut app, KeyCode::Char('f'));
    assert_eq!(ids(&app), vec![2]);
    for _ in 0..RunStatus::ALL.len() - 1 {
        key(&mut app, KeyCode::Char('f'));
    }
    assert_eq!(app.runs_view.status_filter, None);
}

#[test]
fn space_selects_several_runs_and_c_clears() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char(' '));
    assert_eq!(
        app.runs_view.selected.iter().copied().collect::<Vec<_>>(),
        vec![1, 3]
    );
    let plotted: Vec<i64> = app.plotted().iter().map(|r| r.brief.id).collect();
    assert_eq!(plotted, vec![1, 3]);
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Char(' '));
    assert_eq!(
        app.runs_view.selected.iter().copied().collect::<Vec<_>>(),
        vec![1]
    );
    key(&mut app, KeyCode::Char('a'));
    assert_eq!(app.runs_view.selected.len(), 5);
    key(&mut app, KeyCode::Char('c'));
    assert!(app.runs_view.selected.is_empty());
}

#[test]
fn help_opens_and_closes_and_q_quits() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char('?'));
    assert!(app.help);
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(
        app.highlighted_id(),
        Some(1),
        "keys do not reach the view under help"
    );
    key(&mut app, KeyCode::Esc);
    assert!(!app.help);
    key(&mut app, KeyCode::Char('?'));
    key(&mut app, KeyCode::Char('?'));
    assert!(!app.help);
    assert_eq!(key(&mut app, KeyCode::Char('q')), Some(Command::Quit));
    assert!(app.quit);
    let (mut app, _p) = loaded(&fx, true);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(handle_key(&mut app, ctrl_c), Some(Command::Quit));
}

#[test]
fn mouse_clicks_select_tabs_and_rows() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    let l = lines(&render(&mut app, 100, 24));
    let click = |x: u16, y: u16| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    };
    // Third run row: header at body line 1 (screen row 2), runs from screen row 3.
    let y = find_line(&l, "✗ failed") as u16;
    handle_mouse(&mut app, click(10, y));
    assert_eq!(app.highlighted_id(), Some(3));
    let x = col_of(&l, 0, "3 Table") as u16;
    handle_mouse(&mut app, click(x + 2, 0));
    assert_eq!(app.view, View::Table);
    let x = col_of(&l, 0, "4 Experiments") as u16;
    handle_mouse(&mut app, click(x, 0));
    assert_eq!(app.view, View::Experiments);
}

#[test]
fn table_axes_cycle_without_repeating_the_row_axis() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char('3'));
    assert_eq!(app.table_axes(), ["model.growth_rate", "model.dropout"]);
    assert_eq!((app.table.row_axis, app.table.col_axis), (0, 1));
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.table.col_axis, 2, "2 = no column axis");
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.table.col_axis, 1, "skips the row axis");
    // The row axis moving onto the column axis swaps them.
    key(&mut app, KeyCode::Char('r'));
    assert_eq!((app.table.row_axis, app.table.col_axis), (1, 0));
}
