//! What the protocol draws: the labeled, unlabeled and test sets with their input transforms.

use crate::data::{InputTransform, MultimodalDataset};

/// A training set and a test set drawn by the protocol, with the input transforms fitted on the
/// training set. Data is raw; [`Split::preprocessed`] applies the transforms.
#[derive(Debug, Clone)]
pub struct Split {
    /// Training samples; `None` labels are the unlabeled ones.
    pub train: MultimodalDataset,
    /// The true class of every training sample (known for protocol-made splits, `None` where a
    /// user file marks a sample unlabeled without giving its class).
    pub train_true_labels: Vec<Option<usize>>,
    /// Test samples, all labeled and complete.
    pub test: MultimodalDataset,
    /// One transform per modality, fitted on `train` only.
    pub transforms: Vec<InputTransform>,
    /// The n_max used (`None` when the data came as a ready split and the protocol was not applied).
    pub n_max: Option<usize>,
    /// Whether the long-tail/labeled-fraction protocol was applied (false for user data that
    /// already marks unlabeled samples).
    pub protocol_applied: bool,
    /// The labeled tail's class sizes n_k when the unlabeled profile differs from it
    /// (`unlabeled_rho` uniform or reversed): the minority classes are the tail's.
    pub tail_sizes: Option<Vec<usize>>,
}

impl Split {
    /// Labeled training samples per class.
    pub fn labeled_counts(&self) -> Vec<usize> {
        self.train.labeled_counts()
    }
    /// Unlabeled training samples per class, by true label (samples of unknown class not counted).
    pub fn unlabeled_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.train.num_classes()];
        for (y, t) in self.train.labels().iter().zip(&self.train_true_labels) {
            if let (None, Some(t)) = (y, t) {
                counts[*t] += 1;
            }
        }
        counts
    }
    /// Unlabeled training samples whose class is unknown.
    pub fn unlabeled_unknown(&self) -> usize {
        self.train
            .labels()
            .iter()
            .zip(&self.train_true_labels)
            .filter(|(y, t)| y.is_none() && t.is_none())
            .count()
    }
    /// Test samples per class.
    pub fn test_counts(&self) -> Vec<usize> {
        self.test.labeled_counts()
    }
    /// Training class sizes the metrics use to find the minority classes: the labeled tail's
    /// under a non-consistent unlabeled profile, else the true class sizes when every training
    /// sample's class is known, else the labeled counts.
    pub fn train_class_sizes(&self) -> Vec<usize> {
        if let Some(tail) = &self.tail_sizes {
            return tail.clone();
        }
        if self.train_true_labels.iter().all(Option::is_some) {
            let mut c = vec![0; self.train.num_classes()];
            for t in self.train_true_labels.iter().flatten() {
                c[*t] += 1;
            }
            c
        } else {
            self.labeled_counts()
        }
    }
    /// `(train, test)` with the transforms applied.
    pub fn preprocessed(&self) -> (MultimodalDataset, MultimodalDataset) {
        let mut train = self.train.clone();
        let mut test = self.test.clone();
        // Cannot fail: the transforms were fitted on this split's own training set, and
        // `build_split` checked that the test set has the same modalities and widths.
        train
            .apply_transforms(&self.transforms)
            .expect("transforms fitted on this split");
        test.apply_transforms(&self.transforms)
            .expect("transforms fitted on this split");
        (train, test)
    }
}
