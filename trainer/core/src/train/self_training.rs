//! Self-training generations with class-rebalanced pseudo-labels for SSMVAE-CI (docs/model.md
//! §12.12; `self_training_generations = G`).
//!
//! The epochs are split into G generations. At the first epoch of generations 2…G the model
//! predicts every unlabeled sample with the rule it ships (the classifier PoE with the post-hoc
//! adjustment of §12.1), and the predicted samples join the labeled batches under their predicted
//! class at CReST's rates (Wei et al., CVPR 2021, Eq. 4; [`crate::objective::pseudo_labels`]):
//! every pseudo-label of the rarest class, the most confident share of the others. A joined sample
//! is then trained by the labeled objective (L_γ with its pseudo-class and the classification
//! term), and it stays in the unlabeled set, as in CReST. Each generation's pseudo-labels replace
//! the previous generation's. The true labels' count N_l still sets the weights of Eq. 9.
//!
//! Why it is a candidate for the failing cell (MNIST + Fashion, ρ = 100, β = 0.1): there the
//! rarest class has one label, and U hands its unlabeled samples to similar classes (§6.4). CReST's
//! rates give the rarest class every sample the model does predict for it, so with class-balanced
//! batches (§12.9) its slots cycle through those samples instead of repeating one label; this is
//! the mechanism of the strongest baseline at that cell (CReST + late fusion).

use super::driver::{label_codes, Prepared};
use crate::error::Result;
use crate::objective::pseudo_labels::{
    class_caps, class_quotas, inclusion_rates, quota_assignment, select_pseudo_labels,
};
use crate::objective::{PseudoLabelCap, PseudoLabelSelect};
use tch::{Kind, Tensor};

/// CReST's α of the inclusion rate μ_k = (N_{K−1−k}/N_0)^α: the value of the paper and of this
/// repository's CReST baseline (`crest_alpha`), fixed a priori.
pub const SELF_TRAINING_ALPHA: f64 = 1.0 / 3.0;

/// How many epochs each of `generations` lasts over `epochs` (the last may be shorter).
pub fn generation_epochs(epochs: usize, generations: usize) -> usize {
    epochs.div_ceil(generations.max(1)).max(1)
}

/// Whether `epoch` (1-based) is the first epoch of a generation after the first, for generations
/// `generation_epochs` long: where self-training replaces its pseudo-labels.
pub fn starts_generation(epoch: usize, generation_epochs: usize) -> bool {
    epoch > 1 && (epoch - 1) % generation_epochs == 0
}

/// The state of self-training: the generation length and the current pseudo-labels.
#[derive(Debug)]
pub struct SelfTraining {
    generation_epochs: usize,
    rates: Vec<f64>,
    caps: Option<Vec<usize>>,
    select: PseudoLabelSelect,
    quotas: Vec<usize>,
    pseudo: Vec<(usize, usize)>,
    row_labels: Vec<Option<usize>>,
}

impl SelfTraining {
    /// Self-training in `generations` over `epochs`, each class's pseudo-labels bounded by `cap`,
    /// resuming with `pseudo` ((row, class) pairs from a checkpoint; empty for a fresh run).
    pub fn new(
        p: &Prepared,
        generations: usize,
        cap: PseudoLabelCap,
        select: PseudoLabelSelect,
        epochs: usize,
        pseudo: Vec<(usize, usize)>,
    ) -> Self {
        let counts = p.train_ds.labeled_counts();
        let mut s = SelfTraining {
            generation_epochs: generation_epochs(epochs, generations),
            rates: inclusion_rates(&counts, SELF_TRAINING_ALPHA),
            caps: class_caps(cap, &counts),
            select,
            quotas: class_quotas(&counts, p.unlabeled_rows.len()),
            pseudo: Vec::new(),
            row_labels: Vec::new(),
        };
        s.set(p, pseudo);
        s
    }

    /// Whether `epoch` (1-based) is the first epoch of a generation after the first.
    pub fn starts_generation(&self, epoch: usize) -> bool {
        starts_generation(epoch, self.generation_epochs)
    }

