//! The `trainer` library the `ssmvae` CLI is built on: one run of SSMVAE-CI or a baseline
//! ([`run`]: prepare the split, pick the loop) and grids of runs with their reports ([`mod@bench`]),
//! with SSMVAE-CI's core (`ssmvae-core`) and the baselines (`ssmvae-baselines`) re-exported under
//! the paths the CLI and the tests have always used (`trainer::train`, `trainer::baselines`).
//!
//! The crates are the walls: `ssmvae-core` (data → protocol → model/objective → training →
//! export) knows neither the baselines nor this crate; `ssmvae-baselines` knows only the core;
//! nothing here depends on the runtime or the CLI (the `ssmvae` binary does).
#![forbid(unsafe_code)]

pub mod bench;
pub mod run;

pub use ssmvae_baselines as baselines;
pub use ssmvae_core::{
    augment, data, error, export, key, metrics, model, objective, protocol, testing, train,
    DataError, Error, Result,
};
