//! peft's on-disk layout: `adapter_config.json` + `adapter_model.safetensors`
//! (LoRA, DoRA, (IA)³). Written beside our adapter checkpoints' merged
//! weights, and read back — ours, or an adapter saved by Python peft (which
//! holds no model weights: the base model comes from
//! `base_model_name_or_path` or `--base`).

use super::adalora::{self, AdaLoraSpec};
use super::ia3::{self, Ia3Spec};
use super::lora::{self, LoraSpec};
use super::prefix::{self, PrefixSpec};
use super::PeftSpec;
use crate::data::Labels;
use crate::error::{Error, Result};
use crate::model::checkpoint::ModelDir;
use crate::model::classifier::{BuildSpec, Classifier};
use crate::model::config::{Arch, EncoderConfig};
use crate::model::ModelError;
use crate::text::TextEncoder;
use candle_core::{Device, Tensor};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "adapter_config.json";
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// peft's prefix on every saved tensor name.
const PREFIX: &str = "base_model.model.";

/// Whether `dir` holds a peft adapter.
pub fn is_adapter_dir(dir: &Path) -> bool {
    dir.join(CONFIG_FILE).is_file()
}

/// The head modules a LoRA run trains in full (peft's `modules_to_save`).
pub fn head_modules(arch: Arch, token_head: bool) -> Vec<&'static str> {
    if token_head {
        // `…ForTokenClassification`: one linear, no pooler.
        return vec!["classifier"];
    }
    match arch {
        Arch::Bert => vec!["classifier", "pooler"],
        Arch::DistilBert => vec!["classifier", "pre_classifier"],
        // RoBERTa's head (classifier.dense + classifier.out_proj) is all
        // under `classifier`; it has no pooler.
        Arch::Roberta | Arch::XlmRoberta => vec!["classifier"],
    }
}

/// peft's adapter_config.json for an adapter model built from `base` (its
/// weights file or directory). LoRA's `all-linear` is written as the
/// explicit module list it means here, because peft's own `all-linear`
/// would also adapt BERT's pooler, which our runs train in full instead.
pub fn adapter_config_json(config: &EncoderConfig, spec: &PeftSpec, base: &Path) -> Value {
    let (arch, token_head) = (
        config.arch,
        config.head == crate::model::config::HeadKind::Token,
    );
    let base_dir = if base.is_file() {
        base.parent().unwrap_or(base)
    } else {
        base
    };
    let mut v = json!({
        "task_type": if token_head { "TOKEN_CLS" } else { "SEQ_CLS" },
        "base_model_name_or_path": base_dir.display().to_string(),
        "modules_to_save": head_modules(arch, token_head),
        "fan_in_fan_out": false,
        "inference_mode": true,
    });
    let extra = match spec {
        PeftSpec::Lora(spec) => {
            let targets: Vec<String> = if spec.targets.iter().any(|t| t == "all-linear") {
                let names = match arch {
                    Arch::Bert | Arch::Roberta | Arch::XlmRoberta => {
                        crate::config::BERT_LORA_TARGETS
                    }
                    Arch::DistilBert => crate::config::DISTILBERT_LORA_TARGETS,
                };
                names.iter().map(|s| s.to_string()).collect()
            } else {
                spec.targets.clone()
            };
            json!({
                "peft_type": "LORA",
                "r": spec.r,
                "lora_alpha": spec.alpha,
                "lora_dropout": spec.dropout,
                "target_modules": targets,
                "bias": "none",
                "init_lora_weights": true,
                "use_rslora": spec.rslora,
                "use_dora": spec.dora,
            })
        }
        PeftSpec::AdaLora(spec) => json!({
            "peft_type": "ADALORA",
            "init_r": spec.init_r,
            "target_r": spec.target_r,
            "lora_alpha": spec.alpha,
            "lora_dropout": spec.dropout,
            "target_modules": spec.targets,
            "tinit": spec.tinit,
            "tfinal": spec.tfinal,
            "deltaT": spec.delta_t,
            "beta1": spec.beta1,
            "beta2": spec.beta2,
            "orth_reg_weight": spec.orth_reg,
            "total_step": spec.total_step,
            // peft keys the pattern by the module's E tensor name.
            "rank_pattern": spec.rank_pattern.as_ref().map(|p| {
                p.iter()
                    .map(|(m, keep)| (format!("{m}.{}", adalora::E), json!(keep)))
                    .collect::<serde_json::Map<String, Value>>()
            }),
            "bias": "none",
            "init_lora_weights": true,
        }),
        // Saved as peft saves it for inference: the projected table.
        PeftSpec::Prefix(spec) => json!({
            "peft_type": "PREFIX_TUNING",
            "num_virtual_tokens": spec.tokens,
            "token_dim": config.hidden,
            "num_layers": config.layers,
            "num_attention_heads": config.heads,
            "num_transformer_submodules": 1,
            "prefix_projection": spec.projection.is_some(),
            "encoder_hidden_size": spec.projection.unwrap_or(config.hidden),
        }),
        PeftSpec::Ia3(spec) => json!({
            "peft_type": "IA3",
            "target_modules": spec.targets,
            "feedforward_modules": spec.feedforward,
            "init_ia3_weights": true,
        }),
    };
    if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), extra) {
        v.extend(extra);
    }
    v
}

