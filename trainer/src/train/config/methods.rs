//! The baselines' groups of a training configuration: what the semi-supervised baselines share,
//! and one group per method with its keys, defaults and ranges (as [`super::groups`] does for the
//! model's own groups). Their keys stay flat in a TOML file and on the command line
//! (`crest_alpha`, `--crest-alpha`).

use super::groups::{bad, non_negative};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// What the semi-supervised baselines share: FixMatch's threshold and unlabeled weight (CReST,
/// Adsh; the weight also CMML's and SMLN's) and the evaluated weight average.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BaselineConfig {
    /// FixMatch confidence threshold τ (CReST, Adsh: Adsh's majority-class threshold).
    pub threshold: f64,
    /// Weight λ_u of the unlabeled loss (CReST, Adsh, CMML, SMLN).
    pub unlabeled_weight: f64,
    /// CReST, Adsh: decay of the exponential moving average of the weights that is evaluated,
    /// as in their FixMatch base learner; 0 evaluates the raw weights.
    pub ema_decay: f64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            threshold: 0.95,
            unlabeled_weight: 1.0,
            ema_decay: 0.99,
        }
    }
}

impl BaselineConfig {
    /// The range of each key of the group.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.ema_decay) {
            return bad("ema_decay", self.ema_decay.to_string(), "must be in [0, 1)");
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return bad("threshold", self.threshold.to_string(), "must be in (0, 1]");
        }
        non_negative("unlabeled_weight", self.unlabeled_weight)
    }
}

/// CReST (Wei et al. 2021).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CrestConfig {
    /// Number of generations (the epochs are split evenly over them).
    #[serde(rename = "crest_generations")]
    pub generations: usize,
    /// α of the inclusion rate μ_k = (N_{K−1−k}/N_0)^α.
    #[serde(rename = "crest_alpha")]
    pub alpha: f64,
    /// CReST+: progressive distribution alignment of the pseudo-labels.
    #[serde(rename = "crest_progressive")]
    pub progressive: bool,
}

impl Default for CrestConfig {
    fn default() -> Self {
        CrestConfig {
            generations: 3,
            alpha: 1.0 / 3.0,
            progressive: false,
        }
    }
}

/// CMML (Yang et al. 2019).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CmmlConfig {
    /// Weight of the diversity regulariser.
    #[serde(rename = "cmml_diversity")]
    pub diversity: f64,
}

impl Default for CmmlConfig {
    fn default() -> Self {
        CmmlConfig { diversity: 0.1 }
    }
}

/// SMLN (Hu et al. 2020).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmlnConfig {
    /// Neighbours per sample (per modality) in the k-NN similarity graph over the training set.
    #[serde(rename = "smln_neighbors")]
    pub neighbors: usize,
}

impl Default for SmlnConfig {
    fn default() -> Self {
        SmlnConfig { neighbors: 10 }
    }
}

/// GAMO (Mullick et al. 2019).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GamoConfig {
    /// Generated minority samples per step (as a multiple of the labeled batch).
    #[serde(rename = "gamo_ratio")]
    pub ratio: f64,
}

impl Default for GamoConfig {
    fn default() -> Self {
        GamoConfig { ratio: 1.0 }
    }
}

/// The per-method groups' own ranges (cross-group checks live in `TrainConfig::validate`).
pub(super) fn validate_methods(
    crest: &CrestConfig,
    cmml: &CmmlConfig,
    smln: &SmlnConfig,
    gamo: &GamoConfig,
) -> Result<()> {
    non_negative("crest_alpha", crest.alpha)?;
    non_negative("cmml_diversity", cmml.diversity)?;
    non_negative("gamo_ratio", gamo.ratio)?;
    if smln.neighbors == 0 {
        return bad("smln_neighbors", "0".into(), "must be ≥ 1");
    }
    Ok(())
}
