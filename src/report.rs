//! The accuracy table of a sweep: test accuracy over the sweep axes, mean, standard
//! deviation and 95% interval over repeats, each cell tested against the best (`versus`).
//! `compare` prints it; the dashboard draws it.

pub mod importance;
mod versus;

use serde_json::{Value, json};

pub use versus::{LEGEND, Verdict, Versus, against_best};

/// One finished-or-not run as the table needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPoint {
    /// Axis key -> value for this run (the trial's overrides).
    pub overrides: serde_json::Map<String, Value>,
    /// `train.seed`: runs of two cells with the same seeds are compared pairwise.
    pub seed: u64,
    pub best_test_accuracy: Option<f64>,
    pub final_test_accuracy: Option<f64>,
}

/// Mean, sample standard deviation (None for a single value) and count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub std: Option<f64>,
    pub n: usize,
}

pub fn stat(values: &[f64]) -> Option<Stat> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = (n > 1)
        .then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    Some(Stat { mean, std, n })
}

/// One cell of the table: the runs sharing some axis values.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub key: Vec<Value>,
    pub runs: usize,
    pub best: Option<Stat>,
    pub last: Option<Stat>,
    /// (seed, best test accuracy) of the runs that have one.
    pub best_values: Vec<(u64, f64)>,
    /// (seed, final test accuracy) of the runs that have one.
    pub last_values: Vec<(u64, f64)>,
}

/// One cell per distinct combination of the `axes` values, in run order: with all the sweep's
/// axes, one row per point (the runs of a point are its repeats); with fewer, the other axes
/// are aggregated.
/// Each cell's comparison with the best cell, over their best values per seed.
fn versus_best(cells: &[Cell]) -> Vec<Versus> {
    let values: Vec<_> = cells.iter().map(|c| c.best_values.clone()).collect();
    against_best(&values)
}

pub fn by_point(points: &[RunPoint], axes: &[String]) -> Vec<Cell> {
    let mut cells: Vec<(Vec<Value>, Vec<&RunPoint>)> = Vec::new();
    for p in points {
        let key: Vec<Value> = axes
            .iter()
            .map(|a| p.overrides.get(a).cloned().unwrap_or(Value::Null))
            .collect();
        match cells.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(p),
            None => cells.push((key, vec![p])),
        }
    }
    cells
        .into_iter()
        .map(|(key, members)| {
            let seeded = |get: fn(&RunPoint) -> Option<f64>| -> Vec<(u64, f64)> {
                members
                    .iter()
                    .filter_map(|p| get(p).map(|v| (p.seed, v)))
                    .collect()
            };
            let best_values = seeded(|p| p.best_test_accuracy);
            let last_values = seeded(|p| p.final_test_accuracy);
            let values = |v: &[(u64, f64)]| v.iter().map(|p| p.1).collect::<Vec<_>>();
            Cell {
                key,
                runs: members.len(),
                best: stat(&values(&best_values)),
                last: stat(&values(&last_values)),
                best_values,
                last_values,
            }
        })
        .collect()
}

/// Accuracy in percent, two decimals, as a JSON number.
fn pct(x: f64) -> Value {
    json!((x * 10000.0).round() / 100.0)
}

/// `mean ± std` in percent for a pivot cell.
pub fn format_stat(s: &Option<Stat>) -> String {
    match s {
        None => "-".into(),
        Some(Stat {
            mean,
            std: Some(sd),
            n,
        }) => format!("{:.2} ± {:.2} (n={n})", mean * 100.0, sd * 100.0),
        Some(Stat { mean, std: None, n }) => format!("{:.2} (n={n})", mean * 100.0),
    }
}

