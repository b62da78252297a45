//! The schema as it lies in the bundle: rkyv's archived layout, written out by hand so that it
//! exists without an allocator. A device reads these types in place from the bundle bytes (flash,
//! a memory map); the owned [`crate::Schema`] (feature `alloc`) archives *as* them
//! (`#[rkyv(as = …)]`), so there is one definition of the byte layout and the writer and the
//! in-place reader cannot drift apart.
//!
//! Each type mirrors what `#[derive(Archive)]` would generate for its owned counterpart: structs
//! are `repr(C)` with the fields in declaration order, enums are `repr(u8)` (variant index as
//! tag), `Vec<T>` is an [`ArchivedVec`], `String` an [`ArchivedString`], and numbers are
//! little-endian with natural alignment (features `little_endian`, `aligned`,
//! `pointer_width_32`). The format-1.0 and 1.1 fixtures in `fixtures/` pin that this layout reads
//! the bundles the derived layout wrote.

use rkyv::bytecheck::CheckBytes;
use rkyv::rend::{f32_le, f64_le, u32_le, u64_le};
use rkyv::string::ArchivedString;
use rkyv::vec::ArchivedVec;
use rkyv::Portable;

/// In-place [`crate::Schema`] (format 2.1).
#[derive(Portable, CheckBytes, Debug)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(C)]
pub struct ArchivedSchema {
    /// Latent prior and posterior settings.
    pub prior: ArchivedPriorSpec,
    /// Class names, class 0 first.
    pub classes: ArchivedVec<ArchivedString>,
    /// Modalities in the trainer's order.
    pub modalities: ArchivedVec<ArchivedModalitySpec>,
    /// Latent experts, one per modality.
    pub experts: ArchivedVec<ArchivedMlp>,
    /// Classifier experts, one per modality.
    pub classifiers: ArchivedVec<ArchivedMlp>,
    /// Decoders (empty unless exported with them).
    pub decoders: ArchivedVec<ArchivedMlp>,
    /// Hidden-layer activation.
    pub activation: ArchivedActivation,
    /// Post-hoc logit adjustment, K values or empty.
    pub class_logit_bias: ArchivedVec<f32_le>,
    /// π of the labeled classes, K values or empty.
    pub class_prior_labels: ArchivedVec<f32_le>,
    /// The EM estimate of the unlabeled data's class prior, K values or empty.
    pub class_prior_estimate: ArchivedVec<f32_le>,
    /// The logit adjustment's strength τ.
    pub logit_adjust: f32_le,
}

/// In-place [`crate::SchemaV1_1`] (formats 1.1 to 2.0: no class priors).
#[derive(Portable, CheckBytes, Debug)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(C)]
pub struct ArchivedSchemaV1_1 {
    /// Latent prior and posterior settings.
    pub prior: ArchivedPriorSpec,
    /// Class names, class 0 first.
    pub classes: ArchivedVec<ArchivedString>,
    /// Modalities in the trainer's order.
    pub modalities: ArchivedVec<ArchivedModalitySpec>,
    /// Latent experts, one per modality.
    pub experts: ArchivedVec<ArchivedMlp>,
    /// Classifier experts, one per modality.
    pub classifiers: ArchivedVec<ArchivedMlp>,
    /// Decoders (empty unless exported with them).
    pub decoders: ArchivedVec<ArchivedMlp>,
    /// Hidden-layer activation.
    pub activation: ArchivedActivation,
    /// Post-hoc logit adjustment, K values or empty.
    pub class_logit_bias: ArchivedVec<f32_le>,
}

