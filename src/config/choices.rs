//! The values a setting chooses among: schedules, the best-checkpoint
//! metric, what to freeze, the PEFT mode and its target modules, and the
//! compute precision.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Linear,
    Cosine,
    Constant,
}

/// What picks the best checkpoint (and early stopping, and the multi-label
/// thresholds): a metric of the task's evaluation. Single-label: macro_f1,
/// accuracy; multi-label: micro_f1, macro_f1, weighted_f1, jaccard,
/// subset_accuracy (= accuracy), hamming_loss, lrap; regression: pearson,
/// spearman, mse, mae; any task: loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BestMetric {
    MacroF1,
    Accuracy,
    Loss,
    MicroF1,
    WeightedF1,
    SubsetAccuracy,
    HammingLoss,
    Lrap,
    /// Samples-averaged Jaccard (scikit-learn's `average="samples"`).
    Jaccard,
    Pearson,
    Spearman,
    Mse,
    Mae,
}

impl BestMetric {
    pub const ALL: [BestMetric; 13] = [
        BestMetric::MacroF1,
        BestMetric::Accuracy,
        BestMetric::Loss,
        BestMetric::MicroF1,
        BestMetric::WeightedF1,
        BestMetric::SubsetAccuracy,
        BestMetric::HammingLoss,
        BestMetric::Lrap,
        BestMetric::Jaccard,
        BestMetric::Pearson,
        BestMetric::Spearman,
        BestMetric::Mse,
        BestMetric::Mae,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BestMetric::MacroF1 => "macro_f1",
            BestMetric::Accuracy => "accuracy",
            BestMetric::Loss => "loss",
            BestMetric::MicroF1 => "micro_f1",
            BestMetric::WeightedF1 => "weighted_f1",
            BestMetric::SubsetAccuracy => "subset_accuracy",
            BestMetric::HammingLoss => "hamming_loss",
            BestMetric::Lrap => "lrap",
            BestMetric::Jaccard => "jaccard",
            BestMetric::Pearson => "pearson",
            BestMetric::Spearman => "spearman",
            BestMetric::Mse => "mse",
            BestMetric::Mae => "mae",
        }
    }

    /// Whether a smaller value is better.
    pub fn lower_is_better(self) -> bool {
        matches!(
            self,
            BestMetric::Loss | BestMetric::HammingLoss | BestMetric::Mse | BestMetric::Mae
        )
    }

    /// The metric a `task` run is judged by when `best_metric` is unset:
    /// macro-F1 for one label a text, micro-F1 for multi-label (what
    /// transformers' examples and most papers report), entity F1 (micro,
    /// seqeval's headline) for tags, Pearson for regression.
    pub fn default_for(task: crate::data::Task) -> BestMetric {
        use crate::data::Task;
        match task {
            Task::SingleLabel => BestMetric::MacroF1,
            Task::MultiLabel | Task::TokenClassification => BestMetric::MicroF1,
            Task::Regression => BestMetric::Pearson,
        }
    }

    /// Whether `task` reports this metric.
    pub fn applies_to(self, task: crate::data::Task) -> bool {
        use crate::data::Task;
        use BestMetric::*;
        match task {
            Task::SingleLabel => matches!(self, MacroF1 | Accuracy | Loss),
            Task::MultiLabel => !matches!(self, Pearson | Spearman | Mse | Mae),
            Task::Regression => matches!(self, Loss | Pearson | Spearman | Mse | Mae),
            // Entity F1 (micro: seqeval's overall), macro over types,
            // token accuracy.
            Task::TokenClassification => {
                matches!(self, MacroF1 | MicroF1 | WeightedF1 | Accuracy | Loss)
            }
        }
    }
}

impl std::str::FromStr for BestMetric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = if s == "val_loss" { "loss" } else { s };
        BestMetric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown metric '{s}'"))
    }
}

/// How a multi-label run decides each label: thresholds tuned on the
/// validation rows for `best_metric` (`"tuned"`), or one fixed value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ThresholdRepr", into = "ThresholdRepr")]
pub enum Threshold {
    #[default]
    Tuned,
    Fixed(f64),
}

/// `threshold` as TOML holds it: the word `tuned` or a number.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ThresholdRepr {
    Number(f64),
    Word(String),
}

impl TryFrom<ThresholdRepr> for Threshold {
    type Error = String;
    fn try_from(r: ThresholdRepr) -> Result<Self, String> {
        match r {
            ThresholdRepr::Number(x) => Ok(Threshold::Fixed(x)),
            ThresholdRepr::Word(w) if w == "tuned" => Ok(Threshold::Tuned),
            ThresholdRepr::Word(w) => w.parse::<f64>().map(Threshold::Fixed).map_err(|_| {
                format!("threshold '{w}': expected \"tuned\" or a number in (0, 1) such as 0.5")
            }),
        }
    }
}

impl From<Threshold> for ThresholdRepr {
    fn from(t: Threshold) -> Self {
        match t {
            Threshold::Tuned => ThresholdRepr::Word("tuned".into()),
            Threshold::Fixed(x) => ThresholdRepr::Number(x),
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
    /// LoRA with a trained magnitude per output row (peft's `use_dora`).
    Dora,
    /// LoRA in SVD form whose ranks are pruned to a budget while training.
    Adalora,
    /// Trained scaling vectors on the target linears' outputs or inputs.
    Ia3,
    /// Trained virtual keys and values in every layer (P-tuning v2).
    Prefix,
}

impl Peft {
    /// LoRA, DoRA or AdaLoRA: the methods the `lora_*` keys shape.
    pub fn is_lora(self) -> bool {
        matches!(self, Peft::Lora | Peft::Dora | Peft::Adalora)
    }

    /// The value as config files spell it.
    pub fn name(self) -> &'static str {
        match self {
            Peft::None => "none",
            Peft::Lora => "lora",
            Peft::Dora => "dora",
            Peft::Adalora => "adalora",
            Peft::Ia3 => "ia3",
            Peft::Prefix => "prefix",
        }
    }
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

/// The precision of inference (eval, predict, serve, the playground): the
/// training precisions, and int8. On the CPU, bf16 and int8 pack the
/// encoder's linear weights (`model::quant`) and compute in f32 between
/// them; on a GPU, bf16 and f16 are the compute dtype.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InferencePrecision {
    #[default]
    F32,
    Bf16,
    F16,
    /// Dynamic int8 quantization (CPU).
    Int8,
}

impl InferencePrecision {
    pub fn name(self) -> &'static str {
        match self {
            InferencePrecision::F32 => "f32",
            InferencePrecision::Bf16 => "bf16",
            InferencePrecision::F16 => "f16",
            InferencePrecision::Int8 => "int8",
        }
    }
}

impl From<Precision> for InferencePrecision {
    fn from(p: Precision) -> Self {
        match p {
            Precision::F32 => InferencePrecision::F32,
            Precision::Bf16 => InferencePrecision::Bf16,
            Precision::F16 => InferencePrecision::F16,
        }
    }
}

impl std::str::FromStr for InferencePrecision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "int8" => Ok(InferencePrecision::Int8),
            other => other
                .parse::<Precision>()
                .map(Into::into)
                .map_err(|_| format!("unknown precision '{other}' (f32, bf16, f16 or int8)")),
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
            "int8" => Err(
                "int8 is for inference (eval, predict, serve, bench --precision int8); training runs in f32, bf16 or f16".into(),
            ),
            other => Err(format!("unknown precision '{other}' (f32, bf16 or f16)")),
        }
    }
}
