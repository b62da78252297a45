//! Scores predictions the way the paper does. The paper's headline numbers are overall accuracy
//! and **minority-class accuracy**: the mean per-class accuracy over the floor(K/2) classes with
//! the fewest *training* samples. Balanced accuracy, macro-F1, G-mean, per-class accuracy and the
//! confusion matrix complete the picture; [`mean_se`] aggregates repeats.

use crate::error::{DataError, Result};
use serde::{Deserialize, Serialize};

/// `confusion[t][p]` = number of test samples of true class `t` predicted as `p`.
pub type Confusion = Vec<Vec<usize>>;

/// Builds the K × K confusion matrix; a label or prediction outside 0..K is an error.
pub fn confusion_matrix(truth: &[usize], pred: &[usize], classes: usize) -> Result<Confusion> {
    if truth.len() != pred.len() {
        return Err(DataError::RowCountMismatch {
            what: "predictions".into(),
            expected: truth.len(),
            found: pred.len(),
        }
        .into());
    }
    let mut c = vec![vec![0usize; classes]; classes];
    for (row, (&t, &p)) in truth.iter().zip(pred).enumerate() {
        for v in [t, p] {
            if v >= classes {
                return Err(DataError::LabelOutOfRange {
                    source_name: "predictions".into(),
                    row: row + 1,
                    label: v as i64,
                    classes,
                }
                .into());
            }
        }
        c[t][p] += 1;
    }
    Ok(c)
}

/// The minority classes: the floor(K/2) classes with the fewest training samples. Ties go to the
/// higher class index (counted as smaller), matching the long-tailed protocol where a higher index
/// never has more samples. Returned in increasing class order.
pub fn minority_classes(train_counts: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..train_counts.len()).collect();
    order.sort_by(|&a, &b| train_counts[a].cmp(&train_counts[b]).then(b.cmp(&a)));
    let mut minority: Vec<usize> = order.into_iter().take(train_counts.len() / 2).collect();
    minority.sort_unstable();
    minority
}

/// The five scores of one evaluation: the one definition that the test metrics, the epoch logs
/// and the results lines share (flattened into each, so the JSON keys stay these names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Fraction of test samples classified correctly.
    pub overall_acc: f64,
    /// Mean per-class accuracy over the floor(K/2) classes with the fewest training samples.
    pub minority_acc: f64,
    /// Mean per-class accuracy over the classes present in the test set.
    pub balanced_acc: f64,
    /// Unweighted mean of per-class F1 over the classes present in the test set (F1 = 0 for a
    /// class never predicted correctly).
    pub macro_f1: f64,
    /// Geometric mean of the per-class accuracies (recalls) over the classes present in the test
    /// set; 0 as soon as one class is never recognised.
    pub g_mean: f64,
}

/// Every score the project reports, with the JSON keys the benchmark and reports use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The five scores.
    #[serde(flatten)]
    pub scores: Scores,
    /// Per-class accuracy (recall), class 0 first; `null` for a class absent from the test set.
    pub per_class_acc: Vec<Option<f64>>,
    /// The minority classes used for `minority_acc`.
    pub minority_classes: Vec<usize>,
    /// `confusion[true][predicted]`.
    pub confusion: Confusion,
}

impl From<&Metrics> for Scores {
    fn from(m: &Metrics) -> Self {
        m.scores.clone()
    }
}

impl Metrics {
    /// Scores `pred` against `truth`. `train_counts[k]` is the number of training samples of class
    /// k (true labels when known; when the classes of unlabeled samples are unknown, pass the
    /// labeled counts, as the paper's definition allows).
    pub fn compute(truth: &[usize], pred: &[usize], train_counts: &[usize]) -> Result<Self> {
        let k = train_counts.len();
        let confusion = confusion_matrix(truth, pred, k)?;
        let support: Vec<usize> = confusion.iter().map(|r| r.iter().sum()).collect();
        let predicted: Vec<usize> = (0..k)
            .map(|p| confusion.iter().map(|r| r[p]).sum())
            .collect();
        let per_class_acc: Vec<Option<f64>> = (0..k)
            .map(|c| (support[c] > 0).then(|| confusion[c][c] as f64 / support[c] as f64))
            .collect();
        let present: Vec<f64> = per_class_acc.iter().flatten().copied().collect();
        let mean = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let correct: usize = (0..k).map(|c| confusion[c][c]).sum();
        let overall_acc = if truth.is_empty() {
            0.0
        } else {
            correct as f64 / truth.len() as f64
        };
        let minority = minority_classes(train_counts);
        let minority_accs: Vec<f64> = minority.iter().filter_map(|&c| per_class_acc[c]).collect();
        let f1: Vec<f64> = (0..k)
            .filter(|&c| support[c] > 0)
            .map(|c| {
                let tp = confusion[c][c] as f64;
                let denom = (support[c] + predicted[c]) as f64;
                if denom == 0.0 {
                    0.0
                } else {
                    2.0 * tp / denom
                }
            })
            .collect();
        let g_mean = if present.is_empty() || present.contains(&0.0) {
            0.0
        } else {
            (present.iter().map(|a| a.ln()).sum::<f64>() / present.len() as f64).exp()
        };
        Ok(Metrics {
            scores: Scores {
                overall_acc,
                minority_acc: mean(&minority_accs),
                balanced_acc: mean(&present),
                macro_f1: mean(&f1),
                g_mean,
            },
            per_class_acc,
            minority_classes: minority,
            confusion,
        })
    }
}

