//! The γ-power objective: the regulariser R_S, the labeled loss L_γ (Eq. 7) and the unlabeled
//! objective U (Eq. 8) with its exact-γ variant U2, on B-batches of tch tensors.

use super::Latent;
use tch::Tensor;

/// Per-sample constants of a batch, each a B-vector (docs/model.md §5.1), gathered from the
/// sample's observed subset S. For the Gaussian latent they hold the limits of §5.5.
#[derive(Debug)]
pub struct BatchConstants {
    /// (ν + n_S)/(ν + n_S − 2): the trace coefficient in scale space.
    pub trace_coef: Tensor,
    /// ln((ν + n_S)/ν): ln Σ_φ = ln S_q + this.
    pub log_sigma_shift: Tensor,
    /// e_S.
    pub e: Tensor,
    /// ν C_S.
    pub nu_c: Tensor,
    /// K1_S = ν(C_S − τ̃_S).
    pub k1: Tensor,
    /// The entropy coefficient of U (c_S by default; see `entropy_coef`).
    pub c: Tensor,
    /// ν + n_S (the posterior's and the χ² draw's degrees of freedom).
    pub dof: Tensor,
    /// τ_S² (scale of the alternative prior expert).
    pub tau2: Tensor,
    /// Label-prior term added to L_γ for every class: −c_S ln π_y, B×K (zeros for a uniform prior).
    pub label_prior: Option<Tensor>,
}

impl BatchConstants {
    /// The same subset's constants for every sample of a batch of `batch` (f64 `kind` in tests).
    /// `nu` is ν (ignored for the Gaussian latent, whose constants are the ν → ∞ limits).
    pub fn uniform(
        k: &super::SubsetConstants,
        nu: f64,
        latent: Latent,
        batch: i64,
        kind: tch::Kind,
    ) -> Self {
        let fill = |v: f64| Tensor::full([batch], v, (kind, tch::Device::Cpu));
        let (trace_coef, shift, dof) = k.scale_space_terms(nu, latent);
        BatchConstants {
            trace_coef: fill(trace_coef),
            log_sigma_shift: fill(shift),
            e: fill(k.e),
            nu_c: fill(nu * k.c_big),
            k1: fill(k.k1),
            c: fill(k.c),
            dof: fill(dof),
            tau2: fill(k.tau2),
            label_prior: None,
        }
    }

    /// The same constants for each of the K class copies of an unlabeled batch (class-major: copy
    /// y of sample b sits at y·B + b).
    pub fn tile(&self, k: i64) -> Self {
        self.map_rows(|x| tile_rows(x, k))
    }

    /// Every constant (the B-vectors and the B×K label prior) through `f` along its rows: the
    /// constants of an unlabeled batch's class copies, the batch tiled K times (class-major: copy y
    /// of sample b at y·B + b) or the copies an enumeration floor keeps (docs/model.md §6.5).
    pub fn map_rows(&self, f: impl Fn(&Tensor) -> Tensor) -> Self {
        BatchConstants {
            trace_coef: f(&self.trace_coef),
            log_sigma_shift: f(&self.log_sigma_shift),
            e: f(&self.e),
            nu_c: f(&self.nu_c),
            k1: f(&self.k1),
            c: f(&self.c),
            dof: f(&self.dof),
            tau2: f(&self.tau2),
            label_prior: self.label_prior.as_ref().map(&f),
        }
    }
}

/// `x` (B×…) stacked `k` times along its rows: row y·B + b is row b of copy y (the class-major
/// layout of U's class copies).
pub fn tile_rows(x: &Tensor, k: i64) -> Tensor {
    let mut reps = vec![1; x.dim()];
    reps[0] = k;
    x.repeat(reps)
}

