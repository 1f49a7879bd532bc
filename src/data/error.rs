use std::path::PathBuf;

/// Everything that can be wrong with a data file. Each variant names the
/// file and, where there is one, the line at fault.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("unknown bundled corpus '{spec}': the bundled ones are {known} (add /heldout for the held-out file)")]
    UnknownSample { spec: String, known: String },
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: the file is empty", path.display())]
    EmptyFile { path: PathBuf },
    #[error("{}: no data rows (the corpus is empty)", path.display())]
    NoRows { path: PathBuf },
    #[error("{}: unknown file type '{ext}'; use .csv, .tsv, .jsonl, .parquet or .conll (a CoNLL file is also known by its content; or hf:ORG/NAME for a cached HF dataset)", path.display())]
    UnknownFormat { path: PathBuf, ext: String },
    #[error("{}: no {role} column: looked for {looked_for}, the file has {available}; choose one with --{role}-col{hint}", path.display())]
    MissingColumn {
        path: PathBuf,
        /// "text" or "label" (the flag is --<role>-col).
        role: &'static str,
        looked_for: String,
        available: String,
        /// Extra advice ("; ..."), or empty.
        hint: String,
    },
    #[error("{}:{line}: empty text (pass --skip-empty to drop such rows)", path.display())]
    EmptyText { path: PathBuf, line: u64 },
    #[error("{}:{line}: missing or empty label (in a multi-label file where a row may have no label, set task = \"multi_label\")", path.display())]
    MissingLabel { path: PathBuf, line: u64 },
    #[error("{}:{line}: invalid UTF-8 in column '{column}' at byte {byte} of the field (pass --lossy-utf8 to replace bad bytes)", path.display())]
    InvalidUtf8 {
        path: PathBuf,
        line: u64,
        column: String,
        byte: usize,
    },
    #[error("{}:{line}: ragged row: {found} fields where the header has {expected}", path.display())]
    RaggedRow {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("{}:{line}: a quoted field runs over {lines} lines and leaves the row with {found} fields where the header has {expected}: an unclosed or stray \" (quote a text that holds one and double it inside: \"say \"\"hi\"\"\")", path.display())]
    UnclosedQuote {
        path: PathBuf,
        line: u64,
        lines: usize,
        expected: usize,
        found: usize,
    },
    /// `line` 0: a problem of the whole file (its schema), no line named.
    #[error("{}{}: malformed {format}: {message}", path.display(), at_line(*line))]
    Malformed {
        path: PathBuf,
        line: u64,
        format: &'static str,
        message: String,
    },
    #[error("{}:{line}: field '{field}' must be a string or an integer, found {found}", path.display())]
    BadFieldType {
        path: PathBuf,
        line: u64,
        field: String,
        found: &'static str,
    },
    #[error("{}:{line}: label '{label}' is unknown to the model (it knows: {known})", path.display())]
    UnknownLabel {
        path: PathBuf,
        line: u64,
        label: String,
        known: String,
    },
    #[error("{spec}: {message}")]
    HfDataset { spec: String, message: String },
    /// A labels file of a labelling session (`data::given_labels`).
    #[error("{}:{line}: {message}", path.display())]
    BadGivenLabel {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{}:{line}: {message}", path.display())]
    BadCorrection {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{}:{line}: {message}", path.display())]
    TaskMismatch {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{}:{line}: label '{label}' is not in the declared label set ({})", path.display(), names.display())]
    UndeclaredLabel {
        path: PathBuf,
        line: u64,
        label: String,
        names: PathBuf,
    },
    #[error("{}:{line}: column '{column}' must hold 0 or 1 (one 0/1 column per label), found '{found}'", path.display())]
    NotBinary {
        path: PathBuf,
        line: u64,
        column: String,
        found: String,
    },
    #[error("{}:{line}: the label '{label}' holds '|', which joins a row's labels; rename it", path.display())]
    LabelWithSeparator {
        path: PathBuf,
        line: u64,
        label: String,
    },
    #[error("{}: only one label ('{label}') in the training data; a classifier needs at least two", path.display())]
    SingleLabel { path: PathBuf, label: String },
    /// Writing a data file (corrections) failed: out of space or I/O.
    #[error(transparent)]
    Disk(#[from] crate::disk::DiskError),
}

/// `:N` for a line, nothing for 0 (the whole file).
fn at_line(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}
