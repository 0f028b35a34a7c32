//! State of the Table view: the experiment, its row and column axes, the metric, scroll.

use super::App;

#[derive(Debug, Clone, Default)]
pub struct TableState {
    /// Index into `App::experiments`.
    pub experiment: usize,
    pub row_axis: usize,
    /// Index into the axes, or `axes.len()` for "no column axis".
    pub col_axis: usize,
    /// Final instead of best test accuracy.
    pub final_acc: bool,
    pub scroll: usize,
}

impl App {
    /// The axes of the table view's experiment.
    pub fn table_axes(&self) -> &[String] {
        self.experiments
            .get(self.table.experiment)
            .map_or(&[], |e| e.axes.as_slice())
    }
}
