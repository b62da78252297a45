//! Per-modality input transforms: the preprocessing the model was trained with, fitted on the
//! training split only and kept with the data so that the runtime can apply it to raw inputs.

use super::{ModalityKind, MultimodalDataset};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The transform applied to one modality's raw values before they reach a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum InputTransform {
    /// `x * factor` (pixels: `1/255`, mapping 0..=255 to [0, 1]).
    Scale {
        /// The multiplier.
        factor: f32,
    },
    /// `(x - mean) / std`, per feature, with training statistics.
    Standardize {
        /// Per-feature mean over the observed training rows.
        mean: Vec<f32>,
        /// Per-feature population standard deviation; features that are constant in training get
        /// 1 so they map to 0 instead of dividing by zero.
        std: Vec<f32>,
    },
}

impl InputTransform {
    /// Applies the transform to one raw sample in place.
    pub fn apply(&self, x: &mut [f32]) {
        match self {
            InputTransform::Scale { factor } => x.iter_mut().for_each(|v| *v *= factor),
            InputTransform::Standardize { mean, std } => {
                for ((v, m), s) in x.iter_mut().zip(mean).zip(std) {
                    *v = (*v - m) / s;
                }
            }
        }
    }
}

/// Below this a feature is treated as constant.
const MIN_STD: f64 = 1e-8;

/// Fits one transform per modality on `train` (observed rows only, labeled and unlabeled alike):
/// pixels are scaled to [0, 1]; tabular features are standardised with the training mean and
/// population standard deviation, computed in f64.
pub fn fit_transforms(train: &MultimodalDataset) -> Vec<InputTransform> {
    train
        .modalities()
        .iter()
        .map(|m| match m.kind() {
            ModalityKind::Pixels => InputTransform::Scale {
                factor: 1.0 / 255.0,
            },
            ModalityKind::Tabular => {
                let d = m.dim();
                let mut sum = vec![0f64; d];
                let mut sum_sq = vec![0f64; d];
                let mut count = 0usize;
                for (row, &present) in m.data().rows().into_iter().zip(m.present()) {
                    if !present {
                        continue;
                    }
                    count += 1;
                    for (j, &v) in row.iter().enumerate() {
                        sum[j] += f64::from(v);
                        sum_sq[j] += f64::from(v) * f64::from(v);
                    }
                }
                let count = count.max(1) as f64;
                let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
                let std = sum_sq
                    .iter()
                    .zip(&mean)
                    .map(|(sq, mu)| {
                        let var = (sq / count - mu * mu).max(0.0);
                        let s = var.sqrt();
                        if s < MIN_STD {
                            1.0
                        } else {
                            s as f32
                        }
                    })
                    .collect();
                InputTransform::Standardize {
                    mean: mean.into_iter().map(|v| v as f32).collect(),
                    std,
                }
            }
        })
        .collect()
}

impl MultimodalDataset {
    /// Applies `transforms` (one per modality, as from [`fit_transforms`]) to every observed row.
    /// Missing rows stay zero. A transform list of another length, or a standardisation of
    /// another width, belongs to other data: that is an error naming both shapes, not a panic.
    pub fn apply_transforms(&mut self, transforms: &[InputTransform]) -> Result<()> {
        if transforms.len() != self.modalities().len() {
            return Err(Error::ModalityMismatch(format!(
                "the transforms are for {} modalities, the data has {} ([{}])",
                transforms.len(),
                self.modalities().len(),
                self.modality_names().join(", ")
            )));
        }
        for (m, t) in self.modalities().iter().zip(transforms) {
            if let InputTransform::Standardize { mean, .. } = t {
                if mean.len() != m.dim() {
                    return Err(Error::ModalityMismatch(format!(
                        "modality `{}` has {} features, its transform was fitted on {}",
                        m.name(),
                        m.dim(),
                        mean.len()
                    )));
                }
            }
        }
        for (m, t) in self.modalities_mut().iter_mut().zip(transforms) {
            let present = m.present().to_vec();
            for (mut row, p) in m.data_mut().rows_mut().into_iter().zip(present) {
                if p {
                    match row.as_slice_mut() {
                        Some(values) => t.apply(values),
                        // Not reached for arrays built here (standard layout), but a strided
                        // row is still transformed correctly rather than rejected.
                        None => {
                            let mut values = row.to_vec();
                            t.apply(&mut values);
                            row.iter_mut().zip(values).for_each(|(v, x)| *v = x);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Modality;
    use ndarray::array;

    #[test]
    fn standardize_uses_observed_training_rows_only() {
        let data = array![[1.0f32, 5.0], [3.0, 5.0], [100.0, 100.0]];
        let m = Modality::with_mask("t", ModalityKind::Tabular, data, vec![true, true, false]);
        let p = Modality::new("p", ModalityKind::Pixels, array![[255.0f32], [0.0], [51.0]]);
        let mut ds =
            MultimodalDataset::new(vec![m, p], vec![Some(0), None, Some(0)], vec!["a".into()])
                .unwrap();
        let t = fit_transforms(&ds);
        assert_eq!(
            t[0],
            InputTransform::Standardize {
                mean: vec![2.0, 5.0],
                std: vec![1.0, 1.0] // second feature is constant: std 1, not 0
            }
        );
        ds.apply_transforms(&t).unwrap();
        let d = ds.modalities()[0].data();
        assert_eq!(d.row(0).to_vec(), vec![-1.0, 0.0]);
        assert_eq!(d.row(1).to_vec(), vec![1.0, 0.0]);
        assert_eq!(d.row(2).to_vec(), vec![0.0, 0.0], "missing rows stay zero");
        let p = ds.modalities()[1].data();
        assert!((p[[2, 0]] - 0.2).abs() < 1e-7);
        assert_eq!(p[[0, 0]], 1.0);
    }
}