/// The long table for machines: axis columns, run count, best/final accuracy statistics
/// (percent), then the best accuracy's n, 95% interval and tests against the best cell.
pub fn long_table(points: &[RunPoint], axes: &[String]) -> (Vec<String>, Vec<Vec<Value>>) {
    let mut columns: Vec<String> = axes.to_vec();
    columns.extend(
        [
            "runs",
            "best_acc_mean",
            "best_acc_std",
            "final_acc_mean",
            "final_acc_std",
            "n",
            "best_acc_ci_low",
            "best_acc_ci_high",
            "p_welch",
            "p_paired",
            "vs_best",
        ]
        .map(String::from),
    );
    let cells = by_point(points, axes);
    let versus = versus_best(&cells);
    let p_value = |t: Option<crate::stats::ttest::TTest>| t.map_or(Value::Null, |t| json!(t.p));
    let rows = cells
        .into_iter()
        .zip(versus)
        .map(|(c, v)| {
            let mut row = c.key.clone();
            row.push(json!(c.runs));
            for s in [c.best, c.last] {
                row.push(s.map_or(Value::Null, |s| pct(s.mean)));
                row.push(s.and_then(|s| s.std).map_or(Value::Null, pct));
            }
            row.push(json!(c.best_values.len()));
            row.push(v.ci.map_or(Value::Null, |ci| pct(ci.0)));
            row.push(v.ci.map_or(Value::Null, |ci| pct(ci.1)));
            row.push(p_value(v.welch));
            row.push(p_value(v.paired));
            row.push(json!(v.verdict.as_str()));
            row
        })
        .collect();
    (columns, rows)
}

/// The long table for reading in 80-120 columns: one text column per figure.
pub fn readable_table(points: &[RunPoint], axes: &[String]) -> (Vec<String>, Vec<Vec<Value>>) {
    let mut columns: Vec<String> = axes.to_vec();
    columns.extend(["runs", "best acc %", "95% CI", "vs best", "final acc %"].map(String::from));
    let cells = by_point(points, axes);
    let versus = versus_best(&cells);
    let rows = cells
        .into_iter()
        .zip(versus)
        .map(|(c, v)| {
            let mut row = c.key.clone();
            row.push(json!(c.runs));
            row.push(json!(format_stat(&c.best)));
            row.push(json!(format_ci(&v)));
            row.push(json!(format_versus(&v)));
            row.push(json!(format_stat(&c.last)));
            row
        })
        .collect();
    (columns, rows)
}

/// `low–high` in percent, or why there is no interval.
pub fn format_ci(v: &Versus) -> String {
    match (v.ci, v.sample) {
        (Some((lo, hi)), _) => format!("{:.2}–{:.2}", lo * 100.0, hi * 100.0),
        (None, Some(_)) => "none (n=1)".into(),
        (None, None) => "-".into(),
    }
}

/// The verdict with its mark and the deciding test's p-value: `≈ p=0.210 paired`.
pub fn format_versus(v: &Versus) -> String {
    match (v.verdict, v.deciding()) {
        (Verdict::Best, _) => "* best".into(),
        (_, Some((name, t))) => format!("{} p={:.3} {name}", v.verdict.mark(), t.p)
            .trim_start()
            .to_string(),
        (_, None) => "untested".into(),
    }
}

/// The pivot: `row_axis` values down, `col_axis` values across, other axes aggregated; each
/// cell is the best test accuracy's mean ± std over its runs, marked `*` (best) or `≈`
/// (not distinguishable from the best).
pub fn pivot_table(
    points: &[RunPoint],
    row_axis: &str,
    col_axis: &str,
) -> (Vec<String>, Vec<Vec<Value>>) {
    let axes = [row_axis.to_string(), col_axis.to_string()];
    let cells = by_point(points, &axes);
    let versus = versus_best(&cells);
    let mut row_values: Vec<Value> = Vec::new();
    let mut col_values: Vec<Value> = Vec::new();
    for c in &cells {
        if !row_values.contains(&c.key[0]) {
            row_values.push(c.key[0].clone());
        }
        if !col_values.contains(&c.key[1]) {
            col_values.push(c.key[1].clone());
        }
    }
    let mut columns = vec![format!("{row_axis} \\ {col_axis}")];
    columns.extend(col_values.iter().map(|v| v.to_string()));
    let rows = row_values
        .iter()
        .map(|rv| {
            let mut row = vec![rv.clone()];
            for cv in &col_values {
                let i = cells
                    .iter()
                    .position(|c| c.key[0] == *rv && c.key[1] == *cv);
                row.push(Value::String(i.map_or("-".into(), |i| {
                    marked(format_stat(&cells[i].best), versus[i].verdict)
                })));
            }
            row
        })
        .collect();
    (columns, rows)
}

