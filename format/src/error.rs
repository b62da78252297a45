//! Why a bundle was rejected: one variant per check, in the order [`crate::Bundle::from_bytes`]
//! runs them. Messages are short, lowercase, and name the tensor or field. Every variant holds
//! only numbers and static names (no `String`), so a device without an allocator gets the same
//! errors as the trainer.

use core::fmt;

/// A bundle that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Clone, Copy)]
#[non_exhaustive]
pub enum FormatError {
    /// Fewer bytes than the fixed header.
    #[error("bundle is {len} bytes, shorter than its 64-byte header")]
    TooShort {
        /// Bytes given.
        len: usize,
    },
    /// The file does not start with [`crate::MAGIC`].
    #[error("not an ssmvae bundle (bad magic number)")]
    BadMagic,
    /// A format major version this reader does not know.
    #[error("bundle is format {found}, this reader reads formats 1 to {supported}: re-export it with `ssmvae export`")]
    UnsupportedVersion {
        /// Major version in the file.
        found: u16,
        /// Major version this build reads.
        supported: u16,
    },
    /// A minor version newer than this reader (a field it does not know).
    #[error("bundle is format {major}.{found}, newer than this reader ({major}.{supported}): update ssmvae-runtime, or export with the version that reads it")]
    NewerMinor {
        /// Major version in the file.
        major: u16,
        /// Minor version in the file.
        found: u16,
        /// Newest minor version this build reads.
        supported: u16,
    },
    /// An unknown weight dtype code.
    #[error("unknown weight dtype code {0}")]
    BadDtype(u8),
    /// The sections the header declares do not tile the file exactly.
    #[error("{what}: header declares {declared} bytes, file has {actual}")]
    LengthMismatch {
        /// Which section.
        what: &'static str,
        /// Declared by the header.
        declared: u64,
        /// Actually present.
        actual: u64,
    },
    /// A section, tensor or buffer that must be aligned is not.
    #[error("{what} at offset {offset} is not {align}-byte aligned")]
    Misaligned {
        /// Which section, tensor or buffer.
        what: Region,
        /// Its offset in the file (0 for the bundle's start in memory).
        offset: u64,
        /// The alignment it needs.
        align: u64,
    },
    /// The payload checksum does not match the header's.
    #[error("payload checksum mismatch: header says {expected:#010x}, payload hashes to {found:#010x} (file corrupted)")]
    ChecksumMismatch {
        /// From the header.
        expected: u32,
        /// Computed.
        found: u32,
    },
    /// The rkyv archive failed validation (bytecheck: a pointer out of range, a bad enum tag,
    /// invalid UTF-8 in a name). rkyv reports no more detail without an allocator.
    #[error("schema archive is invalid (rkyv validation failed): the file is damaged or was not written by `ssmvae export`")]
    Archive,
    /// A tensor's length disagrees with the shape its layer declares.
    #[error("tensor {tensor}: shape needs {expected} values, found {found}")]
    ShapeMismatch {
        /// Tensor path (`expert.1.layer0.weight`).
        tensor: TensorName,
        /// Values the shape needs.
        expected: u64,
        /// Values present.
        found: u64,
    },
    /// A tensor's bytes lie outside the weight section.
    #[error("tensor {tensor}: bytes {start}..{end} lie outside the weight section (0..{len})")]
    OutOfRange {
        /// Tensor path.
        tensor: TensorName,
        /// First byte (relative to the weight section).
        start: u64,
        /// One past the last byte.
        end: u64,
        /// Weight section length.
        len: u64,
    },
    /// A dimension is zero or above its cap.
    #[error("{what} = {value} is outside 1..={max}")]
    DimTooLarge {
        /// Which dimension.
        what: Dim,
        /// The value.
        value: u64,
        /// The cap.
        max: u64,
    },
    /// An arithmetic overflow while computing sizes.
    #[error("size overflow computing {what}")]
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
    /// A weight or transform value is NaN or infinite.
    #[error("tensor {tensor}: value {index} is not finite")]
    NonFinite {
        /// Tensor path (or `transform.<modality>.mean`/`std`).
        tensor: TensorName,
        /// Element index in stored order (panel order for a format 2 weight matrix: `W[o][i]` is
        /// element (o / 8 · input + i) · 8 + o % 8).
        index: u64,
    },
    /// Degrees of freedom ν must be finite and > 2 for the Student-t latent.
    #[error("nu = {0} is invalid: the Student-t latent needs finite nu > 2")]
    InvalidNu(f64),
    /// The decoder scale σ must be finite and > 0.
    #[error("sigma = {0} must be finite and > 0")]
    InvalidSigma(f64),
    /// There must be one expert and one classifier (and zero or one decoder) per modality.
    #[error("{found} {what} for {modalities} modalities")]
    NetCount {
        /// Experts, classifiers or decoders.
        what: &'static str,
        /// How many the bundle has.
        found: u64,
        /// Modalities of the bundle.
        modalities: u64,
    },
    /// A network without layers.
    #[error("{0} has no layers")]
    NoLayers(NetName),
    /// A layer's input width differs from the previous layer's output (or the network's input).
    #[error("{layer} takes {takes} inputs, but {arrive} arrive")]
    LayersDoNotChain {
        /// The layer.
        layer: LayerName,
        /// Its declared input width.
        takes: u64,
        /// What the previous layer (or the input) gives.
        arrive: u64,
    },
    /// A network's output width differs from what the model needs.
    #[error("{net} outputs {outputs} values, the model needs {needs}")]
    WrongOutput {
        /// The network.
        net: NetName,
        /// Its last layer's width.
        outputs: u64,
        /// What the model description needs (2m, K or d_j).
        needs: u64,
    },
    /// A standardisation with a non-positive standard deviation.
    #[error("transform.{modality}.std[{index}] must be > 0")]
    NonPositiveStd {
        /// Modality index.
        modality: u64,
        /// Feature index.
        index: u64,
    },
    /// A class prior whose values are not a distribution (each > 0, summing to 1 within 1e-3).
    #[error("{tensor} is not a class distribution: every value must be > 0 and they must sum to 1 (sum {sum})")]
    NotADistribution {
        /// The prior.
        tensor: TensorName,
        /// The sum found.
        sum: f32,
    },
    /// A logit adjustment strength τ that is negative or not finite.
    #[error("logit_adjust = {0} must be a number in [0, 1000]")]
    BadLogitAdjust(f32),
    /// Too few or too many modalities or classes.
    #[error("{what}: {found} is outside {min}..={max}")]
    Count {
        /// Modalities or classes.
        what: &'static str,
        /// Found.
        found: u64,
        /// Minimum.
        min: u64,
        /// Maximum.
        max: u64,
    },
}

