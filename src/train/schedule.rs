//! Learning-rate schedules: a pure function of where the run is.

use crate::spec::Schedule;

/// Where in the run a step is: `epoch` is 0-based, `progress` in [0, 1) is the fraction of all
/// steps done before this one.
#[derive(Debug, Clone, Copy)]
pub struct RunPosition {
    pub epoch: usize,
    pub epochs: usize,
    pub progress: f64,
}

/// The learning rate for a step. `step` schedules change at epoch boundaries, as the reference
/// code does (epoch >= at * epochs); `cosine` anneals every step.
pub fn learning_rate(schedule: &Schedule, base_lr: f64, at: RunPosition) -> f64 {
    match schedule {
        Schedule::Constant => base_lr,
        Schedule::Step {
            at: milestones,
            factor,
        } => {
            let passed = milestones
                .iter()
                .filter(|&&m| at.epoch as f64 >= m * at.epochs as f64)
                .count();
            base_lr * factor.powi(passed as i32)
        }
        Schedule::Cosine { min_lr } => {
            let cos = (std::f64::consts::PI * at.progress.clamp(0.0, 1.0)).cos();
            min_lr + 0.5 * (base_lr - min_lr) * (1.0 + cos)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_epoch(epoch: usize, epochs: usize) -> RunPosition {
        RunPosition {
            epoch,
            epochs,
            progress: epoch as f64 / epochs as f64,
        }
    }

    #[test]
    fn step_schedule_divides_by_ten_at_half_and_three_quarters() {
        let s = Schedule::Step {
            at: vec![0.5, 0.75],
            factor: 0.1,
        };
        let lrs: Vec<f64> = (0..8)
            .map(|e| learning_rate(&s, 1.0, at_epoch(e, 8)))
            .collect();
        let expected = [1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.01, 0.01];
        for (got, want) in lrs.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{lrs:?}");
        }
    }

    #[test]
    fn cosine_starts_at_base_and_ends_at_min() {
        let s = Schedule::Cosine { min_lr: 0.01 };
        let lr = |p| {
            learning_rate(
                &s,
                0.1,
                RunPosition {
                    epoch: 0,
                    epochs: 1,
                    progress: p,
                },
            )
        };
        assert!((lr(0.0) - 0.1).abs() < 1e-12);
        assert!((lr(0.5) - 0.055).abs() < 1e-12);
        assert!((lr(1.0) - 0.01).abs() < 1e-12);
    }

    #[test]
    fn constant_never_changes() {
        assert_eq!(learning_rate(&Schedule::Constant, 0.3, at_epoch(7, 8)), 0.3);
    }
}
