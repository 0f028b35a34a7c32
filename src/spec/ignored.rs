//! Keys serde accepts and then drops. `deny_unknown_fields` does not reach the unit variant of
//! an internally tagged enum (`schedule = { kind = "constant", factor = 0.1 }` deserializes
//! fine), so such keys are found by looking for each given key in the config serialized back.

use serde_json::Value;

/// The value at a dotted path of plain keys.
pub(crate) fn lookup<'a>(value: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .try_fold(value, |node, segment| node.as_object()?.get(segment))
}

/// The first key, as a relative dotted path, of `given` (an object tree) missing from
/// `kept` (the same tree after a round trip through the config).
pub(crate) fn dropped_key(given: &Value, kept: &Value) -> Option<String> {
    let (Value::Object(given), Value::Object(kept)) = (given, kept) else {
        return None;
    };
    given.iter().find_map(|(key, value)| match kept.get(key) {
        None => Some(key.clone()),
        Some(kept) => dropped_key(value, kept).map(|rest| format!("{key}.{rest}")),
    })
}

/// The message for a dropped key `name` of the table `table` (as kept).
pub(crate) fn dropped_message(name: &str, table: Option<&Value>) -> String {
    match table.and_then(|t| t.get("kind")) {
        Some(kind) => format!("unknown key \"{name}\": kind = {kind} takes no other key"),
        None => format!("unknown key \"{name}\""),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_keys_lost_in_the_round_trip() {
        let given = json!({"kind": "constant", "factor": 0.1});
        let kept = json!({"kind": "constant"});
        assert_eq!(dropped_key(&given, &kept), Some("factor".into()));
        assert_eq!(dropped_key(&kept, &kept), None);
        let nested = json!({"schedule": given});
        assert_eq!(
            dropped_key(&nested, &json!({"schedule": kept})),
            Some("schedule.factor".into())
        );
        assert_eq!(lookup(&nested, "schedule.kind"), Some(&json!("constant")));
        assert_eq!(
            dropped_message("factor", Some(&kept)),
            "unknown key \"factor\": kind = \"constant\" takes no other key"
        );
    }
}
