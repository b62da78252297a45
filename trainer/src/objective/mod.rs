//! The SSMVAE-CI objective (docs/model.md §4–§8): one function per equation, on tch tensors.
//! Everything is per sample and in natural scale (reconstruction ‖x − x̂‖²/(2σ²)), summed over
//! coordinates and never averaged over them: the constants assume the sum (§8.5).

pub mod classification;
pub mod constants;
pub mod gamma;
pub mod ldam;
pub mod rebalance;
pub mod student_t;

pub use constants::SubsetConstants;

use serde::{Deserialize, Serialize};

/// The latent family (docs/model.md §3–§5; `gaussian` is the closed-form limit of §5.5, the
/// SSVAE/M2 family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Latent {
    /// Student-t prior, experts and decoders with the γ-power objective (SSMVAE-CI).
    #[default]
    StudentT,
    /// Gaussian prior and experts with the KL objective (M2 / SSVAE).
    Gaussian,
}

keywords!(Latent { StudentT => "student-t", Gaussian => "gaussian" });

/// Which prior expert joins the latent product of experts (docs/model.md §3.1, \[AMBIG\] A3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriorExpert {
    /// The prior p(z) = t_m(0, I, ν): scale 1 (the literal "PoE with a prior expert").
    #[default]
    Prior,
    /// The alternative prior t_m(0, τ_S² I, ν + n_S): the uninformed PoE is then the γ-optimum.
    AltPrior,
    /// No prior expert (with one modality this is t³VAE's parameterisation).
    None,
}

keywords!(PriorExpert { Prior => "prior", AltPrior => "alt-prior", None => "none" });

/// Which form of the unlabeled objective (docs/model.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnlabeledForm {
    /// U = Σ_y q(y|x) L_γ(x, y) − c_S H(q) (Eq. 8).
    #[default]
    Entropy,
    /// U2, the exact γ-power treatment of the discrete latent (variant U2 of §6).
    ExactGamma,
}

keywords!(UnlabeledForm { Entropy => "entropy", ExactGamma => "exact-gamma" });
