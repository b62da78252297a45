//! SSMVAE-CI's networks as small named layers (per-modality latent experts, decoders and
//! classifier experts) and the latent product of experts.

pub mod layers;
pub mod poe;
pub mod precision;
pub mod ssmvae;

pub use poe::{latent_poe, Posterior};
pub use ssmvae::{ModalitySpec, ModelSpec, Ssmvae};
