//! Terminal setup and restore. The panic hook restores the terminal before the panic
//! message is printed, so a crash never leaves a raw, alternate-screen terminal behind.

use std::io::{self, Stdout};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Raw mode, alternate screen, mouse capture; installs the panic hook.
pub fn setup() -> io::Result<Term> {
    install_panic_hook();
    enter()?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    term.clear()?;
    Ok(term)
}

fn enter() -> io::Result<()> {
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)
}

/// Undoes [`setup`]; safe to call more than once.
pub fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    )?;
    raw
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = restore();
        previous(info);
    }));
}

/// Leaves the dashboard to run `f` (an external editor) on the normal screen, then
/// comes back and repaints everything.
pub fn suspended<T>(term: &mut Term, f: impl FnOnce() -> T) -> io::Result<T> {
    restore()?;
    let out = f();
    enter()?;
    term.clear()?;
    Ok(out)
}
