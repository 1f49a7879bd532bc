//! `RunConfig`: every hyperparameter of a run, with defaults, validation
//! that reports every problem at once, TOML in and out, and `--set k=v`.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Linear,
    Cosine,
    Constant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BestMetric {
    MacroF1,
    Accuracy,
    Loss,
}

impl BestMetric {
    pub fn name(self) -> &'static str {
        match self {
            BestMetric::MacroF1 => "macro_f1",
            BestMetric::Accuracy => "accuracy",
            BestMetric::Loss => "loss",
        }
    }
}

/// Which pretrained weights stay fixed. The classifier head (and pooler)
/// always train.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Freeze {
    #[default]
    None,
    /// Word, position and token-type embeddings.
    Embeddings,
    /// The whole encoder: a linear probe (head and pooler train).
    Encoder,
    /// The embeddings and the first N encoder layers.
    Layers(usize),
}

impl std::str::FromStr for Freeze {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "none" | "" => Ok(Freeze::None),
            "embeddings" => Ok(Freeze::Embeddings),
            "encoder" => Ok(Freeze::Encoder),
            other => other
                .strip_prefix("layers:")
                .and_then(|n| n.trim().parse().ok())
                .map(Freeze::Layers)
                .ok_or_else(|| {
                    format!("unknown freeze '{other}' (none, embeddings, encoder or layers:N)")
                }),
        }
    }
}

impl TryFrom<String> for Freeze {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Freeze> for String {
    fn from(f: Freeze) -> String {
        match f {
            Freeze::None => "none".into(),
            Freeze::Embeddings => "embeddings".into(),
            Freeze::Encoder => "encoder".into(),
            Freeze::Layers(n) => format!("layers:{n}"),
        }
    }
}

/// Parameter-efficient fine-tuning mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Peft {
    /// Train the weights themselves (see `freeze`).
    #[default]
    None,
    /// Low-rank adapters on the target linears; the encoder stays frozen.
    Lora,
}

/// Module names `lora_targets` may name (matched as peft does: the module's
/// name equals it or ends with `.` + it): every linear of a BERT encoder
/// layer, and of a DistilBERT one. Together they are `all-linear`.
pub const BERT_LORA_TARGETS: &[&str] = &[
    "query",
    "key",
    "value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];
pub const DISTILBERT_LORA_TARGETS: &[&str] =
    &["q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"];

/// Every name `lora_targets` accepts.
pub fn lora_targets() -> impl Iterator<Item = &'static str> {
    BERT_LORA_TARGETS
        .iter()
        .chain(DISTILBERT_LORA_TARGETS)
        .copied()
}

/// The dtype of the forward and backward passes. Master weights, optimizer
/// moments and checkpoints stay f32 whatever this is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
    /// Half precision with dynamic loss scaling.
    F16,
}

