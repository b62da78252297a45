//! Training configuration: one TOML file and/or flags, flags winning over the file, unknown keys an
//! error. Defaults: docs/model.md §11 (ν = 10, m = 64, two hidden layers of 512, a = 0.3, c_S).

use crate::error::{DataError, Error, Result};
use crate::objective::{Latent, PriorExpert, UnlabeledForm};
use crate::protocol::Missing;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How the modalities are fused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fusion {
    /// One expert per modality, joined by the product of experts (SSMVAE-CI).
    #[default]
    Poe,
    /// One encoder/decoder/classifier over the concatenated modalities (missing parts zero-filled).
    Early,
    /// One model per modality; class probabilities averaged over the present modalities.
    Late,
}

keywords!(Fusion { Poe => "poe", Early => "early", Late => "late" });

/// What is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Labeled and unlabeled data, the full objective J (Eq. 9).
    #[default]
    Semi,
    /// Labeled data and the classifier networks only (cross-entropy): the floor.
    Supervised,
}

keywords!(Mode { Semi => "semi", Supervised => "supervised" });

/// The class prior p(y) (docs/model.md §2, A4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelPrior {
    /// p(y) = 1/K.
    #[default]
    Uniform,
    /// Class frequencies of the labeled set: adds −c_S ln π_y to L_γ.
    Empirical,
}

keywords!(LabelPrior { Uniform => "uniform", Empirical => "empirical" });

/// Which method is trained: the SSMVAE family (its variants are `latent`/`fusion`/`mode`), or one
/// of the paper's other baselines ([`crate::baselines`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// SSMVAE-CI and its configurations (SSVAE, supervised, LDAM-DRW).
    #[default]
    Ssmvae,
    /// CReST (Wei et al. 2021): class-rebalancing self-training on a FixMatch learner.
    Crest,
    /// Adsh (Guo & Li 2022): FixMatch with adaptive class-wise thresholds.
    Adsh,
    /// CMML (Yang et al. 2019): attention-fused modality classifiers, diversity and robust
    /// consistency.
    Cmml,
    /// SMLN (Hu et al. 2020): spectral-decomposition loss on a similarity graph.
    Smln,
    /// GAMO (Mullick et al. 2019): generative adversarial minority oversampling.
    Gamo,
}

keywords!(Method { Ssmvae => "ssmvae", Crest => "crest", Adsh => "adsh", Cmml => "cmml", Smln => "smln", Gamo => "gamo" });

pub use crate::objective::{Objective, RareClass};

/// The classification loss on labeled samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassifierLoss {
    /// −ln q(y|x) (Eq. 9's classification term).
    #[default]
    Ce,
    /// LDAM: the true class's logit lowered by Δ_y ∝ n_y^{-1/4} (the LDAM-DRW baseline).
    Ldam,
}

keywords!(ClassifierLoss { Ce => "ce", Ldam => "ldam" });

/// Where to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// CUDA when available, else CPU.
    #[default]
    Auto,
    /// CPU (deterministic for a seed).
    Cpu,
    /// CUDA (an error when none is available).
    Cuda,
}

keywords!(DeviceChoice { Auto => "auto", Cpu => "cpu", Cuda => "cuda" });

impl DeviceChoice {
    /// The tch device, or an error when CUDA is asked for and absent.
    pub fn resolve(self) -> Result<tch::Device> {
        match self {
            DeviceChoice::Auto => Ok(tch::Device::cuda_if_available()),
            DeviceChoice::Cpu => Ok(tch::Device::Cpu),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
            DeviceChoice::Cuda => Err(DataError::InvalidParameter {
                name: "--device",
                value: "cuda".into(),
                reason: "no CUDA device is available to libtorch; use --device cpu or auto".into(),
            }
            .into()),
        }
    }
}

pub use crate::objective::EntropyCoef;

