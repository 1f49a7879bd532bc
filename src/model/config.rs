//! The encoder hyperparameters we need, read from and written to an HF
//! `config.json` (BERT, RoBERTa/XLM-R or DistilBERT field names).

use super::ModelError;
use crate::data::Labels;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Bert,
    DistilBert,
    /// BERT's network with RoBERTa's names, positions and head.
    Roberta,
    /// RoBERTa's network, XLM-R's name (a SentencePiece vocabulary).
    XlmRoberta,
}

impl Arch {
    /// Whether the network is RoBERTa's (positions offset past the
    /// padding index, a two-layer head on `<s>`, no pooler).
    pub fn is_roberta(self) -> bool {
        matches!(self, Arch::Roberta | Arch::XlmRoberta)
    }

    /// The tensor-name prefix of the encoder in a classifier checkpoint.
    pub fn prefix(self) -> &'static str {
        match self {
            Arch::Bert => "bert",
            Arch::DistilBert => "distilbert",
            Arch::Roberta | Arch::XlmRoberta => "roberta",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::Bert => "BERT",
            Arch::DistilBert => "DistilBERT",
            Arch::Roberta => "RoBERTa",
            Arch::XlmRoberta => "XLM-RoBERTa",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    GeluErf,
    GeluTanh,
    Relu,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EncoderConfig {
    pub arch: Arch,
    pub vocab_size: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub activation: Activation,
    pub hidden_dropout: f64,
    pub attention_dropout: f64,
    pub classifier_dropout: f64,
    pub layer_norm_eps: f64,
    pub init_range: f64,
    pub pad_token_id: usize,
    /// The first position id: RoBERTa numbers positions from
    /// `pad_token_id + 1`; BERT and DistilBERT from 0.
    pub position_offset: usize,
    /// What the head answers: one output for the text, a tag for every
    /// token, or a word for masked pieces.
    pub head: HeadKind,
}

/// The kind of head over the encoder, as transformers' class names say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeadKind {
    /// `…ForSequenceClassification`.
    #[default]
    Sequence,
    /// `…ForTokenClassification`.
    Token,
    /// `…ForMaskedLM`: the vocabulary at masked pieces, decoder tied to the
    /// word embeddings.
    MaskedLm,
}

impl HeadKind {
    /// The head a labelled `task` trains.
    pub fn of_task(task: crate::data::Task) -> HeadKind {
        match task {
            crate::data::Task::TokenClassification => HeadKind::Token,
            _ => HeadKind::Sequence,
        }
    }

    /// The head transformers' `architectures` entry names.
    pub fn of_architectures(archs: &str) -> HeadKind {
        if archs.contains("ForTokenClassification") {
            HeadKind::Token
        } else if archs.contains("ForMaskedLM") {
            HeadKind::MaskedLm
        } else {
            HeadKind::Sequence
        }
    }

    /// The class name's suffix: `ForSequenceClassification`…
    pub fn class_suffix(self) -> &'static str {
        match self {
            HeadKind::Sequence => "ForSequenceClassification",
            HeadKind::Token => "ForTokenClassification",
            HeadKind::MaskedLm => "ForMaskedLM",
        }
    }
}

/// `scratch:<size>` shapes: Google's BERT-tiny/mini/small (L, H, A).
pub fn scratch_config(size: &str, vocab_size: usize) -> Option<EncoderConfig> {
    let (layers, hidden, heads) = match size {
        "tiny" => (2, 128, 2),
        "mini" => (4, 256, 4),
        "small" => (4, 512, 8),
        _ => return None,
    };
    Some(EncoderConfig {
        arch: Arch::Bert,
        vocab_size,
        hidden,
        layers,
        heads,
        intermediate: 4 * hidden,
        max_positions: 512,
        type_vocab: 2,
        activation: Activation::GeluErf,
        hidden_dropout: 0.1,
        attention_dropout: 0.1,
        classifier_dropout: 0.1,
        layer_norm_eps: 1e-12,
        init_range: 0.02,
        pad_token_id: 0,
        position_offset: 0,
        head: HeadKind::Sequence,
    })
}

