//! Each cell of an accuracy table against the best one: is its difference from the best cell
//! more than seed noise? The paired t-test when both cells ran the same seeds (each once),
//! else Welch's; p >= 0.05 reads "not distinguishable from the best". One test per cell, not
//! corrected for multiple comparisons.

use crate::stats::ttest::{self, Sample, TTest};

/// What the test says of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The cell with the highest mean (the first of equal ones).
    Best,
    /// p >= 0.05: its mean may be the best one's, given the spread over seeds.
    Indistinguishable,
    /// p < 0.05: worse than the best beyond seed noise.
    Worse,
    /// Not testable: it or the best cell has fewer than two values (or it has none).
    Untested,
}

impl Verdict {
    /// The machine formats' word.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Best => "best",
            Verdict::Indistinguishable => "indistinguishable",
            Verdict::Worse => "worse",
            Verdict::Untested => "untested",
        }
    }

    /// The mark the tables put beside a cell.
    pub fn mark(self) -> &'static str {
        match self {
            Verdict::Best => "*",
            Verdict::Indistinguishable => "≈",
            Verdict::Worse | Verdict::Untested => "",
        }
    }
}

/// One cell's statistics against the best cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Versus {
    pub sample: Option<Sample>,
    /// 95% Student-t interval of the mean; `None` with fewer than two values.
    pub ci: Option<(f64, f64)>,
    pub welch: Option<TTest>,
    pub paired: Option<TTest>,
    pub verdict: Verdict,
}

impl Versus {
    /// The test the verdict rests on, and its name.
    pub fn deciding(&self) -> Option<(&'static str, TTest)> {
        match (self.paired, self.welch) {
            (Some(p), _) => Some(("paired", p)),
            (None, Some(w)) => Some(("Welch", w)),
            _ => None,
        }
    }
}

/// The legend the tables print under the cells.
pub const LEGEND: [&str; 3] = [
    "* best cell; ≈ not distinguishable from it: two-sided t-test p >= 0.05, paired by train.seed",
    "  where both cells ran the same seeds, else Welch; not corrected for multiple comparisons",
    "CI: 95% Student t interval of the mean over the cell's runs (none for n = 1)",
];

/// `cells[i]` holds the (train.seed, value) of cell i's runs; one result per cell.
pub fn against_best(cells: &[Vec<(u64, f64)>]) -> Vec<Versus> {
    let values = |c: &[(u64, f64)]| c.iter().map(|p| p.1).collect::<Vec<_>>();
    let samples: Vec<Option<Sample>> = cells.iter().map(|c| Sample::of(&values(c))).collect();
    let mut best: Option<usize> = None;
    for (i, s) in samples.iter().enumerate() {
        if let Some(s) = s
            && best.is_none_or(|b| s.mean > samples[b].expect("best has a sample").mean)
        {
            best = Some(i);
        }
    }
    cells
        .iter()
        .zip(&samples)
        .enumerate()
        .map(|(i, (cell, sample))| {
            let ci = sample.and_then(|s| s.confidence_interval());
            let (welch, paired) = match (best, sample) {
                (Some(b), Some(s)) if b != i => (
                    samples[b].and_then(|bs| ttest::welch(&bs, s)),
                    paired_by_seed(&cells[b], cell),
                ),
                _ => (None, None),
            };
            let mut v = Versus {
                sample: *sample,
                ci,
                welch,
                paired,
                verdict: Verdict::Untested,
            };
            v.verdict = if best == Some(i) {
                Verdict::Best
            } else {
                match v.deciding() {
                    Some((_, t)) if t.indistinguishable() => Verdict::Indistinguishable,
                    Some(_) => Verdict::Worse,
                    None => Verdict::Untested,
                }
            };
            v
        })
        .collect()
}

