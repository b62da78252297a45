//! SMLN (Hu, Peng, Zhu, Zhen, Lin, "Semi-supervised multi-modal learning with balanced spectral
//! decomposition", AAAI 2020). Labeled and unlabeled samples are nodes of a similarity graph; the
//! network's class-probability outputs F are asked to be smooth on it (the spectral term
//! tr(Fᵀ L F), L = D − S) while staying **balanced** (FᵀF/n close to I/K: every class keeps mass
//! and the columns stay orthogonal, which rules out the trivial constant solution that smoothness
//! alone prefers).
//!
//! Mini-batch version, because the N × N matrix does not fit for large N: the graph is built on
//! each step's labeled + unlabeled batch only: S_ij = exp(−‖x_i − x_j‖² / σ²) for j among i's
//! `k` nearest neighbours in the batch (symmetrised), averaged over the modalities both samples
//! observe, σ² the batch's mean squared neighbour distance. The loss is
//! Σ_ij S_ij ‖f_i − f_j‖² / Σ_ij S_ij + ‖FᵀF/n − I/K‖²_F.

use tch::{Kind, Tensor};

/// The similarity matrix of a batch (n×n, zero diagonal) for one modality's inputs `x` (n×d):
/// Gaussian kernel on the `k` nearest neighbours, symmetrised by max.
pub fn knn_similarity(x: &Tensor, k: usize) -> Tensor {
    let n = x.size()[0];
    let d2 = (x.unsqueeze(1) - x.unsqueeze(0))
        .square()
        .sum_dim_intlist(2, false, None);
    let eye = Tensor::eye(n, (Kind::Bool, x.device()));
    let d2 = d2.masked_fill(&eye, f64::INFINITY);
    let k = (k as i64).min(n - 1).max(1);
    let (vals, idx) = d2.topk(k, 1, false, true);
    let sigma2 = vals.mean(Kind::Float).clamp_min(1e-8);
    let weights = (-&vals / sigma2).exp();
    let s = Tensor::zeros([n, n], (Kind::Float, x.device())).scatter(1, &idx, &weights);
    s.maximum(&s.transpose(0, 1))
}

/// The balanced spectral loss of probabilities `f` (n×K) on similarity `s` (n×n).
pub fn spectral_loss(f: &Tensor, s: &Tensor) -> Tensor {
    let n = f.size()[0] as f64;
    let k = f.size()[1];
    let diff = (f.unsqueeze(1) - f.unsqueeze(0))
        .square()
        .sum_dim_intlist(2, false, None);
    let smooth = (s * diff).sum(Kind::Float) / s.sum(Kind::Float).clamp_min(1e-12);
    let gram = f.transpose(0, 1).matmul(f) / n;
    let target = Tensor::eye(k, (Kind::Float, f.device())) / k as f64;
    smooth + (gram - target).square().sum(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectral_loss_on_a_tiny_similarity_matrix() {
        // Two nodes joined with weight 1 (S symmetric, so Σ S = 2), K = 2.
        // f_1 = (1, 0), f_2 = (0, 1): smooth = 2·1·2 / 2 = 2; FᵀF/2 = I/2 = target: balance 0.
        let s = Tensor::from_slice(&[0.0f32, 1.0, 1.0, 0.0]).reshape([2, 2]);
        let f = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0]).reshape([2, 2]);
        let l = f32::try_from(spectral_loss(&f, &s)).unwrap();
        assert!((l - 2.0).abs() < 1e-6, "{l}");
        // f_1 = f_2 = (1, 0): smooth 0; FᵀF/2 = [[1,0],[0,0]], minus I/2: 0.25 + 0.25 = 0.5.
        let f = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0]).reshape([2, 2]);
        let l = f32::try_from(spectral_loss(&f, &s)).unwrap();
        assert!((l - 0.5).abs() < 1e-6, "{l}");
    }

    #[test]
    fn knn_similarity_links_near_points_symmetrically() {
        // Points 0, 0.1, 5 on a line, k = 1: 0↔1 linked, 2's nearest is 1 (so 1↔2 too, by max).
        let x = Tensor::from_slice(&[0.0f32, 0.1, 5.0]).reshape([3, 1]);
        let s = Vec::<Vec<f32>>::try_from(knn_similarity(&x, 1)).unwrap();
        assert!(s[0][1] > 0.0 && s[0][1] == s[1][0]);
        assert!(s[1][2] > 0.0 && s[1][2] == s[2][1] && s[1][2] < s[0][1]);
        assert_eq!(s[0][2], 0.0);
        assert!((0..3).all(|i| s[i][i] == 0.0));
    }
}
