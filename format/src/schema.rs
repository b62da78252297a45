//! The model description as owned values (feature `alloc`), what the trainer builds and
//! [`crate::BundleWriter`] archives: the paper's words (prior, experts, classifier experts,
//! decoders), every layer's shape, and where each tensor lies in the weight section. Each type
//! archives *as* its hand-written twin in [`crate::archived`], the layout devices read in place.

use crate::archived as a;
use alloc::{string::String, vec::Vec};
use rkyv::{Archive, Deserialize, Serialize};

/// The whole model description.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(as = a::ArchivedSchema)]
pub struct Schema {
    /// Latent prior and posterior settings.
    pub prior: PriorSpec,
    /// Class names, class 0 first (K = its length).
    pub classes: Vec<String>,
    /// Modalities in the trainer's modality order (the C API's modality index).
    pub modalities: Vec<ModalitySpec>,
    /// One latent expert per modality: input [x_j ; onehot(y)] (x columns first), output
    /// [μ_j ; ℓ_j] (2m values).
    pub experts: Vec<Mlp>,
    /// One classifier expert per modality: input x_j, output K logits.
    pub classifiers: Vec<Mlp>,
    /// Decoder means μ_θ,j(z, y), input [z ; onehot(y)]; empty unless exported with decoders.
    pub decoders: Vec<Mlp>,
    /// Hidden-layer activation.
    pub activation: Activation,
    /// Added to the summed classifier logits before the softmax: the post-hoc logit adjustment
    /// toward the exported target prior (docs/model.md §12.1), K values, or empty for none.
    /// Format 1.1.
    pub class_logit_bias: Vec<f32>,
    /// π of the labeled training classes (K values summing to 1, or empty): the prior the
    /// classifier's q(y|x) was trained under. Format 2.1.
    pub class_prior_labels: Vec<f32>,
    /// The unlabeled training data's class prior estimated by EM on q(y|x) (Saerens et al.
    /// 2002), K values summing to 1, or empty. Format 2.1.
    pub class_prior_estimate: Vec<f32>,
    /// The logit adjustment's strength τ: a target prior π_t moves the logits by
    /// τ (ln π_t − ln π_labels) (docs/model.md §12.1). Format 2.1.
    pub logit_adjust: f32,
}

/// The schema as formats 1.1 to 2.0 wrote it (no class priors). Read through this type and
/// converted: empty priors, τ = 0.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(as = a::ArchivedSchemaV1_1)]
pub struct SchemaV1_1 {
    /// As [`Schema::prior`].
    pub prior: PriorSpec,
    /// As [`Schema::classes`].
    pub classes: Vec<String>,
    /// As [`Schema::modalities`].
    pub modalities: Vec<ModalitySpec>,
    /// As [`Schema::experts`].
    pub experts: Vec<Mlp>,
    /// As [`Schema::classifiers`].
    pub classifiers: Vec<Mlp>,
    /// As [`Schema::decoders`].
    pub decoders: Vec<Mlp>,
    /// As [`Schema::activation`].
    pub activation: Activation,
    /// As [`Schema::class_logit_bias`].
    pub class_logit_bias: Vec<f32>,
}

impl From<SchemaV1_1> for Schema {
    fn from(s: SchemaV1_1) -> Self {
        Schema {
            prior: s.prior,
            classes: s.classes,
            modalities: s.modalities,
            experts: s.experts,
            classifiers: s.classifiers,
            decoders: s.decoders,
            activation: s.activation,
            class_logit_bias: s.class_logit_bias,
            class_prior_labels: Vec::new(),
            class_prior_estimate: Vec::new(),
            logit_adjust: 0.0,
        }
    }
}

/// The schema as format 1.0 wrote it (no `class_logit_bias`). rkyv lays out a struct by its
/// fields, so a 1.0 bundle is read through this type and converted.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(as = a::ArchivedSchemaV1_0)]
pub struct SchemaV1_0 {
    /// As [`Schema::prior`].
    pub prior: PriorSpec,
    /// As [`Schema::classes`].
    pub classes: Vec<String>,
    /// As [`Schema::modalities`].
    pub modalities: Vec<ModalitySpec>,
    /// As [`Schema::experts`].
    pub experts: Vec<Mlp>,
    /// As [`Schema::classifiers`].
    pub classifiers: Vec<Mlp>,
    /// As [`Schema::decoders`].
    pub decoders: Vec<Mlp>,
    /// As [`Schema::activation`].
    pub activation: Activation,
}

