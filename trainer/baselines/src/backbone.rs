//! The backbone every discriminative baseline trains: one classifier MLP per fused modality (the
//! configuration's `hidden` widths, ReLU), as the other baselines' classifier. Early fusion has one
//! over the concatenated modalities, late fusion one per modality with the probabilities averaged
//! over the observed ones, CMML one per modality fused by attention
//! ([`super::attention::attention_weights`]).

use super::attention;
use ssmvae_core::error::Result;
use ssmvae_core::model::layers::Mlp;
use ssmvae_core::train::tensors::{index_tensor, DataTensors};
use tch::{nn, Device, Kind, Tensor};

/// One classifier MLP per fused modality (+ CMML's attention scorers).
pub struct Backbone {
    /// The variables.
    pub vs: nn::VarStore,
    members: Vec<Mlp>,
    attention: Vec<Mlp>,
}

impl Backbone {
    /// Builds the classifiers for modalities of widths `dims`.
    pub fn new(
        device: Device,
        dims: &[usize],
        hidden: &[usize],
        classes: usize,
        attention: bool,
    ) -> Self {
        let vs = nn::VarStore::new(device);
        let h: Vec<i64> = hidden.iter().map(|&w| w as i64).collect();
        let members = dims
            .iter()
            .enumerate()
            .map(|(j, &d)| {
                Mlp::new(
                    &(vs.root() / "classifier" / j),
                    d as i64,
                    0,
                    &h,
                    classes as i64,
                )
            })
            .collect();
        let attention = if attention {
            dims.iter()
                .enumerate()
                .map(|(j, &d)| Mlp::new(&(vs.root() / "attention" / j), d as i64, 0, &h[..1], 1))
                .collect()
        } else {
            Vec::new()
        };
        Backbone {
            vs,
            members,
            attention,
        }
    }

    /// Modality `j`'s classifier logits (B×K).
    pub fn member_logits(&self, j: usize, x: &Tensor) -> Tensor {
        self.members[j].forward(x)
    }

    /// Per-modality logits (B×K each).
    pub fn logits(&self, xs: &[Tensor]) -> Vec<Tensor> {
        self.members
            .iter()
            .zip(xs)
            .map(|(m, x)| m.forward(x))
            .collect()
    }

    /// The fused class probabilities of per-modality logits: CMML's attention, else the mean of
    /// the observed modalities' softmax (one modality: its softmax).
    pub fn fuse(&self, xs: &[Tensor], logits: &[Tensor], present: &Tensor) -> Tensor {
        let probs: Vec<Tensor> = logits.iter().map(|l| l.softmax(1, Kind::Float)).collect();
        if self.attention.is_empty() {
            let mask = present.to_kind(Kind::Float);
            // Cannot fail on user input: a dataset always has at least one modality (MultimodalDataset::new).
            let sum = probs
                .iter()
                .enumerate()
                .map(|(j, p)| p * mask.select(1, j as i64).unsqueeze(1))
                .reduce(|a, b| a + b)
                .expect("one modality at least");
            sum / mask.sum_dim_intlist(1, true, None).clamp_min(1.0)
        } else {
            let scores = Tensor::cat(
                &self
                    .attention
                    .iter()
                    .zip(xs)
                    .map(|(a, x)| a.forward(x))
                    .collect::<Vec<_>>(),
                1,
            );
            attention::fuse(&probs, &attention::attention_weights(&scores, present))
        }
    }

    /// Fused probabilities for every row of `data` (no gradient, no augmentation).
    pub fn predict(&self, data: &DataTensors) -> Tensor {
        let _g = tch::no_grad_guard();
        let device = self.vs.device();
        let mut out = Vec::new();
        for start in (0..data.len()).step_by(1024) {
            let end = (start + 1024).min(data.len());
            let idx = Tensor::arange_start(start as i64, end as i64, (Kind::Int64, device));
            let xs: Vec<Tensor> = data.xs.iter().map(|x| x.index_select(0, &idx)).collect();
            let present = data.present.index_select(0, &idx);
            out.push(self.fuse(&xs, &self.logits(&xs), &present));
        }
        Tensor::cat(&out, 0)
    }
}

/// Cross-entropy of `logits` against `y`, per sample.
pub fn ce(logits: &Tensor, y: &Tensor) -> Tensor {
    -logits
        .log_softmax(1, Kind::Float)
        .gather(1, &y.unsqueeze(1), false)
        .squeeze_dim(1)
}

/// Mean of `v` over the samples where `mask` (float 0/1) is 1 (0 when none).
pub fn masked_mean(v: &Tensor, mask: &Tensor) -> Tensor {
    (v * mask).sum(Kind::Float) / mask.sum(Kind::Float).clamp_min(1.0)
}

/// Predicted class and confidence of every unlabeled row (no augmentation).
pub fn unlabeled_predictions(
    net: &Backbone,
    data: &DataTensors,
    rows: &[usize],
    device: Device,
) -> Result<(Vec<usize>, Vec<f64>)> {
    if rows.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let _g = tch::no_grad_guard();
    let idx = index_tensor(rows, device);
    let xs: Vec<Tensor> = data.xs.iter().map(|x| x.index_select(0, &idx)).collect();
    let present = data.present.index_select(0, &idx);
    let probs = net.fuse(&xs, &net.logits(&xs), &present);
    let (conf, pred) = probs.max_dim(1, false);
    let pred: Vec<i64> = Vec::try_from(pred)?;
    let conf: Vec<f32> = Vec::try_from(conf)?;
    Ok((
        pred.into_iter().map(|p| p as usize).collect(),
        conf.into_iter().map(f64::from).collect(),
    ))
}