/// An adapter's tensors by our (HF) names: `lora_A`/`lora_B` of each
/// adapted module, and the head modules peft saved in full.
pub fn read_weights(dir: &Path) -> Result<HashMap<String, Tensor>> {
    let path = dir.join(WEIGHTS_FILE);
    if !path.is_file() {
        return Err(ModelError::MissingFile {
            dir: dir.to_path_buf(),
            file: WEIGHTS_FILE,
            hint: " (the adapter's weights)",
        }
        .into());
    }
    let loaded = candle_core::safetensors::load(&path, &Device::Cpu).map_err(|e| {
        ModelError::BadWeights {
            path: path.clone(),
            message: e.to_string(),
        }
    })?;
    // Prompt-learning adapters name the model `base_model.` (not
    // `base_model.model.`) and save the prefix as `prompt_embeddings`.
    Ok(loaded
        .into_iter()
        .map(|(k, v)| {
            let name = match k.as_str() {
                prefix::SAVED => prefix::EMBEDDING,
                k => k
                    .strip_prefix(PREFIX)
                    .or_else(|| k.strip_prefix("base_model."))
                    .unwrap_or(k),
            };
            (name.to_string(), v)
        })
        .collect())
}

/// An adapter's config as far as tunebench runs it.
#[derive(Debug)]
pub struct AdapterConfig {
    pub method: Method,
    /// `base_model_name_or_path`, as written.
    pub base: Option<String>,
}

/// The method an adapter_config.json describes, with the settings that
/// its weights file does not tell.
#[derive(Debug)]
pub enum Method {
    Lora {
        r: usize,
        alpha: f64,
        dropout: f64,
        rslora: bool,
        dora: bool,
    },
    /// AdaLoRA: its settings; targets come from the weights, and the
    /// ranks from their shapes (peft cuts them to `rank_pattern`).
    AdaLora(Box<AdaLoraSpec>),
    Ia3 {
        feedforward: Vec<String>,
    },
    /// Prefix tuning: the saved table is already projected.
    Prefix {
        tokens: usize,
    },
}

/// Read `adapter_config.json`, refusing what tunebench does not run (other
/// peft methods, trained biases, per-module rank patterns) by name.
pub fn read_config(dir: &Path) -> Result<AdapterConfig> {
    let path = dir.join(CONFIG_FILE);
    let bad = |message: String| -> Error {
        ModelError::BadConfig {
            path: path.clone(),
            message,
        }
        .into()
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| Error::io(path.display().to_string(), e))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    if flag("fan_in_fan_out") {
        return Err(bad(
            "fan_in_fan_out: only nn.Linear-style (out, in) weights are supported".into(),
        ));
    }
    let base = v
        .get("base_model_name_or_path")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from);
    let peft_type = v.get("peft_type").and_then(Value::as_str).unwrap_or("");
    let method = match peft_type {
        "LORA" => read_lora(&v, &bad)?,
        "ADALORA" => read_adalora(&v, &bad)?,
        "PREFIX_TUNING" => Method::Prefix {
            tokens: v
                .get("num_virtual_tokens")
                .and_then(Value::as_u64)
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("num_virtual_tokens: a positive integer is required".into()))?
                as usize,
        },
        "IA3" => Method::Ia3 {
            feedforward: string_list(&v, "feedforward_modules").map_err(bad)?,
        },
        other => {
            return Err(bad(format!(
            "peft_type '{other}': tunebench runs LoRA, DoRA (LoRA with use_dora), ADALORA, IA3 and PREFIX_TUNING adapters"
        )))
        }
    };
    Ok(AdapterConfig { method, base })
}