/// In-place [`crate::SchemaV1_0`] (format 1.0: no `class_logit_bias`).
#[derive(Portable, CheckBytes, Debug)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(C)]
pub struct ArchivedSchemaV1_0 {
    /// As [`ArchivedSchema::prior`].
    pub prior: ArchivedPriorSpec,
    /// As [`ArchivedSchema::classes`].
    pub classes: ArchivedVec<ArchivedString>,
    /// As [`ArchivedSchema::modalities`].
    pub modalities: ArchivedVec<ArchivedModalitySpec>,
    /// As [`ArchivedSchema::experts`].
    pub experts: ArchivedVec<ArchivedMlp>,
    /// As [`ArchivedSchema::classifiers`].
    pub classifiers: ArchivedVec<ArchivedMlp>,
    /// As [`ArchivedSchema::decoders`].
    pub decoders: ArchivedVec<ArchivedMlp>,
    /// As [`ArchivedSchema::activation`].
    pub activation: ArchivedActivation,
}

/// In-place [`crate::PriorSpec`].
#[derive(Portable, CheckBytes, Debug)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(C)]
pub struct ArchivedPriorSpec {
    /// Degrees of freedom ν.
    pub nu: f64_le,
    /// Latent dimension m.
    pub latent_dim: u32_le,
    /// Student-t or Gaussian.
    pub latent: ArchivedLatent,
    /// The prior expert of the latent PoE.
    pub prior_expert: ArchivedPriorExpert,
    /// Decoder scale σ.
    pub sigma: f64_le,
}

/// In-place [`crate::Latent`].
#[derive(Portable, CheckBytes, Debug, Clone, Copy, PartialEq, Eq)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(u8)]
pub enum ArchivedLatent {
    /// Student-t.
    StudentT,
    /// Gaussian.
    Gaussian,
}

/// In-place [`crate::PriorExpert`].
#[derive(Portable, CheckBytes, Debug, Clone, Copy, PartialEq, Eq)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(u8)]
pub enum ArchivedPriorExpert {
    /// Scale 1 (the prior p(z)).
    Prior,
    /// Scale τ_S² of the observed subset.
    AltPrior,
    /// No prior expert.
    None,
}

/// In-place [`crate::Activation`].
#[derive(Portable, CheckBytes, Debug, Clone, Copy, PartialEq, Eq)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(u8)]
pub enum ArchivedActivation {
    /// max(0, x).
    Relu,
}

/// In-place [`crate::ModalityKind`].
#[derive(Portable, CheckBytes, Debug, Clone, Copy, PartialEq, Eq)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(u8)]
pub enum ArchivedModalityKind {
    /// Pixel intensities.
    Pixels,
    /// Real-valued features.
    Tabular,
}

/// In-place [`crate::ModalitySpec`].
#[derive(Portable, CheckBytes, Debug)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(C)]
pub struct ArchivedModalitySpec {
    /// Name.
    pub name: ArchivedString,
    /// Input dimension n_j.
    pub input_dim: u32_le,
    /// Pixels or tabular.
    pub kind: ArchivedModalityKind,
    /// The preprocessing fitted on the training split.
    pub transform: ArchivedInputTransform,
}

/// In-place [`crate::InputTransform`].
#[derive(Portable, CheckBytes, Debug)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(u8)]
pub enum ArchivedInputTransform {
    /// x · factor.
    Scale {
        /// The factor.
        factor: f32_le,
    },
    /// (x − mean) / std per feature.
    Standardize {
        /// Training means.
        mean: ArchivedVec<f32_le>,
        /// Training standard deviations.
        std: ArchivedVec<f32_le>,
    },
    /// (ln(1 + max(x, 0)) − mean) / std per feature (format 2.1).
    Log1pStandardize {
        /// Training means of ln(1 + x).
        mean: ArchivedVec<f32_le>,
        /// Training standard deviations of ln(1 + x).
        std: ArchivedVec<f32_le>,
    },
}

impl ArchivedInputTransform {
    /// The transform of one raw value `x` of feature `i`, as the trainer applies it
    /// (`ssmvae-data`'s `InputTransform::apply`, the same f32 operations in the same order).
    /// `i` must be below the modality's dimension (the validator checked the vectors' lengths).
    #[inline]
    pub fn apply(&self, i: usize, x: f32) -> f32 {
        match self {
            ArchivedInputTransform::Scale { factor } => x * factor.to_native(),
            ArchivedInputTransform::Standardize { mean, std } => {
                (x - mean[i].to_native()) / std[i].to_native()
            }
            ArchivedInputTransform::Log1pStandardize { mean, std } => {
                (libm::log1pf(x.max(0.0)) - mean[i].to_native()) / std[i].to_native()
            }
        }
    }

