//! `[sweep.early_stop]` and the sweep's objective: which metric decides, and when a trial is
//! paused (ASHA) or pruned (median), checked against the trials the sweep makes.

use serde::Deserialize;
use serde_json::Value;

use super::config::TrialConfig;
use super::location::Reporter;
use super::{Axis, Domain};

/// The table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEarlyStop {
    rule: RuleName,
    metric: Option<String>,
    min_epochs: Option<usize>,
    reduction: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RuleName {
    Asha,
    Median,
}

/// When trials end before their last epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRule {
    /// Asynchronous successive halving: rungs at `min_epochs * reduction^i` epochs; a trial
    /// pauses at each rung until it is in the top `1 / reduction` of the trials there.
    Asha { min_epochs: usize, reduction: usize },
    /// A trial is pruned at an epoch after `warmup_epochs` when its best value so far is worse
    /// than the median of the finished trials at that epoch (Optuna's MedianPruner).
    Median { warmup_epochs: usize },
}

/// Trials the median rule waits for before it prunes anything (Optuna's `n_startup_trials`).
pub const MEDIAN_STARTUP_TRIALS: usize = 5;

/// The metric a sweep optimizes: an epoch metric of one split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objective {
    /// `train`, `val` or `test`.
    pub split: String,
    /// `accuracy` (maximized) or `loss` (minimized).
    pub name: String,
}

impl Objective {
    /// `SPLIT.METRIC` with SPLIT train, val or test and METRIC accuracy or loss.
    pub fn parse(text: &str) -> Option<Objective> {
        let (split, name) = text.split_once('.')?;
        (["train", "val", "test"].contains(&split) && ["accuracy", "loss"].contains(&name)).then(
            || Objective {
                split: split.to_string(),
                name: name.to_string(),
            },
        )
    }

    pub fn maximize(&self) -> bool {
        self.name == "accuracy"
    }

    /// `a` is better than `b`.
    pub fn better(&self, a: f64, b: f64) -> bool {
        if self.maximize() { a > b } else { a < b }
    }

    pub fn label(&self) -> String {
        format!("{}.{}", self.split, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyStop {
    pub rule: StopRule,
    pub objective: Objective,
}

/// The objective a sweep uses when its file names none.
pub const DEFAULT_METRIC: &str = "val.accuracy";

/// `split.name`, checked against what every trial records; `None` when it is not one.
pub(crate) fn check_metric(
    path: &str,
    metric: &str,
    base: &TrialConfig,
    axes: &[Axis],
    rep: &mut Reporter,
) -> Option<Objective> {
    let Some(objective) = Objective::parse(metric) else {
        rep.at_value(
            path,
            format!(
                "expected SPLIT.METRIC with SPLIT train, val or test and METRIC accuracy or \
                 loss (such as \"val.accuracy\"), found {metric:?}"
            ),
        );
        return None;
    };
    let (split, name) = (objective.split.as_str(), objective.name.as_str());
    if split == "val" {
        let no_val = |v: &Value| v.as_f64().is_some_and(|f| f <= 0.0);
        let swept_to_zero = axes
            .iter()
            .find(|a| a.key == "data.validation_split")
            .map(|a| {
                a.domain
                    .choices()
                    .is_some_and(|values| values.iter().any(no_val))
            });
        let missing = match swept_to_zero {
            Some(zero) => zero,
            None => base.data.validation_split <= 0.0,
        };
        if missing {
            rep.at_value(
                path,
                format!(
                    "{metric:?} needs a validation split, but some trials have none: set \
                     data.validation_split (such as 0.1) in every trial"
                ),
            );
            return None;
        }
    }
    if split == "test" {
        rep.warn_at_value(
            path,
            format!(
                "{metric:?} selects models on the test set, which leaks it into model \
                 selection (the test accuracy reported is then optimistic); set \
                 data.validation_split and use \"val.{name}\""
            ),
        );
    }
    Some(objective)
}

/// The smallest `train.epochs` of any trial.
fn fewest_epochs(base: &TrialConfig, axes: &[Axis]) -> usize {
    axes.iter()
        .find(|a| a.key == "train.epochs")
        .and_then(|a| match &a.domain {
            Domain::Choice(values) => values.iter().filter_map(Value::as_u64).min(),
            Domain::Int { low, .. } => u64::try_from(*low).ok(),
            _ => None,
        })
        .map_or(base.train.epochs, |e| e as usize)
}

/// Checks the table against the trials' configs.
pub(crate) fn check_early_stop(
    raw: RawEarlyStop,
    base: &TrialConfig,
    axes: &[Axis],
    rep: &mut Reporter,
) -> Option<EarlyStop> {
    let at = |key: &str| format!("sweep.early_stop.{key}");
    let metric = raw.metric.as_deref().unwrap_or(DEFAULT_METRIC);
    let objective = check_metric(&at("metric"), metric, base, axes, rep);
    let min_epochs = raw.min_epochs.unwrap_or(1);
    let mut ok = objective.is_some();
    if min_epochs == 0 {
        rep.at_value(&at("min_epochs"), "expected an integer >= 1, found 0");
        ok = false;
    }
    let fewest = fewest_epochs(base, axes);
    if min_epochs > fewest {
        rep.at_value(
            &at("min_epochs"),
            format!(
                "expected at most train.epochs ({fewest}, the fewest of any trial), found \
                 {min_epochs}"
            ),
        );
        ok = false;
    }
    let rule = match raw.rule {
        RuleName::Asha => {
            let reduction = raw.reduction.unwrap_or(3);
            if reduction < 2 {
                rep.at_value(
                    &at("reduction"),
                    format!(
                        "expected an integer >= 2 (the top 1/reduction of a rung go on), \
                         found {reduction}"
                    ),
                );
                ok = false;
            }
            StopRule::Asha {
                min_epochs,
                reduction,
            }
        }
        RuleName::Median => {
            if let Some(r) = raw.reduction {
                rep.at_value(
                    &at("reduction"),
                    format!(
                        "expected no reduction with rule = \"median\" (only asha has rungs), \
                         found reduction = {r}"
                    ),
                );
                ok = false;
            }
            StopRule::Median {
                warmup_epochs: min_epochs,
            }
        }
    };
    ok.then(|| EarlyStop {
        rule,
        objective: objective.expect("checked above"),
    })
}
