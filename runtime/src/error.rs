//! Runtime errors. Predict-path variants carry only numbers and static names, so reporting an
//! error allocates nothing either, with or without `std`.

/// Why opening a model, predicting or imputing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The bundle failed validation.
    #[error(transparent)]
    Format(#[from] format::FormatError),
    /// A format 1.x bundle (row-major weights) given to a constructor that reads the bytes in
    /// place: the kernels read format 2's panels.
    #[error("bundle is format {major}.{minor} (row-major weights); the runtime reads format 2 in place: re-export it with `ssmvae export`, or open it with `Model::open`/`Model::from_vec` (std), which repack it in memory")]
    RowMajorBundle {
        /// Major version in the file.
        major: u16,
        /// Minor version in the file.
        minor: u16,
    },
    /// The file could not be read or mapped.
    #[cfg(feature = "std")]
    #[error("cannot open {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `inputs` has the wrong number of modalities.
    #[error("{found} modality inputs given, the model has {expected}")]
    ModalityCount {
        /// Modalities of the model.
        expected: usize,
        /// Inputs given.
        found: usize,
    },
    /// An input has the wrong length.
    #[error("modality {modality}: {found} values given, the model expects {expected}")]
    InputLength {
        /// Modality index.
        modality: usize,
        /// Its input dimension.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// An input value is NaN or infinite.
    #[error("modality {modality}: value {index} is not finite")]
    NonFiniteInput {
        /// Modality index.
        modality: usize,
        /// Element index.
        index: usize,
    },
    /// Every modality is missing.
    #[error("every modality is missing: at least one input is needed")]
    NoModality,
    /// The workspace slice is shorter than [`crate::Model::workspace_len`].
    #[error("workspace holds {found} floats, the model needs {needed}")]
    WorkspaceTooSmall {
        /// Floats needed.
        needed: usize,
        /// Floats given.
        found: usize,
    },
    /// An output buffer has the wrong length.
    #[error("{what}: {found} values given, the model writes {expected}")]
    OutputLength {
        /// Which output (`probs`, `mu`, `scale`, `imputed[j]`, …).
        what: &'static str,
        /// Values the model writes.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A target prior the bundle has no prior for (format 2.1 stores them; see
    /// [`crate::Model::set_target_prior`]).
    #[error("this bundle carries no {prior}: export a checkpoint trained by ssmvae with format 2.1 (older checkpoints carry no priors; an estimate needs unlabeled training data)")]
    NoPrior {
        /// The missing field.
        prior: &'static str,
    },
    /// Integer activations were asked of a bundle whose weights are not int8.
    #[error("integer activations need an int8 bundle; this one is {dtype:?}: export with `ssmvae export --dtype int8`")]
    NotInt8 {
        /// The bundle's dtype.
        dtype: format::Dtype,
    },
    /// Imputation needs a bundle exported with `--with-decoders`.
    #[error("this bundle carries no decoders: re-export it with `ssmvae export --with-decoders` to impute")]
    NoDecoders,
    /// A class index of K classes or more.
    #[error("class {class} given, the model has {classes} classes")]
    ClassOutOfRange {
        /// The class given.
        class: usize,
        /// K.
        classes: usize,
    },
    /// A batch whose parts disagree on the sample count.
    #[error("batch of {found} samples, {what} holds {capacity}")]
    BatchSize {
        /// Which buffer disagrees.
        what: &'static str,
        /// Samples it holds.
        capacity: usize,
        /// Samples given.
        found: usize,
    },
}
