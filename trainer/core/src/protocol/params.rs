//! The protocol's parameters, and the seeded random streams each of its steps draws from.

use super::rho::Rho;
use crate::data::TransformChoice;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The protocol's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// Imbalance ratio rho = n_0 / n_{K-1} (≥ 1), or `natural` (the data's own class sizes).
    pub rho: Rho,
    /// Labeled fraction beta in (0, 1] (a fraction, never a percentage).
    pub beta: f64,
    /// Size of the largest class; `None` = every sample of class 0 in the training pool.
    pub n_max: Option<usize>,
    /// The seed of every random choice.
    pub seed: u64,
    /// Missing-modality corruption of the training set.
    pub missing: Missing,
    /// Modality order (the bundle's modality index); `None` = alphabetical.
    pub modalities: Option<Vec<String>>,
    /// How tabular modalities are transformed (count data: docs/model.md §11.3).
    #[serde(default)]
    pub transform: TransformChoice,
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol {
            rho: Rho::Ratio(10.0),
            beta: 0.1,
            n_max: None,
            seed: 0,
            missing: Missing::None,
            modalities: None,
            transform: TransformChoice::Auto,
        }
    }
}

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
