//! The LDAM-DRW classification term, an objective option of SSMVAE-CI's networks (the paper's
//! LDAM-DRW baseline is `classifier_loss = ldam` with `mode = supervised`). LDAM-DRW (Cao, Wei,
//! Gaidon, Arechiga, Ma, "Learning imbalanced datasets with label-distribution-aware margin loss",
//! NeurIPS 2019): the classifier is trained on the labeled data only with
//!
//! - the **LDAM loss** ℓ(x, y) = −ln softmax(z − Δ_y e_y)_y, margins Δ_k = C / n_k^{1/4} (their
//!   Eq. 12), C set so that the largest margin is `max_margin` (their code: 0.5); and
//! - **deferred re-weighting (DRW)**: for the last part of training, each sample's loss is weighted
//!   by w_y ∝ (1 − β) / (1 − β^{n_y}), the inverse effective number of samples (Cui et al. 2019),
//!   normalised so the K weights sum to K, the batch loss being Σ w_i ℓ_i / Σ w_i (PyTorch's
//!   weighted cross-entropy, as in their code).
//!
//! Choice where our setting differs from theirs: they apply the margin to cosine logits of a
//! normalised last layer scaled by s = 30. Our classifier is the PoE of per-modality MLP experts,
//! whose summed logits are unnormalised, so the margin is subtracted from those logits directly
//! (s = 1) and `max_margin` is a hyperparameter in logit units, chosen on a validation split.
//! A class with no labeled sample is counted as n_k = 1 (largest margin and weight) rather than
//! producing an infinite margin.

use tch::{Kind, Tensor};

/// Δ_k = C / n_k^{1/4} with C such that max_k Δ_k = `max_margin` (n_k < 1 counted as 1).
pub fn ldam_margins(counts: &[usize], max_margin: f64) -> Vec<f64> {
    let raw: Vec<f64> = counts
        .iter()
        .map(|&n| (n.max(1) as f64).powf(-0.25))
        .collect();
    let largest = raw.iter().copied().fold(0.0, f64::max);
    raw.iter().map(|r| r * max_margin / largest).collect()
}

/// DRW class weights (1 − β)/(1 − β^{n_k}), normalised to sum to K (n_k < 1 counted as 1).
/// β = 0 gives all ones.
pub fn drw_weights(counts: &[usize], beta: f64) -> Vec<f64> {
    let raw: Vec<f64> = counts
        .iter()
        .map(|&n| (1.0 - beta) / (1.0 - beta.powi(n.max(1) as i32)))
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.iter().map(|w| w * counts.len() as f64 / sum).collect()
}

/// Per-sample LDAM loss: cross-entropy of the logits with Δ_y subtracted from the true class's
/// logit. `logits` is B×K (any per-row shift, e.g. log-probabilities, gives the same loss),
/// `y` the B class indices, `margins` the K-vector Δ.
pub fn ldam_loss(logits: &Tensor, y: &Tensor, margins: &Tensor) -> Tensor {
    let k = logits.size()[1];
    let onehot = y.onehot(k).to_kind(logits.kind());
    let shifted = logits - onehot * margins.unsqueeze(0).to_kind(logits.kind());
    -shifted
        .log_softmax(1, None::<Kind>)
        .gather(1, &y.unsqueeze(1), false)
        .squeeze_dim(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_follow_the_inverse_fourth_root_and_peak_at_max_margin() {
        // n = 16, 1, 81: n^{-1/4} = 1/2, 1, 1/3; the rarest class (n = 1) gets the max margin 0.5.
        let m = ldam_margins(&[16, 1, 81], 0.5);
        let want = [0.25, 0.5, 0.5 / 3.0];
        for (a, b) in m.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{m:?}");
        }
        // An empty class counts as one sample.
        assert_eq!(ldam_margins(&[0, 1], 1.0), vec![1.0, 1.0]);
    }

    #[test]
    fn drw_weights_are_inverse_effective_numbers_summing_to_k() {
        // β = 0.5, n = 1, 2: raw (0.5)/(0.5) = 1 and 0.5/(1 − 0.25) = 2/3; normalised to sum 2:
        // 2·1/(5/3) = 1.2 and 2·(2/3)/(5/3) = 0.8.
        let w = drw_weights(&[1, 2], 0.5);
        assert!(
            (w[0] - 1.2).abs() < 1e-12 && (w[1] - 0.8).abs() < 1e-12,
            "{w:?}"
        );
        // β = 0 switches re-weighting off.
        assert_eq!(drw_weights(&[5, 50, 500], 0.0), vec![1.0, 1.0, 1.0]);
        // The paper's β = 0.9999 favours the rare class.
        let w = drw_weights(&[1000, 10], 0.9999);
        assert!(w[1] > 50.0 * w[0]);
    }

    #[test]
    fn ldam_loss_subtracts_the_margin_from_the_true_logit_only() {
        // logits (0, 0), y = 0, Δ = (1, 0.5): shifted (−1, 0): loss = ln(1 + e) ≈ 1.3133.
        let logits = Tensor::from_slice(&[0.0f32, 0.0, 2.0, 0.0]).reshape([2, 2]);
        let y = Tensor::from_slice(&[0i64, 1]);
        let margins = Tensor::from_slice(&[1.0f32, 0.5]);
        let l = Vec::<f32>::try_from(ldam_loss(&logits, &y, &margins)).unwrap();
        assert!((l[0] - (1.0 + 1f32.exp()).ln()).abs() < 1e-6);
        // Row 2: logits (2, 0), y = 1, shifted (2, −0.5): loss = ln(1 + e^{2.5}).
        assert!((l[1] - (1.0 + 2.5f32.exp()).ln()).abs() < 1e-5);
        // Zero margins give the plain cross-entropy; a shift of the row changes nothing.
        let zero = Tensor::zeros([2], (Kind::Float, tch::Device::Cpu));
        let ce = Vec::<f32>::try_from(ldam_loss(&(&logits + 3.0), &y, &zero)).unwrap();
        assert!((ce[0] - 2f32.ln()).abs() < 1e-6);
    }
}