/// Every training key. In a TOML file the keys are these names; on the command line the same
/// names with `-`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// The method: `ssmvae` (this model and its variants) or a baseline.
    pub method: Method,
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
    /// Hidden layer widths; `[]` makes the networks linear (the SSMVAE family only).
    pub hidden: Vec<usize>,
    /// a in α̃ = a N/N_l, the classification weight per labeled sample (Eq. 9).
    pub alpha_a: f64,
    /// Entropy weight of U.
    pub entropy_coef: EntropyCoef,
    /// Classification loss on labeled samples (`ldam` for the LDAM-DRW baseline).
    pub classifier_loss: ClassifierLoss,
    /// LDAM's largest margin Δ, in logit units (the rarest class's).
    pub ldam_max_margin: f64,
    /// Deferred re-weighting: β of the effective number (1 − β^n)/(1 − β); 0 = no re-weighting.
    pub drw_beta: f64,
    /// Deferred re-weighting starts after this fraction of the epochs (Cao et al.: 160 of 200).
    pub drw_start: f64,
    /// Baselines: FixMatch confidence threshold τ (CReST, Adsh: Adsh's majority-class threshold).
    pub threshold: f64,
    /// Baselines: weight λ_u of the unlabeled loss (CReST, Adsh, CMML, SMLN).
    pub unlabeled_weight: f64,
    /// CReST, Adsh: decay of the exponential moving average of the weights that is evaluated,
    /// as in their FixMatch base learner; 0 evaluates the raw weights.
    pub ema_decay: f64,
    /// CReST: number of generations (the epochs are split evenly over them).
    pub crest_generations: usize,
    /// CReST: α of the inclusion rate μ_k = (N_{K−1−k}/N_0)^α.
    pub crest_alpha: f64,
    /// CReST+: progressive distribution alignment of the pseudo-labels.
    pub crest_progressive: bool,
    /// CMML: weight of the diversity regulariser.
    pub cmml_diversity: f64,
    /// SMLN: neighbours per sample (per modality) in the k-NN similarity graph over the training set.
    pub smln_neighbors: usize,
    /// GAMO: generated minority samples per step (as a multiple of the labeled batch).
    pub gamo_ratio: f64,
    /// `rare-class` (the default: the §12 keys below in force) or `paper` (Eq. 9 exactly, the §12
    /// keys ignored).
    pub objective: Objective,
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
    /// Prior expert of the latent PoE.
    pub prior_expert: PriorExpert,
    /// Class prior p(y).
    pub label_prior: LabelPrior,
    /// Form of the unlabeled objective.
    pub unlabeled_form: UnlabeledForm,
    /// Decoder scale σ.
    pub sigma: f64,
    /// Adam learning rate.
    pub lr: f64,
    /// Training epochs (one epoch = one pass over the unlabeled set, or the labeled set when
    /// there is no unlabeled data).
    pub epochs: usize,
    /// Labeled samples per step.
    pub batch_labeled: usize,
    /// Unlabeled samples per step.
    pub batch_unlabeled: usize,
    /// Seed of the split, the initialisation and every draw.
    pub seed: u64,
    /// Where to train.
    pub device: DeviceChoice,
    /// Fraction of each class's labeled samples held out for model selection (0 = none).
    pub validation_fraction: f64,
    /// Compute each expert's first-layer x-part once and reuse it for all K classes of the
    /// unlabeled term (true; false recomputes it per class, for measuring the saving).
    pub shared_first_layer: bool,
    /// Dataset name or path (see `ssmvae data --help`).
    pub dataset: String,
    /// Folder laid out like shared/data (default: fixtures/data).
    pub data_dir: Option<PathBuf>,
    /// Test file for an .npz dataset.
    pub test: Option<PathBuf>,
    /// Imbalance ratio.
    pub rho: f64,
    /// Labeled fraction (a fraction, never a percentage).
    pub beta: f64,
    /// Size of the largest class.
    pub n_max: Option<usize>,
    /// Missing-modality corruption.
    pub missing: Missing,
    /// Modality order.
    pub modalities: Option<Vec<String>>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            method: Method::Ssmvae,
            latent: Latent::StudentT,
            fusion: Fusion::Poe,
            mode: Mode::Semi,
            nu: 10.0,
            latent_dim: 64,
            hidden: vec![512, 512],
            alpha_a: 0.3,
            entropy_coef: EntropyCoef::C,
            classifier_loss: ClassifierLoss::Ce,
            ldam_max_margin: 0.5,
            drw_beta: 0.0,
            drw_start: 0.8,
            threshold: 0.95,
            ema_decay: 0.99,
            unlabeled_weight: 1.0,
            crest_generations: 3,
            crest_alpha: 1.0 / 3.0,
            crest_progressive: false,
            cmml_diversity: 0.1,
            smln_neighbors: 10,
            gamo_ratio: 1.0,
            objective: Objective::RareClass,
            // §12.1: τ = 1 is the Bayes-consistent adjustment for a class-balanced target, fixed
            // a priori (no data chose it); the other mechanisms stay off until a validation split
            // shows they earn their place (README, rare classes).
            logit_adjust: 1.0,
            align_unlabeled: false,
            unlabeled_rampup: 0.0,
            consistency: 0.0,
            consistency_threshold: 0.95,
            prior_expert: PriorExpert::Prior,
            label_prior: LabelPrior::Uniform,
            unlabeled_form: UnlabeledForm::Entropy,
            sigma: 1.0,
            lr: 1e-3,
            epochs: 30,
            batch_labeled: 50,
            batch_unlabeled: 50,
            seed: 0,
            device: DeviceChoice::Auto,
            validation_fraction: 0.0,
            shared_first_layer: true,
            dataset: "mfeat".into(),
            data_dir: None,
            test: None,
            rho: 10.0,
            beta: 0.1,
            n_max: None,
            missing: Missing::None,
            modalities: None,
        }
    }
}

