//! Statistics the reports need beyond a distribution library: Student-t inference over the
//! seeds of a sweep point (`ttest`) and the importance of sweep axes by fANOVA (`fanova`).
//! Pure functions of numbers; `report` turns runs into their inputs.

pub mod fanova;
pub mod ttest;
