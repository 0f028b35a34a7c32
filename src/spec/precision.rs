//! Whether a file's precision fits the devices it will run on: known only once `run` or
//! `bench` has chosen the devices, so checked there, but reported like every other file error.

use super::location::Reporter;
use super::sweep::element_path;
use super::{Experiment, Precision, SpecError, Trial};

const KEY: &str = "train.precision";

impl Experiment {
    /// Refuses any precision of `trials` outside `accepted`, the precisions `device` computes,
    /// pointing at the value in the file that asked for it (the `[train]` key, or the axis
    /// element); `reason` says why the device refuses.
    pub fn check_precision_on(
        &self,
        trials: &[Trial],
        device: &str,
        accepted: &[Precision],
        reason: &str,
    ) -> Result<(), SpecError> {
        let mut rep = Reporter::new(&self.path, &self.source);
        let mut reported = Vec::new();
        for trial in trials
            .iter()
            .filter(|t| !accepted.contains(&t.config.train.precision))
        {
            let precision = trial.config.train.precision;
            let path = self
                .sweep
                .axes
                .iter()
                .find(|axis| axis.key == KEY)
                .and_then(|axis| {
                    let index = axis
                        .domain
                        .choices()?
                        .iter()
                        .position(|v| v == precision.name())?;
                    Some(element_path(KEY, index))
                })
                .unwrap_or_else(|| KEY.to_string());
            if !reported.contains(&path) {
                rep.at_value(&path, refusal(precision, device, reason));
                reported.push(path);
            }
        }
        rep.finish()
    }
}

fn refusal(precision: Precision, device: &str, reason: &str) -> String {
    format!(
        "\"{}\" cannot run on {device}: {reason}; use \"f32\" there, or --device cuda:N",
        precision.name()
    )
}