impl From<SchemaV1_0> for Schema {
    fn from(s: SchemaV1_0) -> Self {
        Schema {
            prior: s.prior,
            classes: s.classes,
            modalities: s.modalities,
            experts: s.experts,
            classifiers: s.classifiers,
            decoders: s.decoders,
            activation: s.activation,
            class_logit_bias: Vec::new(),
            class_prior_labels: Vec::new(),
            class_prior_estimate: Vec::new(),
            logit_adjust: 0.0,
        }
    }
}

/// The latent family and the PoE's prior expert (docs/model.md §3.1).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(as = a::ArchivedPriorSpec)]
pub struct PriorSpec {
    /// Degrees of freedom ν.
    pub nu: f64,
    /// Latent dimension m.
    pub latent_dim: u32,
    /// Student-t or Gaussian.
    pub latent: Latent,
    /// The prior expert of the latent PoE.
    pub prior_expert: PriorExpert,
    /// Decoder scale σ (needed for the alternative prior's τ_S²).
    pub sigma: f64,
}

/// Latent family.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(as = a::ArchivedLatent)]
pub enum Latent {
    /// Student-t (SSMVAE-CI).
    StudentT,
    /// Gaussian (M2 / SSVAE).
    Gaussian,
}

/// Prior expert of the latent PoE.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(as = a::ArchivedPriorExpert)]
pub enum PriorExpert {
    /// Scale 1 (the prior p(z)).
    Prior,
    /// Scale τ_S² of the observed subset.
    AltPrior,
    /// No prior expert.
    None,
}

/// Hidden-layer activation.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(as = a::ArchivedActivation)]
pub enum Activation {
    /// max(0, x).
    Relu,
}

/// What a modality's raw values are.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(as = a::ArchivedModalityKind)]
pub enum ModalityKind {
    /// Pixel intensities (decoder output is a sigmoid).
    Pixels,
    /// Real-valued features.
    Tabular,
}

/// One modality.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(as = a::ArchivedModalitySpec)]
pub struct ModalitySpec {
    /// Name.
    pub name: String,
    /// Input dimension n_j.
    pub input_dim: u32,
    /// Pixels or tabular.
    pub kind: ModalityKind,
    /// The preprocessing fitted on the training split, applied to raw inputs by the runtime.
    pub transform: InputTransform,
}

/// Preprocessing of one modality.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(as = a::ArchivedInputTransform)]
pub enum InputTransform {
    /// x · factor.
    Scale {
        /// The factor (1/255 for pixels).
        factor: f32,
    },
    /// (x − mean) / std per feature.
    Standardize {
        /// Training means.
        mean: Vec<f32>,
        /// Training standard deviations (> 0).
        std: Vec<f32>,
    },
    /// (ln(1 + max(x, 0)) − mean) / std per feature: count data (word counts, reads, links),
    /// where a raw count's scale spans orders of magnitude (docs/model.md §11.3). The statistics
    /// are those of ln(1 + x) on the training split. Format 2.1.
    Log1pStandardize {
        /// Training means of ln(1 + x).
        mean: Vec<f32>,
        /// Training standard deviations of ln(1 + x) (> 0).
        std: Vec<f32>,
    },
}

/// A multilayer perceptron: linear layers with the activation between them.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(as = a::ArchivedMlp)]
pub struct Mlp {
    /// Layers, input first.
    pub layers: Vec<Layer>,
}

/// One linear layer, y = W x + b with W `output × input`, stored in the bundle's layout (panels
/// of 8 output channels in format 2, row-major in 1.x; see [`crate::Layout`]).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(as = a::ArchivedLayer)]
pub struct Layer {
    /// Input width.
    pub input: u32,
    /// Output width.
    pub output: u32,
    /// The weight matrix.
    pub weight: TensorRef,
    /// The bias vector.
    pub bias: TensorRef,
}

/// Where a tensor lies: a byte offset into the weight section (a multiple of 64) and an element
/// count.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(as = a::ArchivedTensorRef)]
pub struct TensorRef {
    /// Byte offset from the start of the weight section.
    pub offset: u64,
    /// Number of stored elements (for a format 2 weight matrix, 8·⌈output/8⌉·input: the padded
    /// channels count).
    pub len: u64,
}
