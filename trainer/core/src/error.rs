//! The trainer's typed errors: everything the data layer rejects ([`DataError`], which names the
//! file, row and column), plus what only training can get wrong (configuration files, libtorch,
//! checkpoints, a diverging loss, output files).

use std::path::PathBuf;

pub use crate::data::Error as DataError;

/// Everything the trainer library can reject.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad data, a bad protocol parameter or a shape mismatch (from the data layer).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A configuration file could not be parsed (unknown keys included).
    #[error("{}: {message}", file.display())]
    Config {
        /// The file.
        file: PathBuf,
        /// What toml said.
        message: String,
    },
    /// A flag's text is not a value of its key.
    #[error("--{flag}: {message}")]
    Flag {
        /// The flag, without its dashes.
        flag: String,
        /// Why the text is not a value of it.
        message: String,
    },
    /// A libtorch operation failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A checkpoint cannot be used with this model or data.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What does not match.
        message: String,
    },
    /// Training produced a NaN or infinite loss.
    #[error("the loss became {value} at epoch {epoch}, step {step}; training stopped and the last good checkpoint was kept (try a lower --lr)")]
    NanLoss {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// The loss value.
        value: f64,
    },
    /// Writing an output file failed.
    #[error("cannot write {}: {message}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// The trainer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A TOML file that does not parse or has an unknown key, as one line: `line L, column C:
    /// what` (toml's own report draws the line with a caret over several lines).
    pub fn toml(file: &std::path::Path, text: &str, err: &toml::de::Error) -> Self {
        let at = err.span().map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {col}: ")
        });
        Error::Config {
            file: file.to_path_buf(),
            message: format!("{}{}", at.unwrap_or_default(), err.message().trim()),
        }
    }

    /// An OS-level read failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Data(DataError::io(path, source))
    }
}
