//! The training side of ssmvae: reads multimodal data, draws the paper's class-imbalanced
//! semi-supervised splits, learns SSMVAE-CI (and its ablations and baselines, which are
//! configurations of the same code) with libtorch, and scores predictions the way the paper does.
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

/// libtorch's random generator is global to a process and the test harness runs tests on several
/// threads: every unit test that draws from it, or needs a run to repeat exactly, holds this.
#[cfg(test)]
pub(crate) fn torch_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

pub use error::{DataError, Error, Result};
/// The data layer (its own crate, `ssmvae-data`, free of libtorch).
pub use ssmvae_data as data;
