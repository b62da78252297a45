//! The groups of a training configuration. Each group owns its keys, their defaults (the one
//! source of every default: the CLI help reads them from here through `TrainConfig::default()`)
//! and the range check of each key. In a TOML file and on the command line the keys stay flat
//! (`nu = 5`, `--nu 5`): the groups are the library's structure, not a new file format.

use super::choices::{
    AlphaScale, ClassifierLoss, DeviceChoice, Fusion, Hidden, LabelPrior, Mode, Precision,
};
use crate::data::TransformChoice;
use crate::error::{DataError, Result};
use crate::objective::{
    EntropyCoef, Latent, Objective, PriorExpert, PseudoLabelCap, PseudoLabelSelect, RareClass,
    TargetPrior, UnlabeledForm,
};
use crate::protocol::{Missing, Rho};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The error of a key whose value is out of range.
pub(super) fn bad(name: &'static str, value: String, reason: &str) -> Result<()> {
    Err(DataError::InvalidParameter {
        name,
        value,
        reason: reason.into(),
    }
    .into())
}

/// `v` must be finite and ≥ 0.
pub(super) fn non_negative(name: &'static str, v: f64) -> Result<()> {
    if v >= 0.0 && v.is_finite() {
        Ok(())
    } else {
        bad(name, v.to_string(), "must be a finite number ≥ 0")
    }
}

/// The model: latent family, fusion, networks (docs/model.md §2-3, §11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelConfig {
    /// Student-t (SSMVAE-CI) or Gaussian (SSVAE/M2) latent.
    pub latent: Latent,
    /// Product of experts, early or late fusion.
    pub fusion: Fusion,
    /// Semi-supervised or supervised-only.
    pub mode: Mode,
    /// Degrees of freedom ν (> 2).
    pub nu: f64,
    /// Latent dimension m.
    pub latent_dim: usize,
    /// Hidden layer widths: `auto` (the size rule, docs/model.md §11.1) or given; `[]` makes the
    /// networks linear (the SSMVAE family only).
    pub hidden: Hidden,
    /// Prior expert of the latent PoE.
    pub prior_expert: PriorExpert,
    /// Class prior p(y).
    pub label_prior: LabelPrior,
    /// Decoder scale σ.
    pub sigma: f64,
    /// Compute each expert's first-layer x-part once and reuse it for all K classes of the
    /// unlabeled term (true; false recomputes it per class, for measuring the saving).
    pub shared_first_layer: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            latent: Latent::StudentT,
            fusion: Fusion::Poe,
            mode: Mode::Semi,
            nu: 10.0,
            latent_dim: 64,
            hidden: Hidden::Auto,
            prior_expert: PriorExpert::Prior,
            label_prior: LabelPrior::Uniform,
            sigma: 1.0,
            shared_first_layer: true,
        }
    }
}

impl ModelConfig {
    /// The range of each key of the group.
    pub fn validate(&self) -> Result<()> {
        if self.latent == Latent::StudentT && !(self.nu > 2.0 && self.nu.is_finite()) {
            return bad(
                "nu",
                self.nu.to_string(),
                "the Student-t objective needs finite ν > 2",
            );
        }
        if self.latent_dim == 0 {
            return bad("latent_dim", "0".into(), "must be ≥ 1");
        }
        if matches!(&self.hidden, Hidden::Widths(w) if w.contains(&0)) {
            return bad(
                "hidden",
                self.hidden.to_string(),
                "every hidden layer must be ≥ 1 wide",
            );
        }
        if !(self.sigma > 0.0 && self.sigma.is_finite()) {
            return bad("sigma", self.sigma.to_string(), "must be > 0");
        }
        Ok(())
    }
}

