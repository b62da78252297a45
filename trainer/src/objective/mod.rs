//! The SSMVAE-CI objective (docs/model.md §4–§8): one function per equation, on tch tensors.
//! Everything is per sample and in natural scale (reconstruction ‖x − x̂‖²/(2σ²)), summed over
//! coordinates and never averaged over them: the constants assume the sum (§8.5).

pub mod classification;
pub mod constants;
pub mod enumeration;
pub mod gamma;
pub mod ldam;
pub mod pseudo_labels;
pub mod rebalance;
pub mod student_t;

pub use constants::SubsetConstants;

use crate::key::range::non_negative;
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
    /// (sample, class) pairs first ([`pseudo_labels::quota_assignment`]; the default since
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
    /// (Saerens et al. 2002; [`rebalance::em_prior`]).
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

/// The terms of one step's objective Ĵ (Eq. 9), batch means as the epoch record and the progress
/// bar show them.
#[derive(Debug, Default, Clone, Copy)]
pub struct StepTerms {
    /// Mean labeled γ-loss L_γ over the labeled batch.
    pub labeled: f64,
    /// Mean unlabeled U over the unlabeled batch.
    pub unlabeled: f64,
    /// Mean cross-entropy −ln q(y|x) over the labeled batch.
    pub ce: f64,
    /// The estimate Ĵ of J/N that is minimised.
    pub total: f64,
    /// The share of U's class copies enumerated under `enumeration_floor` (docs/model.md §6.5);
    /// None when every class is.
    pub enumerated: Option<f64>,
}

