//! Rewords serde's and toml's error messages as "expected X, found Y" in the file's own terms
//! (tables, arrays, keys) instead of Rust's (maps, sequences, fields, usize).

/// What serde's message is about, so the caller can point at the right key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `unknown field `name``: the key itself is at fault.
    UnknownKey(String),
    /// `missing field `name``: reported at the enclosing table.
    MissingKey(String),
    Other,
}

/// The reworded message (one line) and what it is about.
pub(crate) fn reword(message: &str) -> (String, Kind) {
    let message = message.trim().replace('\n', " ");
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (name, rest) = split_ticked(rest);
        let accepted = ticked(rest);
        let text = if accepted.is_empty() {
            format!("unknown key \"{name}\": this table accepts no keys")
        } else {
            format!(
                "unknown key \"{name}\": expected one of {}",
                accepted.join(", ")
            )
        };
        return (text, Kind::UnknownKey(name));
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let (name, _) = split_ticked(rest);
        return (
            format!("missing required key \"{name}\""),
            Kind::MissingKey(name),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (name, rest) = split_ticked(rest);
        let valid: Vec<String> = ticked(rest).iter().map(|v| format!("\"{v}\"")).collect();
        return (
            format!("expected one of {}, found \"{name}\"", valid.join(", ")),
            Kind::Other,
        );
    }
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            return (
                format!(
                    "expected {}, found {}",
                    expected_term(expected),
                    found_term(found)
                ),
                Kind::Other,
            );
        }
    }
    if message == "wanted string or table" {
        return ("expected a string".into(), Kind::Other);
    }
    (message, Kind::Other)
}

/// `` `name`, rest `` -> (`name`, `rest`).
fn split_ticked(text: &str) -> (String, &str) {
    let inner = text.strip_prefix('`').unwrap_or(text);
    match inner.split_once('`') {
        Some((name, rest)) => (name.to_string(), rest),
        None => (inner.to_string(), ""),
    }
}

/// Every `` `quoted` `` word of `text`, in order.
fn ticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn expected_term(expected: &str) -> String {
    match expected {
        "usize" | "u64" | "u32" | "u16" | "u8" => "a non-negative integer".into(),
        "f64" | "f32" => "a number".into(),
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        "a boolean" | "a string" => expected.into(),
        _ if expected.starts_with("struct ")
            || expected.starts_with("internally tagged enum ")
            || expected.starts_with("a map") =>
        {
            "a table".into()
        }
        _ if expected.starts_with("variant identifier") => "a string".into(),
        _ => expected.replace('`', "\""),
    }
}

fn found_term(found: &str) -> String {
    let found = found.replace(" as i128", "");
    match found.as_str() {
        "sequence" => "an array".into(),
        "map" => "a table".into(),
        "unit value" | "null" => "nothing".into(),
        _ => found.replace('`', ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_wording_becomes_expected_found() {
        assert_eq!(
            reword("invalid type: string \"twelve\", expected usize").0,
            "expected a non-negative integer, found string \"twelve\""
        );
        assert_eq!(
            reword("invalid value: integer `-3`, expected usize").0,
            "expected a non-negative integer, found integer -3"
        );
        assert_eq!(
            reword("invalid type: integer `3`, expected internally tagged enum Optimizer").0,
            "expected a table, found integer 3"
        );
        assert_eq!(
            reword("unknown variant `svhn`, expected one of `mnist`, `mnist-mini`, `cifar10`").0,
            "expected one of \"mnist\", \"mnist-mini\", \"cifar10\", found \"svhn\""
        );
    }

    #[test]
    fn unknown_and_missing_keys_are_named() {
        assert_eq!(
            reword("unknown field `mom`, expected `at` or `factor`"),
            (
                "unknown key \"mom\": expected one of at, factor".to_string(),
                Kind::UnknownKey("mom".into())
            )
        );
        assert_eq!(
            reword("missing field `blocks`"),
            (
                "missing required key \"blocks\"".to_string(),
                Kind::MissingKey("blocks".into())
            )
        );
    }
}
