//! One error type for charts. Messages name the file, experiment or run involved because
//! the CLI prints them verbatim.

use std::path::PathBuf;

use crate::store::StoreError;

/// Everything charting can fail with; see [`PlotError::is_bad_input`].
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{}: unsupported image format (the file name must end in .png or .svg)", path.display())]
    UnknownFormat { path: PathBuf },

    #[error("unknown metric {name:?}; valid metrics: {valid}")]
    UnknownMetric { name: String, valid: String },

    #[error("no experiment named {name:?} in the store{}", known_list(.known))]
    UnknownExperiment { name: String, known: Vec<String> },

    #[error("experiment {experiment:?} has no {} (its runs: {})", runs_named(.missing), id_list(.available))]
    RunsNotInExperiment {
        experiment: String,
        missing: Vec<i64>,
        available: Vec<i64>,
    },

    #[error("experiment {experiment:?}: no {metric} values logged yet for {runs}")]
    NoData {
        experiment: String,
        metric: String,
        /// "any of its 3 runs", "run 4" or "runs 4, 7".
        runs: String,
    },

    #[error("chart {title:?} has no finite data points to draw")]
    EmptyChart { title: String },

    #[error("{}: image size {width}x{height} is outside {min_w}x{min_h} ..= {max}x{max}", path.display(), min_w = super::MIN_SIZE.0, min_h = super::MIN_SIZE.1, max = super::MAX_SIDE)]
    BadSize {
        path: PathBuf,
        width: u32,
        height: u32,
    },

    #[error("the embedded chart font could not be loaded")]
    Font,

    #[error("{}: drawing the chart failed: {message}", path.display())]
    Render { path: PathBuf, message: String },

    #[error("{}: encoding PNG failed: {source}", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: png::EncodingError,
    },

    #[error("{}: cannot write chart: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PlotError {
    /// Whether the user asked for something that cannot be drawn (bad name, id, size or file
    /// extension, nothing logged yet) rather than the program failing: the CLI exits 2.
    pub fn is_bad_input(&self) -> bool {
        match self {
            PlotError::UnknownFormat { .. }
            | PlotError::UnknownMetric { .. }
            | PlotError::UnknownExperiment { .. }
            | PlotError::RunsNotInExperiment { .. }
            | PlotError::NoData { .. }
            | PlotError::EmptyChart { .. }
            | PlotError::BadSize { .. } => true,
            PlotError::Store(e) => e.is_bad_input(),
            PlotError::Font
            | PlotError::Render { .. }
            | PlotError::Encode { .. }
            | PlotError::Write { .. } => false,
        }
    }
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (it has no experiments yet)".into()
    } else {
        format!(" (known: {})", known.join(", "))
    }
}

/// `run 3` or `runs 3, 5, 9`.
pub(crate) fn runs_named(ids: &[i64]) -> String {
    let noun = if ids.len() == 1 { "run" } else { "runs" };
    format!("{noun} {}", id_list(ids))
}

/// `3, 5, 9`; long lists keep their ends: `1, 2, 3, …, 40 (40 runs)`.
fn id_list(ids: &[i64]) -> String {
    const SHOWN: usize = 12;
    if ids.is_empty() {
        return "none".into();
    }
    let join = |s: &[i64]| s.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    if ids.len() <= SHOWN {
        join(ids)
    } else {
        format!(
            "{}, …, {} ({} runs)",
            join(&ids[..SHOWN - 1]),
            ids[ids.len() - 1],
            ids.len()
        )
    }
}
