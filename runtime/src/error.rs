//! Runtime errors. Predict-path variants carry only numbers, so reporting an error allocates
//! nothing either.

use std::path::PathBuf;

/// Why opening a model or predicting failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The bundle failed validation.
    #[error(transparent)]
    Format(#[from] format::FormatError),
    /// The file could not be read or mapped.
    #[error("cannot open {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
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
    /// A workspace or output made for another model.
    #[error("workspace or output does not belong to this model (made for another shape)")]
    WorkspaceMismatch,
}
