//! Sweep expansion.

use super::*;

#[test]
fn grid_of_2x2x2_with_3_repeats_is_24_trials_first_axis_slowest_repeats_innermost() {
    let e = ok(&with(VALID, "repeats = 1", "repeats = 3"));
    let trials = e.trials();
    assert_eq!(trials.len(), 24);
    for (i, t) in trials.iter().enumerate() {
        assert_eq!(t.index, i);
        assert_eq!(t.repeat, i % 3);
        assert_eq!(t.config.train.seed, 1 + (i % 3) as u64);
        let point = i / 3;
        let growth = [12, 24][point / 4];
        let blocks = [vec![6, 12, 24], vec![4, 4, 4]][(point / 2) % 2].clone();
        let dropout = [0.0, 0.2][point % 2];
        assert_eq!(
            t.overrides,
            vec![
                ("model.growth_rate".to_string(), json!(growth)),
                ("model.blocks".to_string(), json!(blocks)),
                ("model.dropout".to_string(), json!(dropout)),
            ]
        );
        assert_eq!(t.config.model.growth_rate, growth);
        assert_eq!(t.config.model.blocks, blocks);
        assert_eq!(t.config.model.dropout, dropout);
        // Keys no axis touches keep their base values.
        assert_eq!(t.config.data, e.base.data);
        assert_eq!(t.config.train.optimizer, e.base.train.optimizer);
    }
}

#[test]
fn axes_keep_file_order_not_alphabetical_order() {
    let text =
        format!("{MIN}[sweep.axes]\n\"train.epochs\" = [1, 2]\n\"data.augment\" = [false, true]\n");
    let e = ok(&text);
    let keys: Vec<_> = e.sweep.axes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["train.epochs", "data.augment"]);
    let t = e.trials();
    assert_eq!(t[1].overrides[0], ("train.epochs".to_string(), json!(1)));
    assert_eq!(t[1].overrides[1], ("data.augment".to_string(), json!(true)));
}

fn random_file(samples: usize, seed: Option<u64>) -> String {
    let seed = seed.map_or(String::new(), |s| format!("seed = {s}\n"));
    with(
        VALID,
        "strategy = \"grid\"\nrepeats = 1\n",
        &format!("strategy = \"random\"\nsamples = {samples}\n{seed}repeats = 2\n"),
    )
}

#[test]
fn random_sweep_draws_distinct_points_deterministically_per_seed() {
    let e = ok(&random_file(5, Some(3)));
    assert_eq!(
        e.sweep.strategy,
        Strategy::Random {
            samples: 5,
            seed: 3
        }
    );
    let trials = e.trials();
    assert_eq!(trials.len(), 10);
    let points: Vec<_> = trials
        .iter()
        .step_by(2)
        .map(|t| t.overrides.clone())
        .collect();
    for (i, t) in trials.iter().enumerate() {
        assert_eq!((t.index, t.repeat), (i, i % 2));
        assert_eq!(t.overrides, points[i / 2]);
    }
    for (i, p) in points.iter().enumerate() {
        assert!(!points[..i].contains(p), "point {i} drawn twice");
    }
    assert_eq!(ok(&random_file(5, Some(3))).trials(), trials);
    let other: Vec<_> = ok(&random_file(5, Some(4)))
        .trials()
        .iter()
        .step_by(2)
        .map(|t| t.overrides.clone())
        .collect();
    assert_ne!(other, points);
    // The default sampling seed is 0.
    assert_eq!(
        ok(&random_file(5, None)).trials(),
        ok(&random_file(5, Some(0))).trials()
    );
    // All 8 points can be drawn; a 9th cannot.
    assert_eq!(ok(&random_file(8, None)).trials().len(), 16);
    let d = one_error(&random_file(9, None));
    assert_eq!(
        (d.2.as_str(), d.3.as_str()),
        (
            "sweep.samples",
            "expected at most 8 samples (the grid has 8 points), found 9"
        )
    );
}

#[test]
fn an_axis_can_switch_whole_optimizer_tables() {
    let text = format!(
        "{MIN}[sweep.axes]\n\"train.optimizer\" = [{{ kind = \"adam\", lr = 1e-3 }}, \
         {{ kind = \"sgd\", lr = 0.1, momentum = 0.9 }}]\n"
    );
    let trials = ok(&text).trials();
    assert_eq!(trials.len(), 2);
    assert!(
        matches!(trials[1].config.train.optimizer, Optimizer::Sgd { momentum, .. } if momentum == 0.9)
    );
    let bad = with(&text, "lr = 0.1", "lr = 0.0");
    assert_eq!(
        one_error(&bad),
        err(
            12,
            52,
            "sweep.axes.\"train.optimizer\"[1]",
            "train.optimizer.lr: expected a finite number > 0, found 0.0"
        )
    );
}

#[test]
fn stem_channels_can_be_swept_and_unset_it_follows_each_trials_growth_rate() {
    let swept = ok(&format!(
        "{MIN}[sweep.axes]\n\"model.stem_channels\" = [16, 24]\n"
    ));
    let t = swept.trials();
    let widths: Vec<_> = t.iter().map(|t| t.config.model.stem_width()).collect();
    assert_eq!(widths, [16, 24]);
    // With k = 12, 24 is the default stem: the same trial as the base file's.
    let base = ok(MIN).trials();
    assert_eq!(t[1].hash, base[0].hash);
    assert_ne!(t[0].hash, base[0].hash);
    // Unset, the stem is 2k of each trial's own growth rate.
    let growth = ok(&format!(
        "{MIN}[sweep.axes]\n\"model.growth_rate\" = [8, 40]\n"
    ));
    let widths: Vec<_> = growth
        .trials()
        .iter()
        .map(|t| t.config.model.stem_width())
        .collect();
    assert_eq!(widths, [16, 80]);
    // A bad value is reported at its element.
    let d = errors(&format!(
        "{MIN}[sweep.axes]\n\"model.stem_channels\" = [16, 0]\n"
    ));
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!((d[0].line, d[0].column), (12, 30));
    assert_eq!(d[0].message, "expected an integer in [1, 2048], found 0");
}
