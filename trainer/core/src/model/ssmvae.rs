//! The SSMVAE-CI model: for each modality j a latent expert q(z | x_j, y), a decoder mean
//! μ_θ,j(z, y) and a classifier expert F_j(x_j); the latent PoE with a prior expert (§3.1) and the
//! classifier PoE (§3.2) join them. Variable names: `expert.{j}.*`, `decoder.{j}.*`,
//! `classifier.{j}.*` (see [`super::layers::Mlp`]).

use super::layers::Mlp;
use super::poe::{latent_poe, Posterior};
use crate::data::ModalityKind;
use crate::objective::classification::classifier_poe_log_probs;
use crate::objective::gamma::BatchConstants;
use crate::objective::student_t::{chi_factor, normal_like, t_reparameterize};
use crate::objective::{Latent, PriorExpert};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

/// The log-scale clamp of the experts (docs/model.md §3.1, §8.4): the bundle format's, so the
/// runtime clamps exactly as training did.
pub const LOG_SCALE_CLAMP: f64 = format::LOG_SCALE_CLAMP as f64;

/// One modality as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModalitySpec {
    /// Name (the dataset's modality name).
    pub name: String,
    /// Input dimension n_j.
    pub dim: usize,
    /// Pixels get a sigmoid decoder output (data in [0, 1]); tabular an identity output.
    pub kind: ModalityKind,
}

/// Everything that fixes the model's shape and its probabilistic choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The modalities, in modality-index order.
    pub modalities: Vec<ModalitySpec>,
    /// Number of classes K.
    pub classes: usize,
    /// Latent dimension m.
    pub latent_dim: usize,
    /// Hidden layer widths of every MLP.
    pub hidden: Vec<usize>,
    /// Degrees of freedom ν.
    pub nu: f64,
    /// Student-t or Gaussian latent.
    pub latent: Latent,
    /// The prior expert of the latent PoE.
    pub prior_expert: PriorExpert,
    /// Decoder scale σ (the same for every modality).
    pub sigma: f64,
    /// False for `mode = supervised`: classifier experts only, no experts or decoders.
    pub generative: bool,
}

/// The networks of one SSMVAE-CI model.
#[derive(Debug)]
pub struct Ssmvae {
    spec: ModelSpec,
    experts: Vec<Mlp>,
    decoders: Vec<Mlp>,
    classifiers: Vec<Mlp>,
}

/// Reconstruction terms and the posterior for one class assignment per sample.
#[derive(Debug)]
pub struct LabeledTerms {
    /// Σ_{j∈S} ‖x_j − μ_θ,j(z, y)‖²/(2σ²), B-vector.
    pub recon: Tensor,
    /// The PoE posterior used to draw z.
    pub posterior: Posterior,
}

impl Ssmvae {
    /// The latent experts, one per modality (input [x_j ; onehot(y)], output [μ_j ; ℓ_j]).
    pub fn experts(&self) -> &[Mlp] {
        &self.experts
    }

    /// The classifier experts, one per modality (input x_j, output K logits).
    pub fn classifiers(&self) -> &[Mlp] {
        &self.classifiers
    }

    /// The decoders, one per modality (input [z ; onehot(y)]; empty without the generative part).
    pub fn decoders(&self) -> &[Mlp] {
        &self.decoders
    }

    /// Creates the networks under `p` with framework-default initialisation.
    pub fn new(p: &nn::Path, spec: ModelSpec) -> Self {
        let hidden: Vec<i64> = spec.hidden.iter().map(|&h| h as i64).collect();
        let (k, m) = (spec.classes as i64, spec.latent_dim as i64);
        let mut experts = Vec::new();
        let mut decoders = Vec::new();
        let mut classifiers = Vec::new();
        for (j, md) in spec.modalities.iter().enumerate() {
            let d = md.dim as i64;
            if spec.generative {
                experts.push(Mlp::new(&(p / "expert" / j), d, k, &hidden, 2 * m));
                decoders.push(Mlp::new(&(p / "decoder" / j), m, k, &hidden, d));
            }
            classifiers.push(Mlp::new(&(p / "classifier" / j), d, 0, &hidden, k));
        }
        Ssmvae {
            spec,
            experts,
            decoders,
            classifiers,
        }
    }

    /// The model's specification.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Per-modality classifier logits a_j (B×K each).
    pub fn classifier_logits(&self, xs: &[Tensor]) -> Vec<Tensor> {
        self.classifiers
            .iter()
            .zip(xs)
            .map(|(f, x)| f.forward(x))
            .collect()
    }

