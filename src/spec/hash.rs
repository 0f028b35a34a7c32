//! Trial identity. A trial's hash names its results in the store, so it must depend only on
//! the resolved config and be identical across runs, machines and serde_json feature sets.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::config::TrialConfig;

/// JSON of `value` with object keys sorted at every level and no whitespace.
///
/// Sorting is done here rather than relying on serde_json's default `BTreeMap`: another crate
/// in the build enabling serde_json's `preserve_order` would otherwise silently change every
/// hash.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The canonical JSON of a resolved trial config (what the hash is taken over).
///
/// Keys that came after stores were written are left out when they hold their default, so
/// those trials keep their hashes and are found and resumed: `train.precision` when it is
/// `f32`, `model.stem_channels` when it is 2k (written out or not, the same network),
/// `model.init` when it is `he_normal` (the only rule before the key existed).
pub fn canonical_config_json(config: &TrialConfig) -> String {
    let mut value = serde_json::to_value(config).expect("TrialConfig serializes to JSON");
    if config.train.precision.is_f32()
        && let Some(train) = value.get_mut("train").and_then(Value::as_object_mut)
    {
        train.remove("precision");
    }
    let model = &config.model;
    if model.stem_channels == Some(model.growth_rate.saturating_mul(2))
        && let Some(model) = value.get_mut("model").and_then(Value::as_object_mut)
    {
        model.remove("stem_channels");
    }
    if model.init.is_default()
        && let Some(model) = value.get_mut("model").and_then(Value::as_object_mut)
    {
        model.remove("init");
    }
    canonical_json(&value)
}

/// First 16 hex characters of the SHA-256 of the config's canonical JSON.
pub fn trial_hash(config: &TrialConfig) -> String {
    let digest = Sha256::digest(canonical_config_json(config).as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::config::*;
    use super::*;

    fn config() -> TrialConfig {
        TrialConfig {
            data: DataConfig {
                dataset: Dataset::Mnist,
                augment: false,
                validation_split: 0.0,
                train_samples: None,
                test_samples: None,
            },
            model: ModelConfig {
                growth_rate: 12,
                blocks: vec![4, 4, 4],
                bottleneck: true,
                transition: Transition::Growth,
                compression: 0.5,
                stem: Stem::Cifar,
                stem_pool: None,
                stem_channels: None,
                dropout: 0.2,
                init: Init::HeNormal,
            },
            train: TrainConfig {
                epochs: 2,
                batch_size: 64,
                optimizer: Optimizer::Adam {
                    lr: 1e-3,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    weight_decay: 0.0,
                },
                schedule: Schedule::Constant,
                seed: 1,
                log_every: 10,
                precision: Precision::F32,
            },
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = serde_json::json!({"b": 1, "a": {"z": [1, {"y": 2, "x": 3}], "c": 0.5}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":0.5,"z":[1,{"x":3,"y":2}]},"b":1}"#
        );
    }

    #[test]
    fn hash_is_pinned_so_a_format_change_is_caught() {
        assert_eq!(
            canonical_config_json(&config()),
            r#"{"data":{"augment":false,"dataset":"mnist","validation_split":0.0},"model":{"blocks":[4,4,4],"bottleneck":true,"compression":0.5,"dropout":0.2,"growth_rate":12,"stem":"cifar","transition":"growth"},"train":{"batch_size":64,"epochs":2,"log_every":10,"optimizer":{"beta1":0.9,"beta2":0.999,"eps":1e-8,"kind":"adam","lr":0.001,"weight_decay":0.0},"schedule":{"kind":"constant"},"seed":1}}"#
        );
        assert_eq!(trial_hash(&config()), "9900e7f4d227b523");
    }

    #[test]
    fn precision_enters_the_hash_only_when_it_is_not_the_default() {
        let mut bf16 = config();
        bf16.train.precision = Precision::Bf16;
        let json = canonical_config_json(&bf16);
        assert!(json.contains(r#""precision":"bf16""#), "{json}");
        assert_ne!(trial_hash(&bf16), trial_hash(&config()));
        // The stored config (plain serde) does name f32, so a reader sees what ran.
        let stored = serde_json::to_value(config()).unwrap();
        assert_eq!(stored["train"]["precision"], "f32");
    }

    #[test]
    fn stem_channels_enter_the_hash_only_when_they_differ_from_2k() {
        // Unset (every store written before the key) and written as 2k: the same network,
        // the same trial, the pinned hash above.
        let mut explicit = config();
        explicit.model.stem_channels = Some(24);
        assert_eq!(trial_hash(&explicit), "9900e7f4d227b523");
        let mut sixteen = config();
        sixteen.model.stem_channels = Some(16);
        let json = canonical_config_json(&sixteen);
        assert!(json.contains(r#""stem_channels":16"#), "{json}");
        assert_ne!(trial_hash(&sixteen), trial_hash(&config()));
        // 24 is 2k only for k = 12: with k = 8 it is a wider stem than the default.
        let mut wide = config();
        wide.model.growth_rate = 8;
        let narrow = trial_hash(&wide);
        wide.model.stem_channels = Some(24);
        assert_ne!(trial_hash(&wide), narrow);
    }

    #[test]
    fn init_enters_the_hash_only_when_it_is_not_the_default() {
        // he_normal is what every store before the key drew: the pinned hash above.
        assert_eq!(trial_hash(&config()), "9900e7f4d227b523");
        let mut hashes = std::collections::BTreeSet::new();
        for init in Init::ALL {
            let mut c = config();
            c.model.init = init;
            let json = canonical_config_json(&c);
            let named = json.contains(&format!(r#""init":"{}""#, init.name()));
            assert_eq!(named, !init.is_default(), "{json}");
            hashes.insert(trial_hash(&c));
        }
        assert_eq!(hashes.len(), Init::ALL.len(), "each rule is its own trial");
        // The stored config (plain serde) names the rule, so `show` prints what ran.
        let stored = serde_json::to_value(config()).unwrap();
        assert_eq!(stored["model"]["init"], "he_normal");
        // A config stored before the key reads back as he_normal.
        let mut old = stored.clone();
        old["model"].as_object_mut().unwrap().remove("init");
        let read: TrialConfig = serde_json::from_value(old).unwrap();
        assert_eq!(read.model.init, Init::HeNormal);
    }

    #[test]
    fn equal_configs_hash_equal_and_any_change_changes_the_hash() {
        let a = config();
        assert_eq!(trial_hash(&a), trial_hash(&a.clone()));
        assert_eq!(trial_hash(&a).len(), 16);
        let mut b = a.clone();
        b.train.seed = 2;
        assert_ne!(trial_hash(&a), trial_hash(&b));
    }
}
