//! SSMVAE-CI's core (libtorch): draws the paper's class-imbalanced semi-supervised splits of
//! multimodal data, learns SSMVAE-CI (and its ablations, which are configurations of the same
//! code), scores predictions the way the paper does and exports the runtime's bundle. The
//! baselines (`ssmvae-baselines`) and the runs and grids (`ssmvae-lab`) sit above it; it knows
//! neither, nor the CLI or the runtime.
//!
//! Data flows one way: [`data`] (readers → [`data::MultimodalDataset`]) → [`protocol`]
//! (long-tailed, partly labeled [`protocol::Split`]s) → [`model`] + [`objective`] → [`train`]
//! (loop, checkpoints, evaluation) → [`metrics`].
#![forbid(unsafe_code)]

#[macro_use]
pub mod key;
#[macro_use]
mod keyword;

pub mod augment;
pub mod error;
pub mod export;
pub mod metrics;
pub mod model;
pub mod objective;
pub mod protocol;
/// Helpers for tests that read `shared/data` (they live with the data layer).
pub use ssmvae_data::testing;
#[doc(hidden)]
pub mod torch_lock;
pub mod train;

pub use error::{DataError, Error, Result};
/// The data layer (its own crate, `ssmvae-data`, free of libtorch).
pub use ssmvae_data as data;
pub use torch_lock::torch_rng_lock;
