//! Colours, or none: every coloured style goes through [`Theme`], so NO_COLOR turns all of
//! them off while modifiers (bold, reversed) and text symbols still mark state.

use ratatui::style::{Color, Modifier, Style};

use crate::store::RunStatus;

/// Series colours, cycled; markers (see `views::curves`) tell series apart without them.
const PALETTE: [Color; 8] = [
    Color::Cyan,
    Color::Yellow,
    Color::Green,
    Color::Magenta,
    Color::LightRed,
    Color::LightBlue,
    Color::White,
    Color::LightGreen,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to a non-empty value (no-color.org).
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    /// Foreground colour `c`, or the plain style without colour.
    pub fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn status(self, s: RunStatus) -> Style {
        let c = match s {
            RunStatus::Queued => Color::DarkGray,
            RunStatus::Running => Color::Cyan,
            RunStatus::Done => Color::Green,
            RunStatus::Failed => Color::Red,
            RunStatus::Diverged => Color::Magenta,
            RunStatus::Stopped => Color::Blue,
            RunStatus::Interrupted => Color::Yellow,
            RunStatus::Paused => Color::LightBlue,
            RunStatus::Pruned => Color::DarkGray,
        };
        let style = self.fg(c);
        if s == RunStatus::Running {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }

    pub fn series(self, i: usize) -> Style {
        self.fg(PALETTE[i % PALETTE.len()])
    }

    /// The highlighted row / cursor: reversed reads without colour too.
    pub fn cursor(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }
}
