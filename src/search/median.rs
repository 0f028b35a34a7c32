//! The median stopping rule (Optuna's `MedianPruner`, Golovin et al. 2017): after a warm-up,
//! a trial is pruned at an epoch when its best value so far is worse than the median of the
//! finished trials' values at that same epoch.

use std::collections::BTreeMap;

use crate::spec::{MEDIAN_STARTUP_TRIALS, Objective};

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Whether a trial whose values per epoch are `own` is pruned at the end of `epoch`, given the
/// values at `epoch` of the trials that finished (`done`) before it.
pub fn prunes(
    own: &BTreeMap<usize, f64>,
    epoch: usize,
    finished_at_epoch: &[f64],
    objective: &Objective,
    warmup_epochs: usize,
) -> bool {
    if epoch <= warmup_epochs || finished_at_epoch.len() < MEDIAN_STARTUP_TRIALS {
        return false;
    }
    let best = own
        .range(..=epoch)
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .reduce(|a, b| if objective.better(b, a) { b } else { a });
    match (best, median(finished_at_epoch)) {
        (Some(best), Some(median)) => objective.better(median, best),
        // A trial with no finite value so far (a NaN loss) is worse than any median.
        (None, Some(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accuracy() -> Objective {
        Objective {
            split: "val".into(),
            name: "accuracy".into(),
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn prunes_below_the_median_only_after_warmup_and_five_finished_trials() {
        let o = accuracy();
        let finished = [0.5, 0.6, 0.7, 0.8, 0.9];
        let own: BTreeMap<usize, f64> = [(1, 0.3), (2, 0.55)].into();
        // Best so far at epoch 2 is 0.55 < median 0.7: pruned.
        assert!(prunes(&own, 2, &finished, &o, 1));
        // Epoch 1 is the warm-up.
        assert!(!prunes(&own, 1, &finished, &o, 1));
        // Four finished trials are not enough to judge.
        assert!(!prunes(&own, 2, &finished[..4], &o, 1));
        // Its best so far counts, not its last value: 0.75 at epoch 1 beats the median.
        let earlier_best: BTreeMap<usize, f64> = [(1, 0.75), (2, 0.4)].into();
        assert!(!prunes(&earlier_best, 2, &finished, &o, 1));
        // Equal to the median is not worse.
        let equal: BTreeMap<usize, f64> = [(2, 0.7)].into();
        assert!(!prunes(&equal, 2, &finished, &o, 1));
    }

    #[test]
    fn a_loss_is_pruned_above_the_median() {
        let loss = Objective {
            split: "val".into(),
            name: "loss".into(),
        };
        let finished = [0.2, 0.3, 0.4, 0.5, 0.6];
        assert!(prunes(&[(2, 0.45)].into(), 2, &finished, &loss, 1));
        assert!(!prunes(&[(2, 0.35)].into(), 2, &finished, &loss, 1));
    }
}
