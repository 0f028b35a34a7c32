//! Each view drawn from the fixture store, asserted by text at positions and by style.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};

use super::*;
use crate::tui::app::View;
use crate::tui::jobs::Jobs;
use crate::tui::keys::{Command, handle_key};
use crate::tui::{actions, keys};

fn key(app: &mut App, code: KeyCode) -> Option<Command> {
    handle_key(app, KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn runs_view_shows_headers_rows_status_and_metrics_in_columns() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    let buf = render(&mut app, 120, 24);
    let l = lines(&buf);
    assert!(
        l[0].contains("1 Runs") && l[0].contains("6 Query"),
        "{}",
        l[0]
    );
    let h = find_line(&l, "experiment");
    for col in [
        "id",
        "status",
        "growth",
        "dropout",
        "epoch",
        "progress",
        "best test%",
        "last test%",
    ] {
        assert!(l[h].contains(col), "header lacks {col}: {}", l[h]);
    }
    for col in ["loss", "img/s", "ETA"] {
        assert!(l[h].contains(col), "header lacks {col}: {}", l[h]);
    }
    // Run 1: done, 3/3, best 91.00, last 91.00, 1500 img/s; status under its header.
    let r1 = h + 1;
    assert!(l[r1].contains("✓ done"), "{}", l[r1]);
    assert_eq!(col_of(&l, r1, "✓ done"), col_of(&l, h, "status"));
    assert_eq!(col_of(&l, r1, "3/3"), col_of(&l, h, "epoch"));
    assert_eq!(col_of(&l, r1, "91.00"), col_of(&l, h, "best test%"));
    assert!(
        l[r1].contains("1500") && l[r1].contains("grid"),
        "{}",
        l[r1]
    );
    // Run 2 is running, 2 of 3 epochs, ETA one epoch of 60 s.
    let r2 = find_line(&l, "▶ running");
    assert!(
        l[r2].contains("2/3") && l[r2].contains("1m00s"),
        "{}",
        l[r2]
    );
    assert!(l[r2].contains("█████░░░"), "gauge: {}", l[r2]);
    let r3 = find_line(&l, "✗ failed");
    assert!(l[r3].contains("24"), "{}", l[r3]);
    assert!(l[find_line(&l, "○ queued")].contains("0/3"));
    // Status text is coloured too, and the cursor row is reversed.
    let x = col_of(&l, r2, "▶") as u16;
    assert_eq!(buf[(x, r2 as u16)].fg, Color::Cyan);
    assert!(buf[(2, r1 as u16)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn runs_view_fits_80x24_and_marks_selection() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char(' '));
    let l = lines(&render(&mut app, 80, 24));
    let h = find_line(&l, "best test%");
    for col in ["id", "status", "growth", "dropout", "epoch", "best test%"] {
        assert!(l[h].contains(col), "80 cols lacks {col}: {}", l[h]);
    }
    assert!(l[h + 1].starts_with('●'), "selected mark: {}", l[h + 1]);
    assert!(l[1].contains("selected: 1"), "{}", l[1]);
    assert!(l[23].contains("? help"), "status line: {}", l[23]);
}

#[test]
fn curves_view_has_legend_axes_and_markers_for_selection() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    // Select runs 1 and 2.
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Char('2'));
    let l = lines(&render(&mut app, 100, 30));
    assert!(l[1].contains("[loss / epoch]"), "{}", l[1]);
    for entry in ["• #1 train", "⣿ #1 test", "█ #2 train", "▄ #2 test"] {
        find_line(&l, entry);
    }
    find_line(&l, "epoch");
    find_line(&l, "loss");
    assert!(l[2].contains("#1 dropout=0.0 growth=12"), "{}", l[2]);
    // Accuracy bounds stay within [0, 1]; log is off for accuracy.
    key(&mut app, KeyCode::Char('l'));
    key(&mut app, KeyCode::Char('L'));
    let l = lines(&render(&mut app, 100, 30));
    assert!(
        l[1].contains("[accuracy / epoch]") && l[1].contains("log:off"),
        "{}",
        l[1]
    );
    find_line(&l, "accuracy");
    // Train loss per step, log scale on, smoothing on.
    key(&mut app, KeyCode::Char('l'));
    key(&mut app, KeyCode::Char('e'));
    let l = lines(&render(&mut app, 100, 30));
    assert!(l[1].contains("EMA:on log:on"), "{}", l[1]);
    find_line(&l, "train loss (log)");
    find_line(&l, "step");
    let model = crate::tui::views::curves::chart_model(&app);
    assert!(model.log_y);
    assert_eq!(model.series[0].points.len(), 30);
}

