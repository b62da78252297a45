//! The training side of ssmvae: reads multimodal data, draws the paper's class-imbalanced
//! semi-supervised splits, learns SSMVAE-CI (and its ablations and baselines, which are
//! configurations of the same code) with libtorch, and scores predictions the way the paper does.
//!
//! Data flows one way: [`data`] (readers → [`data::MultimodalDataset`]) → [`protocol`]
//! (long-tailed, partly labeled [`protocol::Split`]s) → [`model`] + [`objective`] → [`train`]
//! (loop, checkpoints, evaluation) → [`metrics`].
#![forbid(unsafe_code)]

#[macro_use]
mod keyword;

pub mod augment;
pub mod baselines;
pub mod bench;
pub mod error;
pub mod export;
pub mod metrics;
pub mod model;
pub mod objective;
pub mod protocol;
pub mod run;
/// Helpers for tests that read `shared/data` (they live with the data layer).
pub use ssmvae_data::testing;
pub mod train;

pub use error::{DataError, Error, Result};
/// The data layer (its own crate, `ssmvae-data`, free of libtorch).
pub use ssmvae_data as data;
