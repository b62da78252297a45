//! The data layer's typed errors. Every variant that comes from a file names the file and, where it
//! applies, the 1-based row and column, so a user can open the file and look. The protocol and the
//! metrics reuse the parameter and shape variants; the trainer wraps this type in its own.

use std::path::PathBuf;

/// Everything the readers, the protocol and the metrics can reject.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A study manifest or one of its tables is malformed (docs/usage.md, "Your own data").
    #[error("{}{}: {message}", file.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Study {
        /// The manifest or table.
        file: PathBuf,
        /// 1-based line, where one is to blame.
        line: Option<usize>,
        /// What is wrong, naming the sample id or feature where there is one.
        message: String,
    },
    /// Reading a file failed at the OS level.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A named dataset's folder or file is not where `--data-dir` says.
    #[error("dataset `{dataset}`: {} not found (set --data-dir or SSMVAE_DATA_DIR to the folder laid out like shared/data)", path.display())]
    DatasetNotFound {
        /// Dataset name as given.
        dataset: String,
        /// The path that was looked for.
        path: PathBuf,
    },
    /// A dataset name that is neither a known name nor an existing `.npz` file or `.npy` folder.
    #[error("unknown dataset `{0}`: expected mfeat, rosmap, mnist+fashion, mnist+svhn, noisy-mnist, or a path to an .npz file or a folder of .npy files")]
    UnknownDataset(String),
    /// A CSV row has a different number of fields than the first row.
    #[error("{}: row {row} has {found} fields, expected {expected}", file.display())]
    RaggedRow {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        row: usize,
        /// Field count of the first data row.
        expected: usize,
        /// Field count of this row.
        found: usize,
    },
    /// A field is not a number.
    #[error("{}: row {row}, column {col}: `{text}` is not a number", file.display())]
    Parse {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        row: usize,
        /// 1-based column.
        col: usize,
        /// The offending text.
        text: String,
    },
    /// A NaN or infinite value in an observed modality.
    #[error("{source_name}: row {row}, column {col} is not finite ({value})")]
    NonFinite {
        /// The file, or `modality <name>` when the data did not come from a file.
        source_name: String,
        /// 1-based row (sample).
        row: usize,
        /// 1-based column (feature).
        col: usize,
        /// The value found.
        value: f32,
    },
    /// A label outside `0..K` (or a negative one where unlabeled samples are not allowed).
    #[error("{source_name}: row {row}: label {label} is outside 0..{classes}")]
    LabelOutOfRange {
        /// The file or array the label came from.
        source_name: String,
        /// 1-based row.
        row: usize,
        /// The label as read.
        label: i64,
        /// Number of classes K.
        classes: usize,
    },
    /// A label that is not a whole number.
    #[error("{source_name}: row {row}: label {value} is not a whole number")]
    NonIntegerLabel {
        /// The file or array the label came from.
        source_name: String,
        /// 1-based row.
        row: usize,
        /// The value found.
        value: f64,
    },
    /// Modalities (or labels) disagree on the number of samples.
    #[error("{what}: {found} rows, but {expected} expected from the other arrays")]
    RowCountMismatch {
        /// Which modality or array.
        what: String,
        /// The agreed row count.
        expected: usize,
        /// This array's row count.
        found: usize,
    },
    /// A sample with no observed modality cannot be used by any model.
    #[error("sample {row} has no observed modality (every mask is false)")]
    NoObservedModality {
        /// 1-based row.
        row: usize,
    },
    /// Two modalities share a name.
    #[error("modality name `{0}` is used twice")]
    DuplicateModality(String),
    /// A test set whose modalities or classes differ from the training set's.
    #[error("train and test sets disagree: {0}")]
    ModalityMismatch(String),
    /// A dataset needs at least one modality and one class.
    #[error("{0}")]
    Empty(String),
    /// An IDX file does not start with the expected magic number.
    #[error("{}: bad IDX magic number {found:#010x}, expected {expected:#010x}", file.display())]
    BadIdxMagic {
        /// The file.
        file: PathBuf,
        /// The magic we needed.
        expected: u32,
        /// The magic found.
        found: u32,
    },
    /// A binary file ends before its header says it should.
    #[error("{}: truncated: {expected} bytes expected, {found} found", file.display())]
    Truncated {
        /// The file.
        file: PathBuf,
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// A binary file is longer than its header says; the extra bytes would be silently ignored.
    #[error("{}: {found} bytes, but its header describes {expected}", file.display())]
    TrailingBytes {
        /// The file.
        file: PathBuf,
        /// Bytes described by the header.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// A `.npz`/`.npy` array could not be read or has the wrong type or rank.
    #[error("{}: array `{array}`: {message}", file.display())]
    Npz {
        /// The file.
        file: PathBuf,
        /// The array name.
        array: String,
        /// What went wrong.
        message: String,
    },
    /// A required array is absent from an `.npz` file or `.npy` folder.
    #[error("{}: no array named `{array}`", file.display())]
    MissingArray {
        /// The file.
        file: PathBuf,
        /// The array name.
        array: String,
    },
    /// A MATLAB `.mat` file could not be decoded.
    #[error("{}: {message}", file.display())]
    Mat {
        /// The file.
        file: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A protocol parameter is out of its domain.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name as on the command line.
        name: &'static str,
        /// The value given.
        value: String,
        /// What would be valid.
        reason: String,
    },
    /// A class has fewer samples than the protocol needs.
    #[error("class {class} (`{class_name}`) has {available} samples in the {pool} pool, the protocol needs {needed}: lower --n-max")]
    NotEnoughSamples {
        /// Class index.
        class: usize,
        /// Class name.
        class_name: String,
        /// Which pool (train or test).
        pool: &'static str,
        /// How many are needed.
        needed: usize,
        /// How many exist.
        available: usize,
    },
    /// Two datasets paired by label do not have the same classes.
    #[error("cannot pair {left} ({left_k} classes) with {right} ({right_k} classes)")]
    PairingMismatch {
        /// First dataset.
        left: String,
        /// Its class count.
        left_k: usize,
        /// Second dataset.
        right: String,
        /// Its class count.
        right_k: usize,
    },
}

/// The data layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An OS-level read failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