    /// [`Self::apply`] to a whole row: `out[i] = apply(i, raw[i])` with the same f32 operations,
    /// the variant matched once per row instead of once per value, so the loop vectorises.
    /// `raw` and `out` have the modality's dimension (the validator checked the vectors').
    #[inline]
    pub fn apply_row(&self, raw: &[f32], out: &mut [f32]) {
        match self {
            ArchivedInputTransform::Scale { factor } => {
                let f = factor.to_native();
                out.iter_mut().zip(raw).for_each(|(o, &x)| *o = x * f);
            }
            ArchivedInputTransform::Standardize { mean, std } => {
                for (((o, &x), m), s) in out.iter_mut().zip(raw).zip(mean.iter()).zip(std.iter()) {
                    *o = (x - m.to_native()) / s.to_native();
                }
            }
            ArchivedInputTransform::Log1pStandardize { mean, std } => {
                for (((o, &x), m), s) in out.iter_mut().zip(raw).zip(mean.iter()).zip(std.iter()) {
                    *o = (libm::log1pf(x.max(0.0)) - m.to_native()) / s.to_native();
                }
            }
        }
    }

    /// The inverse of [`Self::apply`] on the model's scale: a decoder mean back to raw units
    /// (counts for [`Self::Log1pStandardize`], never below 0).
    #[inline]
    pub fn invert(&self, i: usize, v: f32) -> f32 {
        match self {
            ArchivedInputTransform::Scale { factor } => v / factor.to_native(),
            ArchivedInputTransform::Standardize { mean, std } => {
                v * std[i].to_native() + mean[i].to_native()
            }
            ArchivedInputTransform::Log1pStandardize { mean, std } => {
                libm::expm1f(v * std[i].to_native() + mean[i].to_native()).max(0.0)
            }
        }
    }
}

/// In-place [`crate::Mlp`].
#[derive(Portable, CheckBytes, Debug)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(C)]
pub struct ArchivedMlp {
    /// Layers, input first.
    pub layers: ArchivedVec<ArchivedLayer>,
}

/// In-place [`crate::Layer`].
#[derive(Portable, CheckBytes, Debug)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(C)]
pub struct ArchivedLayer {
    /// Input width.
    pub input: u32_le,
    /// Output width.
    pub output: u32_le,
    /// The weight matrix.
    pub weight: ArchivedTensorRef,
    /// The bias vector.
    pub bias: ArchivedTensorRef,
}

/// In-place [`crate::TensorRef`].
#[derive(Portable, CheckBytes, Debug, Clone, Copy, PartialEq, Eq)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(C)]
pub struct ArchivedTensorRef {
    /// Byte offset from the start of the weight section.
    pub offset: u64_le,
    /// Number of elements.
    pub len: u64_le,
}

/// A validated schema of either minor version, borrowed from the bundle bytes: what the runtime
/// and the validator read. Format 1.0 bundles have an empty `class_logit_bias`.
#[derive(Debug, Clone, Copy)]
pub struct SchemaRef<'a> {
    /// Latent prior and posterior settings.
    pub prior: &'a ArchivedPriorSpec,
    /// Class names, class 0 first (K = its length).
    pub classes: &'a [ArchivedString],
    /// Modalities in the trainer's modality order.
    pub modalities: &'a [ArchivedModalitySpec],
    /// Latent experts: input [x_j ; onehot(y)], output [μ_j ; ℓ_j].
    pub experts: &'a [ArchivedMlp],
    /// Classifier experts: input x_j, output K logits.
    pub classifiers: &'a [ArchivedMlp],
    /// Decoder means μ_θ,j(z, y), input [z ; onehot(y)]; empty unless exported with decoders.
    pub decoders: &'a [ArchivedMlp],
    /// Hidden-layer activation.
    pub activation: ArchivedActivation,
    /// Added to the summed classifier logits (docs/model.md §12.1); empty for none.
    pub class_logit_bias: &'a [f32_le],
    /// π of the labeled classes; empty before format 2.1.
    pub class_prior_labels: &'a [f32_le],
    /// The EM estimate of the unlabeled data's class prior; empty before format 2.1 or when the
    /// training set had no unlabeled sample.
    pub class_prior_estimate: &'a [f32_le],
    /// τ; 0 before format 2.1.
    pub logit_adjust: f32,
}

