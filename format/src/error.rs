//! Why a bundle was rejected: one variant per check, in the order [`crate::Bundle::from_bytes`]
//! runs them. Messages are short, lowercase, and name the tensor or field.

/// A bundle that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
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
    #[error("bundle is format {found}, this reader reads format {supported}: re-export it with `ssmvae export`")]
    UnsupportedVersion {
        /// Major version in the file.
        found: u16,
        /// Major version this build reads.
        supported: u16,
    },
    /// A minor version newer than this reader (a field it does not know).
    #[error("bundle is format 1.{found}, newer than this reader (1.{supported}): update ssmvae-runtime, or export with the version that reads it")]
    NewerMinor {
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
    /// A section or tensor that must start on a 64-byte boundary does not.
    #[error("{what} at offset {offset} is not 64-byte aligned")]
    Misaligned {
        /// Which section or tensor.
        what: String,
        /// Its offset in the file.
        offset: u64,
    },
    /// The payload checksum does not match the header's.
    #[error("payload checksum mismatch: header says {expected:#010x}, payload hashes to {found:#010x} (file corrupted)")]
    ChecksumMismatch {
        /// From the header.
        expected: u32,
        /// Computed.
        found: u32,
    },
    /// The rkyv archive failed validation.
    #[error("schema archive is invalid: {0}")]
    Archive(String),
    /// A tensor's length disagrees with the shape its layer declares.
    #[error("tensor {tensor}: shape needs {expected} values, found {found}")]
    ShapeMismatch {
        /// Tensor path (`expert.1.layer0.weight`).
        tensor: String,
        /// Values the shape needs.
        expected: u64,
        /// Values present.
        found: u64,
    },
    /// A tensor's bytes lie outside the weight section.
    #[error("tensor {tensor}: bytes {start}..{end} lie outside the weight section (0..{len})")]
    OutOfRange {
        /// Tensor path.
        tensor: String,
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
        what: String,
        /// The value.
        value: u64,
        /// The cap.
        max: u64,
    },
    /// An arithmetic overflow while computing sizes.
    #[error("size overflow computing {what}")]
    Overflow {
        /// What was being computed.
        what: String,
    },
    /// A weight or transform value is NaN or infinite.
    #[error("tensor {tensor}: value {index} is not finite")]
    NonFinite {
        /// Tensor path (or `transform.<modality>.mean`/`std`).
        tensor: String,
        /// Element index.
        index: u64,
    },
    /// Degrees of freedom ν must be finite and > 2 for the Student-t latent.
    #[error("nu = {0} is invalid: the Student-t latent needs finite nu > 2")]
    InvalidNu(f64),
    /// Layers do not chain or do not match the model description.
    #[error("{0}")]
    Inconsistent(String),
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
