//! What one sweep axis ranges over: a list of choices (every strategy) or a distribution
//! (`{ int = [a, b] }`, `{ uniform = [a, b] }`, `{ log_uniform = [a, b] }`; random and tpe
//! sampling only), and how a value is drawn from it.

use serde_json::Value;

use crate::rng::SplitMix64;

/// The values an axis may take.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// One of these values, in file order.
    Choice(Vec<Value>),
    /// An integer in `low..=high`, uniformly.
    Int { low: i64, high: i64 },
    /// A float in `[low, high)`, uniformly.
    Uniform { low: f64, high: f64 },
    /// A float in `[low, high)` whose logarithm is uniform (learning rates, weight decay).
    LogUniform { low: f64, high: f64 },
}

/// The distribution names a file may write, as the table's one key.
pub const DISTRIBUTIONS: [&str; 3] = ["int", "uniform", "log_uniform"];

impl Domain {
    pub fn choices(&self) -> Option<&[Value]> {
        match self {
            Domain::Choice(values) => Some(values),
            _ => None,
        }
    }

    /// A value drawn uniformly (in the log for `LogUniform`).
    pub fn sample(&self, rng: &mut SplitMix64) -> Value {
        match self {
            Domain::Choice(values) => values[rng.below(values.len())].clone(),
            Domain::Int { low, high } => {
                let span = (high - low) as u64 + 1;
                Value::from(low + (rng.next_u64() % span) as i64)
            }
            Domain::Uniform { low, high } => {
                float_value(low + rng.unit_f64() * (high - low), *low, *high)
            }
            Domain::LogUniform { low, high } => {
                let (a, b) = (low.ln(), high.ln());
                float_value((a + rng.unit_f64() * (b - a)).exp(), *low, *high)
            }
        }
    }

    /// The value as a point on the axis a density model works on: the choice's index, the
    /// integer, the float, or the float's logarithm. `None` for a value the domain cannot hold.
    pub fn position(&self, value: &Value) -> Option<f64> {
        match self {
            Domain::Choice(values) => values.iter().position(|v| v == value).map(|i| i as f64),
            Domain::Int { .. } => value.as_i64().map(|i| i as f64),
            Domain::Uniform { .. } => value.as_f64(),
            Domain::LogUniform { .. } => value.as_f64().filter(|v| *v > 0.0).map(f64::ln),
        }
    }

    /// The inverse of [`Domain::position`] (rounded for choices and integers, clamped in range).
    pub fn value_at(&self, position: f64) -> Value {
        match self {
            Domain::Choice(values) => {
                let i = position.round().clamp(0.0, (values.len() - 1) as f64) as usize;
                values[i].clone()
            }
            Domain::Int { low, high } => Value::from((position.round() as i64).clamp(*low, *high)),
            Domain::Uniform { low, high } => float_value(position, *low, *high),
            Domain::LogUniform { low, high } => float_value(position.exp(), *low, *high),
        }
    }

    /// The range of [`Domain::position`]: `(low, high)`.
    pub fn bounds(&self) -> (f64, f64) {
        match self {
            Domain::Choice(values) => (0.0, (values.len() - 1) as f64),
            Domain::Int { low, high } => (*low as f64, *high as f64),
            Domain::Uniform { low, high } => (*low, *high),
            Domain::LogUniform { low, high } => (low.ln(), high.ln()),
        }
    }

    /// The two ends (one for a choice list of one): the values rules are checked at.
    pub fn ends(&self) -> Vec<Value> {
        match self {
            Domain::Choice(values) => values.clone(),
            Domain::Int { low, high } => vec![Value::from(*low), Value::from(*high)],
            Domain::Uniform { low, high } | Domain::LogUniform { low, high } => {
                vec![
                    float_value(*low, *low, *high),
                    float_value(*high, *low, *high),
                ]
            }
        }
    }

    /// How the file wrote it: `[0.0, 0.2]`, `{ log_uniform = [0.0001, 0.1] }`.
    pub fn describe(&self) -> String {
        match self {
            Domain::Choice(values) => Value::Array(values.clone()).to_string(),
            Domain::Int { low, high } => format!("{{ int = [{low}, {high}] }}"),
            Domain::Uniform { low, high } => format!("{{ uniform = [{low}, {high}] }}"),
            Domain::LogUniform { low, high } => format!("{{ log_uniform = [{low}, {high}] }}"),
        }
    }
}