/// A config's list of module names (peft also allows one string, a regex
/// over full names, which is refused).
fn string_list(v: &Value, key: &str) -> std::result::Result<Vec<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect()),
        Some(other) => Err(format!(
            "{key}: {other} (a regular expression) is not supported; list the module names"
        )),
    }
}

fn read_adalora(v: &Value, bad: &dyn Fn(String) -> Error) -> Result<Method> {
    let int = |k: &str, default: u64| v.get(k).and_then(Value::as_u64).unwrap_or(default) as usize;
    let num = |k: &str, default: f64| v.get(k).and_then(Value::as_f64).unwrap_or(default);
    let init_r = int("init_r", 12);
    if init_r == 0 {
        return Err(bad("init_r: a positive integer is required".into()));
    }
    let rank_pattern = match v.get("rank_pattern") {
        Some(Value::Object(m)) if !m.is_empty() => Some(
            m.iter()
                .map(|(k, keep)| {
                    let flags: Option<Vec<bool>> = keep
                        .as_array()
                        .and_then(|a| a.iter().map(Value::as_bool).collect());
                    let module = k
                        .strip_suffix(&format!(".{}", adalora::E))
                        .unwrap_or(k)
                        .trim_end_matches(".default")
                        .to_string();
                    flags.map(|f| (module, f)).ok_or_else(|| {
                        bad(format!(
                            "rank_pattern['{k}']: a list of booleans is required"
                        ))
                    })
                })
                .collect::<Result<_>>()?,
        ),
        _ => None,
    };
    Ok(Method::AdaLora(Box::new(AdaLoraSpec {
        init_r,
        target_r: int("target_r", 8),
        alpha: num("lora_alpha", 8.0),
        dropout: num("lora_dropout", 0.0),
        targets: Vec::new(),
        tinit: int("tinit", 0),
        tfinal: int("tfinal", 0),
        delta_t: int("deltaT", 1),
        beta1: num("beta1", 0.85),
        beta2: num("beta2", 0.85),
        orth_reg: num("orth_reg_weight", 0.5),
        total_step: int("total_step", 0),
        rank_pattern,
    })))
}

fn read_lora(v: &Value, bad: &dyn Fn(String) -> Error) -> Result<Method> {
    let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    if flag("lora_bias") {
        return Err(bad("lora_bias: LoRA-B biases are not supported".into()));
    }
    for k in ["target_parameters", "trainable_token_indices"] {
        if v.get(k).is_some_and(|x| !x.is_null()) {
            return Err(bad(format!(
                "{k}: only LoRA on linear modules is supported"
            )));
        }
    }
    match v.get("bias").and_then(Value::as_str).unwrap_or("none") {
        "none" => {}
        other => {
            return Err(bad(format!(
                "bias '{other}': adapters that train biases are not supported (bias = \"none\")"
            )))
        }
    }
    for k in ["rank_pattern", "alpha_pattern"] {
        if v.get(k)
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
        {
            return Err(bad(format!(
                "{k}: per-module ranks or alphas are not supported"
            )));
        }
    }
    let r = v
        .get("r")
        .and_then(Value::as_u64)
        .filter(|r| *r > 0)
        .ok_or_else(|| bad("r: a positive integer is required".into()))? as usize;
    let alpha = v
        .get("lora_alpha")
        .and_then(Value::as_f64)
        .ok_or_else(|| bad("lora_alpha: a number is required".into()))?;
    Ok(Method::Lora {
        r,
        alpha,
        dropout: v.get("lora_dropout").and_then(Value::as_f64).unwrap_or(0.0),
        rslora: flag("use_rslora"),
        dora: flag("use_dora"),
    })
}

