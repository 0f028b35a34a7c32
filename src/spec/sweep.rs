//! Sweeps: which keys an axis may vary, how a point of the grid becomes a trial config, grid
//! and random enumeration, and the checks that every trial a sweep will run is valid, located
//! at the axis value responsible.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::config::TrialConfig;
use super::domain::Domain;
use super::early_stop::{DEFAULT_METRIC, RawEarlyStop, check_early_stop, check_metric};
use super::hash::trial_hash;
use super::ignored::{dropped_key, dropped_message, lookup};
use super::location::{Reporter, join};
use super::validate::{Issue, check_config};
use super::wording::reword;
use super::{Axis, Experiment, Strategy, Sweep, Trial};
use crate::rng::SplitMix64;

/// Keys a sweep axis may set. Whole `train.optimizer` / `train.schedule` tables are allowed so
/// that an axis can switch optimizer or schedule kind with its parameters.
pub(crate) const AXIS_KEYS: &[&str] = &[
    "data.dataset",
    "data.augment",
    "data.validation_split",
    "data.train_samples",
    "data.test_samples",
    "model.growth_rate",
    "model.blocks",
    "model.bottleneck",
    "model.transition",
    "model.compression",
    "model.stem",
    "model.stem_pool",
    "model.stem_channels",
    "model.dropout",
    "model.init",
    "train.epochs",
    "train.batch_size",
    "train.optimizer",
    "train.optimizer.lr",
    "train.optimizer.beta1",
    "train.optimizer.beta2",
    "train.optimizer.eps",
    "train.optimizer.momentum",
    "train.optimizer.nesterov",
    "train.optimizer.weight_decay",
    "train.schedule",
    "train.schedule.at",
    "train.schedule.factor",
    "train.schedule.min_lr",
    "train.seed",
    "train.log_every",
    "train.precision",
];

/// Most trials (points x repeats) a sweep may expand to: beyond this a file is a mistake, and
/// validating every trial at parse time would stall.
pub(crate) const MAX_TRIALS: usize = 100_000;

/// Largest grid random sampling draws from (`SplitMix64::below` is exact below 2^32).
const MAX_RANDOM_GRID: usize = u32::MAX as usize;

/// The `[sweep]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSweep {
    #[serde(default)]
    strategy: StrategyName,
    samples: Option<usize>,
    seed: Option<u64>,
    #[serde(default = "one")]
    repeats: usize,
    /// tpe only: how many points are drawn at random before the estimator takes over.
    startup: Option<usize>,
    /// What tpe optimizes, when there is no `early_stop.metric` to say it.
    metric: Option<String>,
    /// Values checked by hand (not typed) so each bad element is reported where it is.
    #[serde(default)]
    axes: BTreeMap<String, toml::Value>,
    early_stop: Option<RawEarlyStop>,
}

/// Random points tpe draws before it models anything (Optuna's `n_startup_trials`).
pub const TPE_STARTUP: usize = 10;

fn one() -> usize {
    1
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StrategyName {
    #[default]
    Grid,
    Random,
    Tpe,
}

impl StrategyName {
    /// As the file spells it.
    fn as_str(self) -> &'static str {
        match self {
            StrategyName::Grid => "grid",
            StrategyName::Random => "random",
            StrategyName::Tpe => "tpe",
        }
    }
}

/// Whether two dotted keys overlap (one is the other or contains it).
pub(super) fn related(a: &str, b: &str) -> bool {
    let prefix = |short: &str, long: &str| {
        long.strip_prefix(short)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    };
    prefix(a, b) || prefix(b, a)
}

/// `model.blocks[3]` -> `model.blocks`.
fn strip_index(path: &str) -> &str {
    path.split('[').next().unwrap_or(path)
}

/// The location path of element `i` of axis `key`.
pub(crate) fn element_path(key: &str, i: usize) -> String {
    format!("{}[{i}]", join("sweep.axes", key))
}

