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
    /// The full generative model on labeled and unlabeled data, the classifier from the labels
    /// alone (docs/model.md §12.13): U's class weights q enter under a stop-gradient and nothing
    /// that trains the classifier on unlabeled data runs (self-training, consistency, alignment),
    /// so the classifier is the supervised floor's and the model still exports.
    Decoupled,
    /// `semi` or `decoupled`, chosen per run on held-out folds of the labels (docs/model.md
    /// §12.13): the guard against unlabeled data that hurts the classifier.
    Auto,
}

keywords!(Mode { Semi => "semi", Supervised => "supervised", Decoupled => "decoupled", Auto => "auto" });

impl Mode {
    /// Whether the unlabeled samples are trained on (by the generative model at least).
    pub fn uses_unlabeled(self) -> bool {
        matches!(self, Mode::Semi | Mode::Decoupled | Mode::Auto)
    }
}

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
/// of the paper's other baselines (`ssmvae-baselines`).
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

/// How the classification weight follows the input dimension (docs/model.md §12.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlphaScale {
    /// α̃ = a N / N_l for every sample, whatever its dimension (Eq. 9).
    #[default]
    None,
    /// α̃ times max(1, D_obs / 1568) per sample: the weight per summed generative dimension a had
    /// where it was validated, kept on wider data.
    Dimension,
}

keywords!(AlphaScale { None => "none", Dimension => "dimension" });

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

/// The precision of the training step's matrix products (docs/model.md §11.2,
/// [`crate::model::precision`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// f32 throughout (bit-for-bit the runs committed before the key existed).
    #[default]
    F32,
    /// bfloat16 products of the linear layers with f32 master weights, Adam and loss: fast where
    /// the CPU has AMX or AVX512-BF16 (or on a GPU), slow where libtorch must emulate it.
    Bf16,
}

keywords!(Precision { F32 => "f32", Bf16 => "bf16" });

impl Precision {
    /// The kind the linear layers multiply in during a training step.
    pub fn matmul_kind(self) -> tch::Kind {
        match self {
            Precision::F32 => tch::Kind::Float,
            Precision::Bf16 => tch::Kind::BFloat16,
        }
    }
}

/// The hidden widths of every network (docs/model.md §11.1): `auto`, the size rule, or the
/// widths given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Hidden {
    /// [`size_rule`] of the number of training samples: the paper's [512, 512] on data the size of
    /// its benchmarks, narrower on small data.
    #[default]
    Auto,
    /// These widths; `[]` makes the networks linear (the SSMVAE family only).
    Widths(Vec<usize>),
}

/// The widest hidden layer the size rule gives: the paper's width.
pub const SIZE_RULE_MAX: usize = 512;
/// The narrowest: the latent dimension's default m = 64, so an expert's hidden layer is never
/// narrower than the latent location it outputs.
pub const SIZE_RULE_MIN: usize = 64;
/// Training samples per hidden unit at which the rule stops narrowing.
pub const SIZE_RULE_SAMPLES_PER_UNIT: f64 = 4.0;

/// Two hidden layers of h units, h the power of two nearest N/4 clamped to [64, 512], for N
/// training samples (labeled and unlabeled, validation rows excluded): docs/model.md §11.1.
/// Every MNIST-sized cell (N ≥ 1449) keeps the paper's [512, 512].
pub fn size_rule(n_train: usize) -> Vec<usize> {
    let target = (n_train as f64 / SIZE_RULE_SAMPLES_PER_UNIT).max(1.0);
    let h = 2f64.powf(target.log2().round()) as usize;
    vec![h.clamp(SIZE_RULE_MIN, SIZE_RULE_MAX); 2]
}

impl Hidden {
    /// The widths for a run on `n_train` training samples.
    pub fn resolve(&self, n_train: usize) -> Vec<usize> {
        match self {
            Hidden::Auto => size_rule(n_train),
            Hidden::Widths(w) => w.clone(),
        }
    }
}

