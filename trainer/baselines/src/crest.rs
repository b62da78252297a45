//! CReST (Wei, Sohn, Mellina, Yuille, Yang, "CReST: a class-rebalancing self-training framework for
//! imbalanced semi-supervised learning", CVPR 2021). Self-training in generations on a FixMatch
//! learner (trained in [`super::fit`]); after each generation the unlabeled samples predicted as class k
//! join the labeled set, the most confident first, at the rate
//! μ_k = (N_{K−1−k} / N_0)^α (their Eq. 4): classes sorted by labeled count, N_0 the largest, so
//! the rarest class keeps all its pseudo-labels and the largest the fewest. CReST+ adds
//! *progressive distribution alignment*: the weak-view probabilities are rescaled toward the
//! labeled class distribution tempered by t_g, going linearly from 1 to `T_MIN` over the
//! generations (their Eq. 5–6).
//!
//! Choices where the paper is vague or our setting differs: generations split the run's epochs
//! evenly and the model keeps its weights from one generation to the next (the paper re-trains;
//! with 20 CPU epochs there is no budget for it); pseudo-labels chosen in a generation replace the
//! previous generation's (the unlabeled set itself is never shrunk, as in the paper).

use super::backbone::{unlabeled_predictions, Backbone};
use super::fixmatch::{EpochHook, FixMatch, FixMatchRecipe};
use super::recipe::Pool;
use ssmvae_core::data::ModalityKind;
use ssmvae_core::error::Result;
use ssmvae_core::objective::pseudo_labels::{inclusion_rates, select_pseudo_labels};
use ssmvae_core::train::config::TrainConfig;
use ssmvae_core::train::driver::Prepared;
use tch::Tensor;

/// CReST+'s final temperature of the target distribution.
pub const T_MIN: f64 = 0.5;

/// The CReST+ temperature of generation g (0-based) of G: 1 → `T_MIN` linearly.
pub fn alignment_temperature(generation: usize, generations: usize) -> f64 {
    if generations <= 1 {
        return 1.0;
    }
    1.0 - (1.0 - T_MIN) * generation as f64 / (generations - 1) as f64
}

/// CReST's epoch hook on the FixMatch learner: generations of rebalanced pseudo-labels, optional
/// progressive alignment (CReST+).
pub struct Crest {
    labeled_counts: Vec<usize>,
    alpha: f64,
    generations: usize,
    gen_len: usize,
    progressive: bool,
    label_dist: Vec<f64>,
}

impl Crest {
    /// CReST for a configuration, on modalities of kinds `kinds`.
    pub fn recipe(
        cfg: &TrainConfig,
        p: &Prepared,
        kinds: Vec<ModalityKind>,
    ) -> FixMatchRecipe<Crest> {
        let labeled_counts = p.train_ds.labeled_counts();
        let total: usize = labeled_counts.iter().sum();
        let label_dist = labeled_counts
            .iter()
            .map(|&c| c.max(1) as f64 / total.max(1) as f64)
            .collect();
        let fixmatch = FixMatch::new(
            kinds,
            cfg.baseline.threshold,
            labeled_counts.len(),
            p.device,
        );
        let hook = Crest {
            labeled_counts,
            alpha: cfg.crest.alpha,
            generations: cfg.crest.generations,
            gen_len: cfg.optim.epochs.div_ceil(cfg.crest.generations),
            progressive: cfg.crest.progressive,
            label_dist,
        };
        FixMatchRecipe::new(fixmatch, hook)
    }
}

impl EpochHook for Crest {
    fn begin_epoch(
        &mut self,
        fixmatch: &mut FixMatch,
        net: &Backbone,
        p: &Prepared,
        epoch: usize,
        pool: &mut Pool,
    ) -> Result<()> {
        let generation = (epoch - 1) / self.gen_len;
        // A new generation adds the previous one's rebalanced pseudo-labels.
        if epoch > 1 && (epoch - 1) % self.gen_len == 0 {
            let (pred, conf) = unlabeled_predictions(net, &p.data, &p.unlabeled_rows, p.device)?;
            let rates = inclusion_rates(&self.labeled_counts, self.alpha);
            pool.rows = p.labeled_rows.clone();
            for &i in &p.unlabeled_rows {
                pool.labels[i] = -1;
            }
            for (u, class) in select_pseudo_labels(&pred, &conf, &rates, None) {
                let row = p.unlabeled_rows[u];
                pool.labels[row] = class as i64;
                pool.rows.push(row);
            }
        }
        // CReST+: alignment toward the labeled distribution at temperature t_g.
        fixmatch.align = self.progressive.then(|| {
            let t = alignment_temperature(generation, self.generations);
            let target: Vec<f64> = self.label_dist.iter().map(|q| q.powf(t)).collect();
            let z: f64 = target.iter().sum();
            Tensor::from_slice(&target.iter().map(|v| (v / z) as f32).collect::<Vec<_>>())
                .to_device(p.device)
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_temperature_goes_from_one_to_t_min() {
        assert_eq!(alignment_temperature(0, 3), 1.0);
        assert_eq!(alignment_temperature(1, 3), 0.75);
        assert_eq!(alignment_temperature(2, 3), T_MIN);
        assert_eq!(alignment_temperature(0, 1), 1.0);
    }
}
