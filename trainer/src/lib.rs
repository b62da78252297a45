//! The training side of ssmvae: reads multimodal data, draws the paper's class-imbalanced
//! semi-supervised splits, learns SSMVAE-CI (and its ablations and baselines, which are
//! configurations of the same code) with libtorch, and scores predictions the way the paper does.
//!
//! Data flows one way: [`data`] (readers → [`data::MultimodalDataset`]) → [`protocol`]
//! (long-tailed, partly labeled [`protocol::Split`]s) → [`model`] + [`objective`] → [`train`]
//! (loop, checkpoints, evaluation) → [`metrics`].
#![forbid(unsafe_code)]

pub mod baselines;
pub mod bench;
pub mod data;
pub mod error;
pub mod export;
pub mod metrics;
pub mod model;
pub mod objective;
pub mod protocol;
pub mod testing;
pub mod train;

pub use error::{Error, Result};
