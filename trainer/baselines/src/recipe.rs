//! What makes a baseline itself: a [`Recipe`] (its unlabeled term, epoch hook, extra labeled
//! terms, adversarial rounds) on the shared backbone and step that [`super::fit`] drives, and the
//! pool and batch a recipe reads. One file per method implements it; `fit` picks the method.

use super::backbone::Backbone;
use rand_chacha::ChaCha8Rng;
use ssmvae_core::error::Result;
use ssmvae_core::train::driver::Prepared;
use tch::Tensor;

/// The labeled pool a baseline trains on: the labeled rows, plus pseudo-labeled rows for CReST.
pub struct Pool {
    /// Every training row's label (−1 = unlabeled and not pseudo-labeled).
    pub labels: Vec<i64>,
    /// The rows the labeled batches cycle through.
    pub rows: Vec<usize>,
}

/// One step's unlabeled inputs.
pub struct UnlabeledBatch<'a> {
    /// The rows.
    pub rows: &'a [usize],
    /// The labeled rows of the same step (SMLN's graph nodes include them).
    pub labeled_rows: &'a [usize],
    /// Raw (unaugmented) inputs, one per modality.
    pub raw: Vec<Tensor>,
    /// Presence mask (B×M).
    pub present: Tensor,
}

/// What makes a baseline itself, on the shared backbone and step.
pub trait Recipe {
    /// Whether the method trains on unlabeled rows (GAMO does not).
    fn uses_unlabeled(&self) -> bool {
        true
    }

    /// The FixMatch family: weakly augmented labeled batches and an EMA of the weights.
    fn fixmatch_family(&self) -> bool {
        false
    }

    /// Before an epoch's batches are drawn (may relabel the pool).
    fn begin_epoch(
        &mut self,
        _net: &Backbone,
        _p: &Prepared,
        _epoch: usize,
        _pool: &mut Pool,
    ) -> Result<()> {
        Ok(())
    }

    /// The labeled loss with the method's own labeled terms added (CMML); `xs` the batch's
    /// inputs, `logits` each member's logits on them.
    fn add_labeled_terms(
        &self,
        _net: &Backbone,
        _xs: &[Tensor],
        _logits: &[Tensor],
        _present: &Tensor,
        _y: &Tensor,
        loss: Tensor,
    ) -> Tensor {
        loss
    }

    /// The unlabeled term (called only when the method uses unlabeled rows and there are some).
    fn unlabeled_loss(
        &mut self,
        net: &Backbone,
        p: &Prepared,
        batch: &UnlabeledBatch,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor>;

    /// After the classifier's loss is formed: GAMO's adversarial rounds add to it.
    fn finish_loss(
        &mut self,
        _net: &Backbone,
        _p: &Prepared,
        _labeled: &[usize],
        loss: Tensor,
    ) -> Result<Tensor> {
        Ok(loss)
    }
}