    /// Replaces the pseudo-labels from `probs`, the model's class probabilities of
    /// `p.unlabeled_rows` (in that order, N_u × K).
    pub fn relabel(&mut self, p: &Prepared, probs: &Tensor) -> Result<()> {
        let probs = probs.to_kind(Kind::Double);
        let (pred, conf): (Vec<usize>, Vec<f64>) = match self.select {
            PseudoLabelSelect::Argmax => {
                let (conf, pred) = probs.max_dim(1, false);
                let pred = Vec::<i64>::try_from(&pred)?;
                (
                    pred.into_iter().map(|c| c as usize).collect(),
                    Vec::<f64>::try_from(&conf)?,
                )
            }
            PseudoLabelSelect::Quota => {
                let classes = self.rates.len();
                let flat = Vec::<f64>::try_from(&probs.reshape([-1]))?;
                // A sample left without a class gets the class index K, which no class selects.
                quota_assignment(&flat, classes, &self.quotas)
                    .into_iter()
                    .map(|a| a.unwrap_or((classes, 0.0)))
                    .unzip()
            }
        };
        let picked = select_pseudo_labels(&pred, &conf, &self.rates, self.caps.as_deref())
            .into_iter()
            .map(|(u, class)| (p.unlabeled_rows[u], class))
            .collect();
        self.set(p, picked);
        Ok(())
    }

    fn set(&mut self, p: &Prepared, pseudo: Vec<(usize, usize)>) {
        self.row_labels = p.train_ds.labels().to_vec();
        for &(row, class) in &pseudo {
            self.row_labels[row] = Some(class);
        }
        self.pseudo = pseudo;
    }

    /// The labeled rows and the pseudo-labeled ones.
    pub fn pool(&self, p: &Prepared) -> Vec<usize> {
        let mut rows = p.labeled_rows.clone();
        rows.extend(self.pseudo.iter().map(|&(row, _)| row));
        rows
    }

    /// Each training row's class: its label, its pseudo-label, or none.
    pub fn row_labels(&self) -> &[Option<usize>] {
        &self.row_labels
    }

    /// The class codes of every training row (−1 = none), for the labeled objective's targets.
    pub fn label_codes(&self) -> Vec<i64> {
        label_codes(&self.row_labels)
    }

    /// The current (row, class) pseudo-labels, for the checkpoint.
    pub fn pseudo_labels(&self) -> &[(usize, usize)] {
        &self.pseudo
    }
}

#[cfg(test)]
mod tests {
    use crate::objective::pseudo_labels::{class_caps, inclusion_rates};
    use crate::objective::PseudoLabelCap;
    use crate::protocol::{labeled_counts, long_tail_sizes};

    /// The rates SSMVAE-CI self-trains with on Table 1's ρ = 100, β = 0.1 cell at CPU scale. By
    /// hand: n_k = ⌊1000 · 100^(−k/9)⌋ = 1000, 599, 359, 215, 129, 77, 46, 27, 16, 10 and
    /// l_k = round(0.1 n_k) = 100, 60, 36, 22, 13, 8, 5, 3, 2, 1; μ_k = (N_{9−k}/N_0)^{1/3}, so
    /// the class with one label keeps every pseudo-label and the largest class (1/100)^{1/3} ≈
    /// 21.5 % of its own.
    #[test]
    fn rates_at_the_failing_cell() {
        let counts = [100, 60, 36, 22, 13, 8, 5, 3, 2, 1];
        let sizes = long_tail_sizes(1000, 100.0, 10).unwrap();
        assert_eq!(labeled_counts(&sizes, 0.1).unwrap(), counts);
        let r = inclusion_rates(&counts, super::SELF_TRAINING_ALPHA);
        let want = |n: f64| (n / 100.0f64).powf(1.0 / 3.0);
        assert!((r[0] - want(1.0)).abs() < 1e-12 && (r[0] - 0.2154).abs() < 1e-4);
        assert!((r[1] - want(2.0)).abs() < 1e-12);
        assert!((r[5] - want(13.0)).abs() < 1e-12);
        assert_eq!(r[9], 1.0);
        // Filled to the head (`self_training_cap = "head-gap"`): class k gains at most 100 − l_k;
        // under `head-count` every class gains at most 100.
        let gaps = class_caps(PseudoLabelCap::HeadGap, &counts).unwrap();
        assert_eq!(gaps, [0, 40, 64, 78, 87, 92, 95, 97, 98, 99]);
        let head = class_caps(PseudoLabelCap::HeadCount, &counts).unwrap();
        assert_eq!(head, [100; 10]);
    }
}
