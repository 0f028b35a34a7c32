//! The Table view's seed statistics and importance panel, drawn on a TestBackend from a real
//! store; the importance is computed by a worker the event loop's `jobs.poll` starts.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::tui::app::View;
use crate::tui::keys::handle_key;

/// Sweep `grid` with growth {12, 24} x dropout {0.0, 0.2}, three seeds a point, all done:
/// growth 24 adds 10 points, dropout nothing, the seed moves every cell alike.
fn seeded_store() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lab.db");
    let mut store = Store::open(&db).unwrap();
    let mut points = Vec::new();
    for g in [12, 24] {
        for d in [0.0, 0.2] {
            for s in 0..3u64 {
                points.push((g, d, s));
            }
        }
    }
    let runs: Vec<NewRun> = points
        .iter()
        .enumerate()
        .map(|(i, (g, d, s))| NewRun {
            trial_index: i,
            hash: format!("h{i}"),
            config_json: json!({}).to_string(),
            overrides_json: json!({"model.growth_rate": g, "model.dropout": d}).to_string(),
            seed: 7 + s,
            epochs_total: 1,
            params: 1,
            flops: 1,
        })
        .collect();
    let source = crate::spec::render_template("grid");
    let rows = store
        .register_sweep("grid", "seeds", "experiments/grid.toml", &source, &runs)
        .unwrap();
    let me = crate::runner::liveness::this_process();
    for (row, (g, _, s)) in rows.iter().zip(&points) {
        store.claim_run(row.id, "cpu", &me).unwrap();
        let acc = 0.80 + if *g == 24 { 0.10 } else { 0.0 } + [0.0, 0.01, -0.01][*s as usize];
        log_epochs(&mut store, row.id, 1, &[acc]);
        store.finish_run(row.id, RunStatus::Done, None).unwrap();
    }
    (dir, db)
}

#[test]
fn table_marks_cells_against_the_best_and_ranks_axes_beside_it() {
    let (dir, db) = seeded_store();
    let mut app = app_for(dir.path(), &db, true);
    let mut poller = Poller::new(&db);
    assert!(poll(&mut poller, &mut app));
    app.view = View::Table;
    // Before the worker has answered the panel says so, and drawing does not wait.
    let l = lines(&render(&mut app, 120, 24));
    find_line(&l, "computing…");
    let mut jobs = Jobs::new();
    jobs.poll(&mut app);
    assert!(jobs.busy(), "the importance runs on a worker");
    settle(&mut jobs, &mut app);
    let l = lines(&render(&mut app, 120, 24));
    find_line(&l, "importance: test.accuracy, n=12");
    let ranked: Vec<&String> = l.iter().filter(|x| x.contains("% ±")).collect();
    assert_eq!(ranked.len(), 2, "{}", l.join("\n"));
    assert!(
        ranked[0].contains("growth ") && ranked[0].contains('█'),
        "{}",
        ranked[0]
    );
    assert!(ranked[1].contains("dropout "), "{}", ranked[1]);
    // growth 24 is best (first of the two equal cells); its twin is ≈ (paired p = 1);
    // growth 12 is 10 points worse on every seed.
    let r24 = find_line(&l, "90.00 ± 1.00 (n=3) *");
    assert!(l[r24].contains("90.00 ± 1.00 (n=3) ≈"), "{}", l[r24]);
    let r12 = find_line(&l, "80.00 ± 1.00 (n=3)");
    assert!(!l[r12].contains('≈') && !l[r12].contains('*'), "{}", l[r12]);
    find_line(&l, "≈ not distinguishable from it");
    // v: the 95% interval instead of ± std: 90 ± 4.3027 * 1 / sqrt(3).
    handle_key(
        &mut app,
        KeyEvent::new(KeyCode::Char('v'), KeyModifiers::NONE),
    );
    let l = lines(&render(&mut app, 120, 24));
    find_line(&l, "90.00 [87.52–92.48] (n=3) *");
    // Unchanged trials: no new computation.
    jobs.poll(&mut app);
    assert!(!jobs.busy());
}

#[test]
fn table_panel_says_when_there_are_too_few_trials() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, false);
    app.view = View::Table;
    let mut jobs = Jobs::new();
    jobs.poll(&mut app);
    settle(&mut jobs, &mut app);
    let l = lines(&render(&mut app, 80, 30));
    // Runs 1 and 5 are the done ones, both at growth 12, dropout 0.0.
    find_line(&l, "importance: test.accuracy, n=2");
    find_line(&l, "every one of the 2 finished");
}