    /// log q(y | x_S): the classifier PoE over the present modalities (§3.2), B×K.
    pub fn class_log_probs(&self, xs: &[Tensor], present: &Tensor) -> Tensor {
        classifier_poe_log_probs(&self.classifier_logits(xs), present)
    }

    /// The first-layer x-parts of every latent expert (computed once per sample).
    pub fn expert_x_parts(&self, xs: &[Tensor]) -> Vec<Tensor> {
        self.experts
            .iter()
            .zip(xs)
            .map(|(e, x)| e.x_part(x))
            .collect()
    }

    /// Expert outputs (μ_j, ℓ_j) for class indices `y`, ℓ_j clamped to ±10 (§3.1).
    pub fn expert_outputs(&self, x_parts: &[Tensor], y: &Tensor) -> (Vec<Tensor>, Vec<Tensor>) {
        let m = self.spec.latent_dim as i64;
        self.experts
            .iter()
            .zip(x_parts)
            .map(|(e, xp)| {
                let out = e.finish(&(xp + e.y_part(y)));
                let mu = out.narrow(1, 0, m);
                let ell = out.narrow(1, m, m).clamp(-LOG_SCALE_CLAMP, LOG_SCALE_CLAMP);
                (mu, ell)
            })
            .unzip()
    }

    /// The latent PoE posterior for class `y` (§3.1) with this model's prior expert.
    pub fn posterior(
        &self,
        x_parts: &[Tensor],
        y: &Tensor,
        present: &Tensor,
        k: &BatchConstants,
    ) -> Posterior {
        let (mus, ells) = self.expert_outputs(x_parts, y);
        let prior = match (self.spec.latent, self.spec.prior_expert) {
            (_, PriorExpert::None) => None,
            (Latent::Gaussian, _) | (_, PriorExpert::Prior) => {
                Some(ells[0].narrow(1, 0, 1).zeros_like())
            }
            (Latent::StudentT, PriorExpert::AltPrior) => Some(k.tau2.log().unsqueeze(1)),
        };
        latent_poe(&mus, &ells, present, prior.as_ref())
    }

    /// Decoder means μ_θ,j(z, y) for every modality (sigmoid for pixel modalities).
    pub fn decode(&self, z: &Tensor, y: &Tensor) -> Vec<Tensor> {
        self.decoders
            .iter()
            .zip(&self.spec.modalities)
            .map(|(d, md)| {
                let out = d.forward_with_class(z, y);
                match md.kind {
                    ModalityKind::Pixels => out.sigmoid(),
                    ModalityKind::Tabular => out,
                }
            })
            .collect()
    }

    /// Σ_{j∈S} ‖x_j − x̂_j‖²/(2σ²), summed over coordinates (§8.5), missing modalities skipped.
    pub fn reconstruction(&self, xs: &[Tensor], x_hat: &[Tensor], present: &Tensor) -> Tensor {
        let scale = 1.0 / (2.0 * self.spec.sigma * self.spec.sigma);
        let mut total: Option<Tensor> = None;
        for (j, (x, xh)) in xs.iter().zip(x_hat).enumerate() {
            let mask = present.select(1, j as i64).to_kind(x.kind());
            let term = (x - xh).square().sum_dim_intlist(1, false, None) * mask * scale;
            total = Some(match total {
                None => term,
                Some(t) => t + term,
            });
        }
        // Cannot fail on user input: a model spec always has at least one modality (EnsembleSpec builds none without).
        total.expect("at least one modality")
    }

    /// Reconstruction and posterior for class `y` with one z drawn by the t-reparameterisation
    /// (§4; Gaussian reparameterisation for `latent = gaussian`). `noise` fixes (ε, χ-factor) for
    /// tests; `None` draws them.
    pub fn labeled_terms(
        &self,
        xs: &[Tensor],
        x_parts: &[Tensor],
        y: &Tensor,
        present: &Tensor,
        k: &BatchConstants,
        noise: Option<(&Tensor, &Tensor)>,
    ) -> LabeledTerms {
        let posterior = self.posterior(x_parts, y, present, k);
        let z = match noise {
            Some((eps, chi)) => t_reparameterize(&posterior.mu, &posterior.log_sq, eps, chi),
            None => {
                let eps = normal_like(&posterior.mu);
                let chi = match self.spec.latent {
                    Latent::StudentT => chi_factor(&k.dof),
                    Latent::Gaussian => posterior.mu.ones_like().narrow(1, 0, 1),
                };
                t_reparameterize(&posterior.mu, &posterior.log_sq, &eps, &chi)
            }
        };
        let x_hat = self.decode(&z, y);
        LabeledTerms {
            recon: self.reconstruction(xs, &x_hat, present),
            posterior,
        }
    }
}
