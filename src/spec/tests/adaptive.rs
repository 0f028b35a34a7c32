//! The adaptive sweep's keys: distributions, tpe, `[sweep.early_stop]`, each bad value
//! reported where it is.

use super::*;

/// MIN with 3 epochs and a validation split, then `sweep` (from line 13).
fn adaptive(sweep: &str) -> String {
    let base = with(MIN, "epochs = 1", "epochs = 3");
    let base = with(
        &base,
        "dataset = \"mnist\"\n",
        "dataset = \"mnist\"\nvalidation_split = 0.1\n",
    );
    format!("{base}{sweep}\n")
}

/// The one diagnostic's (key, message), checked to point at the first `at` on `line`.
fn located(text: &str, line: usize, at: &str) -> (String, String) {
    let (l, c, key, message) = one_error(text);
    let source = text.lines().nth(line - 1).unwrap();
    let column = source
        .find(at)
        .unwrap_or_else(|| panic!("{at:?} not on {source:?}"))
        + 1;
    assert_eq!((l, c), (line, column), "{key}: {message}");
    (key, message)
}

const TPE: &str = "[sweep]\nstrategy = \"tpe\"\nsamples = 12\nseed = 7\n[sweep.axes]\n";

#[test]
fn the_issue_example_parses_into_domains_tpe_and_asha() {
    let e = ok(&adaptive(
        "[sweep]\nstrategy = \"tpe\"\nsamples = 24\nseed = 7\nrepeats = 1\n[sweep.axes]\n\
         \"model.blocks\" = [[6, 12, 24, 16], [4, 4, 4, 4]]\n\
         \"model.growth_rate\" = { int = [8, 32] }\n\
         \"model.dropout\" = { uniform = [0.0, 0.5] }\n\
         \"train.optimizer.lr\" = { log_uniform = [1e-4, 1e-1] }\n\
         [sweep.early_stop]\nrule = \"asha\"\nmetric = \"val.accuracy\"\nmin_epochs = 1\nreduction = 3",
    )
    .replace("blocks = [4, 4, 4]", "blocks = [4, 4, 4]\nstem = \"cifar\""));
    assert_eq!(
        e.sweep.strategy,
        Strategy::Tpe {
            samples: 24,
            seed: 7,
            startup: 10
        }
    );
    assert_eq!(e.sweep.axes[1].domain, Domain::Int { low: 8, high: 32 });
    assert_eq!(
        e.sweep.axes[3].domain,
        Domain::LogUniform {
            low: 1e-4,
            high: 1e-1
        }
    );
    let stop = e.sweep.early_stop.clone().unwrap();
    assert_eq!(
        stop.rule,
        StopRule::Asha {
            min_epochs: 1,
            reduction: 3
        }
    );
    assert_eq!(stop.objective.label(), "val.accuracy");
    assert_eq!(e.sweep.objective, Some(stop.objective));
    assert!(!e.sweep.is_enumerable() && e.sweep.is_adaptive());
    assert!(
        e.trials().is_empty(),
        "tpe trials are proposed while it runs"
    );
    assert!(e.warnings.is_empty());
}

#[test]
fn a_drawn_point_is_a_trial_of_the_sweep_and_draws_are_deterministic() {
    let e = ok(&adaptive(&format!(
        "{TPE}\"model.dropout\" = {{ uniform = [0.0, 0.5] }}\n\"train.optimizer.lr\" = {{ log_uniform = [1e-4, 1e-1] }}"
    )));
    let point = e.sweep.draw(3, 0);
    assert_eq!(point, e.sweep.draw(3, 0));
    assert_ne!(point, e.sweep.draw(3, 1));
    let trials = e.trials_at(3, &point).unwrap();
    assert_eq!(trials.len(), 1);
    assert_eq!(trials[0].index, 3);
    let dropout = trials[0].config.model.dropout;
    assert!((0.0..=0.5).contains(&dropout));
    assert_eq!(json!(dropout), point[0].1);
}

#[test]
fn distribution_errors_are_located_at_the_bound_at_fault() {
    let axes = |line: &str| adaptive(&format!("{TPE}{line}"));
    // Line 17 is the axis.
    let (key, message) = located(
        &axes("\"model.dropout\" = { uniform = [0.5, 0.1] }"),
        17,
        "0.1",
    );
    assert_eq!(key, "sweep.axes.\"model.dropout\".uniform[1]");
    assert!(message.contains("expected high > low"), "{message}");
    let (key, message) = located(
        &axes("\"train.optimizer.lr\" = { log_uniform = [0.0, 0.1] }"),
        17,
        "0.0",
    );
    assert_eq!(key, "sweep.axes.\"train.optimizer.lr\".log_uniform[0]");
    assert!(message.contains("> 0"), "{message}");
    let (key, message) = located(
        &axes("\"model.growth_rate\" = { int = [4.5, 8] }"),
        17,
        "4.5",
    );
    assert_eq!(key, "sweep.axes.\"model.growth_rate\".int[0]");
    assert!(message.contains("expected an integer"), "{message}");
    // A float distribution on an integer key: both ends are floats, each is reported.
    let d = errors(&axes("\"model.growth_rate\" = { uniform = [8, 32] }"));
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(d[0].key, "sweep.axes.\"model.growth_rate\".uniform[0]");
    assert_eq!((d[0].line, d[0].column), (17, 36));
    assert!(
        d[1].message.contains("{ int = [low, high] }"),
        "{}",
        d[1].message
    );
    // An end outside the key's own range: dropout must stay below 1.
    let (key, message) = located(
        &axes("\"model.dropout\" = { uniform = [0.0, 1.5] }"),
        17,
        "1.5",
    );
    assert_eq!(key, "sweep.axes.\"model.dropout\".uniform[1]");
    assert!(
        message.contains("expected a number in [0, 1), found 1.5"),
        "{message}"
    );
    let (key, message) = located(
        &axes("\"model.dropout\" = { normal = [0.0, 1.0] }"),
        17,
        "[0.0",
    );
    assert_eq!(key, "sweep.axes.\"model.dropout\".normal");
    assert!(message.contains("unknown distribution"), "{message}");
}

