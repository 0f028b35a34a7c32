//! State of the Detail view: the run shown and the scroll.

use crate::store::{RunRow, WhereRan};

#[derive(Debug, Clone, Default)]
pub struct DetailState {
    pub run: Option<RunRow>,
    /// Where the run ran, when a Slurm job array trained it.
    pub ran: Option<WhereRan>,
    pub scroll: usize,
}
