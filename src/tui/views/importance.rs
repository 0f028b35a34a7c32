//! The importance panel of the Table view: the experiment's axes ranked by fANOVA, as the
//! worker last computed them (`jobs`), or why there are too few trials.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::report::importance::Ranking;
use crate::tui::app::App;
use crate::tui::format;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let shown = app.table.importance.as_ref().filter(|(input, _)| {
        app.experiments
            .get(app.table.experiment)
            .is_some_and(|e| e.name == input.experiment)
    });
    let title = match shown {
        Some((input, _)) => format!(" importance: {}, n={} ", input.metric, input.trials.len()),
        None => " importance ".into(),
    };
    let mut lines: Vec<Line> = Vec::new();
    match shown.map(|s| &s.1) {
        None => lines.push(Line::from(Span::styled("computing…", t.dim()))),
        Some(Ranking::TooFew(why)) => lines.push(Line::from(Span::styled(why.clone(), t.dim()))),
        Some(Ranking::Ranked(axes)) => {
            for a in axes {
                let name = format::short_key(&a.axis);
                let text = match a.importance {
                    Some(s) => {
                        let bar = "█".repeat((s.mean.clamp(0.0, 1.0) * 10.0).round() as usize);
                        format!(
                            "{name:<13.13} {:>5.1}% ± {:>4.1} {bar}",
                            s.mean * 100.0,
                            s.std * 100.0
                        )
                    }
                    None => format!("{name:<13.13} one value"),
                };
                lines.push(Line::from(text));
            }
        }
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, t.title()));
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}
