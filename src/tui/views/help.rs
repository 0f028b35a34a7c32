//! Help overlay: every key, grouped by view, in two columns so it fits 80x24.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::tui::app::App;
use crate::tui::keys::KEYS;

fn lines(app: &App) -> Vec<Vec<Line<'static>>> {
    let mut groups: Vec<Vec<Line>> = Vec::new();
    let mut last = "";
    for &(scope, keys, what) in KEYS {
        if scope != last {
            last = scope;
            groups.push(vec![Line::from(Span::styled(
                scope.to_string(),
                app.theme.title().add_modifier(Modifier::UNDERLINED),
            ))]);
        }
        if let Some(g) = groups.last_mut() {
            g.push(Line::from(vec![
                Span::styled(
                    format!(" {keys:<12}"),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(what.to_string()),
            ]));
        }
    }
    groups
}

pub fn draw(frame: &mut Frame, screen: Rect, app: &App) {
    let groups = lines(app);
    let total: usize = groups.iter().map(Vec::len).sum();
    // Whole groups go left until about half the lines are placed.
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for g in groups {
        if left.len() + g.len() / 2 < total / 2 {
            left.extend(g);
        } else {
            right.extend(g);
        }
    }
    let height = (left.len().max(right.len()) as u16 + 2).min(screen.height);
    let width = screen.width.min(80);
    let area = Rect {
        x: screen.x + (screen.width - width) / 2,
        y: screen.y + (screen.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, area);
    let block = Block::bordered().title(" keys · Esc or ? closes ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [l, r] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(Paragraph::new(right), r);
}