/// The objective: Eq. 9's weights and form, the LDAM-DRW loss, and the §12 rare-class keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectiveConfig {
    /// `rare-class` (the default: the §12 keys below in force) or `paper` (Eq. 9 exactly, the §12
    /// keys ignored).
    #[serde(rename = "objective")]
    pub kind: Objective,
    /// a in α̃ = a N/N_l, the classification weight per labeled sample (Eq. 9).
    pub alpha_a: f64,
    /// Candidate values of a, one chosen per run on a held-out part of the labels
    /// (docs/model.md §12.8); empty = `alpha_a` as given.
    pub alpha_a_candidates: Vec<f64>,
    /// `dimension`: α̃ grows with the input dimension a sample observes above the one a was
    /// validated at (docs/model.md §12.14); `none`: Eq. 9's α̃. Ignored under `objective = paper`.
    pub alpha_scale: AlphaScale,
    /// Entropy weight of U.
    pub entropy_coef: EntropyCoef,
    /// Form of the unlabeled objective.
    pub unlabeled_form: UnlabeledForm,
    /// Classification loss on labeled samples (`ldam` for the LDAM-DRW baseline).
    pub classifier_loss: ClassifierLoss,
    /// LDAM's largest margin Δ, in logit units (the rarest class's).
    pub ldam_max_margin: f64,
    /// Deferred re-weighting: β of the effective number (1 − β^n)/(1 − β); 0 = no re-weighting.
    pub drw_beta: f64,
    /// Deferred re-weighting starts after this fraction of the epochs (Cao et al.: 160 of 200).
    pub drw_start: f64,
    /// Post-hoc logit adjustment τ at prediction: argmax ln q(y|x) − τ ln π_y, π the labeled
    /// class frequencies (docs/model.md §12.1); 1 by default, 0 = off (the paper).
    pub logit_adjust: f64,
    /// Distribution alignment of the class weights q inside U toward the labeled class
    /// frequencies (docs/model.md §12.2); false = the paper's q.
    pub align_unlabeled: bool,
    /// Ramp-up of the unlabeled term over this fraction of the epochs (docs/model.md §12.3);
    /// 0 = full weight from the first step (the paper).
    pub unlabeled_rampup: f64,
    /// Weight λ of the consistency term on unlabeled samples: a confident weak-view prediction
    /// of q is the target of the strong view's, each such sample weighing λ times a labeled one
    /// in the classification term (docs/model.md §12.4); 0 = off (the paper).
    pub consistency: f64,
    /// Confidence a weak-view prediction needs to become a consistency target (FixMatch's τ).
    pub consistency_threshold: f64,
    /// U trains the classifier q(y|x) only on the unlabeled samples where its most probable class
    /// is the class of lowest γ-loss (docs/model.md §12.7); false = the paper's U everywhere.
    /// Needs `unlabeled_form = entropy`.
    pub agreement_gate: bool,
    /// Labeled batches drawn by class: each slot a class at random (by `labeled_class_power`),
    /// then the next of that class's labels (docs/model.md §12.9; the default); false = uniform
    /// over the labels (the paper). SSMVAE-CI's only: the baselines draw uniform batches whatever
    /// it says.
    pub balanced_labeled: bool,
    /// With `balanced_labeled`, each slot draws class y with probability ∝ n_y^q, n_y its labels
    /// (Kang et al. 2020, Eq. 1): 0 = class-balanced (the default), 0.5 = square-root sampling,
    /// 1 = the labels' own frequencies (docs/model.md §12.10).
    pub labeled_class_power: f64,
    /// Self-training in this many generations (docs/model.md §12.12): at each generation's first
    /// epoch the unlabeled samples join the labeled batches under the model's predicted class, at
    /// CReST's class-rebalanced rates; 0 = off (the paper); 3 by default.
    pub self_training_generations: usize,
    /// With self-training, how many pseudo-labels class k may gain, the most confident first
    /// (docs/model.md §12.12): `head-gap` (the default) N_0 − N_k (N its labeled counts, N_0 the
    /// largest), so pseudo-labels rebalance the labels and never outnumber them in the head;
    /// `head-count` N_0; `none` CReST's rates alone.
    pub self_training_cap: PseudoLabelCap,
    /// With self-training, each generation after the first starts from freshly initialised
    /// networks and optimiser (drawn from that epoch's seed) and learns from the labels and the
    /// new pseudo-labels alone, as CReST's reference code retrains a new model per generation
    /// (Wei et al. 2021, Alg. 1; docs/model.md §12.12); false = one model trained on through the
    /// generations (the default).
    pub self_training_restart: bool,
    /// With self-training, which class an unlabeled sample is a candidate pseudo-label of:
    /// `argmax` the model's prediction, as CReST; `quota` (the default) each class k filled to
    /// ⌊N_u N_k / N_l⌋ candidates, the most probable (sample, class) pairs first, each sample at
    /// most once (a greedy form of DARP's distribution-matching pseudo-labels, Kim et al.,
    /// NeurIPS 2020; docs/model.md §12.12), so a class the model never predicts still has
    /// candidates. CReST's rates and the cap then pick among them.
    pub self_training_select: PseudoLabelSelect,
    /// U enumerates only the class copies with q(y|x) ≥ ε, and each sample's most probable class
    /// (docs/model.md §6.5): a skipped copy moves U by at most ε L_γ and costs no expert or
    /// decoder pass. 0 = every class, bit for bit Eq. 8's estimator. Needs `unlabeled_form =
    /// entropy`.
    pub enumeration_floor: f64,
    /// The class prior predictions target (docs/model.md §12.1): `uniform` (the default, a
    /// class-balanced test set), `train` (the labels' prior), `estimated` (the unlabeled data's,
    /// by EM at the end of training). The shift's strength is `logit_adjust`.
    pub target_prior: TargetPrior,
}

