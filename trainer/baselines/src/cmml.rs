//! CMML (Yang, Wang, Zhan, Zhang, "Comprehensive semi-supervised multi-modal learning", IJCAI
//! 2019). One classifier per modality; their predictions are fused by **instance-level
//! attention**: each modality's attention network scores the sample, the scores are soft-maxed
//! over the sample's observed modalities, and the fused prediction is the weighted sum of the
//! modality predictions. Labeled loss: cross-entropy of the fused and of every modality's
//! prediction, plus the **diversity** regulariser, which makes the modality predictions disagree
//! on the *wrong* classes (so the modalities are complementary where they err). Unlabeled loss:
//! the **robust consistency** of the modality predictions, ρ(‖p_j − p_l‖²) summed over pairs, with
//! the saturating ρ(d) = d / (d + c), so a sample whose modalities disagree strongly (likely noisy)
//! weighs at most 1.
//!
//! Choices: diversity = mean over modality pairs of ⟨p_j ⊙ (1 − e_y), p_l ⊙ (1 − e_y)⟩ (the
//! inner product of the off-target masses; the paper's exact form was not recoverable), and
//! c = [`ROBUST_C`].

use super::backbone::Backbone;
use super::recipe::{Recipe, UnlabeledBatch};
use rand_chacha::ChaCha8Rng;
use ssmvae_core::error::Result;
use ssmvae_core::train::config::TrainConfig;
use ssmvae_core::train::driver::Prepared;
use tch::{Kind, Tensor};

/// The saturation constant of the robust consistency metric.
pub const ROBUST_C: f64 = 0.5;

/// Mean over pairs of observed modalities of the off-target inner product (per sample, B).
pub fn diversity(probs: &[Tensor], y: &Tensor, present: &Tensor) -> Tensor {
    let k = probs[0].size()[1];
    let off = 1.0 - y.onehot(k).to_kind(Kind::Float);
    pair_mean(probs, present, |a, b| {
        ((a * &off) * (b * &off)).sum_dim_intlist(1, false, None)
    })
}

/// Robust consistency per sample: mean over pairs of observed modalities of
/// ‖p_j − p_l‖² / (‖p_j − p_l‖² + c).
pub fn robust_consistency(probs: &[Tensor], present: &Tensor) -> Tensor {
    pair_mean(probs, present, |a, b| {
        let d = (a - b).square().sum_dim_intlist(1, false, None);
        &d / (&d + ROBUST_C)
    })
}

/// Mean of `f` over the pairs of modalities both observed (0 when fewer than two are).
fn pair_mean(probs: &[Tensor], present: &Tensor, f: impl Fn(&Tensor, &Tensor) -> Tensor) -> Tensor {
    let b = probs[0].size()[0];
    let mut sum = Tensor::zeros([b], (Kind::Float, probs[0].device()));
    let mut count = Tensor::zeros([b], (Kind::Float, probs[0].device()));
    for j in 0..probs.len() {
        for l in j + 1..probs.len() {
            let both = (present
                .select(1, j as i64)
                .logical_and(&present.select(1, l as i64)))
            .to_kind(Kind::Float);
            sum += f(&probs[j], &probs[l]) * &both;
            count += both;
        }
    }
    sum / count.clamp_min(1.0)
}

/// Floor of the fused probability inside the logarithm of the fused prediction's cross-entropy.
pub const PROB_FLOOR: f64 = 1e-8;

/// CMML's recipe: the fused prediction's cross-entropy and the diversity term on labeled batches,
/// robust consistency on unlabeled ones.
pub struct Cmml {
    diversity_weight: f64,
}

impl Cmml {
    /// CMML with the configuration's diversity weight.
    pub fn new(cfg: &TrainConfig) -> Self {
        Cmml {
            diversity_weight: cfg.cmml.diversity,
        }
    }
}

impl Recipe for Cmml {
    fn add_labeled_terms(
        &self,
        net: &Backbone,
        xs: &[Tensor],
        logits: &[Tensor],
        present: &Tensor,
        y: &Tensor,
        loss: Tensor,
    ) -> Tensor {
        let fused = net.fuse(xs, logits, present);
        let nll = -(fused
            .clamp_min(PROB_FLOOR)
            .log()
            .gather(1, &y.unsqueeze(1), false)
            .squeeze_dim(1));
        let probs: Vec<Tensor> = logits.iter().map(|l| l.softmax(1, Kind::Float)).collect();
        loss + nll.mean(Kind::Float)
            + diversity(&probs, y, present).mean(Kind::Float) * self.diversity_weight
    }

    fn unlabeled_loss(
        &mut self,
        net: &Backbone,
        _p: &Prepared,
        batch: &UnlabeledBatch,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        let probs: Vec<Tensor> = net
            .logits(&batch.raw)
            .iter()
            .map(|l| l.softmax(1, Kind::Float))
            .collect();
        Ok(robust_consistency(&probs, &batch.present).mean(Kind::Float))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], shape: [i64; 2]) -> Tensor {
        Tensor::from_slice(v).reshape(shape)
    }

    #[test]
    fn diversity_and_robust_consistency_on_a_hand_computed_case() {
        // K = 3, y = 0. p_1 = (0.5, 0.3, 0.2), p_2 = (0.6, 0.1, 0.3): off-target (0, .3, .2) and
        // (0, .1, .3): inner product .03 + .06 = .09.
        let p1 = t(&[0.5, 0.3, 0.2], [1, 3]);
        let p2 = t(&[0.6, 0.1, 0.3], [1, 3]);
        let y = Tensor::from_slice(&[0i64]);
        let both = Tensor::from_slice(&[true, true]).reshape([1, 2]);
        let d = f32::try_from(diversity(
            &[p1.shallow_clone(), p2.shallow_clone()],
            &y,
            &both,
        ))
        .unwrap();
        assert!((d - 0.09).abs() < 1e-6, "{d}");
        // ‖p_1 − p_2‖² = .01 + .04 + .01 = .06; ρ = .06 / .56.
        let r = f32::try_from(robust_consistency(
            &[p1.shallow_clone(), p2.shallow_clone()],
            &both,
        ))
        .unwrap();
        assert!((r - 0.06 / 0.56).abs() < 1e-6, "{r}");
        // One modality missing: no pair, 0.
        let one = Tensor::from_slice(&[true, false]).reshape([1, 2]);
        assert_eq!(
            f32::try_from(robust_consistency(&[p1, p2], &one)).unwrap(),
            0.0
        );
    }
}
