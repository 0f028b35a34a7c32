//! The I/O behind commands: files, queries, launching runs, chart export.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use super::app::{App, Paths, View};
use super::editor::Editor;
use super::poll::rescan_files;
use super::views::curves;
use crate::plot;
use crate::store::{RunStatus, Store};

/// Rows kept from an ad-hoc SELECT (the rest would only slow the screen down).
pub const QUERY_ROWS: usize = 5000;

fn stamp() -> String {
    chrono::Local::now().format("%Y%m%d-%H%M%S").to_string()
}

/// File-name-safe version of `s`.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn open_editor(app: &mut App, path: &Path) {
    match fs::read_to_string(path) {
        Ok(text) => app.files.editor = Some(Editor::new(path, &text, app.theme)),
        Err(e) => app.error(format!("cannot read {}: {e}", path.display())),
    }
}

pub fn save_editor(app: &mut App) {
    let Some(ed) = app.files.editor.as_mut() else {
        return;
    };
    let text = ed.text();
    match fs::write(&ed.path, &text) {
        Ok(()) => {
            ed.dirty = false;
            let path = ed.path.clone();
            let problems = ed.diagnostics.len();
            app.files.preview = Some((path.clone(), text));
            if problems == 0 {
                app.info(format!("saved {}", path.display()));
            } else {
                app.error(format!(
                    "saved {} with {problems} problem(s)",
                    path.display()
                ));
            }
        }
        Err(e) => {
            let msg = format!("cannot save {}: {e}", ed.path.display());
            app.error(msg);
        }
    }
}

/// Writes `<experiments>/<name>.toml` from the template (never over an existing file) and
/// opens it in the editor.
pub fn new_experiment(app: &mut App, name: &str) {
    let path = app
        .paths
        .experiments_dir
        .join(format!("{}.toml", slug(name)));
    let created = fs::create_dir_all(&app.paths.experiments_dir).and_then(|()| {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| {
                std::io::Write::write_all(&mut f, crate::spec::render_template(name).as_bytes())
            })
    });
    if let Err(e) = created {
        app.error(format!("cannot create {}: {e}", path.display()));
        return;
    }
    rescan_files(app);
    if let Some(i) = app.files.files.iter().position(|f| *f == path) {
        app.files.cursor = i;
    }
    open_editor(app, &path);
    app.info(format!("created {} from the template", path.display()));
}

/// `<binary> --db DB run FILE` in its own process group, so that it neither gets the
/// dashboard's Ctrl-C nor stops when the dashboard (or its terminal) goes away.
pub fn launch_command(binary: &Path, db: &Path, file: &Path) -> Process {
    use std::os::unix::process::CommandExt;
    let mut cmd = Process::new(binary);
    cmd.arg("--db").arg(db).arg("run").arg(file);
    cmd.process_group(0).stdin(Stdio::null());
    cmd
}

/// Starts a detached run of `file`, output to `runs/launch-<name>-<time>.log`; returns the
/// child's pid and the log path. A thread reaps the child when it exits.
pub fn launch(paths: &Paths, file: &Path) -> std::io::Result<(u32, PathBuf)> {
    let name = file
        .file_stem()
        .map_or("experiment".into(), |s| s.to_string_lossy().into_owned());
    fs::create_dir_all(&paths.runs_dir)?;
    let log = paths
        .runs_dir
        .join(format!("launch-{}-{}.log", slug(&name), stamp()));
    let out = File::create(&log)?;
    let mut cmd = launch_command(&paths.binary, &paths.db, file);
    cmd.stdout(out.try_clone()?).stderr(out);
    let mut child = cmd.spawn()?;
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok((pid, log))
}

pub fn launch_file(app: &mut App, file: &Path) {
    if app
        .files
        .editor
        .as_ref()
        .is_some_and(|e| e.dirty && e.path == file)
    {
        app.error("save the file first (Ctrl-S)");
        return;
    }
    match launch(&app.paths, file) {
        Ok((pid, log)) => app.info(format!(
            "launched {} (pid {pid}), log {}; its runs appear here as queued/running",
            file.display(),
            log.display()
        )),
        Err(e) => app.error(format!("cannot launch {}: {e}", app.paths.binary.display())),
    }
}

