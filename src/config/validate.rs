//! What a valid run config is: every problem reported at once with its
//! field, and the learning rate chosen when none is set.

use super::{lora_targets, parse_device, Freeze, Peft, RunConfig};
use std::path::PathBuf;

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
    /// A model or run named on the command line that is not there.
    #[error("{0}")]
    Reference(String),
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
/// (IA)³'s vectors start at 1 and rescale. MiniLM-L6, peft's BERT
/// targets, 8,000 SST-2 rows, 1 epoch, SST-2 dev, seed 42: 2e-3 → 79.01%,
/// 5e-3 → 81.42%, 1e-2 → 81.42%, 3e-2 → 82.45%, 6e-2 → 79.01%, 1e-1 →
/// 50.92% (diverged). 1e-2 keeps a 10× margin below divergence for a
/// point of the best seed's accuracy.
pub const IA3_LR: f64 = 1e-2;
/// Prefix tuning: P-tuning v2 trains its prefixes at 5e-3 to 1e-2 on GLUE.
pub const PREFIX_LR: f64 = 5e-3;

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
        } else if self.peft.is_lora() {
            (LORA_LR, "LoRA trains small adapters on a frozen encoder")
        } else if self.peft == Peft::Prefix {
            (
                PREFIX_LR,
                "prefix tuning trains virtual keys and values on a frozen encoder",
            )
        } else if self.peft == Peft::Ia3 {
            (
                IA3_LR,
                "(IA)³ trains scaling vectors that start at 1 on a frozen encoder",
            )
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
        if let Some(sep) = &self.label_sep {
            bad(
                "label_sep",
                sep.chars().count() == 1,
                "must be one character, e.g. \"|\" or \",\"",
            );
        }
        bad(
            "label_cols",
            self.label_cols.is_none() || self.label_col.is_none(),
            "one 0/1 column per label replaces label_col: give one of them",
        );
        bad(
            "label_cols",
            self.label_cols.is_none()
                || matches!(self.task, None | Some(crate::data::Task::MultiLabel)),
            "one 0/1 column per label is a multi-label layout (task = \"multi_label\")",
        );
        if let Some(lr) = self.lr {
            bad(
                "lr",
                lr.is_finite() && lr > 0.0 && lr < 1.0,
                "must be in (0, 1), e.g. 5e-5 (empty: chosen by the model)",
            );
        }
        if let super::Threshold::Fixed(t) = self.threshold {
            bad(
                "threshold",
                t.is_finite() && t > 0.0 && t < 1.0,
                "must be \"tuned\" or a number in (0, 1), e.g. 0.5",
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
        // Measured on MiniLM-L6 (Xeon with AVX512-BF16, batch 32 × 64):
        // 9.2 samples/s in bf16 against 38.8 in f32 — candle's CPU bf16
        // matmuls and elementwise ops have no bf16 kernels of their own.
        bad(
            "precision",
            !(self.precision == super::Precision::Bf16 && self.device == "cpu"),
            "bf16 training on the CPU is about 4x slower than f32 here (candle has no CPU bf16 \
             kernels for training): train in f32, or use bf16 on a GPU; for bf16 inference use \
             eval/predict/serve --precision bf16",
        );
        if self.peft == Peft::Ia3 {
            match (
                module_list(&self.ia3_targets, false, None),
                module_list(&self.ia3_feedforward, true, None),
            ) {
                (Err(e), _) => bad("ia3_targets", false, &e),
                (_, Err(e)) => bad("ia3_feedforward", false, &e),
                (Ok(targets), Ok(ff)) => {
                    if let Some(n) = ff.iter().find(|n| !targets.contains(n)) {
                        bad(
                            "ia3_feedforward",
                            false,
                            &format!("'{n}' is not one of ia3_targets (peft requires a subset)"),
                        );
                    }
                }
            }
        }
        if self.peft != Peft::None {
            bad(
                "freeze",
                self.freeze == Freeze::None,
                &format!(
                    "must be none with peft = \"{}\" (the adapters keep the whole encoder frozen)",
                    self.peft.name()
                ),
            );
        }
        if self.peft == Peft::Prefix {
            bad(
                "prefix_tokens",
                (1..=512).contains(&self.prefix_tokens),
                "must be 1..=512",
            );
            bad(
                "prefix_projection",
                self.prefix_projection <= 8192,
                "must be 0 (no MLP) up to 8192",
            );
        }
        if self.peft == Peft::Adalora {
            bad(
                "adalora_init_r",
                (1..=1024).contains(&self.adalora_init_r),
                "must be 1..=1024",
            );
            bad(
                "adalora_target_r",
                self.adalora_target_r >= 1 && self.adalora_target_r <= self.adalora_init_r,
                "must be 1..=adalora_init_r (the allocator only removes ranks)",
            );
            bad("adalora_delta_t", self.adalora_delta_t >= 1, "must be >= 1");
            for (key, v) in [
                ("adalora_beta1", self.adalora_beta1),
                ("adalora_beta2", self.adalora_beta2),
            ] {
                bad(key, v > 0.0 && v < 1.0, "must be in (0, 1)");
            }
            bad(
                "adalora_orth_reg",
                self.adalora_orth_reg.is_finite() && self.adalora_orth_reg >= 0.0,
                "must be >= 0",
            );
        }
        if self.peft.is_lora() && self.peft != Peft::Adalora {
            bad(
                "lora_r",
                (1..=1024).contains(&self.lora_r),
                "must be 1..=1024",
            );
        }
        if self.peft.is_lora() {
            bad(
                "lora_alpha",
                self.lora_alpha.is_finite() && self.lora_alpha > 0.0,
                "must be > 0",
            );
            bad("lora_dropout", unit(self.lora_dropout), "must be in [0, 1)");
            if let Err(e) = self.lora_target_list() {
                bad("lora_targets", false, &e);
            }
        }
        for reason in self.search_problems() {
            out.push(FieldError {
                field: "search",
                reason,
            });
        }
        out
    }

    /// (IA)³'s target and feed-forward module names.
    pub fn ia3_module_lists(&self) -> Result<(Vec<String>, Vec<String>), String> {
        Ok((
            module_list(&self.ia3_targets, false, None)?,
            module_list(&self.ia3_feedforward, true, None)?,
        ))
    }

    /// The LoRA target module names; `all-linear` is every encoder linear.
    pub fn lora_target_list(&self) -> Result<Vec<String>, String> {
        if self.lora_targets.trim() == "all-linear" {
            return Ok(vec!["all-linear".into()]);
        }
        module_list(&self.lora_targets, false, Some("all-linear"))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = self.problems();
        // Say the value given: the message alone ("must be in (0, 1)")
        // leaves the reader to find which value was read.
        for p in &mut problems {
            let given = self.value_text(p.field);
            if p.field != "search" && !given.is_empty() {
                p.reason = format!("{} (given {given})", p.reason);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

/// A comma-separated list of encoder module names (`empty_ok`: none is
/// allowed), each one a linear of BERT or DistilBERT; `also` names the
/// key's other accepted value in messages.
fn module_list(text: &str, empty_ok: bool, also: Option<&str>) -> Result<Vec<String>, String> {
    let also = also.map(|a| format!(", or {a}")).unwrap_or_default();
    let names: Vec<String> = text
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if names.is_empty() && !empty_ok {
        return Err(format!("names no module (e.g. query,value{also})"));
    }
    match names
        .iter()
        .find(|n| !lora_targets().any(|t| t == n.as_str()))
    {
        Some(n) => Err(format!(
            "unknown module '{n}' (known: {}{also})",
            lora_targets().collect::<Vec<_>>().join(", ")
        )),
        None => Ok(names),
    }
}
