//! The full-screen dashboard (`densenet-lab` with no arguments): watches the store
//! read-only, compares runs, edits and launches experiments, queries results.
//!
//! Layout follows the usual component split: `app` (state), `keys` (input -> state, pure),
//! `poll` (store -> updates) on the thread of `feed`, which hands them to `update`
//! (updates -> state), `views` (state -> screen, pure), `actions` (I/O for commands),
//! `jobs` (the slow ones, on worker threads, the editor's `validation` among them),
//! `terminal` (setup/restore).

pub mod actions;
pub mod app;
pub mod data;
pub mod editor;
pub mod feed;
pub mod format;
pub mod jobs;
pub mod keys;
pub mod poll;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod validation;
pub mod views;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ratatui::crossterm::event::{self, Event};

use app::{App, Leave, Paths};
use feed::Feed;
use jobs::Jobs;
use keys::Command;
use terminal::Term;
use theme::Theme;

/// Longest wait for input; idle, the loop wakes this often to take the poller's updates.
const INPUT_WAIT: Duration = Duration::from_millis(250);
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
    let mut feed = Feed::start(db);
    let mut jobs = Jobs::new();
    let mut term = terminal::setup().context("setting up the terminal")?;
    let result = event_loop(&mut term, &mut app, &mut feed, &mut jobs);
    terminal::restore().context("restoring the terminal")?;
    result
}

fn event_loop(
    term: &mut Term,
    app: &mut App,
    feed: &mut Feed,
    jobs: &mut Jobs,
) -> anyhow::Result<()> {
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        dirty |= feed.drain(app);
        dirty |= feed.sync(app);
        dirty |= jobs.poll(app);
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME_MIN) {
            let size = term.size()?;
            app.screen = ratatui::layout::Rect::new(0, 0, size.width, size.height);
            term.draw(|f| views::draw(f, app))?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        let mut wait = INPUT_WAIT;
        if dirty {
            wait = wait.min(FRAME_MIN.saturating_sub(last_draw.map_or(FRAME_MIN, |t| t.elapsed())));
        }
        if jobs.busy() {
            // A worker may report any moment: look again soon.
            wait = wait.min(FRAME_MIN);
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
                execute(cmd, term, app, jobs)?;
            }
            if app.quit {
                return Ok(());
            }
            if !event::poll(Duration::ZERO)? {
                break;
            }
        }
    }
}

/// Carries out one command. Anything that can take long goes to `jobs`.
fn execute(cmd: Command, term: &mut Term, app: &mut App, jobs: &mut Jobs) -> anyhow::Result<()> {
    match cmd {
        Command::ExternalEdit(path) => external_edit(term, app, &path)?,
        other => execute_in_place(other, app, jobs),
    }
    Ok(())
}

/// The commands that do not need the terminal (all but `ExternalEdit`); tests drive these.
pub fn execute_in_place(cmd: Command, app: &mut App, jobs: &mut Jobs) {
    match cmd {
        Command::Quit => app.quit = true,
        Command::RunQuery(sql) => jobs.start_query(app, &sql),
        Command::CancelQuery => jobs.cancel_query(app),
        Command::OpenEditor(path) => actions::open_editor(app, &path),
        Command::SaveEditor => {
            actions::save_editor(app);
        }
        Command::SaveAndLeave(leave) => {
            // A failed save keeps the editor open, its error on the status line.
            if actions::save_editor(app) {
                app.files.editor = None;
                app.quit = leave == Leave::Quit;
            }
        }
        Command::NewExperiment(name) => actions::new_experiment(app, &name),
        Command::Launch(path) => actions::launch_file(app, &path),
        Command::ExportChart => actions::export_chart(app, jobs),
        Command::StopRun(id) => actions::stop_run(app, jobs, id),
        Command::RerunRun(id) => actions::rerun_run(app, jobs, id),
        Command::ExternalEdit(_) => {}
    }
}

/// Leaves the dashboard for $VISUAL/$EDITOR on `path`, then re-reads the file.
fn external_edit(term: &mut Term, app: &mut App, path: &Path) -> anyhow::Result<()> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let status = terminal::suspended(term, || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(path)
            .status()
    })?;
    match status {
        Ok(s) if s.success() => app.info(format!("edited {}", path.display())),
        Ok(s) => app.error(format!("{editor} exited with {s}")),
        Err(e) => app.error(format!("cannot run {editor}: {e}")),
    }
    app.files.preview = None;
    if app.files.editor.as_ref().is_some_and(|e| e.path == path) {
        actions::open_editor(app, path);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
