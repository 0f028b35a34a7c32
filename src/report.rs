//! The accuracy table of a sweep: test accuracy over the sweep axes, mean and standard
//! deviation over repeats. `compare` prints it; the dashboard will draw it.

use serde_json::{Value, json};

/// One finished-or-not run as the table needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPoint {
    /// Axis key -> value for this run (the trial's overrides).
    pub overrides: serde_json::Map<String, Value>,
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
}

/// One cell per distinct combination of the `axes` values, in run order: with all the sweep's
/// axes, one row per point (the runs of a point are its repeats); with fewer, the other axes
/// are aggregated.
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
            let best: Vec<f64> = members
                .iter()
                .filter_map(|p| p.best_test_accuracy)
                .collect();
            let last: Vec<f64> = members
                .iter()
                .filter_map(|p| p.final_test_accuracy)
                .collect();
            Cell {
                key,
                runs: members.len(),
                best: stat(&best),
                last: stat(&last),
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

/// The long table: axis columns, then run count and best/final accuracy statistics (percent).
pub fn long_table(points: &[RunPoint], axes: &[String]) -> (Vec<String>, Vec<Vec<Value>>) {
    let mut columns: Vec<String> = axes.to_vec();
    columns.extend(
        [
            "runs",
            "best_acc_mean",
            "best_acc_std",
            "final_acc_mean",
            "final_acc_std",
        ]
        .map(String::from),
    );
    let rows = by_point(points, axes)
        .into_iter()
        .map(|c| {
            let mut row = c.key.clone();
            row.push(json!(c.runs));
            for s in [c.best, c.last] {
                row.push(s.map_or(Value::Null, |s| pct(s.mean)));
                row.push(s.and_then(|s| s.std).map_or(Value::Null, pct));
            }
            row
        })
        .collect();
    (columns, rows)
}

/// The pivot: `row_axis` values down, `col_axis` values across, other axes aggregated; each
/// cell is the best test accuracy's mean ± std over its runs.
pub fn pivot_table(
    points: &[RunPoint],
    row_axis: &str,
    col_axis: &str,
) -> (Vec<String>, Vec<Vec<Value>>) {
    let axes = [row_axis.to_string(), col_axis.to_string()];
    let cells = by_point(points, &axes);
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
                let cell = cells.iter().find(|c| c.key[0] == *rv && c.key[1] == *cv);
                row.push(Value::String(
                    cell.map_or("-".into(), |c| format_stat(&c.best)),
                ));
            }
            row
        })
        .collect();
    (columns, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(g: i64, d: f64, best: f64) -> RunPoint {
        let mut overrides = serde_json::Map::new();
        overrides.insert("model.growth_rate".into(), json!(g));
        overrides.insert("model.dropout".into(), json!(d));
        RunPoint {
            overrides,
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
                Value::Null
            ]
        );
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
        assert_eq!(rows[1], vec![json!(24), json!("95.00 (n=1)"), json!("-")]);
    }
}