/// Writes a stop request with a short-lived read-write connection (the dashboard's own stays
/// read-only); the trial sees it at its next heartbeat, stops and becomes `stopped`.
pub fn stop_run(app: &mut App, id: i64) {
    // A run whose process is dead is reaped as `interrupted` first: nobody would stop it.
    let asked = Store::open(&app.paths.db)
        .and_then(|s| crate::runner::reap_dead_runs(&s).and_then(|_| s.request_stop(id)));
    match asked {
        Ok(true) => app.info(format!(
            "asked run {id} to stop; it stops within a few seconds, resumable"
        )),
        Ok(false) => app.error(format!("run {id} is not running")),
        Err(e) => app.error(format!("cannot ask run {id} to stop: {e}")),
    }
}

/// Launches `run` on the run's experiment file, which resumes an unfinished run from its last
/// checkpoint; a done or diverged run is first reset so that it trains from scratch (the reset
/// refuses a run claimed meanwhile, and the launched `run` claims it like any other).
pub fn rerun_run(app: &mut App, id: i64) {
    let result = (|| -> anyhow::Result<PathBuf> {
        let mut store = Store::open(&app.paths.db)?;
        // A dead process's `running` run is `interrupted` (resumable), not running.
        crate::runner::reap_dead_runs(&store)?;
        let run = store
            .run(id)?
            .ok_or_else(|| anyhow::anyhow!("no run {id}"))?;
        if run.status == RunStatus::Running {
            anyhow::bail!("run {id} is running");
        }
        let (path, _) = store.experiment_source(&run.experiment)?.ok_or_else(|| {
            anyhow::anyhow!("experiment {} has no file on record", run.experiment)
        })?;
        let path = PathBuf::from(path);
        anyhow::ensure!(path.exists(), "{} no longer exists", path.display());
        if matches!(run.status, RunStatus::Done | RunStatus::Diverged) {
            store.reset_run(id)?;
        }
        Ok(path)
    })();
    match result {
        Ok(path) => launch_file(app, &path),
        Err(e) => app.error(format!("cannot re-run run {id}: {e:#}")),
    }
}

/// A SELECT/WITH is wrapped so that at most `QUERY_ROWS` rows come back.
fn limited(sql: &str) -> String {
    let body = sql.trim().trim_end_matches(';').trim_end();
    let head = body.get(..6).unwrap_or("").to_ascii_uppercase();
    if head.starts_with("SELECT") || head.starts_with("WITH") {
        format!("SELECT * FROM ({body}\n) LIMIT {QUERY_ROWS}")
    } else {
        sql.to_string()
    }
}

pub fn run_query(app: &mut App, store: Option<&Store>, sql: &str) {
    let q = &mut app.query;
    q.row = 0;
    q.col = 0;
    let Some(store) = store else {
        q.result = None;
        q.error = Some("the store is not open yet".into());
        return;
    };
    // A wrapped statement that fails is retried as typed, so errors name the user's SQL.
    let res = store.query(&limited(sql)).or_else(|_| store.query(sql));
    match res {
        Ok(r) => {
            q.error = None;
            q.focused = false;
            q.result = Some(r);
        }
        Err(e) => {
            q.result = None;
            q.error = Some(e.to_string());
        }
    }
}

pub fn export_chart(app: &mut App) {
    if app.view != View::Curves {
        app.error("no chart on this view: x exports from the curves view");
        return;
    }
    let chart = curves::chart_model(app);
    if chart.series.iter().all(|s| s.points.is_empty()) {
        app.error("nothing to export: the chart is empty");
        return;
    }
    let experiment = app
        .plotted()
        .first()
        .map_or("runs".into(), |r| r.brief.experiment.clone());
    let path = app.paths.charts_dir.join(format!(
        "{}-{}-{}.png",
        slug(&experiment),
        app.curves.kind.slug(),
        stamp()
    ));
    // Errors as text: works with the placeholder's anyhow error and the real PlotError.
    let res = match fs::create_dir_all(&app.paths.charts_dir) {
        Err(e) => Err(e.to_string()),
        Ok(()) => plot::write_chart(&chart, &path, 1200, 800).map_err(|e| format!("{e:#}")),
    };
    match res {
        Ok(()) => app.info(format!("exported {}", path.display())),
        Err(e) => app.error(format!("export to {} failed: {e}", path.display())),
    }
}
