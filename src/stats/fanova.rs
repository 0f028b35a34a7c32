//! Importance of sweep axes by functional ANOVA (Hutter, Hoos, Leyton-Brown, ICML 2014): a
//! random forest of regression trees fitted to the trials, each tree's prediction decomposed
//! into the variance its main effects explain. The spread is the standard deviation of an
//! axis's share over the trees.
//!
//! Written here rather than taken from the `fanova` crate: that crate takes real-valued
//! features only and weighs the space by the observed [min, max] range with splits at
//! midpoints, so the end values of a three-choice axis count half as much as the middle one,
//! and it has no categorical splits (`model.blocks`, optimizer names). Here every axis is a
//! set of levels, each level weighs 1/k as in a grid, and unordered axes split on subsets.

use crate::rng::SplitMix64;

/// The trials as a design: for each trial the level of every axis, and its metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// Per axis: how many levels, and whether they are ordered (numbers) or categories.
    pub axes: Vec<Levels>,
    /// `rows[trial][axis]` is a level index below `axes[axis].count`.
    pub rows: Vec<Vec<usize>>,
    pub y: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    pub count: usize,
    pub ordered: bool,
}

/// The forest's settings (Optuna's fANOVA defaults: 64 trees, depth 64, all axes per split).
#[derive(Debug, Clone, Copy)]
pub struct Forest {
    pub trees: usize,
    pub max_depth: usize,
    pub seed: u64,
}

impl Default for Forest {
    fn default() -> Self {
        Forest {
            trees: 64,
            max_depth: 64,
            seed: 0,
        }
    }
}

/// One axis's main effect as a share of the predicted variance: mean and standard deviation
/// over the trees whose prediction varies at all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Importance {
    pub mean: f64,
    pub std: f64,
}

/// A leaf: for every axis the levels it covers, and its prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub cover: Vec<Vec<bool>>,
    pub value: f64,
}

/// The main-effect share of each axis in one tree's prediction, `None` when the prediction is
/// constant (no variance to share). With the uniform measure over each axis's levels:
/// f_a(u) = sum over leaves covering u of value * weight * k_a / |cover_a|, and the share of
/// axis a is the variance of f_a over u divided by the variance of the whole prediction.
pub fn main_effects(levels: &[Levels], leaves: &[Leaf]) -> Option<Vec<f64>> {
    let weight = |l: &Leaf| -> f64 {
        l.cover
            .iter()
            .zip(levels)
            .map(|(c, lv)| covered(c) as f64 / lv.count as f64)
            .product()
    };
    let weights: Vec<f64> = leaves.iter().map(weight).collect();
    let mean: f64 = leaves.iter().zip(&weights).map(|(l, w)| w * l.value).sum();
    let total: f64 = leaves
        .iter()
        .zip(&weights)
        .map(|(l, w)| w * (l.value - mean).powi(2))
        .sum();
    if total <= 1e-12 * mean.abs().max(1.0).powi(2) {
        return None;
    }
    let shares = levels
        .iter()
        .enumerate()
        .map(|(a, lv)| {
            let mut marginal = vec![0.0; lv.count];
            for (l, w) in leaves.iter().zip(&weights) {
                let share = w * lv.count as f64 / covered(&l.cover[a]) as f64;
                for (u, m) in marginal.iter_mut().enumerate() {
                    if l.cover[a][u] {
                        *m += l.value * share;
                    }
                }
            }
            let var = marginal.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / lv.count as f64;
            var / total
        })
        .collect();
    Some(shares)
}

fn covered(c: &[bool]) -> usize {
    c.iter().filter(|&&b| b).count()
}

/// Fits the forest and averages each axis's main-effect share over its trees.
pub fn importance(design: &Design, forest: &Forest) -> Vec<Importance> {
    let n = design.y.len();
    let mut rng = SplitMix64::new(forest.seed);
    let mut per_axis: Vec<Vec<f64>> = vec![Vec::new(); design.axes.len()];
    for _ in 0..forest.trees {
        let sample: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        let root: Vec<Vec<bool>> = design.axes.iter().map(|a| vec![true; a.count]).collect();
        let mut leaves = Vec::new();
        grow(design, &sample, root, forest.max_depth, &mut leaves);
        if let Some(shares) = main_effects(&design.axes, &leaves) {
            for (acc, s) in per_axis.iter_mut().zip(shares) {
                acc.push(s);
            }
        }
    }
    per_axis
        .iter()
        .map(|v| {
            if v.is_empty() {
                return Importance {
                    mean: 0.0,
                    std: 0.0,
                };
            }
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
            Importance {
                mean,
                std: var.sqrt(),
            }
        })
        .collect()
}

