//! densenet-lab: DenseNet sweeps from TOML files, trained with burn, logged to SQLite.
//!
//! Data flow: `spec` (experiment file -> validated trials) -> `runner` (store rows, scheduling)
//! -> `train` (burn, with `model`) -> `store` (SQLite) <- `cli` (tables, queries). Only `model`
//! and `train` name burn. `search` holds the adaptive sweep's decisions (ASHA, the median
//! rule, TPE) as pure functions the runner asks.

pub mod cli;
pub mod data;
pub mod devices;
pub mod estimate;
pub mod model;
pub mod plot;
#[doc(hidden)]
pub mod preconditions;
pub mod report;
pub mod rng;
pub mod runner;
pub mod search;
pub mod spec;
pub mod stats;
pub mod store;
pub mod train;
pub mod tui;
