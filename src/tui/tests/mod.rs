//! Dashboard tests on a fixture store: views drawn on ratatui's TestBackend, keys on state.

mod drawing;
mod editor;
mod jobs;
mod keys;
mod live;
mod poller_thread;
mod table_stats;

use std::path::{Path, PathBuf};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use serde_json::json;
use tempfile::TempDir;

use super::app::{App, Paths};
use super::jobs::Jobs;
use super::poll::Poller;
use super::theme::Theme;
use super::{actions, feed, update, views};
use crate::store::{MetricName, MetricRow, NewRun, RunStatus, Scope, Split, Store};

pub struct Fixture {
    pub dir: TempDir,
    pub db: PathBuf,
}

fn epoch_rows(epoch: usize, train_loss: f64, test_acc: f64) -> Vec<MetricRow> {
    let step = epoch as u64 * 10;
    let m = |split, name, value| MetricRow {
        epoch,
        step,
        scope: Scope::Epoch,
        split,
        name,
        value,
    };
    vec![
        m(Split::Train, MetricName::Loss, train_loss),
        m(Split::Train, MetricName::Accuracy, test_acc + 0.02),
        m(Split::Train, MetricName::ImagesPerSec, 1500.0),
        m(Split::Train, MetricName::EpochSeconds, 60.0),
        m(Split::Test, MetricName::Loss, train_loss + 0.1),
        m(Split::Test, MetricName::Accuracy, test_acc),
    ]
}

fn step_rows(epoch: usize, loss: f64) -> Vec<MetricRow> {
    (0..10)
        .map(|i| MetricRow {
            epoch,
            step: (epoch as u64 - 1) * 10 + i,
            scope: Scope::Step,
            split: Split::Train,
            name: MetricName::Loss,
            value: loss - i as f64 * 0.01,
        })
        .collect()
}

/// Logs `accs.len()` epochs of a run (step rows, then the epoch rows).
pub fn log_epochs(store: &mut Store, run: i64, from: usize, accs: &[f64]) {
    for (k, acc) in accs.iter().enumerate() {
        let e = from + k;
        let loss = 1.0 / e as f64;
        store.log_metrics(run, &step_rows(e, loss + 0.1)).unwrap();
        store
            .finish_epoch(run, e, &epoch_rows(e, loss, *acc), None)
            .unwrap();
    }
}

/// Experiment `grid`: growth {12, 24} x dropout {0.0, 0.2}, 3 epochs. Runs:
/// 1 (12, 0.0) done 80/90/91; 2 (12, 0.2) running 2/3 70/75; 3 (24, 0.0) failed after 1
/// epoch; 4 (24, 0.2) queued; 5 (12, 0.0, second seed) done 85/93/92.
pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lab.db");
    let mut store = Store::open(&db).unwrap();
    let points = [(12, 0.0), (12, 0.2), (24, 0.0), (24, 0.2), (12, 0.0)];
    let runs: Vec<NewRun> = points
        .iter()
        .enumerate()
        .map(|(i, (g, d))| NewRun {
            trial_index: i,
            hash: format!("h{i}"),
            config_json: json!({"model": {"growth_rate": g, "dropout": d}, "train": {"epochs": 3}})
                .to_string(),
            overrides_json: json!({"model.growth_rate": g, "model.dropout": d}).to_string(),
            seed: 1 + i as u64,
            epochs_total: 3,
            params: 1234,
            flops: 5_600_000,
        })
        .collect();
    let source = crate::spec::render_template("grid");
    let rows = store
        .register_sweep("grid", "test grid", "experiments/grid.toml", &source, &runs)
        .unwrap();
    let id = |i: usize| rows[i].id;
    // Held by this (live) test process: a run whose claim names no live process reads as
    // `interrupted`.
    let me = crate::runner::liveness::this_process();
    for i in [0, 1, 2, 4] {
        store.claim_run(id(i), "cpu", &me).unwrap();
    }
    log_epochs(&mut store, id(0), 1, &[0.80, 0.90, 0.91]);
    store.finish_run(id(0), RunStatus::Done, None).unwrap();
    log_epochs(&mut store, id(1), 1, &[0.70, 0.75]);
    log_epochs(&mut store, id(2), 1, &[0.50]);
    store
        .finish_run(id(2), RunStatus::Failed, Some("out of memory on cpu"))
        .unwrap();
    log_epochs(&mut store, id(4), 1, &[0.85, 0.93, 0.92]);
    store.finish_run(id(4), RunStatus::Done, None).unwrap();
    let exp = dir.path().join("experiments");
    std::fs::create_dir_all(&exp).unwrap();
    std::fs::write(exp.join("grid.toml"), &source).unwrap();
    Fixture { dir, db }
}

pub fn app_for(dir: &Path, db: &Path, color: bool) -> App {
    let paths = Paths {
        db: db.to_owned(),
        experiments_dir: dir.join("experiments"),
        binary: PathBuf::from("/bin/false"),
        runs_dir: dir.join("runs"),
        charts_dir: dir.join("charts"),
    };
    App::new(paths, Theme { color })
}

/// The fixture loaded through the poller, as the dashboard would see it (with the
/// experiments folder listed, as the feed does).
pub fn loaded(fx: &Fixture, color: bool) -> (App, Poller) {
    let mut app = app_for(fx.dir.path(), &fx.db, color);
    let mut poller = Poller::new(&fx.db);
    assert!(poll(&mut poller, &mut app));
    actions::rescan_files(&mut app);
    (app, poller)
}

/// One poll with its updates applied in order, as the feed's thread and the event loop do
/// (here on one thread, so each step can be checked); returns whether the app changed.
pub fn poll(p: &mut Poller, app: &mut App) -> bool {
    let mut updates = Vec::new();
    p.poll(&mut |u| updates.push(u));
    updates
        .into_iter()
        .fold(false, |changed, u| update::apply(app, u) | changed)
}

/// What `Feed::sync` asks for, answered at once: the preview, the Detail view's row.
pub fn sync(p: &mut Poller, app: &mut App) {
    actions::sync_preview(app);
    if let Some(id) = feed::detail_wanted(app) {
        update::apply(app, p.detail(id));
    }
}

pub fn render(app: &mut App, w: u16, h: u16) -> Buffer {
    app.screen = ratatui::layout::Rect::new(0, 0, w, h);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| views::draw(f, app)).unwrap();
    term.backend().buffer().clone()
}

/// Buffer rows as strings (one char per cell; wide glyphs are not used).
pub fn lines(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

/// Row index of the first line containing `needle`.
pub fn find_line(lines: &[String], needle: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{}", lines.join("\n")))
}

/// Column (in cells) where `needle` starts on line `y`.
pub fn col_of(lines: &[String], y: usize, needle: &str) -> usize {
    let l = &lines[y];
    let byte = l
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in line {y}: {l:?}"));
    l[..byte].chars().count()
}

/// Polls the workers (at least once, which sends the editor's text to be checked) until
/// none is left, as the event loop would; fails after 20 s.
pub fn settle(jobs: &mut Jobs, app: &mut App) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    jobs.poll(app);
    while jobs.busy() {
        jobs.poll(app);
        assert!(
            std::time::Instant::now() < deadline,
            "a background job never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