/// A float clamped into `[low, high]`, rounded to 6 significant digits so that stored configs
/// (and their hashes) read as a person would write them.
fn float_value(x: f64, low: f64, high: f64) -> Value {
    let x = x.clamp(low, high);
    let rounded: f64 = format!("{x:.5e}").parse().unwrap_or(x);
    serde_json::Number::from_f64(rounded.clamp(low, high))
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A `{ kind = [low, high] }` table, checked: one known key, two numbers in order, positive
/// under `log_uniform`, integers under `int`. The error names the element at fault (`None`:
/// the table itself).
pub(crate) fn parse_distribution(
    table: &toml::map::Map<String, toml::Value>,
) -> Result<Domain, (Option<String>, String)> {
    let known = DISTRIBUTIONS.join(", ");
    let mut keys = table.keys();
    let (Some(kind), None) = (keys.next(), keys.next()) else {
        return Err((
            None,
            format!(
                "expected a list of values or one distribution ({known}) such as \
                 {{ uniform = [0.0, 0.5] }}, found a table with {} keys",
                table.len()
            ),
        ));
    };
    if !DISTRIBUTIONS.contains(&kind.as_str()) {
        return Err((
            Some(kind.clone()),
            format!("unknown distribution {kind:?}: expected one of {known}"),
        ));
    }
    let at = |i: usize| Some(format!("{kind}[{i}]"));
    let bounds = match &table[kind] {
        toml::Value::Array(items) if items.len() == 2 => items,
        other => {
            return Err((
                Some(kind.clone()),
                format!("expected [low, high], found {other}"),
            ));
        }
    };
    if kind == "int" {
        let mut ends = [0i64; 2];
        for (i, b) in bounds.iter().enumerate() {
            match b {
                toml::Value::Integer(n) => ends[i] = *n,
                other => return Err((at(i), format!("expected an integer, found {other}"))),
            }
        }
        if ends[0] >= ends[1] {
            return Err((
                at(1),
                format!("expected high > low, found [{}, {}]", ends[0], ends[1]),
            ));
        }
        return Ok(Domain::Int {
            low: ends[0],
            high: ends[1],
        });
    }
    let mut ends = [0f64; 2];
    for (i, b) in bounds.iter().enumerate() {
        ends[i] = match b {
            toml::Value::Integer(n) => *n as f64,
            toml::Value::Float(f) if f.is_finite() => *f,
            other => return Err((at(i), format!("expected a finite number, found {other}"))),
        };
    }
    let [low, high] = ends;
    if let Some(i) = ends.iter().position(|b| *b <= 0.0)
        && kind == "log_uniform"
    {
        return Err((
            at(i),
            format!(
                "expected a number > 0 (log_uniform draws the logarithm), found {}",
                ends[i]
            ),
        ));
    }
    if low >= high {
        return Err((at(1), format!("expected high > low, found [{low}, {high}]")));
    }
    Ok(if kind == "uniform" {
        Domain::Uniform { low, high }
    } else {
        Domain::LogUniform { low, high }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::map::Map<String, toml::Value> {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn draws_stay_in_range_and_log_uniform_is_uniform_in_the_log() {
        let mut rng = SplitMix64::new(3);
        let log = Domain::LogUniform {
            low: 1e-4,
            high: 1e-1,
        };
        let draws: Vec<f64> = (0..4000)
            .map(|_| log.sample(&mut rng).as_f64().unwrap())
            .collect();
        assert!(draws.iter().all(|x| (1e-4..=1e-1).contains(x)));
        // A quarter of the log range lies below 10^-3.25; in linear terms it is 0.06%.
        let below = draws.iter().filter(|x| **x < 10f64.powf(-3.25)).count() as f64 / 4000.0;
        assert!((below - 0.25).abs() < 0.03, "{below}");
        let int = Domain::Int { low: 8, high: 10 };
        let mut seen = [0; 3];
        for _ in 0..300 {
            seen[(int.sample(&mut rng).as_i64().unwrap() - 8) as usize] += 1;
        }
        assert!(seen.iter().all(|n| *n > 70), "{seen:?}");
    }

    #[test]
    fn position_and_value_at_are_inverse() {
        let d = Domain::LogUniform {
            low: 1e-4,
            high: 1e-1,
        };
        let v = Value::from(0.003);
        let back = d.value_at(d.position(&v).unwrap());
        assert!((back.as_f64().unwrap() - 0.003).abs() < 1e-9);
        let c = Domain::Choice(vec![Value::from("a"), Value::from("b")]);
        assert_eq!(c.position(&Value::from("b")), Some(1.0));
        assert_eq!(c.value_at(0.7), Value::from("b"));
        assert_eq!(
            Domain::Int { low: 1, high: 4 }.value_at(9.0),
            Value::from(4)
        );
    }

    #[test]
    fn bad_distributions_name_the_element_at_fault() {
        let err = |t: &str| parse_distribution(&table(t)).unwrap_err();
        assert_eq!(err("uniform = [0.5, 0.1]").0.as_deref(), Some("uniform[1]"));
        assert!(err("uniform = [0.5, 0.1]").1.contains("high > low"));
        assert_eq!(
            err("log_uniform = [0.0, 0.1]").0.as_deref(),
            Some("log_uniform[0]")
        );
        assert_eq!(err("int = [1.5, 4]").0.as_deref(), Some("int[0]"));
        assert_eq!(err("normal = [0, 1]").0.as_deref(), Some("normal"));
        assert_eq!(err("uniform = [0, 1]\nint = [0, 1]").0, None);
        assert_eq!(err("uniform = [0]").0.as_deref(), Some("uniform"));
        assert_eq!(
            parse_distribution(&table("int = [8, 32]")).unwrap(),
            Domain::Int { low: 8, high: 32 }
        );
    }
}
