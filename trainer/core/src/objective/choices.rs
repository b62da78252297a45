//! The objective's keyword-valued keys: the latent family, the prior expert, U's form, the
//! entropy weight, the self-training choices, the target prior and the objective itself.

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

/// How many pseudo-labels each class may gain at a self-training generation (docs/model.md
/// §12.12), on top of CReST's rates; N_k are the training labels' counts, N_0 the largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PseudoLabelCap {
    /// CReST's rates alone (Wei et al. 2021, Eq. 4).
    None,
    /// Class k gains at most N_0 − N_k: pseudo-labels fill each class up to the head's labeled
    /// count and the head gains none (round 10; the default).
    HeadGap,
    /// Class k gains at most N_0: no class's pseudo-labels outnumber the head's labels, and the
    /// head keeps CReST's share of its own (round 11's candidate).
    HeadCount,
}

keywords!(PseudoLabelCap { None => "none", HeadGap => "head-gap", HeadCount => "head-count" });

/// Which class an unlabeled sample is a candidate pseudo-label of at a self-training generation
/// (docs/model.md §12.12), before CReST's rates and the cap pick among the candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PseudoLabelSelect {
    /// The model's predicted class (CReST).
    Argmax,
    /// Classes filled to quotas from the labels' class distribution, the most probable
    /// (sample, class) pairs first ([`super::pseudo_labels::quota_assignment`]; the default since
    /// round 15).
    Quota,
}

keywords!(PseudoLabelSelect { Argmax => "argmax", Quota => "quota" });

/// The class prior a prediction targets (docs/model.md §12.1): the logits move by
/// τ (ln π_target − ln π_labels), τ = `logit_adjust`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetPrior {
    /// Uniform classes (a class-balanced test set): −τ ln π_labels, the rule before the key.
    #[default]
    Uniform,
    /// The labels' prior (a test set drawn like the training set): no shift.
    Train,
    /// The unlabeled training data's prior, estimated by EM on q(y|x) at the end of training
    /// (Saerens et al. 2002; [`super::rebalance::em_prior`]).
    Estimated,
}

keywords!(TargetPrior { Uniform => "uniform", Train => "train", Estimated => "estimated" });

/// The weight of the entropy term of U (docs/model.md §6, A5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EntropyCoef {
    /// c_S = ν τ̃_S/(ν + n_S − 2) (default; 1 for the Gaussian latent).
    C,
    /// τ_S².
    Tau2,
    /// A fixed number (1.0 is M2's weight).
    Value(f64),
}

key_value_parse!(EntropyCoef);

impl std::str::FromStr for EntropyCoef {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "c" => Ok(EntropyCoef::C),
            "tau2" => Ok(EntropyCoef::Tau2),
            v => v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(EntropyCoef::Value)
                .ok_or_else(|| {
                    format!("entropy_coef must be `c`, `tau2` or a number ≥ 0, not `{v}`")
                }),
        }
    }
}

impl std::fmt::Display for EntropyCoef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntropyCoef::C => f.write_str("c"),
            EntropyCoef::Tau2 => f.write_str("tau2"),
            EntropyCoef::Value(v) => write!(f, "{v}"),
        }
    }
}

impl Serialize for EntropyCoef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            EntropyCoef::Value(v) => s.serialize_f64(*v),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for EntropyCoef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(v) => Ok(EntropyCoef::Value(v)),
            Raw::Str(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Which objective: the paper's, or the paper's with this project's rare-class mechanisms
/// (docs/model.md §12) as their keys set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Eq. 9 with the §12 keys in force.
    #[default]
    RareClass,
    /// Eq. 9 exactly: every §12 mechanism off, whatever its key says.
    Paper,
}

keywords!(Objective { RareClass => "rare-class", Paper => "paper" });