#[test]
fn curves_view_without_selection_plots_the_highlighted_run() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char('j'));
    app.view = View::Curves;
    let l = lines(&render(&mut app, 80, 24));
    find_line(&l, "#2 train");
    assert!(!l.iter().any(|x| x.contains("#1 train")));
}

#[test]
fn table_view_pivots_mean_std_and_highlights_the_best_cell() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    app.view = View::Table;
    let buf = render(&mut app, 100, 24);
    let l = lines(&buf);
    let h = find_line(&l, "growth \\ dropout");
    assert!(l[h].contains("0.0") && l[h].contains("0.2"), "{}", l[h]);
    let r12 = find_line(&l, "92.00 ± 1.41 (n=2)");
    assert!(l[r12].trim_start().starts_with("12"), "{}", l[r12]);
    assert!(l[r12].contains("75.00 (n=1)"), "{}", l[r12]);
    let r24 = find_line(&l, "50.00 (n=1)");
    assert!(
        l[r24].trim_start().starts_with("24") && l[r24].contains(" - "),
        "{}",
        l[r24]
    );
    // The best cell is highlighted (reversed + bold), the others are not.
    let x = col_of(&l, r12, "92.00") as u16;
    assert!(buf[(x, r12 as u16)].modifier.contains(Modifier::REVERSED));
    let x2 = col_of(&l, r12, "75.00") as u16;
    assert!(!buf[(x2, r12 as u16)].modifier.contains(Modifier::REVERSED));
    // Final accuracy instead: run 1 ends 91, run 5 ends 92.
    key(&mut app, KeyCode::Char('b'));
    let l = lines(&render(&mut app, 100, 24));
    find_line(&l, "final test accuracy");
    find_line(&l, "91.50 ± 0.71 (n=2)");
    // Swapped axes: dropout down, growth across.
    key(&mut app, KeyCode::Char('r'));
    let l = lines(&render(&mut app, 100, 24));
    find_line(&l, "dropout \\ growth");
}

#[test]
fn detail_view_shows_config_size_device_and_error() {
    let fx = fixture();
    let (mut app, mut p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Detail);
    sync(&mut p, &mut app);
    let l = lines(&render(&mut app, 100, 30));
    find_line(&l, "run #3");
    find_line(&l, "1.2k params · 5.60M FLOPs/image");
    assert!(l[find_line(&l, "device")].contains("cpu"));
    find_line(&l, "error: out of memory on cpu");
    find_line(&l, "\"growth_rate\": 24");
    assert!(!l.iter().any(|x| x.to_lowercase().contains("stop")));
}

#[test]
fn query_view_shows_results_and_refuses_an_update() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    let mut jobs = Jobs::new();
    key(&mut app, KeyCode::Char('6'));
    assert!(app.query.focused);
    for c in "SELECT id, status FROM runs ORDER BY id".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let Some(Command::RunQuery(sql)) = key(&mut app, KeyCode::Enter) else {
        panic!("Enter must run the query");
    };
    jobs.start_query(&mut app, &sql);
    settle(&mut jobs, &mut app);
    let l = lines(&render(&mut app, 80, 24));
    let h = find_line(&l, "5 row(s)") + 1;
    assert!(
        l[h].starts_with("id") && l[h].contains("status"),
        "{}",
        l[h]
    );
    assert!(
        l[h + 1].contains("1") && l[h + 1].contains("done"),
        "{}",
        l[h + 1]
    );

    key(&mut app, KeyCode::Enter);
    app.query.input = "UPDATE runs SET status = 'done'".into();
    let Some(Command::RunQuery(sql)) = key(&mut app, KeyCode::Enter) else {
        panic!("Enter must run the query");
    };
    jobs.start_query(&mut app, &sql);
    settle(&mut jobs, &mut app);
    let l = lines(&render(&mut app, 80, 24));
    let e = find_line(&l, "error:");
    assert!(l[e].contains("read-only"), "{}", l[e]);
    // Nothing was written.
    let store = Store::open_read_only(&fx.db).unwrap();
    assert_eq!(store.run(4).unwrap().unwrap().status, RunStatus::Queued);
}

