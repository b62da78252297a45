//! The keyword-valued keys of a training configuration (each parsed from its keyword by
//! `keywords!`, so neither the library nor its TOML needs a CLI library).

use crate::error::{DataError, Result};
use serde::{Deserialize, Serialize};

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
