//! The crate-wide error: one variant per layer, so front ends can tell bad
//! input (exit code 2) from everything else.

use crate::config::ConfigError;
use crate::data::DataError;
use crate::disk::DiskError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A write found the disk (quota, file-size limit) full.
    #[error(transparent)]
    OutOfSpace(crate::disk::OutOfSpace),
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    #[error("{0}")]
    Run(String),
}

impl Error {
    /// True when the user can fix the error by changing their input
    /// (files, flags, config): the CLI exits with code 2 for these.
    pub fn is_bad_input(&self) -> bool {
        match self {
            // A data file that could not be written is the machine's fault.
            Error::Data(DataError::Disk(_)) => false,
            Error::Data(_) | Error::Config(_) | Error::Model(_) => true,
            _ => false,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<DiskError> for Error {
    fn from(e: DiskError) -> Self {
        match e {
            DiskError::OutOfSpace(o) => Error::OutOfSpace(o),
            DiskError::Io { path, source } => Error::io(path.display().to_string(), source),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What is wrong with a model: its directory, config, weights or device.
/// Defined here, not in `model/`, so this crate-wide error depends on no
/// layer above the data.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model '{spec}' not found: {hint}")]
    NotFound { spec: String, hint: String },
    #[error("{}: missing {file}{hint}", dir.display())]
    MissingFile {
        dir: PathBuf,
        file: &'static str,
        hint: &'static str,
    },
    #[error("{}: only pytorch_model.bin (a pickle) is present; tunebench reads safetensors only. Convert it in Python: AutoModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)", dir.display())]
    PickleOnly { dir: PathBuf },
    #[error("{}: {message}", path.display())]
    BadConfig { path: PathBuf, message: String },
    #[error("{}: tensor '{name}' is missing", path.display())]
    MissingTensor { path: PathBuf, name: String },
    #[error("{}: tensor '{name}' has shape {found:?}, the config implies {expected:?}", path.display())]
    ShapeMismatch {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("{}: cannot read weights: {message}", path.display())]
    BadWeights { path: PathBuf, message: String },
    #[error("device '{spec}': {reason}")]
    Device { spec: String, reason: String },
}
