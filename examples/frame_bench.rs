//! Median frame time of the runs and curves views with 1,000 runs x 100 epochs.
//! `cargo run --release --example frame_bench` (prints timings; asserts nothing).

use std::path::PathBuf;
use std::time::Instant;

use densenet_lab::store::dashboard::RunBrief;
use densenet_lab::store::{MetricName, MetricRow, PolledMetric, RunStatus, Scope, Split};
use densenet_lab::tui::app::{App, CurveKind, Paths, View};
use densenet_lab::tui::theme::Theme;
use densenet_lab::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const RUNS: i64 = 1000;
const EPOCHS: usize = 100;
const STEPS_PER_EPOCH: u64 = 20;

fn app() -> App {
    let paths = Paths {
        db: "bench.db".into(),
        experiments_dir: "experiments".into(),
        binary: "densenet-lab".into(),
        runs_dir: PathBuf::from("runs"),
        charts_dir: PathBuf::from("charts"),
    };
    let mut app = App::new(paths, Theme { color: true });
    let briefs = (1..=RUNS)
        .map(|id| RunBrief {
            id,
            experiment: format!("sweep-{}", id % 4),
            trial_index: id as usize,
            status: if id % 10 == 0 {
                RunStatus::Running
            } else {
                RunStatus::Done
            },
            overrides_json: format!(
                r#"{{"model.growth_rate": {}, "model.dropout": {}, "model.blocks": [6, 12, {}]}}"#,
                12 * (1 + id % 3),
                (id % 5) as f64 / 10.0,
                id % 48
            ),
            seed: id as u64,
            device: Some("cuda:0".into()),
            params: Some(1_000_000),
            flops: Some(300_000_000),
            epochs_total: EPOCHS,
            epochs_done: EPOCHS,
            started_at: None,
            finished_at: None,
            heartbeat_at: None,
            error: None,
        })
        .collect();
    app.apply_briefs(briefs);
    let mut rows = Vec::new();
    let mut next_id = 0;
    for run in 1..=RUNS {
        for e in 1..=EPOCHS {
            let x = e as f64;
            let mut push = |scope, split, name, step, value| {
                next_id += 1;
                rows.push(PolledMetric {
                    id: next_id,
                    run_id: run,
                    wall_time: String::new(),
                    metric: MetricRow {
                        epoch: e,
                        step,
                        scope,
                        split,
                        name,
                        value,
                    },
                });
            };
            for s in 0..STEPS_PER_EPOCH {
                let step = (e as u64 - 1) * STEPS_PER_EPOCH + s;
                push(
                    Scope::Step,
                    Split::Train,
                    MetricName::Loss,
                    step,
                    2.0 / (1.0 + step as f64 / 50.0),
                );
            }
            let step = e as u64 * STEPS_PER_EPOCH;
            push(Scope::Epoch, Split::Train, MetricName::Loss, step, 2.0 / x);
            push(
                Scope::Epoch,
                Split::Train,
                MetricName::Accuracy,
                step,
                1.0 - 0.5 / x,
            );
            push(
                Scope::Epoch,
                Split::Train,
                MetricName::ImagesPerSec,
                step,
                1500.0,
            );
            push(
                Scope::Epoch,
                Split::Train,
                MetricName::EpochSeconds,
                step,
                30.0,
            );
            push(Scope::Epoch, Split::Test, MetricName::Loss, step, 2.1 / x);
            push(
                Scope::Epoch,
                Split::Test,
                MetricName::Accuracy,
                step,
                0.98 - 0.5 / x,
            );
        }
    }
    app.apply_metrics(&rows);
    app
}

fn median_ms(app: &mut App, w: u16, h: u16, frames: usize) -> f64 {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    app.screen = ratatui::layout::Rect::new(0, 0, w, h);
    let mut times: Vec<f64> = (0..frames)
        .map(|i| {
            // Move the cursor so that every frame differs a little.
            app.runs_view.cursor = (i * 7) % app.runs_view.visible.len();
            let t = Instant::now();
            term.draw(|f| views::draw(f, app)).unwrap();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let t = Instant::now();
    let mut app = app();
    println!(
        "loaded {} runs x {EPOCHS} epochs ({} step points each) in {:.0} ms",
        app.runs.len(),
        EPOCHS as u64 * STEPS_PER_EPOCH,
        t.elapsed().as_secs_f64() * 1000.0
    );
    for (w, h) in [(80, 24), (200, 50)] {
        app.view = View::Runs;
        println!(
            "runs view   {w}x{h}: median {:.3} ms/frame",
            median_ms(&mut app, w, h, 200)
        );
        app.view = View::Curves;
        app.runs_view.selected.clear();
        println!(
            "curves view {w}x{h}, highlighted run: median {:.3} ms/frame",
            median_ms(&mut app, w, h, 200)
        );
        app.runs_view.selected.extend(1..=RUNS);
        for kind in [CurveKind::Loss, CurveKind::StepLoss] {
            app.curves.kind = kind;
            app.curves.smooth = kind == CurveKind::StepLoss;
            println!(
                "curves view {w}x{h}, all {RUNS} selected (first 8 plotted), {}: median {:.3} ms/frame",
                kind.title(),
                median_ms(&mut app, w, h, 200)
            );
        }
        app.curves.kind = CurveKind::Loss;
    }
}
