//! The classifier product of experts (docs/model.md §3.2) and the classification term of Eq. 9 (§7).

use tch::{Kind, Tensor};

/// log q(y | x_S) = log_softmax(Σ_{j∈S} a_j): the PoE of per-modality softmax experts equals the
/// softmax of the summed logits, because each expert's normaliser does not depend on y (§3.2).
/// `logits[j]` is B×K; `present` is B×M (bool); missing modalities are skipped.
pub fn classifier_poe_log_probs(logits: &[Tensor], present: &Tensor) -> Tensor {
    let mut sum: Option<Tensor> = None;
    for (j, a) in logits.iter().enumerate() {
        let mask = present.select(1, j as i64).unsqueeze(1).to_kind(a.kind());
        let term = a * mask;
        sum = Some(match sum {
            None => term,
            Some(s) => s + term,
        });
    }
    // Cannot fail on user input: a model spec always has at least one modality.
    sum.expect("at least one modality")
        .log_softmax(1, None::<Kind>)
}

/// The classification term of Eq. 9 (docs/model.md §7), per labeled sample: −ln q(y | x_S),
/// B-vector. The caller weights it by α̃ = a · N / N_l.
pub fn classification_loss(log_q: &Tensor, y: &Tensor) -> Tensor {
    -log_q.gather(1, &y.unsqueeze(1), false).squeeze_dim(1)
}

/// The input dimension the classification weight a = 3 was validated up to (docs/model.md §12.14):
/// the largest of the tuning cells of rounds 1–16, MNIST + Fashion-MNIST's two 784-pixel views.
pub const ALPHA_REFERENCE_DIMENSION: f64 = 1568.0;

/// The per-sample factor on the classification weight under `alpha_scale = dimension`
/// (docs/model.md §12.14): max(1, D_obs / [`ALPHA_REFERENCE_DIMENSION`]), D_obs the number of
/// input dimensions the sample observes (the sum of `dims` over its present modalities), so the
/// cross-entropy keeps the weight per summed generative dimension it had where a was validated,
/// and is never lowered below it. `present` is B×M (bool), `dims` the M modality widths.
pub fn dimension_factor(present: &Tensor, dims: &[i64]) -> Tensor {
    let d = Tensor::from_slice(&dims.iter().map(|&d| d as f32).collect::<Vec<_>>())
        .to_device(present.device());
    let observed = present.to_kind(Kind::Float).matmul(&d);
    (observed / ALPHA_REFERENCE_DIMENSION).clamp_min(1.0)
}

#[cfg(test)]
mod tests {
    use super::dimension_factor;
    use tch::Tensor;

    #[test]
    fn the_factor_scales_above_the_reference_dimension_only() {
        // Widths 2000, 2000, 784; rows observe all, the first two, the last one, none.
        let present = Tensor::from_slice(&[
            true, true, true, true, true, false, false, false, true, false, false, false,
        ])
        .view([4, 3]);
        let f: Vec<f32> = Vec::try_from(dimension_factor(&present, &[2000, 2000, 784])).unwrap();
        let want = [4784.0 / 1568.0, 4000.0 / 1568.0, 1.0, 1.0];
        for (got, want) in f.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{f:?}");
        }
        // MNIST + Fashion-MNIST: exactly the reference, a factor of exactly 1.
        let both = Tensor::from_slice(&[true, true]).view([1, 2]);
        let f: Vec<f32> = Vec::try_from(dimension_factor(&both, &[784, 784])).unwrap();
        assert_eq!(f, vec![1.0]);
    }
}