/// The best split of a node: the axis and the levels of its cover that go left.
struct Split {
    axis: usize,
    left: Vec<bool>,
    gain: f64,
}

/// Grows a regression tree (squared error, at least one trial a leaf) over the trials
/// `sample` (indices, repeats allowed) inside `cover`, pushing its leaves.
fn grow(
    design: &Design,
    sample: &[usize],
    cover: Vec<Vec<bool>>,
    depth: usize,
    out: &mut Vec<Leaf>,
) {
    let value = sample.iter().map(|&i| design.y[i]).sum::<f64>() / sample.len() as f64;
    let split = if depth == 0 || sample.len() < 2 {
        None
    } else {
        best_split(design, sample, &cover)
    };
    let Some(split) = split else {
        out.push(Leaf { cover, value });
        return;
    };
    let goes_left = |i: &&usize| split.left[design.rows[**i][split.axis]];
    let (left, right): (Vec<usize>, Vec<usize>) = sample.iter().partition(goes_left);
    let mut left_cover = cover.clone();
    let mut right_cover = cover;
    for (u, &l) in split.left.iter().enumerate() {
        left_cover[split.axis][u] &= l;
        right_cover[split.axis][u] &= !l;
    }
    grow(design, &left, left_cover, depth - 1, out);
    grow(design, &right, right_cover, depth - 1, out);
}

fn best_split(design: &Design, sample: &[usize], cover: &[Vec<bool>]) -> Option<Split> {
    let sse = |idx: &mut dyn Iterator<Item = f64>| -> (f64, f64, usize) {
        let (mut s, mut s2, mut n) = (0.0, 0.0, 0);
        for y in idx {
            s += y;
            s2 += y * y;
            n += 1;
        }
        (s, s2, n)
    };
    let (s, s2, n) = sse(&mut sample.iter().map(|&i| design.y[i]));
    let parent = s2 - s * s / n as f64;
    let mut best: Option<Split> = None;
    for (a, lv) in design.axes.iter().enumerate() {
        // Per level present in the node: sum, sum of squares, count.
        let mut stats = vec![(0.0, 0.0, 0usize); lv.count];
        for &i in sample {
            let st = &mut stats[design.rows[i][a]];
            st.0 += design.y[i];
            st.1 += design.y[i] * design.y[i];
            st.2 += 1;
        }
        let mut present: Vec<usize> = (0..lv.count).filter(|&u| stats[u].2 > 0).collect();
        if present.len() < 2 {
            continue;
        }
        if !lv.ordered {
            // Breiman: for squared error the best subset split is a prefix of the levels
            // sorted by their mean.
            present.sort_by(|&u, &v| {
                let m = |w: usize| stats[w].0 / stats[w].2 as f64;
                m(u).total_cmp(&m(v))
            });
        }
        let (mut ls, mut ls2, mut ln) = (0.0, 0.0, 0usize);
        for j in 0..present.len() - 1 {
            let st = stats[present[j]];
            (ls, ls2, ln) = (ls + st.0, ls2 + st.1, ln + st.2);
            let (rs, rs2, rn) = (s - ls, s2 - ls2, n - ln);
            let children = (ls2 - ls * ls / ln as f64) + (rs2 - rs * rs / rn as f64);
            let gain = parent - children;
            if gain > 1e-12 * parent.abs().max(1e-300)
                && best.as_ref().is_none_or(|b| gain > b.gain)
            {
                let left = split_cover(&cover[a], &present, j, lv.ordered, ln >= rn);
                best = Some(Split {
                    axis: a,
                    left,
                    gain,
                });
            }
        }
    }
    best
}

