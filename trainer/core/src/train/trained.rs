//! A trained model read back from its checkpoint: the networks, the data transforms and the
//! modality layout it was trained with, ready to evaluate or predict on raw data.

use super::checkpoint::{self, CheckpointMeta};
use super::ensemble::Ensemble;
use super::evaluate::fused;
use super::tensors::DataTensors;
use crate::data::MultimodalDataset;
use crate::error::{Error, Result};
use std::path::Path;
use tch::Kind;

/// A trained model read back from a checkpoint, ready to predict on raw data.
pub struct TrainedModel {
    /// The networks with the checkpoint's weights.
    pub ensemble: Ensemble,
    /// The checkpoint's metadata.
    pub meta: CheckpointMeta,
    /// The checkpoint file (named in errors).
    pub path: std::path::PathBuf,
}

impl TrainedModel {
    /// Loads a checkpoint on the CPU.
    pub fn load(path: &Path) -> Result<Self> {
        let loaded = checkpoint::load(path)?;
        let ensemble = Ensemble::new(loaded.meta.ensemble.clone(), tch::Device::Cpu);
        loaded.restore(path, &ensemble, None)?;
        Ok(TrainedModel {
            ensemble,
            meta: loaded.meta,
            path: path.to_path_buf(),
        })
    }

    /// What a study manifest read for this model must match: its class names and each modality's
    /// feature names. A model trained on unnamed features (arrays, images) has none to match.
    pub fn study_schema(&self) -> Result<crate::data::study::StudySchema> {
        if self.meta.feature_names.len() != self.meta.modality_names.len() {
            return Err(Error::Checkpoint {
                path: self.path.clone(),
                message: "trained on data without feature names (not a study manifest): give \
                          the inputs as an .npz with its modalities"
                    .into(),
            });
        }
        Ok(crate::data::study::StudySchema {
            class_names: self.meta.class_names.clone(),
            modalities: self
                .meta
                .modality_names
                .iter()
                .cloned()
                .zip(self.meta.feature_names.iter().cloned())
                .collect(),
        })
    }

    /// Checks that `raw` has the checkpoint's modalities, by name, order and width; `what` names
    /// the data in the error ("dataset `mfeat`", "inputs.npz").
    pub fn check_modalities(&self, raw: &MultimodalDataset, what: &str) -> Result<()> {
        let bad = |message: String| Error::Checkpoint {
            path: self.path.clone(),
            message,
        };
        let names = raw.modality_names();
        if names != self.meta.modality_names {
            return Err(bad(format!(
                "trained on modalities [{}]; {what} has [{}]: use data with the modalities it was trained on",
                self.meta.modality_names.join(", "),
                names.join(", ")
            )));
        }
        for (m, &d) in raw.modalities().iter().zip(&self.meta.modality_dims) {
            if m.dim() != d {
                return Err(bad(format!(
                    "modality `{}` had {d} features in training; {what} gives it {}",
                    m.name(),
                    m.dim()
                )));
            }
        }
        // Named data (a study) must name what the model was trained on, in its order: the same
        // widths in another order would be scored silently misaligned.
        for (m, trained) in raw.modalities().iter().zip(&self.meta.feature_names) {
            if !m.feature_names().is_empty() && m.feature_names() != trained.as_slice() {
                return Err(bad(format!(
                    "modality `{}`: {what} names its features differently from training (read it with the training study's feature order, or retrain)",
                    m.name()
                )));
            }
        }
        let named = raw
            .modalities()
            .iter()
            .any(|m| !m.feature_names().is_empty());
        if named
            && !self.meta.feature_names.is_empty()
            && raw.class_names() != self.meta.class_names
        {
            return Err(bad(format!(
                "trained on classes [{}]; {what} has [{}]",
                self.meta.class_names.join(", "),
                raw.class_names().join(", ")
            )));
        }
        Ok(())
    }

    /// Completes prediction inputs: a modality of the checkpoint that `raw` lacks entirely is
    /// added as missing for every row (the PoE leaves its expert out), and the modalities are put
    /// in the checkpoint's order. A modality the checkpoint does not know is an error, never
    /// silently ignored.
    pub fn complete_inputs(&self, raw: MultimodalDataset, what: &str) -> Result<MultimodalDataset> {
        let mut ds = raw;
        if let Some(extra) = ds
            .modality_names()
            .into_iter()
            .find(|n| !self.meta.modality_names.contains(n))
        {
            return Err(Error::Checkpoint {
                path: self.path.clone(),
                message: format!(
                    "{what} has modality `{extra}`, but the model was trained on [{}]",
                    self.meta.modality_names.join(", ")
                ),
            });
        }
        let have = ds.modality_names();
        for (name, &dim) in self
            .meta
            .modality_names
            .iter()
            .zip(&self.meta.modality_dims)
        {
            if !have.contains(name) {
                ds.add_absent_modality(name, crate::data::ModalityKind::Tabular, dim)?;
            }
        }
        ds.reorder_modalities(&self.meta.modality_names)?;
        Ok(ds)
    }

    /// A raw (untransformed) dataset as the model's input tensors: modalities checked against the
    /// checkpoint's by name and dimension, the checkpoint's transforms applied, fused as trained.
    pub fn tensors(&self, raw: &MultimodalDataset) -> Result<DataTensors> {
        self.check_modalities(raw, "the data")?;
        let mut ds = raw.clone();
        ds.apply_transforms(&self.meta.transforms)?;
        let ds = fused(&ds, self.meta.ensemble.fusion);
        Ok(DataTensors::new(&ds, tch::Device::Cpu))
    }

    /// Class probabilities (N×K, f32) for a raw (untransformed) dataset whose modalities match
    /// the checkpoint's by name and dimension.
    pub fn predict(&self, raw: &MultimodalDataset) -> Result<Vec<Vec<f32>>> {
        let data = self.tensors(raw)?;
        let probs = self.ensemble.predict_probs(&data).to_kind(Kind::Float);
        Ok(Vec::<Vec<f32>>::try_from(probs)?)
    }
}
