//! Whether a file's precision fits the devices it will run on: known only once `run` or
//! `bench` has chosen the devices, so checked there, but reported like every other file error.

use super::location::Reporter;
use super::sweep::element_path;
use super::{Experiment, Precision, SpecError, Trial};

const KEY: &str = "train.precision";

impl Experiment {
    /// Refuses `bf16` in any of `trials` on the CPU, pointing at the value in the file that
    /// asked for it (the `[train]` key, or the axis element).
    pub fn check_precision_on_cpu(&self, trials: &[Trial]) -> Result<(), SpecError> {
        let mut rep = Reporter::new(&self.path, &self.source);
        let mut reported = Vec::new();
        for trial in trials.iter().filter(|t| !t.config.train.precision.is_f32()) {
            let precision = trial.config.train.precision;
            let path = self
                .sweep
                .axes
                .iter()
                .find(|axis| axis.key == KEY)
                .and_then(|axis| {
                    let index = axis.values.iter().position(|v| v == precision.name())?;
                    Some(element_path(KEY, index))
                })
                .unwrap_or_else(|| KEY.to_string());
            if !reported.contains(&path) {
                rep.at_value(&path, cpu_message(precision));
                reported.push(path);
            }
        }
        rep.finish()
    }
}

fn cpu_message(precision: Precision) -> String {
    format!(
        "\"{}\" needs a CUDA device, and this run trains on the cpu: burn's CPU backend has no \
         {0} arithmetic (it would only round through f32, more slowly); use \"f32\" there, or \
         --device cuda:N",
        precision.name()
    )
}
