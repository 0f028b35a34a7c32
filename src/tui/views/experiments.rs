//! Experiments view: the TOML files of the experiments folder, a preview, and the in-place
//! editor with its diagnostics beside the text.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::fit;
use crate::tui::app::{App, Leave};

fn split(body: Rect) -> [Rect; 2] {
    let w = (body.width / 3).clamp(16, 30);
    Layout::horizontal([Constraint::Length(w), Constraint::Min(0)]).areas(body)
}

/// The file list row at screen position (x, y), if any.
pub fn row_at(app: &App, body: Rect, x: u16, y: u16) -> Option<usize> {
    let [list, _] = split(body);
    if x < list.x || x >= list.x + list.width || y <= list.y || y + 1 >= list.y + list.height {
        return None;
    }
    let i = (y - list.y - 1) as usize;
    (i < app.files.files.len()).then_some(i)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let [list, main] = split(area);
    let width = list.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = app
        .files
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let name = f
                .file_name()
                .map_or("?".into(), |n| n.to_string_lossy().into_owned());
            let style = if i == app.files.cursor {
                t.cursor()
            } else {
                Default::default()
            };
            Line::from(Span::styled(fit(&name, width), style))
        })
        .collect();
    if app.files.files.is_empty() {
        lines.push(Line::from(Span::styled("(no .toml files)", t.dim())));
    }
    if let Some(name) = &app.files.naming {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("new experiment name:", t.title())));
        lines.push(Line::from(format!("{name}█")));
    }
    let title = format!(" {} ", app.paths.experiments_dir.display());
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title)),
        list,
    );

    if let Some(editor) = &app.files.editor {
        draw_editor(frame, main, app, editor);
        if let Some(leave) = app.files.leaving {
            draw_leaving(frame, main, app, editor, leave);
        }
        return;
    }
    let hint = " Enter edit · n new · r launch · E $EDITOR ";
    let (title, text) = match &app.files.preview {
        Some((path, text)) if Some(path) == app.highlighted_file() => {
            (format!(" {} ", path.display()), text.as_str())
        }
        _ => (" preview ".to_string(), ""),
    };
    frame.render_widget(
        Paragraph::new(text).block(
            Block::bordered()
                .title(title)
                .title_bottom(Line::from(Span::styled(hint, t.dim()))),
        ),
        main,
    );
}

fn draw_editor(frame: &mut Frame, area: Rect, app: &App, editor: &crate::tui::editor::Editor) {
    let t = app.theme;
    let [text_area, diag_area] = if area.width >= 90 {
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area)
    } else {
        Layout::vertical([Constraint::Min(5), Constraint::Length(6)]).areas(area)
    };
    frame.render_widget(&editor.textarea, text_area);
    let lines: Vec<Line> = if editor.checked.is_none() {
        vec![Line::from(Span::styled("checking…", t.dim()))]
    } else if editor.diagnostics.is_empty() {
        let note = if editor.checking() {
            "✓ valid experiment (before the last edit)"
        } else {
            "✓ valid experiment"
        };
        vec![Line::from(Span::styled(note, t.ok()))]
    } else {
        editor
            .diagnostics
            .iter()
            .map(|d| {
                let key = if d.key.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", d.key)
                };
                Line::from(vec![
                    Span::styled(format!("✗ {}:{} ", d.line, d.column), t.error()),
                    Span::raw(format!("{key}{}", d.message)),
                ])
            })
            .collect()
    };
    let (row, col) = editor.textarea.cursor();
    // While a check runs the last result stays up, marked as older than the text.
    let problems = if editor.checking() {
        "checking…".to_string()
    } else {
        format!("{} problem(s)", editor.diagnostics.len())
    };
    let title = format!(
        " {}:{}{} · {problems} ",
        row + 1,
        col + 1,
        if editor.dirty { " [modified]" } else { "" },
    );
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title)),
        diag_area,
    );
}

/// The unsaved-changes question, over the editor.
fn draw_leaving(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    editor: &crate::tui::editor::Editor,
    leave: Leave,
) {
    let t = app.theme;
    let name = editor
        .path
        .file_name()
        .map_or("?".into(), |n| n.to_string_lossy().into_owned());
    let then = match leave {
        Leave::Close => "close",
        Leave::Quit => "quit",
    };
    let lines = vec![
        Line::from(Span::styled(
            format!("{name} has unsaved changes."),
            t.title(),
        )),
        Line::from(""),
        Line::from(format!("  s  save and {then}")),
        Line::from(format!("  d  discard the changes and {then}")),
        Line::from("  Esc  keep editing"),
    ];
    let w = (lines.iter().map(Line::width).max().unwrap_or(20) as u16 + 4).min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" unsaved changes ")),
        popup,
    );
}
