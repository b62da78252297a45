//! Adsh (Guo, Li, "Class-imbalanced semi-supervised learning with adaptive thresholding",
//! ICML 2022): FixMatch-style consistency (trained in [`super::fit`]) whose confidence threshold
//! is set per class. The majority class keeps the fixed threshold τ; its scores tell what *share* of its predicted
//! samples passes τ, and every other class gets the threshold at which the same share of *its*
//! predicted samples passes (so rare classes, predicted with lower confidence, are not starved of
//! pseudo-labels). Thresholds are re-estimated from the unlabeled scores once per epoch.
//!
//! Choices: the score is the maximum softmax probability of the weak view (the paper also
//! normalises scores per class; with one backbone and no logit adjustment the max probability
//! is what FixMatch thresholds); a class with no predicted sample keeps τ; a threshold never
//! exceeds τ.

use super::backbone::{unlabeled_predictions, Backbone};
use super::fixmatch::{EpochHook, FixMatch, FixMatchRecipe};
use super::recipe::Pool;
use ssmvae_core::data::ModalityKind;
use ssmvae_core::error::Result;
use ssmvae_core::train::config::TrainConfig;
use ssmvae_core::train::driver::Prepared;

/// Class-wise thresholds from the unlabeled samples' predicted classes and scores. `majority` is
/// the class with the most labeled samples. With ρ = share of the majority's scores ≥ τ, class k's
/// threshold is its ⌈ρ n_k⌉-th highest score (capped at τ); ρ = 0 gives τ.
pub fn adaptive_thresholds(
    pred: &[usize],
    score: &[f64],
    classes: usize,
    majority: usize,
    tau: f64,
) -> Vec<f64> {
    let mut by_class: Vec<Vec<f64>> = vec![Vec::new(); classes];
    for (&p, &s) in pred.iter().zip(score) {
        by_class[p].push(s);
    }
    for v in &mut by_class {
        v.sort_by(|a, b| b.total_cmp(a));
    }
    let maj = &by_class[majority];
    let rho = if maj.is_empty() {
        0.0
    } else {
        maj.iter().filter(|&&s| s >= tau).count() as f64 / maj.len() as f64
    };
    (0..classes)
        .map(|k| {
            let v = &by_class[k];
            if k == majority || v.is_empty() || rho == 0.0 {
                return tau;
            }
            let n = ((rho * v.len() as f64) - 1e-9).ceil().max(1.0) as usize;
            v[n.min(v.len()) - 1].min(tau)
        })
        .collect()
}

/// Adsh's epoch hook on the FixMatch learner: the thresholds re-estimated every epoch after the
/// first.
pub struct Adsh {
    classes: usize,
    majority: usize,
    tau: f64,
}

impl Adsh {
    /// Adsh for a configuration, on modalities of kinds `kinds`.
    pub fn recipe(
        cfg: &TrainConfig,
        p: &Prepared,
        kinds: Vec<ModalityKind>,
    ) -> FixMatchRecipe<Adsh> {
        let counts = p.train_ds.labeled_counts();
        let classes = counts.len();
        let majority = (0..classes)
            .max_by_key(|&k| (counts[k], std::cmp::Reverse(k)))
            .unwrap_or(0);
        let fixmatch = FixMatch::new(kinds, cfg.baseline.threshold, classes, p.device);
        let hook = Adsh {
            classes,
            majority,
            tau: cfg.baseline.threshold,
        };
        FixMatchRecipe::new(fixmatch, hook)
    }
}

impl EpochHook for Adsh {
    fn begin_epoch(
        &mut self,
        fixmatch: &mut FixMatch,
        net: &Backbone,
        p: &Prepared,
        epoch: usize,
        _pool: &mut Pool,
    ) -> Result<()> {
        if epoch > 1 {
            let (pred, conf) = unlabeled_predictions(net, &p.data, &p.unlabeled_rows, p.device)?;
            let t = adaptive_thresholds(&pred, &conf, self.classes, self.majority, self.tau);
            fixmatch.set_thresholds(&t, p.device);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minority_thresholds_pass_the_majoritys_share() {
        // Majority (class 0) scores 0.99, 0.97, 0.9, 0.8 with τ = 0.95: ρ = 2/4 = 0.5.
        // Class 1 scores 0.9, 0.7, 0.6, 0.5, 0.4, 0.3: ⌈0.5·6⌉ = 3rd highest = 0.6.
        // Class 2 scores 0.85: ⌈0.5·1⌉ = 1st = 0.85. Class 3 has none: τ.
        let pred = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2];
        let score = [0.99, 0.97, 0.9, 0.8, 0.9, 0.7, 0.6, 0.5, 0.4, 0.3, 0.85];
        let t = adaptive_thresholds(&pred, &score, 4, 0, 0.95);
        assert_eq!(t, vec![0.95, 0.6, 0.85, 0.95]);
        // Exactly ρ n_k of class 1 pass its threshold: 0.9, 0.7, 0.6.
        assert_eq!(score[4..10].iter().filter(|&&s| s >= t[1]).count(), 3);
        // If nothing of the majority passes τ, every class keeps τ.
        let t = adaptive_thresholds(&pred, &score, 4, 0, 0.999);
        assert_eq!(t, vec![0.999; 4]);
        // A threshold never exceeds τ.
        let t = adaptive_thresholds(&[0, 1], &[0.99, 0.999], 2, 0, 0.95);
        assert_eq!(t, vec![0.95, 0.95]);
    }
}
