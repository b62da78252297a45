//! The FixMatch consistency term (Sohn et al., "FixMatch: simplifying semi-supervised learning
//! with consistency and confidence", NeurIPS 2020, their Eq. 2) that CReST and Adsh build on:
//! the weak view's prediction q_b = p(y | α(u_b)), when confident (max q_b ≥ τ), is the hard
//! target of the strong view, ℓ_u = (1/μB) Σ_b 1[max q_b ≥ τ_{argmax q_b}] H(argmax q_b, p(y | 𝒜(u_b))).
//! Each modality's classifier is trained on its own views; τ may be per class (Adsh).
//!
//! CReST+ first rescales q_b toward a target class distribution (distribution alignment,
//! Berthelot et al., "ReMixMatch", ICLR 2020, §3.2): q ← Normalize(q · target / p̃), p̃ the running
//! mean of the weak-view predictions.

use super::backbone::Backbone;
use super::recipe::{Pool, Recipe, UnlabeledBatch};
use rand_chacha::ChaCha8Rng;
use ssmvae_core::augment::{augment, Strength};
use ssmvae_core::data::ModalityKind;
use ssmvae_core::error::Result;
use ssmvae_core::objective::rebalance::{
    aligned_probs, confident_targets_by_class, consistency_term, RunningMean,
};
use ssmvae_core::train::driver::Prepared;
use tch::{Device, Kind, Tensor};

/// Momentum of the running mean p̃ of the weak-view predictions. ReMixMatch averages the last 128
/// batches; a momentum of 0.999 is the exponential-average form CReST's code uses.
pub const ALIGN_MOMENTUM: f64 = 0.999;

/// The consistency term's state: thresholds, the alignment target and its running mean.
pub struct FixMatch {
    kinds: Vec<ModalityKind>,
    thresholds: Tensor,
    /// The target distribution of distribution alignment (CReST+), if aligning this epoch.
    pub align: Option<Tensor>,
    running_mean: RunningMean,
}

impl FixMatch {
    /// The term for modalities of kinds `kinds` (their augmentations) with threshold τ for all
    /// classes.
    pub fn new(kinds: Vec<ModalityKind>, tau: f64, classes: usize, device: Device) -> Self {
        let mut f = FixMatch {
            kinds,
            thresholds: Tensor::zeros([classes as i64], (Kind::Float, device)),
            align: None,
            running_mean: RunningMean::with_momentum(ALIGN_MOMENTUM),
        };
        f.set_thresholds(&vec![tau; classes], device);
        f
    }

    /// Class-wise thresholds τ_k.
    pub fn set_thresholds(&mut self, thresholds: &[f64], device: Device) {
        self.thresholds =
            Tensor::from_slice(&thresholds.iter().map(|&t| t as f32).collect::<Vec<_>>())
                .to_device(device);
    }

    /// A new epoch restarts the running mean p̃.
    pub fn begin_epoch(&mut self) {
        self.running_mean = RunningMean::with_momentum(ALIGN_MOMENTUM);
    }

    /// ℓ_u summed over the modalities, on raw unlabeled inputs `raw` (one per modality) and their
    /// presence mask (B×M).
    pub fn loss(&mut self, net: &Backbone, raw: &[Tensor], present: &Tensor) -> Tensor {
        let mut total: Option<Tensor> = None;
        for (j, (x, &k)) in raw.iter().zip(&self.kinds).enumerate() {
            let weak = augment(x, k, Strength::Weak);
            let strong = augment(x, k, Strength::Strong);
            let mut q = tch::no_grad(|| net.member_logits(j, &weak).softmax(1, Kind::Float));
            if let Some(target) = &self.align {
                self.running_mean.update(&q);
                if let Some(p_hat) = self.running_mean.get() {
                    q = aligned_probs(&q, target, p_hat);
                }
            }
            let (pseudo, confident) = confident_targets_by_class(&q, &self.thresholds);
            let keep = confident * present.select(1, j as i64).to_kind(Kind::Float);
            let log_q_strong = net.member_logits(j, &strong).log_softmax(1, Kind::Float);
            let l = consistency_term(&log_q_strong, &pseudo, &keep).mean(Kind::Float);
            total = Some(match total {
                None => l,
                Some(t) => t + l,
            });
        }
        // Cannot fail on user input: a model spec always has at least one modality.
        total.expect("one modality")
    }
}

/// What a FixMatch-based method does before each epoch (CReST: a new generation of pseudo-labels
/// and the alignment target; Adsh: new thresholds). The rest of the recipe is FixMatch's.
pub trait EpochHook {
    /// Prepares epoch `epoch`: may set the term's thresholds or alignment, or relabel the pool.
    fn begin_epoch(
        &mut self,
        fixmatch: &mut FixMatch,
        net: &Backbone,
        p: &Prepared,
        epoch: usize,
        pool: &mut Pool,
    ) -> Result<()>;
}

/// A FixMatch learner with a method's epoch hook: weakly augmented labeled batches, the EMA of
/// the weights, and the consistency term on unlabeled batches.
pub struct FixMatchRecipe<H> {
    fixmatch: FixMatch,
    hook: H,
}

impl<H> FixMatchRecipe<H> {
    /// The recipe of `hook` on the term `fixmatch`.
    pub fn new(fixmatch: FixMatch, hook: H) -> Self {
        FixMatchRecipe { fixmatch, hook }
    }
}

impl<H: EpochHook> Recipe for FixMatchRecipe<H> {
    fn fixmatch_family(&self) -> bool {
        true
    }

    fn begin_epoch(
        &mut self,
        net: &Backbone,
        p: &Prepared,
        epoch: usize,
        pool: &mut Pool,
    ) -> Result<()> {
        self.hook
            .begin_epoch(&mut self.fixmatch, net, p, epoch, pool)?;
        self.fixmatch.begin_epoch();
        Ok(())
    }

    fn unlabeled_loss(
        &mut self,
        net: &Backbone,
        _p: &Prepared,
        batch: &UnlabeledBatch,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        Ok(self.fixmatch.loss(net, &batch.raw, &batch.present))
    }
}
