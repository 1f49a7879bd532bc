//! Model directories in the HuggingFace layout: reading weights (with the
//! name variants found in the wild) and writing checkpoints atomically.

use super::classifier::{BuildSpec, Classifier};
use super::config::{Arch, EncoderConfig};
use super::ModelError;
use crate::data::Labels;
use crate::disk::write_atomic;
use crate::error::{Error, Result};
use crate::text::TextEncoder;
use candle_core::{DType, Device, Tensor};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What a model directory holds, before any weights are read.
pub struct ModelDir {
    pub dir: PathBuf,
    pub config_json: Value,
    pub config: EncoderConfig,
    /// The labels in `id2label`, unless they are HF's `LABEL_n` defaults
    /// of a bare encoder.
    pub labels: Option<Labels>,
    /// What the head predicts (`problem_type`, as transformers reads it).
    pub task: crate::data::Task,
    /// Multi-label thresholds in label order (`tunebench_thresholds`).
    pub thresholds: Vec<f32>,
    pub weights: PathBuf,
    pub tokenizer: PathBuf,
}

impl ModelDir {
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(ModelError::NotFound {
                spec: dir.display().to_string(),
                hint: "no such directory".into(),
            }
            .into());
        }
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(ModelError::MissingFile {
                dir: dir.to_path_buf(),
                file: "config.json",
                hint: " (is this a HuggingFace model directory?)",
            }
            .into());
        }
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| Error::io(config_path.display().to_string(), e))?;
        let config_json: Value =
            serde_json::from_str(&text).map_err(|e| ModelError::BadConfig {
                path: config_path.clone(),
                message: format!("not valid JSON: {e}"),
            })?;
        let config = EncoderConfig::from_json(&config_path, &config_json)?;
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            if dir.join("pytorch_model.bin").is_file() {
                return Err(ModelError::PickleOnly {
                    dir: dir.to_path_buf(),
                }
                .into());
            }
            return Err(ModelError::MissingFile {
                dir: dir.to_path_buf(),
                file: "model.safetensors",
                hint: "",
            }
            .into());
        }
        let tokenizer = dir.join("tokenizer.json");
        if !tokenizer.is_file() {
            return Err(ModelError::MissingFile {
                dir: dir.to_path_buf(),
                file: "tokenizer.json",
                hint: " (save it from Python with AutoTokenizer.from_pretrained(dir).save_pretrained(dir))",
            }
            .into());
        }
        // Labels count only for a classifier; a bare encoder's id2label (HF's
        // LABEL_n defaults, or leftovers) says nothing about the data.
        let archs = config_json.get("architectures").map(|a| a.to_string());
        let is_classifier = archs.as_deref().is_some_and(|a| {
            a.contains("ForSequenceClassification") || a.contains("ForTokenClassification")
        });
        let labels = EncoderConfig::labels_from_json(&config_json).filter(|l| {
            let defaults = l
                .names()
                .iter()
                .enumerate()
                .all(|(i, n)| n == &format!("LABEL_{i}"));
            is_classifier || (archs.is_none() && !defaults)
        });
        let (task, thresholds) = task_of_config(&config_path, &config_json, labels.as_ref())?;
        Ok(ModelDir {
            dir: dir.to_path_buf(),
            config_json,
            config,
            labels,
            task,
            thresholds,
            weights,
            tokenizer,
        })
    }

    pub fn read_weights(&self) -> Result<HashMap<String, Tensor>> {
        read_weights(&self.weights, self.config.arch)
    }

    /// What `Classifier::build` needs to load this directory's `weights`
    /// with `labels`; `keep_head` keeps a loaded classification head.
    pub fn build_spec(
        &self,
        labels: Labels,
        weights: HashMap<String, Tensor>,
        keep_head: bool,
    ) -> BuildSpec {
        BuildSpec {
            config: self.config.clone(),
            labels,
            weights,
            source: self.weights.clone(),
            scratch: false,
            keep_head,
            base_config: Some(self.config_json.clone()),
            freeze: crate::config::Freeze::None,
            peft: None,
            overrides: HashMap::new(),
        }
    }
}

/// The task a config.json declares (`problem_type`, or transformers' rule
/// for an unset one) and its multi-label thresholds in `labels` order.
pub fn task_of_config(
    path: &Path,
    config_json: &Value,
    labels: Option<&Labels>,
) -> Result<(crate::data::Task, Vec<f32>)> {
    let num_labels = config_json
        .get("id2label")
        .and_then(Value::as_object)
        .map(|m| m.len())
        .or_else(|| {
            config_json
                .get("num_labels")
                .and_then(Value::as_u64)
                .map(|n| n as usize)
        })
        .unwrap_or(2);
    let problem_type = config_json.get("problem_type").and_then(Value::as_str);
    let token_head = config_json
        .get("architectures")
        .is_some_and(|a| a.to_string().contains("ForTokenClassification"));
    if token_head {
        return Ok((crate::data::Task::TokenClassification, Vec::new()));
    }
    let task = crate::data::Task::from_config(problem_type, num_labels).ok_or_else(|| {
        ModelError::BadConfig {
            path: path.to_path_buf(),
            message: format!(
                "problem_type '{}' is not one tunebench knows (single_label_classification, multi_label_classification, regression)",
                problem_type.unwrap_or_default()
            ),
        }
    })?;
    let thresholds = match (labels, config_json.get("tunebench_thresholds")) {
        (Some(l), Some(Value::Object(m))) => l
            .names()
            .iter()
            .map(|n| m.get(n).and_then(Value::as_f64).map_or(0.5, |t| t as f32))
            .collect(),
        _ => Vec::new(),
    };
    Ok((task, thresholds))
}