impl Precision {
    pub fn dtype(self) -> candle_core::DType {
        match self {
            Precision::F32 => candle_core::DType::F32,
            Precision::Bf16 => candle_core::DType::BF16,
            Precision::F16 => candle_core::DType::F16,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            "f16" => Ok(Precision::F16),
            other => Err(format!("unknown precision '{other}' (f32, bf16 or f16)")),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Local HF dir, hub id `org/name` (HF cache), or `scratch:tiny|mini|small`.
    pub model: String,
    pub train_file: Option<PathBuf>,
    pub val_file: Option<PathBuf>,
    /// Label corrections applied to the training file on load
    /// (`data::corrections`: relabel, keep or drop by line).
    pub corrections: Option<PathBuf>,
    /// The split of an `hf:` training dataset (default `train`).
    pub hf_split: Option<String>,
    /// Validate on this split of the `hf:` training dataset.
    pub hf_val_split: Option<String>,
    pub text_col: Option<String>,
    pub label_col: Option<String>,
    /// Share of the training file held out for validation when no val file.
    pub val_split: f64,
    pub max_len: usize,
    pub batch_size: usize,
    pub epochs: usize,
    /// Stop after this many optimizer steps (0: no limit).
    pub max_steps: usize,
    /// Peak learning rate; unset: chosen by what trains (`auto_lr`).
    pub lr: Option<f64>,
    pub warmup_ratio: f64,
    pub schedule: Schedule,
    pub weight_decay: f64,
    pub adam_beta1: f64,
    pub adam_beta2: f64,
    pub adam_eps: f64,
    /// Global gradient-norm clip (0: off).
    pub max_grad_norm: f64,
    pub grad_accum: usize,
    pub seed: u64,
    /// Evaluate every N optimizer steps (0: at each epoch end only).
    pub eval_every: usize,
    /// Emit a progress line every N steps in headless mode.
    pub log_every: usize,
    /// Stop after this many evaluations without improvement (0: off).
    pub patience: usize,
    pub best_metric: BestMetric,
    /// Override the model's dropout probabilities (hidden, attention, head).
    pub dropout: Option<f64>,
    /// Pretrained weights that stay fixed (no gradient, no optimizer state).
    pub freeze: Freeze,
    /// `lora`: train low-rank adapters instead of the encoder's weights.
    pub peft: Peft,
    pub lora_r: usize,
    pub lora_alpha: f64,
    pub lora_dropout: f64,
    /// Comma-separated module names (see `lora_targets()`) or `all-linear`.
    pub lora_targets: String,
    /// How many `checkpoints/step-N` to keep (best/ is kept apart).
    pub keep_checkpoints: usize,
    /// WordPiece vocabulary size for `scratch:*` models.
    pub scratch_vocab: usize,
    pub device: String,
    /// Compute dtype: f32, or bf16/f16 mixed precision (meant for GPUs).
    pub precision: Precision,
    pub lossy_utf8: bool,
    pub skip_empty: bool,
    /// The data files have no header row: columns by 0-based index.
    pub no_header: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            model: "scratch:mini".into(),
            train_file: None,
            val_file: None,
            corrections: None,
            hf_split: None,
            hf_val_split: None,
            text_col: None,
            label_col: None,
            val_split: 0.1,
            max_len: 128,
            batch_size: 32,
            epochs: 3,
            max_steps: 0,
            lr: None,
            warmup_ratio: 0.1,
            schedule: Schedule::Linear,
            weight_decay: 0.01,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_eps: 1e-8,
            max_grad_norm: 1.0,
            grad_accum: 1,
            seed: 42,
            eval_every: 0,
            log_every: 10,
            patience: 0,
            best_metric: BestMetric::MacroF1,
            dropout: None,
            freeze: Freeze::None,
            peft: Peft::None,
            lora_r: 8,
            lora_alpha: 16.0,
            lora_dropout: 0.1,
            lora_targets: "query,value".into(),
            keep_checkpoints: 2,
            scratch_vocab: 8000,
            device: "cpu".into(),
            precision: Precision::F32,
            lossy_utf8: false,
            skip_empty: false,
            no_header: false,
        }
    }
}

/// One invalid field and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration:\n{}", .0.iter().map(|e| format!("  {}: {}", e.field, e.reason)).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<FieldError>),
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("--set {assignment}: {message}")]
    BadOverride { assignment: String, message: String },
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    /// One invalid field and why.
    pub fn field(field: &'static str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid(vec![FieldError {
            field,
            reason: reason.into(),
        }])
    }
}

pub const SCRATCH_SIZES: &[&str] = &["tiny", "mini", "small"];

/// Learning rates that train, when the user sets none. Measured on the
/// bundled reviews, every other setting default (3 epochs, batch 32,
/// max_len 128), accuracy on the held-out file after the run:
/// scratch:mini 5e-5 → 33% (chance), 2e-4 → 87%, 5e-4 → 99%, 1e-3 → 99%,
/// 2e-3 → 96%; scratch:tiny 5e-5 → 42%, 5e-4 → 76%, 1e-3 → 100%;
/// scratch:small 5e-4 → 98.9%, 1e-3 → 100%.
pub const SCRATCH_LR: f64 = 1e-3;
/// The usual rate for a full fine-tune of a pretrained encoder (BERT paper:
/// 2e-5 to 5e-5).
pub const FINE_TUNE_LR: f64 = 5e-5;
/// A frozen encoder trains only the head and pooler: a linear-probe rate.
/// MiniLM-L6, 8,000 SST-2 rows, 1 epoch, SST-2 dev (bench/freeze_modes.sh):
/// 5e-5 → 53.8% (chance is 50.9%), 1e-3 → 72.5%, 3e-3 → 72.7%, 1e-2 → 71.6%.
pub const PROBE_LR: f64 = 1e-3;
/// LoRA adapters start at zero and learn a low-rank update. MiniLM-L6,
/// r=8 on query/value, 8,000 SST-2 rows, 1 epoch, SST-2 dev: 5e-4 → 80.05%,
/// 2e-3 → 83.83% (the full fine-tune at 5e-5: 85.21%).
pub const LORA_LR: f64 = 2e-3;