/// One of a modality's three networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// The latent expert.
    Expert,
    /// The classifier expert.
    Classifier,
    /// The decoder.
    Decoder,
}

/// A network: `expert.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetName {
    /// Which network.
    pub net: Net,
    /// Its modality.
    pub modality: u32,
}

/// A layer: `expert.1.layer0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerName {
    /// The network.
    pub net: NetName,
    /// Layer index, input first.
    pub layer: u32,
}

/// A named array of values in the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorName {
    /// `expert.1.layer0.weight`.
    Weight(LayerName),
    /// `expert.1.layer0.bias`.
    Bias(LayerName),
    /// `expert.1.layer0.scale`: an int8 layer's per-output-channel scales.
    Scale(LayerName),
    /// The schema's `class_logit_bias`.
    ClassLogitBias,
    /// The schema's `class_prior_labels`.
    ClassPriorLabels,
    /// The schema's `class_prior_estimate`.
    ClassPriorEstimate,
    /// `transform.<modality>.<what>` (`factor`, `mean`, `std`).
    Transform {
        /// Modality index.
        modality: u32,
        /// Which array.
        what: &'static str,
    },
}

/// A dimension with a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// The latent dimension m.
    LatentDim,
    /// A modality's input dimension.
    InputDim {
        /// Modality index.
        modality: u32,
    },
    /// A layer's input width.
    LayerInput(LayerName),
    /// A layer's output width.
    LayerOutput(LayerName),
}

/// What must be aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// The schema section in the file.
    SchemaSection,
    /// The bundle's first byte in memory.
    BundleInMemory,
    /// A tensor in the weight section.
    Tensor(TensorName),
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Net::Expert => "expert",
            Net::Classifier => "classifier",
            Net::Decoder => "decoder",
        })
    }
}

impl fmt::Display for NetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.net, self.modality)
    }
}

impl fmt::Display for LayerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.layer{}", self.net, self.layer)
    }
}

impl fmt::Display for TensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorName::Weight(l) => write!(f, "{l}.weight"),
            TensorName::Bias(l) => write!(f, "{l}.bias"),
            TensorName::Scale(l) => write!(f, "{l}.scale"),
            TensorName::ClassLogitBias => f.write_str("class_logit_bias"),
            TensorName::ClassPriorLabels => f.write_str("class_prior_labels"),
            TensorName::ClassPriorEstimate => f.write_str("class_prior_estimate"),
            TensorName::Transform { modality, what } => write!(f, "transform.{modality}.{what}"),
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::LatentDim => f.write_str("latent_dim"),
            Dim::InputDim { modality } => write!(f, "modality {modality} input_dim"),
            Dim::LayerInput(l) => write!(f, "{l} input"),
            Dim::LayerOutput(l) => write!(f, "{l} output"),
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Region::SchemaSection => f.write_str("schema section"),
            Region::BundleInMemory => f.write_str("bundle start in memory"),
            Region::Tensor(t) => write!(f, "tensor {t}"),
        }
    }
}