#[test]
fn a_distribution_on_a_grid_sweep_is_refused_at_the_axis() {
    let text = adaptive("[sweep.axes]\n\"model.dropout\" = { uniform = [0.0, 0.5] }");
    let (key, message) = located(&text, 13, "{");
    assert_eq!(key, "sweep.axes.\"model.dropout\"");
    assert!(
        message.contains("strategy = \"random\" or \"tpe\""),
        "{message}"
    );
}

#[test]
fn early_stop_errors_are_located() {
    let stop = |lines: &str| {
        adaptive(&format!(
            "{TPE}\"model.dropout\" = {{ uniform = [0.0, 0.5] }}\n[sweep.early_stop]\n{lines}"
        ))
    };
    // [sweep.early_stop] is line 18; its keys follow.
    let (key, message) = located(&stop("rule = \"asha\"\nmin_epochs = 4"), 20, "4");
    assert_eq!(key, "sweep.early_stop.min_epochs");
    assert!(message.contains("at most train.epochs (3"), "{message}");
    let (key, message) = located(&stop("rule = \"asha\"\nreduction = 1"), 20, "1");
    assert_eq!(key, "sweep.early_stop.reduction");
    assert!(message.contains(">= 2"), "{message}");
    let (key, message) = located(&stop("rule = \"median\"\nreduction = 3"), 20, "3");
    assert_eq!(key, "sweep.early_stop.reduction");
    assert!(message.contains("only asha has rungs"), "{message}");
    let (key, message) = located(&stop("rule = \"asha\"\nmetric = \"val.f1\""), 20, "\"val");
    assert_eq!(key, "sweep.early_stop.metric");
    assert!(message.contains("SPLIT.METRIC"), "{message}");
    let (_, message) = located(&stop("rule = \"hyperband\""), 19, "\"hyper");
    assert!(
        message.contains("asha") && message.contains("median"),
        "{message}"
    );
}

#[test]
fn a_val_metric_needs_a_validation_split_and_a_test_metric_warns() {
    let no_val = format!(
        "{}[sweep]\nstrategy = \"random\"\nsamples = 2\n[sweep.axes]\n\"model.dropout\" = {{ uniform = [0.0, 0.5] }}\n[sweep.early_stop]\nrule = \"median\"\n",
        with(MIN, "epochs = 1", "epochs = 3")
    );
    // No metric given: val.accuracy, which this file cannot measure.
    let (key, message) = located(&no_val, 16, "[sweep.early_stop]");
    assert_eq!(key, "sweep.early_stop.metric");
    assert!(message.contains("needs a validation split"), "{message}");
    let on_test = format!("{no_val}metric = \"test.accuracy\"\n");
    let e = ok(&on_test);
    assert_eq!(e.warnings.len(), 1);
    assert!(
        e.warnings[0].starts_with("exp/x.toml:18:10: sweep.early_stop.metric: ")
            && e.warnings[0].contains("leaks it into model selection")
            && e.warnings[0].contains("validation_split"),
        "{}",
        e.warnings[0]
    );
}

#[test]
fn startup_belongs_to_tpe_and_tpe_needs_samples() {
    let (key, message) = located(
        &adaptive(
            "[sweep]\nstrategy = \"random\"\nsamples = 2\nstartup = 3\n[sweep.axes]\n\"model.dropout\" = [0.0, 0.1]",
        ),
        15,
        "3",
    );
    assert_eq!(key, "sweep.startup");
    assert!(message.contains("only tpe uses it"), "{message}");
    let (key, message) = located(
        &adaptive(
            "[sweep]\nstrategy = \"grid\"\nstartup = 3\n[sweep.axes]\n\"model.dropout\" = [0.0, 0.1]",
        ),
        14,
        "3",
    );
    assert_eq!(key, "sweep.startup");
    assert!(
        message.contains("with strategy = \"grid\" (only tpe uses it)"),
        "{message}"
    );
    let (key, message) = located(
        &adaptive("[sweep]\nstrategy = \"tpe\"\n[sweep.axes]\n\"model.dropout\" = [0.0, 0.1]"),
        13,
        "\"tpe",
    );
    assert_eq!(key, "sweep.strategy");
    assert!(
        message.contains("samples = N with strategy = \"tpe\""),
        "{message}"
    );
}

#[test]
fn asha_on_a_grid_keeps_every_trial_enumerated() {
    let e = ok(&adaptive(
        "[sweep.axes]\n\"model.dropout\" = [0.0, 0.1, 0.2]\n[sweep.early_stop]\nrule = \"asha\"",
    ));
    assert!(e.sweep.is_enumerable() && e.sweep.is_adaptive());
    assert_eq!(e.trials().len(), 3);
}
