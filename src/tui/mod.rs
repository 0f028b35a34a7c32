//! The full-screen dashboard (`densenet-lab` with no arguments): watches the store
//! read-only, compares runs, edits and launches experiments, queries results.
//!
//! Layout follows the usual component split: `app` (state), `keys` (input -> state, pure),
//! `poll` (store -> state), `views` (state -> screen, pure), `actions` (I/O for commands),
//! `terminal` (setup/restore).

pub mod actions;
pub mod app;
pub mod data;
pub mod editor;
pub mod format;
pub mod keys;
pub mod poll;
pub mod terminal;
pub mod theme;
pub mod views;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ratatui::crossterm::event::{self, Event};

use app::{App, Paths};
use keys::Command;
use poll::Poller;
use terminal::Term;
use theme::Theme;

/// Longest wait for input; idle, the loop wakes this often and does almost nothing.
const INPUT_WAIT: Duration = Duration::from_millis(250);
/// The store is polled at most this often.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// Redraws are capped at 10 per second.
const FRAME_MIN: Duration = Duration::from_millis(100);

/// Opens the dashboard on `db` (which may not exist yet) and the experiment files in
/// `experiments_dir`; `binary` is the densenet-lab executable the launch key starts.
pub fn run_dashboard(db: &Path, experiments_dir: &Path, binary: &Path) -> anyhow::Result<()> {
    let paths = Paths {
        db: db.to_owned(),
        experiments_dir: experiments_dir.to_owned(),
        binary: binary.to_owned(),
        runs_dir: PathBuf::from("runs"),
        charts_dir: PathBuf::from("charts"),
    };
    let mut app = App::new(paths, Theme::from_env());
    let mut poller = Poller::new();
    let mut term = terminal::setup().context("setting up the terminal")?;
    let result = event_loop(&mut term, &mut app, &mut poller);
    terminal::restore().context("restoring the terminal")?;
    result
}

fn event_loop(term: &mut Term, app: &mut App, poller: &mut Poller) -> anyhow::Result<()> {
    let mut dirty = true;
    let mut last_poll: Option<Instant> = None;
    let mut last_draw: Option<Instant> = None;
    loop {
        if last_poll.is_none_or(|t| t.elapsed() >= POLL_EVERY) {
            dirty |= poller.poll(app);
            last_poll = Some(Instant::now());
        }
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME_MIN) {
            let size = term.size()?;
            app.screen = ratatui::layout::Rect::new(0, 0, size.width, size.height);
            term.draw(|f| views::draw(f, app))?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        let mut wait = INPUT_WAIT
            .min(POLL_EVERY.saturating_sub(last_poll.map_or(POLL_EVERY, |t| t.elapsed())));
        if dirty {
            wait = wait.min(FRAME_MIN.saturating_sub(last_draw.map_or(FRAME_MIN, |t| t.elapsed())));
        }
        if !event::poll(wait)? {
            continue;
        }
        // Drain everything pending, then redraw once.
        loop {
            let cmd = match event::read()? {
                Event::Key(k) => keys::handle_key(app, k),
                Event::Mouse(m) => keys::handle_mouse(app, m),
                Event::Resize(w, h) => {
                    app.screen = ratatui::layout::Rect::new(0, 0, w, h);
                    None
                }
                _ => None,
            };
            dirty = true;
            if let Some(cmd) = cmd {
                execute(cmd, term, app, poller)?;
            }
            if app.quit {
                return Ok(());
            }
            if !event::poll(Duration::ZERO)? {
                break;
            }
        }
        poller.sync(app);
    }
}

fn execute(
    cmd: Command,
    term: &mut Term,
    app: &mut App,
    poller: &mut Poller,
) -> anyhow::Result<()> {
    match cmd {
        Command::Quit => app.quit = true,
        Command::RunQuery(sql) => actions::run_query(app, poller.store(), &sql),
        Command::OpenEditor(path) => actions::open_editor(app, &path),
        Command::SaveEditor => actions::save_editor(app),
        Command::NewExperiment(name) => actions::new_experiment(app, &name),
        Command::Launch(path) => actions::launch_file(app, &path),
        Command::ExportChart => actions::export_chart(app),
        Command::StopRun(id) => actions::stop_run(app, id),
        Command::RerunRun(id) => actions::rerun_run(app, id),
        Command::ExternalEdit(path) => {
            let editor = std::env::var("VISUAL")
                .or_else(|_| std::env::var("EDITOR"))
                .unwrap_or_else(|_| "vi".into());
            let status = terminal::suspended(term, || {
                std::process::Command::new("sh")
                    .arg("-c")
                    .arg(format!("{editor} \"$1\""))
                    .arg("sh")
                    .arg(&path)
                    .status()
            })?;
            match status {
                Ok(s) if s.success() => app.info(format!("edited {}", path.display())),
                Ok(s) => app.error(format!("{editor} exited with {s}")),
                Err(e) => app.error(format!("cannot run {editor}: {e}")),
            }
            app.files.preview = None;
            if app.files.editor.as_ref().is_some_and(|e| e.path == path) {
                actions::open_editor(app, &path);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
