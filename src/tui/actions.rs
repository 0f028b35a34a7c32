//! The I/O behind commands: files, queries, launching runs, chart export.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use super::app::{App, Paths, View};
use super::editor::Editor;
use super::jobs::{Jobs, Outcome};
use super::views::curves;
use crate::plot;
use crate::store::{QueryResult, RunStatus, Store, StoreError};

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

/// Largest experiment file the preview and the editor read. A real one is a few KiB; a
/// sweep with a 200,000-value axis (the editor's worst case the dashboard must stay usable
/// on: its check runs on a worker) is about 1.3 MB.
pub const MAX_FILE: u64 = 4 << 20;

/// Reads an experiment file for the preview or the editor on the UI thread, so only a
/// regular file of at most [`MAX_FILE`] bytes: a FIFO named `x.toml` would block the
/// dashboard for ever, a huge file for long.
pub fn read_experiment_file(path: &Path) -> std::io::Result<String> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(std::io::Error::other(format!(
            "{} bytes, more than the {MAX_FILE} an experiment file may have here",
            meta.len()
        )));
    }
    fs::read_to_string(path)
}

/// Lists `*.toml` in the experiments folder (sorted); returns whether the list changed.
pub fn rescan_files(app: &mut App) -> bool {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&app.paths.experiments_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files == app.files.files {
        return false;
    }
    app.files.files = files;
    app.files.cursor = app
        .files
        .cursor
        .min(app.files.files.len().saturating_sub(1));
    true
}

/// Reads the highlighted file for the Experiments view's preview, once per file; returns
/// whether the preview changed.
pub fn sync_preview(app: &mut App) -> bool {
    if app.view != View::Experiments {
        return false;
    }
    let Some(path) = app.highlighted_file().cloned() else {
        return false;
    };
    if app.files.preview.as_ref().is_some_and(|p| p.0 == path) {
        return false;
    }
    let text = read_experiment_file(&path)
        .unwrap_or_else(|e| format!("cannot read {}: {e}", path.display()));
    app.files.preview = Some((path, text));
    true
}