fn activation(name: &str) -> Option<Activation> {
    match name {
        "gelu" => Some(Activation::GeluErf),
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Some(Activation::GeluTanh),
        "relu" => Some(Activation::Relu),
        _ => None,
    }
}

fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::GeluErf => "gelu",
        Activation::GeluTanh => "gelu_new",
        Activation::Relu => "relu",
    }
}

/// What picks the architecture in a config.json.
#[derive(Deserialize)]
struct ArchFields {
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    architectures: Option<Value>,
    #[serde(default)]
    dim: Option<Value>,
}

/// transformers' `BertConfig` fields (RoBERTa and XLM-R share them).
#[derive(Deserialize)]
struct BertJson {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    type_vocab_size: Option<usize>,
    hidden_act: Option<String>,
    hidden_dropout_prob: Option<f64>,
    attention_probs_dropout_prob: Option<f64>,
    /// null in most configs: the hidden dropout then.
    classifier_dropout: Option<f64>,
    layer_norm_eps: Option<f64>,
    initializer_range: Option<f64>,
    pad_token_id: Option<usize>,
}

/// transformers' `DistilBertConfig` fields.
#[derive(Deserialize)]
struct DistilBertJson {
    vocab_size: usize,
    dim: usize,
    n_layers: usize,
    n_heads: usize,
    hidden_dim: usize,
    max_position_embeddings: usize,
    activation: Option<String>,
    dropout: Option<f64>,
    attention_dropout: Option<f64>,
    seq_classif_dropout: Option<f64>,
    initializer_range: Option<f64>,
    pad_token_id: Option<usize>,
    sinusoidal_pos_embds: Option<bool>,
}

fn activation_of(name: Option<&str>) -> Result<Activation, String> {
    let name = name.unwrap_or("gelu");
    activation(name).ok_or_else(|| format!("activation '{name}' is not supported"))
}

impl BertJson {
    fn into_config(self, arch: Arch) -> Result<EncoderConfig, String> {
        let hidden_dropout = self.hidden_dropout_prob.unwrap_or(0.1);
        let pad_token_id = self.pad_token_id.unwrap_or(usize::from(arch.is_roberta()));
        Ok(EncoderConfig {
            arch,
            vocab_size: self.vocab_size,
            hidden: self.hidden_size,
            layers: self.num_hidden_layers,
            heads: self.num_attention_heads,
            intermediate: self.intermediate_size,
            max_positions: self.max_position_embeddings,
            type_vocab: self.type_vocab_size.unwrap_or(2),
            activation: activation_of(self.hidden_act.as_deref())?,
            hidden_dropout,
            attention_dropout: self.attention_probs_dropout_prob.unwrap_or(0.1),
            classifier_dropout: self.classifier_dropout.unwrap_or(hidden_dropout),
            layer_norm_eps: self.layer_norm_eps.unwrap_or(1e-12),
            init_range: self.initializer_range.unwrap_or(0.02),
            pad_token_id,
            position_offset: if arch.is_roberta() {
                pad_token_id + 1
            } else {
                0
            },
            head: HeadKind::Sequence,
        })
    }
}

impl DistilBertJson {
    fn into_config(self) -> Result<EncoderConfig, String> {
        if self.sinusoidal_pos_embds == Some(true) {
            return Err("sinusoidal position embeddings are not supported".into());
        }
        Ok(EncoderConfig {
            arch: Arch::DistilBert,
            vocab_size: self.vocab_size,
            hidden: self.dim,
            layers: self.n_layers,
            heads: self.n_heads,
            intermediate: self.hidden_dim,
            max_positions: self.max_position_embeddings,
            type_vocab: 0,
            activation: activation_of(self.activation.as_deref())?,
            hidden_dropout: self.dropout.unwrap_or(0.1),
            attention_dropout: self.attention_dropout.unwrap_or(0.1),
            classifier_dropout: self.seq_classif_dropout.unwrap_or(0.2),
            layer_norm_eps: 1e-12,
            init_range: self.initializer_range.unwrap_or(0.02),
            pad_token_id: self.pad_token_id.unwrap_or(0),
            position_offset: 0,
            head: HeadKind::Sequence,
        })
    }
}