impl Default for ObjectiveConfig {
    fn default() -> Self {
        ObjectiveConfig {
            kind: Objective::RareClass,
            // tune_rare.toml and tune_rare_mfeat.toml (validation splits of the labels, decision
            // rule fixed before the runs): a = 3 over 0.3, 97.1 % against 93.7 % validation
            // balanced accuracy on MNIST + Fashion-MNIST and 91.4 % against 74.7 % on mfeat
            // (docs/model.md §12.6). The paper's rows pin 0.3, the value they were run with.
            alpha_a: 3.0,
            alpha_a_candidates: Vec::new(),
            alpha_scale: AlphaScale::None,
            entropy_coef: EntropyCoef::C,
            unlabeled_form: UnlabeledForm::Entropy,
            classifier_loss: ClassifierLoss::Ce,
            ldam_max_margin: 0.5,
            drw_beta: 0.0,
            drw_start: 0.8,
            // §12.1: τ = 1 is the Bayes-consistent adjustment for a class-balanced target, fixed
            // a priori (no data chose it); the other mechanisms stay off until a validation split
            // shows they earn their place (docs/results.md, rare classes).
            logit_adjust: 1.0,
            align_unlabeled: false,
            unlabeled_rampup: 0.0,
            consistency: 0.0,
            consistency_threshold: 0.95,
            agreement_gate: false,
            // Round 5 (tune_balanced*.toml, rule fixed before the runs): last-epoch validation
            // balanced accuracy 78.0 / 92.6 % against 70.1 / 90.7 % (MNIST + Fashion / mfeat),
            // docs/model.md §12.9.
            balanced_labeled: true,
            labeled_class_power: 0.0,
            // Round 10 (tune_selftrain_fill*.toml, a non-inferiority rule fixed before the runs):
            // last-epoch validation balanced accuracy 83.2 % against 80.8 % over four cells, none
            // more than 2 points below (docs/model.md §12.12). 3 generations are CReST's value.
            self_training_generations: 3,
            self_training_cap: PseudoLabelCap::HeadGap,
            self_training_restart: false,
            // Round 15 (tune_quota*.toml, the same rule): 84.9 % against 82.8 % over four cells,
            // identical on ROSMAP and mfeat, +1.7 and +6.5 on MNIST + Fashion (docs/model.md
            // §12.12).
            self_training_select: PseudoLabelSelect::Quota,
            enumeration_floor: 0.0,
            // The rule before the key (uniform, τ = 1); a registered round may choose another.
            target_prior: TargetPrior::Uniform,
        }
    }
}