/// The γ-regulariser R_S(μ, Σ_φ) of docs/model.md §5.2 in the cancellation-free form of §8.3,
/// written in scale space (μ and ln S_q of the PoE posterior, B×m):
///
/// R_S = ‖μ‖² + (ν+n_S)/(ν+n_S−2) tr S_q − ν C_S expm1(e_S Σ_k ln Σ_φ,k) − K1_S,
/// ln Σ_φ = ln S_q + ln((ν+n_S)/ν).
///
/// `latent = gaussian` gives the limit 2 KL(N(μ, S_q) ‖ N(0, I)) = ‖μ‖² + tr S_q − Σ ln S_q − m
/// (§5.5). Returns a B-vector.
pub fn regularizer(mu: &Tensor, log_sq: &Tensor, k: &BatchConstants, latent: Latent) -> Tensor {
    let mu2 = mu.square().sum_dim_intlist(1, false, None);
    let tr = log_sq.exp().sum_dim_intlist(1, false, None);
    let sum_log = log_sq.sum_dim_intlist(1, false, None);
    match latent {
        Latent::StudentT => {
            let m = log_sq.size()[1] as f64;
            let log_det_sigma = sum_log + &k.log_sigma_shift * m;
            mu2 + &k.trace_coef * tr - &k.nu_c * (&k.e * log_det_sigma).expm1() - &k.k1
        }
        Latent::Gaussian => mu2 + tr - sum_log - (log_sq.size()[1] as f64),
    }
}

/// The labeled γ-loss L_γ(x_S, y) of Eq. 7 (docs/model.md §5.2): the reconstruction
/// Σ_{j∈S} ‖x_j − μ_θ,j(z, y)‖²/(2σ_j²) (a B-vector, z one t-draw from the PoE posterior) plus
/// ½ R_S, plus the label-prior term −c_S ln π_y when `label_prior = empirical` (§2).
pub fn gamma_loss_labeled(
    recon: &Tensor,
    mu: &Tensor,
    log_sq: &Tensor,
    y: &Tensor,
    k: &BatchConstants,
    latent: Latent,
) -> Tensor {
    let loss = recon + regularizer(mu, log_sq, k, latent) * 0.5;
    match &k.label_prior {
        Some(p) => loss + p.gather(1, &y.unsqueeze(1), false).squeeze_dim(1),
        None => loss,
    }
}

/// The unlabeled objective U(x_S) of Eq. 8 (docs/model.md §6):
/// U = Σ_y q(y|x) L_γ(x, y) − c_S H(q(·|x)), with `losses` = L_γ(x, y) as B×K, `log_q` the
/// classifier PoE's log-probabilities (B×K) and `c` the entropy coefficient (B).
pub fn gamma_loss_unlabeled(losses: &Tensor, log_q: &Tensor, c: &Tensor) -> Tensor {
    let q = log_q.exp();
    let expected = (&q * losses).sum_dim_intlist(1, false, None);
    let entropy = -(&q * log_q).sum_dim_intlist(1, false, None);
    expected - c * entropy
}

/// Variant U2 (`unlabeled_form = exact-gamma`, docs/model.md §6.3): the exact γ-power treatment of the
/// discrete latent, in a cancellation-free form. With s_y = Σ_k ln Σ_φ,y,k and log q clamped ≥ −30,
///
/// U2 = Σ_y q_y [recon_y + ½(‖μ_y‖² + (ν+n_S)/(ν+n_S−2) tr S_q,y)] − ½ K1_S
///      − ½ ν C_S Σ_y q_y expm1(e_S (s_y − 2 ln q_y)),
///
/// which equals L_γ(x, y*) exactly for one-hot q. Inputs are B×K (`recon`), K-major lists of B×m
/// posteriors flattened to (K·B)×m (`mu`, `log_sq`), and B×K `log_q`.
pub fn gamma_loss_unlabeled_exact(
    recon: &Tensor,
    mu: &Tensor,
    log_sq: &Tensor,
    log_q: &Tensor,
    k: &BatchConstants,
) -> Tensor {
    let (b, classes) = (log_q.size()[0], log_q.size()[1]);
    let m = log_sq.size()[1] as f64;
    let per_class = |t: Tensor| t.reshape([classes, b]).transpose(0, 1);
    let mu2 = per_class(mu.square().sum_dim_intlist(1, false, None));
    let tr = per_class(log_sq.exp().sum_dim_intlist(1, false, None));
    let s = per_class(log_sq.sum_dim_intlist(1, false, None)) + k.log_sigma_shift.unsqueeze(1) * m;
    let log_q = log_q.clamp_min(-30.0);
    let q = log_q.exp();
    let inner = recon + (mu2 + k.trace_coef.unsqueeze(1) * tr) * 0.5;
    let log_det =
        (&q * (k.e.unsqueeze(1) * (s - &log_q * 2.0)).expm1()).sum_dim_intlist(1, false, None);
    (&q * inner).sum_dim_intlist(1, false, None) - &k.k1 * 0.5 - &k.nu_c * log_det * 0.5
}
