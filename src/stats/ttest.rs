//! Student-t inference for the few repeats (seeds) of a sweep point: a confidence interval of
//! the mean, Welch's unequal-variance t-test and the paired t-test. `statrs` gives the t
//! distribution; the Welch–Satterthwaite degrees of freedom and the tests are written here.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The significance level of every test and the complement of the intervals' coverage.
pub const ALPHA: f64 = 0.05;

/// Count, mean and sample variance (denominator n - 1; `None` for a single value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub n: usize,
    pub mean: f64,
    pub var: Option<f64>,
}

impl Sample {
    pub fn of(values: &[f64]) -> Option<Sample> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        // Equal values (the same count of correct images) are exactly constant: summing would
        // leave a rounding residue where the variance is zero.
        if values.iter().all(|v| *v == values[0]) {
            let var = (n > 1).then_some(0.0);
            return Some(Sample {
                n,
                mean: values[0],
                var,
            });
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = (n > 1)
            .then(|| values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64);
        Some(Sample { n, mean, var })
    }

    pub fn std(&self) -> Option<f64> {
        self.var.map(f64::sqrt)
    }

    /// The two-sided Student-t interval of the mean at `1 - ALPHA` coverage; `None` for a single
    /// value, which has no spread to estimate. Zero variance gives the point interval.
    pub fn confidence_interval(&self) -> Option<(f64, f64)> {
        let var = self.var?;
        let df = (self.n - 1) as f64;
        let half = t_quantile(1.0 - ALPHA / 2.0, df) * (var / self.n as f64).sqrt();
        Some((self.mean - half, self.mean + half))
    }
}

/// The `p` quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df)
        .expect("df > 0 and finite by construction")
        .inverse_cdf(p)
}

/// A t statistic with its degrees of freedom and two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    pub t: f64,
    pub df: f64,
    pub p: f64,
}

impl TTest {
    /// Whether the test fails to separate the two means at level `ALPHA`.
    pub fn indistinguishable(&self) -> bool {
        self.p >= ALPHA
    }
}

/// `diff / se` with a two-sided p-value. A zero standard error (every value equal within
/// each group) has no t distribution: equal means are then indistinguishable (t = 0, p = 1)
/// and different ones are separated (t = ±inf, p = 0), as the data show no noise at all.
fn t_test(diff: f64, se: f64, df: f64) -> TTest {
    if se == 0.0 || !se.is_finite() {
        return if diff == 0.0 {
            TTest { t: 0.0, df, p: 1.0 }
        } else {
            TTest {
                t: diff.signum() * f64::INFINITY,
                df,
                p: 0.0,
            }
        };
    }
    let t = diff / se;
    let dist = StudentsT::new(0.0, 1.0, df).expect("df > 0 by construction");
    let p = (2.0 * dist.sf(t.abs())).min(1.0);
    TTest { t, df, p }
}

/// Welch's t-test of `a.mean - b.mean` (Welch 1947), with the Welch–Satterthwaite degrees of
/// freedom; it does not assume equal variances. `None` unless both samples have n >= 2.
/// With both variances zero the degrees of freedom are taken as the pooled n_a + n_b - 2.
pub fn welch(a: &Sample, b: &Sample) -> Option<TTest> {
    let (va, vb) = (a.var?, b.var?);
    let (qa, qb) = (va / a.n as f64, vb / b.n as f64);
    let se2 = qa + qb;
    let df = if se2 == 0.0 {
        (a.n + b.n - 2) as f64
    } else {
        se2 * se2 / (qa * qa / (a.n - 1) as f64 + qb * qb / (b.n - 1) as f64)
    };
    Some(t_test(a.mean - b.mean, se2.sqrt(), df))
}

