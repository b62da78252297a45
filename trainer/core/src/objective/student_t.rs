//! The Student-t pieces: the log-density (for tests and likelihoods) and the t-reparameterisation
//! of docs/model.md §4 (the paper's modified reparameterisation, Eq. 10, \[AMBIG\] A9).

use super::constants::log_c;
use tch::{Kind, Tensor};

/// ln t_d(x | μ, diag(s), k) for a diagonal scale `s` (docs/model.md §1), in f64.
pub fn log_density_diag(x: &[f64], mu: &[f64], scale: &[f64], k: f64) -> f64 {
    let d = x.len() as f64;
    let quad: f64 = x
        .iter()
        .zip(mu)
        .zip(scale)
        .map(|((x, m), s)| (x - m).powi(2) / s)
        .sum();
    let log_det: f64 = scale.iter().map(|s| s.ln()).sum();
    log_c(k, d) - 0.5 * log_det - (k + d) / 2.0 * (quad / k).ln_1p()
}

/// √((ν + n_S)/v) with one v ~ χ²(ν + n_S) per sample, drawn as 2·Gamma((ν + n_S)/2, 1) (§4, §8.6).
/// `dof` is a B-vector (per-sample degrees of freedom when samples observe different modalities);
/// the result is B×1, to be shared by every latent coordinate of its sample — otherwise z would not
/// be multivariate t. No gradient flows through it: ν is fixed and v has no parameters.
pub fn chi_factor(dof: &Tensor) -> Tensor {
    // The χ² draw on the host, as `normal_like`.
    let host = dof.to_device(tch::Device::Cpu);
    let v = (&host / 2.0).internal_standard_gamma() * 2.0;
    (&host / v)
        .sqrt()
        .unsqueeze(1)
        .detach()
        .to_device(dof.device())
}

/// The t-reparameterisation (docs/model.md §4, Eq. 10):
/// z = μ + √S_q ⊙ ε · √((ν + n_S)/v), with ε ~ N(0, I) of μ's shape and `chi` = [`chi_factor`]
/// (B×1). Passing a `chi` of ones gives the Gaussian reparameterisation z = μ + √S_q ⊙ ε.
pub fn t_reparameterize(mu: &Tensor, log_sq: &Tensor, eps: &Tensor, chi: &Tensor) -> Tensor {
    mu + (log_sq * 0.5).exp() * eps * chi
}

/// Standard normal noise of `like`'s shape, kind and device.
pub fn normal_like(like: &Tensor) -> Tensor {
    // Drawn by the host's generator and copied: a run on a GPU draws the very numbers a CPU run
    // of the same seed draws (the GPU check compares the two step by step); on the CPU the copy
    // is a no-op.
    Tensor::randn(like.size(), (like.kind(), tch::Device::Cpu)).to_device(like.device())
}

/// A B×1 tensor of ones (the χ² factor of the Gaussian latent).
pub fn no_chi(batch: i64, like: &Tensor) -> Tensor {
    Tensor::ones([batch, 1], (like.kind(), like.device()))
}

/// Degrees of freedom as a tensor of `kind` (helper for tests and the Gaussian latent).
pub fn dof_tensor(values: &[f64], kind: Kind) -> Tensor {
    Tensor::from_slice(values).to_kind(kind)
}