#[test]
fn editor_shows_errors_with_line_and_column_while_typing() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char('4'));
    let Some(Command::OpenEditor(path)) = key(&mut app, KeyCode::Enter) else {
        panic!("Enter opens the editor");
    };
    actions::open_editor(&mut app, &path);
    // The check runs on a worker; until it is back the panel says so.
    let l = lines(&render(&mut app, 100, 30));
    find_line(&l, "checking…");
    let mut jobs = Jobs::new();
    settle(&mut jobs, &mut app);
    let l = lines(&render(&mut app, 100, 30));
    find_line(&l, "valid experiment");
    // Line 15 is `growth_rate = 12 ...`: put a 0 at the start of the value -> 012 is
    // a TOML error; instead replace the value with a string.
    let ed = app.files.editor.as_mut().unwrap();
    let row = ed
        .textarea
        .lines()
        .iter()
        .position(|x| x.starts_with("growth_rate"))
        .unwrap();
    for _ in 0..row {
        ed.textarea.move_cursor(tui_textarea::CursorMove::Down);
    }
    ed.textarea.move_cursor(tui_textarea::CursorMove::Head);
    for _ in 0.."growth_rate = ".len() {
        ed.textarea.move_cursor(tui_textarea::CursorMove::Forward);
    }
    // Type `-` before 12: growth_rate = -12 breaks the "positive" rule.
    key(&mut app, KeyCode::Char('-'));
    settle(&mut jobs, &mut app);
    let ed = app.files.editor.as_ref().unwrap();
    assert!(ed.dirty);
    let d = &ed.diagnostics[0];
    assert_eq!(d.line, row + 1);
    let expect = format!("✗ {}:{}", d.line, d.column);
    let l = lines(&render(&mut app, 100, 30));
    let y = find_line(&l, &expect);
    assert!(
        l[y].contains("model.growth_rate") || l[y + 1].contains("growth_rate"),
        "{}",
        l[y]
    );
    find_line(&l, "[modified]");
    // Fix it: the error goes away.
    key(&mut app, KeyCode::Backspace);
    settle(&mut jobs, &mut app);
    let l = lines(&render(&mut app, 100, 30));
    find_line(&l, "valid experiment");
    assert!(!l.iter().any(|x| x.contains(&expect)));
    // Save writes the buffer; Esc leaves the editor.
    assert_eq!(
        keys::handle_key(
            &mut app,
            KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)
        ),
        Some(Command::SaveEditor)
    );
    assert!(actions::save_editor(&mut app));
    assert!(!app.files.editor.as_ref().unwrap().dirty);
    key(&mut app, KeyCode::Esc);
    assert!(
        app.files.editor.is_none(),
        "saved: Esc closes without asking"
    );
}

#[test]
fn new_experiment_from_template_is_created_and_opened() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char('4'));
    key(&mut app, KeyCode::Char('n'));
    for c in "fresh".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let l = lines(&render(&mut app, 80, 24));
    find_line(&l, "fresh█");
    let Some(Command::NewExperiment(name)) = key(&mut app, KeyCode::Enter) else {
        panic!("Enter creates");
    };
    actions::new_experiment(&mut app, &name);
    let path = fx.dir.path().join("experiments/fresh.toml");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("name = \"fresh\"")
    );
    assert_eq!(app.files.editor.as_ref().unwrap().path, path);
    settle(&mut Jobs::new(), &mut app);
    let ed = app.files.editor.as_ref().unwrap();
    assert!(!ed.checking() && ed.diagnostics.is_empty());
    // Never over an existing file.
    actions::new_experiment(&mut app, "fresh");
    assert!(app.message.as_ref().unwrap().1);
}

#[test]
fn help_overlay_lists_every_key() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char('?'));
    let l = lines(&render(&mut app, 80, 24));
    for (_, keys, what) in keys::KEYS {
        let y = find_line(&l, what);
        assert!(l[y].contains(keys), "{keys} / {what}: {}", l[y]);
    }
}

