//! Which sweep axes matter: the finished trials' axis values and metric as a design for
//! `stats::fanova`, ranked by each axis's share of the variance, or the reason there are too
//! few trials to say. `importance` prints it; the dashboard's Table view draws it.

use serde_json::{Map, Value};

use crate::stats::fanova::{self, Design, Forest, Importance, Levels};
use crate::store::{MetricName, Split};

/// A metric of a run as `split.name`; its value is the best over epochs (highest accuracy,
/// lowest loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub split: Split,
    pub name: MetricName,
}

impl Metric {
    pub const TEST_ACCURACY: Metric = Metric {
        split: Split::Test,
        name: MetricName::Accuracy,
    };
    pub const VAL_ACCURACY: Metric = Metric {
        split: Split::Val,
        name: MetricName::Accuracy,
    };

    /// `test.accuracy`, `val.loss`, ...: accuracy or loss of train, val or test.
    pub fn parse(text: &str) -> Result<Metric, String> {
        let bad = || {
            format!(
                "unknown metric {text:?}: expected SPLIT.NAME with SPLIT train, val or test and \
                 NAME accuracy or loss (e.g. val.accuracy)"
            )
        };
        let (split, name) = text.split_once('.').ok_or_else(bad)?;
        let split: Split = split.parse().map_err(|_| bad())?;
        let name = match name.parse::<MetricName>().map_err(|_| bad())? {
            n @ (MetricName::Accuracy | MetricName::Loss) => n,
            _ => return Err(bad()),
        };
        Ok(Metric { split, name })
    }

    /// The best of a run's per-epoch values of this metric.
    pub fn best(&self, values: impl IntoIterator<Item = f64>) -> Option<f64> {
        let it = values.into_iter().filter(|v| v.is_finite());
        match self.name {
            MetricName::Loss => it.reduce(f64::min),
            _ => it.reduce(f64::max),
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.split.as_str(), self.name.as_str())
    }
}

/// One finished trial: its axis values and its metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub overrides: Map<String, Value>,
    pub value: f64,
}

/// One axis's importance; `None` for an axis with a single value in every trial.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisImportance {
    pub axis: String,
    pub levels: usize,
    pub importance: Option<Importance>,
}

/// The axes, most important first, or why there are too few trials to rank them.
#[derive(Debug, Clone, PartialEq)]
pub enum Ranking {
    Ranked(Vec<AxisImportance>),
    TooFew(String),
}

/// Fewest trials the forest is given for `axes` axes that vary: two per axis and four more,
/// below which the trees mostly fit seed noise.
pub fn min_trials(axes: usize) -> usize {
    2 * axes + 4
}

/// Ranks `axes` by fANOVA over `trials` (fixed forest seed: the same trials, the same ranking).
pub fn rank(axes: &[String], trials: &[Trial]) -> Ranking {
    let levels: Vec<Vec<Value>> = axes.iter().map(|a| levels_of(a, trials)).collect();
    let varying: Vec<usize> = (0..axes.len()).filter(|&a| levels[a].len() > 1).collect();
    if trials.is_empty() {
        return Ranking::TooFew("no finished trial has this metric yet".into());
    }
    if varying.is_empty() {
        return Ranking::TooFew(format!(
            "every one of the {} finished trials has the same value of every axis: nothing to rank",
            trials.len()
        ));
    }
    let need = min_trials(varying.len());
    if trials.len() < need {
        return Ranking::TooFew(format!(
            "importance needs at least {need} finished trials for {} varying axes (2 per axis + \
             4), and there are {}: run more points or repeats",
            varying.len(),
            trials.len()
        ));
    }
    if trials.iter().all(|t| t.value == trials[0].value) {
        return Ranking::TooFew(format!(
            "the metric is {} in all {} finished trials: no axis explains any variance",
            trials[0].value,
            trials.len()
        ));
    }
    let design = Design {
        axes: varying
            .iter()
            .map(|&a| Levels {
                count: levels[a].len(),
                ordered: levels[a].iter().all(Value::is_number),
            })
            .collect(),
        rows: trials
            .iter()
            .map(|t| {
                varying
                    .iter()
                    .map(|&a| {
                        let v = t.overrides.get(&axes[a]).unwrap_or(&Value::Null);
                        levels[a]
                            .iter()
                            .position(|l| l == v)
                            .expect("a level of its own")
                    })
                    .collect()
            })
            .collect(),
        y: trials.iter().map(|t| t.value).collect(),
    };
    let shares = fanova::importance(&design, &Forest::default());
    let mut ranked: Vec<AxisImportance> = varying
        .iter()
        .zip(shares)
        .map(|(&a, s)| AxisImportance {
            axis: axes[a].clone(),
            levels: levels[a].len(),
            importance: Some(s),
        })
        .collect();
    ranked.sort_by(|x, y| {
        let m = |i: &AxisImportance| i.importance.map_or(0.0, |s| s.mean);
        m(y).total_cmp(&m(x))
    });
    ranked.extend(
        (0..axes.len())
            .filter(|a| !varying.contains(a))
            .map(|a| AxisImportance {
                axis: axes[a].clone(),
                levels: levels[a].len(),
                importance: None,
            }),
    );
    Ranking::Ranked(ranked)
}

