//! The baselines' groups of a training configuration: what the semi-supervised baselines share,
//! and one group per method, each key declared once (`config_group!` (in `crate::key`)) as [`super::groups`]
//! declares the model's own. Their keys stay flat in a TOML file and on the command line
//! (`crest_alpha`, `--crest-alpha`).

use crate::key::range::{at_least_one, non_negative};

/// `v` in (0, 1].
fn probability(v: &f64) -> Result<(), &'static str> {
    (*v > 0.0 && *v <= 1.0)
        .then_some(())
        .ok_or("must be in (0, 1]")
}

config_group! {
    /// What the semi-supervised baselines share: FixMatch's threshold and unlabeled weight
    /// (CReST, Adsh; the weight also CMML's and SMLN's) and the evaluated weight average.
    pub struct BaselineConfig {
        /// FixMatch confidence threshold τ (CReST, Adsh: Adsh's majority-class threshold).
        threshold: f64 = 0.95, check = probability;
        /// Weight λ_u of the unlabeled loss (CReST, Adsh, CMML, SMLN).
        unlabeled_weight: f64 = 1.0, check = non_negative;
        /// CReST, Adsh: decay of the exponential moving average of the weights that is
        /// evaluated, as in their FixMatch base learner; 0 evaluates the raw weights.
        ema_decay: f64 = 0.99, check = |v: &f64| {
            (0.0..1.0).contains(v).then_some(()).ok_or("must be in [0, 1)")
        };
    }
}

config_group! {
    /// CReST (Wei et al. 2021).
    pub struct CrestConfig {
        /// CReST's generations (the epochs are split evenly over them).
        generations ["crest_generations"]: usize = 3;
        /// CReST's α of the inclusion rate μ_k = (N_{K−1−k}/N_0)^α.
        alpha ["crest_alpha"]: f64 = 1.0 / 3.0, check = non_negative;
        /// CReST+: progressive distribution alignment of the pseudo-labels.
        progressive ["crest_progressive"]: bool = false;
    }
}

config_group! {
    /// CMML (Yang et al. 2019).
    pub struct CmmlConfig {
        /// CMML's weight of the diversity regulariser.
        diversity ["cmml_diversity"]: f64 = 0.1, check = non_negative;
    }
}

config_group! {
    /// SMLN (Hu et al. 2020).
    pub struct SmlnConfig {
        /// SMLN's neighbours per sample (per modality) in the k-NN similarity graph over the
        /// training set.
        neighbors ["smln_neighbors"]: usize = 10, check = at_least_one;
    }
}

config_group! {
    /// GAMO (Mullick et al. 2019).
    pub struct GamoConfig {
        /// GAMO's generated minority samples per step (as a multiple of the labeled batch).
        ratio ["gamo_ratio"]: f64 = 1.0, check = non_negative;
    }
}