/// Which levels of `cover` go left when `present[..=j]` do: for ordered levels, those below
/// the first level that goes right; for categories, the covered levels this node has no trial
/// of go with the larger child.
fn split_cover(
    cover: &[bool],
    present: &[usize],
    j: usize,
    ordered: bool,
    left_larger: bool,
) -> Vec<bool> {
    if ordered {
        let first_right = present[j + 1];
        return cover
            .iter()
            .enumerate()
            .map(|(u, &c)| c && u < first_right)
            .collect();
    }
    cover
        .iter()
        .enumerate()
        .map(|(u, &c)| {
            c && match present.iter().position(|&p| p == u) {
                Some(pos) => pos <= j,
                None => left_larger,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORD: Levels = Levels {
        count: 2,
        ordered: true,
    };

    fn cell(u: usize, v: usize, value: f64) -> Leaf {
        let one = |i: usize| (0..2).map(|j| j == i).collect::<Vec<_>>();
        Leaf {
            cover: vec![one(u), one(v)],
            value,
        }
    }

    #[test]
    fn an_additive_table_splits_its_variance_by_hand() {
        // y = 3u + v on {0,1}^2: mean 2, total variance 2.5; f_u = (0.5, 3.5) has variance
        // 2.25 and f_v = (1.5, 2.5) has 0.25, so the shares are 0.9 and 0.1.
        let leaves = [
            cell(0, 0, 0.0),
            cell(0, 1, 1.0),
            cell(1, 0, 3.0),
            cell(1, 1, 4.0),
        ];
        let s = main_effects(&[ORD, ORD], &leaves).unwrap();
        assert!(
            (s[0] - 0.9).abs() < 1e-12 && (s[1] - 0.1).abs() < 1e-12,
            "{s:?}"
        );
    }

    #[test]
    fn a_pure_interaction_has_no_main_effect_and_a_constant_has_no_shares() {
        let xor = [
            cell(0, 0, 0.0),
            cell(0, 1, 1.0),
            cell(1, 0, 1.0),
            cell(1, 1, 0.0),
        ];
        let s = main_effects(&[ORD, ORD], &xor).unwrap();
        assert!(s[0].abs() < 1e-12 && s[1].abs() < 1e-12, "{s:?}");
        let flat = [
            cell(0, 0, 0.5),
            cell(0, 1, 0.5),
            cell(1, 0, 0.5),
            cell(1, 1, 0.5),
        ];
        assert_eq!(main_effects(&[ORD, ORD], &flat), None);
    }

    #[test]
    fn a_leaf_covering_several_levels_weighs_each_level_once() {
        // One axis of 3 levels; a leaf covers {0, 1} (value 1), another {2} (value 4), and a
        // second axis is covered whole: mean 2, f = (1, 1, 4), variance 2 of a total 2.
        let levels = [
            Levels {
                count: 3,
                ordered: true,
            },
            ORD,
        ];
        let leaves = [
            Leaf {
                cover: vec![vec![true, true, false], vec![true, true]],
                value: 1.0,
            },
            Leaf {
                cover: vec![vec![false, false, true], vec![true, true]],
                value: 4.0,
            },
        ];
        let s = main_effects(&levels, &leaves).unwrap();
        assert!((s[0] - 1.0).abs() < 1e-12 && s[1].abs() < 1e-12, "{s:?}");
    }

    /// A full grid of `a` x `b` levels, `repeats` trials a point, y = f(levels) + noise.
    fn grid(
        a: Levels,
        b: Levels,
        repeats: usize,
        noise: f64,
        f: impl Fn(usize, usize) -> f64,
    ) -> Design {
        let mut rng = SplitMix64::new(42);
        let mut d = Design {
            axes: vec![a, b],
            rows: Vec::new(),
            y: Vec::new(),
        };
        for u in 0..a.count {
            for v in 0..b.count {
                for _ in 0..repeats {
                    d.rows.push(vec![u, v]);
                    d.y.push(f(u, v) + noise * (rng.unit_f64() - 0.5));
                }
            }
        }
        d
    }

    #[test]
    fn the_axis_that_matters_takes_the_variance_and_the_other_does_not() {
        let four = Levels {
            count: 4,
            ordered: true,
        };
        let three = Levels {
            count: 3,
            ordered: true,
        };
        let d = grid(four, three, 2, 0.0, |u, _| 0.80 + 0.04 * u as f64);
        let imp = importance(&d, &Forest::default());
        assert!(imp[0].mean > 0.95, "{imp:?}");
        assert!(imp[1].mean < 0.02, "{imp:?}");
        // With seed noise a tenth of the effect, the ranking and a wide gap remain.
        let d = grid(four, three, 3, 0.012, |u, _| 0.80 + 0.04 * u as f64);
        let imp = importance(&d, &Forest::default());
        assert!(imp[0].mean > 0.8 && imp[1].mean < 0.1, "{imp:?}");
        assert!(
            imp[0].std > 0.0,
            "the trees differ, so the spread is not zero"
        );
    }

    #[test]
    fn an_unordered_axis_with_a_non_monotone_effect_is_found() {
        let cat = Levels {
            count: 3,
            ordered: false,
        };
        let d = grid(cat, ORD, 2, 0.0, |u, _| [0.5, 0.9, 0.1][u]);
        let imp = importance(&d, &Forest::default());
        assert!(imp[0].mean > 0.95 && imp[1].mean < 0.02, "{imp:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_importance() {
        let d = grid(ORD, ORD, 3, 0.05, |u, v| u as f64 * 0.1 + v as f64 * 0.05);
        let f = Forest::default();
        assert_eq!(importance(&d, &f), importance(&d, &f));
    }
}