/// `base` with each `(dotted key, value)` set, deserialized back into a config. The error is
/// serde's, reworded, or names a key the config dropped (see `ignored`).
pub(crate) fn apply(base: &Value, overrides: &[(String, Value)]) -> Result<TrialConfig, String> {
    let mut json = base.clone();
    for (key, value) in overrides {
        let mut node = &mut json;
        let mut segments = key.split('.').peekable();
        while let Some(segment) = segments.next() {
            let object = node
                .as_object_mut()
                .expect("axis keys only name keys inside tables of the config");
            if segments.peek().is_none() {
                object.insert(segment.to_string(), value.clone());
                break;
            }
            node = object
                .entry(segment.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
        }
    }
    let config: TrialConfig = serde_json::from_value(json).map_err(|e| reword(&e.to_string()).0)?;
    let kept = serde_json::to_value(&config).expect("TrialConfig serializes to JSON");
    for (key, value) in overrides {
        let Some(at) = lookup(&kept, key) else {
            let (table, name) = key.rsplit_once('.').expect("axis keys are dotted");
            return Err(dropped_message(name, lookup(&kept, table)));
        };
        if let Some(rest) = dropped_key(value, at) {
            let (table, name) = match rest.rsplit_once('.') {
                Some((inner, name)) => (format!("{key}.{inner}"), name.to_string()),
                None => (key.clone(), rest),
            };
            return Err(dropped_message(&name, lookup(&kept, &table)));
        }
    }
    Ok(config)
}

/// Number of grid points (product of axis lengths), `None` on overflow.
pub(crate) fn grid_size(axes: &[Axis]) -> Option<usize> {
    axes.iter().try_fold(1usize, |n, axis| {
        n.checked_mul(axis.domain.choices().map_or(usize::MAX, <[Value]>::len))
    })
}

/// `k` distinct indices below `n`, in draw order: a partial Fisher-Yates shuffle kept sparse so
/// a large grid costs nothing.
pub(crate) fn sample_distinct(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    let mut moved: HashMap<usize, usize> = HashMap::new();
    (0..k.min(n))
        .map(|i| {
            let j = i + rng.below(n - i);
            let at_i = moved.get(&i).copied().unwrap_or(i);
            let at_j = moved.get(&j).copied().unwrap_or(j);
            moved.insert(j, at_i);
            at_j
        })
        .collect()
}

impl Sweep {
    /// Whether every trial is known before the sweep starts: a grid, or a random sample of
    /// one. Otherwise trials are drawn (or proposed by tpe) as the sweep runs.
    pub fn is_enumerable(&self) -> bool {
        match self.strategy {
            Strategy::Grid => true,
            Strategy::Random { .. } => self.axes.iter().all(|a| a.domain.choices().is_some()),
            Strategy::Tpe { .. } => false,
        }
    }

    /// The sweep trains more than a list of trials straight through: tpe proposes them, or
    /// early stopping pauses and prunes them.
    pub fn is_adaptive(&self) -> bool {
        !self.is_enumerable() || self.early_stop.is_some()
    }

    /// How many points (before repeats) the sweep runs.
    pub fn point_count(&self) -> usize {
        match self.strategy {
            Strategy::Grid => grid_size(&self.axes).unwrap_or(0),
            Strategy::Random { samples, .. } | Strategy::Tpe { samples, .. } => samples,
        }
    }

    /// The grid points this sweep runs, in run order (enumerable sweeps only).
    pub(crate) fn points(&self) -> Vec<usize> {
        let n = grid_size(&self.axes).expect("grid size checked at parse");
        match self.strategy {
            Strategy::Grid => (0..n).collect(),
            Strategy::Random { samples, seed } | Strategy::Tpe { samples, seed, .. } => {
                sample_distinct(n, samples, seed)
            }
        }
    }

    /// The value index of each axis at grid point `point` (first axis varies slowest).
    pub(super) fn coordinates(&self, point: usize) -> Vec<usize> {
        let mut rest = point;
        let mut coords = vec![0; self.axes.len()];
        for (axis, c) in self.axes.iter().zip(coords.iter_mut()).rev() {
            let n = axis.domain.choices().map_or(1, <[Value]>::len);
            *c = rest % n;
            rest /= n;
        }
        coords
    }

    pub(super) fn overrides(&self, coords: &[usize]) -> Vec<(String, Value)> {
        self.axes
            .iter()
            .zip(coords)
            .map(|(axis, &c)| {
                (
                    axis.key.clone(),
                    axis.domain.choices().expect("a grid axis")[c].clone(),
                )
            })
            .collect()
    }
}

impl Experiment {
    /// Every trial of the sweep: points in run order, repeats innermost
    /// (`index = point * repeats + repeat`), each repeat's seed `train.seed + repeat`. Empty
    /// for a sweep that is not enumerable (its trials are drawn as it runs: see `trials_at`).
    pub fn trials(&self) -> Vec<Trial> {
        if !self.sweep.is_enumerable() {
            return Vec::new();
        }
        let base = serde_json::to_value(&self.base).expect("TrialConfig serializes to JSON");
        let repeats = self.sweep.repeats;
        let mut trials = Vec::new();
        for (n, point) in self.sweep.points().into_iter().enumerate() {
            let overrides = self.sweep.overrides(&self.sweep.coordinates(point));
            let config = apply(&base, &overrides).expect("every trial is validated at parse");
            for repeat in 0..repeats {
                let mut config = config.clone();
                config.train.seed += repeat as u64;
                trials.push(Trial {
                    index: n * repeats + repeat,
                    repeat,
                    overrides: overrides.clone(),
                    hash: trial_hash(&config),
                    config,
                });
            }
        }
        trials
    }
}

/// `model.dropout = 0.2, data.dataset = "mnist"`.
pub(super) fn describe(overrides: &[(String, Value)]) -> String {
    overrides
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the `[sweep]` table and every trial it makes from `base`; returns the sweep when its
/// axes are well-formed (other diagnostics may still have been reported).
pub(crate) fn check_sweep(raw: Option<RawSweep>, base: &TrialConfig, rep: &mut Reporter) -> Sweep {
    let Some(raw) = raw else {
        check_base(base, 1, &[], rep);
        return Sweep {
            strategy: Strategy::Grid,
            repeats: 1,
            axes: Vec::new(),
            objective: None,
            early_stop: None,
        };
    };
    let strategy = check_strategy(&raw, rep);
    if raw.repeats == 0 {
        rep.at_value("sweep.repeats", "expected an integer >= 1, found 0");
    }
    let repeats = raw.repeats.max(1);
    let base_json = serde_json::to_value(base).expect("TrialConfig serializes to JSON");
    let axis_count = raw.axes.len();
    // Keys an axis sets, even one with bad values: their base values never run.
    let swept: Vec<&str> = raw
        .axes
        .keys()
        .map(String::as_str)
        .filter(|k| AXIS_KEYS.contains(k))
        .collect();
    check_base(base, repeats, &swept, rep);
    let grid = matches!(raw.strategy, StrategyName::Grid);
    let axes = check_axes(raw.axes, &base_json, repeats, grid, rep);
    let early_stop = raw
        .early_stop
        .and_then(|e| check_early_stop(e, base, &axes, rep));
    let objective = check_objective(
        raw.metric.as_deref(),
        &early_stop,
        &raw.strategy,
        base,
        &axes,
        rep,
    );
    let well_formed = strategy.is_some() && raw.repeats >= 1 && axes.len() == axis_count;
    let sweep = Sweep {
        strategy: strategy.unwrap_or(Strategy::Grid),
        repeats,
        axes,
        objective,
        early_stop,
    };
    // Trials can only be enumerated from a well-formed sweep.
    if well_formed && check_size(&sweep, rep) && reduction_fits(&sweep, rep) {
        if sweep.is_enumerable() {
            check_trials(&sweep, &base_json, rep);
        } else if let Some(corners) = super::sampled::corners(&sweep) {
            check_trials(&corners, &base_json, rep);
        }
    }
    sweep
}

/// Whether ASHA's `reduction` is at most the sweep's trials (reported): a rung promotes its
/// top `n / reduction`, which is none while fewer than `reduction` trials reach it, so a
/// larger reduction would pause every trial at its first rung and prune them all.
fn reduction_fits(sweep: &Sweep, rep: &mut Reporter) -> bool {
    let Some(super::EarlyStop {
        rule: super::StopRule::Asha { reduction, .. },
        ..
    }) = sweep.early_stop
    else {
        return true;
    };
    let trials = sweep.point_count().saturating_mul(sweep.repeats);
    if reduction <= trials {
        return true;
    }
    rep.at_value(
        "sweep.early_stop.reduction",
        format!(
            "expected at most {trials} (the sweep's trials: a rung promotes its top \
             1/reduction, none while fewer than reduction trials reach it, so every trial \
             would be pruned at its first rung), found {reduction}"
        ),
    );
    false
}

/// The sweep's objective: `early_stop.metric`, else `sweep.metric`, else (tpe needs one)
/// the default. A `sweep.metric` that disagrees with `early_stop.metric` is an error.
fn check_objective(
    metric: Option<&str>,
    early_stop: &Option<super::EarlyStop>,
    strategy: &StrategyName,
    base: &TrialConfig,
    axes: &[Axis],
    rep: &mut Reporter,
) -> Option<super::Objective> {
    if let Some(stop) = early_stop {
        if let Some(m) = metric.filter(|m| *m != stop.objective.label()) {
            rep.at_value(
                "sweep.metric",
                format!(
                    "expected the same metric as sweep.early_stop.metric ({:?}), found {m:?}",
                    stop.objective.label()
                ),
            );
        }
        return Some(stop.objective.clone());
    }
    match (metric, strategy) {
        (Some(m), _) => check_metric("sweep.metric", m, base, axes, rep),
        (None, StrategyName::Tpe) => {
            check_metric("sweep.strategy", DEFAULT_METRIC, base, axes, rep)
        }
        (None, _) => None,
    }
}

/// Whether `startup` is absent unless the strategy is tpe, the only one that uses it (reported).
fn startup_fits(raw: &RawSweep, rep: &mut Reporter) -> bool {
    let Some(startup) = raw.startup.filter(|_| raw.strategy != StrategyName::Tpe) else {
        return true;
    };
    let name = raw.strategy.as_str();
    rep.at_value(
        "sweep.startup",
        format!("expected no startup with strategy = \"{name}\" (only tpe uses it), found startup = {startup}"),
    );
    false
}

/// The strategy, `None` when its settings are contradictory (reported).
fn check_strategy(raw: &RawSweep, rep: &mut Reporter) -> Option<Strategy> {
    let startup_ok = startup_fits(raw, rep);
    match raw.strategy {
        StrategyName::Grid => {
            let mut ok = startup_ok;
            if let Some(samples) = raw.samples {
                ok = false;
                rep.at_value(
                    "sweep.samples",
                    format!(
                        "expected no samples with strategy = \"grid\" (it runs every point), \
                         found samples = {samples}"
                    ),
                );
            }
            if let Some(seed) = raw.seed {
                ok = false;
                rep.at_value(
                    "sweep.seed",
                    format!(
                        "expected no seed with strategy = \"grid\" (only random sampling uses \
                         it), found seed = {seed}"
                    ),
                );
            }
            ok.then_some(Strategy::Grid)
        }
        StrategyName::Random | StrategyName::Tpe => {
            let name = raw.strategy.as_str();
            match raw.samples {
                None => rep.at_value(
                    "sweep.strategy",
                    format!("expected samples = N with strategy = \"{name}\", found no samples"),
                ),
                Some(0) => rep.at_value("sweep.samples", "expected an integer >= 1, found 0"),
                Some(samples)
                    if raw.strategy == StrategyName::Tpe
                        && raw.startup.is_some_and(|s| s > samples) =>
                {
                    let startup = raw.startup.unwrap_or_default();
                    rep.at_value(
                        "sweep.startup",
                        format!(
                            "expected at most samples ({samples}): tpe draws its first startup \
                             points at random, so with more than samples it never models \
                             anything, found startup = {startup}"
                        ),
                    );
                }
                Some(samples) if startup_ok => {
                    let seed = raw.seed.unwrap_or(0);
                    return Some(match raw.strategy {
                        StrategyName::Tpe => Strategy::Tpe {
                            samples,
                            seed,
                            startup: raw.startup.unwrap_or(TPE_STARTUP),
                        },
                        _ => Strategy::Random { samples, seed },
                    });
                }
                Some(_) => {}
            }
            None
        }
    }
}

/// Checks each axis key and value (applied alone to the base); returns the well-formed axes
/// in file order.
fn check_axes(
    mut raw: BTreeMap<String, toml::Value>,
    base: &Value,
    repeats: usize,
    grid: bool,
    rep: &mut Reporter,
) -> Vec<Axis> {
    // serde's map is sorted; the file's order comes from the span index.
    let mut all_keys: Vec<String> = rep
        .index
        .keys_of("sweep.axes")
        .into_iter()
        .filter(|k| raw.contains_key(*k))
        .map(str::to_string)
        .collect();
    for key in raw.keys() {
        if !all_keys.contains(key) {
            all_keys.push(key.clone());
        }
    }
    let mut axes = Vec::new();
    for key in &all_keys {
        let value = raw.remove(key).expect("key listed from the map");
        let path = join("sweep.axes", key);
        if !AXIS_KEYS.contains(&key.as_str()) {
            rep.at_key(&path, unknown_axis_message(key));
            continue;
        }
        let elements = match value {
            toml::Value::Array(values) if !values.is_empty() => values,
            toml::Value::Array(_) => {
                rep.at_value(&path, "expected a non-empty array of values, found []");
                continue;
            }
            toml::Value::Table(table) => {
                if let Some(domain) = super::sampled::check_distribution(
                    key, &path, &table, base, repeats, grid, &all_keys, rep,
                ) {
                    axes.push(Axis {
                        key: key.clone(),
                        domain,
                    });
                }
                continue;
            }
            other => {
                rep.at_value(
                    &path,
                    format!(
                        "expected an array of values to sweep, found {} {other}",
                        other.type_str()
                    ),
                );
                continue;
            }
        };
        let mut ok = true;
        let converted: Vec<Result<Value, String>> = elements.iter().map(to_json).collect();
        // Each value's first index by its JSON text (serde_json's maps keep sorted keys, so
        // equal values print alike): one lookup per value, not a scan of those before it.
        let mut first_at: HashMap<String, usize> = HashMap::new();
        for (i, value) in converted.iter().enumerate() {
            let at = element_path(key, i);
            let value = match value {
                Ok(value) => value,
                Err(message) => {
                    rep.at_value(&at, message);
                    ok = false;
                    continue;
                }
            };
            // -0.0 equals 0.0 but prints apart.
            let text = match value.as_f64() {
                Some(f) if f == 0.0 && value.is_f64() => "0.0".to_string(),
                _ => value.to_string(),
            };
            let earlier = match first_at.entry(text) {
                std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i);
                    None
                }
            };
            if let Some(first) = earlier {
                rep.at_value(
                    &at,
                    format!("expected distinct values, found {value} again (as at [{first}])"),
                );
                ok = false;
                continue;
            }
            match apply(base, &[(key.clone(), value.clone())]) {
                Err(message) => {
                    rep.at_value(&at, format!("{key} = {value}: {message}"));
                    ok = false;
                }
                Ok(config) => {
                    for message in single_axis_issues(&config, repeats, key, &all_keys) {
                        rep.at_value(&at, message);
                        ok = false;
                    }
                }
            }
        }
        if ok {
            axes.push(Axis {
                key: key.clone(),
                domain: Domain::Choice(converted.into_iter().flatten().collect()),
            });
        }
    }
    axes
}

