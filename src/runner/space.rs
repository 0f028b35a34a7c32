//! A sampled sweep run again from a file whose search space changed: its stored runs were
//! drawn from the old space and still count as the sweep's points, so the new space would
//! train nothing (or a mix of both) without a word. `run` refuses it, saying what changed.

use std::path::Path;

use crate::spec::{Axis, Experiment};
use crate::store::Store;

/// The search space of a sampled sweep differs from the one its stored runs were drawn from
/// (bad input, exit code 2: the file asks to continue a sweep it no longer describes).
#[derive(Debug, thiserror::Error)]
#[error(
    "experiment {name:?} has {runs} run(s) drawn from another search space than this file's: \
     {changes}. A sampled sweep counts its stored runs as its points, so the new space would \
     not be swept. To sweep it, give the file another `name` (a new experiment; the results \
     of {name:?} stay as they are); to continue {name:?}, restore its axes"
)]
pub struct SpaceChanged {
    pub name: String,
    pub runs: usize,
    pub changes: String,
}

/// Refuses `experiment` when it is sampled (its points are drawn, not enumerated), the store
/// holds runs of it, and the axes of the file they were registered from differ from its own.
/// A stored file that no longer parses is not compared.
pub fn check_same_space(store: &Store, experiment: &Experiment) -> anyhow::Result<()> {
    if experiment.sweep.is_enumerable() {
        // Trials are matched by their config's hash: a changed grid registers its new points.
        return Ok(());
    }
    let name = &experiment.name;
    let runs = store.runs(Some(name))?.len();
    if runs == 0 {
        return Ok(());
    }
    let Some((path, source)) = store.experiment_source(name)? else {
        return Ok(());
    };
    let Ok(stored) = crate::spec::parse_experiment(&source, Path::new(&path)) else {
        return Ok(());
    };
    let changes = differences(&stored.sweep.axes, &experiment.sweep.axes);
    if changes.is_empty() {
        return Ok(());
    }
    Err(SpaceChanged {
        name: name.clone(),
        runs,
        changes: changes.join("; "),
    }
    .into())
}

/// Each axis changed, added or removed, in the new file's order (then the removed ones).
fn differences(old: &[Axis], new: &[Axis]) -> Vec<String> {
    let mut out = Vec::new();
    for axis in new {
        match old.iter().find(|a| a.key == axis.key) {
            Some(before) if before.domain != axis.domain => out.push(format!(
                "axis {:?} was {}, now {}",
                axis.key,
                before.domain.describe(),
                axis.domain.describe()
            )),
            Some(_) => {}
            None => out.push(format!(
                "axis {:?} ({}) is new",
                axis.key,
                axis.domain.describe()
            )),
        }
    }
    for axis in old.iter().filter(|a| !new.iter().any(|n| n.key == a.key)) {
        out.push(format!(
            "axis {:?} ({}) is gone",
            axis.key,
            axis.domain.describe()
        ));
    }
    out
}