impl RunConfig {
    /// The learning rate to use and, when it was not set, why this one.
    pub fn auto_lr(&self, scratch: bool) -> (f64, Option<String>) {
        if let Some(lr) = self.lr {
            return (lr, None);
        }
        let (lr, why) = if scratch {
            (
                SCRATCH_LR,
                "a scratch model starts from random weights (5e-5 stays at chance)",
            )
        } else if self.peft == Peft::Lora {
            (LORA_LR, "LoRA trains small adapters on a frozen encoder")
        } else if self.freeze == Freeze::Encoder {
            (PROBE_LR, "a frozen encoder trains only the head")
        } else {
            (
                FINE_TUNE_LR,
                "the usual rate for fine-tuning a pretrained encoder",
            )
        };
        (
            lr,
            Some(format!("lr not set: {lr:e}, since {why}; set lr to choose")),
        )
    }

    /// Every problem with the values, each with its field and reason.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        let mut bad = |field: &'static str, ok: bool, reason: &str| {
            if !ok {
                out.push(FieldError {
                    field,
                    reason: reason.to_string(),
                });
            }
        };
        let unit = |x: f64| x.is_finite() && (0.0..1.0).contains(&x);
        bad("model", !self.model.trim().is_empty(), "must name a model");
        if let Some(size) = self.model.strip_prefix("scratch:") {
            bad(
                "model",
                SCRATCH_SIZES.contains(&size),
                &format!("unknown scratch size '{size}' (tiny, mini or small)"),
            );
        }
        if let Some(lr) = self.lr {
            bad(
                "lr",
                lr.is_finite() && lr > 0.0 && lr < 1.0,
                "must be in (0, 1), e.g. 5e-5 (empty: chosen by the model)",
            );
        }
        bad(
            "batch_size",
            (1..=4096).contains(&self.batch_size),
            "must be 1..=4096",
        );
        bad(
            "epochs",
            (1..=10_000).contains(&self.epochs),
            "must be 1..=10000",
        );
        bad(
            "max_len",
            (4..=8192).contains(&self.max_len),
            "must be 4..=8192 tokens",
        );
        bad("warmup_ratio", unit(self.warmup_ratio), "must be in [0, 1)");
        bad("weight_decay", unit(self.weight_decay), "must be in [0, 1)");
        bad("adam_beta1", unit(self.adam_beta1), "must be in [0, 1)");
        bad("adam_beta2", unit(self.adam_beta2), "must be in [0, 1)");
        bad(
            "adam_eps",
            self.adam_eps.is_finite() && self.adam_eps > 0.0,
            "must be > 0",
        );
        bad(
            "max_grad_norm",
            self.max_grad_norm.is_finite() && self.max_grad_norm >= 0.0,
            "must be >= 0 (0 turns clipping off)",
        );
        bad(
            "grad_accum",
            (1..=1024).contains(&self.grad_accum),
            "must be 1..=1024",
        );
        bad("val_split", unit(self.val_split), "must be in [0, 1)");
        bad(
            "val_split",
            self.val_split > 0.0 || self.val_file.is_some() || self.hf_val_split.is_some(),
            "is 0 and no val file is given: nothing to evaluate on",
        );
        bad("log_every", self.log_every >= 1, "must be >= 1");
        bad(
            "keep_checkpoints",
            self.keep_checkpoints >= 1,
            "must be >= 1",
        );
        bad(
            "scratch_vocab",
            (100..=200_000).contains(&self.scratch_vocab),
            "must be 100..=200000",
        );
        if let Some(p) = self.dropout {
            bad("dropout", unit(p), "must be in [0, 1)");
        }
        bad(
            "device",
            parse_device(&self.device).is_some(),
            "must be cpu, cuda or cuda:N",
        );
        if self.peft == Peft::Lora {
            bad(
                "lora_r",
                (1..=1024).contains(&self.lora_r),
                "must be 1..=1024",
            );
            bad(
                "lora_alpha",
                self.lora_alpha.is_finite() && self.lora_alpha > 0.0,
                "must be > 0",
            );
            bad("lora_dropout", unit(self.lora_dropout), "must be in [0, 1)");
            if let Err(e) = self.lora_target_list() {
                bad("lora_targets", false, &e);
            }
            bad(
                "freeze",
                self.freeze == Freeze::None,
                "must be none with peft = \"lora\" (LoRA keeps the whole encoder frozen)",
            );
        }
        out
    }

    /// The LoRA target module names; `all-linear` is every encoder linear.
    pub fn lora_target_list(&self) -> Result<Vec<String>, String> {
        let names: Vec<String> = self
            .lora_targets
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if names.is_empty() {
            return Err("names no module (e.g. query,value or all-linear)".into());
        }
        if names.len() == 1 && names[0] == "all-linear" {
            return Ok(names);
        }
        match names
            .iter()
            .find(|n| !lora_targets().any(|t| t == n.as_str()))
        {
            Some(n) => Err(format!(
                "unknown module '{n}' (known: {}, or all-linear)",
                lora_targets().collect::<Vec<_>>().join(", ")
            )),
            None => Ok(names),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Apply one `key=value` override; the value is read as TOML (number,
    /// bool, string...) and a bare word is taken as a string.
    pub fn set(&mut self, assignment: &str) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError::BadOverride {
            assignment: assignment.to_string(),
            message,
        };
        let (key, raw) = assignment
            .split_once('=')
            .ok_or_else(|| bad("expected key=value".into()))?;
        let key = key.trim();
        let raw = raw.trim();
        let table = match toml::Value::try_from(&*self) {
            Ok(toml::Value::Table(t)) => t,
            _ => return Err(bad("cannot represent the config".into())),
        };
        let known = keys();
        if !known.contains(&key) {
            return Err(bad(format!(
                "unknown key '{key}'; known keys: {}",
                known.join(", ")
            )));
        }
        let typed = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .or_else(|| lenient_number(raw));
        // As typed first; then as text, for a string field whose value
        // looks like a number (a column named 2017).
        let mut first_error = None;
        let text = toml::Value::String(raw.to_string());
        for value in typed.into_iter().chain([text]) {
            let mut candidate = table.clone();
            candidate.insert(key.to_string(), value);
            match toml::Value::Table(candidate).try_into::<RunConfig>() {
                Ok(cfg) => {
                    *self = cfg;
                    return Ok(());
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(bad(first_error
            .map(|e| e.message().to_string())
            .unwrap_or_default()))
    }
}

/// A number as people type it that TOML does not read as one (`.001`,
/// `1.e-3`, `08`).
fn lenient_number(raw: &str) -> Option<toml::Value> {
    if let Ok(i) = raw.parse::<i64>() {
        Some(toml::Value::Integer(i))
    } else {
        raw.parse::<f64>().ok().map(toml::Value::Float)
    }
}

impl RunConfig {
    /// Reset one key to its default (an optional field becomes unset).
    pub fn unset(&mut self, key: &str) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError::BadOverride {
            assignment: key.to_string(),
            message,
        };
        if !keys().contains(&key) {
            return Err(bad(format!("unknown key '{key}'")));
        }
        let mut table = match toml::Value::try_from(&*self) {
            Ok(toml::Value::Table(t)) => t,
            _ => return Err(bad("cannot represent the config".into())),
        };
        table.remove(key);
        *self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| bad(e.message().to_string()))?;
        Ok(())
    }

    /// A field's value as a person would type it ("" when unset).
    pub fn value_text(&self, key: &str) -> String {
        let table = match toml::Value::try_from(self) {
            Ok(toml::Value::Table(t)) => t,
            _ => return String::new(),
        };
        match table.get(key) {
            None => String::new(),
            Some(toml::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }
    }

    /// Whether a key may be left empty: the `Option` fields, which are the
    /// ones the default config leaves unset.
    pub fn is_optional(key: &str) -> bool {
        static UNSET: OnceLock<Vec<&'static str>> = OnceLock::new();
        UNSET
            .get_or_init(|| {
                let set = match toml::Value::try_from(RunConfig::default()) {
                    Ok(toml::Value::Table(t)) => t,
                    _ => toml::Table::new(),
                };
                keys()
                    .iter()
                    .copied()
                    .filter(|k| !set.contains_key(*k))
                    .collect()
            })
            .contains(&key)
    }
}

/// The keys `--set` accepts (and the TUI form shows), in display order:
/// `RunConfig`'s fields as serde reads them, so a new field is a new key.
pub fn keys() -> &'static [&'static str] {
    static KEYS: OnceLock<&'static [&'static str]> = OnceLock::new();
    KEYS.get_or_init(serde_aux::serde_introspection::serde_introspect::<RunConfig>)
}

/// A device spec: `None` when malformed, else the CUDA ordinal (if any).
pub fn parse_device(spec: &str) -> Option<Option<usize>> {
    match spec {
        "cpu" => Some(None),
        "cuda" => Some(Some(0)),
        s => s.strip_prefix("cuda:")?.parse().ok().map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_reports_every_bad_field() {
        let cfg = RunConfig {
            lr: Some(-1.0),
            batch_size: 0,
            warmup_ratio: 1.5,
            device: "tpu".into(),
            ..Default::default()
        };
        let fields: Vec<_> = cfg.problems().iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["lr", "batch_size", "warmup_ratio", "device"]);
        assert!(RunConfig::default().validate().is_ok());
    }

    #[test]
    fn set_overrides_typed_values_and_rejects_unknown_keys() {
        let mut cfg = RunConfig::default();
        cfg.set("lr=1e-3").unwrap();
        cfg.set("epochs = 7").unwrap();
        cfg.set("schedule=cosine").unwrap();
        cfg.set("dropout=0").unwrap();
        assert_eq!(
            (cfg.lr, cfg.epochs, cfg.schedule),
            (Some(1e-3), 7, Schedule::Cosine)
        );
        assert_eq!(cfg.dropout, Some(0.0));
        let e = cfg.set("learning_rate=1").unwrap_err().to_string();
        assert!(e.contains("unknown key 'learning_rate'"), "{e}");
        let e = cfg.set("epochs=many").unwrap_err().to_string();
        assert!(e.contains("--set epochs=many"), "{e}");
        cfg.set("freeze=layers:2").unwrap();
        assert_eq!(cfg.freeze, Freeze::Layers(2));
        cfg.set("freeze=encoder").unwrap();
        assert_eq!(cfg.freeze, Freeze::Encoder);
        let e = cfg.set("freeze=half").unwrap_err().to_string();
        assert!(e.contains("unknown freeze 'half'"), "{e}");
        // Numbers as people type them, which TOML does not read.
        cfg.set("lr=.001").unwrap();
        assert_eq!(cfg.lr, Some(0.001));
        cfg.set("dropout=1.e-1").unwrap();
        assert_eq!(cfg.dropout, Some(0.1));
        cfg.set("batch_size=08").unwrap();
        assert_eq!(cfg.batch_size, 8);
        // A string field keeps a number-like value as text.
        cfg.set("text_col=2017").unwrap();
        assert_eq!(cfg.text_col.as_deref(), Some("2017"));
        let e = cfg.set("batch_size=8.5").unwrap_err().to_string();
        assert!(e.contains("--set batch_size=8.5"), "{e}");
    }

    #[test]
    fn the_optional_keys_are_the_option_fields() {
        let optional: Vec<_> = keys()
            .iter()
            .filter(|k| RunConfig::is_optional(k))
            .copied()
            .collect();
        assert_eq!(
            optional,
            [
                "train_file",
                "val_file",
                "corrections",
                "hf_split",
                "hf_val_split",
                "text_col",
                "label_col",
                "lr",
                "dropout"
            ]
        );
        assert_eq!(
            keys()[0],
            "model",
            "the form shows fields in declaration order"
        );
    }

    #[test]
    fn toml_round_trips() {
        let cfg = RunConfig {
            dropout: Some(0.2),
            train_file: Some("a.csv".into()),
            ..Default::default()
        };
        let back: RunConfig = toml::from_str(&cfg.to_toml()).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn field_names_cover_every_field() {
        let t = toml::Value::try_from(RunConfig {
            train_file: Some("a".into()),
            val_file: Some("b".into()),
            corrections: Some("c".into()),
            hf_split: Some("train".into()),
            hf_val_split: Some("test".into()),
            text_col: Some("t".into()),
            label_col: Some("l".into()),
            dropout: Some(0.1),
            lr: Some(1e-4),
            ..Default::default()
        })
        .unwrap();
        let mut keys: Vec<_> = t.as_table().unwrap().keys().cloned().collect();
        let mut names: Vec<_> = super::keys().iter().map(|s| s.to_string()).collect();
        keys.sort();
        names.sort();
        assert_eq!(keys, names);
    }
}