/// The rules `config` (the base with one value of axis `key`) breaks because of that axis
/// alone: other keys they read keep their base values in every trial. Rules that read other
/// axes too wait for the trials.
pub(super) fn single_axis_issues(
    config: &TrialConfig,
    repeats: usize,
    key: &str,
    all_keys: &[String],
) -> Vec<String> {
    check_config(config, repeats)
        .into_iter()
        .filter(|issue| {
            issue.blame.iter().any(|b| related(b, key))
                && !all_keys
                    .iter()
                    .any(|other| other != key && issue.blame.iter().any(|b| related(b, other)))
        })
        .map(|issue| qualified(&issue, key))
        .collect()
}

/// An axis value as JSON (how overrides are applied and stored). JSON has no NaN, infinity
/// or date-time, and none of them is a valid value of any config key.
fn to_json(value: &toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => return Err(format!("expected a finite number, found {f:?}")),
        },
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => {
            return Err(format!(
                "expected a number, string, boolean, array or table, found date-time {d}"
            ));
        }
        toml::Value::Array(items) => {
            Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// An issue's message, prefixed by its own key when that is not simply the axis key.
pub(super) fn qualified(issue: &Issue, axis_key: &str) -> String {
    if issue.path == axis_key {
        issue.message.clone()
    } else {
        format!("{}: {}", issue.path, issue.message)
    }
}

fn unknown_axis_message(key: &str) -> String {
    let suggestion = AXIS_KEYS
        .iter()
        .find(|k| k.ends_with(&format!(".{key}")))
        .map(|k| format!("did you mean \"{k}\"? "))
        .unwrap_or_default();
    // Quoted and escaped as in the diagnostic's key: a key may hold a newline or a quote.
    let shown = Value::String(key.to_string());
    format!(
        "unknown axis key {shown}: {suggestion}expected a dotted key of data, model or \
         train, such as model.growth_rate, model.blocks, model.dropout, train.optimizer.lr, \
         train.batch_size, data.dataset"
    )
}

/// Rules of the base config that no axis overrides (every trial would break them), and
/// single-value rules even when an axis overrides the value: a base value out of range is a
/// mistake whether or not a sweep hides it.
fn check_base(base: &TrialConfig, repeats: usize, axis_keys: &[&str], rep: &mut Reporter) {
    for issue in check_config(base, repeats) {
        let overridden = issue
            .blame
            .iter()
            .any(|b| axis_keys.iter().any(|a| related(b, a)));
        if !overridden || issue.blame.len() == 1 {
            rep.at_value(&issue.path, &issue.message);
        }
    }
}

/// Trial count and random sample bounds; `false` when the sweep cannot be expanded.
fn check_size(sweep: &Sweep, rep: &mut Reporter) -> bool {
    let grid = grid_size(&sweep.axes);
    let sampled_grid = match sweep.strategy {
        Strategy::Grid => None,
        Strategy::Random { samples, .. } | Strategy::Tpe { samples, .. } => sweep
            .axes
            .iter()
            .all(|a| a.domain.choices().is_some())
            .then_some(samples),
    };
    if let Some(k) = sampled_grid {
        match grid {
            Some(n) if n <= MAX_RANDOM_GRID => {
                if k > n {
                    rep.at_value(
                        "sweep.samples",
                        format!(
                            "expected at most {n} samples (the grid has {n} points), found {k}"
                        ),
                    );
                    return false;
                }
            }
            _ => {
                rep.at_value(
                    "sweep.axes",
                    format!(
                        "expected at most {MAX_RANDOM_GRID} grid points to sample from, found more"
                    ),
                );
                return false;
            }
        }
    }
    let points = match sweep.strategy {
        Strategy::Grid => grid,
        Strategy::Random { samples, .. } | Strategy::Tpe { samples, .. } => Some(samples),
    };
    let trials = points.and_then(|p| p.checked_mul(sweep.repeats));
    match trials {
        Some(t) if t <= MAX_TRIALS => true,
        _ => {
            let found = trials.map_or("more".to_string(), |t| t.to_string());
            rep.at_value(
                "sweep",
                format!("expected a sweep of at most {MAX_TRIALS} trials, found {found}"),
            );
            false
        }
    }
}

/// A rule broken only by a combination of axis values, gathered over all trials.
struct Combination {
    at: String,
    message: String,
    first_trial: usize,
    overrides: Vec<(String, Value)>,
    more: usize,
}

/// Every trial's config: rules that read two or more axes (single-axis rules and base rules
/// were reported already). Each is reported once, at the responsible axis value, naming the
/// first trial that breaks it.
fn check_trials(sweep: &Sweep, base: &Value, rep: &mut Reporter) {
    let mut found: Vec<Combination> = Vec::new();
    let mut note =
        |at: String, message: String, trial: usize, overrides: &[(String, Value)]| match found
            .iter_mut()
            .find(|c| c.at == at && c.message == message)
        {
            Some(c) => c.more += 1,
            None => found.push(Combination {
                at,
                message,
                first_trial: trial,
                overrides: overrides.to_vec(),
                more: 0,
            }),
        };
    for (n, point) in sweep.points().into_iter().enumerate() {
        let trial = n * sweep.repeats;
        let coords = sweep.coordinates(point);
        let overrides = sweep.overrides(&coords);
        let config = match apply(base, &overrides) {
            Ok(config) => config,
            Err(message) => {
                // Each value applies alone, so the clash is between axes: blame the last.
                // Without axes it is the base that does not apply (a non-finite number, which
                // its own rule has reported already).
                let Some(last) = sweep.axes.len().checked_sub(1) else {
                    continue;
                };
                let at = element_path(&sweep.axes[last].key, coords[last]);
                note(at, message, trial, &overrides);
                continue;
            }
        };
        for issue in check_config(&config, sweep.repeats) {
            let blamed: Vec<usize> = (0..sweep.axes.len())
                .filter(|&a| issue.blame.iter().any(|b| related(b, &sweep.axes[a].key)))
                .collect();
            if blamed.len() < 2 {
                continue;
            }
            let own = strip_index(&issue.path);
            let axis = blamed
                .iter()
                .copied()
                .find(|&a| related(own, &sweep.axes[a].key))
                .unwrap_or(blamed[0]);
            let at = element_path(&sweep.axes[axis].key, coords[axis]);
            note(
                at,
                format!("{}: {}", issue.path, issue.message),
                trial,
                &overrides,
            );
        }
    }
    for c in found {
        let more = match c.more {
            0 => String::new(),
            1 => " and 1 more trial".into(),
            m => format!(" and {m} more trials"),
        };
        rep.at_value(
            &c.at,
            format!(
                "{} (in trial {}, with {}{more})",
                c.message,
                c.first_trial,
                describe(&c.overrides)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_keys_overlap_on_whole_segments() {
        assert!(related("train.optimizer", "train.optimizer.lr"));
        assert!(related("model.blocks", "model.blocks"));
        assert!(!related("model.stem", "model.stem_pool"));
    }

    #[test]
    fn sampling_is_distinct_in_range_and_deterministic() {
        let a = sample_distinct(1000, 50, 7);
        assert_eq!(a.len(), 50);
        assert!(a.iter().all(|&i| i < 1000));
        let mut sorted = a.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 50);
        assert_eq!(a, sample_distinct(1000, 50, 7));
        assert_ne!(a, sample_distinct(1000, 50, 8));
        let mut all = sample_distinct(6, 6, 1);
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
    }
}
