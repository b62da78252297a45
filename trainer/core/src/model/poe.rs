//! The latent product of experts with a prior expert (docs/model.md §3.1, paper Eq. 6).

use tch::Tensor;

/// The PoE posterior q(z | x_S, y) = t_m(μ, diag S_q, ν + n_S), by its location and ln S_q.
#[derive(Debug)]
pub struct Posterior {
    /// Location μ, B×m.
    pub mu: Tensor,
    /// ln S_q, B×m (S_q is the diagonal scale, ≤ 1 with the prior expert).
    pub log_sq: Tensor,
}

/// MVAE's precision-weighted rule applied to the t scales, coordinate by coordinate, in the stable
/// logsumexp form of §3.1:
///
/// ln S_q = −logsumexp(−ℓ_0, −ℓ_{j1}, …), w_j = exp(−ℓ_j + ln S_q), μ = Σ_j w_j μ_j,
///
/// where ℓ_j = ln s_j are the experts' log-scales (B×m each), `present` (B×M bool) skips missing
/// experts (λ_j = 0), and `prior_log_scale` is ℓ_0 of the prior expert (B×1: 0 for p(z), ln τ_S²
/// for the alternative prior) or `None` for no prior expert. The prior's mean is 0.
pub fn latent_poe(
    mus: &[Tensor],
    log_scales: &[Tensor],
    present: &Tensor,
    prior_log_scale: Option<&Tensor>,
) -> Posterior {
    let neg: Vec<Tensor> = log_scales
        .iter()
        .enumerate()
        .map(|(j, l)| {
            let mask = present.select(1, j as i64).unsqueeze(1);
            (-l).masked_fill(&mask.logical_not(), f64::NEG_INFINITY)
        })
        .collect();
    let mut terms: Vec<Tensor> = neg.iter().map(|t| t.unsqueeze(1)).collect();
    if let Some(l0) = prior_log_scale {
        let like = &log_scales[0];
        terms.push((-l0).expand_as(like).unsqueeze(1));
    }
    let log_sq = -Tensor::cat(&terms, 1).logsumexp([1], false);
    let mut mu = log_sq.zeros_like();
    for (n, m) in neg.iter().zip(mus) {
        mu += (n + &log_sq).exp() * m;
    }
    Posterior { mu, log_sq }
}