/// The base model's directory: `--base` when given, else the recorded
/// `base_model_name_or_path` (a directory as written, or beside the
/// adapter, or a hub id in the local HF cache).
pub fn base_dir(adapter: &Path, cfg: &AdapterConfig, base: Option<&Path>) -> Result<PathBuf> {
    if let Some(b) = base {
        return Ok(b.to_path_buf());
    }
    let Some(recorded) = &cfg.base else {
        return Err(ModelError::NotFound {
            spec: adapter.display().to_string(),
            hint:
                "the adapter names no base_model_name_or_path; give the base model with --base DIR"
                    .into(),
        }
        .into());
    };
    let beside = adapter.join(recorded);
    if Path::new(recorded).is_relative() && beside.is_dir() {
        return Ok(beside);
    }
    match crate::model::hub::resolve(recorded) {
        Ok(crate::model::hub::ModelSource::Dir(d)) => Ok(d),
        _ => Err(ModelError::NotFound {
            spec: recorded.clone(),
            hint: format!(
                "the base model of the adapter in {} is not here (not a directory, not in the HF cache); give it with --base DIR",
                adapter.display()
            ),
        }
        .into()),
    }
}

/// The module names (no `.weight`) whose names in `weights` end `suffix`.
fn adapted_modules(weights: &HashMap<String, Tensor>, suffix: &str) -> Vec<String> {
    let mut v: Vec<String> = weights
        .keys()
        .filter_map(|k| k.strip_suffix(suffix).map(String::from))
        .collect();
    v.sort();
    v
}

/// An adapter directory with its base model, ready for
/// `Classifier::build`: the base weights plus the adapters and saved head.
/// Returns the spec and the tokenizer to use (the adapter's own, else the
/// base model's).
pub fn load_spec(adapter: &Path, base: Option<&Path>) -> Result<(BuildSpec, PathBuf)> {
    let cfg = read_config(adapter)?;
    let weights = read_weights(adapter)?;
    let bad_weights = |message: String| -> Error {
        ModelError::BadWeights {
            path: adapter.join(WEIGHTS_FILE),
            message,
        }
        .into()
    };
    if let Some(k) = weights.keys().find(|k| k.contains("lora_embedding")) {
        return Err(bad_weights(format!(
            "'{k}': only LoRA on linear layers is supported"
        )));
    }
    let suffix = match cfg.method {
        Method::Lora { .. } => ".lora_A.weight".to_string(),
        Method::AdaLora(_) => ".lora_A".to_string(),
        Method::Ia3 { .. } => format!(".{}", ia3::VECTOR),
        Method::Prefix { .. } => prefix::EMBEDDING.to_string(),
    };
    // A module peft cut to rank 0 holds empty tensors: it adapts nothing.
    let weights: HashMap<String, Tensor> = weights
        .into_iter()
        .filter(|(_, t)| t.elem_count() > 0)
        .collect();
    let targets = adapted_modules(&weights, &suffix);
    let prefix_table = weights.contains_key(prefix::EMBEDDING);
    if targets.is_empty() && !prefix_table {
        return Err(bad_weights(format!("no *{suffix} tensors")));
    }
    let peft = match &cfg.method {
        Method::Lora {
            r,
            alpha,
            dropout,
            rslora,
            dora,
        } => {
            let magnitudes = adapted_modules(&weights, &format!(".{}", lora::MAGNITUDE));
            if *dora && magnitudes != targets {
                return Err(bad_weights(format!(
                    "use_dora is set, but not every adapted module has a {} ({} of {})",
                    lora::MAGNITUDE,
                    magnitudes.len(),
                    targets.len()
                )));
            }
            if !dora && !magnitudes.is_empty() {
                return Err(bad_weights(format!(
                    "{} tensors, but adapter_config.json does not set use_dora",
                    lora::MAGNITUDE
                )));
            }
            PeftSpec::Lora(LoraSpec {
                r: *r,
                alpha: *alpha,
                dropout: *dropout,
                rslora: *rslora,
                targets,
                dora: *dora,
            })
        }
        Method::AdaLora(spec) => PeftSpec::AdaLora(AdaLoraSpec {
            targets,
            ..(**spec).clone()
        }),
        Method::Ia3 { feedforward } => PeftSpec::Ia3(Ia3Spec {
            targets,
            feedforward: feedforward.clone(),
        }),
        Method::Prefix { tokens } => PeftSpec::Prefix(PrefixSpec {
            tokens: *tokens,
            projection: None,
        }),
    };
    let base_path = base_dir(adapter, &cfg, base)?;
    let md = ModelDir::open(&base_path)?;
    // Labels: the adapter dir's config.json (tunebench writes one), else the
    // base classifier's, else LABEL_n for the head's rows (as transformers).
    let own = adapter.join("config.json");
    let own_labels = std::fs::read_to_string(&own)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| EncoderConfig::labels_from_json(&v));
    let rows = weights.get("classifier.weight").map(|t| t.dims()[0]);
    let labels = own_labels
        .or_else(|| md.labels.clone())
        .filter(|l| rows.is_none_or(|n| n == l.len()))
        .unwrap_or_else(|| {
            Labels::new(
                (0..rows.unwrap_or(2))
                    .map(|i| format!("LABEL_{i}"))
                    .collect(),
            )
        });
    let keep_head = md.labels.as_ref().is_some_and(|l| l.len() == labels.len());
    let mut spec = md.build_spec(labels, md.read_weights()?, keep_head);
    // A token classifier's adapter (peft's TOKEN_CLS) keeps a token head.
    let task_type = std::fs::read_to_string(adapter.join(CONFIG_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v.get("task_type").and_then(Value::as_str).map(String::from));
    if task_type.as_deref() == Some("TOKEN_CLS") {
        spec.config.head = crate::model::config::HeadKind::Token;
    }
    spec.peft = Some(peft);
    spec.overrides = weights;
    let tokenizer = if adapter.join("tokenizer.json").is_file() {
        adapter.join("tokenizer.json")
    } else {
        md.tokenizer.clone()
    };
    Ok((spec, tokenizer))
}