key_value_parse!(Hidden);

impl std::str::FromStr for Hidden {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        if s == "auto" {
            return Ok(Hidden::Auto);
        }
        if s.is_empty() || s == "none" {
            return Ok(Hidden::Widths(Vec::new()));
        }
        s.split(',')
            .map(|w| w.trim().parse::<usize>().ok().filter(|&w| w > 0))
            .collect::<Option<Vec<_>>>()
            .map(Hidden::Widths)
            .ok_or_else(|| {
                format!("hidden must be `auto`, `none` or comma-separated widths ≥ 1, not `{s}`")
            })
    }
}

impl std::fmt::Display for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hidden::Auto => f.write_str("auto"),
            Hidden::Widths(w) if w.is_empty() => f.write_str("none"),
            Hidden::Widths(w) => {
                let w: Vec<String> = w.iter().map(usize::to_string).collect();
                f.write_str(&w.join(","))
            }
        }
    }
}

/// `"auto"` or a list of widths, as a TOML file and a results line write it.
impl Serialize for Hidden {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Hidden::Auto => s.serialize_str("auto"),
            Hidden::Widths(w) => w.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Hidden {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Widths(Vec<usize>),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Widths(w) => Ok(Hidden::Widths(w)),
            Raw::Str(s) if s == "auto" => Ok(Hidden::Auto),
            Raw::Str(s) => Err(serde::de::Error::custom(format!(
                "hidden must be \"auto\" or a list of widths, not \"{s}\""
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size rule on hand-computed values: N/4 rounded to the nearest power of two in log
    /// space, clamped to [64, 512]. 2^8.5 = 362.04, so N = 1448 (N/4 = 362) is the last 256 and
    /// 1449 the first 512.
    #[test]
    fn size_rule_on_the_grids_cells() {
        for (n, h) in [
            (0, 64),       // no data: the floor
            (177, 64),     // ROSMAP rho 2: 44.25 → 32 → clamped to 64
            (343, 64),     // mfeat rho 100: 85.75 → 2^6.42 → 64
            (568, 128),    // mfeat rho 10: 142 → 2^7.15 → 128
            (1448, 256),   // 362 < 2^8.5
            (1449, 512),   // 362.25 > 2^8.5
            (2478, 512),   // MNIST + Fashion rho 100, n_max 1000: the grids' smallest image cell
            (40_000, 512), // clamped to the paper's width
        ] {
            assert_eq!(size_rule(n), vec![h, h], "N = {n}");
        }
        assert_eq!(Hidden::Auto.resolve(568), vec![128, 128]);
        assert_eq!(Hidden::Widths(vec![7]).resolve(568), vec![7]);
    }

    #[test]
    fn hidden_reads_auto_widths_or_none() {
        assert_eq!("auto".parse::<Hidden>(), Ok(Hidden::Auto));
        assert_eq!(
            "512, 256".parse::<Hidden>(),
            Ok(Hidden::Widths(vec![512, 256]))
        );
        assert_eq!("none".parse::<Hidden>(), Ok(Hidden::Widths(vec![])));
        for bad in ["0", "wide", "64,", "-1"] {
            let e = bad.parse::<Hidden>().unwrap_err();
            assert!(e.starts_with("hidden must be"), "{bad}: {e}");
        }
        for h in [
            Hidden::Auto,
            Hidden::Widths(vec![64, 32]),
            Hidden::Widths(vec![]),
        ] {
            assert_eq!(h.to_string().parse::<Hidden>(), Ok(h.clone()));
            let json = serde_json::to_string(&h).unwrap();
            assert_eq!(serde_json::from_str::<Hidden>(&json).unwrap(), h);
        }
        assert_eq!(serde_json::to_string(&Hidden::Auto).unwrap(), "\"auto\"");
        assert!(serde_json::from_str::<Hidden>("\"wide\"").is_err());
    }
}
