//! State of the Detail view: the run shown and the scroll.

use crate::store::RunRow;

#[derive(Debug, Clone, Default)]
pub struct DetailState {
    pub run: Option<RunRow>,
    pub scroll: usize,
}