/// Refuse a model loaded from an adapter that left weights at random
/// (a head module the adapter did not save, on a bare-encoder base): its
/// predictions would mean nothing.
/// The classifier an adapter directory describes: its base model with the
/// adapter's weights, and the base's tokenizer.
pub fn build(
    adapter: &Path,
    base: Option<&Path>,
    device: &Device,
) -> Result<(Classifier, TextEncoder)> {
    let (spec, tokenizer) = load_spec(adapter, base)?;
    // A prefix's virtual tokens take positions before the text's.
    let virtual_tokens = match &spec.peft {
        Some(PeftSpec::Prefix(p)) => p.tokens,
        _ => 0,
    };
    let text = TextEncoder::from_file(
        &tokenizer,
        spec.config
            .max_tokens()
            .saturating_sub(virtual_tokens)
            .max(1),
    )?;
    // The task: the adapter dir's config.json (tunebench writes one), else
    // the base model's.
    let own = adapter.join("config.json");
    let config = std::fs::read_to_string(&own)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .or_else(|| spec.base_config.clone())
        .unwrap_or_default();
    let (task, thresholds) =
        crate::model::checkpoint::task_of_config(&own, &config, Some(&spec.labels))?;
    let task = if spec.config.head == crate::model::config::HeadKind::Token {
        crate::data::Task::TokenClassification
    } else {
        task
    };
    let model = Classifier::build(spec, &mut crate::rng::Rng::seeded(0), device)?
        .with_pair_separator(text.sep_id())
        .with_task(task, thresholds);
    check_complete(&model, adapter)?;
    Ok((model, text))
}

pub fn check_complete(model: &Classifier, adapter: &Path) -> Result<()> {
    if model.fresh.is_empty() {
        return Ok(());
    }
    Err(ModelError::BadWeights {
        path: adapter.join(WEIGHTS_FILE),
        message: format!(
            "neither the adapter nor its base model holds {} (save the adapter with modules_to_save covering the whole head)",
            model.fresh.join(", ")
        ),
    }
    .into())
}