/// Load a safetensors file as f32 tensors under our (HF classifier) names:
/// bare encoders lose the `bert.`/`distilbert.` prefix, old checkpoints say
/// gamma/beta for LayerNorm, and buffers like `position_ids` are skipped.
pub fn read_weights(path: &Path, arch: Arch) -> Result<HashMap<String, Tensor>> {
    let raw =
        candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| ModelError::BadWeights {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let (prefix, roots): (&str, &[&str]) = match arch {
        Arch::Bert => ("bert.", &["embeddings.", "encoder.", "pooler."]),
        Arch::DistilBert => ("distilbert.", &["embeddings.", "transformer."]),
        Arch::Roberta | Arch::XlmRoberta => ("roberta.", &["embeddings.", "encoder.", "pooler."]),
    };
    let mut out = HashMap::new();
    for (name, tensor) in raw {
        if name.ends_with("position_ids") {
            continue;
        }
        let mut n = name.clone();
        if let Some(stem) = n.strip_suffix(".gamma") {
            n = format!("{stem}.weight");
        } else if let Some(stem) = n.strip_suffix(".beta") {
            n = format!("{stem}.bias");
        }
        if roots.iter().any(|r| n.starts_with(r)) {
            n = format!("{prefix}{n}");
        }
        let tensor = if tensor.dtype() == DType::F32 {
            tensor
        } else {
            tensor.to_dtype(DType::F32)?
        };
        out.insert(n, tensor);
    }
    Ok(out)
}

pub fn safetensors_bytes(tensors: &[(String, Tensor)]) -> Result<Vec<u8>> {
    let metadata: HashMap<String, String> = [("format".to_string(), "pt".to_string())].into();
    let views: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::Run(format!("serialising weights: {e}")))
}

/// Write a complete HF model directory into `dir` (which must not be
/// visible to readers yet: callers publish it with [`publish_dir`]):
/// merged weights, and for a LoRA model its adapter in peft's layout.
pub fn write_model_files(dir: &Path, model: &Classifier, text: &TextEncoder) -> Result<()> {
    write_plain_model_files(dir, model, text)?;
    if let (Some(adapter), Some((spec, base))) = (model.adapter_tensors()?, &model.peft) {
        let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
        write_atomic(
            &dir.join(super::peft::WEIGHTS_FILE),
            &safetensors_bytes(&adapter)?,
        )?;
        write_atomic(
            &dir.join(super::peft::CONFIG_FILE),
            &pretty(&super::peft::adapter_config_json(&model.config, spec, base)),
        )?;
    }
    Ok(())
}

/// The files of a plain HF classifier directory, as
/// [`write_plain_model_files`] writes them.
pub const PLAIN_MODEL_FILES: [&str; 4] = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
];

/// A plain HF classifier directory (LoRA updates merged, no adapter files).
pub fn write_plain_model_files(dir: &Path, model: &Classifier, text: &TextEncoder) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    write_atomic(&dir.join("config.json"), &pretty(&model.config_json()))?;
    // A prefix does not fold into weights: its checkpoint is the adapter
    // on its base, with no model.safetensors that would score without it.
    if model.peft.as_ref().is_none_or(|(spec, _)| spec.merges()) {
        write_atomic(
            &dir.join("model.safetensors"),
            &safetensors_bytes(&model.named_tensors()?)?,
        )?;
    }
    write_atomic(&dir.join("tokenizer.json"), text.to_json()?.as_bytes())?;
    let tok_config = match model.config.arch {
        Arch::Roberta | Arch::XlmRoberta => json!({
            "tokenizer_class": if model.config.arch == Arch::Roberta {
                "RobertaTokenizer"
            } else {
                "XLMRobertaTokenizer"
            },
            "model_max_length": model.config.max_tokens(),
            "bos_token": "<s>",
            "eos_token": "</s>",
            "cls_token": "<s>",
            "sep_token": "</s>",
            "pad_token": "<pad>",
            "unk_token": "<unk>",
            "mask_token": "<mask>",
        }),
        _ => json!({
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": true,
            "model_max_length": model.config.max_tokens(),
            "cls_token": "[CLS]",
            "sep_token": "[SEP]",
            "pad_token": "[PAD]",
            "unk_token": "[UNK]",
            "mask_token": "[MASK]",
        }),
    };
    write_atomic(&dir.join("tokenizer_config.json"), &pretty(&tok_config))?;
    Ok(())
}

/// Move a fully written `tmp` directory to `dest`, replacing what was
/// there. The previous copy is moved aside first, so a crash in between
/// leaves it on disk as `.old-<name>`, never a half-written `dest`.
pub fn publish_dir(tmp: &Path, dest: &Path) -> Result<()> {
    let ctx = |e| Error::io(dest.display().to_string(), e);
    if dest.exists() {
        let old = dest.with_file_name(format!(
            ".old-{}",
            dest.file_name().and_then(|n| n.to_str()).unwrap_or("dir")
        ));
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(dest, &old).map_err(ctx)?;
        std::fs::rename(tmp, dest).map_err(ctx)?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(tmp, dest).map_err(ctx)?;
    }
    Ok(())
}