impl TrainConfig {
    /// Reads a TOML file; unknown keys are an error naming the key.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text).map_err(|e| Error::toml(path, &text, &e))
    }

    /// Checks every value once, so training never starts on a configuration it cannot honour.
    pub fn validate(&self) -> Result<()> {
        // U2 (docs/model.md §6.3) is the exact γ-power treatment of the discrete latent; its
        // constant ν·C_S has no Gaussian limit (it is NaN there), so the pair is refused up front
        // instead of stopping with a NaN loss at the first step.
        if self.latent == Latent::Gaussian && self.unlabeled_form == UnlabeledForm::ExactGamma {
            return bad(
                "unlabeled_form",
                self.unlabeled_form.to_string(),
                "exact-gamma needs latent = student-t (the γ-power form has no Gaussian limit); use entropy",
            );
        }
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
        if self.hidden.contains(&0) {
            return bad(
                "hidden",
                format!("{:?}", self.hidden),
                "every hidden layer must be ≥ 1 wide",
            );
        }
        // No hidden layer makes every network of the SSMVAE family linear: with `mode =
        // supervised, fusion = early` that is the logistic-regression floor (multinomial, on the
        // concatenated views). The baselines' extra networks (CMML's attention, GAMO's
        // generator) take the first hidden width, so they need one.
        if self.hidden.is_empty() && self.method != Method::Ssmvae {
            return bad(
                "hidden",
                "[]".into(),
                "the baselines need at least one hidden layer; [] (linear networks) is for method = ssmvae",
            );
        }
        if !(self.alpha_a >= 0.0 && self.alpha_a.is_finite()) {
            return bad(
                "alpha_a",
                self.alpha_a.to_string(),
                "must be a finite number ≥ 0",
            );
        }
        if !(self.sigma > 0.0 && self.sigma.is_finite()) {
            return bad("sigma", self.sigma.to_string(), "must be > 0");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", self.lr.to_string(), "must be > 0");
        }
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "must be ≥ 1");
        }
        if !(self.logit_adjust >= 0.0 && self.logit_adjust.is_finite()) {
            return bad(
                "logit_adjust",
                self.logit_adjust.to_string(),
                "must be a finite number ≥ 0",
            );
        }
        if !(self.consistency >= 0.0 && self.consistency.is_finite()) {
            return bad(
                "consistency",
                self.consistency.to_string(),
                "must be a finite number ≥ 0",
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
        if self.batch_labeled == 0 || self.batch_unlabeled == 0 {
            return bad(
                "batch_labeled",
                format!("{}/{}", self.batch_labeled, self.batch_unlabeled),
                "batch sizes must be ≥ 1",
            );
        }
        if !(self.ldam_max_margin >= 0.0 && self.ldam_max_margin.is_finite()) {
            return bad(
                "ldam_max_margin",
                self.ldam_max_margin.to_string(),
                "must be a finite number ≥ 0",
            );
        }
        if !(0.0..1.0).contains(&self.drw_beta) {
            return bad("drw_beta", self.drw_beta.to_string(), "must be in [0, 1)");
        }
        if !(0.0..=1.0).contains(&self.drw_start) {
            return bad("drw_start", self.drw_start.to_string(), "must be in [0, 1]");
        }
        self.validate_baselines()?;
        if !(0.0..0.9).contains(&self.validation_fraction) {
            return bad(
                "validation_fraction",
                self.validation_fraction.to_string(),
                "must be in [0, 0.9)",
            );
        }
        Ok(())
    }

    /// The §12 mechanisms in force: the keys, or all off for `objective = paper`. The training
    /// code reads them only through here.
    pub fn rare_class(&self) -> RareClass {
        match self.objective {
            Objective::Paper => RareClass::PAPER,
            Objective::RareClass => RareClass {
                logit_adjust: self.logit_adjust,
                align_unlabeled: self.align_unlabeled,
                unlabeled_rampup: self.unlabeled_rampup,
                consistency: self.consistency,
                consistency_threshold: self.consistency_threshold,
            },
        }
    }

    /// The baselines' keys (checked whatever the method, so a bad value in a shared TOML file is
    /// caught by the first run that reads it).
    fn validate_baselines(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.ema_decay) {
            return bad("ema_decay", self.ema_decay.to_string(), "must be in [0, 1)");
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return bad("threshold", self.threshold.to_string(), "must be in (0, 1]");
        }
        for (name, v) in [
            ("unlabeled_weight", self.unlabeled_weight),
            ("crest_alpha", self.crest_alpha),
            ("cmml_diversity", self.cmml_diversity),
            ("gamo_ratio", self.gamo_ratio),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(name, v.to_string(), "must be a finite number ≥ 0");
            }
        }
        if self.method == Method::Crest
            && (self.crest_generations == 0 || self.crest_generations > self.epochs)
        {
            return bad(
                "crest_generations",
                self.crest_generations.to_string(),
                "must be between 1 and the number of epochs",
            );
        }
        if self.smln_neighbors == 0 {
            return bad("smln_neighbors", "0".into(), "must be ≥ 1");
        }
        match (self.method, self.fusion) {
            (Method::Ssmvae, _) | (Method::Cmml, Fusion::Poe | Fusion::Late) => {}
            (Method::Cmml, Fusion::Early) => {
                return bad(
                    "fusion",
                    "early".into(),
                    "CMML fuses per-modality classifiers by attention; use fusion = late",
                )
            }
            (_, Fusion::Poe) => {
                return bad(
                    "fusion",
                    "poe".into(),
                    "the baselines fuse modalities early or late; set fusion = early or late",
                )
            }
            _ => {}
        }
        Ok(())
    }
}

/// The error of a key whose value is out of range.
fn bad(name: &'static str, value: String, reason: &str) -> Result<()> {
    Err(DataError::InvalidParameter {
        name,
        value,
        reason: reason.into(),
    }
    .into())
}

/// Small helper so the loss code reads as a question.
pub trait UnlabeledFormExt {
    /// True for the exact-γ variant U2.
    fn is_exact(&self) -> bool;
}

impl UnlabeledFormExt for UnlabeledForm {
    fn is_exact(&self) -> bool {
        *self == UnlabeledForm::ExactGamma
    }
}