pub fn open_editor(app: &mut App, path: &Path) {
    match read_experiment_file(path) {
        Ok(text) => app.files.editor = Some(Editor::new(path, &text, app.theme)),
        Err(e) => app.error(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes the editor's buffer to its file; returns whether it was saved.
pub fn save_editor(app: &mut App) -> bool {
    let Some(ed) = app.files.editor.as_mut() else {
        return false;
    };
    let text = ed.text();
    match fs::write(&ed.path, &text) {
        Ok(()) => {
            ed.dirty = false;
            let path = ed.path.clone();
            let problems = ed.diagnostics.len();
            let checking = ed.checking();
            app.files.preview = Some((path.clone(), text));
            if checking {
                app.info(format!("saved {} (still being checked)", path.display()));
            } else if problems == 0 {
                app.info(format!("saved {}", path.display()));
            } else {
                app.error(format!(
                    "saved {} with {problems} problem(s)",
                    path.display()
                ));
            }
            true
        }
        Err(e) => {
            let msg = format!("cannot save {}: {e}", ed.path.display());
            app.error(msg);
            false
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

/// The editor's file, if it has unsaved changes (launching it would train the old text).
fn unsaved_file(app: &App) -> Option<PathBuf> {
    let ed = app.files.editor.as_ref()?;
    ed.dirty.then(|| ed.path.clone())
}

/// Launches `file` unless it is the editor's file with unsaved changes.
fn launched(paths: &Paths, file: &Path, unsaved: Option<&Path>) -> Outcome {
    if unsaved == Some(file) {
        return Err("save the file first (Ctrl-S)".into());
    }
    match launch(paths, file) {
        Ok((pid, log)) => Ok(format!(
            "launched {} (pid {pid}), log {}; its runs appear here as queued/running",
            file.display(),
            log.display()
        )),
        Err(e) => Err(format!("cannot launch {}: {e}", paths.binary.display())),
    }
}

pub fn launch_file(app: &mut App, file: &Path) {
    match launched(&app.paths, file, unsaved_file(app).as_deref()) {
        Ok(note) => app.info(note),
        Err(e) => app.error(e),
    }
}

/// Writes a stop request with a short-lived read-write connection (the dashboard's own stays
/// read-only); the trial sees it at its next heartbeat, stops and becomes `stopped`. On a
/// worker: the write may wait for the trainer's lock.
pub fn stop_run(app: &App, jobs: &mut Jobs, id: i64) {
    let db = app.paths.db.clone();
    jobs.spawn(
        // A run whose process is dead is reaped as `interrupted` first: nobody would stop it.
        move || match Store::open(&db)
            .and_then(|s| crate::runner::reap_dead_runs(&s).and_then(|_| s.request_stop(id)))
        {
            Ok(true) => Ok(format!(
                "asked run {id} to stop; it stops within a few seconds, resumable"
            )),
            Ok(false) => Err(format!("run {id} is not running")),
            Err(e) => Err(format!("cannot ask run {id} to stop: {e}")),
        },
    );
}

/// Launches `run` on the run's experiment file, which resumes an unfinished run from its last
/// checkpoint; a done or diverged run is first reset so that it trains from scratch (the reset
/// refuses a run claimed meanwhile, and the launched `run` claims it like any other). On a
/// worker, like `stop_run`.
pub fn rerun_run(app: &App, jobs: &mut Jobs, id: i64) {
    let paths = app.paths.clone();
    let unsaved = unsaved_file(app);
    jobs.spawn(move || {
        let path =
            rerun_file(&paths.db, id).map_err(|e| format!("cannot re-run run {id}: {e:#}"))?;
        launched(&paths, &path, unsaved.as_deref())
    });
}

/// The experiment file of run `id`, the run reset first if it is done or diverged.
fn rerun_file(db: &Path, id: i64) -> anyhow::Result<PathBuf> {
    let mut store = Store::open(db)?;
    // A dead process's `running` run is `interrupted` (resumable), not running.
    crate::runner::reap_dead_runs(&store)?;
    let run = store
        .run(id)?
        .ok_or_else(|| anyhow::anyhow!("no run {id}"))?;
    if run.status == RunStatus::Running {
        anyhow::bail!("run {id} is running");
    }
    let (path, _) = store
        .experiment_source(&run.experiment)?
        .ok_or_else(|| anyhow::anyhow!("experiment {} has no file on record", run.experiment))?;
    let path = PathBuf::from(path);
    anyhow::ensure!(path.exists(), "{} no longer exists", path.display());
    if matches!(
        run.status,
        RunStatus::Done | RunStatus::Diverged | RunStatus::Pruned
    ) {
        store.reset_run(id)?;
    }
    Ok(path)
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

/// Runs a query for the Query view (on a worker thread: see `jobs`). A wrapped statement
/// that fails is retried as typed, so errors name the user's SQL; a cancelled one is not.
pub fn query_limited(store: &Store, sql: &str) -> Result<QueryResult, StoreError> {
    match store.query(&limited(sql)) {
        Err(StoreError::Interrupted) => Err(StoreError::Interrupted),
        Err(_) => store.query(sql),
        ok => ok,
    }
}

/// Builds the chart from what is on screen, then renders and writes the PNG on a worker
/// thread (a large chart takes a noticeable while to rasterize).
pub fn export_chart(app: &mut App, jobs: &mut Jobs) {
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
    let dir = app.paths.charts_dir.clone();
    app.info(format!("exporting {}…", path.display()));
    jobs.spawn(move || {
        let res = match fs::create_dir_all(&dir) {
            Err(e) => Err(e.to_string()),
            Ok(()) => plot::write_chart(&chart, &path, 1200, 800).map_err(|e| format!("{e:#}")),
        };
        match res {
            Ok(()) => Ok(format!("exported {}", path.display())),
            Err(e) => Err(format!("export to {} failed: {e}", path.display())),
        }
    });
}
