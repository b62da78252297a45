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
    /// `(ln(1 + max(x, 0)) - mean) / std`, per feature, the statistics those of `ln(1 + x)` on
    /// the training rows: count data (docs/model.md §11.3).
    Log1pStandardize {
        /// Per-feature mean of `ln(1 + x)` over the observed training rows.
        mean: Vec<f32>,
        /// Per-feature population standard deviation of `ln(1 + x)` (1 where constant).
        std: Vec<f32>,
    },
}

impl InputTransform {
    /// Applies the transform to one raw sample in place. The f32 operations are the runtime's
    /// (`format::archived::ArchivedInputTransform::apply`), in the same order, so the trainer
    /// and a bundle see the same inputs to the bit.
    pub fn apply(&self, x: &mut [f32]) {
        match self {
            InputTransform::Scale { factor } => x.iter_mut().for_each(|v| *v *= factor),
            InputTransform::Standardize { mean, std } => {
                for ((v, m), s) in x.iter_mut().zip(mean).zip(std) {
                    *v = (*v - m) / s;
                }
            }
            InputTransform::Log1pStandardize { mean, std } => {
                for ((v, m), s) in x.iter_mut().zip(mean).zip(std) {
                    *v = (libm::log1pf(v.max(0.0)) - m) / s;
                }
            }
        }
    }

    /// Maps one sample on the model's scale (a decoder mean) back to raw units in place: the
    /// inverse of [`Self::apply`], counts never below 0. The runtime's imputation
    /// (`ArchivedInputTransform::invert`) does the same f32 operations.
    pub fn invert(&self, x: &mut [f32]) {
        match self {
            InputTransform::Scale { factor } => x.iter_mut().for_each(|v| *v /= factor),
            InputTransform::Standardize { mean, std } => {
                for ((v, m), s) in x.iter_mut().zip(mean).zip(std) {
                    *v = *v * s + m;
                }
            }
            InputTransform::Log1pStandardize { mean, std } => {
                for ((v, m), s) in x.iter_mut().zip(mean).zip(std) {
                    *v = libm::expm1f(*v * s + m).max(0.0);
                }
            }
        }
    }

    /// The per-feature width the transform was fitted on (`None` for a scale).
    fn width(&self) -> Option<usize> {
        match self {
            InputTransform::Scale { .. } => None,
            InputTransform::Standardize { mean, .. }
            | InputTransform::Log1pStandardize { mean, .. } => Some(mean.len()),
        }
    }
}

/// How tabular modalities are transformed (`transform = …`; pixels are always scaled to [0, 1]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransformChoice {
    /// Count-like modalities (every training value ≥ 0, at least half of them 0: word counts,
    /// links, reads, presence flags) get `log1p-standardize`, the others `standardize`
    /// (docs/model.md §11.3). The rule reads only the training split.
    #[default]
    Auto,
    /// Every tabular modality standardised (the rule before format 2.1).
    Standardize,
    /// Every tabular modality `ln(1 + x)` then standardised; a negative training value is an error.
    Log1p,
}

impl std::fmt::Display for TransformChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransformChoice::Auto => "auto",
            TransformChoice::Standardize => "standardize",
            TransformChoice::Log1p => "log1p",
        })
    }
}

impl std::str::FromStr for TransformChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(TransformChoice::Auto),
            "standardize" => Ok(TransformChoice::Standardize),
            "log1p" => Ok(TransformChoice::Log1p),
            _ => Err(format!(
                "unknown transform `{s}`: expected auto, standardize or log1p"
            )),
        }
    }
}

/// Below this a feature is treated as constant.
const MIN_STD: f64 = 1e-8;

/// The share of zeros from which a non-negative modality counts as count data under `auto`.
/// Fixed a priori (docs/model.md §11.3): bag-of-words, link and read-count views are 90–99 %
/// zeros; the dense descriptors and omics profiles of the grids have at most 39 % (mfeat's pixel
/// view), so the rule leaves every modality of the existing grids as it was.
pub const COUNT_ZERO_SHARE: f64 = 0.5;

/// Per-feature mean and population standard deviation (f64 sums) of `f(x)` over the observed
/// rows of one modality.
fn moments(m: &super::Modality, f: impl Fn(f32) -> f32) -> (Vec<f32>, Vec<f32>) {
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
            let v = f64::from(f(v));
            sum[j] += v;
            sum_sq[j] += v * v;
        }
    }
    let count = count.max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
    let std = sum_sq
        .iter()
        .zip(&mean)
        .map(|(sq, mu)| {
            let s = (sq / count - mu * mu).max(0.0).sqrt();
            if s < MIN_STD {
                1.0
            } else {
                s as f32
            }
        })
        .collect();
    (mean.into_iter().map(|v| v as f32).collect(), std)
}

/// (the smallest observed value with its row, the share of observed values that are 0).
fn count_profile(m: &super::Modality) -> (Option<(f32, usize)>, f64) {
    let mut min: Option<(f32, usize)> = None;
    let (mut zeros, mut total) = (0usize, 0usize);
    for (r, (row, &present)) in m.data().rows().into_iter().zip(m.present()).enumerate() {
        if !present {
            continue;
        }
        for &v in row {
            total += 1;
            zeros += usize::from(v == 0.0);
            if min.is_none_or(|(lo, _)| v < lo) {
                min = Some((v, r));
            }
        }
    }
    (min, zeros as f64 / total.max(1) as f64)
}