impl EncoderConfig {
    /// Read an HF config.json (already parsed): the architecture from
    /// `model_type` (or `architectures`), then that architecture's fields.
    pub fn from_json(path: &Path, v: &Value) -> Result<Self, ModelError> {
        let bad = |message: String| ModelError::BadConfig {
            path: path.to_path_buf(),
            message,
        };
        let fields = |e: serde_json::Error| bad(e.to_string());
        let head = ArchFields::deserialize(v).map_err(fields)?;
        let archs = head
            .architectures
            .map(|a| a.to_string())
            .unwrap_or_default();
        let arch = match head.model_type.as_deref().unwrap_or("") {
            "bert" => Arch::Bert,
            "distilbert" => Arch::DistilBert,
            "roberta" => Arch::Roberta,
            "xlm-roberta" => Arch::XlmRoberta,
            "" if archs.contains("DistilBert") || head.dim.is_some() => Arch::DistilBert,
            "" => Arch::Bert,
            other => {
                return Err(bad(format!(
                    "model_type '{other}' is not supported (bert, distilbert, roberta and xlm-roberta are)"
                )))
            }
        };
        let mut cfg = match arch {
            Arch::DistilBert => DistilBertJson::deserialize(v)
                .map_err(fields)?
                .into_config(),
            _ => BertJson::deserialize(v).map_err(fields)?.into_config(arch),
        }
        .map_err(bad)?;
        cfg.head = HeadKind::of_architectures(&archs);
        if cfg.max_positions <= cfg.position_offset {
            return Err(bad(format!(
                "max_position_embeddings {} leaves no positions after the offset {}",
                cfg.max_positions, cfg.position_offset
            )));
        }
        if cfg.heads == 0 || cfg.hidden % cfg.heads != 0 {
            return Err(bad(format!(
                "hidden size {} is not a multiple of the {} attention heads",
                cfg.hidden, cfg.heads
            )));
        }
        Ok(cfg)
    }

