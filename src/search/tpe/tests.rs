use serde_json::{Value, json};

use super::*;

fn axes() -> Vec<Axis> {
    vec![
        Axis {
            key: "model.dropout".into(),
            domain: Domain::Uniform {
                low: 0.0,
                high: 1.0,
            },
        },
        Axis {
            key: "train.optimizer.lr".into(),
            domain: Domain::LogUniform {
                low: 1e-4,
                high: 1e-1,
            },
        },
        Axis {
            key: "model.growth_rate".into(),
            domain: Domain::Int { low: 4, high: 40 },
        },
        Axis {
            key: "model.bottleneck".into(),
            domain: Domain::Choice(vec![json!(false), json!(true)]),
        },
    ]
}

/// A cheap objective with its optimum inside the space: dropout 0.73, lr 10^-2.2, growth 30,
/// bottleneck on.
fn objective(p: &[Value]) -> f64 {
    let x = p[0].as_f64().unwrap();
    let lr = p[1].as_f64().unwrap();
    let k = p[2].as_i64().unwrap() as f64;
    let b = p[3].as_bool().unwrap();
    -10.0 * (x - 0.73).powi(2)
        - (lr.log10() + 2.2).powi(2)
        - ((k - 30.0) / 10.0).powi(2)
        - if b { 0.0 } else { 0.5 }
}

/// The best value after `n` trials of a sequential sweep (a mocked trial runner): the first
/// `startup` drawn at random, then TPE's proposals (or random all along).
fn best_after(n: usize, startup: usize, seed: u64, use_tpe: bool) -> f64 {
    let axes = axes();
    let mut seen: Vec<Observation> = Vec::new();
    for point in 0..n {
        let params = if use_tpe && point >= startup {
            propose(&axes, &seen, &[], seed, point, 0)
        } else {
            let mut rng = SplitMix64::derived(seed, &[7, point as u64]);
            axes.iter().map(|a| a.domain.sample(&mut rng)).collect()
        };
        let score = objective(&params);
        seen.push(Observation {
            params,
            epochs: 1,
            score,
        });
    }
    seen.iter().map(|o| o.score).fold(f64::MIN, f64::max)
}

#[test]
fn gamma_is_a_tenth_rounded_up_at_most_25() {
    assert_eq!(gamma(1), 1);
    assert_eq!(gamma(10), 1);
    assert_eq!(gamma(11), 2);
    assert_eq!(gamma(1000), 25);
}

#[test]
fn proposals_are_deterministic_from_seed_history_and_point() {
    let history: Vec<Observation> = (0..12)
        .map(|i| {
            let mut rng = SplitMix64::new(i);
            let params: Vec<Value> = axes().iter().map(|a| a.domain.sample(&mut rng)).collect();
            let score = objective(&params);
            Observation {
                params,
                epochs: 1,
                score,
            }
        })
        .collect();
    let a = propose(&axes(), &history, &[], 7, 12, 0);
    assert_eq!(a, propose(&axes(), &history, &[], 7, 12, 0));
    assert_ne!(a, propose(&axes(), &history, &[], 8, 12, 0));
    assert_ne!(a, propose(&axes(), &history, &[], 7, 12, 1));
    // Every proposed value lies in its domain.
    for (axis, v) in axes().iter().zip(&a) {
        let (low, high) = axis.domain.bounds();
        let p = axis.domain.position(v).unwrap();
        assert!(
            (low - 1e-9..=high + 1e-9).contains(&p),
            "{v} outside {low}..{high}"
        );
    }
}

#[test]
fn pending_trials_count_as_bad_so_parallel_slots_get_other_proposals() {
    let axis = vec![Axis {
        key: "model.bottleneck".into(),
        domain: Domain::Choice(vec![json!("a"), json!("b")]),
    }];
    // The best trials all chose "a".
    let history: Vec<Observation> = (0..10)
        .map(|i| Observation {
            params: vec![json!(if i < 3 { "a" } else { "b" })],
            epochs: 1,
            score: if i < 3 { 1.0 } else { 0.0 },
        })
        .collect();
    assert_eq!(propose(&axis, &history, &[], 1, 10, 0), vec![json!("a")]);
    // With "a" already training in many slots, the liar's bad group is full of "a".
    let pending = vec![vec![json!("a")]; 30];
    assert_eq!(
        propose(&axis, &history, &pending, 1, 10, 0),
        vec![json!("b")]
    );
}

#[test]
fn pruned_trials_rank_below_those_that_went_further() {
    let axis = vec![Axis {
        key: "model.bottleneck".into(),
        domain: Domain::Choice(vec![json!("a"), json!("b")]),
    }];
    // "b" scored higher, but only at its first epoch before it was pruned; "a" reached the end.
    let mut history = vec![Observation {
        params: vec![json!("a")],
        epochs: 9,
        score: 0.5,
    }];
    history.extend((0..9).map(|_| Observation {
        params: vec![json!("b")],
        epochs: 1,
        score: 0.9,
    }));
    assert_eq!(propose(&axis, &history, &[], 3, 10, 0), vec![json!("a")]);
}

#[test]
fn tpe_beats_random_sampling_on_a_synthetic_objective() {
    let seeds = 0..24u64;
    let (mut tpe, mut random, mut wins) = (0.0, 0.0, 0);
    for seed in seeds.clone() {
        let t = best_after(40, 10, seed, true);
        let r = best_after(40, 10, seed, false);
        tpe += t;
        random += r;
        wins += usize::from(t > r);
    }
    let n = seeds.count() as f64;
    let (tpe, random) = (tpe / n, random / n);
    assert!(
        tpe > random && wins as f64 >= 0.6 * n,
        "mean best: tpe {tpe:.4}, random {random:.4}; tpe better in {wins} of {n} seeds"
    );
}
