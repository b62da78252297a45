//! What one training step's loss reads besides the networks: the batches and the data
//! ([`StepInputs`]), the classification term of the epoch ([`ClassTerm`]: CE, LDAM margins,
//! deferred re-weighting) and the unlabeled term's control ([`UnlabeledControl`]: ramp-up,
//! distribution alignment). [`super::ensemble::Ensemble::step`] consumes them.

use super::tensors::DataTensors;
use crate::objective::classification::classification_loss;
use crate::objective::ldam::ldam_loss;
use crate::objective::rebalance::RunningMean;
use tch::{Kind, Tensor};

/// What one step's loss reads: the data and its per-dataset constants, the batches' rows and
/// labels, the set sizes of Eq. 9's weights, and this epoch's classification term.
#[derive(Clone, Copy)]
pub struct StepInputs<'a> {
    /// The training set on the device.
    pub data: &'a DataTensors,
    /// Its constants, one table per member (docs/model.md §8).
    pub consts: &'a Constants,
    /// The labeled batch's rows.
    pub labeled: &'a Tensor,
    /// Their classes.
    pub y: &'a Tensor,
    /// The unlabeled batch's rows, if U is trained.
    pub unlabeled: Option<&'a Tensor>,
    /// N_l of Eq. 9.
    pub n_labeled: usize,
    /// N_u of Eq. 9.
    pub n_unlabeled: usize,
    /// −c_S ln π_y per row under `label_prior = empirical`.
    pub neg_log_prior: Option<&'a Tensor>,
    /// The classification term (CE, LDAM, deferred re-weighting).
    pub class_term: &'a ClassTerm,
}

/// How labeled samples' classification losses are formed: plain cross-entropy, or LDAM margins
/// and/or per-class weights (LDAM-DRW, [`crate::objective::ldam`]).
#[derive(Debug, Default)]
pub struct ClassTerm {
    /// LDAM margins Δ_k (K-vector), if LDAM.
    pub margins: Option<Tensor>,
    /// Class weights w_k (K-vector), if re-weighting is active this epoch.
    pub weights: Option<Tensor>,
}

impl ClassTerm {
    /// Per-sample classification loss; with weights, each sample's loss is scaled by
    /// w_y · B / Σ_batch w, so the batch mean is PyTorch's weighted mean Σ w ℓ / Σ w.
    pub(crate) fn per_sample(&self, log_q: &Tensor, y: &Tensor) -> Tensor {
        let l = match &self.margins {
            Some(m) => ldam_loss(log_q, y, m),
            None => classification_loss(log_q, y),
        };
        match &self.weights {
            Some(w) => {
                let w = w.index_select(0, y);
                let scale = w.sum(Kind::Float).reciprocal() * (w.size()[0] as f64);
                l * w * scale
            }
            None => l,
        }
    }
}

/// How the unlabeled term is weighted and aligned this step (docs/model.md §12).
#[derive(Debug)]
pub struct UnlabeledControl {
    /// Multiplier of U's weight (the ramp-up; 1 = the paper).
    pub weight: f64,
    /// Distribution alignment of q inside U, when on.
    pub align: Option<Alignment>,
}

impl Default for UnlabeledControl {
    fn default() -> Self {
        UnlabeledControl {
            weight: 1.0,
            align: None,
        }
    }
}

/// Distribution alignment's target and running means.
#[derive(Debug)]
pub struct Alignment {
    /// ln π of the labeled class frequencies (K).
    pub log_target: Tensor,
    /// p̂, one per member.
    pub running: Vec<RunningMean>,
}

/// Per-member constant tables for one dataset.
pub type Constants = Vec<Tensor>;
