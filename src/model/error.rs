use std::path::PathBuf;

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
