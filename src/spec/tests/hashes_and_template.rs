//! Hashes and template.

use super::*;

#[test]
fn trial_hashes_are_stable_and_distinct_per_trial() {
    let trials = ok(&with(VALID, "repeats = 1", "repeats = 3")).trials();
    let again = ok(&with(VALID, "repeats = 1", "repeats = 3")).trials();
    let hashes: Vec<_> = trials.iter().map(|t| t.hash.clone()).collect();
    assert_eq!(
        hashes,
        again.iter().map(|t| t.hash.clone()).collect::<Vec<_>>()
    );
    let mut unique = hashes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 24);
    assert!(
        hashes
            .iter()
            .all(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    );
    // Pinned: a change of the canonical form or of defaults shows up here.
    assert_eq!(ok(MIN).trials()[0].hash, "e4406e87bfb0adbb");
}

#[test]
fn identical_configs_hash_equal_however_they_are_written() {
    let spelled_out = format!(
        "# comment\n{}",
        with(
            MIN,
            "blocks = [4, 4, 4]",
            "dropout = 0.0\nblocks = [ 4,4,4 ]\nstem = \"imagenet\"\nbottleneck = true\n\
             stem_channels = 24"
        )
    );
    assert_eq!(ok(&spelled_out).trials()[0].hash, ok(MIN).trials()[0].hash);
    let swept = format!("{MIN}[sweep.axes]\n\"model.growth_rate\" = [12, 24]\n");
    assert_eq!(ok(&swept).trials()[0].hash, ok(MIN).trials()[0].hash);
    assert_ne!(ok(&swept).trials()[1].hash, ok(MIN).trials()[0].hash);
}

#[test]
fn the_template_parses_and_validates_after_substitution() {
    assert!(TEMPLATE.contains("name = \"{name}\""));
    let text = render_template("my-first.sweep");
    let e = ok(&text);
    assert_eq!(e.name, "my-first.sweep");
    assert_eq!(e.trials().len(), 4);
}

#[test]
fn precision_defaults_to_f32_and_sweeps_without_changing_f32_hashes() {
    let plain = ok(MIN);
    assert_eq!(plain.base.train.precision, Precision::F32);
    // Naming the default changes nothing, not even the hash a store knows the trial by.
    let explicit = ok(&format!("{MIN}precision = \"f32\"\n"));
    assert_eq!(explicit.trials()[0].hash, plain.trials()[0].hash);

    let swept = ok(&format!(
        "{MIN}[sweep]\nstrategy = \"grid\"\n[sweep.axes]\n\"train.precision\" = [\"f32\", \"bf16\"]\n"
    ));
    let trials = swept.trials();
    let precisions: Vec<Precision> = trials.iter().map(|t| t.config.train.precision).collect();
    assert_eq!(precisions, [Precision::F32, Precision::Bf16]);
    assert_eq!(trials[0].hash, plain.trials()[0].hash);
    assert_ne!(trials[1].hash, trials[0].hash);

    let (line, column, key, message) = one_error(&format!("{MIN}precision = \"fp16\"\n"));
    assert_eq!((line, column, key.as_str()), (11, 13, "train.precision"));
    assert_eq!(message, "expected one of \"f32\", \"bf16\", found \"fp16\"");
}

#[test]
fn init_defaults_to_he_normal_sweeps_and_keeps_he_normal_hashes() {
    let plain = ok(MIN);
    assert_eq!(plain.base.model.init, Init::HeNormal);
    let explicit = ok(&with(
        MIN,
        "blocks = [4, 4, 4]",
        "blocks = [4, 4, 4]\ninit = \"he_normal\"",
    ));
    assert_eq!(explicit.trials()[0].hash, plain.trials()[0].hash);

    let swept = ok(&format!(
        "{MIN}[sweep]\nstrategy = \"grid\"\n[sweep.axes]\n\"model.init\" = \
         [\"he_normal\", \"he_normal_fan_out\", \"glorot_uniform\", \"torch_default\"]\n"
    ));
    let trials = swept.trials();
    let inits: Vec<Init> = trials.iter().map(|t| t.config.model.init).collect();
    assert_eq!(inits, Init::ALL);
    assert_eq!(trials[0].hash, plain.trials()[0].hash);
    let mut hashes: Vec<&str> = trials.iter().map(|t| t.hash.as_str()).collect();
    hashes.dedup();
    assert_eq!(hashes.len(), 4);

    let (line, column, key, message) = one_error(&with(
        MIN,
        "blocks = [4, 4, 4]",
        "blocks = [4, 4, 4]\ninit = \"xavier\"",
    ));
    assert_eq!((line, column, key.as_str()), (7, 8, "model.init"));
    assert_eq!(
        message,
        "expected one of \"he_normal\", \"he_normal_fan_out\", \"glorot_uniform\", \
         \"torch_default\", found \"xavier\""
    );
}
