//! The protocol's parameters, and the seeded random streams each of its steps draws from.

use super::rho::Rho;
use crate::data::TransformChoice;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

config_group! {
    /// The protocol's parameters: keys of a training configuration (flat in a file and on the
    /// command line, `--rho`, `--beta`, …), and the seed every draw takes, which is the run's.
    pub struct Protocol {
        /// Imbalance ratio rho = n_0 / n_{K-1} (≥ 1), or `natural`: every class keeps the size it
        /// has in the train pool (for data that is already imbalanced), beta of each labeled.
        rho: Rho = Rho::Ratio(10.0);
        /// Labeled fraction of each class, a fraction in (0, 1] (0.1 = 10 %).
        beta: f64 = 0.1;
        /// Training samples of the largest class (class 0). Default: all of class 0's training
        /// pool.
        n_max: Option<usize> = None;
        /// Missing-modality corruption of the training set: `half` removes one random modality
        /// from each of the first half of the (shuffled) training samples; `complete-half` then
        /// keeps only the samples that are still complete. The test set stays complete.
        missing: Missing = Missing::None;
        /// Modality order, comma-separated (it becomes the model's modality index). Default:
        /// alphabetical.
        modalities: Option<Vec<String>> = None;
        /// Tabular input transform: auto (count-like modalities, every training value ≥ 0 and at
        /// least half of them 0, get ln(1 + x) before standardising; docs/model.md §11.3),
        /// standardize, or log1p.
        transform: TransformChoice = TransformChoice::Auto;
        /// The unlabeled samples' class profile, the labels keeping rho's long tail: consistent
        /// (the same tail, the paper's protocol), uniform (every class as many unlabeled samples
        /// as the largest) or reversed (the tail mirrored, the rarest labeled class the most
        /// unlabeled samples) — the settings of ACR (CVPR 2023) and CPE (AAAI 2024). The minority
        /// classes stay the labeled tail's.
        unlabeled_rho: UnlabeledProfile = UnlabeledProfile::Consistent;
        @internal
        /// The seed of every random choice: the run's seed (`seed`), set by whoever draws.
        seed: u64 = 0;
    }
}

/// How the unlabeled samples spread over the classes (the `unlabeled_rho` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnlabeledProfile {
    /// Class k keeps n_k − l_k unlabeled samples: the labeled tail's profile (rho).
    Consistent,
    /// Every class max_k (n_k − l_k) unlabeled samples (unlabeled rho = 1).
    Uniform,
    /// The consistent counts mirrored: the class of the i-th largest n_k gets the i-th smallest
    /// count (unlabeled rho = 1/rho).
    Reversed,
}

keywords!(UnlabeledProfile { Consistent => "consistent", Uniform => "uniform", Reversed => "reversed" });

/// Stream ids, one per random step.
pub(crate) mod stream {
    pub const STRATIFIED: u64 = 1;
    pub const LONG_TAIL: u64 = 2;
    pub const PARTNER: u64 = 3;
    pub const TEST: u64 = 4;
    pub const VIEWS: u64 = 5;
    pub const MISSING: u64 = 6;
}

pub(crate) fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Which samples lose a modality during training (the paper's Section 5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Missing {
    /// Every training sample keeps every modality.
    #[default]
    None,
    /// After a seeded shuffle, the first floor(N/2) training samples (labeled and unlabeled alike)
    /// each lose one modality chosen uniformly; the test set stays complete.
    Half,
    /// The same corruption as `half`, then every sample that lost a modality is dropped: the
    /// complete half only (paper Table 4, the setting its baselines are trained in). Same seed,
    /// same surviving samples as `half`.
    CompleteHalf,
}

keywords!(Missing { None => "none", Half => "half", CompleteHalf => "complete-half" });