/// Fits one transform per modality on `train` (observed rows only, labeled and unlabeled alike):
/// pixels are scaled to [0, 1]; tabular features are standardised with the training mean and
/// population standard deviation, computed in f64, after `ln(1 + x)` where `choice` says so.
/// `transform = log1p` on a modality with a negative value is an error naming it.
pub fn fit_transforms(
    train: &MultimodalDataset,
    choice: TransformChoice,
) -> Result<Vec<InputTransform>> {
    train
        .modalities()
        .iter()
        .map(|m| {
            if m.kind() == ModalityKind::Pixels {
                return Ok(InputTransform::Scale {
                    factor: 1.0 / 255.0,
                });
            }
            let (min, zero_share) = count_profile(m);
            let non_negative = min.is_none_or(|(v, _)| v >= 0.0);
            let log = match choice {
                TransformChoice::Standardize => false,
                TransformChoice::Auto => non_negative && zero_share >= COUNT_ZERO_SHARE,
                TransformChoice::Log1p => match min {
                    Some((v, r)) if v < 0.0 => {
                        return Err(Error::ModalityMismatch(format!(
                            "transform = log1p needs non-negative counts, but modality `{}` has {v} in training row {}",
                            m.name(),
                            r + 1
                        )))
                    }
                    _ => true,
                },
            };
            Ok(if log {
                let (mean, std) = moments(m, |v| libm::log1pf(v.max(0.0)));
                InputTransform::Log1pStandardize { mean, std }
            } else {
                let (mean, std) = moments(m, |v| v);
                InputTransform::Standardize { mean, std }
            })
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
            if let Some(width) = t.width().filter(|&w| w != m.dim()) {
                return Err(Error::ModalityMismatch(format!(
                    "modality `{}` has {} features, its transform was fitted on {}",
                    m.name(),
                    m.dim(),
                    width
                )));
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
        let t = fit_transforms(&ds, TransformChoice::Auto).unwrap();
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

    fn tabular(name: &str, rows: ndarray::Array2<f32>) -> MultimodalDataset {
        let n = rows.nrows();
        let m = Modality::new(name, ModalityKind::Tabular, rows);
        MultimodalDataset::new(vec![m], vec![Some(0); n], vec!["a".into()]).unwrap()
    }

    #[test]
    fn auto_takes_the_log_of_sparse_counts_only() {
        // Three of four values 0, none negative: counts.
        let counts = tabular("c", array![[0.0f32, 3.0], [0.0, 0.0]]);
        let t = fit_transforms(&counts, TransformChoice::Auto).unwrap();
        let (l3, l0) = (libm::log1pf(3.0), 0.0f32);
        let m1 = ((f64::from(l3) + f64::from(l0)) / 2.0) as f32;
        let s1 = (f64::from(l3) / 2.0) as f32;
        assert_eq!(
            t[0],
            InputTransform::Log1pStandardize {
                mean: vec![0.0, m1],
                std: vec![1.0, s1]
            }
        );
        let mut x = [0.0f32, 3.0];
        t[0].apply(&mut x);
        assert_eq!(x, [0.0, (l3 - m1) / s1]);
        // A negative raw value at prediction counts as 0, never NaN.
        let mut x = [-5.0f32, -2.0];
        t[0].apply(&mut x);
        assert_eq!(x, [0.0, (0.0 - m1) / s1]);

        // Half zeros but one value negative: not counts. Dense positive: not counts.
        for data in [
            array![[0.0f32, -1.0], [0.0, 2.0]],
            array![[1.0f32, 2.0], [3.0, 0.0]],
        ] {
            let t = fit_transforms(&tabular("d", data), TransformChoice::Auto).unwrap();
            assert!(matches!(t[0], InputTransform::Standardize { .. }), "{t:?}");
        }
        // Exactly half zeros is counted (the rule's boundary, `>=`).
        let t = fit_transforms(
            &tabular("h", array![[0.0f32, 1.0], [0.0, 2.0]]),
            TransformChoice::Auto,
        )
        .unwrap();
        assert!(matches!(t[0], InputTransform::Log1pStandardize { .. }));
        // `standardize` overrides the rule.
        let t = fit_transforms(&counts, TransformChoice::Standardize).unwrap();
        assert!(matches!(t[0], InputTransform::Standardize { .. }));
    }

    #[test]
    fn forced_log1p_refuses_negative_values_by_modality_and_row() {
        let ds = tabular("rna", array![[0.0f32, 1.0], [2.0, -0.5]]);
        let err = fit_transforms(&ds, TransformChoice::Log1p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`rna`") && err.contains("row 2") && err.contains("-0.5"),
            "{err}"
        );
        let ok = tabular("rna", array![[1.0f32, 1.0], [2.0, 0.5]]);
        let t = fit_transforms(&ok, TransformChoice::Log1p).unwrap();
        assert!(matches!(t[0], InputTransform::Log1pStandardize { .. }));
    }

    #[test]
    fn transform_choices_parse_and_print_alike() {
        for c in [
            TransformChoice::Auto,
            TransformChoice::Standardize,
            TransformChoice::Log1p,
        ] {
            assert_eq!(c.to_string().parse::<TransformChoice>().unwrap(), c);
        }
        assert!("log"
            .parse::<TransformChoice>()
            .unwrap_err()
            .contains("log1p"));
    }
}
