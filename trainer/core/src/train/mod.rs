//! Training: the shared epoch driver ([`driver`]) and SSMVAE-CI's learner on it ([`mod@fit`]),
//! model selection on an optional validation split, per-epoch logs and checkpoints, evaluation
//! and prediction ([`trained`]). The model and its objective live in [`crate::model`] and
//! [`crate::objective`]; this module only drives them.

pub mod adam;
pub mod checkpoint;
pub mod config;
pub mod driver;
pub mod ensemble;
pub mod evaluate;
pub mod fit;
pub mod self_training;
pub mod step;
pub mod tensors;
pub mod trained;

pub use crate::objective::StepTerms;
pub use driver::{
    epoch_rng, score_probs, EpochRecord, Guard, Outcome, Prepared, Selection, TrainOptions,
};
pub use evaluate::{evaluate, fused};
pub use fit::fit;
pub use trained::TrainedModel;