config_group! {
    /// The §12 rare-class mechanisms (docs/model.md §12): keys of the configuration, all off
    /// (`paper()`) under `objective = paper`. The training code reads them only through
    /// [`crate::train::config::TrainConfig::rare_class`].
    #[derive(Copy)]
    pub struct RareClass {
        // §12.1: τ = 1 is the Bayes-consistent adjustment for a class-balanced target, fixed a
        // priori (no data chose it); the other mechanisms stay off until a validation split shows
        // they earn their place (docs/results.md, rare classes).
        /// Post-hoc logit adjustment τ: predict argmax ln q(y|x) − τ ln π_y, π the labeled class
        /// frequencies (docs/model.md §12.1); 0 = off, the paper's rule.
        logit_adjust: f64 = 1.0, paper = 0.0, check = non_negative;
        /// Align q inside the unlabeled term to the labeled class frequencies (docs/model.md
        /// §12.2); false = the paper's q.
        align_unlabeled: bool = false;
        /// Ramp the unlabeled term up over this fraction of the epochs (docs/model.md §12.3); 0 =
        /// full weight from the first step (the paper).
        unlabeled_rampup: f64 = 0.0, check = |v: &f64| {
            (0.0..=1.0).contains(v).then_some(()).ok_or("must be a fraction of the epochs in [0, 1]")
        };
        /// Weight λ of the weak/strong-view consistency term on unlabeled samples: a confident
        /// weak-view prediction of q is the target of the strong view's, each such sample
        /// weighing λ times a labeled one in the classification term (docs/model.md §12.4); 0 =
        /// off (the paper).
        consistency: f64 = 0.0, check = non_negative;
        /// Confidence a weak-view prediction needs to become a consistency target (FixMatch's τ).
        consistency_threshold: f64 = 0.95, check = |v: &f64| {
            (*v > 0.0 && *v <= 1.0).then_some(()).ok_or("must be in (0, 1]")
        };
        /// Let the unlabeled term train the classifier q(y|x) only on the samples where its most
        /// probable class is the class of lowest γ-loss (docs/model.md §12.7); false = the
        /// paper's U everywhere. Needs unlabeled_form = entropy.
        agreement_gate: bool = false;
        // Round 5 (tune_balanced*.toml, rule fixed before the runs): last-epoch validation
        // balanced accuracy 78.0 / 92.6 % against 70.1 / 90.7 % (MNIST + Fashion / mfeat),
        // docs/model.md §12.9.
        /// Draw labeled batches by class: each slot a class at random (by labeled_class_power),
        /// then the next of that class's labels (docs/model.md §12.9); false = uniform over the
        /// labels (the paper). SSMVAE-CI's only: the baselines draw uniform batches whatever it
        /// says.
        balanced_labeled: bool = true, paper = false;
        /// With balanced_labeled, each slot draws class y with probability ∝ n_y^q, n_y its
        /// labels (Kang et al. 2020, Eq. 1): 0 = class-balanced, 0.5 = square-root sampling, 1 =
        /// the labels' own frequencies (docs/model.md §12.10).
        labeled_class_power: f64 = 0.0, check = |v: &f64| {
            (0.0..=1.0).contains(v).then_some(()).ok_or(
                "must be in [0, 1] (0 = class-balanced, 1 = the labels' frequencies)",
            )
        };
        // Round 10 (tune_selftrain_fill*.toml, a non-inferiority rule fixed before the runs):
        // last-epoch validation balanced accuracy 83.2 % against 80.8 % over four cells, none
        // more than 2 points below (docs/model.md §12.12). 3 generations are CReST's value.
        /// Self-training in this many generations (≥ 2; 0 = off): each generation's first epoch
        /// adds the unlabeled samples to the labeled batches under the model's predicted class,
        /// at CReST's class-rebalanced rates (docs/model.md §12.12).
        self_training_generations: usize = 3, paper = 0, check = |v: &usize| {
            (*v != 1).then_some(()).ok_or(
                "must be 0 (off) or at least 2 (the first generation has no pseudo-labels yet)",
            )
        };
        /// With self-training, how many pseudo-labels class k may gain, the most confident first
        /// (docs/model.md §12.12): head-gap N_0 − N_k (N its labeled counts, N_0 the largest), so
        /// pseudo-labels rebalance the labels and never outnumber them in the head; head-count
        /// N_0; none, CReST's rates alone.
        self_training_cap: PseudoLabelCap = PseudoLabelCap::HeadGap, paper = PseudoLabelCap::None;
        /// With self-training, each generation after the first starts from freshly initialised
        /// networks and optimiser (drawn from that epoch's seed) and learns from the labels and
        /// the new pseudo-labels alone, as CReST's reference code retrains a new model per
        /// generation (Wei et al. 2021, Alg. 1); false = one model trained on through the
        /// generations.
        self_training_restart: bool = false;
        // Round 15 (tune_quota*.toml, the same rule): 84.9 % against 82.8 % over four cells,
        // identical on ROSMAP and mfeat, +1.7 and +6.5 on MNIST + Fashion (docs/model.md
        // §12.12).
        /// With self-training, which class an unlabeled sample is a candidate pseudo-label of:
        /// quota, each class k filled to ⌊N_u N_k / N_l⌋ candidates, the most probable (sample,
        /// class) pairs first, each sample at most once (a greedy form of DARP's
        /// distribution-matching pseudo-labels, Kim et al., NeurIPS 2020), so a class the model
        /// never predicts still has candidates; argmax, the model's prediction, as CReST. CReST's
        /// rates and the cap then pick among them (docs/model.md §12.12).
        self_training_select: PseudoLabelSelect = PseudoLabelSelect::Quota,
            paper = PseudoLabelSelect::Argmax;
        /// The unlabeled term enumerates only the class copies with q(y|x) ≥ ε, and each sample's
        /// most probable class (docs/model.md §6.5): a skipped copy moves U by at most ε L_γ and
        /// costs no expert or decoder pass. 0 = every class, bit for bit Eq. 8's estimator.
        /// Needs unlabeled_form = entropy.
        enumeration_floor: f64 = 0.0, check = |v: &f64| {
            (0.0..1.0).contains(v).then_some(()).ok_or("must be in [0, 1) (0 = every class)")
        };
        // The rule before the key (uniform, τ = 1); a registered round may choose another.
        /// The class prior predictions target (docs/model.md §12.1): uniform (a class-balanced
        /// test set: −τ ln π of the labels), train (a test set drawn like the training data: no
        /// shift) or estimated (the unlabeled training data's prior, by EM on q(y|x) after
        /// training); τ = logit_adjust. Every run's results record the test scores under all
        /// three.
        target_prior: TargetPrior = TargetPrior::Uniform;
    }
}