    /// Labels named in a config's `id2label`, if any.
    pub fn labels_from_json(v: &Value) -> Option<Labels> {
        let map = v.get("id2label")?.as_object()?;
        let mut pairs: Vec<(usize, String)> = map
            .iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_string())))
            .collect();
        pairs.sort();
        let ok = pairs.iter().enumerate().all(|(i, (k, _))| i == *k);
        (ok && !pairs.is_empty()).then(|| Labels::new(pairs.into_iter().map(|p| p.1).collect()))
    }

    /// The longest input (special tokens included) the positions allow.
    pub fn max_tokens(&self) -> usize {
        self.max_positions - self.position_offset
    }

    pub fn set_dropout(&mut self, p: f64) {
        self.hidden_dropout = p;
        self.attention_dropout = p;
        self.classifier_dropout = p;
    }

    /// A full HF config.json for this encoder with a classification head.
    /// `base` (the source model's config) keeps fields we do not model.
    pub fn to_json(&self, labels: &Labels, base: Option<&Value>) -> Value {
        let mut v = base.cloned().unwrap_or_else(|| json!({}));
        let obj = v.as_object_mut().expect("config is an object");
        let head = self.head.class_suffix();
        let (model, model_type) = match self.arch {
            Arch::Roberta => ("Roberta", "roberta"),
            Arch::XlmRoberta => ("XLMRoberta", "xlm-roberta"),
            Arch::DistilBert => ("DistilBert", "distilbert"),
            Arch::Bert => ("Bert", "bert"),
        };
        let architecture = format!("{model}{head}");
        let fields = match self.arch {
            Arch::Bert | Arch::Roberta | Arch::XlmRoberta => json!({
                "architectures": [architecture],
                "model_type": model_type,
                "vocab_size": self.vocab_size,
                "hidden_size": self.hidden,
                "num_hidden_layers": self.layers,
                "num_attention_heads": self.heads,
                "intermediate_size": self.intermediate,
                "hidden_act": activation_name(self.activation),
                "hidden_dropout_prob": self.hidden_dropout,
                "attention_probs_dropout_prob": self.attention_dropout,
                "classifier_dropout": self.classifier_dropout,
                "max_position_embeddings": self.max_positions,
                "type_vocab_size": self.type_vocab,
                "initializer_range": self.init_range,
                "layer_norm_eps": self.layer_norm_eps,
                "pad_token_id": self.pad_token_id,
                "position_embedding_type": "absolute",
            }),
            Arch::DistilBert => json!({
                "architectures": [architecture],
                "model_type": "distilbert",
                "vocab_size": self.vocab_size,
                "dim": self.hidden,
                "n_layers": self.layers,
                "n_heads": self.heads,
                "hidden_dim": self.intermediate,
                "activation": activation_name(self.activation),
                "dropout": self.dropout_hidden_json(),
                "attention_dropout": self.attention_dropout,
                "seq_classif_dropout": self.classifier_dropout,
                "max_position_embeddings": self.max_positions,
                "initializer_range": self.init_range,
                "pad_token_id": self.pad_token_id,
                "sinusoidal_pos_embds": false,
            }),
        };
        for (k, val) in fields.as_object().expect("object literal") {
            obj.insert(k.clone(), val.clone());
        }
        let id2label: serde_json::Map<String, Value> = labels
            .names()
            .iter()
            .enumerate()
            .map(|(i, n)| (i.to_string(), json!(n)))
            .collect();
        let label2id: serde_json::Map<String, Value> = labels
            .names()
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), json!(i)))
            .collect();
        obj.insert("id2label".into(), Value::Object(id2label));
        obj.insert("label2id".into(), Value::Object(label2id));
        obj.insert("num_labels".into(), json!(labels.len()));
        if self.head == HeadKind::MaskedLm {
            // A masked-LM model has no labels (transformers' own MLM
            // configs carry none); a base classifier's would mislead.
            for k in ["id2label", "label2id", "num_labels"] {
                obj.remove(k);
            }
        }
        if self.head != HeadKind::Sequence {
            obj.remove("problem_type");
        } else {
            obj.insert("problem_type".into(), json!("single_label_classification"));
        }
        obj.insert("torch_dtype".into(), json!("float32"));
        v
    }

    fn dropout_hidden_json(&self) -> f64 {
        self.hidden_dropout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(v: Value) -> Result<EncoderConfig, String> {
        EncoderConfig::from_json(Path::new("config.json"), &v).map_err(|e| e.to_string())
    }

    #[test]
    fn bert_fields_with_transformers_defaults() {
        let cfg = read(json!({
            "model_type": "bert", "vocab_size": 100, "hidden_size": 32,
            "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
            "max_position_embeddings": 64, "hidden_dropout_prob": 0.2,
            "classifier_dropout": null, "pad_token_id": null
        }))
        .unwrap();
        assert_eq!((cfg.arch, cfg.hidden, cfg.type_vocab), (Arch::Bert, 32, 2));
        assert_eq!(cfg.classifier_dropout, 0.2, "null: the hidden dropout");
        assert_eq!((cfg.pad_token_id, cfg.activation), (0, Activation::GeluErf));
        let roberta = read(json!({
            "model_type": "roberta", "vocab_size": 100, "hidden_size": 32,
            "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
            "max_position_embeddings": 66, "pad_token_id": 1
        }))
        .unwrap();
        assert_eq!((roberta.position_offset, roberta.max_tokens()), (2, 64));
    }

    #[test]
    fn distilbert_is_found_by_its_fields_and_bad_configs_are_named() {
        let distil = json!({
            "vocab_size": 100, "dim": 32, "n_layers": 2, "n_heads": 4,
            "hidden_dim": 64, "max_position_embeddings": 64
        });
        let cfg = read(distil.clone()).unwrap();
        assert_eq!((cfg.arch, cfg.classifier_dropout), (Arch::DistilBert, 0.2));
        let mut sinus = distil.clone();
        sinus["sinusoidal_pos_embds"] = json!(true);
        assert!(read(sinus).unwrap_err().contains("sinusoidal"));
        let e = read(json!({"model_type": "bert", "hidden_size": 32})).unwrap_err();
        assert!(
            e.starts_with("config.json: missing field `vocab_size`"),
            "{e}"
        );
        let e = read(json!({"model_type": "gpt2"})).unwrap_err();
        assert!(e.contains("model_type 'gpt2' is not supported"), "{e}");
        let mut odd = distil;
        odd["n_heads"] = json!(5);
        assert!(read(odd).unwrap_err().contains("not a multiple"));
    }
}
