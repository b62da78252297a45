//! CMML's instance-level attention (Yang et al., IJCAI 2019): per-sample weights over the
//! observed modalities and the fused prediction. The backbone fuses with it, CMML trains it.

use tch::{Kind, Tensor};

/// Attention weights (B×M): softmax of `scores` (B×M) over the observed modalities `present`
/// (B×M bool); a missing modality gets weight 0.
pub fn attention_weights(scores: &Tensor, present: &Tensor) -> Tensor {
    scores
        .masked_fill(&present.logical_not(), f64::NEG_INFINITY)
        .softmax(1, Kind::Float)
}

/// The fused prediction Σ_j w_j p_j (B×K) from per-modality probabilities `probs[j]` (B×K).
pub fn fuse(probs: &[Tensor], weights: &Tensor) -> Tensor {
    // Cannot fail on user input: a model spec always has at least one modality.
    probs
        .iter()
        .enumerate()
        .map(|(j, p)| p * weights.select(1, j as i64).unsqueeze(1))
        .reduce(|a, b| a + b)
        .expect("at least one modality")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], shape: [i64; 2]) -> Tensor {
        Tensor::from_slice(v).reshape(shape)
    }

    #[test]
    fn attention_weights_sum_to_one_over_observed_modalities() {
        let scores = t(&[0.0, (2f32).ln(), 5.0, 1.0, -3.0, 7.0], [2, 3]);
        let present = Tensor::from_slice(&[true, true, false, true, true, true]).reshape([2, 3]);
        let w = Vec::<Vec<f32>>::try_from(attention_weights(&scores, &present)).unwrap();
        // Row 0: modality 2 missing; weights 1/3, 2/3, 0.
        assert!((w[0][0] - 1.0 / 3.0).abs() < 1e-6 && (w[0][1] - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(w[0][2], 0.0);
        for row in &w {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // Fusing one-hot predictions with weights (1/3, 2/3) gives those weights back.
        let p = [
            t(&[1.0, 0.0, 1.0, 0.0], [2, 2]),
            t(&[0.0, 1.0, 0.0, 1.0], [2, 2]),
            t(&[1.0, 0.0, 0.0, 1.0], [2, 2]),
        ];
        let fused =
            Vec::<Vec<f32>>::try_from(fuse(&p, &attention_weights(&scores, &present))).unwrap();
        assert!((fused[0][0] - 1.0 / 3.0).abs() < 1e-6 && (fused[0][1] - 2.0 / 3.0).abs() < 1e-6);
    }
}