/// Mean and standard error (sample standard deviation / sqrt(n)) of repeated measurements;
/// the standard error of a single value is 0.
pub fn mean_se(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    (mean, (var / n as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// A hand-made 4-class case. Training counts [100, 50, 20, 20]: the two minority classes are
    /// 2 and 3 (the fewest). True/predicted pairs give the confusion matrix
    ///   t0: [8, 2, 0, 0]  acc 0.8
    ///   t1: [1, 4, 0, 0]  acc 0.8
    ///   t2: [2, 0, 2, 0]  acc 0.5
    ///   t3: [0, 0, 3, 1]  acc 0.25
    /// minority_acc = (0.5 + 0.25) / 2 = 0.375; overall = 15/23; balanced = 2.35/4.
    #[test]
    fn minority_accuracy_of_a_hand_made_confusion_matrix() {
        let rows = [[8, 2, 0, 0], [1, 4, 0, 0], [2, 0, 2, 0], [0, 0, 3, 1]];
        let (mut truth, mut pred) = (vec![], vec![]);
        for (t, row) in rows.iter().enumerate() {
            for (p, &n) in row.iter().enumerate() {
                for _ in 0..n {
                    truth.push(t);
                    pred.push(p);
                }
            }
        }
        let m = Metrics::compute(&truth, &pred, &[100, 50, 20, 20]).unwrap();
        assert_eq!(m.minority_classes, vec![2, 3]);
        assert!(close(m.scores.minority_acc, 0.375));
        assert!(close(m.scores.overall_acc, 15.0 / 23.0));
        assert!(close(m.scores.balanced_acc, (0.8 + 0.8 + 0.5 + 0.25) / 4.0));
        assert_eq!(
            m.per_class_acc,
            vec![Some(0.8), Some(0.8), Some(0.5), Some(0.25)]
        );
        // F1: c0 2·8/(10+11), c1 2·4/(5+6), c2 2·2/(4+5), c3 2·1/(4+1)
        let f1 = (16.0 / 21.0 + 8.0 / 11.0 + 4.0 / 9.0 + 2.0 / 5.0) / 4.0;
        assert!(close(m.scores.macro_f1, f1));
        let g = (0.8f64 * 0.8 * 0.5 * 0.25).powf(0.25);
        assert!(close(m.scores.g_mean, g));
        assert_eq!(m.confusion[3], vec![0, 0, 3, 1]);
    }

    #[test]
    fn minority_ties_count_higher_index_as_smaller() {
        // Five classes, floor(5/2) = 2 minority classes; classes 1, 3, 4 tie at 10.
        assert_eq!(minority_classes(&[50, 10, 30, 10, 10]), vec![3, 4]);
        assert_eq!(minority_classes(&[5, 5, 5, 5]), vec![2, 3]);
    }

    #[test]
    fn mean_and_standard_error() {
        let (m, se) = mean_se(&[1.0, 2.0, 3.0, 4.0]);
        assert!(close(m, 2.5));
        // sample sd = sqrt(5/3); se = sd / 2
        assert!(close(se, (5.0f64 / 3.0).sqrt() / 2.0));
        assert_eq!(mean_se(&[0.7]), (0.7, 0.0));
    }

    #[test]
    fn out_of_range_prediction_is_an_error() {
        assert!(matches!(
            Metrics::compute(&[0, 1], &[0, 2], &[3, 3]),
            Err(crate::Error::Data(DataError::LabelOutOfRange {
                label: 2,
                ..
            }))
        ));
    }
}