impl ObjectiveConfig {
    /// The range of each key of the group.
    pub fn validate(&self) -> Result<()> {
        non_negative("alpha_a", self.alpha_a)?;
        for &a in &self.alpha_a_candidates {
            non_negative("alpha_a_candidates", a)?;
        }
        non_negative("logit_adjust", self.logit_adjust)?;
        non_negative("consistency", self.consistency)?;
        if !(0.0..=1.0).contains(&self.labeled_class_power) {
            return bad(
                "labeled_class_power",
                self.labeled_class_power.to_string(),
                "must be in [0, 1] (0 = class-balanced, 1 = the labels' frequencies)",
            );
        }
        if self.self_training_generations == 1 {
            return bad(
                "self_training_generations",
                "1".into(),
                "must be 0 (off) or at least 2 (the first generation has no pseudo-labels yet)",
            );
        }
        if !(self.consistency_threshold > 0.0 && self.consistency_threshold <= 1.0) {
            return bad(
                "consistency_threshold",
                self.consistency_threshold.to_string(),
                "must be in (0, 1]",
            );
        }
        if !(0.0..=1.0).contains(&self.unlabeled_rampup) {
            return bad(
                "unlabeled_rampup",
                self.unlabeled_rampup.to_string(),
                "must be a fraction of the epochs in [0, 1]",
            );
        }
        if !(0.0..1.0).contains(&self.enumeration_floor) {
            return bad(
                "enumeration_floor",
                self.enumeration_floor.to_string(),
                "must be in [0, 1) (0 = every class)",
            );
        }
        if self.enumeration_floor > 0.0 && self.unlabeled_form == UnlabeledForm::ExactGamma {
            return bad(
                "enumeration_floor",
                self.enumeration_floor.to_string(),
                "needs unlabeled_form = entropy (U2's terms do not vanish with q_y)",
            );
        }
        if self.agreement_gate && self.unlabeled_form == UnlabeledForm::ExactGamma {
            return bad(
                "agreement_gate",
                "true".into(),
                "needs unlabeled_form = entropy (U2 has no per-class γ-loss to compare)",
            );
        }
        non_negative("ldam_max_margin", self.ldam_max_margin)?;
        if !(0.0..1.0).contains(&self.drw_beta) {
            return bad("drw_beta", self.drw_beta.to_string(), "must be in [0, 1)");
        }
        if !(0.0..=1.0).contains(&self.drw_start) {
            return bad("drw_start", self.drw_start.to_string(), "must be in [0, 1]");
        }
        Ok(())
    }

    /// The §12 mechanisms in force: the keys, or all off for `objective = paper`. The training
    /// code reads them only through here.
    pub fn rare_class(&self) -> RareClass {
        match self.kind {
            Objective::Paper => RareClass::PAPER,
            Objective::RareClass => RareClass {
                logit_adjust: self.logit_adjust,
                align_unlabeled: self.align_unlabeled,
                unlabeled_rampup: self.unlabeled_rampup,
                consistency: self.consistency,
                consistency_threshold: self.consistency_threshold,
                agreement_gate: self.agreement_gate,
                balanced_labeled: self.balanced_labeled,
                labeled_class_power: self.labeled_class_power,
                self_training_generations: self.self_training_generations,
                self_training_cap: self.self_training_cap,
                self_training_restart: self.self_training_restart,
                self_training_select: self.self_training_select,
                enumeration_floor: self.enumeration_floor,
                target_prior: self.target_prior,
            },
        }
    }
}

/// The optimiser and its schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OptimConfig {
    /// Adam learning rate.
    pub lr: f64,
    /// Training epochs (one epoch = one pass over the unlabeled set, or the labeled set when
    /// there is no unlabeled data).
    pub epochs: usize,
    /// Labeled samples per step.
    pub batch_labeled: usize,
    /// Unlabeled samples per step.
    pub batch_unlabeled: usize,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            lr: 1e-3,
            epochs: 30,
            batch_labeled: 50,
            batch_unlabeled: 50,
        }
    }
}