impl<'a> From<&'a ArchivedSchema> for SchemaRef<'a> {
    fn from(s: &'a ArchivedSchema) -> Self {
        SchemaRef {
            prior: &s.prior,
            classes: &s.classes,
            modalities: &s.modalities,
            experts: &s.experts,
            classifiers: &s.classifiers,
            decoders: &s.decoders,
            activation: s.activation,
            class_logit_bias: &s.class_logit_bias,
            class_prior_labels: &s.class_prior_labels,
            class_prior_estimate: &s.class_prior_estimate,
            logit_adjust: s.logit_adjust.to_native(),
        }
    }
}

impl<'a> From<&'a ArchivedSchemaV1_1> for SchemaRef<'a> {
    fn from(s: &'a ArchivedSchemaV1_1) -> Self {
        SchemaRef {
            prior: &s.prior,
            classes: &s.classes,
            modalities: &s.modalities,
            experts: &s.experts,
            classifiers: &s.classifiers,
            decoders: &s.decoders,
            activation: s.activation,
            class_logit_bias: &s.class_logit_bias,
            class_prior_labels: &[],
            class_prior_estimate: &[],
            logit_adjust: 0.0,
        }
    }
}

impl<'a> From<&'a ArchivedSchemaV1_0> for SchemaRef<'a> {
    fn from(s: &'a ArchivedSchemaV1_0) -> Self {
        SchemaRef {
            prior: &s.prior,
            classes: &s.classes,
            modalities: &s.modalities,
            experts: &s.experts,
            classifiers: &s.classifiers,
            decoders: &s.decoders,
            activation: s.activation,
            class_logit_bias: &[],
            class_prior_labels: &[],
            class_prior_estimate: &[],
            logit_adjust: 0.0,
        }
    }
}

impl SchemaRef<'_> {
    /// Number of classes K.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }
    /// Latent dimension m.
    pub fn latent_dim(&self) -> usize {
        self.prior.latent_dim.to_native() as usize
    }
}

/// The prior the runtime's prediction targets (docs/model.md §12.1): how the summed classifier
/// logits are shifted before the softmax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetPrior {
    /// The bundle's `class_logit_bias`, as exported (the trainer's `target_prior`).
    #[default]
    AsExported,
    /// Uniform classes: −τ ln π_labels (a class-balanced test set).
    Uniform,
    /// The labeled training classes' prior: no shift (a test set drawn like the training set).
    Train,
    /// The EM estimate of the unlabeled training data's prior: τ (ln π̂ − ln π_labels).
    Estimated,
}

/// The logit shift of class y toward a target prior, τ (ln π_target − ln π_labels), in f64 from
/// the stored f32 priors and rounded once to f32; the uniform target drops its constant −τ ln K
/// (it changes no prediction), so it is −τ ln π_labels. The trainer's `estimated` target and the
/// runtime's `Uniform`, `Train` and `Estimated` targets call this, so the estimated shift is the
/// same bits in both; the trainer's uniform shift is computed from the label counts in f64
/// (`logit_bias`, the exported `class_logit_bias`, which `AsExported` applies), so `Uniform`
/// from the stored f32 priors may differ from it by an ulp.
pub fn target_shift(tau: f32, pi_labels: f32, pi_target: Option<f32>) -> f32 {
    let tau = f64::from(tau);
    let base = -tau * libm::log(f64::from(pi_labels));
    match pi_target {
        None => base as f32,
        Some(t) => (base + tau * libm::log(f64::from(t))) as f32,
    }
}
