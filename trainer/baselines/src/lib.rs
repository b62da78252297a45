//! The paper's baselines that are not configurations of SSMVAE-CI itself. SSVAE (M2) and the
//! supervised floor are `latent`/`fusion`/`mode` settings of the same networks; what lives here is
//! each baseline's own mechanism, so that its tests can pin it on hand-computed cases. They train
//! on SSMVAE-CI's epoch driver (`ssmvae-core`), which does not know them.
#![forbid(unsafe_code)]

pub mod adsh;
pub mod attention;
pub mod backbone;
pub mod cmml;
pub mod crest;
pub mod ema;
pub mod fit;
pub mod fixmatch;
pub mod gamo;
pub mod recipe;
pub mod smln;
