//! The tree-structured Parzen estimator (Bergstra et al. 2011), univariate as Optuna's default
//! sampler: the trials so far are split into the best `gamma(n)` and the rest; each axis gets
//! a Parzen density for each group, `l` and `g`; of 24 candidates drawn from `l`, the one with
//! the largest `l / g` is proposed.
//!
//! Written here rather than taken from the `tpe` crate (0.2, 2021, rand 0.8): proposals must be
//! deterministic from the sweep's seed and the store's history (so a re-run continues the same
//! sweep), trials still running must count as bad ones (the constant liar, so that parallel
//! slots get distinct proposals), and pruned trials must rank by how far they got; that crate
//! takes one observation at a time, has no log scale and draws from `rand`'s generators.

use serde_json::Value;

use crate::rng::SplitMix64;
use crate::spec::{Axis, Domain};

/// Candidates drawn from `l` per proposal (Optuna's `n_ei_candidates`).
const CANDIDATES: usize = 24;

/// Purpose of a proposal's random stream (see `SplitMix64::derived`).
const TPE_PURPOSE: u64 = 0x5450_4500_0000_0000; // "TPE"

/// One trial the estimator learns from.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// One value per axis, in the axes' order.
    pub params: Vec<Value>,
    /// How far it got: a trial pruned early ranks below every trial that went further.
    pub epochs: usize,
    /// The objective at its last epoch, oriented so that larger is better.
    pub score: f64,
}

/// Size of the good group of `n` ranked trials (Optuna's default `gamma`).
pub fn gamma(n: usize) -> usize {
    (n as f64 * 0.1).ceil().min(25.0) as usize
}

/// The next point to try for the `point`-th draw of the sweep with `seed`: from `finished`
/// (done or pruned trials) and `pending` (still training: counted as the worst, the constant
/// liar). `attempt` draws another proposal when the first was already run.
pub fn propose(
    axes: &[Axis],
    finished: &[Observation],
    pending: &[Vec<Value>],
    seed: u64,
    point: usize,
    attempt: u64,
) -> Vec<Value> {
    let mut rng = SplitMix64::derived(seed, &[TPE_PURPOSE, point as u64, attempt]);
    let mut ranked: Vec<&Observation> = finished.iter().collect();
    ranked.sort_by(|a, b| b.epochs.cmp(&a.epochs).then(b.score.total_cmp(&a.score)));
    let mut rows: Vec<&[Value]> = ranked.iter().map(|o| o.params.as_slice()).collect();
    rows.extend(pending.iter().map(Vec::as_slice));
    let n_good = gamma(rows.len()).max(1).min(rows.len());
    let (good, bad) = rows.split_at(n_good);
    axes.iter()
        .enumerate()
        .map(|(i, axis)| {
            let column = |group: &[&[Value]]| -> Vec<f64> {
                group
                    .iter()
                    .filter_map(|row| axis.domain.position(&row[i]))
                    .collect()
            };
            propose_axis(&axis.domain, &column(good), &column(bad), &mut rng)
        })
        .collect()
}

/// One axis: draw candidates from the good density, keep the best `l / g`.
fn propose_axis(domain: &Domain, good: &[f64], bad: &[f64], rng: &mut SplitMix64) -> Value {
    if let Domain::Choice(values) = domain {
        let l = categorical(good, values.len());
        let g = categorical(bad, values.len());
        let best = (0..CANDIDATES)
            .map(|_| pick(&l, rng))
            .max_by(|&a, &b| (l[a] / g[a]).total_cmp(&(l[b] / g[b])))
            .expect("at least one candidate");
        return values[best].clone();
    }
    let (mut low, mut high) = domain.bounds();
    if matches!(domain, Domain::Int { .. }) {
        (low, high) = (low - 0.5, high + 0.5);
    }
    let l = Parzen::new(good, low, high);
    let g = Parzen::new(bad, low, high);
    let best = (0..CANDIDATES)
        .map(|_| l.sample(rng))
        .max_by(|&a, &b| (l.log_pdf(a) - g.log_pdf(a)).total_cmp(&(l.log_pdf(b) - g.log_pdf(b))))
        .expect("at least one candidate");
    domain.value_at(best)
}

/// Category weights: counts plus a prior of one observation spread over all categories.
fn categorical(positions: &[f64], k: usize) -> Vec<f64> {
    let mut w = vec![1.0 / k as f64; k];
    for p in positions {
        if let Some(c) = w.get_mut(p.round() as usize) {
            *c += 1.0;
        }
    }
    let total: f64 = w.iter().sum();
    w.iter().map(|x| x / total).collect()
}

fn pick(weights: &[f64], rng: &mut SplitMix64) -> usize {
    let mut u = rng.unit_f64() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

/// A mixture of Gaussians truncated to `[low, high]`: one per observation, with Optuna's
/// bandwidths (the larger gap to a neighbour, clipped), plus a wide prior at the centre.
struct Parzen {
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    low: f64,
    high: f64,
}

impl Parzen {
    fn new(observed: &[f64], low: f64, high: f64) -> Self {
        let width = high - low;
        let mut mus: Vec<f64> = observed.to_vec();
        mus.push((low + high) / 2.0);
        let mut order: Vec<usize> = (0..mus.len()).collect();
        order.sort_by(|&a, &b| mus[a].total_cmp(&mus[b]));
        let min_sigma = width / (100f64).min(1.0 + mus.len() as f64);
        let mut sigmas = vec![width; mus.len()];
        for (rank, &i) in order.iter().enumerate() {
            let left = if rank == 0 { low } else { mus[order[rank - 1]] };
            let right = if rank + 1 == order.len() {
                high
            } else {
                mus[order[rank + 1]]
            };
            sigmas[i] = (mus[i] - left).max(right - mus[i]).clamp(min_sigma, width);
        }
        // The prior is as wide as the range.
        *sigmas.last_mut().expect("the prior is there") = width;
        Parzen {
            mus,
            sigmas,
            low,
            high,
        }
    }

    fn sample(&self, rng: &mut SplitMix64) -> f64 {
        let k = rng.below(self.mus.len());
        for _ in 0..100 {
            let x = self.mus[k] + self.sigmas[k] * standard_normal(rng);
            if (self.low..=self.high).contains(&x) {
                return x;
            }
        }
        self.low + rng.unit_f64() * (self.high - self.low)
    }

    fn log_pdf(&self, x: f64) -> f64 {
        let n = self.mus.len() as f64;
        let p: f64 = self
            .mus
            .iter()
            .zip(&self.sigmas)
            .map(|(&mu, &sigma)| {
                let mass =
                    normal_cdf((self.high - mu) / sigma) - normal_cdf((self.low - mu) / sigma);
                let z = (x - mu) / sigma;
                (-0.5 * z * z).exp()
                    / (sigma * (2.0 * std::f64::consts::PI).sqrt() * mass.max(1e-12))
            })
            .sum::<f64>()
            / n;
        p.max(1e-300).ln()
    }
}

fn standard_normal(rng: &mut SplitMix64) -> f64 {
    let u1 = rng.unit_f64().max(1e-300);
    let u2 = rng.unit_f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Φ(x) through erf (Abramowitz and Stegun 7.1.26, error below 1.5e-7: ample for weighting).
fn normal_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * (1.0 + if z >= 0.0 { erf } else { -erf })
}

#[cfg(test)]
mod tests;
