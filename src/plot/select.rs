//! From the store to a [`Chart`]: which runs, which rows, and how each run is named.

use serde_json::{Map, Value};

use crate::store::{RunRow, Store};

use super::chart::{Chart, Series};
use super::error::runs_named;
use super::{MetricKind, PlotError};

/// The chart of `metric` for the runs of `experiment`: one series per run, x = epoch (or
/// step for step metrics), accuracies in percent.
///
/// `runs`: `None` (or an empty list) means every run of the experiment that has logged the
/// metric; listed runs are drawn in the given order and appear in the legend even before
/// they have data ("(no data)"), so a mistyped id is never silently dropped. Ids outside
/// the experiment are an error, as is a chart with nothing to draw.
pub fn chart_for(
    store: &Store,
    experiment: &str,
    runs: Option<&[i64]>,
    metric: MetricKind,
) -> Result<Chart, PlotError> {
    let all = store.runs(Some(experiment))?;
    if all.is_empty() {
        let known = store.experiment_names()?;
        if !known.iter().any(|k| k == experiment) {
            return Err(PlotError::UnknownExperiment {
                name: experiment.to_string(),
                known,
            });
        }
    }
    let chosen: Vec<&RunRow> = match runs {
        None | Some([]) => all.iter().collect(),
        Some(ids) => {
            let mut wanted: Vec<i64> = Vec::with_capacity(ids.len());
            for &id in ids {
                if !wanted.contains(&id) {
                    wanted.push(id);
                }
            }
            let missing: Vec<i64> = wanted
                .iter()
                .copied()
                .filter(|id| !all.iter().any(|r| r.id == *id))
                .collect();
            if !missing.is_empty() {
                return Err(PlotError::RunsNotInExperiment {
                    experiment: experiment.to_string(),
                    missing,
                    available: all.iter().map(|r| r.id).collect(),
                });
            }
            wanted
                .iter()
                .filter_map(|id| all.iter().find(|r| r.id == *id))
                .collect()
        }
    };
    let explicit = matches!(runs, Some(ids) if !ids.is_empty());

    let (scope, split, name) = metric.source();
    let scale = if metric.is_percent() { 100.0 } else { 1.0 };
    let descriptions: Vec<String> = chosen.iter().map(|r| describe_overrides(r)).collect();
    let mut series = Vec::with_capacity(chosen.len());
    for (run, desc) in chosen.iter().zip(&descriptions) {
        let rows = store.metric_series(run.id, scope, split, name)?;
        let raw = rows.iter().map(|m| {
            let x = if metric.by_step() {
                m.step as f64
            } else {
                m.epoch as f64
            };
            (x, m.value * scale)
        });
        let points = last_per_x(raw);
        if points.is_empty() && !explicit {
            continue;
        }
        let mut label = format!("run {}", run.id);
        if !desc.is_empty() {
            label.push(' ');
            label.push_str(desc);
        }
        // Repeats share their overrides; the seed tells them apart.
        if descriptions.iter().filter(|d| *d == desc).count() > 1 {
            label.push_str(&format!(" seed={}", run.seed));
        }
        if points.is_empty() {
            label.push_str(" (no data)");
        }
        series.push(Series { label, points });
    }

    if series.iter().all(|s| s.points.is_empty()) {
        let ids: Vec<i64> = chosen.iter().map(|r| r.id).collect();
        return Err(PlotError::NoData {
            experiment: experiment.to_string(),
            metric: metric.name().to_string(),
            runs: if explicit {
                runs_named(&ids)
            } else if ids.is_empty() {
                "any run (it has none)".to_string()
            } else {
                format!("any of its {} runs", ids.len())
            },
        });
    }
    Ok(Chart {
        title: format!("{experiment}: {}", metric.describe()),
        x_label: metric.x_label().to_string(),
        y_label: metric.y_label(),
        series,
        log_y: metric.log_y(),
    })
}

/// One point per x, the last one logged: a run resumed from a checkpoint logs its steps
/// after the checkpoint again, and the newer values are the ones its model continued from.
/// Input must be sorted by x (ties in logging order), as `metric_series` returns it.
fn last_per_x(points: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for p in points {
        match out.last_mut() {
            Some(last) if last.0 == p.0 => *last = p,
            _ => out.push(p),
        }
    }
    out
}

/// `k=12 blocks=[4,4] dropout=0.2`: the swept values of a run, keys shortened to their last
/// segment (`growth_rate` is DenseNet's `k`), growth rate first, then alphabetically. Keys
/// whose last segment would be ambiguous keep their full path.
pub(crate) fn describe_overrides(run: &RunRow) -> String {
    let map: Map<String, Value> = serde_json::from_str(&run.overrides_json).unwrap_or_default();
    let last = |k: &str| k.rsplit('.').next().unwrap_or(k).to_string();
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| (last(k) != "growth_rate", k.as_str()));
    keys.iter()
        .map(|k| {
            let short = last(k);
            let ambiguous = map.keys().filter(|o| last(o) == short).count() > 1;
            let shown = match short.as_str() {
                _ if ambiguous => k.to_string(),
                "growth_rate" => "k".to_string(),
                _ => short,
            };
            let value = match &map[k.as_str()] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{shown}={value}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}
