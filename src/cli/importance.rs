//! `importance`: the sweep axes of an experiment ranked by fANOVA over its finished trials.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use super::inspect::{axes_of, known_experiment, open};
use super::output::{Rows, write_rows};
use super::{Format, UsageError};
use crate::report::importance::{Metric, Ranking, Trial, rank};
use crate::stats::fanova::Forest;
use crate::store::{RunStatus, Scope};

/// Prints the ranking, or (exit 0) why there are too few trials: on stdout for a table, on
/// stderr beside an empty result for the machine formats.
pub fn importance(
    db: &Path,
    experiment: &str,
    metric: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let store = open(db)?;
    known_experiment(&store, experiment)?;
    let runs = store.runs(Some(experiment))?;
    let axes = axes_of(&store, experiment, &runs)?;
    let mut series = Vec::new();
    for r in runs.iter().filter(|r| r.status == RunStatus::Done) {
        let overrides = serde_json::from_str(&r.overrides_json).unwrap_or_default();
        series.push((overrides, store.metrics(r.id)?));
    }
    let value = |m: Metric, rows: &[crate::store::MetricRow]| {
        m.best(
            rows.iter()
                .filter(|x| x.scope == Scope::Epoch && x.split == m.split && x.name == m.name)
                .map(|x| x.value),
        )
    };
    // Default: validation accuracy where the trials have a validation split (tuning on the
    // test set leaks it into model selection), else test accuracy as `compare` shows. The
    // trials' configs say so before any of them is done.
    let metric = match metric {
        Some(text) => Metric::parse(text).map_err(UsageError)?,
        None if runs.iter().any(has_validation_split)
            || series
                .iter()
                .any(|(_, m)| value(Metric::VAL_ACCURACY, m).is_some()) =>
        {
            Metric::VAL_ACCURACY
        }
        None => Metric::TEST_ACCURACY,
    };
    let trials: Vec<Trial> = series
        .into_iter()
        .filter_map(|(overrides, m)| value(metric, &m).map(|value| Trial { overrides, value }))
        .collect();
    let mut rows = Rows::new([
        "rank",
        "axis",
        "importance",
        "spread",
        "levels",
        "metric",
        "trials",
    ]);
    let ranked = match rank(&axes, &trials) {
        Ranking::Ranked(r) => r,
        Ranking::TooFew(why) => {
            let why = format!("{experiment}, {metric}: {why}");
            if format == Format::Table {
                writeln!(out, "{why}")?;
            } else {
                write_rows(out, &rows, format)?;
                eprintln!("{why}");
            }
            return Ok(());
        }
    };
    let round = |x: f64| (x * 1e4).round() / 1e4;
    let mut main_sum = 0.0;
    for (i, a) in ranked.iter().enumerate() {
        let (share, spread) = match a.importance {
            Some(s) => {
                main_sum += s.mean;
                if format == Format::Table {
                    (
                        json!(format!("{:.1}%", s.mean * 100.0)),
                        json!(format!("± {:.1}", s.std * 100.0)),
                    )
                } else {
                    (json!(round(s.mean)), json!(round(s.std)))
                }
            }
            None => (json!(null), json!(null)),
        };
        let rank = if a.importance.is_some() {
            json!(i + 1)
        } else {
            json!(null)
        };
        rows.rows.push(vec![
            rank,
            json!(a.axis),
            share,
            spread,
            json!(a.levels),
            json!(metric.to_string()),
            json!(trials.len()),
        ]);
    }
    if format == Format::Table {
        rows.columns.truncate(5);
        rows.columns[3] = "spread (std over trees)".into();
        for r in &mut rows.rows {
            r.truncate(5);
        }
    }
    write_rows(out, &rows, format)?;
    if format == Format::Table {
        writeln!(
            out,
            "fANOVA main effects of the best {metric} of {} done trials ({} trees); together they \
             explain {:.1}% of the forest's variance, the rest is interactions between axes. An \
             axis with one value has no importance.",
            trials.len(),
            Forest::default().trees,
            main_sum * 100.0
        )?;
    }
    Ok(())
}

/// Whether a run's resolved configuration holds out a validation split.
fn has_validation_split(run: &crate::store::RunRow) -> bool {
    serde_json::from_str::<serde_json::Value>(&run.config_json)
        .ok()
        .and_then(|c| c["data"]["validation_split"].as_f64())
        .is_some_and(|split| split > 0.0)
}