/// The paired t-test of the differences `a[i] - b[i]` (here: two sweep points trained with the
/// same seeds, so seed-to-seed noise shared by both cancels). `None` unless the slices have the
/// same length of at least 2.
pub fn paired(a: &[f64], b: &[f64]) -> Option<TTest> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let s = Sample::of(&d)?;
    let se = (s.var? / s.n as f64).sqrt();
    Some(t_test(s.mean, se, (s.n - 1) as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from SciPy 1.x (Python 3.11, in a venv):
    //   a = [0.912, 0.905, 0.921, 0.917, 0.909]; b = [0.897, 0.903, 0.889, 0.908]
    //   c = [0.901, 0.904, 0.915, 0.906, 0.902]
    //   scipy.stats.ttest_ind(a, b, equal_var=False)  -> t, p, df
    //   scipy.stats.ttest_rel(a, c), scipy.stats.ttest_ind(a, c, equal_var=False)
    //   scipy.stats.t.interval(0.95, n - 1, loc=mean, scale=scipy.stats.sem(x))
    //   scipy.stats.t.ppf(0.975, df)
    const A: [f64; 5] = [0.912, 0.905, 0.921, 0.917, 0.909];
    const B: [f64; 4] = [0.897, 0.903, 0.889, 0.908];
    const C: [f64; 5] = [0.901, 0.904, 0.915, 0.906, 0.902];

    fn close(x: f64, want: f64, tol: f64) {
        assert!((x - want).abs() <= tol, "{x} is not {want} (within {tol})");
    }

    #[test]
    fn t_quantiles_match_scipy() {
        for (df, want) in [
            (1.0, 12.706204736174694),
            (2.0, 4.302652729749462),
            (4.0, 2.7764451051977934),
            (10.0, 2.228138851986274),
        ] {
            close(t_quantile(0.975, df), want, 1e-9);
        }
    }

    #[test]
    fn mean_std_and_interval_match_scipy() {
        let s = Sample::of(&A).unwrap();
        close(s.mean, 0.9128, 1e-12);
        close(s.std().unwrap(), 0.006340346993658949, 1e-12);
        let (lo, hi) = s.confidence_interval().unwrap();
        close(lo, 0.9049274194018543, 1e-9);
        close(hi, 0.9206725805981458, 1e-9);
        let (lo, hi) = Sample::of(&B).unwrap().confidence_interval().unwrap();
        close(lo, 0.8862333796290816, 1e-9);
        close(hi, 0.9122666203709184, 1e-9);
    }

    #[test]
    fn welch_matches_scipy_including_fractional_df() {
        let r = welch(&Sample::of(&A).unwrap(), &Sample::of(&B).unwrap()).unwrap();
        close(r.t, 2.722598478572274, 1e-9);
        close(r.df, 5.605469942293063, 1e-9);
        close(r.p, 0.036992671383187355, 1e-9);
        assert!(!r.indistinguishable());
    }

    #[test]
    fn paired_matches_scipy_and_sees_what_welch_misses() {
        let r = paired(&A, &C).unwrap();
        close(r.t, 3.881979835323783, 1e-9);
        close(r.df, 4.0, 0.0);
        close(r.p, 0.01781132547795687, 1e-9);
        let w = welch(&Sample::of(&A).unwrap(), &Sample::of(&C).unwrap()).unwrap();
        close(w.t, 1.9039891872525965, 1e-9);
        close(w.df, 7.877937998173923, 1e-9);
        close(w.p, 0.09396028919603969, 1e-9);
        assert!(!r.indistinguishable() && w.indistinguishable());
    }

    #[test]
    fn welch_with_one_constant_sample_matches_scipy() {
        // scipy: ttest_ind([0.9]*3, [0.88, 0.91, 0.86], equal_var=False)
        let r = welch(
            &Sample::of(&[0.9, 0.9, 0.9]).unwrap(),
            &Sample::of(&[0.88, 0.91, 0.86]).unwrap(),
        )
        .unwrap();
        close(r.t, 1.1470786693528114, 1e-9);
        close(r.df, 2.0, 1e-9);
        close(r.p, 0.370059211651287, 1e-9);
    }

    #[test]
    fn a_single_value_has_no_interval_and_no_test() {
        let one = Sample::of(&[0.9]).unwrap();
        assert_eq!((one.n, one.var), (1, None));
        assert_eq!(one.confidence_interval(), None);
        assert_eq!(welch(&one, &Sample::of(&A).unwrap()), None);
        assert_eq!(paired(&[0.9], &[0.8]), None);
        assert_eq!(paired(&A, &B), None, "different lengths cannot be paired");
        assert_eq!(Sample::of(&[]), None);
    }

    #[test]
    fn identical_samples_are_indistinguishable_with_p_one() {
        let s = Sample::of(&A).unwrap();
        let w = welch(&s, &s).unwrap();
        assert_eq!((w.t, w.p), (0.0, 1.0));
        let p = paired(&A, &A).unwrap();
        assert_eq!((p.t, p.p), (0.0, 1.0));
        assert!(w.indistinguishable() && p.indistinguishable());
    }

    #[test]
    fn zero_variance_separates_different_constants_and_not_equal_ones() {
        let x = Sample::of(&[0.9, 0.9]).unwrap();
        let y = Sample::of(&[0.8, 0.8, 0.8]).unwrap();
        assert_eq!(x.confidence_interval(), Some((0.9, 0.9)));
        let r = welch(&x, &y).unwrap();
        assert_eq!((r.t, r.p, r.df), (f64::INFINITY, 0.0, 3.0));
        assert_eq!(welch(&x, &x).unwrap().p, 1.0);
        // A constant difference between paired runs: every seed moved by the same amount.
        let r = paired(&[0.9, 0.8, 0.7], &[0.8, 0.7, 0.6]).unwrap();
        assert!(r.p == 0.0 || r.p < 1e-9, "{r:?}");
    }
}