/// `text` with the verdict's mark after it, if it has one.
pub fn marked(text: String, verdict: Verdict) -> String {
    match verdict.mark() {
        "" => text,
        m => format!("{text} {m}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(g: i64, d: f64, best: f64) -> RunPoint {
        seeded(g, d, best, 0)
    }

    fn seeded(g: i64, d: f64, best: f64, seed: u64) -> RunPoint {
        let mut overrides = serde_json::Map::new();
        overrides.insert("model.growth_rate".into(), json!(g));
        overrides.insert("model.dropout".into(), json!(d));
        RunPoint {
            overrides,
            seed,
            best_test_accuracy: Some(best),
            final_test_accuracy: Some(best - 0.01),
        }
    }

    fn axes() -> Vec<String> {
        vec!["model.growth_rate".into(), "model.dropout".into()]
    }

    #[test]
    fn repeats_of_a_point_are_aggregated_with_sample_std() {
        let points = [
            point(12, 0.0, 0.90),
            point(12, 0.0, 0.92),
            point(24, 0.0, 0.95),
        ];
        let cells = by_point(&points, &axes());
        assert_eq!(cells.len(), 2);
        let s = cells[0].best.unwrap();
        assert_eq!(s.n, 2);
        assert!((s.mean - 0.91).abs() < 1e-12);
        assert!((s.std.unwrap() - 0.02 / 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(cells[1].best.unwrap().std, None);
    }

    #[test]
    fn long_table_reports_percent() {
        let (cols, rows) = long_table(&[point(12, 0.2, 0.9876)], &axes());
        assert_eq!(cols[2], "runs");
        assert_eq!(
            rows[0],
            vec![
                json!(12),
                json!(0.2),
                json!(1),
                json!(98.76),
                Value::Null,
                json!(97.76),
                Value::Null,
                json!(1),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                json!("best"),
            ]
        );
    }

    #[test]
    fn long_tables_carry_the_interval_and_the_tests_against_the_best() {
        // Two points, three seeds each; the second is better by 2 points on every seed.
        let points: Vec<RunPoint> = [(12, [0.90, 0.91, 0.93]), (24, [0.92, 0.93, 0.95])]
            .iter()
            .flat_map(|(g, accs)| {
                accs.iter()
                    .enumerate()
                    .map(move |(s, a)| seeded(*g, 0.0, *a, s as u64))
            })
            .collect();
        let (cols, rows) = long_table(&points, &axes());
        let at = |name: &str| cols.iter().position(|c| c == name).unwrap();
        assert_eq!(rows[1][at("vs_best")], json!("best"));
        assert_eq!(rows[0][at("vs_best")], json!("worse"));
        // The differences are exactly 0.02 up to rounding: the paired test separates them
        // (p below 1e-6), Welch's does not (p = 0.18407, SciPy's ttest_ind, equal_var=False).
        assert!(rows[0][at("p_paired")].as_f64().unwrap() < 1e-6);
        let welch = rows[0][at("p_welch")].as_f64().unwrap();
        assert!((welch - 0.18407403195058009).abs() < 1e-9, "{welch}");
        // 91.33 ± t(0.975, 2) * 0.01528 / sqrt(3) = 91.33 ± 3.79.
        assert_eq!(rows[0][at("best_acc_ci_low")], json!(87.54));
        assert_eq!(rows[0][at("best_acc_ci_high")], json!(95.13));
        let (cols, rows) = readable_table(&points, &axes());
        assert_eq!(
            cols[2..],
            ["runs", "best acc %", "95% CI", "vs best", "final acc %"]
        );
        assert_eq!(rows[0][3], json!("91.33 ± 1.53 (n=3)"));
        assert_eq!(rows[0][4], json!("87.54–95.13"));
        assert!(
            rows[0][5].as_str().unwrap().starts_with("p=0.000 paired"),
            "{}",
            rows[0][5]
        );
        assert_eq!(rows[1][5], json!("* best"));
    }

    #[test]
    fn pivot_puts_one_axis_down_and_one_across() {
        let points = [
            point(12, 0.0, 0.9),
            point(12, 0.2, 0.8),
            point(24, 0.0, 0.95),
        ];
        let (cols, rows) = pivot_table(&points, "model.growth_rate", "model.dropout");
        assert_eq!(
            cols,
            vec!["model.growth_rate \\ model.dropout", "0.0", "0.2"]
        );
        assert_eq!(
            rows[0],
            vec![json!(12), json!("90.00 (n=1)"), json!("80.00 (n=1)")]
        );
        assert_eq!(rows[1], vec![json!(24), json!("95.00 (n=1) *"), json!("-")]);
    }
}