/// The distinct values of `axis` over the trials: numbers in ascending order (so a tree
/// splits them by threshold), anything else in first-seen order (split as categories).
fn levels_of(axis: &str, trials: &[Trial]) -> Vec<Value> {
    let mut levels: Vec<Value> = Vec::new();
    for t in trials {
        let v = t.overrides.get(axis).cloned().unwrap_or(Value::Null);
        if !levels.contains(&v) {
            levels.push(v);
        }
    }
    if levels.iter().all(Value::is_number) {
        levels.sort_by(|a, b| {
            a.as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b.as_f64().unwrap_or(0.0))
        });
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trial(lr: f64, opt: &str, fixed: i64, value: f64) -> Trial {
        let o = json!({"lr": lr, "opt": opt, "fixed": fixed});
        Trial {
            overrides: o.as_object().unwrap().clone(),
            value,
        }
    }

    fn axes() -> Vec<String> {
        ["fixed", "opt", "lr"].map(String::from).to_vec()
    }

    #[test]
    fn metrics_parse_as_split_dot_name_and_take_the_best_epoch() {
        assert_eq!(Metric::parse("val.accuracy"), Ok(Metric::VAL_ACCURACY));
        let loss = Metric::parse("test.loss").unwrap();
        assert_eq!(loss.best([0.5, 0.2, 0.3]), Some(0.2));
        assert_eq!(Metric::TEST_ACCURACY.best([0.5, 0.9, 0.8]), Some(0.9));
        assert_eq!(Metric::TEST_ACCURACY.best([]), None);
        for bad in ["accuracy", "val.lr", "dev.accuracy", ""] {
            assert!(
                Metric::parse(bad).unwrap_err().contains("SPLIT.NAME"),
                "{bad}"
            );
        }
    }

    #[test]
    fn too_few_trials_are_refused_with_the_count_needed() {
        let few: Vec<Trial> = (0..7)
            .map(|i| trial(i as f64, ["adam", "sgd"][i % 2], 1, i as f64))
            .collect();
        let Ranking::TooFew(why) = rank(&axes(), &few) else {
            panic!("7 trials for 2 varying axes (lr, opt) are too few")
        };
        assert!(
            why.contains("at least 8 finished trials for 2 varying axes"),
            "{why}"
        );
        assert!(why.contains("there are 7"), "{why}");
        let one_axis: Vec<Trial> = (0..5)
            .map(|i| trial(i as f64, "adam", 1, i as f64))
            .collect();
        let Ranking::TooFew(why) = rank(&axes(), &one_axis) else {
            panic!("5 trials for 1 varying axis are too few")
        };
        assert!(
            why.contains("at least 6 finished trials for 1 varying axes"),
            "{why}"
        );
        let same: Vec<Trial> = (0..8).map(|_| trial(0.1, "adam", 1, 0.5)).collect();
        assert!(matches!(rank(&axes(), &same), Ranking::TooFew(w) if w.contains("same value")));
        assert!(matches!(rank(&axes(), &[]), Ranking::TooFew(_)));
    }

    #[test]
    fn a_constant_metric_is_refused_and_a_single_valued_axis_is_listed_last() {
        let flat: Vec<Trial> = (0..12)
            .map(|i| trial((i % 3) as f64, ["adam", "sgd"][i % 2], 1, 0.5))
            .collect();
        assert!(
            matches!(rank(&axes(), &flat), Ranking::TooFew(w) if w.contains("no axis explains"))
        );
        // The optimizer decides the metric; lr (3 values) does not; `fixed` never varies.
        let trials: Vec<Trial> = (0..12)
            .map(|i| {
                let opt = ["adam", "sgd"][i % 2];
                trial(
                    (i % 3) as f64,
                    opt,
                    1,
                    if opt == "adam" { 0.9 } else { 0.6 },
                )
            })
            .collect();
        let Ranking::Ranked(r) = rank(&axes(), &trials) else {
            panic!("12 trials are enough")
        };
        let names: Vec<&str> = r.iter().map(|a| a.axis.as_str()).collect();
        assert_eq!(names, ["opt", "lr", "fixed"]);
        assert!(r[0].importance.unwrap().mean > 0.95, "{r:?}");
        assert!(r[1].importance.unwrap().mean < 0.02, "{r:?}");
        assert_eq!((r[2].levels, r[2].importance), (1, None));
    }
}
