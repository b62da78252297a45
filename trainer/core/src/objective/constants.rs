//! The closed-form constants of the γ-power objective (docs/model.md §5.1), one set per observed
//! subset S of modalities, computed once in f64 log space: ln B_S is 600–8000 for image data, so
//! B_S itself overflows f64 (§8.1) and is never formed.

/// ln C_{k,d}: the log-normaliser of a d-dimensional Student-t with k degrees of freedom
/// (docs/model.md §1): lnΓ((k+d)/2) − lnΓ(k/2) − d/2 · ln(kπ).
pub fn log_c(k: f64, d: f64) -> f64 {
    libm::lgamma((k + d) / 2.0) - libm::lgamma(k / 2.0) - d / 2.0 * (k * std::f64::consts::PI).ln()
}

/// The constants of one observed subset S (docs/model.md §5.1 table, §8.3 for `k1`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubsetConstants {
    /// n_S = Σ_{j∈S} n_j, the observed data dimension.
    pub n_s: f64,
    /// γ_S = −2/(ν + n_S + m).
    pub gamma: f64,
    /// e_S = 1/(ν + n_S + m − 2), t³VAE's exponent of |Σ_φ|.
    pub e: f64,
    /// ln B_S.
    pub log_b: f64,
    /// C_S (t³VAE's `const_2bar1`).
    pub c_big: f64,
    /// τ̃_S, the per-coordinate minimiser of Σ_φ.
    pub tau_tilde: f64,
    /// τ_S² = ν/(ν+n_S) · τ̃_S, the minimiser of S_q and the alternative prior's scale.
    pub tau2: f64,
    /// K1_S = ν(C_S − τ̃_S), evaluated without cancellation (§8.3).
    pub k1: f64,
    /// c_S = ν τ̃_S/(ν + n_S − 2), the entropy coefficient of U (§6).
    pub c: f64,
}

impl SubsetConstants {
    /// Constants for degrees of freedom `nu` (> 2), observed dimension `n_s`, latent dimension `m`
    /// and Σ_{j∈S} n_j ln σ_j (0 when every σ_j = 1).
    pub fn new(nu: f64, n_s: f64, m: f64, sum_nj_log_sigma: f64) -> Self {
        let log_b = -sum_nj_log_sigma + log_c(nu, n_s) + (nu - 2.0).ln() - (nu + n_s - 2.0).ln();
        let e = 1.0 / (nu + n_s + m - 2.0);
        let r = m / (nu + n_s - 2.0);
        let tau_tilde = (2.0 * log_b / (nu + n_s - 2.0)).exp();
        let c_big = (r.ln_1p() + 2.0 * e * log_b).exp();
        let k1 =
            nu * tau_tilde * ((1.0 + r) * (-2.0 * m * log_b * e / (nu + n_s - 2.0)).exp_m1() + r);
        SubsetConstants {
            n_s,
            gamma: -2.0 / (nu + n_s + m),
            e,
            log_b,
            c_big,
            tau_tilde,
            tau2: nu / (nu + n_s) * tau_tilde,
            k1,
            c: nu * tau_tilde / (nu + n_s - 2.0),
        }
    }

    /// The scale-space terms of the posterior for this subset: the trace coefficient
    /// (ν+n_S)/(ν+n_S−2), the shift ln((ν+n_S)/ν) from ln S_q to ln Σ_φ, and the degrees of freedom
    /// ν+n_S (§3.1, §5.2); their Gaussian limits (1, 0, ∞) for `latent = gaussian`.
    pub fn scale_space_terms(&self, nu: f64, latent: super::choices::Latent) -> (f64, f64, f64) {
        let n_s = self.n_s;
        match latent {
            super::choices::Latent::StudentT => (
                (nu + n_s) / (nu + n_s - 2.0),
                ((nu + n_s) / nu).ln(),
                nu + n_s,
            ),
            super::choices::Latent::Gaussian => (1.0, 0.0, f64::INFINITY),
        }
    }

    /// The Gaussian limit ν → ∞ (docs/model.md §5.5): τ̃ = τ² = c = 1, K1 = m, e → 0.
    pub fn gaussian(n_s: f64, m: f64) -> Self {
        SubsetConstants {
            n_s,
            gamma: 0.0,
            e: 0.0,
            log_b: f64::NAN,
            c_big: f64::NAN,
            tau_tilde: 1.0,
            tau2: 1.0,
            k1: m,
            c: 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    /// Oracle 9.1: constants(5, 3856, 64) against the verified values of docs/model.md §9.
    #[test]
    fn oracle_9_1_constants_regression() {
        let k = SubsetConstants::new(5.0, 3856.0, 64.0, 0.0);
        assert!(rel(k.c_big, 43.19974) < 1e-6, "C = {}", k.c_big);
        assert!(rel(k.tau_tilde, 45.22129) < 1e-6, "tau~ = {}", k.tau_tilde);
        assert!(rel(k.tau2, 0.0585616) < 1e-6, "tau2 = {}", k.tau2);
        assert!(rel(k.c, 0.0585920) < 1e-6, "c = {}", k.c);
        assert!(rel(k.k1, -10.10775) < 1e-6, "K1 = {}", k.k1);
        // The cancellation-free K1 equals ν C − ν τ̃ computed directly.
        assert!((5.0 * k.c_big - 5.0 * k.tau_tilde - k.k1).abs() < 1e-9);
        // ν' τ² = ν τ̃ (t³VAE's constant term).
        assert!((3861.0 * k.tau2 - 5.0 * k.tau_tilde).abs() < 1e-9);
        // Rows of the ν table in §8 for the joint n = 3856.
        let k10 = SubsetConstants::new(10.0, 3856.0, 64.0, 0.0);
        assert!(rel(k10.c, 0.058827) < 1e-4 && rel(k10.k1, -7.701) < 1e-3);
        let single = SubsetConstants::new(10.0, 784.0, 64.0, 0.0);
        assert!(rel(single.tau2, 0.059885) < 1e-4 && rel(single.c, 0.060036) < 1e-4);
    }

    /// Oracle 9.5 (constants part): at ν = 10⁶, n_S = 10, m = 3 the constants reach the Gaussian
    /// limit: c → 1, τ̃ → 1, K1 → m.
    #[test]
    fn oracle_9_5_constants_gaussian_limit() {
        let k = SubsetConstants::new(1e6, 10.0, 3.0, 0.0);
        assert!((k.c - 1.0).abs() < 1e-4, "c = {}", k.c);
        assert!((k.tau_tilde - 1.0).abs() < 1e-4, "tau~ = {}", k.tau_tilde);
        assert!((k.k1 - 3.0).abs() < 1e-4, "K1 = {}", k.k1);
    }
}
