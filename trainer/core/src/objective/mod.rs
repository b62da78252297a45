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

pub mod choices;
pub mod rare;
pub mod terms;

pub use choices::{
    EntropyCoef, Latent, Objective, PriorExpert, PseudoLabelCap, PseudoLabelSelect, TargetPrior,
    UnlabeledForm,
};
pub use constants::SubsetConstants;
pub use rare::RareClass;
pub use terms::StepTerms;