impl OptimConfig {
    /// The range of each key of the group.
    pub fn validate(&self) -> Result<()> {
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", self.lr.to_string(), "must be > 0");
        }
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "must be ≥ 1");
        }
        if self.batch_labeled == 0 || self.batch_unlabeled == 0 {
            return bad(
                "batch_labeled",
                format!("{}/{}", self.batch_labeled, self.batch_unlabeled),
                "batch sizes must be ≥ 1",
            );
        }
        Ok(())
    }
}

/// One run: its seed, its device and its model selection.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunConfig {
    /// Seed of the split, the initialisation and every draw.
    pub seed: u64,
    /// Where to train.
    pub device: DeviceChoice,
    /// The precision of the training step's matrix products (f32 or bf16).
    pub precision: Precision,
    /// Fraction of each class's labeled samples held out for model selection (0 = none).
    pub validation_fraction: f64,
    /// k-fold validation over the labels (docs/model.md §12.11): 0 = off, k ≥ 2 = hold out fold
    /// `validation_fold` of k. Each class's labels are dealt into k folds, so the k runs of a
    /// seed hold every label of a class with two or more out exactly once.
    pub validation_folds: usize,
    /// Which fold (0-based) the run holds out, with `validation_folds`.
    pub validation_fold: usize,
    /// Set only by `mode = auto`'s guard (docs/model.md §12.13), never a key: (fold, k) of the
    /// labels left after the validation carve-out, held out to score a candidate, so a guarded
    /// run under k-fold validation never reads its own validation labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner_fold: Option<(usize, usize)>,
}

impl RunConfig {
    /// The range of each key of the group.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..0.9).contains(&self.validation_fraction) {
            return bad(
                "validation_fraction",
                self.validation_fraction.to_string(),
                "must be in [0, 0.9)",
            );
        }
        match self.validation_folds {
            0 if self.validation_fold != 0 => bad(
                "validation_fold",
                self.validation_fold.to_string(),
                "needs validation_folds = k ≥ 2",
            ),
            0 => Ok(()),
            1 => bad("validation_folds", "1".into(), "must be 0 (off) or k ≥ 2"),
            k if self.validation_fold >= k => bad(
                "validation_fold",
                self.validation_fold.to_string(),
                &format!("must be below validation_folds ({k}); folds count from 0"),
            ),
            _ if self.validation_fraction > 0.0 => bad(
                "validation_folds",
                self.validation_folds.to_string(),
                "cannot be combined with validation_fraction (both hold labels out): set one of them",
            ),
            _ => Ok(()),
        }
    }

    /// Whether the run holds labels out for validation (a fraction or a fold).
    pub fn holds_out(&self) -> bool {
        self.validation_fraction > 0.0 || self.validation_folds >= 2
    }

    /// (fold, k) when the run holds out a fold of k.
    pub fn fold(&self) -> Option<(usize, usize)> {
        (self.validation_folds >= 2).then_some((self.validation_fold, self.validation_folds))
    }
}

/// The data and the protocol that draws the training set from it (checked by the protocol,
/// which names the flag of a bad value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataConfig {
    /// Dataset name or path (see `ssmvae data --help`).
    pub dataset: String,
    /// Folder laid out like shared/data (default: fixtures/data).
    pub data_dir: Option<PathBuf>,
    /// Test file for an .npz dataset.
    pub test: Option<PathBuf>,
    /// Imbalance ratio, or `natural`.
    pub rho: Rho,
    /// Labeled fraction (a fraction, never a percentage).
    pub beta: f64,
    /// Size of the largest class.
    pub n_max: Option<usize>,
    /// Missing-modality corruption.
    pub missing: Missing,
    /// Modality order.
    pub modalities: Option<Vec<String>>,
    /// Tabular input transform (docs/model.md §11.3).
    pub transform: TransformChoice,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dataset: "mfeat".into(),
            data_dir: None,
            test: None,
            rho: Rho::Ratio(10.0),
            beta: 0.1,
            n_max: None,
            missing: Missing::None,
            modalities: None,
            transform: TransformChoice::Auto,
        }
    }
}