/// The paired test of `best - other` when both ran exactly the same seeds, each once.
fn paired_by_seed(best: &[(u64, f64)], other: &[(u64, f64)]) -> Option<TTest> {
    let sorted = |c: &[(u64, f64)]| {
        let mut c = c.to_vec();
        c.sort_by_key(|p| p.0);
        c
    };
    let (b, o) = (sorted(best), sorted(other));
    let distinct = |c: &[(u64, f64)]| c.windows(2).all(|w| w[0].0 != w[1].0);
    if b.len() != o.len() || !distinct(&b) || b.iter().zip(&o).any(|(x, y)| x.0 != y.0) {
        return None;
    }
    let values = |c: &[(u64, f64)]| c.iter().map(|p| p.1).collect::<Vec<_>>();
    ttest::paired(&values(&b), &values(&o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(values: &[f64]) -> Vec<(u64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u64, *v))
            .collect()
    }

    // The SciPy reference samples of stats::ttest's tests: A is best; C, paired with A by
    // seed, is separated only by the paired test (p 0.0178, Welch p 0.094).
    const A: [f64; 5] = [0.912, 0.905, 0.921, 0.917, 0.909];
    const C: [f64; 5] = [0.901, 0.904, 0.915, 0.906, 0.902];

    #[test]
    fn the_same_seeds_are_paired_and_other_seeds_fall_back_to_welch() {
        let shifted: Vec<(u64, f64)> = C
            .iter()
            .enumerate()
            .map(|(i, v)| (10 + i as u64, *v))
            .collect();
        let v = against_best(&[seeded(&C), seeded(&A), shifted]);
        assert_eq!(v[1].verdict, Verdict::Best);
        assert_eq!((v[1].welch, v[1].paired), (None, None));
        let p = v[0].paired.expect("same seeds: paired");
        assert!((p.p - 0.01781132547795687).abs() < 1e-9, "{p:?}");
        assert_eq!(v[0].verdict, Verdict::Worse);
        assert_eq!(v[0].deciding().unwrap().0, "paired");
        assert_eq!(
            v[2].paired, None,
            "seeds 10..14 are not the best cell's 0..4"
        );
        assert!((v[2].welch.unwrap().p - 0.09396028919603969).abs() < 1e-9);
        assert_eq!(v[2].verdict, Verdict::Indistinguishable);
    }

    #[test]
    fn a_cell_of_one_run_has_no_interval_and_no_test() {
        let v = against_best(&[seeded(&A), vec![(0, 0.85)], vec![]]);
        assert_eq!(v[1].ci, None);
        assert_eq!(v[1].verdict, Verdict::Untested);
        assert_eq!(v[2].sample, None);
        assert_eq!(v[2].verdict, Verdict::Untested);
        // The best cell of one run leaves every other cell untested.
        let v = against_best(&[vec![(0, 0.99)], seeded(&A)]);
        assert_eq!(v[0].verdict, Verdict::Best);
        assert_eq!(v[1].verdict, Verdict::Untested);
    }

    #[test]
    fn identical_cells_tie_for_best_and_are_indistinguishable() {
        let v = against_best(&[seeded(&A), seeded(&A)]);
        assert_eq!(v[0].verdict, Verdict::Best, "the first of equal means");
        assert_eq!(v[1].verdict, Verdict::Indistinguishable);
        assert_eq!(v[1].paired.unwrap().p, 1.0);
    }

    #[test]
    fn zero_variance_cells_are_separated_when_their_values_differ() {
        let v = against_best(&[seeded(&[0.9, 0.9]), seeded(&[0.8, 0.8])]);
        assert_eq!(v[0].ci, Some((0.9, 0.9)));
        assert_eq!(v[1].verdict, Verdict::Worse);
    }

    #[test]
    fn a_seed_repeated_within_a_cell_cannot_be_paired() {
        // Aggregating over another axis puts seed 0 twice in a cell.
        let twice = vec![(0, 0.9), (0, 0.91), (1, 0.92)];
        let other = vec![(0, 0.8), (1, 0.81), (1, 0.82)];
        let v = against_best(&[twice, other]);
        assert_eq!(v[1].paired, None);
        assert!(v[1].welch.is_some());
    }
}