#[test]
fn no_color_means_no_coloured_cell_in_any_view() {
    let fx = fixture();
    let (mut app, mut p) = loaded(&fx, false);
    app.runs_view.selected.extend([1, 2, 3]);
    for v in View::ALL {
        app.view = v;
        sync(&mut p, &mut app);
        for help in [false, true] {
            app.help = help;
            let buf = render(&mut app, 100, 30);
            for c in buf.content() {
                assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset), "{v:?}: {c:?}");
            }
        }
    }
    app.help = false;
    app.view = View::Experiments;
    let path = app.files.files[0].clone();
    actions::open_editor(&mut app, &path);
    key(&mut app, KeyCode::Char('x'));
    let buf = render(&mut app, 100, 30);
    assert!(
        buf.content()
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
    );
}

#[test]
fn x_exports_the_chart_on_screen_as_a_png() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, true);
    key(&mut app, KeyCode::Char('2'));
    assert_eq!(
        key(&mut app, KeyCode::Char('x')),
        Some(Command::ExportChart)
    );
    let mut jobs = Jobs::new();
    actions::export_chart(&mut app, &mut jobs);
    settle(&mut jobs, &mut app);
    let (msg, is_err) = app.message.clone().unwrap();
    assert!(!is_err, "{msg}");
    let path = msg
        .split_whitespace()
        .find(|w| w.contains("charts/grid-loss-") && w.ends_with(".png"))
        .unwrap_or_else(|| panic!("no chart path in {msg:?}"));
    // The file is a real PNG with the curves drawn (many non-white pixels).
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert!(info.width >= 400 && info.height >= 300);
    let inked = buf.chunks(3).filter(|p| p.iter().any(|&c| c < 200)).count();
    assert!(inked > 1000, "only {inked} drawn pixels");
    let l = lines(&render(&mut app, 120, 24));
    assert!(l[23].contains("charts/grid-loss-"), "{}", l[23]);
}

#[test]
fn k_asks_the_highlighted_run_to_stop_through_the_store() {
    let fx = fixture();
    let (mut app, _p) = loaded(&fx, false);
    let highlighted = app.highlighted_id().unwrap();
    assert_eq!(
        key(&mut app, KeyCode::Char('K')),
        Some(Command::StopRun(highlighted))
    );
    // Run 2 is running in the fixture (here held by this live process: a claim that names no
    // process would be reaped as dead first); run 1 is done.
    {
        let mut store = Store::open(&fx.db).unwrap();
        store.finish_run(2, RunStatus::Interrupted, None).unwrap();
        let me = crate::runner::liveness::this_process();
        store.claim_run(2, "cpu", &me).unwrap();
    }
    let mut jobs = Jobs::new();
    actions::stop_run(&app, &mut jobs, 2);
    settle(&mut jobs, &mut app);
    let (msg, is_err) = app.message.clone().unwrap();
    assert!(!is_err && msg.contains("asked run 2 to stop"), "{msg}");
    assert!(Store::open(&fx.db).unwrap().stop_requested(2).unwrap());
    actions::stop_run(&app, &mut jobs, 1);
    settle(&mut jobs, &mut app);
    let (msg, is_err) = app.message.clone().unwrap();
    assert!(is_err && msg.contains("run 1 is not running"), "{msg}");
    assert!(!Store::open(&fx.db).unwrap().stop_requested(1).unwrap());
}

#[test]
fn paused_and_pruned_runs_show_the_epoch_they_stopped_at_in_the_runs_and_curves_views() {
    let fx = fixture();
    {
        // Run 2 paused at its rung (epoch 2), run 3 pruned after epoch 1.
        let store = Store::open(&fx.db).unwrap();
        store.finish_run(2, RunStatus::Paused, None).unwrap();
        store.finish_run(3, RunStatus::Pruned, None).unwrap();
    }
    let (mut app, _p) = loaded(&fx, false);
    let l = lines(&render(&mut app, 120, 24));
    assert!(l[find_line(&l, "paused")].contains("paused @2"), "{l:#?}");
    assert!(l[find_line(&l, "pruned")].contains("pruned @1"), "{l:#?}");
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('j'));
    app.view = View::Curves;
    let l = lines(&render(&mut app, 100, 24));
    find_line(&l, "#3 pruned @1 train");
}
