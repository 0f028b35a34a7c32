//! Short text forms shared by the views: axis names, values, percentages, durations, gauges.

use serde_json::Value;

use crate::store::RunStatus;

/// Status as symbol + word, readable without colour.
pub fn status_label(s: RunStatus) -> String {
    let sym = match s {
        RunStatus::Queued => "○",
        RunStatus::Running => "▶",
        RunStatus::Done => "✓",
        RunStatus::Failed => "✗",
        RunStatus::Diverged => "↗",
        RunStatus::Stopped => "■",
        RunStatus::Interrupted => "‖",
        RunStatus::Paused => "⏸",
        RunStatus::Pruned => "✂",
    };
    format!("{sym} {s}")
}

/// Short column name of a dotted sweep key: its last segment, with a few abbreviations.
pub fn short_key(key: &str) -> String {
    let last = key.rsplit('.').next().unwrap_or(key);
    match last {
        "growth_rate" => "growth".into(),
        "batch_size" => "batch".into(),
        "compression" => "compr".into(),
        "weight_decay" => "wd".into(),
        "validation_split" => "val".into(),
        "train_samples" => "n_train".into(),
        other => other.into(),
    }
}

/// A JSON value compactly: strings bare, arrays of numbers joined by `-` (block layouts).
pub fn value(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_number) => items
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", value(v)))
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// Accuracy fraction as percent with two decimals; `-` when absent.
pub fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.2}", v * 100.0))
}

/// A float with 4 significant-ish digits; `-` when absent.
pub fn num(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.3}"),
    }
}

/// Seconds as `1h02m`, `3m05s` or `42s`.
pub fn duration(secs: Option<f64>) -> String {
    let Some(s) = secs.filter(|s| s.is_finite() && *s >= 0.0) else {
        return "-".into();
    };
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A text gauge of `width` cells: `█` done, `░` to do.
pub fn gauge(done: usize, total: usize, width: usize) -> String {
    let filled = (done.min(total) * width + total / 2)
        .checked_div(total)
        .unwrap_or(0);
    "█".repeat(filled) + &"░".repeat(width - filled)
}

/// Large counts as `1.2M`, `34.5k`.
pub fn count(n: Option<u64>) -> String {
    match n {
        None => "-".into(),
        Some(n) if n >= 1_000_000_000 => format!("{:.2}G", n as f64 / 1e9),
        Some(n) if n >= 1_000_000 => format!("{:.2}M", n as f64 / 1e6),
        Some(n) if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        Some(n) => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_and_keys_are_short() {
        assert_eq!(short_key("model.growth_rate"), "growth");
        assert_eq!(short_key("model.dropout"), "dropout");
        assert_eq!(value(&json!([6, 12, 48, 32])), "6-12-48-32");
        assert_eq!(value(&json!("adam")), "adam");
        assert_eq!(value(&json!(0.2)), "0.2");
    }

    #[test]
    fn gauge_durations_and_numbers() {
        assert_eq!(gauge(5, 10, 4), "██░░");
        assert_eq!(gauge(0, 0, 3), "░░░");
        assert_eq!(duration(Some(3725.0)), "1h02m");
        assert_eq!(duration(Some(185.0)), "3m05s");
        assert_eq!(duration(None), "-");
        assert_eq!(pct(Some(0.91234)), "91.23");
        assert_eq!(count(Some(1_250_000)), "1.25M");
    }
}
