//! Sweeps whose trials are drawn while they run (random over distributions, tpe): checking a
//! distribution axis, the grid of its ends that combination rules are checked on, and the
//! trials of a drawn point.

use serde_json::Value;

use super::domain::{Domain, parse_distribution};
use super::hash::trial_hash;
use super::location::{Reporter, join};
use super::sweep::{apply, describe, single_axis_issues};
use super::validate::check_config;
use super::{Axis, Experiment, Strategy, Sweep, Trial};
use crate::rng::SplitMix64;

/// Largest grid of distribution ends checked for rules that read several axes.
const MAX_CORNERS: usize = 4096;

/// Purpose of the random stream a point is drawn from (see `SplitMix64::derived`).
const DRAW_PURPOSE: u64 = 0x4452_4157_0000_0000; // "DRAW"

/// A `{ kind = [low, high] }` axis: allowed off the grid, well-formed, and each end valid for
/// the key on its own (reported at that end).
#[allow(clippy::too_many_arguments)]
pub(super) fn check_distribution(
    key: &str,
    path: &str,
    table: &toml::map::Map<String, toml::Value>,
    base: &Value,
    repeats: usize,
    grid: bool,
    all_keys: &[String],
    rep: &mut Reporter,
) -> Option<Domain> {
    let domain = match parse_distribution(table) {
        Ok(domain) => domain,
        Err((element, message)) => {
            let at = match element {
                None => path.to_string(),
                Some(e) => match e.split_once('[') {
                    Some((kind, index)) => format!("{}[{index}", join(path, kind)),
                    None => join(path, &e),
                },
            };
            rep.at_value(&at, message);
            return None;
        }
    };
    if grid {
        rep.at_value(
            path,
            format!(
                "expected a list of values with strategy = \"grid\" (it runs every point); \
                 the distribution {} needs strategy = \"random\" or \"tpe\"",
                domain.describe()
            ),
        );
        return None;
    }
    let kind = table
        .keys()
        .next()
        .expect("parse_distribution checked one key");
    let mut ok = true;
    for (i, end) in domain.ends().into_iter().enumerate() {
        let at = format!("{}[{i}]", join(path, kind));
        match apply(base, &[(key.to_string(), end.clone())]) {
            Err(message) => {
                let hint = match (&domain, end.is_f64()) {
                    (Domain::Uniform { .. } | Domain::LogUniform { .. }, true)
                        if message.contains("floating point") =>
                    {
                        " (an integer key takes { int = [low, high] })"
                    }
                    _ => "",
                };
                rep.at_value(&at, format!("{key} = {end}: {message}{hint}"));
                ok = false;
            }
            Ok(config) => {
                for message in single_axis_issues(&config, repeats, key, all_keys) {
                    rep.at_value(&at, message);
                    ok = false;
                }
            }
        }
    }
    // A split drawn just above 0 holds out no image: a uniform from 0 passes at both ends
    // and still draws such points now and then.
    if let (true, Domain::Uniform { low, high }) = (ok, &domain)
        && key == "data.validation_split"
        && *low == 0.0
        && *high > 0.0
    {
        let near = Value::from(high.min(1e-9));
        if let Ok(config) = apply(base, &[(key.to_string(), near.clone())]) {
            let at = format!("{}[0]", join(path, kind));
            for message in single_axis_issues(&config, repeats, key, all_keys) {
                rep.at_value(
                    &at,
                    format!("{key} = {near} (drawn just above the low end 0.0): {message}"),
                );
                ok = false;
            }
        }
    }
    ok.then_some(domain)
}

/// The grid of every axis's ends (choices in full), on which rules that read several axes are
/// checked before a sampled sweep runs; `None` when it is too large to check.
pub(super) fn corners(sweep: &Sweep) -> Option<Sweep> {
    let axes: Vec<Axis> = sweep
        .axes
        .iter()
        .map(|a| Axis {
            key: a.key.clone(),
            domain: Domain::Choice(a.domain.ends()),
        })
        .collect();
    let size = axes.iter().try_fold(1usize, |n, a| {
        n.checked_mul(a.domain.choices().map_or(1, <[Value]>::len))
    })?;
    (size <= MAX_CORNERS).then_some(Sweep {
        strategy: Strategy::Grid,
        repeats: sweep.repeats,
        axes,
        objective: None,
        early_stop: None,
    })
}

impl Sweep {
    /// A point drawn uniformly from every axis's domain. `attempt` draws another when the first
    /// was already run (or breaks a rule only a combination of values can break).
    pub fn draw(&self, point: usize, attempt: u64) -> Vec<(String, Value)> {
        let seed = match self.strategy {
            Strategy::Random { seed, .. } | Strategy::Tpe { seed, .. } => seed,
            Strategy::Grid => 0,
        };
        let mut rng = SplitMix64::derived(seed, &[DRAW_PURPOSE, point as u64, attempt]);
        self.axes
            .iter()
            .map(|a| (a.key.clone(), a.domain.sample(&mut rng)))
            .collect()
    }

    /// The overrides of grid point `point` of an enumerable sweep's run order.
    pub fn enumerated_point(&self, point: usize) -> Option<Vec<(String, Value)>> {
        let grid_point = *self.points().get(point)?;
        Some(self.overrides(&self.coordinates(grid_point)))
    }
}

impl Experiment {
    /// The trials to check a file's device rules on: every trial of an enumerable sweep, else
    /// those of the grid of the axes' ends.
    pub fn representative_trials(&self) -> Vec<Trial> {
        if self.sweep.is_enumerable() {
            return self.trials();
        }
        match corners(&self.sweep) {
            Some(sweep) => Experiment {
                sweep,
                ..self.clone()
            }
            .trials(),
            None => Vec::new(),
        }
    }

    /// The trials (one per repeat) of the sweep's `point`-th point with these axis values;
    /// the error says which rule a combination of values breaks.
    pub fn trials_at(
        &self,
        point: usize,
        overrides: &[(String, Value)],
    ) -> Result<Vec<Trial>, String> {
        let base = serde_json::to_value(&self.base).expect("TrialConfig serializes to JSON");
        let config = apply(&base, overrides)?;
        if let Some(issue) = check_config(&config, self.sweep.repeats).into_iter().next() {
            return Err(format!(
                "{}: {} (with {})",
                issue.path,
                issue.message,
                describe(overrides)
            ));
        }
        let repeats = self.sweep.repeats;
        Ok((0..repeats)
            .map(|repeat| {
                let mut config = config.clone();
                config.train.seed += repeat as u64;
                Trial {
                    index: point * repeats + repeat,
                    repeat,
                    overrides: overrides.to_vec(),
                    hash: trial_hash(&config),
                    config,
                }
            })
            .collect())
    }
}
