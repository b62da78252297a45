//! The training side of ssmvae: reads multimodal data, draws the paper's class-imbalanced
//! semi-supervised splits, and scores predictions the way the paper does.
//!
//! Data flows one way: [`data`] (readers → [`data::MultimodalDataset`]) → [`protocol`] (long-tailed,
//! partly labeled [`protocol::Split`]s) → the model (not implemented yet) → [`metrics`].
//! The crate links libtorch through tch for the model; nothing here uses it yet.
#![forbid(unsafe_code)]

pub mod data;
pub mod error;
pub mod metrics;
pub mod protocol;
pub mod testing;

pub use error::{Error, Result};
