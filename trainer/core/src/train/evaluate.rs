//! From data to what the model reads (early fusion's concatenation, the modality specs) and
//! from the model back to scores.

use super::config::Fusion;
use super::driver::score_probs;
use super::ensemble::Ensemble;
use super::tensors::DataTensors;
use crate::data::MultimodalDataset;
use crate::error::Result;
use crate::metrics::Metrics;
use crate::model::ModalitySpec;

/// The fused view the model reads (early fusion concatenates; the others keep the modalities).
pub fn fused(ds: &MultimodalDataset, fusion: Fusion) -> MultimodalDataset {
    match fusion {
        Fusion::Early => ds.concatenated(),
        Fusion::Poe | Fusion::Late => ds.clone(),
    }
}

/// Each modality's name, width and kind, as the model spec records them.
pub(crate) fn modality_specs(ds: &MultimodalDataset) -> Vec<ModalitySpec> {
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
