//! Training: the shared epoch driver ([`driver`]) and SSMVAE-CI's learner on it ([`mod@fit`]),
//! model selection on an optional validation split, per-epoch logs and checkpoints, evaluation
//! and prediction ([`trained`]). The model and its objective live in [`crate::model`] and
//! [`crate::objective`]; this module only drives them.

pub mod adam;
pub mod checkpoint;
pub mod config;
pub mod driver;
pub mod ensemble;
pub mod fit;
pub mod self_training;
pub mod tensors;
pub mod trained;

pub use crate::objective::StepTerms;
pub use driver::{
    epoch_rng, score_probs, EpochRecord, Guard, Outcome, Prepared, Selection, TrainOptions,
};
pub use fit::fit;
pub use trained::TrainedModel;

use crate::data::MultimodalDataset;
use crate::error::Result;
use crate::metrics::Metrics;
use crate::model::ModalitySpec;
use config::Fusion;
use ensemble::Ensemble;
use tensors::DataTensors;

/// The fused view the model reads (early fusion concatenates; the others keep the modalities).
pub fn fused(ds: &MultimodalDataset, fusion: Fusion) -> MultimodalDataset {
    match fusion {
        Fusion::Early => ds.concatenated(),
        Fusion::Poe | Fusion::Late => ds.clone(),
    }
}

fn modality_specs(ds: &MultimodalDataset) -> Vec<ModalitySpec> {
    ds.modalities()
        .iter()
        .map(|m| ModalitySpec {
            name: m.name().to_string(),
            dim: m.dim(),
            kind: m.kind(),
        })
        .collect()
}

/// Scores of `ens` on `data` (all rows labeled).
pub fn evaluate(ens: &Ensemble, data: &DataTensors, train_sizes: &[usize]) -> Result<Metrics> {
    score_probs(&ens.predict_probs(data), data, train_sizes)
}
