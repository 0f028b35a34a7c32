//! Charts of a sweep's metrics, exported as PNG or SVG.
//!
//! `select` turns store rows into a [`Chart`] (one series per run), `render` draws any
//! chart with plotters. The font is compiled in (`font`), so export works on machines
//! without system fonts, and output is deterministic: the same store and size give the
//! same bytes, which keeps charts diffable and testable.

mod axis;
mod chart;
mod error;
mod font;
mod metric;
mod render;
mod select;
mod style;

#[cfg(test)]
mod tests;

use std::path::Path;

use crate::store::Store;

pub use chart::{Chart, ImageFormat, Series};
pub use error::PlotError;
pub use metric::MetricKind;
pub use render::write_chart;
pub use select::chart_for;

pub(crate) use render::{MAX_SIDE, MIN_SIZE};

/// Draws `metric` for the runs of `experiment` (all that have data, or the listed ones)
/// into `out`, PNG or SVG by its extension.
pub fn export(
    store: &Store,
    experiment: &str,
    runs: Option<&[i64]>,
    metric: MetricKind,
    out: &Path,
    width: u32,
    height: u32,
) -> Result<(), PlotError> {
    // Check the file name first: a typo there should not wait for the store queries.
    ImageFormat::from_path(out)?;
    let chart = chart_for(store, experiment, runs, metric)?;
    write_chart(&chart, out, width, height)
}
